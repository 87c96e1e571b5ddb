"""Request hygiene (JSON bodies only where a body is expected). Correlation ids: ``app.correlation``."""

from app.middleware.hygiene import require_json_body

__all__ = ["require_json_body"]
