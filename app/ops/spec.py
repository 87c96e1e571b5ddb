"""``GET /openapi.json``: the spec at the path tools expect, besides ``/docs/openapi.json``."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Response

__all__ = ["openapi_json"]


@get(
    "/openapi.json",
    include_in_schema=False,
    sync_to_thread=False,
    media_type="application/vnd.oai.openapi+json",
)
def openapi_json(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    return Response(
        request.app.openapi_schema.to_schema(), media_type="application/vnd.oai.openapi+json"
    )
