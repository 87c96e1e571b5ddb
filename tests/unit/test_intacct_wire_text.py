"""Intacct requests are written by ``xml_text``/``build_request`` as text: the same XML that
ElementTree writes, escaping included, and parsed back to the same values."""

from __future__ import annotations

from datetime import date
from xml.etree.ElementTree import Element, SubElement, fromstring, tostring

import pytest

from system_apis.sage_intacct.wire import (
    Login,
    SoLine,
    build_request,
    filter_all,
    filter_op,
    fn_create_sotransaction,
    fn_query,
    fn_read_by_query,
    intacct_date,
    parse_response,
    xml_text,
)

AWKWARD = "a & b < c > d \"e\" 'f'\ttab\nline\rret é 漢"


def _functions() -> list[Element]:
    odd = Element("update", {"key": AWKWARD, "plain": "x"})
    SubElement(odd, "EMPTY")
    SubElement(odd, "BLANK").text = ""
    child = SubElement(odd, "NOTE")
    child.text = AWKWARD
    child.tail = AWKWARD
    return [
        fn_read_by_query("ITEM", ("ITEMID", "NAME"), f"ITEMID = '{AWKWARD}'", 100),
        fn_query(
            "SODOCUMENT",
            ("DOCNO",),
            filter_=filter_all(
                filter_op("equalto", "CUSTOMERID", AWKWARD), filter_op("isnull", "X")
            ),
            order_by=(("WHENMODIFIED", True), ("DOCNO", False)),
        ),
        fn_create_sotransaction(
            customer_id="C&1",
            date_created=date(2026, 1, 2),
            reference_no="<ref>",
            currency="EUR",
            lines=[SoLine(item_id="I1", quantity="2", unit="Each", memo=AWKWARD)],
        ),
        odd,
    ]


@pytest.mark.parametrize("fn", _functions(), ids=lambda fn: fn.tag)
def test_a_function_is_written_as_elementtree_writes_it(fn: Element) -> None:
    assert xml_text(fn) == tostring(fn, encoding="unicode")


def test_a_request_reads_back_to_what_was_put_in() -> None:
    fns = _functions()
    body = build_request(
        sender_id="sender&",
        sender_password=AWKWARD,
        controlid='ctl"1',
        functions=[("f-1", fns[0]), ("f-2", xml_text(fns[1]))],
        login=Login("user<", "company>", AWKWARD, location_id="DE01"),
        uniqueid=True,
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><request>')
    root = fromstring(body)
    control = root.find("control")
    assert control is not None
    assert [c.tag for c in control] == [
        "senderid", "password", "controlid", "uniqueid", "dtdversion", "includewhitespace"
    ]  # fmt: skip
    assert control.findtext("senderid") == "sender&"
    assert control.findtext("password") == AWKWARD.replace("\r", "\n")  # XML normalises CR
    assert control.findtext("controlid") == 'ctl"1'
    assert control.findtext("uniqueid") == "true"
    login = root.find("operation/authentication/login")
    assert login is not None
    assert [login.findtext(t) for t in ("userid", "companyid", "locationid")] == [
        "user<", "company>", "DE01"
    ]  # fmt: skip
    functions = root.findall("operation/content/function")
    assert [f.get("controlid") for f in functions] == ["f-1", "f-2"]
    assert functions[0].findtext("readByQuery/query") == f"ITEMID = '{AWKWARD}'".replace("\r", "\n")
    assert functions[1].findtext("query/filter/and/equalto/value") == AWKWARD.replace("\r", "\n")


def test_a_session_request_names_the_session() -> None:
    body = build_request(
        sender_id="s", sender_password="p", controlid="c", functions=[], session_id="abc&"
    )
    root = fromstring(body)
    assert root.findtext("operation/authentication/sessionid") == "abc&"
    assert root.find("operation").get("transaction") == "false"  # type: ignore[union-attr]


def test_dates_are_month_day_year() -> None:
    assert intacct_date(date(2026, 3, 4)) == "03/04/2026"
    assert intacct_date(date(987, 12, 31)) == "12/31/0987"


def test_responses_in_utf8_and_utf16_read_the_same() -> None:
    text = (
        '<?xml version="1.0" encoding="{enc}"?><response><control><status>success</status>'
        "</control><operation><authentication><status>success</status></authentication>"
        "<result><status>success</status><function>readByQuery</function>"
        "<controlid>f-1</controlid><data><ITEM><NAME>é &amp; 漢</NAME></ITEM></data></result>"
        "</operation></response>"
    )
    utf8 = parse_response(text.format(enc="UTF-8").encode("utf-8"))
    utf16 = parse_response(text.format(enc="UTF-16").encode("utf-16"))
    for parsed in (utf8, utf16):
        assert parsed.control_status == "success"
        data = parsed.results[0].data
        assert data is not None
        assert data.findtext("ITEM/NAME") == "é & 漢"
