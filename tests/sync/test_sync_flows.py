"""The delta sync's promises, each against the emulators over real HTTP:

- field ownership: a Salesforce-mastered field edited there survives write-back and the
  conflict is recorded; an ERP-mastered field edited there is restored (and recorded);
- replaying a window changes nothing and costs no API call;
- a run killed mid-batch and restarted writes no record twice and misses none;
- two workers never run one flow at once;
- a run that meets the org's API reserve stops cleanly and the next resumes from there;
- failed records (a locked row, a missing parent) are kept, captured in the exception queue,
  written by a later run, and their records resolve.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from process_apis.sync import FlowBusyError, SyncEngine, SyncScheduler
from process_apis.sync.scheduler import Schedule
from sandbox.xref import salesforce_account_id
from store import exceptions as exception_rows
from store import sync as rows
from store.tables import sync_watermarks
from tests.support.orders_env import GatewayClient, worker_for
from tests.support.sync_env import (
    OPS_HEADERS,
    SyncWorld,
    engine_of,
    lifecycle,
    run_flow,
    sync_gateway,
    sync_world,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world() -> Iterator[SyncWorld]:
    with sync_world() as running:
        yield running


@pytest.fixture
async def client(world: SyncWorld, sqlite_store_url: str) -> AsyncIterator[GatewayClient]:
    async with sync_gateway(world, sqlite_store_url, sync__batch_size="100") as c:
        yield c


def edit_in_salesforce(world: SyncWorld, sobject: str, record_id: str, **values: Any) -> None:
    """What a Salesforce user's edit does (validation rules and all)."""
    org = world.org.org
    with org.lock:
        org.update(world.org.schema.objects[sobject], record_id, values)


def draft_order(world: SyncWorld, account: int) -> str:
    found = [
        r for r in world.org.find("Order", "AccountId", salesforce_account_id(account))
        if r["Status"] == "Draft"
    ]  # fmt: skip
    return str(found[0]["Id"])


async def book_intacct_order(
    client: GatewayClient, world: SyncWorld, account: int
) -> tuple[str, str]:
    """An order through the API for a Salesforce Draft Order, booked in Intacct: (Order id, SO)."""
    order_id = draft_order(world, account)
    body = {
        "externalRef": order_id, "entity": "DE01", "accountId": salesforce_account_id(account),
        "currency": "EUR", "customerPo": "PO-4711",
        "lines": [{"sku": "SKU-0001", "quantity": "4", "uom": "Each", "unitPrice": "10.00",
                   "department": "SALES", "location": "DE01"}],
    }  # fmt: skip
    accepted = await client.post(
        "/process/v1/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert accepted.status_code == 202, accepted.text
    assert await worker_for(client).run_until_idle() == 1
    shown = (await client.get(accepted.headers["location"])).json()
    world.tick()
    return order_id, str(shown["erpOrderNumber"])


async def conflicts_of(client: GatewayClient, sobject: str, key: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/ops/v1/sync/conflicts", params={"sobject": sobject, "key": key, "status": "all"},
        headers=OPS_HEADERS,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return list(response.json()["conflicts"])


async def test_a_salesforce_mastered_edit_survives_and_an_erp_mastered_edit_is_restored(
    client: GatewayClient, world: SyncWorld
) -> None:
    order_id, number = await book_intacct_order(client, world, 3)
    edit_in_salesforce(world, "Order", order_id, PoNumber="PO-FROM-SALES")
    first = await run_flow(client, "sage_intacct.orders.DE01")
    order = world.org.record("Order", order_id)
    assert order is not None
    assert (order["ERP_Order_Number__c"], order["PoNumber"]) == (number, "PO-FROM-SALES")
    (kept,) = [c for c in await conflicts_of(client, "Order", order_id) if c["field"] == "PoNumber"]
    assert (kept["master"], kept["outcome"]) == ("salesforce", "kept")
    assert (kept["salesforceValue"], kept["erpValue"]) == ("PO-FROM-SALES", "PO-4711")
    assert first["conflicts"] >= 1

    edit_in_salesforce(world, "Order", order_id, ERP_Status__c="Edited by hand")
    await lifecycle(world, "sage_intacct", "allocate", order=number)
    await run_flow(client, "sage_intacct.orders.DE01")
    order = world.org.record("Order", order_id)
    assert order is not None
    assert (order["ERP_Status__c"], order["ERP_Phase__c"], order["PoNumber"]) == (
        "In Progress", "Allocated", "PO-FROM-SALES"
    )  # fmt: skip
    (restored,) = [
        c for c in await conflicts_of(client, "Order", order_id) if c["field"] == "ERP_Status__c"
    ]
    assert (restored["outcome"], restored["salesforceValue"]) == ("restored", "Edited by hand")
    # The same PoNumber disagreement is not recorded again on every run.
    assert len([c for c in await conflicts_of(client, "Order", order_id)
                if c["field"] == "PoNumber"]) == 1  # fmt: skip


async def test_replaying_a_window_writes_nothing_and_calls_nothing(
    client: GatewayClient, world: SyncWorld
) -> None:
    await lifecycle(world, "sage_intacct", "bulk_invoices", count=30, entity="UK01")
    first = await run_flow(client, "sage_intacct.invoices.UK01")
    assert (first["written"], first["failed"]) == (30, 0)
    engine = engine_of(client)
    async with engine.db.transaction() as conn:  # replay: forget how far the flow had read
        await conn.execute(
            sync_watermarks.delete().where(
                sync_watermarks.c.kind == "invoices", sync_watermarks.c.entity == "UK01"
            )
        )
    again = await run_flow(client, "sage_intacct.invoices.UK01")
    assert again["read"] >= 30
    assert (again["written"], again["unchanged"], again["apiCalls"]) == (0, again["read"], 0)


async def test_a_run_killed_mid_batch_writes_no_record_twice_and_misses_none(
    client: GatewayClient, world: SyncWorld
) -> None:
    created = await lifecycle(world, "sage_intacct", "bulk_invoices", count=250)
    engine = engine_of(client)
    flow = "sage_intacct.invoices.DE01"
    upserts = 0

    def second_upsert(path: str, body: bytes) -> bool:
        nonlocal upserts
        if "/composite/sobjects/ERP_Invoice__c/" not in path:
            return False
        upserts += 1
        return upserts == 2

    world.org.received.clear()
    with world.holding(second_upsert) as held:
        run = asyncio.create_task(engine.run(flow))
        while not held():  # noqa: ASYNC110 - the gate answers from another thread
            await asyncio.sleep(0.01)
        run.cancel()  # the worker dies while Salesforce holds batch 2's answer
        with pytest.raises(asyncio.CancelledError):
            await run
    world.tick()

    again = await engine.run(flow)
    assert again.status == "ok", again.message
    keys = [
        record["ERP_Invoice_Id__c"]
        for request in world.org.received_op("collections.upsert")
        for record in request.body["records"]
    ]
    sent = Counter(keys)
    bulk = {k for k in sent if ":INV-DE-B" in k}
    assert len(bulk) == 250
    first_batch = keys[:100]
    assert all(sent[k] == 1 for k in first_batch)  # batch 1 was recorded: never sent again
    assert max(sent.values()) <= 2  # only the batch whose answer was lost went twice
    with world.org.org.lock:
        stored = [
            dict(r) for r in world.org.org.records["ERP_Invoice__c"].values()
            if ":INV-DE-B" in r["ERP_Invoice_Id__c"]
        ]  # fmt: skip
    assert len(stored) == 250  # one record per invoice, none missing
    assert len({r["ERP_Invoice_Id__c"] for r in stored}) == 250
    assert created["created"] == 250


async def test_two_workers_never_run_one_flow_at_once(
    client: GatewayClient, world: SyncWorld
) -> None:
    a = engine_of(client)
    flow = "sage_intacct.credit.UK01"
    b = SyncEngine(a.db, a.crm, a.feeds, a.router, a.xref, a.ownership, flows=[a.flow(flow)],
                   policy=a.policy, clock=a.clock, name="worker-b")  # fmt: skip
    await lifecycle(world, "sage_intacct", "credit", customer="CUST-UK-003", limit="12000")
    with world.holding(lambda path, body: "/composite/sobjects" in path) as held:
        first = asyncio.create_task(a.run(flow, trigger="schedule"))
        while not held():  # noqa: ASYNC110 - the gate answers from another thread
            await asyncio.sleep(0.01)
        with pytest.raises(FlowBusyError):
            await b.run(flow, trigger="schedule")
        only = Schedule(reconcile_at=None, default_interval_s=0)
        ticked = await SyncScheduler(b, only).tick()
        assert flow not in [s.flow for s in ticked]
    await first
    async with a.db.transaction() as conn:
        runs = await rows.list_runs(conn, flow=flow)
    assert {r.owner for r in runs} == {a.name}  # worker B never ran it
    world.tick()
    later = await b.run(flow, trigger="schedule")  # the lease is free again: B may run it now
    assert later.status == "ok"


async def test_a_run_at_the_api_reserve_stops_cleanly_and_the_next_resumes(
    world: SyncWorld, sqlite_store_url: str
) -> None:
    settings = {"sync__batch_size": "100", "salesforce__api_reserve": "100"}
    flow = "sage_intacct.invoices.UK01"
    async with sync_gateway(world, sqlite_store_url, **settings) as client:
        await run_flow(client, flow)  # the flow is up to date before the backlog arrives
        await lifecycle(world, "sage_intacct", "bulk_invoices", count=250, entity="UK01")
        # The first batch fits; after it the org is down to its reserve of 100 requests.
        world.org.set_api_usage(used=world.org.daily_api_limit - 101)
        stopped = await run_flow_any(client, flow)
        assert stopped["status"] == "stopped"
        assert 0 < stopped["written"] <= 100  # one collection call, then the reserve
        assert "reserve" in stopped["message"]
        assert stopped["watermarkAfter"] is not None
    world.org.set_api_usage(used=0)  # the org's 24-hour window moved on
    world.tick()
    async with sync_gateway(world, sqlite_store_url, **settings) as client:
        resumed = await run_flow(client, flow)
        # Resumed from the watermark: what was written is not written again, the rest is.
        assert resumed["written"] == 250 - stopped["written"]
        assert resumed["unchanged"] == stopped["written"] + stopped["unchanged"]
    with world.org.org.lock:
        bulk = [r for r in world.org.org.records["ERP_Invoice__c"].values()
                if ":UK01:INV-UK-B" in r["ERP_Invoice_Id__c"]]  # fmt: skip
    assert len(bulk) == 250 + 30  # with the replay test's 30: each exactly once


async def run_flow_any(client: GatewayClient, flow: str) -> dict[str, Any]:
    response = await client.post(f"/ops/v1/sync/{flow}/run", headers=OPS_HEADERS)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_failed_records_are_kept_captured_and_written_by_a_later_run(
    client: GatewayClient, world: SyncWorld
) -> None:
    engine = engine_of(client)
    order_id, number = await book_intacct_order(client, world, 6)
    await run_flow(client, "sage_intacct.orders.DE01")
    # A locked row: the write fails, is kept, and the queue shows it retrying.
    world.org.lock_record(order_id)
    await lifecycle(world, "sage_intacct", "allocate", order=number)
    locked = await run_flow_any(client, "sage_intacct.orders.DE01")
    assert (locked["status"], locked["failed"]) == ("partial", 1)
    async with engine.db.transaction() as conn:
        (pending,) = await rows.pending_for(conn, "sage_intacct.orders.DE01")
        open_records = await exception_rows.active_for_subject(
            conn, "salesforce_writeback", "Order", order_id
        )
    assert (pending.category, pending.key) == ("lock", order_id)
    assert [(r.category, r.status) for r in open_records] == [("lock", "retrying")]
    world.org.unlock_record(order_id)
    world.tick()
    retried = await run_flow(client, "sage_intacct.orders.DE01")
    assert retried["written"] >= 1
    assert world.org.record("Order", order_id)["ERP_Phase__c"] == "Allocated"  # type: ignore[index]
    async with engine.db.transaction() as conn:
        assert await rows.pending_for(conn, "sage_intacct.orders.DE01") == []
        assert (
            await exception_rows.active_for_subject(conn, "salesforce_writeback", "Order", order_id)
            == []
        )

    # A payment before its invoice: the parent is missing, until the invoice flow runs.
    await lifecycle(world, "sage_intacct", "ship", order=number)
    billed = await lifecycle(world, "sage_intacct", "invoice", order=number)
    paid = await lifecycle(world, "sage_intacct", "pay", invoice=billed["invoice"])
    key = f"sage_intacct:DE01:{paid['payment']}"
    early = await run_flow_any(client, "sage_intacct.payments.DE01")
    assert early["status"] == "partial"
    async with engine.db.transaction() as conn:
        pending = {p.key: p for p in await rows.pending_for(conn, "sage_intacct.payments.DE01")}
    assert pending[key].category == "missing_parent"
    await run_flow(client, "sage_intacct.invoices.DE01")
    world.tick()
    await run_flow_any(client, "sage_intacct.payments.DE01")
    (payment,) = world.org.find("ERP_Payment__c", "ERP_Payment_Id__c", key)
    assert payment["Invoice__c"] is not None
    assert payment["Account__c"] == salesforce_account_id(6)
    async with engine.db.transaction() as conn:
        left = {p.key for p in await rows.pending_for(conn, "sage_intacct.payments.DE01")}
    assert key not in left


async def test_a_status_event_is_published_per_order_change_when_asked(
    world: SyncWorld, sqlite_store_url: str
) -> None:
    async with sync_gateway(world, sqlite_store_url, sync__publish_events="true") as client:
        order_id, number = await book_intacct_order(client, world, 4)
        await run_flow(client, "sage_intacct.orders.DE01")
        await lifecycle(world, "sage_intacct", "allocate", order=number)
        await run_flow(client, "sage_intacct.orders.DE01")
    events = [e for e in world.org.events if e.get("Record_Id__c") == order_id]
    assert [(e["Kind__c"], e["Status__c"]) for e in events] == [
        ("order", "Booked"), ("order", "Allocated")
    ]  # fmt: skip
    assert {e["ERP_Reference__c"] for e in events} == {number}
