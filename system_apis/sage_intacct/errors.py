"""Intacct errors as our ``BackendError`` types, keeping ``errorno``, ``description2`` and
``correction`` and saying whether a retry can help."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

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
    "IntacctAuthError",
    "IntacctDuplicateRequestError",
    "IntacctError",
    "IntacctErrorDetail",
    "IntacctNotFoundError",
    "IntacctProtocolError",
    "IntacctRateLimitedError",
    "IntacctRejectedError",
    "IntacctTimeoutError",
    "IntacctUnavailableError",
    "error_from_details",
]

VENDOR = "sage_intacct"

# Documented sign-in failures (control level with the sender, operation level with the user).
_AUTH_CODES = frozenset({"XMLGW_JPP0002", "XL03000006", "PL04000055"})
# The gateway's refusal of a repeated controlid under uniqueid=true. UNVERIFIED code: we also
# match the wording so a differing real code still lands here.
_DUPLICATE_CONTROLID_CODES = frozenset({"XL03000002"})
_ROLLED_BACK = "XL03000009"


class IntacctErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One ``<error>`` of an ``<errormessage>``."""

    errorno: str = ""
    description: str = ""
    description2: str = ""
    correction: str = ""

    def text(self) -> str:
        parts = [p for p in (self.description, self.description2) if p]
        return " — ".join(parts) or self.errorno


class IntacctError(BackendError):
    """An Intacct call failed; ``errors`` holds every ``<error>`` the gateway returned."""

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[IntacctErrorDetail] = (),
        level: str | None = None,
        status_code: int | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
    ) -> None:
        first = next(
            (e for e in errors if e.errorno != _ROLLED_BACK), errors[0] if errors else None
        )
        super().__init__(
            message,
            vendor=VENDOR,
            code=first.errorno if first else None,
            status_code=status_code,
            retryable=retryable,
            request_id=request_id,
        )
        self.errors = tuple(errors)
        self.level = level
        """``control``, ``authentication`` or ``result``: where the gateway put the error."""
        self.errorno = first.errorno if first else None
        self.description = first.description if first else None
        self.description2 = first.description2 if first else None
        self.correction = first.correction if first else None


class IntacctNotFoundError(IntacctError, NotFoundError):
    pass


class IntacctRejectedError(IntacctError, BackendRejectedError):
    pass


class IntacctDuplicateRequestError(IntacctRejectedError):
    """``uniqueid=true`` and the gateway had already processed this ``controlid``."""


class IntacctAuthError(IntacctError, BackendAuthError):
    pass


class IntacctRateLimitedError(IntacctError, BackendRateLimitedError):
    pass


class IntacctUnavailableError(IntacctError, BackendUnavailableError):
    pass


class IntacctTimeoutError(IntacctError, BackendTimeoutError):
    pass


class IntacctProtocolError(IntacctError, BackendProtocolError):
    pass


def _mentions(details: Sequence[IntacctErrorDetail], *needles: str) -> bool:
    text = " ".join(f"{d.description} {d.description2}" for d in details).lower()
    return all(n in text for n in needles)


def error_from_details(
    details: Sequence[IntacctErrorDetail], *, level: str, status_code: int | None = None
) -> IntacctError:
    """The error type an ``<errormessage>`` stands for."""
    codes = {d.errorno for d in details}
    message = "; ".join(d.text() for d in details if d.errorno != _ROLLED_BACK) or (
        details[0].text() if details else "Intacct reported a failure without details"
    )
    cls: type[IntacctError] = IntacctRejectedError
    # XL03000006 is also what the newer ``query`` answers for a field it cannot query ("The
    # following fields cannot be queried: …"): a sign-in failure only outside a <result>.
    if level == "authentication" or (level != "result" and codes & _AUTH_CODES):
        cls = IntacctAuthError
    elif status_code == 429 or _mentions(details, "rate limit"):
        cls = IntacctRateLimitedError
    elif codes & _DUPLICATE_CONTROLID_CODES or _mentions(details, "control id", "already"):
        cls = IntacctDuplicateRequestError
    return cls(message, errors=details, level=level, status_code=status_code)
