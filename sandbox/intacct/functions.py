"""The functions inside ``<content>``: reads, queries, creates, updates and sales orders.

Each handler takes the caller's scope and the function's element and returns the elements
that go into its ``<result>`` after ``<controlid>``, or raises ``IntacctFailure``.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar
from xml.etree.ElementTree import Element, SubElement

from sandbox.intacct import customers
from sandbox.intacct.errors import (
    DUPLICATE_RECORD,
    QUERY_INVALID_FIELD,
    QUERY_NOT_QUERYABLE,
    REQUIRED_DIMENSION,
    ErrorEntry,
    IntacctFailure,
    bad_request,
    business,
    support_id,
)
from sandbox.intacct.metadata import METADATA_HANDLERS
from sandbox.intacct.objects import DEFINITIONS, ENTITY_OWNED, NAME_FIELDS, OBJECTS
from sandbox.intacct.query import (
    Hint,
    QueryError,
    UnknownFieldError,
    compile_filter,
    compile_query_hinted,
    sort_key,
)
from sandbox.intacct.seed import Seed, fmt_date, fmt_datetime, fmt_num

__all__ = ["HANDLERS", "Scope", "Store"]

Record = dict[str, str]
_T = TypeVar("_T")
_MAX_RESULT_SETS = 200
USER_RECORDNO = "2"
"""The web services user's own record number (what CREATEDBY/MODIFIEDBY hold)."""


@dataclass(frozen=True)
class Scope:
    """Who is calling: the company and, when the session is entity-scoped, the entity."""

    company_id: str
    user_id: str
    entity: str | None
    today: date
    now: datetime | None = None
    """The emulator's clock at the request (modification stamps); None: ``today`` 09:00."""


@dataclass
class _ResultSet:
    obj: str
    fields: list[str]
    remaining: list[Record]
    pagesize: int
    entity: str | None


@dataclass
class _ReadView:
    """What one read-only request has worked out: per object and entity, the visible rows;
    per object, entity and field, those rows by the field's value (with their positions)."""

    visible: dict[tuple[str, str | None], list[Record]] = dataclasses.field(default_factory=dict)
    indexes: dict[tuple[str, str | None, str], dict[str, list[tuple[int, Record]]]] = (
        dataclasses.field(default_factory=dict)
    )


class Store:
    """The company's records, plus open ``readByQuery`` result sets and number sequences."""

    def __init__(self, seed: Seed, *, closed_before: date) -> None:
        self.tables: dict[str, list[Record]] = {k: list(v) for k, v in seed.tables.items()}
        for obj in OBJECTS:
            self.tables.setdefault(obj, [])
        self.closed_before = closed_before
        self.result_sets: OrderedDict[str, _ResultSet] = OrderedDict()
        self._so_numbers = itertools.count(len(self.tables["SODOCUMENT"]) + 1001)
        self.contact_lists: dict[str, list[tuple[str, str]]] = {}
        """CUSTOMERID → its contact list (category, contact name), as written."""
        self._reading: _ReadView | None = None
        """During a read-only request (``reads_only``): visible rows and indexes by field."""

    def snapshot(self) -> dict[str, list[Record]]:
        return {k: [dict(r) for r in v] for k, v in self.tables.items()}

    def restore(self, snapshot: dict[str, list[Record]]) -> None:
        self.tables = snapshot

    @contextmanager
    def reads_only(self) -> Iterator[None]:
        """For one request that only reads: what an entity sees of an object, and its rows by
        a field's value, are worked out once for all of the request's functions (a quote
        asks for dozens of items at once). Nothing may change the tables meanwhile."""
        self._reading = _ReadView()
        try:
            yield
        finally:
            self._reading = None

    def visible(self, obj: str, scope: Scope) -> list[Record]:
        view = self._reading
        if view is None:
            return self._visible(obj, scope)
        key = (obj, scope.entity)
        rows = view.visible.get(key)
        if rows is None:
            rows = view.visible[key] = self._visible(obj, scope)
        return rows

    def _visible(self, obj: str, scope: Scope) -> list[Record]:
        rows = self.tables[obj]
        if scope.entity is None or obj not in ENTITY_OWNED:
            return rows
        return [r for r in rows if r.get("MEGAENTITYID", "") in ("", scope.entity)]

    def visible_with(self, obj: str, scope: Scope, hints: tuple[Hint, ...]) -> list[Record]:
        """During a read-only request, the visible rows holding the values of the narrowest
        of ``hints`` (each a field and the values it may hold), in table order, looked up in
        indexes; otherwise every visible row. The caller's filter decides either way."""
        view = self._reading
        if view is None:
            return self.visible(obj, scope)
        narrowest: list[tuple[int, Record]] | None = None
        for field, values in hints:
            index = self._index(view, obj, scope, field)
            found = [hit for value in values for hit in index.get(value, ())]
            if narrowest is None or len(found) < len(narrowest):
                narrowest = found
        assert narrowest is not None
        narrowest.sort(key=lambda hit: hit[0])
        return [row for _, row in narrowest]

    def _index(
        self, view: _ReadView, obj: str, scope: Scope, field: str
    ) -> dict[str, list[tuple[int, Record]]]:
        """The visible rows of ``obj`` by their ``field``'s value, each with its position."""
        key = (obj, scope.entity, field)
        index = view.indexes.get(key)
        if index is None:
            index = view.indexes[key] = {}
            for position, row in enumerate(self.visible(obj, scope)):
                index.setdefault(row.get(field, ""), []).append((position, row))
        return index

    def find(self, obj: str, scope: Scope, field: str, value: str) -> Record | None:
        return next((r for r in self.visible(obj, scope) if r.get(field) == value), None)

    def next_recordno(self, obj: str) -> str:
        rows = self.tables[obj]
        return str(max((int(r["RECORDNO"]) for r in rows), default=0) + 1)

    def next_so_number(self) -> str:
        return f"SO{next(self._so_numbers):04d}"

    def keep_result_set(self, result: _ResultSet) -> str:
        result_id = secrets.token_hex(12)
        self.result_sets[result_id] = result
        while len(self.result_sets) > _MAX_RESULT_SETS:
            self.result_sets.popitem(last=False)
        return result_id


# --- helpers ----------------------------------------------------------------------------------


def _text(el: Element, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _object_name(el: Element) -> str:
    obj = _text(el, "object").upper()
    if not obj:
        raise bad_request("Object is required", "Missing element object")
    if obj not in OBJECTS:
        raise bad_request(
            f"Object definition {obj} not found",
            "",
            "Check the object name (lookup lists the objects available)",
        )
    return obj


def _fields(obj: str, text: str) -> list[str]:
    if text.strip() in ("", "*"):
        return list(OBJECTS[obj])
    fields = [f.strip().upper() for f in text.split(",") if f.strip()]
    for name in fields:
        if name not in OBJECTS[obj]:
            raise bad_request(
                "Invalid field",
                f"The field {name} is not valid for object {obj}",
                "Check the field names against the object definition",
            )
    return fields


def _record_element(tag: str, record: Record, fields: list[str]) -> Element:
    el = Element(tag)
    for name in fields:
        SubElement(el, name).text = record.get(name, "")
    return el


def _int(text: str, name: str, default: int, low: int, high: int) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise bad_request(f"Invalid {name}", f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise bad_request(f"Invalid {name}", f"{name} must be between {low} and {high}")
    return value


def _compile(fn: Callable[[], _T]) -> _T:
    try:
        return fn()
    except UnknownFieldError as exc:
        raise bad_request(
            "Invalid field",
            f"The field {exc.field.upper()} is not valid for object {exc.obj}",
            "Check the field names in the query",
        ) from exc
    except QueryError as exc:
        raise bad_request("Invalid query", str(exc), "Check the query syntax") from exc


def _page(store: Store, result: _ResultSet, listtype: str) -> Element:
    page, rest = result.remaining[: result.pagesize], result.remaining[result.pagesize :]
    total = len(result.remaining)  # Intacct's totalcount counts from the first page's start
    data = Element("data", listtype=listtype, count=str(len(page)))
    result_id = ""
    if rest:
        result_id = store.keep_result_set(
            _ResultSet(result.obj, result.fields, rest, result.pagesize, result.entity)
        )
    data.set("totalcount", str(total))
    data.set("numremaining", str(len(rest)))
    data.set("resultId", result_id)
    for record in page:
        data.append(_record_element(listtype, record, result.fields))
    return data


# --- reads ------------------------------------------------------------------------------------


def read_by_query(store: Store, scope: Scope, el: Element) -> list[Element]:
    obj = _object_name(el)
    if el.find("query") is None:
        raise bad_request("Query is required", "Missing element query in readByQuery")
    fields = _fields(obj, _text(el, "fields"))
    predicate, hint = _compile(lambda: compile_query_hinted(obj, _text(el, "query")))
    pagesize = _int(_text(el, "pagesize"), "pagesize", 100, 1, 1000)
    rows = [r for r in _of_document_type(store, scope, obj, el, hint) if predicate(r)]
    result = _ResultSet(obj, fields, rows, pagesize, scope.entity)
    data = _page(store, result, obj.lower())
    first_total = len(rows)
    data.set("totalcount", str(first_total))
    return [data]


def _of_document_type(
    store: Store, scope: Scope, obj: str, el: Element, hint: tuple[Hint, ...] = ()
) -> list[Record]:
    """The records a read sees; ``<docparid>`` (e.g. ``Sales Order``) narrows a document
    object to one transaction definition, as the vendor's read functions allow. With
    ``hint``s, only rows holding the values they name (every match does)."""
    rows = store.visible_with(obj, scope, hint) if hint else store.visible(obj, scope)
    docparid = _text(el, "docparid")
    if docparid and "DOCPARID" in OBJECTS[obj]:
        return [r for r in rows if r.get("DOCPARID") == docparid]
    return rows


def read_more(store: Store, scope: Scope, el: Element) -> list[Element]:
    result_id = _text(el, "resultId")
    if not result_id:
        raise bad_request("resultId is required", "Missing element resultId in readMore")
    result = store.result_sets.pop(result_id, None)
    if result is None or result.entity != scope.entity:
        raise bad_request(
            "Invalid resultId",
            f"The resultId {result_id} is not valid or has expired",
            "Run readByQuery again",
        )
    data = _page(store, result, result.obj.lower())
    return [data]


def read(store: Store, scope: Scope, el: Element, *, by_name: bool = False) -> list[Element]:
    obj = _object_name(el)
    keys = [k.strip() for k in _text(el, "keys").split(",") if k.strip()]
    if len(keys) > 100:
        raise bad_request(
            "Too many keys",
            f"read accepts at most 100 keys, got {len(keys)}",
            "Split the keys over several read calls",
        )
    fields = _fields(obj, _text(el, "fields"))
    key_field = NAME_FIELDS.get(obj, "RECORDNO") if by_name else "RECORDNO"
    rows = _of_document_type(store, scope, obj, el)
    if keys:
        wanted = set(keys)
        found = [r for r in rows if r.get(key_field) in wanted]
    else:
        found = rows[:100]
    data = Element("data", listtype=obj.lower(), count=str(len(found)))
    for record in found:
        data.append(_record_element(obj, record, fields))
    return [data]


def query(store: Store, scope: Scope, el: Element) -> list[Element]:
    obj = _object_name(el)
    select = el.find("select")
    field_els = select.findall("field") if select is not None else []
    names = [(f.text or "").strip().upper() for f in field_els]
    if not names:
        raise bad_request("Select is required", "The query needs at least one <select><field>")
    fields = _query_fields(obj, names)
    fold = (el.findtext("options/caseinsensitive") or "").strip().lower() == "true"
    try:
        predicate = compile_filter(obj, el.find("filter"), case_insensitive=fold)
    except UnknownFieldError as exc:
        raise _invalid_query_field(obj, exc.field.upper()) from exc
    except QueryError as exc:
        raise bad_request("Invalid query", str(exc), "Check the filter") from exc
    rows = [r for r in store.visible(obj, scope) if predicate(r)]
    orderby = el.find("orderby")
    if orderby is not None:
        for order in reversed(orderby.findall("order")):
            field = (order.findtext("field") or "").strip()
            try:
                key = sort_key(obj, field)
            except UnknownFieldError as exc:
                raise _invalid_query_field(obj, field.upper()) from exc
            rows.sort(key=key, reverse=order.find("descending") is not None)
    pagesize = _int(_text(el, "pagesize"), "pagesize", 100, 1, 2000)
    offset = _int(_text(el, "offset"), "offset", 0, 0, 10**9)
    page = rows[offset : offset + pagesize]
    data = Element(
        "data",
        listtype=obj,
        totalcount=str(len(rows)),
        offset=str(offset),
        count=str(len(page)),
        numremaining=str(max(0, len(rows) - offset - len(page))),
    )
    for record in page:
        data.append(_record_element(obj, record, fields))
    return [data]


def _invalid_query_field(obj: str, name: str) -> IntacctFailure:
    return IntacctFailure(
        ErrorEntry(
            QUERY_INVALID_FIELD,
            "",
            f"Field requested is not valid: {obj.lower()}.{name} {support_id()}",
            "",
        )
    )


def _query_fields(obj: str, names: list[str]) -> list[str]:
    """The ``query`` select list: unknown fields and ones ``query`` cannot read are refused."""
    for name in names:
        if name not in OBJECTS[obj]:
            raise _invalid_query_field(obj, name)
    refused = [n for n in names if n in DEFINITIONS[obj].not_queryable]
    if refused:
        raise IntacctFailure(
            ErrorEntry(
                QUERY_NOT_QUERYABLE,
                "",
                f"The following fields cannot be queried: [ {obj.lower()}: "
                f"[{', '.join(refused)}] ] {support_id()}",
                "",
            )
        )
    return names


# --- sales orders -----------------------------------------------------------------------------

_SO_HEADER = {
    "transactiontype",
    "datecreated",
    "dateposted",
    "createdfrom",
    "customerid",
    "documentno",
    "origdocdate",
    "referenceno",
    "termname",
    "datedue",
    "message",
    "shippingmethod",
    "shipto",
    "billto",
    "supdocid",
    "externalid",
    "basecurr",
    "currency",
    "exchratedate",
    "exchratetype",
    "exchrate",
    "vsoepricelist",
    "customfields",
    "state",
    "projectid",
    "sotransitems",
    "subtotals",
}
_SO_LINE = {
    "itemid",
    "itemdesc",
    "taxable",
    "warehouseid",
    "quantity",
    "unit",
    "discountpercent",
    "price",
    "sourcelinekey",
    "discsurchargememo",
    "locationid",
    "departmentid",
    "memo",
    "itemdetails",
    "customfields",
    "revrectemplate",
    "revrecstartdate",
    "revrecenddate",
    "renewalmacro",
    "projectid",
    "customerid",
    "vendorid",
    "employeeid",
    "classid",
    "contractid",
    "fulfillmentstatus",
    "taskno",
    "billingtemplate",
    "dropship",
    "shipto",
    "deliverydate",
}
_CLOSED_PERIOD = (
    "Periods are closed. Your transaction date ({day}) is within a period that's been closed. "
    "You can add, modify, or delete a transaction only if the date of the transaction is within "
    "a period that's open."
)
_CENT = Decimal("0.01")
_FAILED_SO = "Could not create SODocument record!"


def _parse_date(el: Element | None, name: str) -> date:
    if el is None:
        raise bad_request("XML schema error", f"Missing required element {name}")
    try:
        return date(int(_text(el, "year")), int(_text(el, "month")), int(_text(el, "day")))
    except ValueError as exc:
        raise business(f"Invalid date in {name}", then=_FAILED_SO) from exc


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise business(f"Invalid {name} '{text}'", then=_FAILED_SO) from exc
    if not value.is_finite():
        raise business(f"Invalid {name} '{text}'", then=_FAILED_SO)
    return value


def _check_dimension(
    store: Store, scope: Scope, obj: str, *, field: str, value: str, label: str
) -> None:
    record = store.find(obj, scope, field, value)
    if record is None or record.get("STATUS") == "inactive":
        raise business(
            f"Invalid {label} '{value}' specified.",
            then=_FAILED_SO,
            correction=f"Use an active {label.lower()}",
        )


def create_sotransaction(store: Store, scope: Scope, el: Element) -> list[Element]:
    for child in el:
        if child.tag not in _SO_HEADER:
            raise bad_request(
                "XML schema error", f"Element {child.tag} is not allowed in create_sotransaction"
            )
    ttype = _text(el, "transactiontype")
    if not ttype:
        raise bad_request("XML schema error", "Missing required element transactiontype")
    if ttype != "Sales Order":
        raise business(f"Invalid transaction definition '{ttype}'", then=_FAILED_SO)
    created = _parse_date(el.find("datecreated"), "datecreated")
    cust_id = _text(el, "customerid")
    if not cust_id:
        raise bad_request("XML schema error", "Missing required element customerid")
    customer = store.find("CUSTOMER", scope, "CUSTOMERID", cust_id)
    if customer is None:
        raise business(
            f"Invalid Customer '{cust_id}' specified.",
            then=_FAILED_SO,
            correction="Use an existing customer id",
        )
    if customer["STATUS"] != "active":
        raise business(
            f"Customer '{cust_id}' is inactive.",
            then=_FAILED_SO,
            correction="Activate the customer or use another one",
        )
    if created < store.closed_before:
        raise business(_CLOSED_PERIOD.format(day=fmt_date(created)), then=_FAILED_SO)
    lines_el = el.find("sotransitems")
    lines = lines_el.findall("sotransitem") if lines_el is not None else []
    if not lines:
        raise bad_request("XML schema error", "Missing required element sotransitems/sotransitem")
    currency = _text(el, "currency") or customer["CURRENCY"]
    entity = scope.entity or customer.get("MEGAENTITYID", "")
    docno = _text(el, "documentno") or store.next_so_number()
    docid = f"Sales Order-{docno}"
    if any(r["DOCID"] == docid for r in store.tables["SODOCUMENT"]):
        raise IntacctFailure(
            ErrorEntry(
                DUPLICATE_RECORD,
                "",
                f"Another Sales Order with the given value(s) {docno} already exists",
                "Use a unique value instead.",
            ),
            ErrorEntry("BL01001973", "", _FAILED_SO, ""),
        )
    now = fmt_datetime(scope.now or scope.today)
    header_recordno = store.next_recordno("SODOCUMENT")
    parties = {role: _so_contact(store, scope, el, role) for role in ("SHIPTO", "BILLTO")}
    entries: list[Record] = []
    total = Decimal(0)
    for n, line in enumerate(lines, start=1):
        entries.append(
            _so_line(
                store, scope, line, n=n, docid=docid, docno=header_recordno, now=now, entity=entity
            )
        )
        total += Decimal(entries[-1]["TOTAL"])
    subtotals = _so_subtotals(el, docno=header_recordno, now=now, entity=entity)
    grand_total = total + sum(
        (Decimal(s["TOTAL"]) * _SALES_ORDER_SUBTOTALS[s["DESCRIPTION"]] for s in subtotals),
        Decimal(0),
    )
    header = dict.fromkeys(OBJECTS["SODOCUMENT"], "")
    header.update(
        RECORDNO=header_recordno,
        DOCNO=docno,
        DOCID=docid,
        DOCPARID="Sales Order",
        STATE="Pending",
        CLOSED="false",
        STATUS="active",
        PONUMBER=_text(el, "referenceno"),
        CUSTVENDID=cust_id,
        CUSTVENDNAME=customer["NAME"],
        WHENDUE=fmt_date(_parse_date(el.find("datedue"), "datedue"))
        if el.find("datedue") is not None
        else "",
        CURRENCY=currency,
        SUBTOTAL=fmt_num(total),
        TOTAL=fmt_num(grand_total),
        TRX_SUBTOTAL=fmt_num(total),
        TRX_TOTAL=fmt_num(grand_total),
        MESSAGE=_text(el, "message"),
        WHENCREATED=fmt_date(created),
        AUWHENCREATED=now,
        WHENMODIFIED=now,
        CREATEDBY=USER_RECORDNO,
        MODIFIEDBY=USER_RECORDNO,
        CREATEDBYLOGINID=scope.user_id,
        MODIFIEDBYLOGINID=scope.user_id,
        MEGAENTITYID=entity,
        MEGAENTITYNAME=f"Isthmus {entity}" if entity else "",
    )
    header["TERM.NAME"] = _text(el, "termname") or customer["TERMNAME"]
    for role, contact in parties.items():
        if contact is not None:
            header[f"{role}KEY"] = contact["RECORDNO"]
            for name in OBJECTS["SODOCUMENT"]:
                if name.startswith(f"{role}.") and name[len(role) + 1 :] in contact:
                    header[name] = contact[name[len(role) + 1 :]]
    store.tables["SODOCUMENT"].append(header)
    for entry in entries:
        entry["RECORDNO"] = store.next_recordno("SODOCUMENTENTRY")
        store.tables["SODOCUMENTENTRY"].append(entry)
    for subtotal in subtotals:
        subtotal["RECORDNO"] = store.next_recordno("SODOCUMENTSUBTOTALS")
        store.tables["SODOCUMENTSUBTOTALS"].append(subtotal)
    key = Element("key")
    key.text = docid
    return [key]


_SALES_ORDER_SUBTOTALS = {"Tax": Decimal(1), "Shipping": Decimal(1), "Discount": Decimal(-1)}
"""The sandbox's "Sales Order" definition: its subtotals and whether each adds or subtracts."""


def _so_contact(store: Store, scope: Scope, el: Element, role: str) -> Record | None:
    """``<shipto>``/``<billto>`` name an existing contact by ``<contactname>``."""
    box = el.find(role.lower())
    if box is None:
        return None
    for child in box:
        if child.tag != "contactname":
            raise bad_request(
                "XML schema error", f"Element {child.tag} is not allowed in {role.lower()}"
            )
    name = _text(box, "contactname")
    if not name:
        raise bad_request(
            "XML schema error", f"Missing required element {role.lower()}/contactname"
        )
    contact = store.find("CONTACT", scope, "CONTACTNAME", name)
    if contact is None or contact.get("STATUS") == "inactive":
        raise business(
            f"Invalid contact '{name}' specified for {role.lower()}.",
            then=_FAILED_SO,
            correction="Use the name of an existing, active contact",
        )
    return contact


_SUBTOTAL_TAGS = ("description", "total", "absval", "percentval", "locationid", "departmentid",
                  "projectid", "customerid", "vendorid", "employeeid", "classid", "itemid",
                  "contractid")  # fmt: skip


def _so_subtotals(el: Element, *, docno: str, now: str, entity: str) -> list[Record]:
    """``<subtotals>``: each names a subtotal of the definition by ``description``; its amount is
    ``absval`` (or ``total``), or ``percentval`` percent of the lines (not taken here)."""
    box = el.find("subtotals")
    found: list[Record] = []
    for sub in box.findall("subtotal") if box is not None else []:
        for child in sub:
            if child.tag not in _SUBTOTAL_TAGS:
                raise bad_request(
                    "XML schema error", f"Element {child.tag} is not allowed in subtotal"
                )
        description = _text(sub, "description")
        if description not in _SALES_ORDER_SUBTOTALS:
            raise business(
                f"Invalid subtotal '{description}' for transaction definition Sales Order.",
                then=_FAILED_SO,
                correction="Use a subtotal of the transaction definition",
            )
        if any(f["DESCRIPTION"] == description for f in found):
            raise business(f"Subtotal '{description}' is given twice.", then=_FAILED_SO)
        if _text(sub, "percentval"):
            raise business(
                f"Subtotal '{description}' is an amount in this definition; give absval.",
                then=_FAILED_SO,
            )
        amount_text = _text(sub, "absval") or _text(sub, "total")
        amount = _decimal(amount_text, "subtotal amount") if amount_text else Decimal(0)
        record = dict.fromkeys(OBJECTS["SODOCUMENTSUBTOTALS"], "")
        record.update(
            DOCHDRNO=docno,
            DESCRIPTION=description,
            ABSVAL=fmt_num(amount),
            TOTAL=fmt_num(amount),
            TRX_ABSVAL=fmt_num(amount),
            TRX_TOTAL=fmt_num(amount),
            STATUS="active",
            LOCATION=_text(sub, "locationid") or entity,
            DEPARTMENT=_text(sub, "departmentid"),
            MEGAENTITYID=entity,
        )
        found.append(record)
    return found


def _so_line(
    store: Store,
    scope: Scope,
    line: Element,
    *,
    n: int,
    docid: str,
    docno: str,
    now: str,
    entity: str,
) -> Record:
    for child in line:
        if child.tag not in _SO_LINE:
            raise bad_request(
                "XML schema error", f"Element {child.tag} is not allowed in sotransitem"
            )
    item_id = _text(line, "itemid")
    qty_text = _text(line, "quantity")
    if not item_id or not qty_text:
        raise bad_request("XML schema error", "sotransitem needs itemid and quantity")
    item = store.find("ITEM", scope, "ITEMID", item_id)
    if item is None:
        raise business(
            f"Invalid Item '{item_id}' specified.",
            then=_FAILED_SO,
            correction="Use an existing item id",
        )
    if item["STATUS"] != "active":
        raise business(
            f"Item '{item_id}' is inactive and cannot be used in transactions.",
            then=_FAILED_SO,
            correction="Activate the item or use another one",
        )
    quantity = _decimal(qty_text, "quantity")
    if quantity <= 0:
        raise business(f"Quantity must be greater than zero for item '{item_id}'.", then=_FAILED_SO)
    unit = _text(line, "unit") or item["BASEUOM"]
    factor = _unit_factor(store, item, unit)
    if factor is None:
        raise business(
            f"Invalid unit '{unit}' for item '{item_id}'.",
            then=_FAILED_SO,
            correction="Use a unit of the item's unit of measure group",
        )
    warehouse = _text(line, "warehouseid")
    if warehouse:
        _check_dimension(
            store, scope, "WAREHOUSE", field="WAREHOUSEID", value=warehouse, label="Warehouse"
        )
    location = _text(line, "locationid") or (scope.entity or "")
    if not location:
        raise IntacctFailure(
            ErrorEntry(
                REQUIRED_DIMENSION,
                "Required field missing",
                f"Location is required on line {n} of the transaction.",
                "Provide a locationid on each line, or sign in to an entity.",
            ),
            ErrorEntry("BL01001973", "", _FAILED_SO, ""),
        )
    _check_dimension(store, scope, "LOCATION", field="LOCATIONID", value=location, label="Location")
    dims = {}
    for tag, obj, field, label in (
        ("departmentid", "DEPARTMENT", "DEPARTMENTID", "Department"),
        ("classid", "CLASS", "CLASSID", "Class"),
        ("projectid", "PROJECT", "PROJECTID", "Project"),
    ):
        value = _text(line, tag)
        if value:
            _check_dimension(store, scope, obj, field=field, value=value, label=label)
        dims[field] = value
    price_text = _text(line, "price")
    price = (
        _decimal(price_text, "price") if price_text else Decimal(item["BASEPRICE"] or "0") * factor
    )
    discount = _text(line, "discountpercent")
    if discount:
        price = price * (1 - _decimal(discount, "discountpercent") / 100)
    total = (price * quantity).quantize(_CENT, rounding=ROUND_HALF_UP)
    taxable = _text(line, "taxable")
    if taxable and taxable not in ("true", "false"):
        raise business(f"Invalid value '{taxable}' for taxable", then=_FAILED_SO)
    entry = dict.fromkeys(OBJECTS["SODOCUMENTENTRY"], "")
    entry.update(
        DOCHDRID=docid,
        DOCHDRNO=docno,
        DOCPARID="Sales Order",
        LINE_NO=str(n),
        ITEMID=item_id,
        ITEMNAME=_text(line, "itemdesc") or item["NAME"],
        QUANTITY=fmt_num(quantity),
        UNIT=unit,
        PRICE=fmt_num(price),
        TOTAL=fmt_num(total),
        STATE="Pending",
        LOCATIONID=location,
        MEMO=_text(line, "memo"),
        TAXABLEAMOUNT=("0" if taxable == "false" else fmt_num(total)) if taxable else "",
        WHENCREATED=now,
        WHENMODIFIED=now,
        MEGAENTITYID=entity,
        **dims,
    )
    entry["WAREHOUSE.LOCATION_NO"] = warehouse
    return entry


def _unit_factor(store: Store, item: Record, unit: str) -> Decimal | None:
    for detail in store.tables["UOMDETAIL"]:
        if detail["GRPKEY"] == item["UOMGRPKEY"] and detail["UNIT"] == unit:
            return Decimal(detail["CONVFACTOR"])
    return None


def read_by_name(store: Store, scope: Scope, el: Element) -> list[Element]:
    return read(store, scope, el, by_name=True)


Handler = Callable[[Store, Scope, Element], list[Element]]
HANDLERS: dict[str, Handler] = {
    "readByQuery": read_by_query,
    "readMore": read_more,
    "read": read,
    "readByName": read_by_name,
    "query": query,
    "create": customers.create,
    "update": customers.update,
    "create_sotransaction": create_sotransaction,
    **METADATA_HANDLERS,
}
WRITE_FUNCTIONS = frozenset({"create", "update", "create_sotransaction"})
READ_FUNCTIONS = frozenset(
    {"getAPISession", "readByQuery", "readMore", "read", "readByName", "query"}
)
"""Functions that change no table: a request of nothing else may read through indexes."""
