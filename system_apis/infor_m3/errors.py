"""Infor M3 / ION API errors, each also one of the gateway's ``BackendError`` kinds.

M3 refuses a transaction with a message id (``WCU0203``), the field it blames and a text;
these travel as ``code``, ``field`` and ``message``, plus the ``transaction`` that failed.
"""

from __future__ import annotations

from system_apis.errors import (
    BackendAuthError,
    BackendError,
    BackendProtocolError,
    BackendRateLimitedError,
    BackendRejectedError,
    BackendTimeoutError,
    BackendUnavailableError,
    NotFoundError,
)

__all__ = [
    "VENDOR",
    "M3AuthError",
    "M3Error",
    "M3NotFoundError",
    "M3ProtocolError",
    "M3RateLimitedError",
    "M3RejectedError",
    "M3TimeoutError",
    "M3UnavailableError",
    "error_for_refusal",
]

VENDOR = "infor_m3"

# M3 message ids whose last four digits say "does not exist" (W + field prefix + 0203).
_NOT_FOUND_SUFFIX = "0203"
# Refusals that a later attempt may not meet (record locked by another job). UNVERIFIED ids.
_TRANSIENT_HINTS = ("locked", "in use by", "try again")


class M3Error(BackendError):
    """Base of every Infor M3 error; ``transaction`` is ``PROGRAM/TRANSACTION`` when known."""

    def __init__(
        self,
        message: str,
        *,
        transaction: str | None = None,
        vendor: str = VENDOR,
        code: str | None = None,
        field: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            vendor=vendor,
            code=code,
            field=field,
            status_code=status_code,
            request_id=request_id,
            retry_after=retry_after,
            retryable=retryable,
        )
        self.transaction = transaction


class M3NotFoundError(M3Error, NotFoundError):
    pass


class M3RejectedError(M3Error, BackendRejectedError):
    pass


class M3AuthError(M3Error, BackendAuthError):
    pass


class M3RateLimitedError(M3Error, BackendRateLimitedError):
    pass


class M3UnavailableError(M3Error, BackendUnavailableError):
    pass


class M3TimeoutError(M3Error, BackendTimeoutError):
    pass


class M3ProtocolError(M3Error, BackendProtocolError):
    pass


def error_for_refusal(
    *,
    transaction: str,
    message: str,
    code: str | None,
    field: str | None,
    status_code: int | None,
) -> M3Error:
    """Turn an M3 refusal (``errorMessage``/``errorCode``/``errorField``) into our error."""
    text = " ".join(message.split()) or "M3 refused the transaction"
    if code and code.endswith(_NOT_FOUND_SUFFIX):
        return M3NotFoundError(
            text, transaction=transaction, code=code, field=field, status_code=status_code
        )
    transient = any(hint in text.lower() for hint in _TRANSIENT_HINTS)
    return M3RejectedError(
        text,
        transaction=transaction,
        code=code,
        field=field,
        status_code=status_code,
        retryable=transient,
    )
