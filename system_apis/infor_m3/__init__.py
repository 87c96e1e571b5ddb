"""Infor M3 over the ION API gateway: ``.ionapi`` credentials, OAuth2 tokens, MI REST v2."""

from system_apis.infor_m3.adapter import M3Adapter, cuor_for
from system_apis.infor_m3.changes import M3ChangeFeed
from system_apis.infor_m3.client import MiClient
from system_apis.infor_m3.credentials import IonApiCredentials
from system_apis.infor_m3.errors import (
    M3AuthError,
    M3Error,
    M3NotFoundError,
    M3ProtocolError,
    M3RateLimitedError,
    M3RejectedError,
    M3TimeoutError,
    M3UnavailableError,
)
from system_apis.infor_m3.tokens import TokenProvider

__all__ = [
    "IonApiCredentials",
    "M3Adapter",
    "M3AuthError",
    "M3ChangeFeed",
    "M3Error",
    "M3NotFoundError",
    "M3ProtocolError",
    "M3RateLimitedError",
    "M3RejectedError",
    "M3TimeoutError",
    "M3UnavailableError",
    "MiClient",
    "TokenProvider",
    "cuor_for",
]
