"""Orders end to end: HTTP → store → worker → both ERP emulators, on SQLite and PostgreSQL.

What a caller sees (status, problem+json, Location, replays) and what the ERP holds (counted
in the emulator's own records).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event

from sandbox.xref import salesforce_account_id
from store import idempotency
from tests.support.orders_env import (
    FakeClock,
    GatewayClient,
    OrderSandbox,
    gateway_client,
    order_sandbox,
    services_of,
    worker_for,
)
from tests.support.stores import empty

# One gateway per store backend for the whole module (building an app costs about a second),
# so the tests run in the module's event loop; each test starts from empty tables.
pytestmark = pytest.mark.asyncio(loop_scope="module")
WARN_ENTITIES = ("CA01", "UK01")
"""Entities whose orders are accepted with warnings (the others block)."""
PARTNERS = {
    "PARTNER-A": [salesforce_account_id(n) for n in range(1, 6)],
    "PARTNER-B": [salesforce_account_id(n) for n in range(6, 11)],
}


@dataclass(frozen=True)
class Erp:
    name: str
    entity: str
    currency: str
    hold_account: int


ERPS = [Erp("infor_m3", "US01", "USD", 4), Erp("sage_intacct", "DE01", "EUR", 5)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OrderSandbox]:
    with order_sandbox() as running:
        yield running


@pytest.fixture(params=ERPS, ids=[e.name for e in ERPS])
def erp(request: pytest.FixtureRequest) -> Erp:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_url(request: pytest.FixtureRequest) -> str:
    """This module's migrated database on each backend."""
    return str(request.getfixturevalue(f"{request.param}_store_url"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(sandbox: OrderSandbox, module_store_url: str) -> AsyncIterator[GatewayClient]:
    env = {f"orders__validation__{entity}": "warn" for entity in WARN_ENTITIES}
    env["security__partners"] = json.dumps(PARTNERS)
    async with gateway_client(sandbox, module_store_url, **env) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def client(gateway: GatewayClient) -> GatewayClient:
    store = services_of(gateway).store
    assert store is not None
    await empty(store)
    return gateway


def new_ref() -> str:
    return f"801Sbx{uuid.uuid4().hex[:12]}"


def order(erp: Erp, ref: str, *, account: int = 1, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": "SKU-0001", "quantity": "2", "uom": "Each", "unitPrice": "1.00"}
    if erp.name == "sage_intacct":
        line |= {"department": "SALES", "location": "DE01", "class": "RETAIL", "project": "PRJ-001"}
    return {
        "externalRef": ref,
        "entity": erp.entity,
        "accountId": salesforce_account_id(account),
        "currency": erp.currency,
        "customerPo": "PO-4711",
        "lines": [line],
        **extra,
    }


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_an_accepted_order_is_booked_and_its_status_shows_the_erp_number(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    ref = new_ref()
    accepted = await client.post("/process/v1/orders", json=order(erp, ref), headers=key())
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert accepted.headers["location"] == f"/process/v1/orders/{body['id']}"
    assert (body["status"], body["externalRef"], body["erp"]) == ("accepted", ref, erp.name)
    assert sandbox.orders_for(erp.name, ref) == []  # nothing sent before the worker runs

    assert await worker_for(client).run_until_idle() == 1

    shown = (await client.get(accepted.headers["location"])).json()
    (erp_number,) = sandbox.orders_for(erp.name, ref)
    assert shown["status"] == "booked"
    assert shown["erpOrderNumber"] == erp_number
    assert [e["status"] for e in shown["timeline"]] == ["accepted", "submitting", "booked"]
    assert [(ln["lineNo"], ln["quantity"]) for ln in shown["lines"]] == [(1, "2")]
    by_ref = (await client.get("/process/v1/orders", params={"externalRef": ref})).json()
    assert [o["id"] for o in by_ref["orders"]] == [body["id"]]
    if erp.name == "sage_intacct":
        (line,) = sandbox.lines_for(erp_number)
        assert (line["DEPARTMENTID"], line["LOCATIONID"], line["CLASSID"]) == (
            "SALES", "DE01", "RETAIL",
        )  # fmt: skip


async def test_the_worker_books_an_order_in_three_store_transactions(
    client: GatewayClient, erp: Erp
) -> None:
    """Claim, read-and-mark-submitting, booked (plus the claim that finds nothing more). Each
    transaction costs the pool's pre-ping and BEGIN/COMMIT round trips, which, with a worker's
    orders in flight, cost more than the ERP calls: reading the order and marking it
    submitting share one."""
    accepted = await client.post("/process/v1/orders", json=order(erp, new_ref()), headers=key())
    assert accepted.status_code == 202, accepted.text
    store = services_of(client).store
    assert store is not None
    begun: list[object] = []

    def count(conn: object) -> None:
        begun.append(conn)

    event.listen(store.engine.sync_engine, "begin", count)
    try:
        assert await worker_for(client).run_until_idle() == 1
    finally:
        event.remove(store.engine.sync_engine, "begin", count)

    shown = (await client.get(accepted.headers["location"])).json()
    assert shown["status"] == "booked"
    assert [e["status"] for e in shown["timeline"]] == ["accepted", "submitting", "booked"]
    assert len(begun) == 4


DOCK = {
    "name": "Dock 7",
    "street": ["Gate 3", "1200 Pier Road"],
    "city": "Hamburg",
    "region": "HH",
    "postalCode": "20457",
    "country": "DE",
}
NOTES = "Deliver to the rear entrance before noon; ask for Pat at the gate house.\nNo pallets."


async def test_addresses_tax_and_notes_reach_the_erp(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    ref = new_ref()
    payload = order(erp, ref, shipTo={"address": DOCK}, notes=NOTES)
    payload["lines"] = [
        {**payload["lines"][0], "taxAmount": "0.38"},
        {**payload["lines"][0], "sku": "SKU-0002", "taxAmount": "0.19"},
    ]
    if erp.name == "sage_intacct":
        customer = sandbox.intacct.store.find(
            "CUSTOMER", _intacct_scope(), "CUSTOMERID", "CUST-DE-001"
        )
        assert customer is not None
        payload["billTo"] = {"addressId": customer["DISPLAYCONTACT.CONTACTNAME"]}
    else:
        payload["billTo"] = {"addressId": "AP"}
    accepted = await client.post("/process/v1/orders", json=payload, headers=key())
    assert accepted.status_code == 202, accepted.text

    await worker_for(client).run_until_idle()

    shown = (await client.get(accepted.headers["location"])).json()
    assert shown["status"] == "booked", shown["timeline"]
    number = shown["erpOrderNumber"]
    if erp.name == "sage_intacct":
        header = sandbox.intacct_order(number)
        assert header["MESSAGE"] == f"Customer PO PO-4711\n{NOTES}"
        assert (header["SHIPTO.MAILADDRESS.ADDRESS1"], header["SHIPTO.MAILADDRESS.CITY"]) == (
            "Gate 3", "Hamburg",
        )  # fmt: skip
        assert header["BILLTO.CONTACTNAME"] == payload["billTo"]["addressId"]
        assert [(s["DESCRIPTION"], s["TOTAL"]) for s in sandbox.subtotals_for(number)] == [
            ("Tax", "0.57")
        ]
        assert [ln["TAXABLEAMOUNT"] != "" for ln in sandbox.lines_for(number)] == [True, True]
    else:
        held = sandbox.infor_order(number)
        assert held.yref == "PO-4711"
        assert (held.addresses["1"].name, held.addresses["1"].lines) == (
            "Dock 7", ("Gate 3", "1200 Pier Road"),
        )  # fmt: skip
        assert (held.addresses["1"].town, held.addresses["1"].country) == ("Hamburg", "DE")
        assert held.addresses["3"].adid == "AP"
        assert " ".join(text for _, text in held.texts) == " ".join(NOTES.split())


def _intacct_scope() -> object:
    from datetime import date

    from sandbox.intacct.functions import Scope

    return Scope(company_id="", user_id="tests", entity=None, today=date.today())


async def test_a_repeat_replays_another_body_is_refused_and_the_reference_is_unique(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    ref, headers = new_ref(), key()
    first = await client.post("/process/v1/orders", json=order(erp, ref), headers=headers)
    again = await client.post("/process/v1/orders", json=order(erp, ref), headers=headers)
    other_body = await client.post(
        "/process/v1/orders", json=order(erp, ref, customerPo="PO-9"), headers=headers
    )
    other_key = await client.post("/process/v1/orders", json=order(erp, ref), headers=key())

    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert other_key.status_code == 409
    problem = other_key.json()
    assert (problem["code"], problem["order_id"]) == ("order_exists", first.json()["id"])
    assert other_key.headers["location"] == first.headers["location"]
    assert other_key.headers["content-type"].startswith("application/problem+json")


async def test_fifty_concurrent_submissions_with_one_key_make_one_erp_order(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    ref, headers = new_ref(), key()
    answers = await asyncio.gather(
        *(client.post("/process/v1/orders", json=order(erp, ref), headers=headers)
          for _ in range(50))
    )  # fmt: skip
    statuses = {a.status_code for a in answers}
    assert statuses <= {202, 409}
    ids = {a.json()["id"] for a in answers if a.status_code == 202}
    assert len(ids) == 1
    assert all(
        a.json()["code"] == "idempotency_key_in_flight" for a in answers if a.status_code == 409
    )

    await worker_for(client).run_until_idle()
    assert len(sandbox.orders_for(erp.name, ref)) == 1


async def test_an_erp_that_hangs_after_booking_gets_no_duplicate(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    ref = new_ref()
    accepted = await client.post("/process/v1/orders", json=order(erp, ref), headers=key())
    clock = FakeClock()
    worker = worker_for(client, clock, submit_timeout_s=1.0)
    sandbox.hold_creation(erp.name)
    try:
        await worker.run_until_idle()
    finally:
        sandbox.gate(erp.name).release()
    location = accepted.headers["location"]
    waiting = (await client.get(location)).json()
    assert waiting["status"] == "retrying"
    assert "timeout" in waiting["timeline"][-1]["cause"]
    assert len(sandbox.orders_for(erp.name, ref)) == 1  # the ERP did book it

    clock.advance(3600)  # past any backoff
    await worker.run_until_idle()

    shown = (await client.get(location)).json()
    assert shown["status"] == "booked"
    assert sandbox.orders_for(erp.name, ref) == [shown["erpOrderNumber"]]
    assert "found by its reference" in shown["timeline"][-1]["cause"]
    assert "looking it up first" in shown["timeline"][-2]["cause"]


async def test_an_erp_refusal_is_classified_and_captured_as_a_failure(
    client: GatewayClient, sandbox: OrderSandbox, erp: Erp
) -> None:
    # Entities that accept with warnings (WARN_ENTITIES), so that the ERP itself refuses:
    # Intacct's closed period (UK01), M3's customer stop (CA01, customer CA0005).
    ref = new_ref()
    if erp.name == "sage_intacct":
        payload = order(erp, ref, orderDate="2020-01-15", entity="UK01", currency="GBP")
        payload["lines"][0]["location"] = "UK01"
    else:
        payload = order(erp, ref, account=5, entity="CA01", currency="CAD")
    accepted = await client.post(
        "/process/v1/orders", json=payload, headers={**key(), "X-Correlation-ID": "corr-42"}
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["warnings"] or erp.name == "sage_intacct"
    await worker_for(client).run_until_idle()
    shown = (await client.get(accepted.headers["location"])).json()
    async with services_of(client).store.transaction() as conn:  # type: ignore[union-attr]
        from store.failures import failures_for

        (failure,) = await failures_for(conn, "order", shown["id"])
    assert shown["status"] == "rejected"
    assert sandbox.orders_for(erp.name, ref) == []
    expected = "closed_period" if erp.name == "sage_intacct" else "credit"
    assert shown["failures"][0]["category"] == expected
    assert failure.category == expected
    assert failure.vendor_code == ("BL01001973" if erp.name == "sage_intacct" else "WCU0504")
    assert failure.vendor_message
    assert (failure.salesforce_id, failure.correlation_id, failure.attempts) == (ref, "corr-42", 1)
    assert failure.payload["external_ref"] == ref
    assert failure.payload["lines"][0]["item_id"]


async def test_prefer_wait_answers_with_the_erp_number_in_the_same_call(
    client: GatewayClient, sandbox: OrderSandbox
) -> None:
    erp = ERPS[0]
    worker = worker_for(client)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    body, headers = order(erp, new_ref()), {**key(), "Prefer": "wait=8"}
    try:
        answer = await client.post("/process/v1/orders", json=body, headers=headers)
    finally:
        stop.set()
        await running
    again = await client.post("/process/v1/orders", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "booked"
    assert answer.json()["erpOrderNumber"]
    assert answer.headers["preference-applied"] == "wait"
    # A repeat replays what the first call answered: the 200 with the ERP number.
    assert (again.status_code, again.content) == (200, answer.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == answer.headers["location"]


def readme_orders() -> list[dict[str, Any]]:
    """The order bodies README.md's demo commands send (``$REF`` filled in)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    bodies = re.findall(r"^ORDER='(.*?)'$", readme, re.S | re.M)
    return [json.loads(b.replace("\"'$REF'\"", f'"{new_ref()}"')) for b in bodies]


async def test_the_readme_demo_orders_are_booked_and_replayed(
    client: GatewayClient, sandbox: OrderSandbox
) -> None:
    """What README.md tells a user to run against ``make demo`` works as it says."""
    bodies = readme_orders()
    assert [b["entity"] for b in bodies] == ["US01", "DE01"]
    worker = worker_for(client)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for body in bodies:
            headers = {**key(), "Prefer": "wait=5"}
            first = await client.post("/process/v1/orders", json=body, headers=headers)
            again = await client.post("/process/v1/orders", json=body, headers=headers)
            found = await client.get(
                "/process/v1/orders", params={"externalRef": body["externalRef"]}
            )
            assert (first.status_code, first.json()["status"]) == (200, "booked"), first.text
            assert first.json()["warnings"] == []
            assert (again.content, again.headers["idempotent-replayed"]) == (
                first.content, "true",
            )  # fmt: skip
            (shown,) = found.json()["orders"]
            number = first.json()["erpOrderNumber"]
            assert shown["erpOrderNumber"] == number
            assert sandbox.orders_for(shown["erp"], body["externalRef"]) == [number]
    finally:
        stop.set()
        await running


async def test_bad_input_is_answered_with_problem_json(client: GatewayClient) -> None:
    erp = ERPS[0]
    good = order(erp, new_ref())
    cases: list[tuple[dict[str, Any], dict[str, str], int, str, str | None]] = [
        (good, {}, 400, "idempotency_key_missing", None),
        (good, {"Idempotency-Key": "k" * 256}, 400, "idempotency_key_invalid", None),
        ({**good, "colour": "red"}, key(), 422, "validation_error", None),
        ({**good, "lines": []}, key(), 422, "validation_error", None),
        ({**good, "entity": "XX99"}, key(), 422, "unknown_entity", "/entity"),
        ({**good, "accountId": "001Sbx000000099IAA"}, key(), 422, "unknown_reference", "/accountId"),
        ({**good, "lines": [{**good["lines"][0], "sku": "NOPE"}]}, key(), 422,
         "unknown_reference", "/lines/0/sku"),
        ({**good, "lines": [{**good["lines"][0], "quantity": "0"}]}, key(), 422,
         "validation_error", "/lines/0/quantity"),
        ({**good, "lines": [{**good["lines"][0], "quantity": 2}]}, key(), 422,
         "validation_error", "/lines/0/quantity"),
        ({**good, "lines": [{**good["lines"][0], "discountPercent": 5}]}, key(), 422,
         "validation_error", "/lines/0/discountPercent"),
        ({**good, "lines": [{**good["lines"][0], "discountPercent": "100.5"}]}, key(), 422,
         "validation_error", "/lines/0/discountPercent"),
        ({**good, "lines": [{**good["lines"][0], "taxAmount": "1E+2"}]}, key(), 422,
         "validation_error", "/lines/0/taxAmount"),
        ({**good, "accountId": salesforce_account_id(erp.hold_account)}, key(), 422,
         "order_refused", None),
        ({**good, "shipTo": {"address": {**DOCK, "region": "Hamburg"}}}, key(), 422,
         "validation_error", "/shipTo/address/region"),
        ({**good, "shipTo": {"addressId": "DOCK1", "address": DOCK}}, key(), 422,
         "validation_error", "/shipTo/addressId"),
        ({**good, "billTo": {}}, key(), 422, "validation_error", "/billTo/addressId"),
        ({**good, "customerPo": "P" * 31}, key(), 422, "validation_error", "/customerPo"),
    ]  # fmt: skip
    for body, headers, status, code, pointer in cases:
        answer = await client.post("/process/v1/orders", json=body, headers=headers)
        assert answer.status_code == status, (code, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == code
        assert problem["correlation_id"]
        if pointer is not None:
            assert pointer in [e["pointer"] for e in problem["errors"]]


async def test_a_refusal_is_replayed_for_the_same_key_and_an_in_flight_key_is_a_409(
    client: GatewayClient, erp: Erp
) -> None:
    headers = key()
    bad = order(erp, new_ref(), lines=[{"sku": "NOPE", "quantity": "1", "uom": "Each",
                                        "unitPrice": "1"}])  # fmt: skip
    first = await client.post("/process/v1/orders", json=bad, headers=headers)
    again = await client.post("/process/v1/orders", json=bad, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"

    services = services_of(client)
    held = str(uuid.uuid4())
    async with services.store.transaction() as conn:  # type: ignore[union-attr]
        from datetime import UTC, datetime, timedelta

        await idempotency.begin(
            conn, client="tests-internal", key=held, fingerprint="someone-else",
            now=datetime.now(UTC), lock_for=timedelta(minutes=5), retention=timedelta(hours=1),
        )  # fmt: skip
    busy = await client.post(
        "/process/v1/orders", json=order(erp, new_ref()), headers={"Idempotency-Key": held}
    )
    assert busy.status_code == 422  # another body than the one in flight
    assert busy.json()["code"] == "idempotency_key_reused"


async def test_partners_order_for_their_own_accounts_only(client: GatewayClient) -> None:
    from tests.support.apps import TEST_PARTNER_KEYS

    erp = ERPS[0]
    partner_a = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}
    partner_b = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-B"]}
    ref = new_ref()
    own = await client.post(
        "/portal/v1/orders", json=order(erp, ref, account=1), headers={**partner_a, **key()}
    )
    foreign = await client.post(
        "/portal/v1/orders", json=order(erp, new_ref(), account=7),
        headers={**partner_a, **key()},
    )  # fmt: skip
    assert own.status_code == 202, own.text
    location = own.headers["location"]
    assert location.startswith("/portal/v1/orders/")
    mine = await client.get(location, headers=partner_a)
    theirs = await client.get(location, headers=partner_b)
    listed_b = await client.get("/portal/v1/orders", params={"externalRef": ref}, headers=partner_b)
    internal = await client.post("/portal/v1/orders", json=order(erp, ref), headers=key())
    lightning = await client.post("/lightning/v1/orders", json=order(erp, new_ref()), headers=key())
    assert foreign.status_code == 404
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert listed_b.json() == {"orders": []}
    assert internal.status_code == 403  # an internal key is not a partner credential
    assert lightning.status_code == 202
    assert lightning.headers["location"].startswith("/lightning/v1/orders/")
