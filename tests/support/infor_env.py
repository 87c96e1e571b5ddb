"""Contract-test environment for Infor M3: the emulator on real loopback HTTP + the adapter."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from sandbox.infor import InforEmulator
from system_apis.contract import CallContext
from system_apis.infor_m3 import IonApiCredentials, M3Adapter
from tests.support.contract_env import ContractEnv
from tests.support.servers import free_port, serve


@asynccontextmanager
async def infor_emulator_served(
    **emulator_options: Any,
) -> AsyncIterator[tuple[InforEmulator, Path]]:
    """Start an ``InforEmulator`` on a free loopback port; yield it and its ``.ionapi`` file."""
    port = free_port()
    emulator = InforEmulator(public_url=f"http://127.0.0.1:{port}", **emulator_options)
    with tempfile.TemporaryDirectory() as tmp, serve(emulator.app, port=port):
        ionapi_path = emulator.write_ionapi(Path(tmp) / "isthmus-sandbox.ionapi")
        try:
            yield emulator, ionapi_path
        finally:
            emulator.clear_faults()  # release hanging requests so the server can stop


@asynccontextmanager
async def infor_contract_env(
    *,
    request_timeout: float = 5.0,
    token_clock: Callable[[], float] = time.monotonic,
    **emulator_options: Any,
) -> AsyncIterator[ContractEnv]:
    """``token_clock``: what the adapter measures token lifetimes with."""
    async with infor_emulator_served(**emulator_options) as (emulator, ionapi_path):
        credentials = IonApiCredentials.from_file(ionapi_path)
        async with httpx.AsyncClient() as client:
            adapter = M3Adapter(
                client, ionapi=credentials, request_timeout=request_timeout, clock=token_clock
            )
            yield ContractEnv(
                backend=adapter,
                ctx=CallContext(company="100", division="US1"),
                emulator=emulator,
                currency="USD",
                active_customer="US0001",
                on_hold_customer="US0004",
                inactive_customer="US0021",
                active_item="A1001",
                alt_uom="BOX",
                alt_uom_factor=Decimal(12),
                inactive_item="A1013",
                warehouse_ids=("WUS", "WUE"),
                item_with_future_receipts="A1001",
                quantity_break_item="A1001",
                break_quantity=Decimal(100),
                extra={"credentials": credentials, "tenant": credentials.ti},
            )
