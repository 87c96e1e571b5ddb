"""``/lightning/v1``: Apex and Lightning Web Components (routes, models, views)."""

from app.experience.lightning.routes import LightningController

__all__ = ["LightningController"]
