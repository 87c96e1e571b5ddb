"""The ERPs' own limits hold for the whole gateway, whatever the number of worker processes:
ION's request rate (spike arrest) and Intacct's per-company requests in flight."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx
import pytest

from app.wiring import build_backends
from sandbox.infor import InforEmulator
from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as cred
from sandbox.intacct import Fault, IntacctEmulator
from system_apis.contract import CallContext
from system_apis.infor_m3 import IonApiCredentials, M3Adapter
from system_apis.infor_m3.errors import M3TimeoutError
from system_apis.resilience import RequestRate
from tests.support.apps import settings_for
from tests.support.clock import ManualClock
from tests.support.servers import free_port, serve

M3 = CallContext(company="100", division="US1")


def _credentials(emulator: InforEmulator, tmp: str) -> IonApiCredentials:
    return IonApiCredentials.from_file(emulator.write_ionapi(Path(tmp) / "test.ionapi"))


async def test_two_workers_together_stay_within_the_ion_rate() -> None:
    emulator = InforEmulator(public_url="http://ion.test", requests_per_second=10)
    statuses: list[int] = []

    async def seen(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    with tempfile.TemporaryDirectory() as tmp:
        ionapi = _credentials(emulator, tmp)
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(emulator.app), event_hooks={"response": [seen]}
        )
        for _ in range(2)
    ]
    # Each worker process builds its adapter with its share of the rate (as the wiring does).
    workers = [
        M3Adapter(c, ionapi=ionapi, rate=RequestRate.per_second(10, share_of=2)) for c in clients
    ]
    try:
        await asyncio.gather(*(workers[i % 2].ping(M3) for i in range(24)))
    finally:
        for c in clients:
            await c.aclose()

    assert 429 not in statuses
    assert len(emulator.received_named("MNS150MI/GetUserData")) == 24


async def test_an_ion_call_that_cannot_be_sent_before_its_deadline_fails_at_once() -> None:
    emulator = InforEmulator(public_url="http://ion.test")
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as tmp:
        ionapi = _credentials(emulator, tmp)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(emulator.app)) as client:
        adapter = M3Adapter(client, ionapi=ionapi, rate=RequestRate(1, window=60.0, clock=clock))
        await adapter.ping(M3)  # takes this minute's only request
        late = CallContext(company="100", division="US1", deadline=clock() + 1.0)

        with pytest.raises(M3TimeoutError) as caught:
            await adapter.get_item(late, "A1001")

    assert caught.value.kind == "timeout"
    assert clock() == 1_800_000_000.0  # refused without waiting
    assert emulator.received_named("MMS200MI/GetItmBasic") == []


async def test_two_workers_without_redis_stay_within_intacct_in_flight_cap() -> None:
    port = free_port()
    emulator = IntacctEmulator(public_url=f"http://127.0.0.1:{port}", max_in_flight=2)
    emulator.set_fault("*", Fault(kind="latency", delay_ms=30))
    with serve(emulator.app, port=port) as url:
        settings = settings_for(
            workers="2",
            intacct__endpoint_url=f"{url}/ia/xml/xmlgw.phtml",
            intacct__sender_id=cred.sender_id,
            intacct__sender_password=cred.sender_password,
            intacct__user_id=cred.user_id,
            intacct__company_id=cred.company_id,
            intacct__user_password=cred.user_password,
            intacct__max_in_flight="2",
        )
        async with httpx.AsyncClient() as a, httpx.AsyncClient() as b:
            # Two worker processes: each builds its own adapters from the same settings.
            replicas = [build_backends(settings, http)["sage_intacct"] for http in (a, b)]
            ctx = CallContext(company="DE01")
            await asyncio.gather(
                *(
                    replicas[i % 2].get_customer_credit(ctx, f"CUST-DE-{1 + i % 10:03d}")
                    for i in range(12)
                )
            )

    assert emulator.max_in_flight_seen[cred.company_id] <= 2
    assert emulator.rate_limited_total == 0
