"""``/portal/v1``: partner portals, scoped to the calling partner (routes, models, views,
orders)."""

from app.experience.portal.orders import PortalOrdersController
from app.experience.portal.routes import PortalController

__all__ = ["PortalController", "PortalOrdersController"]
