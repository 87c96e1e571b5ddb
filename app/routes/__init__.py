"""HTTP routes: the process APIs and the experience APIs built on them."""

from app.routes.process import ProcessController

__all__ = ["ProcessController"]
