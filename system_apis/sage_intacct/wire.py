"""Intacct XML on the wire: request envelopes and functions out, parsed responses in.

Responses are parsed with defusedxml with DTDs forbidden: a response carrying an entity
declaration (external entity, entity bomb) is refused, never expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from system_apis.sage_intacct.errors import IntacctErrorDetail, IntacctProtocolError

__all__ = [
    "ContactAddress",
    "FunctionResult",
    "IntacctResponse",
    "Login",
    "SoLine",
    "SoSubtotal",
    "build_request",
    "fn_create_contact",
    "fn_create_sotransaction",
    "fn_get_api_session",
    "fn_query",
    "fn_read_by_query",
    "fn_read_more",
    "parse_response",
    "quote",
    "records",
]

Record = dict[str, str]


@dataclass(frozen=True)
class Login:
    user_id: str
    company_id: str
    password: str = field(repr=False)
    location_id: str | None = None


@dataclass(frozen=True)
class FunctionResult:
    function: str
    controlid: str
    status: str
    data: Element | None
    key: str | None
    errors: tuple[IntacctErrorDetail, ...]

    def attr(self, name: str, default: str = "") -> str:
        return self.data.get(name, default) if self.data is not None else default


@dataclass(frozen=True)
class IntacctResponse:
    control_status: str
    control_errors: tuple[IntacctErrorDetail, ...]
    auth_status: str | None
    auth_errors: tuple[IntacctErrorDetail, ...]
    results: tuple[FunctionResult, ...]


def quote(value: str) -> str:
    """A ``readByQuery`` string literal: single quotes, backslash-escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def intacct_date(value: date) -> str:
    return value.strftime("%m/%d/%Y")


def _add(parent: Element, tag: str, text: str | None) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def build_request(
    *,
    sender_id: str,
    sender_password: str,
    controlid: str,
    functions: Sequence[tuple[str, Element]],
    session_id: str | None = None,
    login: Login | None = None,
    uniqueid: bool = False,
    transaction: bool = False,
) -> bytes:
    """A complete ``<request>`` document, elements in DTD order."""
    root = Element("request")
    control = SubElement(root, "control")
    _add(control, "senderid", sender_id)
    _add(control, "password", sender_password)
    _add(control, "controlid", controlid)
    _add(control, "uniqueid", "true" if uniqueid else "false")
    _add(control, "dtdversion", "3.0")
    _add(control, "includewhitespace", "false")
    operation = SubElement(root, "operation", transaction="true" if transaction else "false")
    auth = SubElement(operation, "authentication")
    if session_id is not None:
        _add(auth, "sessionid", session_id)
    elif login is not None:
        login_el = SubElement(auth, "login")
        _add(login_el, "userid", login.user_id)
        _add(login_el, "companyid", login.company_id)
        _add(login_el, "password", login.password)
        if login.location_id:
            _add(login_el, "locationid", login.location_id)
    else:
        raise ValueError("a request needs a session id or a login")
    content = SubElement(operation, "content")
    for fn_controlid, fn in functions:
        wrapper = SubElement(content, "function", controlid=fn_controlid)
        wrapper.append(fn)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + document


# --- functions --------------------------------------------------------------------------------


def fn_get_api_session(location_id: str | None = None) -> Element:
    fn = Element("getAPISession")
    if location_id:
        _add(fn, "locationid", location_id)
    return fn


def fn_read_by_query(obj: str, fields: Iterable[str], query: str, pagesize: int = 100) -> Element:
    fn = Element("readByQuery")
    _add(fn, "object", obj)
    _add(fn, "fields", ",".join(fields))
    _add(fn, "query", query)
    _add(fn, "pagesize", str(pagesize))
    return fn


def fn_read_more(result_id: str) -> Element:
    fn = Element("readMore")
    _add(fn, "resultId", result_id)
    return fn


def fn_query(
    obj: str,
    select: Iterable[str],
    *,
    filter_: Element | None = None,
    order_by: Sequence[tuple[str, bool]] = (),
    pagesize: int = 1000,
    offset: int = 0,
) -> Element:
    """The newer ``query`` function; ``order_by`` is ``(field, descending)`` pairs."""
    fn = Element("query")
    _add(fn, "object", obj)
    select_el = SubElement(fn, "select")
    for name in select:
        _add(select_el, "field", name)
    if filter_ is not None:
        wrapper = SubElement(fn, "filter")
        wrapper.append(filter_)
    if order_by:
        orderby = SubElement(fn, "orderby")
        for name, descending in order_by:
            order = SubElement(orderby, "order")
            _add(order, "field", name)
            SubElement(order, "descending" if descending else "ascending")
    _add(fn, "pagesize", str(pagesize))
    _add(fn, "offset", str(offset))
    return fn


def filter_op(op: str, field_name: str, *values: str) -> Element:
    """A ``query`` filter condition such as ``equalto`` or ``greaterthan``."""
    node = Element(op)
    _add(node, "field", field_name)
    for value in values:
        _add(node, "value", value)
    return node


def filter_all(*conditions: Element) -> Element:
    if len(conditions) == 1:
        return conditions[0]
    node = Element("and")
    node.extend(conditions)
    return node


def _date_el(parent: Element, tag: str, value: date) -> None:
    el = SubElement(parent, tag)
    _add(el, "year", str(value.year))
    _add(el, "month", str(value.month))
    _add(el, "day", str(value.day))


@dataclass(frozen=True)
class SoLine:
    item_id: str
    quantity: str
    unit: str
    warehouse_id: str | None = None
    price: str | None = None
    location_id: str | None = None
    department_id: str | None = None
    project_id: str | None = None
    class_id: str | None = None
    memo: str | None = None
    taxable: bool | None = None


@dataclass(frozen=True)
class SoSubtotal:
    """A subtotal of the transaction definition (matched by ``description``), e.g. its tax."""

    description: str
    total: str


def fn_create_sotransaction(
    *,
    customer_id: str,
    date_created: date,
    reference_no: str,
    currency: str,
    lines: Sequence[SoLine],
    date_due: date | None = None,
    message: str | None = None,
    ship_to_contact: str | None = None,
    bill_to_contact: str | None = None,
    subtotals: Sequence[SoSubtotal] = (),
) -> Element:
    """Legacy ``create_sotransaction`` for a "Sales Order", elements in DTD order.

    ``shipto``/``billto`` name existing contacts (``contactname``); a subtotal's amount goes
    in both ``total`` and ``absval`` (an amount, not a percentage)."""
    fn = Element("create_sotransaction")
    _add(fn, "transactiontype", "Sales Order")
    _date_el(fn, "datecreated", date_created)
    _add(fn, "customerid", customer_id)
    _add(fn, "referenceno", reference_no)
    if date_due is not None:
        _date_el(fn, "datedue", date_due)
    if message:
        _add(fn, "message", message)
    if ship_to_contact:
        _add(SubElement(fn, "shipto"), "contactname", ship_to_contact)
    if bill_to_contact:
        _add(SubElement(fn, "billto"), "contactname", bill_to_contact)
    _add(fn, "currency", currency)
    items = SubElement(fn, "sotransitems")
    for line in lines:
        item = SubElement(items, "sotransitem")
        _add(item, "itemid", line.item_id)
        if line.taxable is not None:
            _add(item, "taxable", "true" if line.taxable else "false")
        if line.warehouse_id:
            _add(item, "warehouseid", line.warehouse_id)
        _add(item, "quantity", line.quantity)
        _add(item, "unit", line.unit)
        if line.price is not None:
            _add(item, "price", line.price)
        if line.location_id:
            _add(item, "locationid", line.location_id)
        if line.department_id:
            _add(item, "departmentid", line.department_id)
        if line.memo:
            _add(item, "memo", line.memo)
        if line.project_id:
            _add(item, "projectid", line.project_id)
        if line.class_id:
            _add(item, "classid", line.class_id)
    if subtotals:
        box = SubElement(fn, "subtotals")
        for subtotal in subtotals:
            entry = SubElement(box, "subtotal")
            _add(entry, "description", subtotal.description)
            _add(entry, "total", subtotal.total)
            _add(entry, "absval", subtotal.total)
    return fn


@dataclass(frozen=True)
class ContactAddress:
    contact_name: str
    print_as: str
    company_name: str | None = None
    lines: tuple[str, ...] = ()
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country_code: str | None = None


def fn_create_contact(contact: ContactAddress) -> Element:
    """``<create><CONTACT>`` with its mail address (``ADDRESS1``-``ADDRESS3``)."""
    fn = Element("create")
    body = SubElement(fn, "CONTACT")
    _add(body, "CONTACTNAME", contact.contact_name)
    _add(body, "PRINTAS", contact.print_as)
    if contact.company_name:
        _add(body, "COMPANYNAME", contact.company_name)
    mail = SubElement(body, "MAILADDRESS")
    for n, line in enumerate(contact.lines[:3], start=1):
        _add(mail, f"ADDRESS{n}", line)
    for tag, value in (
        ("CITY", contact.city),
        ("STATE", contact.state),
        ("ZIP", contact.zip),
        ("COUNTRYCODE", contact.country_code),
    ):
        if value:
            _add(mail, tag, value)
    return fn


# --- responses --------------------------------------------------------------------------------


def _errors(parent: Element | None) -> tuple[IntacctErrorDetail, ...]:
    if parent is None:
        return ()
    box = parent.find("errormessage")
    if box is None:
        return ()
    return tuple(
        IntacctErrorDetail(
            errorno=(err.findtext("errorno") or "").strip(),
            description=(err.findtext("description") or "").strip(),
            description2=(err.findtext("description2") or "").strip(),
            correction=(err.findtext("correction") or "").strip(),
        )
        for err in box.findall("error")
    )


def parse_response(body: bytes, *, status_code: int | None = None) -> IntacctResponse:
    """Parse a gateway answer safely; anything that is not an Intacct response is refused."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise IntacctProtocolError(
            f"refused an unsafe XML response ({type(exc).__name__})",
            status_code=status_code,
            retryable=False,
        ) from exc
    except (ParseError, ValueError) as exc:
        raise IntacctProtocolError(
            f"response is not well-formed XML: {exc}", status_code=status_code
        ) from exc
    if root.tag != "response":
        raise IntacctProtocolError(f"unexpected XML root <{root.tag}>", status_code=status_code)
    control = root.find("control")
    operation = root.find("operation")
    auth = operation.find("authentication") if operation is not None else None
    results = tuple(
        FunctionResult(
            function=(res.findtext("function") or "").strip(),
            controlid=(res.findtext("controlid") or "").strip(),
            status=(res.findtext("status") or "").strip(),
            data=res.find("data"),
            key=(res.findtext("key") or "").strip() or None,
            errors=_errors(res),
        )
        for res in (operation.findall("result") if operation is not None else [])
    )
    return IntacctResponse(
        control_status=(control.findtext("status") or "").strip() if control is not None else "",
        control_errors=_errors(root),
        auth_status=(auth.findtext("status") or "").strip() if auth is not None else None,
        auth_errors=_errors(operation),
        results=results,
    )


def records(data: Element | None) -> list[Record]:
    """The records inside ``<data>``, each a flat ``{FIELD: text}`` mapping."""
    if data is None:
        return []
    return [{child.tag: (child.text or "") for child in rec} for rec in data]
