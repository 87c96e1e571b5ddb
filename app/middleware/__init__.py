"""Cross-cutting request handling: correlation ids and request hygiene."""

from app.middleware.correlation import CorrelationMiddleware, echo_correlation_id
from app.middleware.hygiene import require_json_body

__all__ = ["CorrelationMiddleware", "echo_correlation_id", "require_json_body"]
