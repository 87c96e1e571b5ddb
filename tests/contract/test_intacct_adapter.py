"""Intacct-specific behaviour of the adapter, against the emulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from msgspec.structs import replace as msgspec_replace

from sandbox.intacct import Fault, IntacctEmulator
from system_apis.contract import (
    CallContext,
    OrderLine,
    OrderParty,
    OrderRequest,
    PostalAddress,
    PriceQuery,
)
from system_apis.errors import BackendError
from system_apis.sage_intacct import (
    IntacctAdapter,
    IntacctAuthError,
    IntacctNotFoundError,
    IntacctProtocolError,
    IntacctRateLimitedError,
    IntacctRejectedError,
    IntacctTimeoutError,
    IntacctUnavailableError,
)
from tests.support.intacct_env import intacct_adapter, served_intacct

DE = CallContext(company="DE01")
UK = CallContext(company="UK01")
TODAY = date.today()
COMPANY = "isthmus-sandbox"


@dataclass
class Env:
    emulator: IntacctEmulator
    adapter: IntacctAdapter
    http: httpx.AsyncClient


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with served_intacct() as emulator, httpx.AsyncClient() as http:
        yield Env(emulator, intacct_adapter(http, emulator, request_timeout=5.0), http)


def calls(emulator: IntacctEmulator, name: str) -> int:
    return sum(name in r.function_names for r in emulator.received)


def order(ref: str, *, item: str = "ITM-0001", day: date = TODAY, **line: object) -> OrderRequest:
    return OrderRequest(
        external_ref=ref,
        customer_id="CUST-DE-001",
        currency="EUR",
        order_date=day,
        lines=(OrderLine(line_no=1, item_id=item, quantity=Decimal(2), uom="BOX", **line),),  # type: ignore[arg-type]
    )


# --- sessions and authentication ----------------------------------------------------------


async def test_one_session_per_entity_is_reused(env: Env) -> None:
    await env.adapter.ping(DE)
    await env.adapter.ping(DE)
    await env.adapter.ping(UK)
    assert calls(env.emulator, "getAPISession") == 2
    entities = [r.entity for r in env.emulator.received if "readByQuery" in r.function_names]
    assert entities == ["DE01", "DE01", "UK01"]


async def test_an_expired_session_is_renewed_once(env: Env) -> None:
    await env.adapter.ping(DE)
    env.emulator.expire_sessions()
    await env.adapter.ping(DE)
    assert calls(env.emulator, "getAPISession") == 2


async def test_a_session_refused_again_after_renewal_is_an_auth_error() -> None:
    async with served_intacct(session_timeout_s=0.0) as emulator, httpx.AsyncClient() as http:
        adapter = intacct_adapter(http, emulator)
        with pytest.raises(IntacctAuthError) as caught:
            await adapter.ping(DE)
    assert calls(emulator, "getAPISession") == 2
    assert caught.value.errorno == "XL03000006"
    assert caught.value.retryable is False


async def test_wrong_credentials_are_an_auth_error_that_keeps_the_vendor_code(env: Env) -> None:
    adapter = IntacctAdapter(
        env.http,
        endpoint_url=env.emulator.endpoint_url,
        sender_id="isthmus-sandbox-sender",
        sender_password="sandbox-sender-secret",
        user_id="ws_isthmus",
        company_id=COMPANY,
        user_password="mistyped-secret",
    )
    with pytest.raises(IntacctAuthError) as caught:
        await adapter.ping(DE)
    assert (caught.value.errorno, caught.value.level) == ("XL03000006", "authentication")
    assert caught.value.retryable is False
    assert "mistyped-secret" not in repr(caught.value) + str(caught.value)


async def test_wrong_sender_is_an_auth_error_from_the_401(env: Env) -> None:
    adapter = IntacctAdapter(
        env.http,
        endpoint_url=env.emulator.endpoint_url,
        sender_id="nobody",
        sender_password="x",
        user_id="ws_isthmus",
        company_id=COMPANY,
        user_password="x",
    )
    with pytest.raises(IntacctAuthError) as caught:
        await adapter.ping(DE)
    assert (caught.value.errorno, caught.value.status_code) == ("XMLGW_JPP0002", 401)


# --- concurrency, paging, deadlines -------------------------------------------------------


async def test_fifty_concurrent_calls_never_exceed_the_cap(env: Env) -> None:
    env.emulator.set_fault("readByQuery", Fault(kind="latency", delay_ms=15))
    items = [f"ITM-{n:04d}" for n in range(1, 51)]
    found = await asyncio.gather(*(env.adapter.get_item(DE, item) for item in items))
    assert [i.item_id for i in found] == items
    assert env.emulator.max_in_flight_seen[COMPANY] == 2
    assert all(r.outcome != "rate_limited" for r in env.emulator.received)


async def test_a_bigger_cap_than_intacct_allows_meets_the_rate_limit_error(env: Env) -> None:
    adapter = intacct_adapter(env.http, env.emulator, max_in_flight=6)
    env.emulator.set_fault("readByQuery", Fault(kind="latency", delay_ms=100))
    results = await asyncio.gather(
        *(adapter.get_item(DE, "ITM-0001") for _ in range(6)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, IntacctRateLimitedError)]
    assert limited
    assert limited[0].retryable is True
    assert limited[0].status_code == 429


async def test_read_by_query_follows_read_more_and_query_follows_offset(env: Env) -> None:
    client = env.adapter._client
    rows = await client.read_by_query(UK, "CUSTOMER", ("CUSTOMERID",), "", pagesize=5)
    assert len({r["CUSTOMERID"] for r in rows}) == 22
    assert calls(env.emulator, "readMore") == 4
    rows = await client.query(UK, "CUSTOMER", ("CUSTOMERID",), pagesize=6)
    assert len({r["CUSTOMERID"] for r in rows}) == 22
    offsets = [
        f.inputs["offset"] for r in env.emulator.received for f in r.functions if f.name == "query"
    ]
    assert offsets == ["0", "6", "12", "18"]


async def test_a_hanging_intacct_times_out_at_the_callers_deadline(env: Env) -> None:
    await env.adapter.ping(DE)
    env.emulator.set_fault("readByQuery", Fault(kind="hang"))
    started = time.monotonic()
    with pytest.raises(IntacctTimeoutError) as caught:
        await env.adapter.get_item(CallContext(company="DE01", deadline=started + 0.3), "ITM-0001")
    assert 0.25 < time.monotonic() - started < 1.5
    assert caught.value.retryable is True


async def test_a_spent_deadline_sends_nothing(env: Env) -> None:
    with pytest.raises(IntacctTimeoutError):
        await env.adapter.ping(CallContext(company="DE01", deadline=time.monotonic() - 1))
    assert len(env.emulator.received) == 0


@pytest.mark.parametrize(
    ("fault", "error", "retryable"),
    [
        (Fault(kind="status", status=503), IntacctUnavailableError, True),
        (Fault(kind="status", status=524), IntacctTimeoutError, False),
        (Fault(kind="malformed"), IntacctProtocolError, True),
        (Fault(kind="truncated"), IntacctProtocolError, True),
        (Fault(kind="html"), IntacctProtocolError, True),
        (Fault(kind="reset"), IntacctUnavailableError, True),
    ],
)
async def test_transport_faults_become_our_errors(
    env: Env, fault: Fault, error: type[BackendError], retryable: bool
) -> None:
    await env.adapter.ping(DE)
    env.emulator.set_fault("readByQuery", fault)
    with pytest.raises(error) as caught:
        await env.adapter.get_customer_credit(DE, "CUST-DE-001")
    assert caught.value.retryable is retryable
    assert caught.value.vendor == "sage_intacct"


# --- safe XML -----------------------------------------------------------------------------

_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE response [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<response><control><status>&secret;</status></control></response>"""
_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE response [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<response><control><status>&d;</status></control></response>"""


# The same bomb in UTF-16: no "<!" byte pair to spot, so it must meet the refusing parser too.
_BOMB_UTF16 = (
    _BOMB.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16")
)


@pytest.mark.parametrize(
    "body", [_XXE, _BOMB, _BOMB_UTF16], ids=["external-entity", "entity-bomb", "utf-16-bomb"]
)
async def test_responses_with_entities_are_refused_not_expanded(body: bytes) -> None:
    seen: list[bytes] = []

    def evil(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, content=body, headers={"Content-Type": "text/xml"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(evil)) as http:
        adapter = IntacctAdapter(
            http,
            endpoint_url="https://api.intacct.test/ia/xml/xmlgw.phtml",
            sender_id="s",
            sender_password="p",
            user_id="u",
            company_id="c",
            user_password="p",
        )
        with pytest.raises(IntacctProtocolError) as caught:
            await adapter.ping(DE)
    assert "unsafe XML" in caught.value.message
    assert caught.value.retryable is False
    assert len(seen) == 1


# --- business data ------------------------------------------------------------------------


async def test_credit_exposure_is_made_of_open_invoices_and_open_orders(env: Env) -> None:
    credit = await env.adapter.get_customer_credit(UK, "CUST-UK-002")
    invoices = await env.adapter.list_invoices(UK, "CUST-UK-002")
    assert credit.currency == "GBP"
    assert credit.open_receivables == sum((i.total_due for i in invoices), Decimal(0))
    for invoice in invoices:
        assert invoice.total == invoice.total_paid + invoice.total_due
    assert credit.overdue_amount == sum(
        (i.total_due for i in invoices if i.due_date and i.due_date < TODAY), Decimal(0)
    )
    before = credit.open_orders
    await env.adapter.create_order(
        UK,
        OrderRequest(
            external_ref="SF-UK-1",
            customer_id="CUST-UK-002",
            currency="GBP",
            order_date=TODAY,
            lines=(
                OrderLine(
                    line_no=1,
                    item_id="ITM-0003",
                    quantity=Decimal(4),
                    uom="EA",
                    unit_price=Decimal("10.50"),
                ),
            ),
        ),
    )
    after = await env.adapter.get_customer_credit(UK, "CUST-UK-002")
    assert after.open_orders == before + Decimal("42.00")


async def test_customers_of_another_entity_are_not_found(env: Env) -> None:
    with pytest.raises(IntacctNotFoundError):
        await env.adapter.get_customer_credit(DE, "CUST-UK-001")


async def test_price_in_an_alternate_unit_is_the_base_price_times_its_factor(env: Env) -> None:
    def query(uom: str, qty: int) -> PriceQuery:
        return PriceQuery(
            customer_id="CUST-DE-001",
            item_id="ITM-0001",
            quantity=Decimal(qty),
            uom=uom,
            currency="EUR",
            on_date=TODAY,
        )

    each = await env.adapter.get_price(DE, query("EA", 1))
    box = await env.adapter.get_price(DE, query("BOX", 1))
    assert box.net_price == each.net_price * 12
    assert each.price_list == "EUR Standard"
    assert each.discounts == ()


async def test_price_uses_the_entry_valid_on_the_date(env: Env) -> None:
    def on(day: date) -> PriceQuery:
        return PriceQuery(
            customer_id="CUST-DE-001",
            item_id="ITM-0001",
            quantity=Decimal(1),
            uom="EA",
            currency="EUR",
            on_date=day,
        )

    old = await env.adapter.get_price(DE, on(date(2025, 6, 1)))
    new = await env.adapter.get_price(DE, on(date(2026, 6, 1)))
    assert old.valid_to == date(2025, 12, 31)
    assert new.valid_from == date(2026, 1, 1)
    assert old.net_price < new.net_price


async def test_key_account_customers_get_their_price_list_discount(env: Env) -> None:
    query = PriceQuery(
        customer_id="CUST-DE-003",
        item_id="ITM-0001",
        quantity=Decimal(1),
        uom="EA",
        currency="EUR",
        on_date=TODAY,
    )
    price = await env.adapter.get_price(DE, query)
    assert price.price_list == "Key Accounts"
    assert [(d.kind, d.value) for d in price.discounts] == [("percent", Decimal(10))]
    assert price.net_price == (price.list_price * Decimal("0.9")).quantize(Decimal("0.01"))


async def test_markup_price_lists_raise_the_base_price(env: Env) -> None:
    query = PriceQuery(
        customer_id="CUST-DE-015",
        item_id="ITM-0001",
        quantity=Decimal(1),
        uom="EA",
        currency="EUR",
        on_date=TODAY,
    )
    price = await env.adapter.get_price(DE, query)
    assert [(d.kind, d.value) for d in price.discounts] == [("markup_amount", Decimal(2))]
    assert price.net_price == price.list_price + 2


async def test_a_currency_without_entries_has_no_price(env: Env) -> None:
    query = PriceQuery(
        customer_id="CUST-DE-001",
        item_id="ITM-0001",
        quantity=Decimal(1),
        uom="EA",
        currency="USD",
        on_date=TODAY,
    )
    with pytest.raises(IntacctNotFoundError):
        await env.adapter.get_price(DE, query)


async def test_availability_counts_reservations_and_open_purchase_lines(env: Env) -> None:
    rows = await env.adapter.get_availability(DE, "ITM-0002")
    assert [r.warehouse_id for r in rows] == ["WH-BER", "WH-MUC"]
    for row in rows:
        assert row.receipts
        assert all(r.date > TODAY and r.quantity > 0 for r in row.receipts)
        assert row.available_now <= row.on_hand - row.allocated


# --- orders -------------------------------------------------------------------------------


async def test_order_errors_keep_errorno_description2_and_correction(env: Env) -> None:
    with pytest.raises(IntacctRejectedError) as caught:
        await env.adapter.create_order(DE, order("SF-INACTIVE", item="ITM-0007"))
    error = caught.value
    assert (error.errorno, error.level, error.retryable) == ("BL01001973", "result", False)
    assert "inactive" in (error.description2 or "")
    assert error.correction
    assert [e.description2 for e in error.errors][-1] == "Could not create SODocument record!"


async def test_order_in_a_closed_period_is_rejected(env: Env) -> None:
    with pytest.raises(IntacctRejectedError) as caught:
        await env.adapter.create_order(DE, order("SF-OLD", day=TODAY - timedelta(days=400)))
    assert "Periods are closed" in (caught.value.description2 or "")


async def test_order_lines_carry_dimensions(env: Env) -> None:
    ack = await env.adapter.create_order(
        DE,
        order(
            "SF-DIMS", dimensions={"department": "SERVICE", "class": "OEM"}, warehouse_id="WH-MUC"
        ),
    )
    line = env.emulator.store.find(
        "SODOCUMENTENTRY", _top(), "DOCHDRID", f"Sales Order-{ack.order_id}"
    )
    assert line is not None
    assert (
        line["DEPARTMENTID"],
        line["CLASSID"],
        line["LOCATIONID"],
        line["WAREHOUSE.LOCATION_NO"],
    ) == (
        "SERVICE",
        "OEM",
        "DE01",
        "WH-MUC",
    )


DOCK = PostalAddress(
    name="Kunde GmbH Lager 2",
    lines=("Tor 4", "Hafenstrasse 12", "Gebaeude B"),
    city="Hamburg",
    postal_code="20457",
    country="DE",
)


async def test_an_order_carries_its_addresses_message_and_tax(env: Env) -> None:
    customer = env.emulator.store.find("CUSTOMER", _top(), "CUSTOMERID", "CUST-DE-001")
    assert customer is not None
    bill_to = customer["DISPLAYCONTACT.CONTACTNAME"]
    request = OrderRequest(
        external_ref="SF-ADDR",
        customer_id="CUST-DE-001",
        currency="EUR",
        order_date=TODAY,
        customer_po="PO-4711",
        notes="Deliver before noon.\nCall ahead.",
        ship_to=OrderParty(address=DOCK),
        bill_to=OrderParty(address_id=bill_to),
        lines=(
            OrderLine(line_no=1, item_id="ITM-0001", quantity=Decimal(2), uom="BOX",
                      unit_price=Decimal("10.00"), tax_amount=Decimal("3.80")),
            OrderLine(line_no=2, item_id="ITM-0002", quantity=Decimal(1), uom="EA",
                      unit_price=Decimal("5.00"), tax_amount=Decimal(0)),
        ),
    )  # fmt: skip
    contact = env.emulator.store.find("CONTACT", _top(), "CONTACTNAME", bill_to)
    assert contact is not None, "the seed holds the customer's contact"

    ack = await env.adapter.create_order(DE, request)

    header = env.emulator.store.find("SODOCUMENT", _top(), "DOCNO", ack.order_id)
    assert header is not None
    assert header["MESSAGE"] == "Customer PO PO-4711\nDeliver before noon.\nCall ahead."
    assert (
        header["SHIPTO.PRINTAS"],
        header["SHIPTO.MAILADDRESS.ADDRESS1"],
        header["SHIPTO.MAILADDRESS.ADDRESS2"],
        header["SHIPTO.MAILADDRESS.ADDRESS3"],
        header["SHIPTO.MAILADDRESS.CITY"],
        header["SHIPTO.MAILADDRESS.ZIP"],
        header["SHIPTO.MAILADDRESS.COUNTRYCODE"],
    ) == ("Kunde GmbH Lager 2", "Tor 4", "Hafenstrasse 12", "Gebaeude B", "Hamburg", "20457", "DE")
    assert header["BILLTO.CONTACTNAME"] == bill_to
    assert header["BILLTO.MAILADDRESS.CITY"] == contact["MAILADDRESS.CITY"]
    assert header["BILLTOKEY"] == contact["RECORDNO"]
    subtotals = [
        (r["DESCRIPTION"], r["TOTAL"])
        for r in env.emulator.store.tables["SODOCUMENTSUBTOTALS"]
        if r["DOCHDRNO"] == header["RECORDNO"]
    ]
    assert subtotals == [("Tax", "3.8")]
    assert Decimal(header["TOTAL"]) == Decimal(header["SUBTOTAL"]) + Decimal("3.80")
    lines = [
        r["TAXABLEAMOUNT"]
        for r in env.emulator.store.tables["SODOCUMENTENTRY"]
        if r["DOCHDRNO"] == header["RECORDNO"]
    ]
    assert lines == ["20", "0"]
    assert ack.total == Decimal(header["TOTAL"])


async def test_a_full_address_becomes_one_contact_that_later_orders_reuse(env: Env) -> None:
    ship = OrderParty(address=DOCK)
    first = await env.adapter.create_order(DE, msgspec_replace(order("SF-C1"), ship_to=ship))
    second = await env.adapter.create_order(DE, msgspec_replace(order("SF-C2"), ship_to=ship))

    contacts = [r for r in env.emulator.store.tables["CONTACT"] if r["COMPANYNAME"] == DOCK.name]
    assert len(contacts) == 1
    for ack in (first, second):
        header = env.emulator.store.find("SODOCUMENT", _top(), "DOCNO", ack.order_id)
        assert header is not None
        assert header["SHIPTO.CONTACTNAME"] == contacts[0]["CONTACTNAME"]


async def test_a_ship_to_naming_no_contact_is_refused_by_intacct(env: Env) -> None:
    request = msgspec_replace(order("SF-NOCONTACT"), ship_to=OrderParty(address_id="Nobody"))
    with pytest.raises(IntacctRejectedError) as caught:
        await env.adapter.create_order(DE, request)
    assert "Nobody" in caught.value.message
    assert env.emulator.store.find("SODOCUMENT", _top(), "PONUMBER", "SF-NOCONTACT") is None


async def test_a_create_whose_answer_was_lost_is_not_created_twice(env: Env) -> None:
    env.emulator.set_fault("create_sotransaction", Fault(kind="truncated", times=1))
    with pytest.raises(IntacctProtocolError):
        await env.adapter.create_order(DE, order("SF-LOST"))
    ack = await env.adapter.create_order(DE, order("SF-LOST"))
    assert ack.created is False
    assert ack.external_ref == "SF-LOST"
    creates = [r for r in env.emulator.received if "create_sotransaction" in r.function_names]
    assert len(creates) == 1
    assert creates[0].uniqueid is True


async def test_a_replayed_create_refused_by_uniqueid_returns_the_existing_order(env: Env) -> None:
    # Another instance created the order between our lookup and our create.
    first = await env.adapter.create_order(DE, order("SF-RACE"))
    env.emulator.store.tables["SODOCUMENT"][-1]["PONUMBER"] = "hidden-for-the-lookup"
    with pytest.raises(IntacctRejectedError) as caught:
        await env.adapter.create_order(DE, order("SF-RACE"))
    assert caught.value.errorno == "XL03000002"
    env.emulator.store.tables["SODOCUMENT"][-1]["PONUMBER"] = "SF-RACE"
    again = await env.adapter.create_order(DE, order("SF-RACE"))
    assert (again.order_id, again.created) == (first.order_id, False)


async def test_unknown_order_is_not_found(env: Env) -> None:
    with pytest.raises(IntacctNotFoundError):
        await env.adapter.get_order(DE, "SO9999")


def _top() -> object:
    from sandbox.intacct.functions import Scope

    return Scope(company_id=COMPANY, user_id="t", entity=None, today=TODAY)
