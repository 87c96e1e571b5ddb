"""``GET /metrics``: Prometheus text format (scope ``ops:admin``)."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from app.observability.metrics import CONTENT_TYPE
from app.ops.queue_metrics import refresh_queue_metrics
from app.routes.shared import problem_responses
from app.security import OPS_ADMIN, security_requirements
from app.services import Services

__all__ = ["metrics"]


@get(
    "/metrics",
    summary="Prometheus metrics of this gateway, summed over its workers",
    tags=["ops"],
    operation_id="metrics",
    media_type=CONTENT_TYPE,
    security=security_requirements(OPS_ADMIN),
    responses=problem_responses(401, 403, 429, 431),
)
async def metrics(services: NamedDependency[Services]) -> Response[bytes]:
    await refresh_queue_metrics(services)  # the write path's series, read from the store
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
