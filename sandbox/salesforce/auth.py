"""The org's OAuth 2.0 token endpoint: JWT bearer and client credentials, and its sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["ConnectedApp", "OAuthError", "Sessions", "generate_key_pair"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = timedelta(minutes=3)
"""Salesforce wants ``exp`` at most three minutes ahead (plus clock skew, below)."""
CLOCK_SKEW = timedelta(seconds=30)


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def generate_key_pair() -> tuple[bytes, bytes]:
    """(private key PEM for the client, public key PEM for the connected app)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass(frozen=True)
class ConnectedApp:
    consumer_key: str
    consumer_secret: str
    public_key_pem: bytes
    """The certificate's key the JWT assertions must be signed with."""
    username: str
    """The pre-authorized user (JWT ``sub``) and the client-credentials run-as user."""


@dataclass
class _Session:
    expires_at: datetime
    revoked: bool = False


class Sessions:
    def __init__(self, app: ConnectedApp, *, audiences: tuple[str, ...], clock: Callable[[], datetime],
                 lifetime: timedelta, org_id: str, user_id: str, public_url: str) -> None:  # fmt: skip
        self.app = app
        self.audiences = audiences
        self.clock = clock
        self.lifetime = lifetime
        self.org_id = org_id
        self.user_id = user_id
        self.public_url = public_url
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def token(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            self._check_assertion(form.get("assertion", ""))
        elif grant == "client_credentials":
            self._check_client(headers, form)
        elif not grant:
            raise OAuthError("invalid_request", "grant type not supported")
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self._issue()

    def _check_assertion(self, assertion: str) -> None:
        if not assertion:
            raise OAuthError("invalid_request", "assertion is required")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.app.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        try:
            jwt.decode(
                assertion,
                self.app.public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                         "verify_nbf": False},
            )  # fmt: skip
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(str(a).rstrip("/") in self.audiences for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            exp = datetime.fromtimestamp(float(claims["exp"]), tz=self.clock().tzinfo)
        except (KeyError, TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        now = self.clock()
        if exp <= now - CLOCK_SKEW:
            raise OAuthError("invalid_grant", "expired authorization code")
        if exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
            raise OAuthError("invalid_grant", "invalid assertion")
        if claims.get("sub") != self.app.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _check_client(self, headers: dict[str, str], form: dict[str, str]) -> None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
        if not secrets.compare_digest(client_id, self.app.consumer_key):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not secrets.compare_digest(secret, self.app.consumer_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _issue(self) -> dict[str, Any]:
        now = self.clock()
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._sessions[token] = _Session(now + self.lifetime)
        identity = f"{self.public_url}/id/{self.org_id}/{self.user_id}"
        issued_at = str(int(now.timestamp() * 1000))
        signature = base64.b64encode(
            hmac.new(
                self.app.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return {
            "access_token": token,
            "signature": signature,
            "scope": "api",
            "instance_url": self.public_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def valid(self, token: str) -> bool:
        with self._lock:
            session = self._sessions.get(token)
            return session is not None and not session.revoked and session.expires_at > self.clock()

    def expire_all(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.revoked = True
