"""Browser access to the portal API: CORS for configured portal origins only, and no caching.

Only ``/portal/`` answers cross-origin requests, and only from origins listed in
``security.cors_origins`` (exact match: scheme, host and port). Lightning components call
through Apex or Salesforce's own origin, so the other APIs need no CORS at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.problems import ProblemError

__all__ = ["PORTAL_PREFIX", "PortalCors"]

PORTAL_PREFIX = "/portal/"
_ALLOW_HEADERS = "authorization, content-type, x-api-key, x-correlation-id, x-deadline-ms"
_EXPOSE_HEADERS = (
    "x-correlation-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset"
)


class PortalCors(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not scope["path"].startswith(PORTAL_PREFIX):
            await next_app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin in self.origins
        if scope.get("method") == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin if allowed else None, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                mutable.add("vary", "Origin")
                if allowed and origin is not None:
                    mutable["access-control-allow-origin"] = origin
                    mutable["access-control-expose-headers"] = _EXPOSE_HEADERS
            await send(message)

        await next_app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str | None, send: Send) -> None:
        if origin is None:
            raise ProblemError(
                403,
                "cors_origin_not_allowed",
                "Origin not allowed",
                "This origin is not a configured partner portal.",
            )
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", _ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})
