"""Every emulated M3 transaction answers with its real output fields, takes only its real input
fields, and MRS001MI / ``;metadata=true`` describe exactly that, from the same definitions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from sandbox.infor import InforEmulator
from sandbox.infor.programs import MiTransaction, programs
from sandbox.infor.registry import TRANSACTIONS
from sandbox.infor.transactions import Session

BASE = "http://m3.test"
Inputs = Callable[[InforEmulator], dict[str, str]]


def _fixed(**values: str) -> Inputs:
    return lambda _emulator: values


def _invoice(em: InforEmulator) -> dict[str, str]:
    invoice = em.state.data.invoices[0]
    return {"YEA4": str(invoice.yea4), "IVNO": str(invoice.ivno)}


def _delivery(em: InforEmulator) -> dict[str, str]:
    delivery = em.state.data.deliveries[0]
    return {"ORNO": delivery.orno, "DLIX": str(delivery.dlix), "WHLO": delivery.whlo, "TEPY": "30"}


def _batch(em: InforEmulator, *, with_line: bool) -> str:
    session = Session(cono="100", divi="US1", user="T")
    spec = TRANSACTIONS["OIS100MI"]
    orno = spec["AddBatchHead"].handler(em.state, session, {"CUNO": "US0001"})[0]["ORNO"]
    if with_line:
        spec["AddBatchLine"].handler(
            em.state, session, {"ORNO": orno, "ITNO": "A1001", "ORQT": "1"}
        )
    return orno


_SERIAL = iter(range(1, 1_000_000))


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_SERIAL):05d}"


def _new_contact(em: InforEmulator) -> str:
    cnpe = _unique("SMP-")
    TRANSACTIONS["CRS618MI"]["Add"].handler(
        em.state, Session(cono="100", divi="US1", user="T"),
        {"CNPE": cnpe, "STAT": "20", "TX50": "Sample Person", "ERTP": "1", "EMRE": "US0001"},
    )  # fmt: skip
    return cnpe


SAMPLES: dict[str, Inputs] = {
    "CRS610MI/Add": lambda _em: {
        "CUTM": "TUSD",
        "CUNO": _unique("N"),
        "CUNM": "Sample Co",
        "CUA1": "1 Sample Road",
        "PONO": "60699",
        "TOWN": "Chicago",
        "CSCD": "US",
        "STAT": "20",
    },
    "CRS610MI/ChgBasicData": _fixed(CUNO="US0003", PHNO="+1 555 0199"),
    "CRS610MI/ChgFinancial": _fixed(CUNO="US0003", VRNO="US000000003"),
    "CRS610MI/GetOrderInfo": _fixed(CUNO="US0001"),
    "CRS610MI/ChgOrderInfo": _fixed(CUNO="US0003", TEPY="30"),
    "CRS610MI/SearchCustomer": _fixed(SQRY="PONO:60601"),
    "CRS610MI/AddAddress": lambda _em: {
        "CUNO": "US0001",
        "ADRT": "1",
        "ADID": _unique("D")[:6],
        "CUA1": "2 Dock Road",
        "PONO": "60601",
        "TOWN": "Chicago",
        "CSCD": "US",
    },
    "CRS610MI/ChgAddress": _fixed(
        CUNO="US0004", ADRT="1", ADID="DOCK1", CUA1="4 Dock Road", CSCD="US"
    ),
    "CRS610MI/GetAddress": _fixed(CUNO="US0004", ADRT="3", ADID="AP"),
    "CRS610MI/LstAddresses": _fixed(CUNO="US0004"),
    "CRS618MI/Add": lambda _em: {"CNPE": _unique("SMP-"), "STAT": "20", "TX50": "Sample Person"},
    "CRS618MI/Upd": lambda em: {"CNPE": _new_contact(em), "JTIT": "Buyer"},
    "CRS618MI/Get": lambda em: {"CNPE": _new_contact(em)},
    "CRS618MI/Lst": _fixed(),
    "CMS055MI/AddConnection": lambda em: {"CUNO": "US0002", "CNPE": _new_contact(em)},
    "CMS055MI/LstByCustomer": lambda em: {"CUNO": em.state.data.connections[0].cuno},
    "CRS630MI/LstAccountID": _fixed(AITP="2", DIVI="US1"),
    "OIS017MI/LstPriceList": _fixed(PRRF="LUSD", CUCD="USD"),
    "OIS017MI/LstBasePrice": _fixed(PRRF="LUSD", CUCD="USD", FVDT="20200101"),
    "OIS017MI/LstGradSlsPrc": _fixed(PRRF="LUSD", CUCD="USD", FVDT="20200101", ITNO="A1001"),
    "MNS150MI/GetUserData": _fixed(),
    "CRS610MI/GetBasicData": _fixed(CUNO="US0001"),
    "CRS610MI/GetFinancial": _fixed(CUNO="US0001"),
    "CRS610MI/LstByNumber": _fixed(),
    "MMS200MI/GetItmBasic": _fixed(ITNO="A1001"),
    "MMS200MI/GetItmWhsBal": _fixed(WHLO="WUS", ITNO="A1001"),
    "MMS200MI/LstItmWhsByItm": _fixed(ITNO="A1001"),
    "MMS200MI/LstItmByChgDate": _fixed(FLMD="20240101"),
    "MMS015MI/Lst": _fixed(ITNO="A1001"),
    "MMS015MI/Get": _fixed(ITNO="A1001", AUTP="1", ALUN="BOX"),
    "OIS320MI/GetPriceLine": _fixed(CUNO="US0001", ITNO="A1001"),
    "OIS100MI/GetATP": _fixed(ITNO="A1001", WHLO="WUS"),
    "OIS100MI/AddBatchHead": _fixed(CUNO="US0001", CUOR="PO-1"),
    "OIS100MI/AddBatchLine": lambda em: {
        "ORNO": _batch(em, with_line=False),
        "ITNO": "A1002",
        "ORQT": "3",
    },
    "OIS100MI/AddBatchAddress": lambda em: {
        "ORNO": _batch(em, with_line=False),
        "ADRT": "1",
        "CUNM": "Dock 7",
        "CUA1": "7 Pier Road",
        "TOWN": "Chicago",
        "CSCD": "US",
    },
    "OIS100MI/AddBatchText": lambda em: {
        "ORNO": _batch(em, with_line=False),
        "TYTR": "1",
        "TX60": "Deliver to the rear entrance",
    },
    "OIS100MI/Confirm": lambda em: {"ORNO": _batch(em, with_line=True)},
    "OIS100MI/GetHead": _fixed(ORNO="1000000001"),
    "OIS100MI/LstLine": _fixed(ORNO="1000000001"),
    "OIS100MI/LstHead": _fixed(CUNO="US0002"),
    "OIS100MI/SearchHead": _fixed(SQRY="CUNO:US0002"),
    "OIS120MI/LstCOStopByCUOR": _fixed(CUOR="SEED-PO-0001"),
    "MWS411MI/LstDelLnByOrd": _fixed(RORC="3", RIDN="1000000001"),
    "OIS350MI/LstInvHeadByCo": _fixed(ORNO="1000000001"),
    "OIS350MI/GetInvHead": _invoice,
    "OIS350MI/LstInvLine": _invoice,
    "OIS350MI/LstDelLine": _delivery,
    "OIS350MI/GetDelHead": _delivery,
    "EXPORTMI/Select": _fixed(QERY="OAORNO, OALMTS from OOHEAD where OAORST >= '22'", SEPC=";"),
    "MRS001MI/LstPrograms": _fixed(),
    "MRS001MI/GetProgram": _fixed(MINM="OIS100MI"),
    "MRS001MI/LstTransactions": _fixed(MINM="OIS100MI"),
    "MRS001MI/GetTransaction": _fixed(MINM="OIS100MI", TRNM="AddBatchHead"),
    "MRS001MI/LstFields": _fixed(MINM="OIS100MI", TRNM="AddBatchHead", TRTP="I"),
}
DEFINED = sorted(f"{p.name}/{t}" for p in programs().values() for t in p.transactions)


@pytest.fixture(scope="module")
def emulator() -> InforEmulator:
    return InforEmulator(public_url=BASE)


@pytest.fixture
async def http(emulator: InforEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as client:
        yield client


async def _token(http: httpx.AsyncClient, em: InforEmulator) -> str:
    doc = em.ionapi_document()
    form = {
        "grant_type": "password",
        "username": doc["saak"],
        "password": doc["sask"],
        "client_id": doc["ci"],
        "client_secret": doc["cs"],
    }
    response = await http.post(doc["pu"] + doc["ot"], data=form)
    return str(response.json()["access_token"])


async def _execute(
    http: httpx.AsyncClient, em: InforEmulator, name: str, inputs: dict[str, str], matrix: str = ""
) -> httpx.Response:
    url = f"{BASE}/{em.tenant}/M3/m3api-rest/v2/execute/{name}{matrix}?{urlencode(inputs)}"
    token = await _token(http, em)
    return await http.get(url, headers={"Authorization": f"Bearer {token}"})


def _definition(name: str) -> MiTransaction:
    program, transaction = name.split("/")
    return programs()[program].transactions[transaction]


def test_every_defined_transaction_is_emulated_and_has_a_sample() -> None:
    emulated = sorted(f"{p}/{t}" for p, txs in TRANSACTIONS.items() for t in txs)
    assert emulated == DEFINED
    assert sorted(SAMPLES) == DEFINED


@pytest.mark.parametrize("name", DEFINED)
async def test_a_transaction_answers_every_output_field_as_its_metadata_says(
    http: httpx.AsyncClient, emulator: InforEmulator, name: str
) -> None:
    definition = _definition(name)
    response = await _execute(
        http, emulator, name, SAMPLES[name](emulator), ";metadata=true;maxrecs=5"
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    if not definition.outputs:  # a change that answers no fields has no fields to answer
        assert all(record == {} for record in result["records"])
        return
    assert result["records"], "the seed answers every sample with at least one record"
    names = [f.name for f in definition.outputs]
    for record in result["records"]:
        assert list(record) == names
        for f in definition.outputs:
            value = record[f.name]
            if f.type == "A":
                assert len(value) >= f.length
            else:
                assert value == value.strip()
    assert result["metadata"]["field"] == [
        {"@name": f.name, "@type": f.type, "@length": f.length, "@description": f.description}
        for f in definition.outputs
    ]


@pytest.mark.parametrize("name", DEFINED)
def test_a_handler_produces_only_fields_its_program_answers(
    emulator: InforEmulator, name: str
) -> None:
    """Handlers share record builders within a program (the answer keeps only the
    transaction's own outputs), but never invent a field the program does not have."""
    program, transaction = name.split("/")
    spec = TRANSACTIONS[program][transaction]
    session = Session(cono="100", divi="US1", user="T")
    records = spec.handler(emulator.state, session, SAMPLES[name](emulator))
    known = {f.name for t in programs()[program].transactions.values() for f in t.outputs}
    assert records or not spec.definition.outputs
    assert all(set(r) <= known for r in records), [sorted(set(r) - known) for r in records]


@pytest.mark.parametrize("name", DEFINED)
async def test_mrs001mi_describes_the_fields_the_transaction_takes_and_answers(
    http: httpx.AsyncClient, emulator: InforEmulator, name: str
) -> None:
    program, transaction = name.split("/")
    definition = _definition(name)
    described: dict[str, list[dict[str, Any]]] = {}
    for direction in ("I", "O"):
        response = await _execute(
            http,
            emulator,
            "MRS001MI/LstFields",
            {"MINM": program, "TRNM": transaction, "TRTP": direction},
            ";maxrecs=0",
        )
        described[direction] = [
            {k: v.strip() for k, v in r.items()} for r in response.json()["results"][0]["records"]
        ]
    assert [(r["FLNM"], r["TYPE"], int(r["LENG"]), r["MAND"]) for r in described["I"]] == [
        (f.name, f.type, f.length, "1" if f.mandatory else "0") for f in definition.inputs
    ]
    assert [r["FLNM"] for r in described["O"]] == [f.name for f in definition.outputs]
    listed = await _execute(http, emulator, "MRS001MI/LstTransactions", {"MINM": program})
    simu = {r["TRNM"].strip(): r["SIMU"].strip() for r in listed.json()["results"][0]["records"]}
    assert simu[transaction] == ("M" if definition.multiple else "S")


@pytest.mark.parametrize("name", DEFINED)
async def test_an_input_field_the_transaction_does_not_have_is_refused(
    http: httpx.AsyncClient, emulator: InforEmulator, name: str
) -> None:
    inputs = {**SAMPLES[name](emulator), "ZZZZ": "1"}
    response = await _execute(http, emulator, name, inputs)
    result = response.json()["results"][0]
    assert response.status_code == 400
    assert (result["errorCode"], result["errorField"]) == ("XIN0001", "ZZZZ")


@pytest.mark.parametrize(
    "name",
    [n for n in DEFINED if any(f.mandatory and f.name != "CONO" for f in _definition(n).inputs)],
)
async def test_a_missing_mandatory_input_is_refused(
    http: httpx.AsyncClient, emulator: InforEmulator, name: str
) -> None:
    first = next(f for f in _definition(name).inputs if f.mandatory and f.name != "CONO")
    inputs = {k: v for k, v in SAMPLES[name](emulator).items() if k != first.name}
    result = (await _execute(http, emulator, name, inputs)).json()["results"][0]
    assert (result["errorCode"], result["errorField"]) == (f"W{first.name[:2]}0102", first.name)


async def test_customers_changed_since_a_timestamp_are_listed(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    stamps = sorted(
        (c.changed_at.strftime("%Y%m%d%H%M%S") + "000", c.cuno)
        for c in emulator.state.data.customers.values()
    )
    since = stamps[len(stamps) // 2][0]
    response = await _execute(http, emulator, "CRS610MI/LstByNumber", {"LMTS": since}, ";maxrecs=0")
    listed = sorted(r["CUNO"].strip() for r in response.json()["results"][0]["records"])
    assert listed == sorted(cuno for stamp, cuno in stamps if stamp >= since)


async def test_an_order_is_found_by_the_customers_order_number(
    http: httpx.AsyncClient, emulator: InforEmulator
) -> None:
    response = await _execute(
        http, emulator, "OIS120MI/LstCOStopByCUOR", {"CUOR": "SEED-PO-0003", "CUNO": "CA0002"}
    )
    records = response.json()["results"][0]["records"]
    assert [(r["ORNO"].strip(), r["CUNO"].strip()) for r in records] == [("1000000003", "CA0002")]
