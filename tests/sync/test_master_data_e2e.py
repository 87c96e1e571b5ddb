"""Master data end to end, per ERP, over HTTP against the three emulators on one clock:

- a requested Account becomes an ERP customer of the right entity, with its bill-to and
  ship-to addresses and its Contacts, exactly once, however many runs race for it;
- a suspected duplicate is held in the exception queue instead (no second customer), and a
  person's retry lets it through;
- a change on each side to a field the other side owns is handled by the ownership table;
- items become products with their units (an inactive item deactivates its product), list
  prices become price book entries and dated, quantity-band ERP prices;
- dimension values are synchronized and an order line naming an inactive one is refused.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from process_apis.sync import RunSummary, SyncEngine
from sandbox.xref import salesforce_account_id
from store import sync as sync_rows
from store import xref as links
from store.exceptions import ExceptionFilter
from system_apis.contract import CallContext
from system_apis.master_data import CustomerUpdate, MasterData
from tests.support.orders_env import GatewayClient, services_of
from tests.support.sync_env import SyncWorld, run_flow, sync_gateway, sync_world


@dataclass(frozen=True)
class Erp:
    name: str
    entity: str
    currency: str
    company: str
    division: str | None
    country: str
    duplicate_of: str
    """A seeded customer and an Account that looks like it (same tax id or name + postcode)."""
    duplicate_account: dict[str, Any]
    inactive_dimension: tuple[str, str]


ERPS = [
    Erp("infor_m3", "US01", "USD", "100", "US1", "US", "US0001",
        {"Name": "Acme Holdings", "Tax_Id__c": "US-000000001", "BillingPostalCode": "60699",
         "BillingCountry": "US", "BillingStreet": "1 Elsewhere Rd", "BillingCity": "Chicago"},
        ("department", "CC300")),
    Erp("sage_intacct", "DE01", "EUR", "DE01", None, "DE", "CUST-DE-001",
        {"Name": "Brand New Name GmbH", "Tax_Id__c": "DE 100007919", "BillingPostalCode": "80331",
         "BillingCountry": "DE", "BillingStreet": "Marienplatz 1", "BillingCity": "Munich"},
        ("project", "PRJ-002")),
]  # fmt: skip


@pytest.fixture(scope="module")
def world() -> Iterator[SyncWorld]:
    with sync_world() as running:
        yield running


@pytest.fixture(params=ERPS, ids=[e.name for e in ERPS])
def erp(request: pytest.FixtureRequest) -> Erp:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def client(world: SyncWorld, sqlite_store_url: str) -> AsyncIterator[GatewayClient]:
    async with sync_gateway(world, sqlite_store_url) as c:
        yield c


@pytest.fixture
async def client_on_each_store(world: SyncWorld, store_url: str) -> AsyncIterator[GatewayClient]:
    """The claims that make creation happen once are tested on PostgreSQL too."""
    async with sync_gateway(world, store_url) as c:
        yield c


def _sf_ctx() -> CallContext:
    return CallContext(company="salesforce", deadline=time.monotonic() + 30)


def _erp_ctx(erp: Erp) -> CallContext:
    return CallContext(company=erp.company, division=erp.division, deadline=time.monotonic() + 30)


async def _create(client: GatewayClient, sobject: str, values: dict[str, Any]) -> str:
    crm = services_of(client).salesforce
    assert crm is not None
    (saved,) = await crm.create(_sf_ctx(), sobject, [values])
    assert saved.success, saved.errors
    assert saved.id is not None
    return saved.id


async def _update(client: GatewayClient, sobject: str, record_id: str, **values: Any) -> None:
    crm = services_of(client).salesforce
    assert crm is not None
    (saved,) = await crm.update(_sf_ctx(), sobject, [{"Id": record_id, **values}])
    assert saved.success, saved.errors


def _master_data(client: GatewayClient, erp: Erp) -> MasterData:
    return services_of(client).master_data[erp.name]


def _erp_customers(world: SyncWorld, erp: Erp, name: str) -> list[str]:
    """The customer numbers the ERP emulator holds under ``name`` (its own records)."""
    if erp.name == "infor_m3":
        return sorted(c.cuno for c in world.infor.state.data.customers.values() if c.name == name)
    return sorted(
        r["CUSTOMERID"] for r in world.intacct.store.tables["CUSTOMER"] if r["NAME"] == name
    )


async def _new_account(client: GatewayClient, world: SyncWorld, erp: Erp, name: str) -> tuple[str, list[str]]:  # fmt: skip
    account = await _create(client, "Account", {
        "Name": name, "Phone": "+1 555 0100", "CurrencyIsoCode": erp.currency,
        "BillingStreet": "1 Quokka Way\nSuite 5", "BillingCity": "Springfield",
        "BillingPostalCode": "99001", "BillingCountry": erp.country,
        "ShippingStreet": "4 Harbour Rd", "ShippingCity": "Shelbyville",
        "ShippingPostalCode": "99003", "ShippingCountry": erp.country,
        "Tax_Id__c": f"{erp.country}{uuid.uuid4().int % 10**9:09d}",
        "ERP_Customer_Status__c": "Requested",
        **({"ERP_Legal_Entity__c": erp.entity} if erp.name == "sage_intacct" else {}),
    })  # fmt: skip
    contacts = [
        await _create(client, "Contact", {"AccountId": account, "FirstName": "Ada",
                                          "LastName": "Quokka", "Email": "ada@quokka.example.com"}),
        await _create(client, "Contact", {"AccountId": account, "FirstName": "Bo",
                                          "LastName": "Wombat", "Phone": "+1 555 0101"}),
    ]  # fmt: skip
    world.tick()
    return account, contacts


def _engine_twin(engine: SyncEngine) -> SyncEngine:
    """A second worker's engine over the same store, org and ERPs."""
    twin = SyncEngine(
        engine.db, engine.crm, engine.feeds, engine.router, engine.xref, engine.ownership,
        flows=engine.flows, policy=engine.policy, clock=engine.clock, name="twin-worker",
        runners=engine.runners,
    )  # fmt: skip
    return twin


async def test_a_requested_account_becomes_one_customer_with_addresses_and_contacts(
    client_on_each_store: GatewayClient, world: SyncWorld, erp: Erp
) -> None:
    client = client_on_each_store
    name = f"Quokka Robotics {uuid.uuid4().hex[:6]}"
    account, contacts = await _new_account(client, world, erp, name)
    engine = services_of(client).sync
    assert engine is not None
    flow = f"salesforce.accounts.{erp.entity}"

    # Two workers run the flow at once: one runs it, the other is told it is busy.
    outcomes = await asyncio.gather(engine.run(flow), _engine_twin(engine).run(flow),
                                    return_exceptions=True)  # fmt: skip
    assert sorted(type(o).__name__ for o in outcomes) == ["FlowBusyError", "RunSummary"]
    # And below the flow's lease: two onboardings of the same Account racing.
    runner = engine.runners["accounts"]
    rows = await runner.sync.accounts_by_id(engine, RunSummary(flow=flow, run_id=0), [account])
    spec = engine.flow(flow)
    raced = await asyncio.gather(*(
        runner.sync.onboard(e, spec, RunSummary(flow=flow, run_id=0), rows[0], [])
        for e in (engine, _engine_twin(engine))
    ))  # fmt: skip
    assert raced == [[], []]  # created already: nobody creates it again

    (number,) = _erp_customers(world, erp, name)
    assert number == "SF000001" or number.startswith("SF")
    shown = world.org.record("Account", account)
    assert shown is not None
    assert (shown["ERP_Customer_Number__c"], shown["ERP_Customer_Status__c"]) == (number, "Created")
    customer = await _master_data(client, erp).get_customer(_erp_ctx(erp), number)
    assert customer.name == name
    bill, ship = customer.address_for("bill_to"), customer.address_for("ship_to")
    assert bill is not None
    assert ship is not None
    assert (bill.address.street, bill.address.postal_code) == (("1 Quokka Way", "Suite 5"), "99001")
    assert (ship.address.city, ship.address.postal_code) == ("Shelbyville", "99003")
    assert sorted((c.first_name, c.last_name) for c in customer.contacts) == [
        ("Ada", "Quokka"), ("Bo", "Wombat"),
    ]  # fmt: skip
    for contact in contacts:
        record = world.org.record("Contact", contact)
        assert record is not None
        assert str(record["ERP_Contact_Id__c"]).startswith(f"{erp.name}:{erp.company}:")
    store = services_of(client).store
    assert store is not None
    async with store.transaction() as conn:
        link = await links.by_salesforce_key(conn, "account", erp.entity, account)
        assert link is not None
        assert (link.erp_key, link.origin) == (number, "flow")
        assert link.synced is not None
    # A later run changes nothing.
    again = await run_flow(client, flow)
    assert _erp_customers(world, erp, name) == [number]
    assert again["failed"] == 0


async def test_a_suspected_duplicate_is_held_in_the_exception_queue_until_a_person_decides(
    client: GatewayClient, world: SyncWorld, erp: Erp
) -> None:
    name = f"{erp.duplicate_account['Name']} {uuid.uuid4().hex[:6]}"
    account = await _create(client, "Account", {
        **erp.duplicate_account, "Name": name, "CurrencyIsoCode": erp.currency,
        "ERP_Customer_Status__c": "Requested", "ERP_Legal_Entity__c": erp.entity,
    })  # fmt: skip
    world.tick()
    result = await run_flow(client, f"salesforce.accounts.{erp.entity}")
    assert result["failed"] == 1
    assert _erp_customers(world, erp, name) == []  # no second customer
    shown = world.org.record("Account", account)
    assert shown is not None
    assert shown["ERP_Customer_Status__c"] == "On_Hold"
    assert erp.duplicate_of in shown["ERP_Customer_Message__c"]
    queue = services_of(client).exceptions
    assert queue is not None
    page = await queue.search(ExceptionFilter(flows=("customer_onboarding",), subject_id=account))
    (record,) = page.items
    assert (record.category, record.status, record.salesforce_id) == ("duplicate", "open", account)
    assert erp.duplicate_of in (record.vendor_message or "")

    # A person finds it is a different party: retry lets it through, created on the next run.
    await queue.retry(record.id, actor="alice@example.com")
    await run_flow(client, f"salesforce.accounts.{erp.entity}")
    (number,) = _erp_customers(world, erp, name)
    shown = world.org.record("Account", account)
    assert shown is not None
    assert (shown["ERP_Customer_Number__c"], shown["ERP_Customer_Status__c"]) == (number, "Created")
    assert (await queue.get(record.id)).status == "resolved"


async def test_a_change_to_a_field_the_other_side_owns_is_handled_by_the_ownership_table(
    client: GatewayClient, world: SyncWorld, erp: Erp
) -> None:
    name = f"Owned Fields {uuid.uuid4().hex[:6]}"
    account, contacts = await _new_account(client, world, erp, name)
    await run_flow(client, f"salesforce.accounts.{erp.entity}")
    (number,) = _erp_customers(world, erp, name)
    md = _master_data(client, erp)

    # In the ERP: terms (the ERP's) and the phone (Salesforce's) change.
    await md.update_customer(_erp_ctx(erp), number, CustomerUpdate(terms="N60" if erp.name == "sage_intacct" else "60", phone="+1 555 9999"))  # fmt: skip
    world.tick()
    await run_flow(client, f"{erp.name}.customers.{erp.entity}")
    shown = world.org.record("Account", account)
    assert shown is not None
    terms = "N60" if erp.name == "sage_intacct" else "60"
    assert shown["Payment_Terms__c"] == terms  # the ERP's field reached Salesforce
    assert shown["Phone"] == "+1 555 0100"  # Salesforce's field is not overwritten...
    customer = await md.get_customer(_erp_ctx(erp), number)
    assert customer.phone == "+1 555 9999"  # ...and the ERP's edit stays, as a kept conflict

    # In Salesforce: terms (the ERP's), the delivery address and a contact's e-mail (its own).
    await _update(client, "Account", account, Payment_Terms__c="WHATEVER",
                  ShippingCity="Capital City")  # fmt: skip
    await _update(client, "Contact", contacts[0], Email="ada@new.example.com")
    world.tick()
    await run_flow(client, f"salesforce.accounts.{erp.entity}")
    shown = world.org.record("Account", account)
    assert shown is not None
    assert shown["Payment_Terms__c"] == terms  # restored in Salesforce
    customer = await md.get_customer(_erp_ctx(erp), number)
    ship = customer.address_for("ship_to")
    assert ship is not None
    assert ship.address.city == "Capital City"  # Salesforce's change reached the ERP
    assert "ada@new.example.com" in [c.email for c in customer.contacts]

    store = services_of(client).store
    assert store is not None
    async with store.transaction() as conn:
        conflicts = await sync_rows.list_conflicts(conn, sobject="Account", key=account, limit=50)
    outcomes = {(c.field, c.outcome) for c in conflicts}
    assert ("Phone", "kept") in outcomes
    assert ("Payment_Terms__c", "restored") in outcomes


async def test_items_and_prices_appear_in_salesforce_and_an_inactive_item_is_deactivated(
    world: SyncWorld, sqlite_store_url: str, erp: Erp
) -> None:
    order = '["sage_intacct","infor_m3"]' if erp.name == "sage_intacct" else '["infor_m3","sage_intacct"]'  # fmt: skip
    async with sync_gateway(
        world, sqlite_store_url, master_data__products__master_order=order
    ) as client:
        items = await run_flow(client, f"{erp.name}.items.{erp.entity}")
        assert items["read"] == 160
        sku = "SKU-0005" if erp.name == "sage_intacct" else "SKU-0001"
        (product,) = world.org.find("Product2", "ERP_Product_Key__c", sku)
        assert product["IsActive"] is True
        assert product["ProductCode"] == sku
        assert (product["Base_UoM__c"], product["Sales_UoM__c"]) == (
            "Each",
            product["Sales_UoM__c"],
        )
        assert "Box=12" in product["UoM_Conversions__c"]
        assert product["Product_Line__c"]
        inactive_sku = "SKU-0007" if erp.name == "sage_intacct" else "SKU-0013"
        (inactive,) = world.org.find("Product2", "ERP_Product_Key__c", inactive_sku)
        assert inactive["IsActive"] is False

        # An item goes inactive in the ERP: its product is deactivated, not deleted.
        if erp.name == "infor_m3":
            item = world.infor.state.data.items["A1002"]
            item.stat = "90"
            item.changed_on = world.clock.now().date()
        else:
            row = next(r for r in world.intacct.store.tables["ITEM"] if r["ITEMID"] == "ITM-0002")
            row["STATUS"] = "inactive"
            row["WHENMODIFIED"] = world.clock.now().strftime("%m/%d/%Y %H:%M:%S")
        world.tick()
        await run_flow(client, f"{erp.name}.items.{erp.entity}")
        (deactivated,) = world.org.find("Product2", "ERP_Product_Key__c", "SKU-0002")
        assert deactivated["IsActive"] is False
        assert world.org.record("Product2", deactivated["Id"]) is not None

        prices = await run_flow(client, f"{erp.name}.prices.{erp.entity}")
        assert prices["written"] > 0
        erp_prices = [p for p in world.org.find("ERP_Price__c", "Product__c", product["Id"])
                      if p["Currency_Code__c"] == erp.currency]  # fmt: skip
        bands = sorted(
            (p for p in erp_prices if p["Min_Quantity__c"] is not None),
            key=lambda p: (str(p["Valid_From__c"]), p["Min_Quantity__c"]),
        )
        assert len(bands) >= 3
        assert all(p["Valid_From__c"] and p["Valid_To__c"] for p in bands)
        assert all(p["Unit__c"] == "Each" and p["CurrencyIsoCode"] == erp.currency for p in bands)
        today = str(world.clock.now().date())
        current = [p for p in bands if str(p["Valid_From__c"]) <= today <= str(p["Valid_To__c"])]
        lowest = min(current, key=lambda p: p["Min_Quantity__c"])
        entries = [e for e in world.org.find("PricebookEntry", "Product2Id", product["Id"])
                   if e["CurrencyIsoCode"] == erp.currency]  # fmt: skip
        standard = [e for e in entries if e.get("ERP_Price_Key__c")]
        (entry,) = standard
        assert Decimal(str(entry["UnitPrice"])) == Decimal(str(lowest["Unit_Price__c"]))
        again = await run_flow(client, f"{erp.name}.prices.{erp.entity}")
        assert again["written"] == 0  # nothing changed: nothing sent


async def test_dimension_values_are_synchronized_and_an_inactive_one_is_refused(
    client: GatewayClient, world: SyncWorld, erp: Erp
) -> None:
    result = await run_flow(client, f"{erp.name}.dimensions.{erp.entity}")
    assert result["read"] > 0
    kind, code = erp.inactive_dimension
    line = {"sku": "SKU-0001", "quantity": "1", "uom": "Each", "unitPrice": "100.00", kind: code}
    account = 1 if erp.name == "infor_m3" else 2
    response = await client.post(
        "/process/v1/orders",
        json={"externalRef": f"801Sbx{uuid.uuid4().hex[:12]}", "entity": erp.entity,
              "accountId": salesforce_account_id(account), "currency": erp.currency,
              "lines": [line]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "unknown_reference"
    assert f"'{code}'" in problem["detail"]
    assert "inactive" in problem["detail"]
    assert problem["errors"][0]["pointer"] == f"/lines/0/{kind}"
