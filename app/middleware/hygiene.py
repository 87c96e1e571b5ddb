"""Request hygiene checks that run before a body is read."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

__all__ = ["require_json_body"]

_BODY_METHODS = {"POST", "PUT", "PATCH"}


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a body that is not JSON is refused with 415, not guessed at."""
    if request.method not in _BODY_METHODS:
        return
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    has_body = (
        request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    )
    if not has_body and not media:
        return
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise HTTPException(
        status_code=415,
        detail=f"Send the body as application/json (got {media or 'no content type'}).",
        headers={"accept-post": "application/json"},
    )
