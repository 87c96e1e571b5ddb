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
    # One pass over the raw headers (the first of each, as a header lookup gives): cheaper
    # than building the request's header mapping, which nothing else on the hot path needs.
    content_type: str | None = None
    content_length: bytes | None = None
    chunked = False
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            if content_type is None:
                content_type = value.decode("latin-1")
        elif name == b"content-length":
            if content_length is None:
                content_length = value
        elif name == b"transfer-encoding":
            chunked = True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    has_body = (content_length is not None and content_length != b"0") or chunked
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
