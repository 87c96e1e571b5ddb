"""Authentication (API keys, JWT via JWKS), scopes, partner tenancy, rate limits, CORS.

``Security.from_settings(settings)`` builds everything without I/O except reading the
partners file; ``bind(http, redis)`` attaches the gateway's clients at start-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from litestar.types import Middleware
from redis.asyncio import Redis

from app.security.api_keys import ApiKeyStore, hash_api_key
from app.security.authn import API_KEY_HEADER, Authenticator
from app.security.caller import Caller
from app.security.cors import PortalCors
from app.security.headers import HeaderLimit
from app.security.rate_limit import RateLimiter
from app.security.scopes import (
    ACCOUNTS_READ,
    ALL_SCOPES,
    CREDIT_READ,
    EXCEPTIONS_ACT,
    EXCEPTIONS_VIEW,
    INVENTORY_READ,
    OPS_ADMIN,
    ORDERS_READ,
    ORDERS_SUBMIT,
    PRICES_READ,
    PROCESS_INVOKE,
    QUOTES_VALIDATE,
    requires,
)
from app.security.tenancy import PartnerDirectory
from app.settings import Settings

if TYPE_CHECKING:
    from app.routes.read_lane import ReadLane

__all__ = [
    "ACCOUNTS_READ",
    "ALL_SCOPES",
    "API_KEY_HEADER",
    "CREDIT_READ",
    "EXCEPTIONS_ACT",
    "EXCEPTIONS_VIEW",
    "INVENTORY_READ",
    "OPS_ADMIN",
    "ORDERS_READ",
    "ORDERS_SUBMIT",
    "PRICES_READ",
    "PROCESS_INVOKE",
    "QUOTES_VALIDATE",
    "ApiKeyStore",
    "Authenticator",
    "Caller",
    "PartnerDirectory",
    "RateLimiter",
    "Security",
    "hash_api_key",
    "openapi_security_schemes",
    "requires",
    "security_requirements",
]


@dataclass
class Security:
    """The gateway's security objects; ``middleware`` builds the ASGI middleware from them."""

    authenticator: Authenticator
    limiter: RateLimiter
    partners: PartnerDirectory
    cors: PortalCors
    header_limit: HeaderLimit

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        wall_clock: Callable[[], float] = time.time,
        redis_timeout_s: float | None = None,
    ) -> Security:
        """``wall_clock`` aligns the rate-limit windows; ``redis_timeout_s`` bounds each of
        the limiter's Redis calls (slower counts as down; ``redis_timeout_ms`` when unset)."""
        s = settings.security
        if redis_timeout_s is None:
            redis_timeout_s = settings.redis_timeout_ms / 1000
        return cls(
            authenticator=Authenticator(s),
            limiter=RateLimiter(s.rate_limit, clock=wall_clock, redis_timeout_s=redis_timeout_s),
            partners=PartnerDirectory.load(s.partners, s.partners_file),
            cors=PortalCors(s.cors_origins),
            header_limit=HeaderLimit(s.max_header_bytes),
        )

    def middleware(self, lane: ReadLane | None = None) -> list[Middleware]:
        """One layer doing, in order, what ``HeaderLimit``, ``PortalCors``, ``AuthMiddleware``
        and ``RateLimitMiddleware`` do: cheap refusals before credentials are checked,
        metering after (``app.middleware.gateway``); then ``lane``, when given, answers the
        read routes' usual requests."""
        from app.middleware.gateway import SecurityGateway

        return [
            SecurityGateway(self.header_limit, self.cors, self.authenticator, self.limiter, lane)
        ]

    def bind(self, *, http: httpx.AsyncClient, redis: Redis | None) -> None:
        self.authenticator.bind(http)
        self.limiter.bind(redis)


API_KEY_SCHEME = "apiKey"
BEARER_SCHEME = "bearerJwt"


def openapi_security_schemes() -> dict[str, Any]:
    from litestar.openapi.spec import SecurityScheme

    return {
        API_KEY_SCHEME: SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description=(
                "A key issued per client (e.g. a Salesforce Named Credential with a custom "
                "header). Keys carry scopes and, for partner portals, a partner binding."
            ),
        ),
        BEARER_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description=(
                "OAuth 2.0 client-credentials access token (JWT) from a configured issuer, "
                "verified against its JWKS. Scopes in `scope`/`scp`; partner in `partner_id`."
            ),
        ),
    }


def security_requirements(*scopes: str) -> list[dict[str, list[str]]]:
    """OpenAPI ``security`` for an operation: an API key or a bearer token with ``scopes``."""
    return [{API_KEY_SCHEME: []}, {BEARER_SCHEME: list(scopes)}]
