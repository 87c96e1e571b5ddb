"""Authentication and authorization: credentials -> ``Caller`` -> scope and audience.

``app.middleware.gateway`` (the request gate) applies them to each request.

Credentials, one per request:
- ``X-API-Key: <key>`` (Salesforce Named Credential with a custom header), or
- ``Authorization: Bearer <JWT>`` (client credentials from a Salesforce External Credential or
  a portal's identity provider).

401 (with ``WWW-Authenticate``) when the credential is missing or invalid, 403 when it lacks a
scope or is the wrong kind (a partner credential on an internal API or the reverse).
"""

from __future__ import annotations

import logging
import math

import httpx
from litestar.datastructures import Headers
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from app.problems import ProblemError
from app.security.api_keys import ApiKeyStore
from app.security.caller import Caller
from app.security.jwks import UNAVAILABLE_RETRY_S
from app.security.scopes import ALL_SCOPES, Policy
from app.security.tokens import JwtVerifier, TokenRefused
from app.settings import SecuritySettings

__all__ = ["API_KEY_HEADER", "Authenticator"]

API_KEY_HEADER = "x-api-key"
log = logging.getLogger("isthmus.security")


_ANONYMOUS = Caller(client="anonymous", scopes=frozenset(ALL_SCOPES), via="disabled")


class Authenticator:
    """Turns a request's headers into a ``Caller``; holds the key store and JWKS caches."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.enabled = settings.enabled
        self.api_keys = ApiKeyStore(settings.api_keys)
        self.tokens = JwtVerifier(
            settings.issuers,
            skew_s=settings.clock_skew_s,
            jwks_ttl_s=settings.jwks_cache_s,
            jwks_cooldown_s=settings.jwks_refetch_cooldown_s,
            jwks_timeout_s=settings.jwks_timeout_s,
            max_lifetime_s=settings.max_token_lifetime_s,
        )
        self.http: httpx.AsyncClient | None = None
        """The gateway's client for JWKS fetches; bound at start-up (``bind``)."""

    def bind(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def authenticate(self, headers: Headers) -> Caller:
        return await self.authenticate_credentials(
            api_key=headers.get(API_KEY_HEADER), authorization=headers.get("authorization")
        )

    async def authenticate_credentials(
        self, *, api_key: str | None, authorization: str | None
    ) -> Caller:
        """The caller behind the request's ``X-API-Key`` and ``Authorization`` values."""
        if not self.enabled:
            return _ANONYMOUS
        if authorization is not None and api_key is not None:
            raise _unauthorized("Send one credential: X-API-Key or a bearer token, not both.")
        if api_key is not None:
            caller = self.api_keys.verify(api_key.strip())
            if caller is None:
                log.info("refused API key", extra={"reason": "unknown_or_expired"})
                raise _unauthorized("The API key is not valid.", scheme="ApiKey")
            return caller
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _unauthorized("Use the Bearer scheme or X-API-Key.")
            return await self._verify_token(token.strip())
        raise _unauthorized("Send an API key in X-API-Key or an OAuth 2.0 bearer token.")

    async def _verify_token(self, token: str) -> Caller:
        if not self.tokens:
            raise _unauthorized("Bearer tokens are not accepted by this gateway.")
        if self.http is None:  # pragma: no cover - bound in the app's lifespan
            raise RuntimeError("Authenticator.bind(http) was not called")
        try:
            return await self.tokens.verify(token, self.http)
        except TokenRefused as exc:
            log.info("refused bearer token", extra={"reason": exc.reason})
            if exc.unavailable:
                raise ProblemError(
                    503,
                    "auth_unavailable",
                    "Token keys unavailable",
                    "The token issuer's keys cannot be fetched right now; retry shortly.",
                    headers={"retry-after": str(math.ceil(UNAVAILABLE_RETRY_S))},
                ) from None
            raise _unauthorized(exc.reason, error="invalid_token") from None


def _unauthorized(
    detail: str, *, scheme: str = "Bearer", error: str | None = None
) -> NotAuthorizedException:
    challenge = f'{scheme} realm="isthmus"'
    if error is not None:
        challenge += f', error="{error}", error_description="{detail}"'
    return NotAuthorizedException(detail=detail, headers={"www-authenticate": challenge})


def authorize(caller: Caller, policy: Policy) -> None:
    if policy.audience == "internal" and caller.partner_id is not None:
        raise PermissionDeniedException(
            detail="Partner credentials may only call the portal API (/portal/v1)."
        )
    if policy.audience == "partner" and caller.partner_id is None and caller.via != "disabled":
        raise PermissionDeniedException(
            detail="The portal API needs a credential bound to a partner."
        )
    if not policy.scopes:
        raise PermissionDeniedException(detail="This operation is not open to any caller.")
    missing = [s for s in policy.scopes if not caller.has(s)]
    if missing:
        raise PermissionDeniedException(
            detail=f"The credential lacks the scope {' '.join(missing)}.",
            headers={
                "www-authenticate": (
                    f'Bearer realm="isthmus", error="insufficient_scope", scope="{" ".join(missing)}"'
                )
            },
        )
