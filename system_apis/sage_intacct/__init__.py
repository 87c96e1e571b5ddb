"""Sage Intacct System API: XML gateway client and the ``ErpBackend`` adapter over it."""

from system_apis.sage_intacct.adapter import DEFAULT_PRICE_LISTS, IntacctAdapter
from system_apis.sage_intacct.changes import IntacctChangeFeed
from system_apis.sage_intacct.client import IntacctClient, IntacctCredentials
from system_apis.sage_intacct.errors import (
    IntacctAuthError,
    IntacctDuplicateRequestError,
    IntacctError,
    IntacctErrorDetail,
    IntacctNotFoundError,
    IntacctProtocolError,
    IntacctRateLimitedError,
    IntacctRejectedError,
    IntacctTimeoutError,
    IntacctUnavailableError,
)

__all__ = [
    "DEFAULT_PRICE_LISTS",
    "IntacctAdapter",
    "IntacctAuthError",
    "IntacctChangeFeed",
    "IntacctClient",
    "IntacctCredentials",
    "IntacctDuplicateRequestError",
    "IntacctError",
    "IntacctErrorDetail",
    "IntacctNotFoundError",
    "IntacctProtocolError",
    "IntacctRateLimitedError",
    "IntacctRejectedError",
    "IntacctTimeoutError",
    "IntacctUnavailableError",
]
