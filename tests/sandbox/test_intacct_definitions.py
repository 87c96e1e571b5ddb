"""Every emulated Intacct object answers its whole standard field list, the metadata functions
describe exactly what queries return, and a field that does not exist is refused."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from xml.etree.ElementTree import Element, fromstring

import httpx
import pytest

from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as CRED
from sandbox.intacct import IntacctEmulator
from sandbox.intacct.definitions import definitions

OBJECTS = sorted(definitions())
URL = "/ia/xml/xmlgw.phtml"


@pytest.fixture(scope="module")
def emulator() -> IntacctEmulator:
    return IntacctEmulator(public_url="http://intacct.test")


async def call(emulator: IntacctEmulator, function: str) -> Element:
    """One function, signed in at top level; its ``<result>``."""
    body = (
        "<request><control>"
        f"<senderid>{CRED.sender_id}</senderid><password>{CRED.sender_password}</password>"
        "<controlid>defs</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion>"
        "</control><operation><authentication><login>"
        f"<userid>{CRED.user_id}</userid><companyid>{CRED.company_id}</companyid>"
        f"<password>{CRED.user_password}</password></login></authentication>"
        f'<content><function controlid="f1">{function}</function></content>'
        "</operation></request>"
    )
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intacct.test") as http:
        response = await http.post(URL, content=body, headers={"content-type": "application/xml"})
    assert response.status_code == 200
    result = fromstring(response.content).find("operation/result")
    assert result is not None
    return result


def data_of(result: Element) -> Element:
    assert result.findtext("status") == "success", result.findtext(
        "errormessage/error/description2"
    )
    data = result.find("data")
    assert data is not None
    return data


def field_names(obj: str) -> list[str]:
    return list(definitions()[obj].fields)


def assert_records_hold(records: list[Element], names: list[str]) -> None:
    assert records, "the seed holds records of every object"
    for record in records:
        assert [child.tag for child in record] == names


@pytest.mark.parametrize("obj", OBJECTS)
async def test_read_by_query_selecting_every_field_returns_each(
    emulator: IntacctEmulator, obj: str
) -> None:
    names = field_names(obj)
    data = data_of(
        await call(
            emulator,
            f"<readByQuery><object>{obj}</object><fields>{','.join(names)}</fields>"
            "<query></query><pagesize>5</pagesize></readByQuery>",
        )
    )
    records = list(data)
    assert all(r.tag == obj.lower() for r in records)
    assert_records_hold(records, names)


@pytest.mark.parametrize("obj", OBJECTS)
async def test_query_selecting_every_field_returns_each(
    emulator: IntacctEmulator, obj: str
) -> None:
    queryable = [n for n in field_names(obj) if n not in definitions()[obj].not_queryable]
    select = "".join(f"<field>{n}</field>" for n in queryable)
    data = data_of(
        await call(
            emulator,
            f"<query><object>{obj}</object><select>{select}</select>"
            "<options><showprivate>true</showprivate></options><pagesize>3</pagesize></query>",
        )
    )
    assert_records_hold([r for r in data if r.tag == obj], queryable)


@pytest.mark.parametrize("obj", OBJECTS)
async def test_read_and_read_by_name_return_every_field(
    emulator: IntacctEmulator, obj: str
) -> None:
    definition = definitions()[obj]
    first = emulator.store.tables[obj][0]
    data = data_of(
        await call(emulator, f"<read><object>{obj}</object><keys>{first['RECORDNO']}</keys></read>")
    )
    assert_records_hold(list(data), field_names(obj))
    assert data[0].findtext("RECORDNO") == first["RECORDNO"]
    if definition.key:
        data = data_of(
            await call(
                emulator,
                f"<readByName><object>{obj}</object><keys>{first[definition.key]}</keys>"
                "<fields>*</fields></readByName>",
            )
        )
        assert data[0].findtext(definition.key) == first[definition.key]


@pytest.mark.parametrize("obj", OBJECTS)
async def test_lookup_and_inspect_describe_what_queries_return(
    emulator: IntacctEmulator, obj: str
) -> None:
    looked = data_of(await call(emulator, f"<lookup><object>{obj}</object></lookup>"))
    type_el = looked.find("Type")
    assert type_el is not None
    assert type_el.get("Name") == obj
    lookup_fields = [(f.findtext("ID"), f.findtext("DATATYPE")) for f in looked.iter("Field")]
    inspected = data_of(
        await call(emulator, f'<inspect detail="1"><object>{obj}</object></inspect>')
    )
    inspect_fields = [(f.findtext("Name"), f.findtext("dataType")) for f in inspected.iter("Field")]
    everything = data_of(
        await call(
            emulator,
            f"<readByQuery><object>{obj}</object><fields>*</fields><query></query>"
            "<pagesize>1</pagesize></readByQuery>",
        )
    )
    returned = [child.tag for child in everything[0]]
    assert [name for name, _ in lookup_fields] == returned
    assert inspect_fields == lookup_fields
    summary = data_of(await call(emulator, f"<inspect><object>{obj}</object></inspect>"))
    assert [f.text for f in summary.iter("Field")] == returned


@pytest.mark.parametrize("obj", OBJECTS)
def test_seeded_values_have_their_declared_types(emulator: IntacctEmulator, obj: str) -> None:
    for record in emulator.store.tables[obj]:
        for f in definitions()[obj].fields.values():
            value = record.get(f.name, "")
            if not value:
                continue
            if f.datatype in ("INTEGER", "DECIMAL", "CURRENCY", "PERCENT"):
                Decimal(value)
            elif f.datatype == "BOOLEAN":
                assert value in ("true", "false"), (f.name, value)
            elif f.datatype == "DATE":
                datetime.strptime(value, "%m/%d/%Y")
            elif f.datatype == "TIMESTAMP":
                datetime.strptime(value, "%m/%d/%Y %H:%M:%S")
            elif f.valid_values:
                assert value in f.valid_values, (f.name, value)


@pytest.mark.parametrize("obj", OBJECTS)
async def test_a_field_that_does_not_exist_is_refused(emulator: IntacctEmulator, obj: str) -> None:
    legacy = await call(
        emulator,
        f"<readByQuery><object>{obj}</object><fields>RECORDNO,NOSUCHFIELD</fields>"
        "<query></query><pagesize>1</pagesize></readByQuery>",
    )
    assert legacy.findtext("status") == "failure"
    assert "NOSUCHFIELD" in (legacy.findtext("errormessage/error/description2") or "")
    newer = await call(
        emulator,
        f"<query><object>{obj}</object><select><field>RECORDNO</field>"
        "<field>NOSUCHFIELD</field></select></query>",
    )
    assert newer.findtext("status") == "failure"
    assert newer.findtext("errormessage/error/errorno") == "XL03000010"
    assert (newer.findtext("errormessage/error/description2") or "").startswith(
        f"Field requested is not valid: {obj.lower()}.NOSUCHFIELD [Support ID: "
    )


async def test_query_refuses_a_field_it_cannot_read_that_read_by_query_returns(
    emulator: IntacctEmulator,
) -> None:
    refused = await call(
        emulator,
        "<query><object>ITEM</object><select><field>ITEMID</field><field>BASEUOM</field>"
        "</select></query>",
    )
    assert refused.findtext("errormessage/error/errorno") == "XL03000006"
    assert "cannot be queried: [ item: [BASEUOM] ]" in (
        refused.findtext("errormessage/error/description2") or ""
    )
    data = data_of(
        await call(
            emulator,
            "<readByQuery><object>ITEM</object><fields>ITEMID,BASEUOM</fields>"
            "<query>ITEMID = 'ITM-0001'</query></readByQuery>",
        )
    )
    assert data[0].findtext("BASEUOM") == "EA"


@pytest.mark.parametrize("obj", ["CUSTOMER", "SODOCUMENT", "ARINVOICE", "ARPYMT"])
async def test_changes_since_a_moment_are_read_by_whenmodified(
    emulator: IntacctEmulator, obj: str
) -> None:
    stamps = sorted(
        datetime.strptime(r["WHENMODIFIED"], "%m/%d/%Y %H:%M:%S")
        for r in emulator.store.tables[obj]
    )
    since = stamps[len(stamps) // 2]
    data = data_of(
        await call(
            emulator,
            f"<query><object>{obj}</object><select><field>RECORDNO</field>"
            "<field>WHENMODIFIED</field></select><filter><greaterthanorequalto>"
            f"<field>WHENMODIFIED</field><value>{since:%m/%d/%Y %H:%M:%S}</value>"
            "</greaterthanorequalto></filter><orderby><order><field>WHENMODIFIED</field>"
            "<ascending/></order></orderby><pagesize>2000</pagesize></query>",
        )
    )
    expected = sum(1 for s in stamps if s >= since)
    assert data.get("totalcount") == str(expected)
    returned = [
        datetime.strptime(r.findtext("WHENMODIFIED") or "", "%m/%d/%Y %H:%M:%S") for r in data
    ]
    assert returned == sorted(returned)
    assert all(s >= since for s in returned)


async def test_inspect_lists_every_object(emulator: IntacctEmulator) -> None:
    data = data_of(await call(emulator, "<inspect><object>*</object></inspect>"))
    assert sorted(t.get("typename") or "" for t in data.findall("Type")) == OBJECTS


async def test_lookup_of_an_unknown_object_is_refused(emulator: IntacctEmulator) -> None:
    result = await call(emulator, "<lookup><object>NOSUCHOBJECT</object></lookup>")
    assert result.findtext("status") == "failure"
    assert result.findtext("errormessage/error/description") == (
        "Object definition NOSUCHOBJECT not found"
    )


async def test_docparid_narrows_a_document_read_to_one_transaction_definition(
    emulator: IntacctEmulator,
) -> None:
    orders = len(emulator.store.tables["SODOCUMENT"])
    for docparid, expected in (("Sales Order", orders), ("Sales Quote", 0)):
        data = data_of(
            await call(
                emulator,
                "<readByQuery><object>SODOCUMENT</object><fields>DOCID</fields><query></query>"
                f"<docparid>{docparid}</docparid><pagesize>1000</pagesize></readByQuery>",
            )
        )
        assert data.get("totalcount") == str(expected)


async def test_query_compares_text_case_insensitively_when_asked(
    emulator: IntacctEmulator,
) -> None:
    def request(option: str) -> str:
        return (
            "<query><object>CUSTOMER</object><select><field>CUSTOMERID</field></select>"
            "<filter><equalto><field>CUSTOMERID</field><value>cust-de-001</value></equalto>"
            f"</filter><options><caseinsensitive>{option}</caseinsensitive></options></query>"
        )

    exact = data_of(await call(emulator, request("false")))
    folded = data_of(await call(emulator, request("true")))
    assert exact.get("totalcount") == "0"
    assert [r.findtext("CUSTOMERID") for r in folded] == ["CUST-DE-001"]
