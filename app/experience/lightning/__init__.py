"""``/lightning/v1``: Apex and Lightning Web Components (routes, models, views, orders)."""

from app.experience.lightning.orders import LightningOrdersController
from app.experience.lightning.routes import LightningController

__all__ = ["LightningController", "LightningOrdersController"]
