"""``/portal/v1``: partner portals, scoped to the calling partner (routes, models, views)."""

from app.experience.portal.routes import PortalController

__all__ = ["PortalController"]
