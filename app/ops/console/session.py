"""The console's session: a signed cookie (HMAC-SHA256), no server-side state, so any replica
sharing ``console.session_secret`` accepts it.

The cookie carries the operator's client name, scopes, a CSRF token and an expiry. It is
HttpOnly, SameSite=Strict, Path=/ops, and Secure when the console is served over TLS (or
always, per ``console.secure_cookie``). Every form carries the CSRF token; a POST whose token
does not match its session's is refused (403), as is one from another origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

__all__ = ["COOKIE", "LOGIN_COOKIE", "Session", "SessionCodec"]

COOKIE = "isthmus_ops"
LOGIN_COOKIE = "isthmus_ops_login"
"""Before sign-in: holds the sign-in form's CSRF token."""


class Session(msgspec.Struct, frozen=True, kw_only=True):
    client: str
    scopes: tuple[str, ...]
    csrf: str
    expires: float

    def can(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass
class SessionCodec:
    secret: bytes
    ttl_s: int
    clock: Callable[[], float] = time.time

    @classmethod
    def create(cls, secret: str | None, ttl_s: int) -> SessionCodec:
        key = secret.encode() if secret else secrets.token_bytes(32)
        return cls(secret=hashlib.sha256(b"isthmus-ops-session\0" + key).digest(), ttl_s=ttl_s)

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.secret, body, "sha256").digest()).decode()

    def encode(self, value: msgspec.Struct) -> str:
        body = base64.urlsafe_b64encode(msgspec.json.encode(value))
        return f"{body.decode()}.{self._sign(body)}"

    def _decode(self, cookie: str | None) -> bytes | None:
        if not cookie or len(cookie) > 4096 or "." not in cookie:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(body.encode()), signature):
            return None
        try:
            return base64.urlsafe_b64decode(body.encode())
        except ValueError:
            return None

    def flash_signature(self, kind: str, text: str) -> str:
        """Messages shown after a redirect travel in the URL, signed: a link cannot make the
        console say something it did not."""
        return self._sign(f"flash\0{kind}\0{text}".encode())[:22]

    def new_session(self, client: str, scopes: tuple[str, ...]) -> Session:
        return Session(client=client, scopes=scopes, csrf=secrets.token_urlsafe(32),
                       expires=self.clock() + self.ttl_s)  # fmt: skip

    def session(self, cookie: str | None) -> Session | None:
        raw = self._decode(cookie)
        if raw is None:
            return None
        try:
            session = msgspec.json.decode(raw, type=Session)
        except msgspec.ValidationError:
            return None
        return session if session.expires > self.clock() else None

    def login_token(self) -> tuple[str, str]:
        """A sign-in form's CSRF token and the cookie that vouches for it (10 minutes)."""
        token = secrets.token_urlsafe(32)
        return token, self.encode(_LoginToken(token=token, expires=self.clock() + 600))

    def check_login_token(self, cookie: str | None, presented: str | None) -> bool:
        raw = self._decode(cookie)
        if raw is None or not presented:
            return False
        try:
            held = msgspec.json.decode(raw, type=_LoginToken)
        except msgspec.ValidationError:
            return False
        return held.expires > self.clock() and hmac.compare_digest(held.token, presented)


class _LoginToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires: float
