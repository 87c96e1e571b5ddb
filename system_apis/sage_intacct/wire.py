"""Intacct XML on the wire: request envelopes and functions out, parsed responses in.

Responses are parsed with DTDs forbidden: a response carrying an entity declaration (external
entity, entity bomb) is refused, never expanded. A UTF-8 response without any ``<!`` markup
declaration cannot hold a DTD, so it goes to the C parser; any other goes through defusedxml,
which refuses the declarations themselves (its pure-Python parser took about a third of a
44-function answer's parse time).

Requests are written as text by ``xml_text``: a quote's reads are dozens of small functions,
and ElementTree's general serializer (namespaces, encodings, methods) cost more per function
than building and sending the rest of the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from xml.etree.ElementTree import Element, ParseError, SubElement, XMLParser, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

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
    "xml_text",
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
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def _text(value: str) -> str:
    """Character data escaped as ElementTree escapes it."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _attribute(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it (quotes and whitespace kept)."""
    value = _text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def xml_text(element: Element) -> str:
    """``element`` as the XML text ``tostring(element, encoding="unicode")`` writes."""
    out: list[str] = []
    _write(element, out)
    return "".join(out)


def _write(element: Element, out: list[str]) -> None:
    tag = element.tag
    if not isinstance(tag, str) or tag[:1] == "{":  # a comment, or a namespace: the general way
        out.append(tostring(element, encoding="unicode"))
        return
    out.append("<" + tag)
    for name, value in element.attrib.items():
        out.append(f' {name}="{_attribute(value)}"')
    text = element.text
    if text or len(element):
        out.append(">")
        if text:
            out.append(_text(text))
        for child in element:
            _write(child, out)
        out.append(f"</{tag}>")
    else:
        out.append(" />")
    if element.tail:
        out.append(_text(element.tail))


def _field(tag: str, text: str) -> str:
    return f"<{tag}>{_text(text)}</{tag}>" if text else f"<{tag} />"


def _add(parent: Element, tag: str, text: str | None) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def build_request(
    *,
    sender_id: str,
    sender_password: str,
    controlid: str,
    functions: Sequence[tuple[str, Element | str]],
    session_id: str | None = None,
    login: Login | None = None,
    uniqueid: bool = False,
    transaction: bool = False,
) -> bytes:
    """A complete ``<request>`` document, elements in DTD order; a function is an element or
    its text from ``xml_text``."""
    if session_id is not None:
        auth = _field("sessionid", session_id)
    elif login is not None:
        auth = (
            "<login>"
            + _field("userid", login.user_id)
            + _field("companyid", login.company_id)
            + _field("password", login.password)
            + (_field("locationid", login.location_id) if login.location_id else "")
            + "</login>"
        )
    else:
        raise ValueError("a request needs a session id or a login")
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><request><control>',
        _field("senderid", sender_id),
        _field("password", sender_password),
        _field("controlid", controlid),
        _field("uniqueid", "true" if uniqueid else "false"),
        "<dtdversion>3.0</dtdversion><includewhitespace>false</includewhitespace></control>",
        f'<operation transaction="{"true" if transaction else "false"}">',
        f"<authentication>{auth}</authentication><content>",
    ]
    for fn_controlid, fn in functions:
        parts.append(f'<function controlid="{_attribute(fn_controlid)}">')
        parts.append(fn if isinstance(fn, str) else xml_text(fn))
        parts.append("</function>")
    parts.append("</content></operation></request>")
    return "".join(parts).encode("utf-8")


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


def _plain_utf8(body: bytes) -> bool:
    """``body`` is UTF-8 XML without markup declarations (so without a DTD or entities)."""
    if b"<!" in body:
        return False
    head = body[:128].lstrip(b" \t\r\n")
    if head.startswith(b"<?xml"):
        declaration = head[: head.find(b"?>")].lower()
        return b"encoding" not in declaration or b"utf-8" in declaration
    return head[:1] == b"<"


def _parse(body: bytes) -> Element:
    if _plain_utf8(body):
        # The C parser: a body with no markup declaration has no DTD, so no entity to expand.
        parser = XMLParser()  # noqa: S314
        parser.feed(body)
        root: Element = parser.close()
        return root
    forbidding: Element = defused_fromstring(
        body, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return forbidding


def parse_response(body: bytes, *, status_code: int | None = None) -> IntacctResponse:
    """Parse a gateway answer safely; anything that is not an Intacct response is refused."""
    try:
        root = _parse(body)
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
