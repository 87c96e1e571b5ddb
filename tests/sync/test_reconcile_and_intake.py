"""The reconciler finds each planted kind of drift and repairs the safe ones; Salesforce Orders
that reach the configured status enter the orders path exactly once."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.xref import salesforce_account_id
from tests.support.orders_env import GatewayClient, worker_for
from tests.support.sync_env import (
    OPS_HEADERS,
    SyncWorld,
    lifecycle,
    run_flow,
    sync_entity,
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
    async with sync_gateway(world, sqlite_store_url, orders__validation_default="warn") as c:
        yield c


def edit(world: SyncWorld, sobject: str, record_id: str, **values: Any) -> None:
    with world.org.org.lock:
        world.org.org.update(world.org.schema.objects[sobject], record_id, values)


def create(world: SyncWorld, sobject: str, **values: Any) -> str:
    with world.org.org.lock:
        return world.org.org.create(world.org.schema.objects[sobject], values)


def orders_of(world: SyncWorld, account: int, status: str) -> list[str]:
    return [
        str(r["Id"]) for r in world.org.find("Order", "AccountId", salesforce_account_id(account))
        if r["Status"] == status
    ]  # fmt: skip


async def test_the_reconciler_finds_each_planted_drift_and_repairs_the_safe_ones(
    client: GatewayClient, world: SyncWorld
) -> None:
    (order_id,) = orders_of(world, 7, "Draft")
    body = {
        "externalRef": order_id, "entity": "DE01", "accountId": salesforce_account_id(7),
        "currency": "EUR",
        "lines": [{"sku": "SKU-0003", "quantity": "2", "uom": "Each", "unitPrice": "20.00",
                   "department": "SALES", "location": "DE01"}],
    }  # fmt: skip
    accepted = await client.post("/process/v1/orders", json=body,
                                 headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    await worker_for(client).run_until_idle()
    number = (await client.get(accepted.headers["location"])).json()["erpOrderNumber"]
    world.tick()
    await lifecycle(world, "sage_intacct", "ship", order=number)
    billed = await lifecycle(world, "sage_intacct", "invoice", order=number)
    await lifecycle(world, "sage_intacct", "pay", invoice=billed["invoice"], amount="5.00")
    await sync_entity(client, "sage_intacct", "DE01")
    invoice_key = f"sage_intacct:DE01:{billed['invoice']}"
    (invoice,) = world.org.find("ERP_Invoice__c", "ERP_Invoice_Id__c", invoice_key)
    (payment,) = world.org.find("ERP_Payment__c", "Invoice__c", invoice["Id"])
    today = world.clock.now().date()

    # Planted drift, as people or other integrations leave it in Salesforce:
    with world.org.org.lock:  # an invoice deleted in Salesforce
        world.org.org.delete(world.org.schema.objects["ERP_Invoice__c"], invoice["Id"])
    edit(world, "ERP_Payment__c", payment["Id"], Amount__c="999.00")  # amount edited
    edit(world, "Order", order_id, ERP_Order_Number__c=None)  # acknowledgement lost
    (other,) = orders_of(world, 8, "Draft")  # an Order claiming an ERP order that does not exist
    edit(world, "Order", other, ERP_System__c="sage_intacct", ERP_Entity__c="DE01",
         ERP_Order_Number__c="SO9999")  # fmt: skip
    ghost = create(world, "ERP_Invoice__c", Name="INV-GHOST",
                   ERP_Invoice_Id__c="sage_intacct:DE01:INV-GHOST", ERP_System__c="sage_intacct",
                   Invoice_Date__c=today.isoformat(), Total_Amount__c="1", Amount_Due__c="1")  # fmt: skip
    world.tick()

    response = await client.post(
        "/ops/v1/reconcile", headers=OPS_HEADERS,
        json={"entity": "DE01", "dateFrom": (today - timedelta(days=1)).isoformat(),
              "dateTo": today.isoformat()},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    report = response.json()
    found = {(d["kind"], d["key"]): d for d in report["drift"]}
    assert found[("missing_in_salesforce", invoice_key)]["repaired"] is True
    assert found[("amount_differs", payment["ERP_Payment_Id__c"])]["repaired"] is True
    assert found[("ack_missing", order_id)]["repaired"] is True
    assert found[("missing_in_erp", other)]["repaired"] is False
    assert found[("missing_in_erp", "sage_intacct:DE01:INV-GHOST")]["repaired"] is False
    assert report["summary"]["missing_in_erp"] == {"found": 2, "repaired": 0}

    # What the repairs left in Salesforce: the ERP's values again, the rest untouched.
    (restored,) = world.org.find("ERP_Invoice__c", "ERP_Invoice_Id__c", invoice_key)
    assert restored["Order__c"] == order_id
    assert world.org.record("ERP_Payment__c", payment["Id"])["Amount__c"] == Decimal("5.00")  # type: ignore[index]
    assert world.org.record("Order", order_id)["ERP_Order_Number__c"] == number  # type: ignore[index]
    assert world.org.record("ERP_Invoice__c", ghost) is not None
    assert world.org.record("Order", other)["ERP_Order_Number__c"] == "SO9999"  # type: ignore[index]

    summaries = (await client.get("/ops/v1/reconcile/reports", headers=OPS_HEADERS)).json()
    latest = summaries["reports"][0]
    assert (latest["entity"], latest["drift"], latest["repaired"]) == (
        "DE01", len(report["drift"]), sum(d["repaired"] for d in report["drift"])
    )  # fmt: skip
    again = await client.post(
        "/ops/v1/reconcile", headers=OPS_HEADERS,
        json={"entity": "DE01", "dateFrom": today.isoformat(), "dateTo": today.isoformat()},
    )  # fmt: skip
    left = {d["kind"] for d in again.json()["drift"]}
    assert left == {"missing_in_erp"}  # the repaired drift is gone


async def test_an_activated_salesforce_order_enters_the_orders_path_exactly_once(
    client: GatewayClient, world: SyncWorld
) -> None:
    (order_id,) = orders_of(world, 2, "Activated")
    edit(world, "Order", order_id, ERP_Entity__c="US01")
    world.tick()
    first = await run_flow(client, "salesforce.orders.US01")
    assert first["read"] >= 1
    order = world.org.record("Order", order_id)
    assert order is not None
    assert (order["ERP_Sync_Status__c"], order["ERP_System__c"]) == ("Accepted", "infor_m3"), order[
        "ERP_Status_Message__c"
    ]
    found = (await client.get("/process/v1/orders", params={"externalRef": order_id})).json()
    assert [o["entity"] for o in found["orders"]] == ["US01"]

    edit(world, "Order", order_id, Description="touched again")  # back in the window
    world.tick()
    await run_flow(client, "salesforce.orders.US01")
    found = (await client.get("/process/v1/orders", params={"externalRef": order_id})).json()
    assert len(found["orders"]) == 1  # not taken twice

    assert await worker_for(client).run_until_idle() == 1
    world.tick()
    await run_flow(client, "infor_m3.orders.US01")
    order = world.org.record("Order", order_id)
    assert order is not None
    assert order["ERP_Sync_Status__c"] == "Booked"
    assert (
        order["ERP_Order_Number__c"] == found["orders"][0]["erpOrderNumber"]
        or order["ERP_Order_Number__c"]
    )


async def test_an_order_that_came_through_a_callout_is_not_taken_again(
    client: GatewayClient, world: SyncWorld
) -> None:
    (order_id,) = orders_of(world, 10, "Activated")
    body = {
        "externalRef": order_id, "entity": "US01", "accountId": salesforce_account_id(10),
        "currency": "USD",
        "lines": [{"sku": "SKU-0001", "quantity": "1", "uom": "Each", "unitPrice": "10.00"}],
    }  # fmt: skip
    accepted = await client.post("/process/v1/orders", json=body,
                                 headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    edit(world, "Order", order_id, ERP_Entity__c="US01")
    world.tick()
    run = await run_flow(client, "salesforce.orders.US01")
    assert run["read"] >= 1
    found = (await client.get("/process/v1/orders", params={"externalRef": order_id})).json()
    assert len(found["orders"]) == 1


def test_isthmus_reconcile_writes_the_drift_report(
    world: SyncWorld,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main

    for key, value in world.env.items():
        monkeypatch.setenv(f"ISTHMUS_{key.upper()}", value)
    monkeypatch.setenv("ISTHMUS_STORE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ISTHMUS_LOG_JSON", "false")
    today = world.clock.now().date().isoformat()
    out = tmp_path / "drift.json"
    assert main(["reconcile", "--entity", "DE01", "--from", today, "--report-only",
                 "-o", str(out)]) == 0  # fmt: skip
    report = json.loads(out.read_text())
    assert (report["entity"], report["erp"], report["date_from"]) == ("DE01", "sage_intacct", today)
    assert all(not d["repaired"] for d in report["drift"])
    assert main(["sync", "list"]) == 0
    assert "sage_intacct.invoices.DE01" in capsys.readouterr().out
