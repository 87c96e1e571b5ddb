"""The Infor ION API + M3 MI REST emulator refuses and answers the way the real one does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.infor import Fault, InforEmulator
from sandbox.infor.seed import BLOCKED_ITEMS, CUSTOMER_STOPS, WAREHOUSES, PriceLine, build_seed
from tests.support.clock import ManualClock
from tests.support.servers import free_port, serve
from tests.support.waiting import eventually

BASE = "http://m3.test"


def _emulator(**options: Any) -> InforEmulator:
    return InforEmulator(public_url=BASE, **options)


@pytest.fixture
def emulator() -> InforEmulator:
    return _emulator()


@pytest.fixture
async def http(emulator: InforEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as client:
        yield client


def _password_form(doc: dict[str, str], **override: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "username": doc["saak"],
        "password": doc["sask"],
        "client_id": doc["ci"],
        "client_secret": doc["cs"],
    }
    form.update(override)
    return form


async def _token(http: httpx.AsyncClient, emulator: InforEmulator) -> dict[str, Any]:
    doc = emulator.ionapi_document()
    response = await http.post(doc["pu"] + doc["ot"], data=_password_form(doc))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _mi(
    http: httpx.AsyncClient, emulator: InforEmulator, path: str, token: str | None = None
) -> httpx.Response:
    if token is None:
        token = (await _token(http, emulator))["access_token"]
    url = f"{BASE}/{emulator.tenant}/M3/m3api-rest/v2/execute/{path}"
    return await http.get(url, headers={"Authorization": f"Bearer {token}"})


# -- .ionapi and OAuth2 -----------------------------------------------------------------------
def test_ionapi_document_points_at_the_emulator(tmp_path: Path) -> None:
    emulator = InforEmulator(public_url="http://127.0.0.1:8702")
    written = json.loads(emulator.write_ionapi(tmp_path / "x.ionapi").read_text())

    assert written == emulator.ionapi_document()
    assert written["ti"] == "ISTHMUS_TST"
    assert written["iu"] == "http://127.0.0.1:8702"
    assert written["pu"] == "http://127.0.0.1:8702/ISTHMUS_TST/as/"
    assert (written["ot"], written["or"], written["oa"]) == (
        "token.oauth2",
        "revoke_token.oauth2",
        "authorization.oauth2",
    )
    assert written["saak"].startswith("ISTHMUS_TST#")
    assert {"ci", "cs", "sask", "ev", "v"} <= written.keys()


async def test_password_grant_issues_bearer_and_refresh_tokens(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = await _token(http, emulator)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 7200
    assert token["access_token"]
    assert token["refresh_token"]


async def test_wrong_client_secret_is_refused_401_invalid_client(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    response = await http.post(doc["pu"] + doc["ot"], data=_password_form(doc, client_secret="x"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_wrong_service_account_secret_is_refused_invalid_grant(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    response = await http.post(doc["pu"] + doc["ot"], data=_password_form(doc, password="nope"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_unsupported_grant_is_refused(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    form = _password_form(doc, grant_type="client_credentials")
    response = await http.post(doc["pu"] + doc["ot"], data=form)
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


async def test_client_may_authenticate_with_basic_auth(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    form = {"grant_type": "password", "username": doc["saak"], "password": doc["sask"]}
    response = await http.post(doc["pu"] + doc["ot"], data=form, auth=(doc["ci"], doc["cs"]))
    assert response.status_code == 200


async def test_refresh_grant_rotates_the_refresh_token(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    first = await _token(http, emulator)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": doc["ci"],
        "client_secret": doc["cs"],
    }
    again = await http.post(doc["pu"] + doc["ot"], data=form)
    reused = await http.post(doc["pu"] + doc["ot"], data=form)

    assert again.status_code == 200
    assert (
        await _mi(http, emulator, "MNS150MI/GetUserData", again.json()["access_token"])
    ).is_success
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


async def test_expired_token_is_refused_401() -> None:
    clock = ManualClock()
    emulator = _emulator(token_lifetime=60, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        token = (await _token(http, emulator))["access_token"]
        clock.advance(59.9)
        assert (await _mi(http, emulator, "MNS150MI/GetUserData", token)).status_code == 200
        clock.advance(0.1)
        response = await _mi(http, emulator, "MNS150MI/GetUserData", token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_token_is_refused_401(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    doc = emulator.ionapi_document()
    token = (await _token(http, emulator))["access_token"]
    revoked = await http.post(
        doc["pu"] + doc["or"],
        data={"token": token, "token_type_hint": "access_token"},
        auth=(doc["ci"], doc["cs"]),
    )
    assert revoked.status_code == 200
    assert (await _mi(http, emulator, "MNS150MI/GetUserData", token)).status_code == 401


async def test_request_without_token_is_refused(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    url = f"{BASE}/{emulator.tenant}/M3/m3api-rest/v2/execute/MNS150MI/GetUserData"
    response = await http.get(url)
    assert response.status_code == 401
    assert emulator.received[-1].authorization == "none"


# -- MI REST v2 -------------------------------------------------------------------------------
async def test_get_basic_data_answers_the_v2_shape_with_padded_values(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    response = await _mi(http, emulator, "CRS610MI/GetBasicData;cono=100;maxrecs=1?CUNO=US0001")
    body = response.json()

    assert response.status_code == 200
    assert body["wasTerminated"] is False
    assert (body["nrOfSuccessfullTransactions"], body["nrOfFailedTransactions"]) == (1, 0)
    record = body["results"][0]["records"][0]
    assert body["results"][0]["transaction"] == "GetBasicData"
    assert record["CUNO"] == "US0001    "
    assert record["CUNM"].rstrip() == "Acme Industrial Inc"
    assert len(record["CUNM"]) == 36


async def test_matrix_parameters_select_and_limit(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    response = await _mi(
        http, emulator, "MMS015MI/Lst;maxrecs=2;returncols=ALUN,COFA;excludempty=true?ITNO=A1003"
    )
    records = response.json()["results"][0]["records"]
    assert records == [{"ALUN": "BOX", "COFA": "12"}, {"ALUN": "PAL", "COFA": "480"}]
    assert emulator.received[-1].matrix == {
        "maxrecs": "2",
        "returncols": "ALUN,COFA",
        "excludempty": "true",
    }


async def test_metadata_describes_the_fields(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    response = await _mi(http, emulator, "MMS200MI/GetItmBasic;metadata=true?ITNO=A1001")
    names = {f["@name"] for f in response.json()["results"][0]["metadata"]["field"]}
    assert {"ITNO", "UNMS", "STAT"} <= names


@pytest.mark.parametrize(
    ("path", "code", "field"),
    [
        ("CRS610MI/GetBasicData?CUNO=NOSUCH", "WCU0203", "CUNO"),
        ("CRS610MI/GetBasicData", "WCU0102", "CUNO"),
        ("MMS200MI/GetItmBasic?ITNO=NOSUCHITEM", "WIT0203", "ITNO"),
        ("MMS200MI/GetItmWhsBal?ITNO=A1001", "WWH0102", "WHLO"),
        ("MMS200MI/GetItmWhsBal?ITNO=A1001&WHLO=ZZZ", "WWH0203", "WHLO"),
        ("CRS610MI/GetBasicData;cono=999?CUNO=US0001", "WCO0203", "CONO"),
        ("CRS610MI/GetBasicData?CUNO=US0001&BOGUS=1", "XIN0001", "BOGUS"),
        ("OIS100MI/AddBatchHead?CUNO=US0004", "WCU0504", "CUNO"),
        ("OIS100MI/AddBatchHead?CUNO=US0021", "WCU0503", "CUNO"),
        ("OIS100MI/GetHead?ORNO=0000000000", "WOR0203", "ORNO"),
    ],
)
async def test_refusals_come_back_400_with_m3_code_field_and_padded_message(
    http: httpx.AsyncClient, emulator: InforEmulator, path: str, code: str, field: str
) -> None:
    response = await _mi(http, emulator, path)
    body = response.json()
    result = body["results"][0]

    assert response.status_code == 400
    assert (result["errorCode"], result["errorField"]) == (code, field)
    assert result["errorType"] == "ServerReturnedNOK"
    assert result["errorMessage"].endswith(" ")
    assert (body["nrOfSuccessfullTransactions"], body["nrOfFailedTransactions"]) == (0, 1)


async def test_refusals_can_come_back_as_200() -> None:
    emulator = _emulator(nok_status=200)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        response = await _mi(http, emulator, "CRS610MI/GetBasicData?CUNO=NOSUCH")
    assert response.status_code == 200
    assert response.json()["results"][0]["errorCode"] == "WCU0203"


@pytest.mark.parametrize(
    ("path", "kind"),
    [("CRS999MI/GetBasicData", "ProgramNotFound"), ("CRS610MI/GetNothing", "TransactionNotFound")],
)
async def test_unknown_program_or_transaction_terminates_the_request(
    http: httpx.AsyncClient, emulator: InforEmulator, path: str, kind: str
) -> None:
    response = await _mi(http, emulator, path)
    body = response.json()
    assert response.status_code == 400
    assert body["wasTerminated"] is True
    assert body["terminationErrorType"] == kind
    assert body["results"] == []


async def test_item_with_status_90_cannot_be_ordered(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = (await _token(http, emulator))["access_token"]
    head = await _mi(http, emulator, "OIS100MI/AddBatchHead?CUNO=US0001", token)
    orno = head.json()["results"][0]["records"][0]["ORNO"].strip()
    blocked = sorted(BLOCKED_ITEMS)[0]
    line = await _mi(
        http, emulator, f"OIS100MI/AddBatchLine?ORNO={orno}&ITNO={blocked}&ORQT=1", token
    )
    assert line.json()["results"][0]["errorCode"] == "WIT0503"


async def test_batch_order_is_confirmed_and_found_by_customer_order_reference(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = (await _token(http, emulator))["access_token"]

    async def one(path: str) -> dict[str, str]:
        response = await _mi(http, emulator, path, token)
        assert response.status_code == 200, response.text
        return {k: v.strip() for k, v in response.json()["results"][0]["records"][0].items()}

    batch = (await one("OIS100MI/AddBatchHead?CUNO=US0001&CUOR=SF-42&WHLO=WUE"))["ORNO"]
    line = await one(f"OIS100MI/AddBatchLine?ORNO={batch}&ITNO=A1001&ORQT=2&ALUN=BOX")
    confirmed = await one(f"OIS100MI/Confirm?ORNO={batch}")
    head = await one(f"OIS100MI/GetHead?ORNO={confirmed['ORNO']}")
    lines = (await _mi(http, emulator, f"OIS100MI/LstLine?ORNO={confirmed['ORNO']}", token)).json()
    found = (await _mi(http, emulator, "OIS100MI/SearchHead?SQRY=CUOR:SF-42", token)).json()
    listed = (await _mi(http, emulator, "OIS100MI/LstHead;maxrecs=0?CUNO=US0001", token)).json()

    assert line["PONR"] == "1"
    assert confirmed["ORNO"] != batch
    assert (head["CUOR"], head["STAT"], head["WHLO"], head["CUCD"]) == ("SF-42", "20", "WUE", "USD")
    assert [
        (r["ORQT"].strip(), r["ORQA"], r["ALUN"].strip()) for r in lines["results"][0]["records"]
    ] == [("24", "2", "BOX")]
    assert [r["ORNO"].strip() for r in found["results"][0]["records"]] == [confirmed["ORNO"]]
    assert "SF-42" in [r["CUOR"].strip() for r in listed["results"][0]["records"]]


async def test_atp_is_a_date_series_rising_with_planned_receipts(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    response = await _mi(http, emulator, "OIS100MI/GetATP?ITNO=A1001&WHLO=WUS")
    records = response.json()["results"][0]["records"]
    dates = [r["AVTD"] for r in records]
    quantities = [int(r["AVTQ"]) for r in records]

    assert len(records) >= 2
    assert dates == sorted(dates)
    assert dates[0] == emulator.state.today.strftime("%Y%m%d")
    assert quantities == sorted(quantities)
    assert quantities[-1] > quantities[0]


async def test_price_applies_quantity_breaks_and_customer_discount(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = (await _token(http, emulator))["access_token"]

    async def price(qty: int) -> dict[str, str]:
        path = f"OIS320MI/GetPriceLine?CUNO=US0001&ITNO=A1001&ORQA={qty}&ALUN=EA"
        response = await _mi(http, emulator, path, token)
        return dict(response.json()["results"][0]["records"][0])

    one, hundred = await price(1), await price(100)
    assert float(hundred["SAPR"]) < float(one["SAPR"])
    assert one["DIP1"] == "5"
    assert float(one["NETP"]) == pytest.approx(float(one["SAPR"]) * 0.95, abs=0.0001)
    assert one["CUCD"] == "USD"


async def test_a_price_line_added_later_is_priced(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    """Price lines are looked up per item through an index: a line added after the first
    price was read (a promotion loaded later) still wins from the day it starts."""
    token = (await _token(http, emulator))["access_token"]
    path = "OIS320MI/GetPriceLine?CUNO=US0001&ITNO=A1001&ORQA=1&ALUN=EA"
    before = (await _mi(http, emulator, path, token)).json()["results"][0]["records"][0]
    today = emulator.state.today
    emulator.state.data.price_lines.append(
        PriceLine("PROMO9", "USD", "A1001", today, today, ((Decimal(0), Decimal("1.5")),))
    )
    after = (await _mi(http, emulator, path, token)).json()["results"][0]["records"][0]
    assert before["PRRF"] != "PROMO9"
    assert (after["PRRF"].rstrip(), after["SAPR"]) == ("PROMO9", "1.5")


async def test_bulk_post_runs_each_transaction_and_counts_failures(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = (await _token(http, emulator))["access_token"]
    response = await http.post(
        f"{BASE}/{emulator.tenant}/M3/m3api-rest/v2/execute",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "program": "MMS200MI",
            "cono": 100,
            "transactions": [
                {"transaction": "GetItmBasic", "record": {"ITNO": "A1001"}},
                {"transaction": "GetItmBasic", "record": {"ITNO": "NOPE"}},
            ],
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["nrOfSuccessfullTransactions"], body["nrOfFailedTransactions"]) == (1, 1)
    assert body["results"][0]["records"][0]["ITNO"].strip() == "A1001"
    assert body["results"][1]["errorCode"] == "WIT0203"
    assert [r.name for r in emulator.received][-2:] == ["MMS200MI/GetItmBasic"] * 2


# -- throttling, faults, records --------------------------------------------------------------
async def test_requests_beyond_the_rate_are_throttled_with_retry_after() -> None:
    emulator = _emulator(requests_per_second=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        token = (await _token(http, emulator))["access_token"]
        statuses = [(await _mi(http, emulator, "MNS150MI/GetUserData", token)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[-1].headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        (Fault(kind="status", status=503), 503, "application/json"),
        (Fault(kind="status", status=429, retry_after=7), 429, "application/json"),
        (Fault(kind="html"), 200, "text/html; charset=utf-8"),
        (Fault(kind="malformed"), 200, "application/json"),
        (Fault(kind="truncated"), 200, "application/json"),
    ],
)
async def test_faults_switch_per_transaction(
    http: httpx.AsyncClient,
    emulator: InforEmulator,
    fault: Fault,
    status: int,
    content_type: str,
) -> None:
    emulator.set_fault("CRS610MI/GetBasicData", fault)
    faulty = await _mi(http, emulator, "CRS610MI/GetBasicData?CUNO=US0001")
    other = await _mi(http, emulator, "CRS610MI/GetFinancial?CUNO=US0001")

    assert (faulty.status_code, faulty.headers["content-type"]) == (status, content_type)
    if status == 429:
        assert faulty.headers["retry-after"] == "7"
    if status == 200:
        with pytest.raises(json.JSONDecodeError):
            json.loads(faulty.content)
    assert other.status_code == 200
    emulator.clear_faults()
    assert (await _mi(http, emulator, "CRS610MI/GetBasicData?CUNO=US0001")).status_code == 200


async def test_fault_can_hit_a_limited_number_of_requests(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    token = (await _token(http, emulator))["access_token"]
    emulator.set_fault("*", Fault(kind="status", status=502, times=1))
    first = await _mi(http, emulator, "MNS150MI/GetUserData", token)
    second = await _mi(http, emulator, "MNS150MI/GetUserData", token)
    assert [first.status_code, second.status_code] == [502, 200]


async def test_star_fault_also_hits_the_token_endpoint(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    emulator.set_fault("*", Fault(kind="status", status=503))
    doc = emulator.ionapi_document()
    response = await http.post(doc["pu"] + doc["ot"], data=_password_form(doc))
    assert response.status_code == 503


async def test_latency_fault_delays_the_answer(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    emulator.set_fault("MNS150MI", Fault(kind="latency", delay_ms=150))
    token = (await _token(http, emulator))["access_token"]
    started = time.monotonic()
    response = await _mi(http, emulator, "MNS150MI/GetUserData", token)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.15


async def test_a_delayed_answer_is_worked_out_within_its_delay_and_sent_when_due(
    http: httpx.AsyncClient, emulator: InforEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``latency`` is the backend's own time: the answer leaves ``delay_ms`` after the
    request's arrival and is worked out when ``DueTimes.until_work`` says (shortly before it
    is due), so a receipt booked while the request waits is in it, and requests arriving
    beside it are taken in without waiting for its work; the stats count it and how late it
    left. The work's turn is held here by an event, not by the clock."""
    whlo, itno = sorted(emulator.state.data.balances)[0]
    emulator.set_fault("MMS200MI", Fault(kind="latency", delay_ms=300))
    work_may_start = asyncio.Event()

    async def until_work(arrived: float, due: float) -> None:
        await work_may_start.wait()

    monkeypatch.setattr(emulator.due_times, "until_work", until_work)
    token = (await _token(http, emulator))["access_token"]
    started = time.monotonic()
    pending = asyncio.ensure_future(
        _mi(http, emulator, f"MMS200MI/GetItmWhsBal?WHLO={whlo}&ITNO={itno}", token)
    )
    assert await eventually(lambda: bool(emulator.received_named("MMS200MI/GetItmWhsBal")))
    balance = emulator.state.data.balances[(whlo, itno)]
    before = balance.on_hand
    balance.on_hand += 7  # a receipt booked while the request waits its turn
    work_may_start.set()

    response = await pending

    assert time.monotonic() - started >= 0.3
    assert Decimal(response.json()["results"][0]["records"][0]["STQT"]) == before + 7
    stats = emulator.stats()
    assert stats["delayed_total"] == 1
    assert stats["max_late_ms"] >= 0


async def test_hang_and_reset_faults_over_real_http() -> None:
    port = free_port()
    emulator = InforEmulator(public_url=f"http://127.0.0.1:{port}")
    doc = emulator.ionapi_document()
    with serve(emulator.app, port=port) as url:
        async with httpx.AsyncClient() as http:
            token = (await http.post(doc["pu"] + doc["ot"], data=_password_form(doc))).json()
            api = f"{url}/{emulator.tenant}/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData"
            headers = {"Authorization": f"Bearer {token['access_token']}"}

            emulator.set_fault("CRS610MI/GetBasicData", Fault(kind="hang"))
            with pytest.raises(httpx.ReadTimeout):
                await http.get(api, params={"CUNO": "US0001"}, headers=headers, timeout=0.3)

            emulator.set_fault("CRS610MI/GetBasicData", Fault(kind="reset"))
            with pytest.raises(httpx.TransportError):
                await http.get(api, params={"CUNO": "US0001"}, headers=headers)
            emulator.clear_faults()


async def test_a_held_request_answers_normally_once_faults_are_cleared(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    emulator.set_fault("CRS610MI/GetBasicData", Fault(kind="hold"))
    held = asyncio.ensure_future(_mi(http, emulator, "CRS610MI/GetBasicData?CUNO=US0001"))
    assert await eventually(lambda: bool(emulator.received_named("CRS610MI/GetBasicData")))
    assert not held.done()
    emulator.clear_faults()
    response = await held
    assert response.status_code == 200
    assert response.json()["results"][0]["records"][0]["CUNO"].strip() == "US0001"


async def test_control_endpoints_switch_faults_and_show_received(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    created = await http.post(
        f"{BASE}/_sandbox/faults",
        json={"target": "CRS610MI/GetBasicData", "kind": "status", "status": 500},
    )
    faulty = await _mi(http, emulator, "CRS610MI/GetBasicData?CUNO=US0001")
    received = (await http.get(f"{BASE}/_sandbox/received")).json()
    cleared = await http.delete(f"{BASE}/_sandbox/faults")
    healthy = await _mi(http, emulator, "CRS610MI/GetBasicData?CUNO=US0001")
    bad = await http.post(f"{BASE}/_sandbox/faults", json={"kind": "explode"})

    assert created.status_code == 200
    assert faulty.status_code == 500
    assert received[-1]["name"] == "CRS610MI/GetBasicData"
    assert received[-1]["inputs"] == {"CUNO": "US0001"}
    assert cleared.status_code == 200
    assert healthy.status_code == 200
    assert bad.status_code == 400


async def test_received_record_is_bounded_and_never_holds_credentials() -> None:
    emulator = _emulator(received_maxlen=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        token = (await _token(http, emulator))["access_token"]
        for _ in range(5):
            await _mi(http, emulator, "MNS150MI/GetUserData", token)
    assert len(emulator.received) == 3
    assert token not in repr(list(emulator.received))
    assert emulator.secret_key not in repr(list(emulator.received))


# -- seed ------------------------------------------------------------------------------------
def test_seed_is_deterministic_and_large_enough() -> None:
    from datetime import date

    one, two = build_seed(date(2026, 1, 5)), build_seed(date(2026, 1, 5))

    assert one == two
    assert len(one.customers) >= 40
    assert {c.currency for c in one.customers.values()} == {"USD", "CAD"}
    assert len(one.items) >= 150
    assert len(WAREHOUSES) >= 3
    assert sum(1 for i in one.items.values() if i.stat == "90") == 8
    assert {one.customers[c].blcd for c in CUSTOMER_STOPS} == {1, 2, 3}
    assert any(b.receipts for b in one.balances.values())
    assert all(r.when > date(2026, 1, 5) for b in one.balances.values() for r in b.receipts)
    assert one.orders


async def test_stats_report_the_busiest_window_and_the_spike_arrest_refusals() -> None:
    clock = ManualClock()
    emulator = _emulator(requests_per_second=3, rate_clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        token = (await _token(http, emulator))["access_token"]
        burst = [(await _mi(http, emulator, "MNS150MI/GetUserData", token)) for _ in range(5)]
        clock.advance(1.5)
        later = [(await _mi(http, emulator, "MNS150MI/GetUserData", token)) for _ in range(2)]
        stats = (await http.get(f"{BASE}/_sandbox/stats")).json()

    assert [r.status_code for r in burst + later] == [200, 200, 200, 429, 429, 200, 200]
    assert stats == {
        "requests_per_second": 3,
        "throttle_window_s": 1.0,
        "max_requests_in_window": 5,
        "max_rate_seen": 5.0,
        "rate_limited_total": 2,
        "delayed_total": 0,  # no latency fault
        "max_late_ms": 0.0,
        "late_le_ms": dict.fromkeys(("0.25", "0.5", "1", "2", "4", "8", "16", "32", "+Inf"), 0),
        "requests_total": 7,
        "tokens_issued": 1,  # one sign-in for all seven calls
    }


async def test_stats_count_the_rate_when_nothing_is_throttled() -> None:
    clock = ManualClock()
    emulator = _emulator(rate_clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        token = (await _token(http, emulator))["access_token"]
        for _ in range(4):
            await _mi(http, emulator, "MNS150MI/GetUserData", token)
            clock.advance(0.4)
        stats = (await http.get(f"{BASE}/_sandbox/stats")).json()

    # Arrivals at 0, 0.4, 0.8 and 1.2 s: at most three within any one second.
    assert (stats["max_requests_in_window"], stats["rate_limited_total"]) == (3, 0)
    assert stats["requests_per_second"] is None
