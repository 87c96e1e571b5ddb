"""Sage Intacct XML gateway emulator: sessions, queries, customers and sales orders, faults.

See ``sandbox/intacct/README.md`` for credentials, seed ids, functions, faults and what is
UNVERIFIED about the real gateway.
"""

from sandbox.intacct.credentials import INTACCT_SANDBOX_CREDENTIALS, IntacctSandboxCredentials
from sandbox.intacct.emulator import (
    GATEWAY_PATH,
    IntacctEmulator,
    ReceivedFunction,
    ReceivedRequest,
)
from sandbox.intacct.faults import Fault

__all__ = [
    "GATEWAY_PATH",
    "INTACCT_SANDBOX_CREDENTIALS",
    "Fault",
    "IntacctEmulator",
    "IntacctSandboxCredentials",
    "ReceivedFunction",
    "ReceivedRequest",
]
