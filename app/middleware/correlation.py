"""Correlation ids: accepted or generated per request, echoed on every response, logged."""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.correlation import (
    CORRELATION_HEADER,
    reset_correlation_id,
    reset_traceparent,
    set_correlation_id,
    set_traceparent,
)
from app.correlation_scope import correlation_id_for, traceparent_for

__all__ = ["CorrelationMiddleware", "echo_correlation_id"]

_HEADER_BYTES = CORRELATION_HEADER.encode("latin-1")


class CorrelationMiddleware(ASGIMiddleware):
    """Makes the request's correlation id visible to logs and backend calls."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = set_correlation_id(correlation_id_for(scope))
        parent = set_traceparent(traceparent_for(scope))
        try:
            await next_app(scope, receive, send)
        finally:
            reset_traceparent(parent)
            reset_correlation_id(token)


async def echo_correlation_id(message: Message, scope: Scope) -> None:
    """``before_send`` hook: runs for every response, including unrouted 404/405s."""
    if message["type"] == "http.response.start":
        # Appended raw: nothing else sets this header, and a lookup costs more than the append.
        value = correlation_id_for(scope).encode("latin-1")
        message["headers"] = [*message.get("headers", ()), (_HEADER_BYTES, value)]
