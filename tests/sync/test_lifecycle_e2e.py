"""End to end over HTTP, per ERP: an order submitted through the API is booked, allocated,
shipped in two partial deliveries, invoiced and paid (partly, then in full) in the ERP
emulator, and after one sync run per step the Salesforce emulator shows each step on the
right Order and Account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from sandbox.xref import salesforce_account_id
from tests.support.orders_env import GatewayClient, worker_for
from tests.support.sync_env import SyncWorld, lifecycle, sync_entity, sync_gateway, sync_world


@dataclass(frozen=True)
class Erp:
    name: str
    entity: str
    currency: str
    company: str
    customer: str
    account: int


ERPS = [
    Erp("infor_m3", "US01", "USD", "100", "US0001", 1),
    Erp("sage_intacct", "DE01", "EUR", "DE01", "CUST-DE-002", 2),
]


@pytest.fixture(scope="module")
def world() -> Iterator[SyncWorld]:
    with sync_world() as running:
        yield running


@pytest.fixture
async def client(world: SyncWorld, sqlite_store_url: str) -> AsyncIterator[GatewayClient]:
    async with sync_gateway(world, sqlite_store_url) as c:
        yield c


def salesforce_order(world: SyncWorld, account: int) -> str:
    """A Draft Order of the account in the org (the seed has one per account 1-10)."""
    found = [
        r for r in world.org.find("Order", "AccountId", salesforce_account_id(account))
        if r["Status"] == "Draft"
    ]  # fmt: skip
    return str(found[0]["Id"])


def order_body(erp: Erp, ref: str, account: int) -> dict[str, Any]:
    lines: list[dict[str, Any]] = [
        {"sku": "SKU-0001", "quantity": "4", "uom": "Each", "unitPrice": "10.00"},
        {"sku": "SKU-0002", "quantity": "2", "uom": "Each", "unitPrice": "5.00"},
    ]
    if erp.name == "sage_intacct":
        for line in lines:
            line |= {"department": "SALES", "location": "DE01"}
    return {
        "externalRef": ref, "entity": erp.entity, "accountId": salesforce_account_id(account),
        "currency": erp.currency, "customerPo": "PO-4711", "lines": lines,
    }  # fmt: skip


def children(world: SyncWorld, sobject: str, order_id: str) -> list[dict[str, Any]]:
    return sorted(world.org.find(sobject, "Order__c", order_id), key=lambda r: r["Name"])


def lines_of(world: SyncWorld, order_id: str) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    return [
        (r["Ordered_Quantity__c"], r["Confirmed_Quantity__c"], r["Shipped_Quantity__c"],
         r["Invoiced_Quantity__c"])
        for r in sorted(children(world, "ERP_Order_Line__c", order_id),
                        key=lambda r: r["Line_Number__c"])
    ]  # fmt: skip


@pytest.mark.parametrize("erp", ERPS, ids=[e.name for e in ERPS])
async def test_an_order_moves_through_its_life_and_salesforce_shows_each_step(
    world: SyncWorld, client: GatewayClient, erp: Erp
) -> None:
    account_id = salesforce_account_id(erp.account)
    order_id = salesforce_order(world, erp.account)
    accepted = await client.post(
        "/process/v1/orders", json=order_body(erp, order_id, erp.account),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    assert await worker_for(client).run_until_idle() == 1
    booked = (await client.get(accepted.headers["location"])).json()
    number = booked["erpOrderNumber"]
    assert booked["status"] == "booked"
    world.tick()

    # booked
    runs = await sync_entity(client, erp.name, erp.entity)
    order = world.org.record("Order", order_id)
    assert order is not None
    assert (order["ERP_Order_Number__c"], order["ERP_Phase__c"], order["ERP_Sync_Status__c"],
            order["ERP_System__c"]) == (number, "Booked", "Booked", erp.name)  # fmt: skip
    assert order["ERP_Status_Changed__c"] is not None
    assert lines_of(world, order_id) == [(4, 0, 0, 0), (2, 0, 0, 0)]
    assert runs["orders"]["written"] == 3
    assert runs["orders"]["apiCalls"] <= 3

    # confirmed / allocated
    await lifecycle(world, erp.name, "allocate", order=number)
    await sync_entity(client, erp.name, erp.entity)
    assert world.org.record("Order", order_id)["ERP_Phase__c"] == "Allocated"  # type: ignore[index]
    assert lines_of(world, order_id) == [(4, 4, 0, 0), (2, 2, 0, 0)]

    # first partial shipment
    first = await lifecycle(world, erp.name, "ship", order=number, lines={"1": "3"},
                            carrier="DHL", tracking="TRACK-1")  # fmt: skip
    await sync_entity(client, erp.name, erp.entity)
    (shipment,) = children(world, "ERP_Shipment__c", order_id)
    assert (shipment["Carrier__c"], shipment["Tracking_Number__c"], shipment["Account__c"],
            shipment["Status__c"]) == ("DHL", "TRACK-1", account_id, "Shipped")  # fmt: skip
    shipment_no = str(first.get("shipment") or first.get("delivery"))
    assert shipment["ERP_Shipment_Id__c"] == f"{erp.name}:{erp.company}:{shipment_no}"
    assert shipment["Shipped_Date__c"] == world.clock.now().date()
    assert world.org.record("Order", order_id)["ERP_Phase__c"] == "Partially_Shipped"  # type: ignore[index]
    assert lines_of(world, order_id) == [(4, 4, 3, 0), (2, 2, 0, 0)]

    # second shipment: the rest
    await lifecycle(world, erp.name, "ship", order=number, carrier="UPS", tracking="TRACK-2")
    await sync_entity(client, erp.name, erp.entity)
    shipments = children(world, "ERP_Shipment__c", order_id)
    assert sorted(s["Tracking_Number__c"] for s in shipments) == ["TRACK-1", "TRACK-2"]
    assert world.org.record("Order", order_id)["ERP_Phase__c"] == "Shipped"  # type: ignore[index]
    assert lines_of(world, order_id) == [(4, 4, 4, 0), (2, 2, 2, 0)]

    # invoiced
    billed = await lifecycle(world, erp.name, "invoice", order=number)
    await sync_entity(client, erp.name, erp.entity)
    invoices = children(world, "ERP_Invoice__c", order_id)
    expected = billed.get("invoices") or [billed]
    assert len(invoices) == len(expected)
    assert sum(Decimal(str(i["Total_Amount__c"])) for i in invoices) == sum(
        Decimal(e["total"]) for e in expected
    )
    assert all(i["Account__c"] == account_id and i["Status__c"] == "Open" for i in invoices)
    assert all(i["Tax_Amount__c"] > 0 and i["Amount_Due__c"] == i["Total_Amount__c"]
               for i in invoices)  # fmt: skip
    assert world.org.record("Order", order_id)["ERP_Phase__c"] == "Invoiced"  # type: ignore[index]
    assert lines_of(world, order_id) == [(4, 4, 4, 4), (2, 2, 2, 2)]

    # paid: part first, then the rest
    refs = [i["Name"] for i in invoices]
    total = sum(Decimal(str(i["Total_Amount__c"])) for i in invoices)
    await lifecycle(world, erp.name, "pay", invoices=refs, amount="10.00")
    await sync_entity(client, erp.name, erp.entity)
    (payment,) = world.org.find("ERP_Payment__c", "Account__c", account_id)
    assert Decimal(str(payment["Amount__c"])) == Decimal("10.00")
    first_invoice = world.org.record("ERP_Invoice__c", payment["Invoice__c"])
    assert first_invoice is not None
    assert first_invoice["Status__c"] == "Partially_Paid"
    await lifecycle(world, erp.name, "pay", invoices=refs)
    await sync_entity(client, erp.name, erp.entity)
    payments = world.org.find("ERP_Payment__c", "Account__c", account_id)
    assert sum(Decimal(str(p["Amount__c"])) for p in payments) == total
    invoices = children(world, "ERP_Invoice__c", order_id)
    assert [(i["Status__c"], i["Amount_Due__c"]) for i in invoices] == [("Paid", 0)] * len(invoices)

    # credit hold and release
    await lifecycle(world, erp.name, "credit", customer=erp.customer, limit="25000", on_hold=True)
    await sync_entity(client, erp.name, erp.entity)
    account = world.org.record("Account", account_id)
    assert account is not None
    assert (account["Credit_Hold__c"], account["Credit_Limit__c"]) == (True, 25000)
    assert account["Credit_Hold_Reason__c"]
    await lifecycle(world, erp.name, "credit", customer=erp.customer, on_hold=False)
    await sync_entity(client, erp.name, erp.entity)
    account = world.org.record("Account", account_id)
    assert account is not None
    assert (account["Credit_Hold__c"], account["Credit_Hold_Reason__c"]) == (False, None)
