"""Contract-test environment for Sage Intacct: the emulator over real loopback HTTP + the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx

from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS, IntacctEmulator
from system_apis.contract import CallContext
from system_apis.sage_intacct import IntacctAdapter
from tests.support.contract_env import ContractEnv
from tests.support.servers import free_port, serve

__all__ = ["intacct_adapter", "intacct_contract_env", "served_intacct"]


@asynccontextmanager
async def served_intacct(**emulator_options: Any) -> AsyncIterator[IntacctEmulator]:
    """An emulator served on a free loopback port (its ``public_url`` points at that port)."""
    port = free_port()
    emulator = IntacctEmulator(public_url=f"http://127.0.0.1:{port}", **emulator_options)
    with serve(emulator.app, port=port):
        yield emulator


def intacct_adapter(
    http: httpx.AsyncClient, emulator: IntacctEmulator, **options: Any
) -> IntacctAdapter:
    cred = INTACCT_SANDBOX_CREDENTIALS
    return IntacctAdapter(
        http,
        endpoint_url=emulator.endpoint_url,
        sender_id=cred.sender_id,
        sender_password=cred.sender_password,
        user_id=cred.user_id,
        company_id=cred.company_id,
        user_password=cred.user_password,
        **options,
    )


@asynccontextmanager
async def intacct_contract_env(
    batch_window: float | None = None, **emulator_options: Any
) -> AsyncIterator[ContractEnv]:
    """``batch_window``: the adapter's (None: every read a request of its own)."""
    async with served_intacct(**emulator_options) as emulator, httpx.AsyncClient() as http:
        yield ContractEnv(
            backend=intacct_adapter(http, emulator, request_timeout=5.0, batch_window=batch_window),
            ctx=CallContext(company="DE01"),
            emulator=emulator,
            currency="EUR",
            active_customer="CUST-DE-001",
            on_hold_customer="CUST-DE-005",
            inactive_customer="CUST-DE-020",
            active_item="ITM-0001",
            alt_uom="BOX",
            alt_uom_factor=Decimal(12),
            inactive_item="ITM-0007",
            warehouse_ids=("WH-BER", "WH-MUC"),
            item_with_future_receipts="ITM-0002",
            quantity_break_item="ITM-0005",
            break_quantity=Decimal(100),
            extra={
                "line_dimensions": {"department": "SALES"},
                "base_uom": "EA",
                "key_account_customer": "CUST-DE-003",
                "uk_ctx": CallContext(company="UK01"),
                "uk_customer": "CUST-UK-001",
            },
        )
