"""The correlation id of the request being served, visible to logs and backend calls."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

__all__ = [
    "CORRELATION_HEADER",
    "current_correlation_id",
    "new_correlation_id",
    "valid_correlation_id",
]

CORRELATION_HEADER = "x-correlation-id"
_SAFE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("isthmus_correlation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("isthmus_traceparent", default=None)


def valid_correlation_id(value: str) -> bool:
    """A caller's id is accepted when short and free of characters that could forge logs."""
    return bool(_SAFE.match(value))


def new_correlation_id() -> str:
    return uuid.uuid4().hex


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
