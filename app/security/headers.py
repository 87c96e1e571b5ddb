"""Refuse requests whose headers are too large (431) before any of them is interpreted."""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.problems import ProblemError

__all__ = ["HeaderLimit"]


class HeaderLimit(ASGIMiddleware):
    """Total size of header names and values; the server's own limit may be larger."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        size = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
        if size > self.max_bytes:
            raise self.refusal(size)
        await next_app(scope, receive, send)

    def refusal(self, size: int) -> ProblemError:
        """The 431 for headers totalling ``size`` bytes."""
        return ProblemError(
            431,
            "headers_too_large",
            "Request headers too large",
            f"The request's headers total {size} bytes; the limit is {self.max_bytes}.",
        )
