"""How Isthmus logs in to Salesforce: OAuth 2.0 JWT bearer or client credentials.

simple-salesforce's own login helpers build ``https://{domain}.salesforce.com`` URLs, so they
cannot reach a My Domain with a custom host or the sandbox; the token request is made here,
against the configured login URL, over the same ``requests`` session, and the resulting
token is handed to simple-salesforce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import msgspec
import requests

from system_apis.errors import BackendUnavailableError
from system_apis.salesforce.errors import VENDOR, SalesforceLoginError, from_exception

__all__ = ["ClientCredentials", "JwtBearer", "Token", "request_token"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class JwtBearer:
    """A connected app with a certificate: ``iss`` consumer key, ``sub`` username."""

    consumer_key: str
    username: str
    private_key_file: Path
    audience: str | None = None
    """``aud``; defaults to the login URL (``https://login.salesforce.com`` or ``…test…``)."""
    assertion_lifetime_s: int = 180

    def __repr__(self) -> str:  # the key stays out of logs
        return f"JwtBearer(consumer_key={self.consumer_key!r}, username={self.username!r})"

    def form(self, login_url: str) -> dict[str, str]:
        key = self.private_key_file.read_bytes()
        claims = {
            "iss": self.consumer_key,
            "sub": self.username,
            "aud": (self.audience or login_url).rstrip("/"),
            "exp": int(time.time()) + self.assertion_lifetime_s,
        }
        return {"grant_type": JWT_GRANT, "assertion": jwt.encode(claims, key, algorithm="RS256")}


@dataclass(frozen=True)
class ClientCredentials:
    """A connected app with the client credentials flow (a run-as user set in Salesforce)."""

    client_id: str
    client_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r})"


class Token(msgspec.Struct, frozen=True):
    access_token: str
    instance_url: str
    id: str = ""
    token_type: str = "Bearer"  # noqa: S105 - a scheme name
    issued_at: str | None = None
    scope: str | None = None

    def __repr__(self) -> str:
        return f"Token(instance_url={self.instance_url!r})"


_TOKEN = msgspec.json.Decoder(Token)


def request_token(
    session: requests.Session,
    login_url: str,
    credentials: JwtBearer | ClientCredentials,
    timeout: float,
) -> Token:
    """POST ``/services/oauth2/token``; refusals → ``SalesforceLoginError``."""
    url = login_url.rstrip("/") + "/services/oauth2/token"
    auth: tuple[str, str] | None = None
    if isinstance(credentials, JwtBearer):
        form = credentials.form(login_url)
    else:
        form = {"grant_type": "client_credentials"}
        auth = (credentials.client_id, credentials.client_secret)
    try:
        response = session.post(url, data=form, auth=auth, timeout=timeout)
    except requests.RequestException as exc:
        raise from_exception(exc) from None
    if response.status_code >= 500:
        raise BackendUnavailableError(
            f"Salesforce login answered {response.status_code}", vendor=VENDOR,
            status_code=response.status_code,
        )  # fmt: skip
    if response.status_code != 200:
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        raise SalesforceLoginError(
            f"Salesforce refused the login: {error or response.status_code} {description}".strip(),
            vendor=VENDOR, code=error or None, status_code=response.status_code,
        )  # fmt: skip
    try:
        return _TOKEN.decode(response.content)
    except msgspec.DecodeError:
        raise from_exception(ValueError("token body")) from None
