"""ION API OAuth2 tokens for a service account: obtained, cached, refreshed before expiry.

One refresh at a time: concurrent callers that find the token due wait on one lock and reuse
the token the first of them fetched. Secrets and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import msgspec

from system_apis.infor_m3.credentials import IonApiCredentials
from system_apis.infor_m3.errors import (
    M3AuthError,
    M3Error,
    M3ProtocolError,
    M3RateLimitedError,
    M3TimeoutError,
    M3UnavailableError,
)
from system_apis.infor_m3.wire import token_decoder

__all__ = ["TokenProvider"]

log = logging.getLogger(__name__)

# Refresh this long before expiry (at most; a fifth of the lifetime for short-lived tokens).
_REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class _Token:
    access_token: str
    refresh_token: str | None
    expires_at: float
    refresh_at: float


class TokenProvider:
    """Hands out a valid bearer token for the ``.ionapi`` service account."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: IonApiCredentials,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    async def get(self, *, http_timeout: float) -> str:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.access_token
        async with self._lock:
            token = self._token
            if token is not None and self._clock() < token.refresh_at:
                return token.access_token  # another caller refreshed while we waited
            self._token = await self._fetch(token, http_timeout=http_timeout)
            return self._token.access_token

    def invalidate(self, access_token: str) -> None:
        """The API refused ``access_token`` (401): forget it so the next ``get`` fetches anew."""
        if self._token is not None and self._token.access_token == access_token:
            self._token = None

    async def revoke(self, *, http_timeout: float = 5.0) -> None:
        """Revoke the cached tokens at the SSO server (best effort) and forget them."""
        token, self._token = self._token, None
        if token is None:
            return
        auth = (self._credentials.ci, self._credentials.cs)
        for value, hint in (
            (token.refresh_token, "refresh_token"),
            (token.access_token, "access_token"),
        ):
            if value is None:
                continue
            try:
                await self._client.post(
                    self._credentials.revoke_url,
                    auth=auth,
                    timeout=http_timeout,
                    data={"token": value, "token_type_hint": hint},
                )
            except httpx.HTTPError as exc:
                log.warning("ION API token revocation failed: %s", type(exc).__name__)

    async def _fetch(self, previous: _Token | None, *, http_timeout: float) -> _Token:
        creds = self._credentials
        if previous is not None and previous.refresh_token:
            try:
                return await self._request(
                    {"grant_type": "refresh_token", "refresh_token": previous.refresh_token},
                    http_timeout=http_timeout,
                )
            except M3AuthError:
                log.info("ION API refresh token refused; signing in again with the service account")
        return await self._request(
            {"grant_type": "password", "username": creds.saak, "password": creds.sask},
            http_timeout=http_timeout,
        )

    async def _request(self, form: dict[str, str], *, http_timeout: float) -> _Token:
        creds = self._credentials
        body = {**form, "client_id": creds.ci, "client_secret": creds.cs}
        started = self._clock()
        try:
            response = await self._client.post(creds.token_url, data=body, timeout=http_timeout)
        except httpx.TimeoutException:
            raise M3TimeoutError("ION API token request timed out", code="token") from None
        except httpx.HTTPError as exc:
            raise M3UnavailableError(
                f"ION API token endpoint unreachable: {type(exc).__name__}", code="token"
            ) from None
        if response.status_code != 200:
            raise _token_error(response)
        try:
            payload = token_decoder.decode(response.content)
        except msgspec.DecodeError:
            raise M3ProtocolError(
                "ION API token endpoint answered something that is not a token",
                code="token",
                status_code=response.status_code,
            ) from None
        lifetime = max(payload.expires_in, 0.0)
        margin = min(_REFRESH_MARGIN_SECONDS, lifetime / 5)
        log.info("ION API token obtained (%s grant, valid %.0f s)", form["grant_type"], lifetime)
        return _Token(
            access_token=payload.access_token,
            refresh_token=payload.refresh_token,
            expires_at=started + lifetime,
            refresh_at=started + lifetime - margin,
        )


def _token_error(response: httpx.Response) -> M3Error:
    error, description = "", ""
    try:
        body = response.json()
        if isinstance(body, dict):
            error = str(body.get("error", ""))
            description = str(body.get("error_description", ""))
    except ValueError:
        pass
    status = response.status_code
    message = f"ION API token request refused: {error or status} {description}".strip()
    if status in (400, 401, 403):
        return M3AuthError(message, code=error or None, status_code=status)
    if status == 429:
        return M3RateLimitedError(message, code=error or None, status_code=status)
    return M3UnavailableError(message, code=error or None, status_code=status)
