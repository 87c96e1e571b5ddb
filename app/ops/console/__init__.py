"""The operations console at ``/ops/``: server-rendered pages for people who run Isthmus."""

from app.ops.console.app import Console, console_router

__all__ = ["Console", "console_router"]
