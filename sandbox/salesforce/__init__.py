"""Salesforce org emulator: REST API over HTTPS, OAuth 2.0 JWT bearer and client credentials."""

from sandbox.salesforce.emulator import (
    SANDBOX_CONSUMER_KEY,
    SANDBOX_CONSUMER_SECRET,
    SANDBOX_USERNAME,
    Fault,
    ReceivedRequest,
    SalesforceEmulator,
)
from sandbox.salesforce.tls import SandboxTls

__all__ = [
    "SANDBOX_CONSUMER_KEY",
    "SANDBOX_CONSUMER_SECRET",
    "SANDBOX_USERNAME",
    "Fault",
    "ReceivedRequest",
    "SalesforceEmulator",
    "SandboxTls",
]
