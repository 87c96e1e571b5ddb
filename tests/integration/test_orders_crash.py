"""Orders survive crashes: a worker killed with SIGKILL between the ERP's acceptance and the
stored result, PostgreSQL restarted mid-run, two gateways and three workers racing.

Worker processes are real ``isthmus worker`` processes; the ERPs are the emulators on loopback.
These run on PostgreSQL only, each for its own reason (see each test); every other store test
runs on both PostgreSQL and SQLite (``tests/store``, ``test_orders.py``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from store import Database
from store.orders import get_order
from tests.integration.test_orders import ERPS, Erp, key, new_ref, order
from tests.support.orders_env import (
    FakeClock,
    OrderSandbox,
    gateway_client,
    order_sandbox,
    worker_for,
)
from tests.support.postgres_server import PostgresServer
from tests.support.stores import database_name, migrate

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OrderSandbox]:
    with order_sandbox() as running:
        yield running


@pytest.fixture(params=ERPS, ids=[e.name for e in ERPS])
def erp(request: pytest.FixtureRequest) -> Erp:
    return request.param  # type: ignore[no-any-return]


def start_worker(sandbox: OrderSandbox, store_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISTHMUS_")}
    env.update({f"ISTHMUS_{k.upper()}": v for k, v in sandbox.env.items()})
    env.update(
        ISTHMUS_STORE__URL=store_url,
        ISTHMUS_WORKER__LEASE_S="2",
        ISTHMUS_WORKER__IDLE_POLL_S="0.05",
        ISTHMUS_WORKER__SUBMIT_TIMEOUT_S="120",
        ISTHMUS_LOG_JSON="true",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def until(condition: Any, limit_s: float = 60.0) -> None:
    """Poll ``condition`` (sync or async) until true; fail after ``limit_s`` seconds."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def status_of(store_url: str, order_id: str) -> str | None:
    db = Database(store_url, null_pool=True)
    try:
        async with db.transaction() as conn:
            found = await get_order(conn, order_id)
    finally:
        await db.aclose()
    return found.status if found else None


async def test_a_worker_killed_after_the_erp_booked_leaves_exactly_one_order(
    sandbox: OrderSandbox, postgresql_store_url: str, erp: Erp
) -> None:
    """PostgreSQL only: several worker processes sharing a store is the PostgreSQL deployment
    (SQLite is one file for one machine's gateway and worker). The recovery itself — lease
    expiry, ``maybe_sent``, look-up by reference — is dialect-free code that ``test_orders``
    runs on both stores in-process (an ERP hanging after it booked); here real processes are
    started and killed, which costs seconds per run."""
    store_url = postgresql_store_url
    async with gateway_client(sandbox, store_url) as client:
        ref = new_ref()
        accepted = await client.post("/process/v1/orders", json=order(erp, ref), headers=key())
        assert accepted.status_code == 202
        order_id = accepted.json()["id"]
        gate = sandbox.gate(erp.name)
        swallowed = gate.swallowed
        sandbox.hold_creation(erp.name)
        first = start_worker(sandbox, store_url)
        try:
            await until(lambda: gate.swallowed > swallowed)  # the ERP booked it, no answer yet
            assert len(sandbox.orders_for(erp.name, ref)) == 1
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
            gate.release()
        assert await status_of(store_url, order_id) == "submitting"

        # The dead worker's lease runs out; another worker (here in-process, with a clock
        # past the lease) takes the order over and looks it up before sending anything.
        clock = FakeClock()
        clock.advance(3600)
        assert await worker_for(client, clock).run_until_idle() == 1
        shown = (await client.get(accepted.headers["location"])).json()
    assert sandbox.orders_for(erp.name, ref) == [shown["erpOrderNumber"]]
    assert shown["status"] == "booked"
    assert "found by its reference" in shown["timeline"][-1]["cause"]


async def test_two_gateways_and_three_workers_make_one_erp_order_per_reference(
    sandbox: OrderSandbox, postgresql_store_url: str
) -> None:
    """PostgreSQL only: N gateways and N workers on N machines claim with ``FOR UPDATE SKIP
    LOCKED``, which is PostgreSQL's; SQLite serialises writers on one file instead, and its
    claiming is held to the same promise by ``tests/store`` (concurrent claims never hand out
    one entry twice) and ``test_orders`` (50 concurrent submissions, one ERP order)."""
    store_url = postgresql_store_url
    refs = {erp.name: [new_ref() for _ in range(3)] for erp in ERPS}
    async with (
        gateway_client(sandbox, store_url) as one,
        gateway_client(sandbox, store_url) as two,
    ):
        submissions = []
        for erp in ERPS:
            for ref in refs[erp.name]:
                headers, body = key(), order(erp, ref)
                submissions += [
                    (one if i % 2 else two).post("/process/v1/orders", json=body, headers=headers)
                    for i in range(50 if ref == refs[erp.name][0] else 6)
                ]
        answers = await asyncio.gather(*submissions)
        assert {a.status_code for a in answers} <= {202, 409}
        ids = {a.json()["id"] for a in answers if a.status_code == 202}
        assert len(ids) == 6
        workers = [worker_for(c) for c in (one, two, one)]
        stop = asyncio.Event()
        running = [asyncio.create_task(w.run(stop)) for w in workers]
        try:
            await until(lambda: _all_booked(store_url, ids))
        finally:
            stop.set()
            await asyncio.gather(*running)
    for erp in ERPS:
        for ref in refs[erp.name]:
            assert len(sandbox.orders_for(erp.name, ref)) == 1, ref


async def _all_booked(store_url: str, ids: set[str]) -> bool:
    return all([await status_of(store_url, i) == "booked" for i in ids])


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, which it restarts."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


async def test_every_accepted_order_ends_booked_or_captured_across_a_postgres_restart(
    sandbox: OrderSandbox, own_postgres: PostgresServer
) -> None:
    """PostgreSQL only: restarting a database server has no SQLite counterpart (an embedded
    file is there while the process is)."""
    name = database_name(uuid.uuid4().hex)
    store_url = await asyncio.to_thread(own_postgres.create_database, name)
    await asyncio.to_thread(migrate, store_url)
    erp = ERPS[0]
    accepted: dict[str, str] = {}
    async with gateway_client(sandbox, store_url) as client:
        # A short lease: an order whose result could not be stored while the server was down
        # is taken up again within seconds, not after the default 30.
        worker = worker_for(client, lease_s=2.0)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        refused = 0
        try:
            for i in range(20):
                if i == 8:
                    await asyncio.to_thread(own_postgres.stop)
                if i == 12:
                    await asyncio.to_thread(own_postgres.start)
                ref = new_ref()
                answer = await client.post(
                    "/process/v1/orders", json=order(erp, ref), headers=key()
                )
                if answer.status_code == 202:
                    accepted[answer.json()["id"]] = ref
                else:
                    refused += 1
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["code"] == "store_unavailable"
            await until(lambda: _all_final(store_url, set(accepted)), limit_s=120)
        finally:
            stop.set()
            await running
    assert refused >= 4  # the requests while the server was down were refused, not lost
    assert len(accepted) >= 16
    for ref in accepted.values():
        assert len(sandbox.orders_for(erp.name, ref)) == 1


async def _all_final(store_url: str, ids: set[str]) -> bool:
    return all(
        [await status_of(store_url, i) in ("booked", "rejected", "needs_attention") for i in ids]
    )
