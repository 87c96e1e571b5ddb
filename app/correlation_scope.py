"""Correlation id per ASGI scope: taken from the caller when valid, else generated, once."""

from __future__ import annotations

from typing import Any

from app.correlation import CORRELATION_HEADER, new_correlation_id, valid_correlation_id

__all__ = ["correlation_id_for", "traceparent_for"]

_KEY = "isthmus.correlation_id"
_TRACEPARENT_KEY = "isthmus.traceparent"


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
    given = _header(scope, CORRELATION_HEADER.encode())
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
