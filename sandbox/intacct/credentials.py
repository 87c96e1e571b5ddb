"""The sandbox's one set of Intacct credentials, shared by the emulator, the CLI and tests."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INTACCT_SANDBOX_CREDENTIALS", "IntacctSandboxCredentials"]


@dataclass(frozen=True)
class IntacctSandboxCredentials:
    sender_id: str
    sender_password: str
    user_id: str
    company_id: str
    user_password: str


INTACCT_SANDBOX_CREDENTIALS = IntacctSandboxCredentials(
    sender_id="isthmus-sandbox-sender",
    sender_password="sandbox-sender-secret",  # noqa: S106 - published sandbox credential
    user_id="ws_isthmus",
    company_id="isthmus-sandbox",
    user_password="sandbox-user-secret",  # noqa: S106 - published sandbox credential
)
