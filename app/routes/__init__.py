"""HTTP routes: the process APIs and the experience APIs built on them."""

from app.routes.lightning import LightningController
from app.routes.portal import PortalController
from app.routes.process import ProcessController

__all__ = ["LightningController", "PortalController", "ProcessController"]
