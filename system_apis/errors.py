"""Errors every System API adapter raises, whatever the vendor.

Each vendor package subclasses ``BackendError`` (``IntacctError``, ``M3Error`` …) to keep
its own fields; the process layer and ``app/errors.py`` only rely on what is here.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BackendAuthError",
    "BackendError",
    "BackendProtocolError",
    "BackendRateLimitedError",
    "BackendRejectedError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "NotFoundError",
]

ErrorKind = Literal[
    "not_found", "rejected", "auth", "rate_limited", "unavailable", "timeout", "protocol"
]


class BackendError(Exception):
    """A backend call failed. ``retryable`` says whether trying again may help."""

    kind: ErrorKind = "unavailable"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        code: str | None = None,
        field: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.code = code
        self.field = field
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vendor}, code={self.code!r}, message={self.message!r})"


class NotFoundError(BackendError):
    """The ERP does not know the customer, item or order asked for."""

    kind: ErrorKind = "not_found"


class BackendRejectedError(BackendError):
    """The ERP refused the request on business grounds (closed period, blocked customer …)."""

    kind: ErrorKind = "rejected"


class BackendAuthError(BackendError):
    """Credentials were refused; configuration must change before a retry can help."""

    kind: ErrorKind = "auth"


class BackendRateLimitedError(BackendError):
    """The backend throttled us; ``retry_after`` seconds when it said so."""

    kind: ErrorKind = "rate_limited"
    retryable = True


class BackendUnavailableError(BackendError):
    """Connection failure or 5xx: the backend could not answer."""

    kind: ErrorKind = "unavailable"
    retryable = True


class BackendTimeoutError(BackendError):
    """The backend did not answer within the call's deadline."""

    kind: ErrorKind = "timeout"
    retryable = True


class BackendProtocolError(BackendError):
    """The backend answered something we cannot read (malformed, truncated, HTML…)."""

    kind: ErrorKind = "protocol"
    retryable = True
