"""OAuth 2.0 bearer JWTs from configured issuers, verified against each issuer's JWKS."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import jwt

from app.security.caller import Caller
from app.security.jwks import JwksCache
from app.settings import IssuerSetting

__all__ = ["JwtVerifier", "TokenRefused"]

MAX_TOKEN_LENGTH = 8192


class TokenRefused(Exception):
    """The token is not acceptable; ``str(exc)`` is safe to show the caller."""

    def __init__(self, reason: str, *, unavailable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unavailable = unavailable
        """True when the token could not be checked because the issuer's keys are unknown."""


_REFUSALS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf or iat in the future)."),
    (jwt.InvalidAudienceError, "The token is not for this audience."),
    (jwt.InvalidIssuerError, "The token's issuer is not accepted."),
    (jwt.MissingRequiredClaimError, "The token lacks a required claim."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
]


class JwtVerifier:
    def __init__(
        self,
        issuers: Sequence[IssuerSetting],
        *,
        skew_s: int = 60,
        jwks_ttl_s: float = 600.0,
        jwks_cooldown_s: float = 30.0,
        jwks_timeout_s: float = 2.0,
        max_lifetime_s: int = 86_400,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: what the JWKS caches measure their TTL and refetch cooldown with."""
        self.skew_s = skew_s
        self.max_lifetime_s = max_lifetime_s
        self._issuers = {i.issuer: i for i in issuers}
        self.caches = {
            i.issuer: JwksCache(
                i.jwks_url,
                ttl_s=jwks_ttl_s,
                cooldown_s=jwks_cooldown_s,
                timeout_s=jwks_timeout_s,
                clock=clock,
            )
            for i in issuers
        }

    def __bool__(self) -> bool:
        return bool(self._issuers)

    async def verify(self, token: str, http: httpx.AsyncClient) -> Caller:
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRefused("The token is too long.")
        try:
            header = jwt.get_unverified_header(token)
            # Only to pick the issuer's keys; every claim is verified below with the signature.
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise TokenRefused("The token is not a well-formed JWT.") from None
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise TokenRefused("The token's issuer is not accepted.")
        algorithm = header.get("alg")
        # Checked before any key is touched: refuses "none", HS256-with-the-public-key and
        # any algorithm the issuer was not configured for.
        if algorithm not in issuer.algorithms:
            raise TokenRefused("The token's algorithm is not accepted.")
        kid = header.get("kid")
        cache = self.caches[issuer.issuer]
        key = await cache.key_for(kid if isinstance(kid, str) else None, http)
        if key is None:
            raise TokenRefused(
                "The token's signing key is not known to the issuer.",
                unavailable=cache.unavailable,
            )
        if key.algorithm_name and header.get("alg") != key.algorithm_name:
            raise TokenRefused("The token's algorithm does not match its key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=issuer.audience,
                issuer=issuer.issuer,
                leeway=self.skew_s,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenRefused(_reason(exc)) from None
        self._check_lifetime(claims)
        return Caller(
            client=_client_of(claims, issuer),
            scopes=_scopes_of(claims.get(issuer.scope_claim)),
            partner_id=_partner_of(claims.get(issuer.partner_claim)),
            via="jwt",
        )

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """No token lives longer than ``max_lifetime_s``, from its ``iat`` or from now."""
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise TokenRefused("The token's exp and iat must be numbers.")
        longest = self.max_lifetime_s + self.skew_s
        if exp - iat > longest or exp - time.time() > longest:  # now as pyjwt reads it
            raise TokenRefused(
                f"The token lives longer than the accepted {self.max_lifetime_s} seconds."
            )


def _reason(exc: Exception) -> str:
    for kind, reason in _REFUSALS:
        if isinstance(exc, kind):
            return reason
    return "The token is invalid."


def _client_of(claims: dict[str, Any], issuer: IssuerSetting) -> str:
    for claim in (issuer.client_claim, "azp", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value[:128]
    return "unknown-client"


def _scopes_of(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def _partner_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
