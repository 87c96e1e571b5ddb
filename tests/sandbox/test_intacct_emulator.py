"""The Intacct emulator answers like the XML gateway: envelopes, sessions, functions, refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from xml.etree.ElementTree import Element, fromstring

import httpx
import pytest

from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as CRED
from sandbox.intacct import Fault, IntacctEmulator
from sandbox.intacct.functions import Scope
from sandbox.intacct.query import compile_query
from tests.support.clock import ManualClock

URL = "/ia/xml/xmlgw.phtml"
TODAY = date.today()


def login(entity: str | None = "DE01", password: str = CRED.user_password) -> str:
    loc = f"<locationid>{entity}</locationid>" if entity else ""
    return (
        f"<login><userid>{CRED.user_id}</userid><companyid>{CRED.company_id}</companyid>"
        f"<password>{password}</password>{loc}</login>"
    )


def request(
    *functions: str,
    auth: str | None = None,
    controlid: str = "ctl-1",
    uniqueid: bool = False,
    transaction: bool = False,
    sender_password: str = CRED.sender_password,
) -> str:
    content = "".join(
        f'<function controlid="f{i}">{fn}</function>' for i, fn in enumerate(functions)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><request><control>'
        f"<senderid>{CRED.sender_id}</senderid><password>{sender_password}</password>"
        f"<controlid>{controlid}</controlid><uniqueid>{str(uniqueid).lower()}</uniqueid>"
        "<dtdversion>3.0</dtdversion><includewhitespace>false</includewhitespace></control>"
        f'<operation transaction="{str(transaction).lower()}"><authentication>'
        f"{auth or login()}</authentication><content>{content}</content></operation></request>"
    )


def rbq(obj: str, query: str = "", fields: str = "*", pagesize: int = 100) -> str:
    return (
        f"<readByQuery><object>{obj}</object><fields>{fields}</fields><query>{query}</query>"
        f"<pagesize>{pagesize}</pagesize></readByQuery>"
    )


def errors_of(el: Element | None) -> list[str]:
    assert el is not None
    return [e.findtext("errorno") or "" for e in el.findall("errormessage/error")]


def results(root: Element) -> list[Element]:
    return root.findall("operation/result")


def field_values(result: Element, name: str) -> list[str]:
    data = result.find("data")
    assert data is not None
    return [rec.findtext(name) or "" for rec in data]


@pytest.fixture
async def emulator() -> IntacctEmulator:
    return IntacctEmulator(public_url="http://intacct.test")


@pytest.fixture
async def http(emulator: IntacctEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intacct.test") as client:
        yield client


async def post(http: httpx.AsyncClient, body: str) -> tuple[int, Element]:
    response = await http.post(
        URL, content=body.encode(), headers={"Content-Type": "application/xml"}
    )
    return response.status_code, fromstring(response.content)


async def session_id(http: httpx.AsyncClient, entity: str | None = "DE01") -> str:
    _, root = await post(http, request("<getAPISession/>", auth=login(entity)))
    return root.findtext("operation/result/data/api/sessionid") or ""


# --- envelope and authentication ----------------------------------------------------------


async def test_malformed_xml_is_refused_at_control_level(http: httpx.AsyncClient) -> None:
    status, root = await post(http, "<request><control><senderid>")
    assert status == 200
    assert root.findtext("control/status") == "failure"
    assert errors_of(root) == ["XL03000003"]


async def test_missing_controlid_is_refused(http: httpx.AsyncClient) -> None:
    body = request(rbq("CUSTOMER")).replace("<controlid>ctl-1</controlid>", "")
    _, root = await post(http, body)
    assert root.findtext("control/status") == "failure"
    assert errors_of(root) == ["XL03000003"]
    assert "controlid" in (root.findtext("errormessage/error/description2") or "")


async def test_function_without_controlid_is_refused(http: httpx.AsyncClient) -> None:
    body = request(rbq("CUSTOMER")).replace('<function controlid="f0">', "<function>")
    _, root = await post(http, body)
    assert root.findtext("control/status") == "failure"


async def test_wrong_sender_credentials_get_401_and_the_sign_in_error(
    http: httpx.AsyncClient,
) -> None:
    status, root = await post(http, request(rbq("CUSTOMER"), sender_password="nope"))
    assert status == 401
    assert root.findtext("control/status") == "failure"
    assert errors_of(root) == ["XMLGW_JPP0002"]


async def test_wrong_user_password_fails_authentication_at_operation_level(
    http: httpx.AsyncClient,
) -> None:
    status, root = await post(http, request(rbq("CUSTOMER"), auth=login(password="bad")))
    assert status == 200
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/status") == "failure"
    assert errors_of(root.find("operation")) == ["XL03000006"]
    assert results(root) == []


async def test_unknown_entity_is_refused_at_sign_in(http: httpx.AsyncClient) -> None:
    _, root = await post(http, request(rbq("CUSTOMER"), auth=login("XX99")))
    assert root.findtext("operation/authentication/status") == "failure"


async def test_get_api_session_returns_a_session_and_an_endpoint_back_to_the_emulator(
    http: httpx.AsyncClient,
) -> None:
    _, root = await post(http, request("<getAPISession/>", auth=login("UK01")))
    api = root.find("operation/result/data/api")
    assert api is not None
    assert api.findtext("endpoint") == "http://intacct.test/ia/xml/xmlgw.phtml"
    assert api.findtext("locationid") == "UK01"
    sid = api.findtext("sessionid") or ""
    _, root = await post(
        http, request(rbq("CUSTOMER", fields="CUSTOMERID"), auth=f"<sessionid>{sid}</sessionid>")
    )
    assert root.findtext("operation/authentication/locationid") == "UK01"
    assert root.findtext("operation/authentication/sessiontimeout")
    ids = field_values(results(root)[0], "CUSTOMERID")
    assert ids
    assert all(i.startswith("CUST-UK-") for i in ids)


async def test_sessions_slide_forward_and_expire_when_idle() -> None:
    clock = ManualClock()
    emulator = IntacctEmulator(public_url="http://intacct.test", session_timeout_s=300, clock=clock)
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intacct.test") as http:
        sid = await session_id(http)
        auth = f"<sessionid>{sid}</sessionid>"
        for _ in range(4):  # 600 s in total, each use slides the timeout forward
            clock.advance(150)
            _, root = await post(http, request(rbq("LOCATION"), auth=auth))
            assert root.findtext("operation/authentication/status") == "success"
        clock.advance(300)
        _, root = await post(http, request(rbq("LOCATION"), auth=auth))
    assert root.findtext("operation/authentication/status") == "failure"
    assert errors_of(root.find("operation")) == ["XL03000006"]


# --- reads --------------------------------------------------------------------------------


async def test_read_by_query_pages_through_read_more_with_result_id(
    http: httpx.AsyncClient,
) -> None:
    _, root = await post(http, request(rbq("ITEM", fields="ITEMID", pagesize=40), auth=login(None)))
    data = results(root)[0].find("data")
    assert data is not None
    assert (data.get("listtype"), data.get("count"), data.get("totalcount")) == (
        "item",
        "40",
        "160",
    )
    assert data.get("numremaining") == "120"
    seen = field_values(results(root)[0], "ITEMID")
    while data.get("numremaining") != "0":
        more = f"<readMore><resultId>{data.get('resultId')}</resultId></readMore>"
        _, root = await post(http, request(more, auth=login(None)))
        data = results(root)[0].find("data")
        assert data is not None
        seen += field_values(results(root)[0], "ITEMID")
    assert len(seen) == len(set(seen)) == 160
    assert data.get("resultId") == ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CUSTOMERID = 'CUST-DE-001'", ["CUST-DE-001"]),
        ("CUSTOMERID in ('CUST-DE-002', 'CUST-DE-004')", ["CUST-DE-002", "CUST-DE-004"]),
        ("CUSTOMERID like 'CUST-DE-00%' AND ONHOLD = 'true'", ["CUST-DE-005"]),
        (
            "CUSTOMERID = 'CUST-DE-019' OR CUSTOMERID = 'CUST-DE-012'",
            ["CUST-DE-012", "CUST-DE-019"],
        ),
        ("STATUS = 'inactive'", ["CUST-DE-020", "CUST-DE-021"]),
        ("CREDITLIMIT IS NULL", ["CUST-DE-011", "CUST-DE-022"]),
        ("CREDITLIMIT &gt; 60000", []),
        ("CUSTOMERID &lt; 'CUST-DE-003'", ["CUST-DE-001", "CUST-DE-002"]),
    ],
)
async def test_read_by_query_supports_the_query_grammar(
    http: httpx.AsyncClient, query: str, expected: list[str]
) -> None:
    _, root = await post(http, request(rbq("CUSTOMER", query, "CUSTOMERID")))
    assert sorted(field_values(results(root)[0], "CUSTOMERID")) == expected


LOOKUPS = [
    ("SOPRICELISTENTRY", "PRICELISTID IN ('EUR Standard') AND (ITEMID = 'ITM-0003' OR "
     "PRODUCTLINEID = 'PL-NONE') AND DATEFROM &lt;= '12/31/2099'"),
    ("SOPRICELISTENTRY", "ITEMID IN ('ITM-0007', 'ITM-0002', 'ITM-0005')"),
    ("ITEMWAREHOUSEINFO", "ITEMID IN ('ITM-0006', 'ITM-0004') AND NOT (ITEMID = 'ITM-0009')"),
    ("ITEM", "ITEMID = 'ITM-0009' OR ITEMID = 'ITM-0001'"),
    ("ITEM", "ITEMID = 'NO-SUCH-ITEM'"),
    ("ITEM", "ITEMID = ''"),
    ("CUSTOMER", "CUSTOMERID IN ('CUST-DE-003', '') AND NOT (STATUS = 'inactive')"),
]  # fmt: skip


async def test_a_request_of_reads_finds_what_a_scan_of_every_record_finds(
    http: httpx.AsyncClient, emulator: IntacctEmulator
) -> None:
    """A request of reads only looks rows up by its queries' '=' and IN (indexes per request):
    the same rows, in the same order, as testing every record the entity sees."""
    _, root = await post(http, request(*(rbq(obj, query, "RECORDNO") for obj, query in LOOKUPS)))
    scope = Scope(company_id=CRED.company_id, user_id=CRED.user_id, entity="DE01", today=TODAY)
    for (obj, query), result in zip(LOOKUPS, results(root), strict=True):
        text = query.replace("&lt;", "<").replace("&gt;", ">")
        matches = compile_query(obj, text)
        scanned = [r["RECORDNO"] for r in emulator.store.visible(obj, scope) if matches(r)]
        assert field_values(result, "RECORDNO") == scanned, query
    assert [len(field_values(r, "RECORDNO")) > 0 for r in results(root)] == [
        True, True, True, True, False, False, True,
    ]  # fmt: skip


async def test_read_by_query_compares_dates(http: httpx.AsyncClient) -> None:
    day = (TODAY - timedelta(days=1)).strftime("%m/%d/%Y")
    _, root = await post(
        http, request(rbq("ARINVOICE", f"WHENDUE &lt; '{day}' AND TOTALDUE &gt; 0", "WHENDUE"))
    )
    dues = field_values(results(root)[0], "WHENDUE")
    assert dues
    assert all(date(int(d[6:]), int(d[:2]), int(d[3:5])) < TODAY for d in dues)


async def test_unknown_object_fails_the_result_with_the_vendor_text(
    http: httpx.AsyncClient,
) -> None:
    _, root = await post(http, request(rbq("BADOBJECT")))
    result = results(root)[0]
    assert result.findtext("status") == "failure"
    assert (
        result.findtext("errormessage/error/description") == "Object definition BADOBJECT not found"
    )


@pytest.mark.parametrize(
    "function",
    [rbq("CUSTOMER", fields="CUSTOMERID,NOPE"), rbq("CUSTOMER", "NOPE = 'x'")],
)
async def test_unknown_field_fails_the_result(http: httpx.AsyncClient, function: str) -> None:
    _, root = await post(http, request(function))
    result = results(root)[0]
    assert result.findtext("status") == "failure"
    assert "NOPE" in (result.findtext("errormessage/error/description2") or "")


async def test_read_refuses_more_than_100_keys(http: httpx.AsyncClient) -> None:
    keys = ",".join(str(i) for i in range(1, 102))
    _, root = await post(
        http, request(f"<read><object>ITEM</object><keys>{keys}</keys><fields>*</fields></read>")
    )
    assert results(root)[0].findtext("status") == "failure"
    _, root = await post(
        http, request("<read><object>ITEM</object><keys>1,2</keys><fields>ITEMID</fields></read>")
    )
    assert [rec.tag for rec in results(root)[0].find("data") or []] == ["ITEM", "ITEM"]


async def test_query_filters_orders_and_pages_by_offset(http: httpx.AsyncClient) -> None:
    def q(offset: int) -> str:
        return (
            "<query><object>CUSTOMER</object><select><field>CUSTOMERID</field></select>"
            "<filter><and><like><field>CUSTOMERID</field><value>CUST-UK-%</value></like>"
            "<equalto><field>STATUS</field><value>active</value></equalto></and></filter>"
            "<orderby><order><field>CUSTOMERID</field><descending/></order></orderby>"
            f"<pagesize>15</pagesize><offset>{offset}</offset></query>"
        )

    _, root = await post(http, request(q(0), auth=login(None)))
    first = results(root)[0]
    data = first.find("data")
    assert data is not None
    assert (data.get("totalcount"), data.get("count"), data.get("numremaining")) == (
        "20",
        "15",
        "5",
    )
    ids = field_values(first, "CUSTOMERID")
    assert ids[0] == "CUST-UK-022"
    assert data[0].tag == "CUSTOMER"
    _, root = await post(http, request(q(15), auth=login(None)))
    ids += field_values(results(root)[0], "CUSTOMERID")
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 20


# --- writes -------------------------------------------------------------------------------


def customer_xml(cust_id: str, extra: str = "") -> str:
    return (
        f"<create><CUSTOMER><CUSTOMERID>{cust_id}</CUSTOMERID><NAME>New Co</NAME>"
        f"<DISPLAYCONTACT><PRINTAS>New Co</PRINTAS></DISPLAYCONTACT>{extra}</CUSTOMER></create>"
    )


async def test_customer_create_update_and_duplicate(http: httpx.AsyncClient) -> None:
    _, root = await post(
        http, request(customer_xml("CUST-DE-900", "<CREDITLIMIT>1234.50</CREDITLIMIT>"))
    )
    assert results(root)[0].findtext("data/customer/CUSTOMERID") == "CUST-DE-900"
    _, root = await post(
        http,
        request(
            "<update><CUSTOMER><CUSTOMERID>CUST-DE-900</CUSTOMERID><ONHOLD>true</ONHOLD></CUSTOMER></update>"
        ),
    )
    assert results(root)[0].findtext("status") == "success"
    _, root = await post(
        http, request(rbq("CUSTOMER", "CUSTOMERID = 'CUST-DE-900'", "CREDITLIMIT,ONHOLD,CURRENCY"))
    )
    rec = results(root)[0].find("data/customer")
    assert rec is not None
    assert (rec.findtext("CREDITLIMIT"), rec.findtext("ONHOLD"), rec.findtext("CURRENCY")) == (
        "1234.5",
        "true",
        "EUR",
    )

    _, root = await post(http, request(customer_xml("CUST-DE-900")))
    assert errors_of(results(root)[0]) == ["BL34000061", "BL01001973"]
    _, root = await post(
        http,
        request(
            "<update><CUSTOMER><CUSTOMERID>NOPE</CUSTOMERID><NAME>x</NAME></CUSTOMER></update>"
        ),
    )
    assert "Cannot find customer" in (
        results(root)[0].findtext("errormessage/error/description2") or ""
    )
    _, root = await post(http, request(customer_xml("CUST-DE-901", "<BOGUS>1</BOGUS>")))
    assert results(root)[0].findtext("status") == "failure"


def sales_order(
    customer: str = "CUST-DE-001",
    item: str = "ITM-0001",
    *,
    day: date = TODAY,
    ref: str = "REF-1",
    line_extra: str = "<locationid>DE01</locationid><departmentid>SALES</departmentid>",
) -> str:
    return (
        "<create_sotransaction><transactiontype>Sales Order</transactiontype>"
        f"<datecreated><year>{day.year}</year><month>{day.month}</month><day>{day.day}</day></datecreated>"
        f"<customerid>{customer}</customerid><referenceno>{ref}</referenceno><currency>EUR</currency>"
        f"<sotransitems><sotransitem><itemid>{item}</itemid><warehouseid>WH-BER</warehouseid>"
        f"<quantity>2</quantity><unit>BOX</unit>{line_extra}</sotransitem></sotransitems>"
        "</create_sotransaction>"
    )


async def test_sales_order_is_created_with_reference_and_line_dimensions(
    http: httpx.AsyncClient,
) -> None:
    _, root = await post(http, request(sales_order(ref="SF-0001")))
    result = results(root)[0]
    key = result.findtext("key") or ""
    assert result.findtext("status") == "success"
    assert key.startswith("Sales Order-SO")
    _, root = await post(
        http, request(rbq("SODOCUMENT", "PONUMBER = 'SF-0001'", "DOCID,STATE,TOTAL"))
    )
    assert field_values(results(root)[0], "DOCID") == [key]
    assert field_values(results(root)[0], "STATE") == ["Pending"]
    _, root = await post(
        http,
        request(
            rbq("SODOCUMENTENTRY", f"DOCHDRID = '{key}'", "QUANTITY,UNIT,DEPARTMENTID,PRICE,TOTAL")
        ),
    )
    line = results(root)[0].find("data/sodocumententry")
    assert line is not None
    assert (line.findtext("QUANTITY"), line.findtext("UNIT"), line.findtext("DEPARTMENTID")) == (
        "2",
        "BOX",
        "SALES",
    )
    assert Decimal(line.findtext("TOTAL") or "") == Decimal(line.findtext("PRICE") or "") * 2


@pytest.mark.parametrize(
    ("function", "auth_entity", "errorno", "text"),
    [
        (sales_order(customer="NOPE"), "DE01", "BL01001973", "Invalid Customer 'NOPE'"),
        (sales_order(item="NOSUCHITEM"), "DE01", "BL01001973", "Invalid Item 'NOSUCHITEM'"),
        (sales_order(item="ITM-0007"), "DE01", "BL01001973", "inactive"),
        (sales_order(day=TODAY - timedelta(days=800)), "DE01", "BL01001973", "Periods are closed"),
        (sales_order(line_extra=""), None, "BL03000018", "Location is required"),
        (
            sales_order(line_extra="<departmentid>NOPE</departmentid>"),
            "DE01",
            "BL01001973",
            "Invalid Department",
        ),
    ],
)
async def test_sales_order_rejections(
    http: httpx.AsyncClient, function: str, auth_entity: str | None, errorno: str, text: str
) -> None:
    _, root = await post(http, request(function, auth=login(auth_entity)))
    result = results(root)[0]
    assert result.findtext("status") == "failure"
    assert errors_of(result)[0] == errorno
    assert errors_of(result)[-1] == "BL01001973"
    assert text in (result.findtext("errormessage/error/description2") or "")


async def test_transaction_rolls_back_every_function_and_answers_aborted(
    http: httpx.AsyncClient,
) -> None:
    body = request(customer_xml("CUST-DE-950"), sales_order(item="NOSUCHITEM"), transaction=True)
    _, root = await post(http, body)
    assert [r.findtext("status") for r in results(root)] == ["aborted", "aborted"]
    assert errors_of(results(root)[0]) == ["XL03000009"]
    assert errors_of(results(root)[1])[-1] == "XL03000009"
    _, root = await post(http, request(rbq("CUSTOMER", "CUSTOMERID = 'CUST-DE-950'")))
    assert results(root)[0].find("data") is not None
    assert results(root)[0].find("data").get("count") == "0"  # type: ignore[union-attr]


async def test_repeated_controlid_with_uniqueid_is_refused(http: httpx.AsyncClient) -> None:
    _, first = await post(http, request(sales_order(ref="U-1"), controlid="once", uniqueid=True))
    _, second = await post(http, request(sales_order(ref="U-1"), controlid="once", uniqueid=True))
    assert results(first)[0].findtext("status") == "success"
    assert second.findtext("control/status") == "failure"
    assert errors_of(second) == ["XL03000002"]
    _, root = await post(http, request(rbq("SODOCUMENT", "PONUMBER = 'U-1'", "DOCID")))
    assert len(field_values(results(root)[0], "DOCID")) == 1


# --- limits, faults, record ---------------------------------------------------------------


async def test_requests_beyond_the_company_limit_get_the_rate_limit_error(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    emulator.set_fault("readByQuery", Fault(kind="latency", delay_ms=200))
    answers = await asyncio.gather(*(post(http, request(rbq("LOCATION"))) for _ in range(3)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 200, 429]
    limited = next(root for status, root in answers if status == 429)
    assert limited.findtext("errormessage/error/description") == "API rate limit exceeded"
    assert emulator.max_in_flight_seen[CRED.company_id] == 2
    assert [r.outcome for r in emulator.received].count("rate_limited") == 1


@pytest.mark.parametrize("status", [503, 524])
async def test_status_fault_answers_that_status(
    emulator: IntacctEmulator, http: httpx.AsyncClient, status: int
) -> None:
    emulator.set_fault("readByQuery", Fault(kind="status", status=status, times=1))
    response = await http.post(URL, content=request(rbq("LOCATION")))
    assert response.status_code == status
    response = await http.post(URL, content=request(rbq("LOCATION")))
    assert response.status_code == 200


async def test_malformed_truncated_and_html_faults(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    for kind in ("malformed", "truncated", "html"):
        emulator.set_fault("*", Fault(kind=kind))  # type: ignore[arg-type]
        response = await http.post(URL, content=request(rbq("LOCATION")))
        with pytest.raises(Exception, match=r".+"):
            fromstring(response.content)
    emulator.clear_faults()
    response = await http.post(URL, content=request(rbq("LOCATION")))
    fromstring(response.content)


async def test_reset_and_hang_faults_over_real_http() -> None:
    from tests.support.intacct_env import served_intacct

    async with (
        served_intacct() as emulator,
        httpx.AsyncClient(base_url=emulator.public_url) as http,
    ):
        emulator.set_fault("readByQuery", Fault(kind="reset", times=1))
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(URL, content=request(rbq("LOCATION")))
        emulator.set_fault("readByQuery", Fault(kind="hang", times=1))
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await http.post(URL, content=request(rbq("LOCATION")), timeout=0.3)
        assert time.monotonic() - started < 2
        response = await http.post(URL, content=request(rbq("LOCATION")))
        assert response.status_code == 200


async def test_faults_and_received_are_reachable_over_control_endpoints(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    created = await http.post(
        "/_sandbox/faults", json={"target": "readByQuery", "kind": "status", "status": 502}
    )
    assert created.status_code == 204
    assert (await http.post(URL, content=request(rbq("LOCATION")))).status_code == 502
    assert (await http.delete("/_sandbox/faults")).status_code == 204
    assert (await http.post(URL, content=request(rbq("LOCATION")))).status_code == 200
    bad = await http.post("/_sandbox/faults", json={"kind": "explode"})
    assert bad.status_code == 400
    received = (await http.get("/_sandbox/received")).json()
    assert [r["functions"][0]["name"] for r in received] == ["readByQuery", "readByQuery"]
    assert received[0]["functions"][0]["inputs"]["object"] == "LOCATION"
    assert [r["outcome"] for r in received] == ["fault:status", "success"]


async def test_received_record_is_bounded() -> None:
    emulator = IntacctEmulator(public_url="http://intacct.test", received_maxlen=3)
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intacct.test") as http:
        for n in range(5):
            await http.post(URL, content=request(rbq("LOCATION"), controlid=f"c{n}"))
    assert [r.controlid for r in emulator.received] == ["c2", "c3", "c4"]


# --- seed ---------------------------------------------------------------------------------


def test_seed_has_the_promised_shape() -> None:
    store = IntacctEmulator(public_url="http://x").store
    tables = store.tables
    assert len(tables["CUSTOMER"]) >= 40
    assert len(tables["ITEM"]) >= 150
    assert sum(i["STATUS"] == "inactive" for i in tables["ITEM"]) >= 5
    assert len(tables["WAREHOUSE"]) >= 3
    assert {e["VALUETYPE"] for e in tables["SOPRICELISTENTRY"]} == {
        "Actual",
        "% Discount",
        "% Markup",
        "Dollar Discount",
        "Dollar Markup",
    }
    assert {c["CURRENCY"] for c in tables["CUSTOMER"]} == {"EUR", "GBP"}
    for customer in tables["CUSTOMER"]:
        due = sum(
            (
                Decimal(i["TOTALDUE"])
                for i in tables["ARINVOICE"]
                if i["CUSTOMERID"] == customer["CUSTOMERID"]
            ),
            Decimal(0),
        )
        assert Decimal(customer["TOTALDUE"]) == due
    assert IntacctEmulator(public_url="http://x").store.tables == tables  # deterministic
