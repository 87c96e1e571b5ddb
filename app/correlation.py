"""Correlation ids and the caller's ``traceparent``: taken or made per request, everywhere.

- Per request: the caller's ``X-Correlation-ID`` when valid (1 to 128 of ``A-Za-z0-9._:-``), else
  a generated one, computed once and kept in the ASGI scope (``correlation_id_for``); the
  caller's W3C ``traceparent`` when well-formed (``traceparent_for``).
- ``CorrelationMiddleware`` makes both visible to logs and backend calls for the request's
  duration (``current_correlation_id``, ``current_traceparent``); with tracing on, the SERVER
  span layer (``app.observability.server_spans``) stands in for it, and the caller's trace
  travels in the span's context instead; the request
  gate's ``before_send`` hook (``app.middleware.gateway.stamp_response``) puts the id on every
  response, unrouted 404/405s included.
- ``app.wiring`` sends both on every ERP call; ``app.logs`` writes the id on every line;
  ``app.errors`` puts it in every problem document.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from random import getrandbits
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "CORRELATION_HEADER",
    "CorrelationMiddleware",
    "correlation_id_for",
    "current_correlation_id",
    "current_traceparent",
    "ids_for",
    "new_correlation_id",
    "reset_correlation_id",
    "reset_traceparent",
    "set_correlation_id",
    "set_traceparent",
    "traceparent_for",
    "valid_correlation_id",
]

CORRELATION_HEADER = "x-correlation-id"
_HEADER_BYTES = CORRELATION_HEADER.encode("latin-1")
_SAFE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("isthmus_correlation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("isthmus_traceparent", default=None)
_KEY = "isthmus.correlation_id"
_TRACEPARENT_KEY = "isthmus.traceparent"


# ---------------------------------------------------------------- the id itself


def valid_correlation_id(value: str) -> bool:
    """A caller's id is accepted when short and free of characters that could forge logs."""
    return bool(_SAFE.match(value))


# The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid.UUID`` sets them.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_correlation_id() -> str:
    """A random UUID (version 4) in hex, as ``uuid.uuid4().hex`` gives it.

    Drawn from the ``random`` module, not ``os.urandom``: the id must be unique, not secret,
    and a system call per request costs more than the rest of this id. Python reseeds that
    generator in each forked worker, so workers never share a sequence.
    """
    return f"{(getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"


# ---------------------------------------------------------------- the request being served


def current_correlation_id() -> str | None:
    return _current.get()


def set_correlation_id(value: str | None) -> object:
    return _current.set(value)


def reset_correlation_id(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current_traceparent() -> str | None:
    """The caller's W3C ``traceparent`` (forwarded to ERPs when we record no trace of our own)."""
    return _traceparent.get()


def set_traceparent(value: str | None) -> object:
    return _traceparent.set(value)


def reset_traceparent(token: object) -> None:
    _traceparent.reset(token)  # type: ignore[arg-type]


# ---------------------------------------------------------------- per ASGI scope


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def correlation_id_for(scope: Any) -> str:
    """The request's id; computed on first use and kept in the scope so all agree."""
    state = scope.setdefault("state", {})
    existing = state.get(_KEY)
    if isinstance(existing, str):
        return existing
    given = _header(scope, _HEADER_BYTES)
    value = given if given and valid_correlation_id(given) else new_correlation_id()
    state[_KEY] = value
    return value


def traceparent_for(scope: Any) -> str | None:
    """The caller's W3C ``traceparent`` when well-formed (an invalid one is ignored, per spec)."""
    state = scope.setdefault("state", {})
    if _TRACEPARENT_KEY in state:
        value = state[_TRACEPARENT_KEY]
        return value if isinstance(value, str) else None
    given = _header(scope, b"traceparent")
    valid = given if given and _valid_traceparent(given) else None
    state[_TRACEPARENT_KEY] = valid
    return valid


def _valid_traceparent(value: str) -> bool:
    parts = value.strip().split("-")
    if len(parts) < 4 or parts[0] == "ff" or len(parts[0]) != 2:
        return False
    version, trace_id, span_id, flags = parts[:4]
    hexdigits = set("0123456789abcdef")
    return (
        len(trace_id) == 32
        and len(span_id) == 16
        and len(flags) == 2
        and set(version + trace_id + span_id + flags) <= hexdigits
        and trace_id != "0" * 32
        and span_id != "0" * 16
    )


# ---------------------------------------------------------------- middleware and hook


class CorrelationMiddleware:
    """Makes the request's correlation id visible to logs and backend calls.

    A plain middleware factory (``app -> ASGI app``): Litestar adds no bookkeeping of its own
    around it, and one pass over the headers finds both ids."""

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def correlated(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            correlation_id, traceparent, _sent = ids_for(scope)
            token = _current.set(correlation_id)
            parent = _traceparent.set(traceparent)
            try:
                await app(scope, receive, send)
            finally:
                _traceparent.reset(parent)
                _current.reset(token)

        return correlated


def ids_for(scope: Any) -> tuple[str, str | None, bool]:
    """``correlation_id_for`` and ``traceparent_for`` at once, reading the headers once, and
    whether the caller sent a ``traceparent`` at all (a malformed one is no parent here, yet
    the span layer hands it to the propagator, which reads some this check refuses)."""
    state = scope.setdefault("state", {})
    if _KEY in state or _TRACEPARENT_KEY in state:
        sent = _header(scope, b"traceparent") is not None
        return correlation_id_for(scope), traceparent_for(scope), sent
    given = given_parent = None
    for key, value in scope.get("headers", ()):
        if key == _HEADER_BYTES:
            if given is None:
                given = value
        elif key == b"traceparent" and given_parent is None:
            given_parent = value
    correlation_id = _decoded(given)
    if correlation_id is None or not valid_correlation_id(correlation_id):
        correlation_id = new_correlation_id()
    traceparent = _decoded(given_parent)
    if traceparent is not None and not _valid_traceparent(traceparent):
        traceparent = None
    state[_KEY] = correlation_id
    state[_TRACEPARENT_KEY] = traceparent
    return correlation_id, traceparent, given_parent is not None


def _decoded(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return None
