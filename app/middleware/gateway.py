"""The security gate every routed request passes: one plain ASGI layer instead of four.

In order, as the separate middlewares did (each refusal is raised, so ``app.errors`` writes the
same problem document and the metrics middleware outside sees it):

1. header size (``HeaderLimit``): 431 before any header is interpreted;
2. CORS for ``/portal/`` (``PortalCors``): preflights answered, responses decorated;
3. authentication and the route's scope and audience (``Authenticator``, ``authorize``):
   401/403; open routes and ``OPTIONS`` pass without a credential;
4. the caller's rate limit (``RateLimiter``): 429, else ``RateLimit-*`` on the response;
5. the read lane (``app.routes.read_lane``), when one is set: the four read capabilities'
   usual requests answered here, without the route's handler machinery.

One pass over the raw headers finds the size and the credentials; the route's policy is
worked out once per route handler and path prefix; the fixed ``RateLimit-*`` headers are
encoded once per limit. ``stamp_response`` is the one ``before_send`` hook (correlation id on
every response, ``no-store`` on the portal's).
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.correlation import CORRELATION_HEADER, correlation_id_for
from app.problems import ProblemError
from app.security.authn import API_KEY_HEADER, Authenticator, authorize
from app.security.cors import PORTAL_PREFIX, PortalCors
from app.security.headers import HeaderLimit
from app.security.rate_limit import RateLimiter, rate_limit_headers
from app.security.scopes import Policy, policy_for

if TYPE_CHECKING:
    from app.routes.read_lane import ReadLane

__all__ = ["SecurityGateway", "stamp_response"]

_API_KEY = API_KEY_HEADER.encode("latin-1")
_AUTHORIZATION = b"authorization"
_CORRELATION = CORRELATION_HEADER.encode("latin-1")
_OPEN = object()
"""Cached policy of a route that needs no credential (``None`` is taken by "not cached")."""
_MAX_POLICIES = 4096
"""Bound on the policy cache (routes times prefixes: a few dozen in practice)."""


class SecurityGateway:
    """A Litestar middleware factory (``app -> ASGI app``): Litestar builds one per route, and
    calls it with no per-layer bookkeeping of its own."""

    def __init__(
        self,
        header_limit: HeaderLimit,
        cors: PortalCors,
        authenticator: Authenticator,
        limiter: RateLimiter,
        lane: ReadLane | None = None,
    ) -> None:
        self.header_limit = header_limit
        self.cors = cors
        self.authenticator = authenticator
        self.limiter = limiter
        self.lane = lane
        self._policies: dict[tuple[int, str], Any] = {}
        self._fixed_headers: dict[tuple[int, int], list[tuple[bytes, bytes]]] = {}

    def __call__(self, app: ASGIApp) -> ASGIApp:
        gate = self

        async def gateway(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            size = 0
            api_key: bytes | None = None
            authorization: bytes | None = None
            for name, value in scope["headers"]:
                size += len(name) + len(value)
                if name == _API_KEY:
                    if api_key is None:
                        api_key = value
                elif name == _AUTHORIZATION and authorization is None:
                    authorization = value
            if size > gate.header_limit.max_bytes:
                raise gate.header_limit.refusal(size)

            async def protected(scope: Scope, receive: Receive, send: Send) -> None:
                await gate._protected(
                    app, scope, receive, send, api_key=api_key, authorization=authorization
                )

            if scope["path"].startswith(PORTAL_PREFIX):
                await gate.cors.handle(scope, receive, send, protected)
            else:
                await gate._protected(
                    app, scope, receive, send, api_key=api_key, authorization=authorization
                )

        return gateway

    def _policy(self, scope: Scope) -> Policy | None:
        handler = scope.get("route_handler")
        path: str = scope["path"]
        # Policies depend on the handler's options and on which protected prefix the path has:
        # the first path segment decides the prefix.
        key = (id(handler), path[: path.find("/", 1) + 1] or path)
        cached = self._policies.get(key)
        if cached is None:
            opt: dict[str, Any] = getattr(handler, "opt", {}) or {}
            policy = policy_for(path, opt)
            if handler is None or len(self._policies) >= _MAX_POLICIES:
                return policy
            cached = self._policies[key] = _OPEN if policy is None else policy
        return None if cached is _OPEN else cast("Policy", cached)

    async def _protected(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        api_key: bytes | None,
        authorization: bytes | None,
    ) -> None:
        policy = self._policy(scope)
        if policy is None or scope.get("method") == "OPTIONS":
            await app(scope, receive, send)
            return
        caller = await self.authenticator.authenticate_credentials(
            api_key=None if api_key is None else api_key.decode("latin-1"),
            authorization=None if authorization is None else authorization.decode("latin-1"),
        )
        authorize(caller, policy)
        scope["user"] = caller
        scope["auth"] = policy
        lane = self.lane
        route = None if lane is None else lane.route_for(scope)
        if route is not None:  # what the gate lets through, the lane answers (or hands on)
            app = partial(cast("ReadLane", lane), route, app)
        limiter = self.limiter
        settings = limiter.settings
        if not settings.enabled:
            await app(scope, receive, send)
            return
        decision = await limiter.hit(caller.client)
        if not decision.allowed:
            raise ProblemError(
                429,
                "rate_limited",
                "Too many requests",
                f"Client {caller.client!r} used its {decision.limit} requests per "
                f"{settings.window_s} s; retry in {decision.reset_s} s.",
                headers={
                    **rate_limit_headers(decision, settings.window_s),
                    "retry-after": str(decision.reset_s),
                },
            )
        fixed_key = (decision.limit, settings.window_s)
        fixed = self._fixed_headers.get(fixed_key)
        if fixed is None:
            fixed = self._fixed_headers[fixed_key] = [
                (b"ratelimit-policy", f"{decision.limit}; w={settings.window_s}".encode()),
                (b"ratelimit-limit", str(decision.limit).encode()),
            ]
        # Appended as raw pairs: these names are ours alone, so no lookup of existing ones.
        metered = [
            *fixed,
            (b"ratelimit-remaining", str(decision.remaining).encode()),
            (b"ratelimit-reset", str(decision.reset_s).encode()),
        ]

        # A plain function handing back ``send``'s awaitable: no coroutine per message.
        def send_with_headers(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *metered]
            return send(message)

        await app(scope, receive, send_with_headers)


async def stamp_response(message: Message, scope: Scope) -> None:
    """``before_send`` hook for every response, unrouted 404/405s included: the correlation id
    (``app.correlation``), and ``no-store`` on the portal's (partner data and errors about it
    are never cached anywhere)."""
    if message["type"] == "http.response.start":
        # Appended raw: nothing else sets this header, and a lookup costs more than the append.
        value = correlation_id_for(scope).encode("latin-1")
        message["headers"] = [*message.get("headers", ()), (_CORRELATION, value)]
        if scope.get("path", "").startswith(PORTAL_PREFIX):
            MutableScopeHeaders.from_message(message)["cache-control"] = "no-store"
