"""Request hygiene checks that run before a body is decoded."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

from app.middleware.json_depth import MAX_JSON_DEPTH, json_too_deep

__all__ = ["require_json_body"]

_BODY_METHODS = {"POST", "PUT", "PATCH"}


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a body that is not JSON is refused with 415, not guessed at;
    JSON nested deeper than any payload of ours with 400 (see ``json_depth``)."""
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
        if json_too_deep(await request.body()):
            raise HTTPException(
                status_code=400,
                detail=f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.",
            )
        return
    raise HTTPException(
        status_code=415,
        detail=f"Send the body as application/json (got {media or 'no content type'}).",
        headers={"accept-post": "application/json"},
    )
