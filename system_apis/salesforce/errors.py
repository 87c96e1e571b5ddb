"""Salesforce failures → our errors, with Salesforce's ``errorCode``, message and fields.

simple-salesforce raises one exception class per HTTP status with the decoded error body in
``content`` (``[{"message", "errorCode", "fields"}]``); requests raises its own for transport
failures. Both are turned into ``system_apis.errors`` classes here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import requests
import simple_salesforce.exceptions as sfx

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
    "SalesforceBudgetError",
    "SalesforceLoginError",
    "first_error",
    "from_exception",
]

VENDOR = "salesforce"
_RETRYABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"}
)


class SalesforceLoginError(BackendAuthError):
    """The token endpoint refused us (``error``/``error_description``); settings must change."""


class SalesforceBudgetError(BackendRateLimitedError):
    """The org's remaining daily API requests are down to the configured reserve."""


def first_error(content: Any) -> tuple[str | None, str, tuple[str, ...]]:
    """(errorCode, message, fields) of the first error in a Salesforce error body."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        code = first.get("errorCode") or first.get("statusCode")
        fields = tuple(str(f) for f in first.get("fields") or ())
        return (str(code) if code else None), str(first.get("message", "")), fields
    if isinstance(content, dict) and "error" in content:
        return str(content["error"]), str(content.get("error_description", "")), ()
    return None, str(content)[:300], ()


def from_exception(exc: BaseException) -> BackendError:
    """Our error for anything a Salesforce call raised."""
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, sfx.SalesforceError):
        return _from_response(exc.status, exc.content)
    if isinstance(exc, requests.exceptions.SSLError):
        return BackendUnavailableError(
            "TLS verification of Salesforce failed: check the CA setting", vendor=VENDOR,
            retryable=False,
        )  # fmt: skip
    if isinstance(exc, requests.exceptions.Timeout):
        return BackendTimeoutError("Salesforce did not answer in time", vendor=VENDOR)
    if isinstance(
        exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError
    ):
        return BackendUnavailableError(
            f"cannot reach Salesforce: {type(exc).__name__}", vendor=VENDOR
        )
    if isinstance(exc, ValueError):  # a body that is not the JSON it claims to be
        return BackendProtocolError(
            "Salesforce answered a body that is not valid JSON", vendor=VENDOR
        )
    return BackendProtocolError(
        f"unexpected Salesforce failure: {type(exc).__name__}", vendor=VENDOR
    )


def _from_response(status: int, content: Any) -> BackendError:
    code, message, fields = first_error(content)
    kwargs: dict[str, Any] = {
        "vendor": VENDOR, "code": code, "status_code": status,
        "field": ",".join(fields) or None,
    }  # fmt: skip
    if status == 300:
        return BackendRejectedError(
            "several Salesforce records match the external id",
            **{**kwargs, "code": code or "MULTIPLE_CHOICES"},
        )
    if status == 401:
        return BackendAuthError(message or "Salesforce session refused", **kwargs)
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return BackendRateLimitedError(message, retry_after=3600.0, **kwargs)
    if status == 403:
        return BackendAuthError(message, **kwargs)
    if status == 404:
        return NotFoundError(message or "not found in Salesforce", **kwargs)
    if status >= 500:
        return BackendUnavailableError(message or f"Salesforce answered {status}", **kwargs)
    if code in _RETRYABLE_CODES:
        return BackendRejectedError(message, retryable=True, **kwargs)
    return BackendRejectedError(message or f"Salesforce refused the request ({status})", **kwargs)
