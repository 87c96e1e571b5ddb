"""``create`` / ``update`` of ``CUSTOMER`` and ``CONTACT`` (the only objects the sandbox writes
besides sales transactions).

A customer's ``DISPLAYCONTACT`` is a contact of its own: creating the customer creates that
``CONTACT`` (named ``NAME(CCUSTOMERID)``, as Intacct names it) from the ``DISPLAYCONTACT``
element, and the customer's ``DISPLAYCONTACT.*`` fields mirror it. ``CONTACTINFO``,
``BILLTO`` and ``SHIPTO`` name existing contacts by ``CONTACTNAME``; the customer's prefixed
fields (``SHIPTO.MAILADDRESS.ZIP`` …) show that contact, and follow it when it changes.
``CONTACT_LIST_INFO`` (category and contact names) is checked and kept, but not readable
(UNVERIFIED: how Intacct answers the contact list on a read). Every write stamps
``WHENMODIFIED``/``MODIFIEDBY``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, SubElement

from sandbox.intacct.errors import (
    DUPLICATE_RECORD,
    ErrorEntry,
    IntacctFailure,
    bad_request,
    business,
)
from sandbox.intacct.objects import OBJECTS
from sandbox.intacct.seed import ENTITIES, fmt_datetime, fmt_num

if TYPE_CHECKING:
    from sandbox.intacct.functions import Scope, Store

__all__ = ["create", "update"]

Record = dict[str, str]
USER_RECORDNO = "2"
_CONTACT_FIELDS = (
    "PRINTAS", "COMPANYNAME", "TAXABLE", "TAXGROUP", "TAXID", "PREFIX", "FIRSTNAME", "LASTNAME",
    "INITIAL", "PHONE1", "PHONE2", "CELLPHONE", "PAGER", "FAX", "EMAIL1", "EMAIL2", "URL1",
    "URL2", "STATUS", "VISIBLE",
)  # fmt: skip
_MAIL_FIELDS = (
    "ADDRESS1",
    "ADDRESS2",
    "ADDRESS3",
    "CITY",
    "STATE",
    "ZIP",
    "COUNTRY",
    "COUNTRYCODE",
)
_CONTACT_ROLES = ("CONTACTINFO", "BILLTO", "SHIPTO")
_CUSTOMER_WRITABLE = {
    "CUSTOMERID", "NAME", "STATUS", "ONETIME", "HIDEDISPLAYCONTACT", "CUSTTYPE", "CUSTREPID",
    "PARENTID", "GLGROUP", "TERRITORYID", "SUPDOCID", "TERMNAME", "OFFSETGLACCOUNTNO",
    "ARACCOUNT", "SHIPPINGMETHOD", "RESALENO", "TAXID", "CREDITLIMIT", "RETAINAGEPERCENTAGE",
    "ONHOLD", "DELIVERY_OPTIONS", "DELIVERYOPTIONS", "CUSTMESSAGEID", "EMAILOPTIN", "COMMENTS",
    "CURRENCY", "ADVBILLBY", "ADVBILLBYTYPE", "ARINVOICEPRINTTEMPLATEID",
    "OEQUOTEPRINTTEMPLATEID", "OEORDERPRINTTEMPLATEID", "OELISTPRINTTEMPLATEID",
    "OEINVOICEPRINTTEMPLATEID", "OEADJPRINTTEMPLATEID", "OEOTHERPRINTTEMPLATEID",
    "DISPLAYCONTACT", "CONTACTINFO", "BILLTO", "SHIPTO", "CONTACT_LIST_INFO",
    "CUSTOMERCONTACTS", "OBJECTRESTRICTION", "RESTRICTEDLOCATIONS", "RESTRICTEDDEPARTMENTS",
    "CUSTOMEREMAILTEMPLATES", "PRICELIST", "PRICESCHEDULE", "DISCOUNT", "RECORDNO",
}  # fmt: skip


def _now(scope: Scope) -> str:
    return fmt_datetime(scope.now or scope.today)


def _bool(text: str) -> str:
    return "true" if text.strip().lower() in ("true", "1", "t") else "false"


def _contact_values(body: Element, *, what: str) -> Record:
    """A contact element's children as CONTACT fields (``MAILADDRESS.CITY`` …)."""
    values: Record = {}
    for child in body:
        tag = child.tag.upper()
        if tag == "MAILADDRESS":
            for part in child:
                name = part.tag.upper()
                if name not in _MAIL_FIELDS:
                    raise business(f"Invalid field {part.tag} in {what} MAILADDRESS")
                values[f"MAILADDRESS.{name}"] = (part.text or "").strip()
        elif tag in _CONTACT_FIELDS or tag == "CONTACTNAME":
            values[tag] = (child.text or "").strip()
        else:
            raise business(f"Invalid field {child.tag} for {what}")
    for flag in ("TAXABLE", "VISIBLE"):
        if flag in values:
            values[flag] = _bool(values[flag])
    if values.get("STATUS", "active") not in ("active", "inactive"):
        raise business(f"Invalid STATUS '{values['STATUS']}'", correction="Use active or inactive")
    return values


def _stamp(record: Record, scope: Scope, *, creating: bool) -> None:
    now = _now(scope)
    user = scope.user_id
    record.update(WHENMODIFIED=now, MODIFIEDBY=USER_RECORDNO, MODIFIEDBYLOGINID=user)
    if creating:
        record.update(WHENCREATED=now, CREATEDBY=USER_RECORDNO, CREATEDBYLOGINID=user)


def _new_contact(store: Store, scope: Scope, values: Record) -> Record:
    record = dict.fromkeys(OBJECTS["CONTACT"], "")
    record.update(STATUS="active", TAXABLE="false", VISIBLE="true")
    record.update(values)
    record["RECORDNO"] = store.next_recordno("CONTACT")
    record["MEGAENTITYID"] = scope.entity or ""
    _stamp(record, scope, creating=True)
    store.tables["CONTACT"].append(record)
    return record


def _contact_named(store: Store, scope: Scope, name: str, *, role: str) -> Record:
    found = store.find("CONTACT", scope, "CONTACTNAME", name)
    if found is None:
        raise business(
            f"Invalid {role} contact '{name}'",
            correction="Create the contact first, or name an existing contact",
        )
    return found


def _mirror(customer: Record, prefix: str, contact: Record) -> None:
    """The customer's ``PREFIX.*`` fields show the contact's current values."""
    for name in OBJECTS["CUSTOMER"]:
        if name.startswith(prefix + "."):
            field = name[len(prefix) + 1 :]
            if field in contact:
                customer[name] = contact[field]


# --- contacts ------------------------------------------------------------------------------


def _create_contact(store: Store, scope: Scope, body: Element) -> Record:
    values = _contact_values(body, what="CONTACT")
    name = values.get("CONTACTNAME", "")
    if not name or not values.get("PRINTAS"):
        raise business(
            "Required fields CONTACTNAME and PRINTAS are missing",
            then="Could not create Contact record!",
        )
    if any(r["CONTACTNAME"] == name for r in store.tables["CONTACT"]):
        raise IntacctFailure(
            ErrorEntry(
                DUPLICATE_RECORD,
                "",
                f"Another Contact with the given value(s) {name} already exists",
                "Use a unique value instead.",
            ),
            ErrorEntry("BL01001973", "", "Could not create Contact record!", ""),
        )
    return _new_contact(store, scope, values)


def _update_contact(store: Store, scope: Scope, body: Element) -> Record:
    recordno = (body.findtext("RECORDNO") or "").strip()
    body = _without(body, "RECORDNO")
    values = _contact_values(body, what="CONTACT")
    key_field, key = (
        ("RECORDNO", recordno) if recordno else ("CONTACTNAME", values.get("CONTACTNAME", ""))
    )
    record = store.find("CONTACT", scope, key_field, key) if key else None
    if record is None:
        raise business(
            f"Cannot find contact with key '{key}'", then="Could not update Contact record!"
        )
    values.pop("CONTACTNAME", None)
    record.update(values)
    _stamp(record, scope, creating=False)
    for customer in store.tables["CUSTOMER"]:
        for prefix in ("DISPLAYCONTACT", *_CONTACT_ROLES):
            if customer.get(f"{prefix}.CONTACTNAME") == record["CONTACTNAME"]:
                _mirror(customer, prefix, record)
    return record


def _without(body: Element, tag: str) -> Element:
    copy = Element(body.tag)
    for child in body:
        if child.tag.upper() != tag:
            copy.append(child)
    return copy


# --- customers -----------------------------------------------------------------------------


def _customer_values(
    store: Store, scope: Scope, body: Element, *, creating: bool
) -> tuple[Record, Record | None, list[tuple[str, str]]]:
    """(CUSTOMER fields, DISPLAYCONTACT values or None, contact list entries)."""
    then = "Could not create Customer record!" if creating else "Could not update Customer record!"
    values: Record = {}
    display: Record | None = None
    contact_list: list[tuple[str, str]] = []
    for child in body:
        tag = child.tag.upper()
        if tag not in _CUSTOMER_WRITABLE and not tag.startswith("CUSTOMFIELD"):
            raise business(
                f"Invalid field {child.tag} for object CUSTOMER",
                then=then,
                correction="Remove the field or check its name",
            )
        if tag == "DISPLAYCONTACT":
            display = _contact_values(child, what="DISPLAYCONTACT")
        elif tag in _CONTACT_ROLES:
            name = (child.findtext("CONTACTNAME") or "").strip()
            if name:
                contact = _contact_named(store, scope, name, role=tag)
                values[f"{tag}.CONTACTNAME"] = contact["CONTACTNAME"]
        elif tag == "CONTACT_LIST_INFO":
            category = (child.findtext("CATEGORYNAME") or "").strip()
            for contact_el in child.findall("CONTACT"):
                name = (contact_el.findtext("NAME") or "").strip()
                _contact_named(store, scope, name, role="contact list")
                contact_list.append((category, name))
        elif tag == "DELIVERYOPTIONS":
            values["DELIVERY_OPTIONS"] = (child.text or "").strip()
        elif tag in OBJECTS["CUSTOMER"]:
            values[tag] = (child.text or "").strip()
    if "STATUS" in values and values["STATUS"] not in ("active", "inactive"):
        raise business(f"Invalid STATUS '{values['STATUS']}'", correction="Use active or inactive")
    for flag in ("ONHOLD", "ONETIME", "HIDEDISPLAYCONTACT"):
        if flag in values:
            values[flag] = _bool(values[flag])
    if values.get("CREDITLIMIT"):
        try:
            values["CREDITLIMIT"] = fmt_num(Decimal(values["CREDITLIMIT"]))
        except InvalidOperation as exc:
            raise business(f"Invalid CREDITLIMIT '{values['CREDITLIMIT']}'") from exc
    return values, display, contact_list


def _apply_roles(store: Store, scope: Scope, customer: Record) -> None:
    for prefix in ("DISPLAYCONTACT", *_CONTACT_ROLES):
        name = customer.get(f"{prefix}.CONTACTNAME", "")
        if name:
            contact = store.find("CONTACT", scope, "CONTACTNAME", name)
            if contact is not None:
                _mirror(customer, prefix, contact)


def _create_customer(store: Store, scope: Scope, body: Element) -> Record:
    values, display, contact_list = _customer_values(store, scope, body, creating=True)
    cust_id, name = values.get("CUSTOMERID", ""), values.get("NAME", "")
    if not cust_id or not name:
        raise business(
            "Required fields CUSTOMERID and NAME are missing",
            then="Could not create Customer record!",
        )
    if any(r["CUSTOMERID"] == cust_id for r in store.tables["CUSTOMER"]):
        raise IntacctFailure(
            ErrorEntry(
                DUPLICATE_RECORD,
                "",
                f"Another Customer with the given value(s) {cust_id} already exists",
                "Use a unique value instead.",
            ),
            ErrorEntry("BL01001973", "", "Could not create Customer record!", ""),
        )
    display = dict(display or {})
    display.setdefault("PRINTAS", name)
    display["CONTACTNAME"] = f"{name}(C{cust_id})"
    if store.find("CONTACT", scope, "CONTACTNAME", display["CONTACTNAME"]) is None:
        _new_contact(store, scope, display)
    entity = scope.entity or ""
    record = dict.fromkeys(OBJECTS["CUSTOMER"], "")
    record.update(
        STATUS="active", ONHOLD="false", TOTALDUE="0", ONETIME="false",
        CURRENCY=ENTITIES.get(entity, "EUR"), MEGAENTITYID=entity,
        MEGAENTITYNAME=f"Isthmus {entity}" if entity else "",
        OBJECTRESTRICTION="Unrestricted",
    )  # fmt: skip
    record.update(values)
    record["DISPLAYCONTACT.CONTACTNAME"] = display["CONTACTNAME"]
    record["CONTACTINFO.CONTACTNAME"] = (
        values.get("CONTACTINFO.CONTACTNAME") or display["CONTACTNAME"]
    )
    record["RECORDNO"] = store.next_recordno("CUSTOMER")
    _stamp(record, scope, creating=True)
    _apply_roles(store, scope, record)
    store.tables["CUSTOMER"].append(record)
    store.contact_lists[cust_id] = contact_list
    return record


def _update_customer(store: Store, scope: Scope, body: Element) -> Record:
    values, display, contact_list = _customer_values(store, scope, body, creating=False)
    key_field = "RECORDNO" if values.get("RECORDNO") else "CUSTOMERID"
    key = values.get(key_field, "")
    record = store.find("CUSTOMER", scope, key_field, key) if key else None
    if record is None:
        raise business(
            f"Cannot find customer with key '{key}'",
            then="Could not update Customer record!",
            correction="Check the RECORDNO or CUSTOMERID",
        )
    values.pop("RECORDNO", None)
    values.pop("CUSTOMERID", None)
    record.update(values)
    if display:
        display.pop("CONTACTNAME", None)
        contact = store.find("CONTACT", scope, "CONTACTNAME", record["DISPLAYCONTACT.CONTACTNAME"])
        if contact is not None:
            contact.update(display)
            _stamp(contact, scope, creating=False)
    if contact_list:
        store.contact_lists[record["CUSTOMERID"]] = contact_list
    _stamp(record, scope, creating=False)
    _apply_roles(store, scope, record)
    return record


def _written(tag: str, record: Record, key: str) -> Element:
    data = Element("data", listtype="objects", count="1")
    item = SubElement(data, tag)
    SubElement(item, "RECORDNO").text = record["RECORDNO"]
    SubElement(item, key).text = record[key]
    return data


def _body(el: Element, verb: str) -> tuple[str, Element]:
    bodies = list(el)
    if len(bodies) != 1:
        raise bad_request(f"{verb} takes exactly one object element")
    body = bodies[0]
    obj = body.tag.upper()
    if obj not in OBJECTS:
        raise bad_request(f"Object definition {obj} not found")
    return obj, body


def create(store: Store, scope: Scope, el: Element) -> list[Element]:
    obj, body = _body(el, "create")
    if obj == "CUSTOMER":
        return [_written("customer", _create_customer(store, scope, body), "CUSTOMERID")]
    if obj == "CONTACT":
        return [_written("contact", _create_contact(store, scope, body), "CONTACTNAME")]
    raise business(
        f"Create of {obj} is not available in this company",
        correction="The sandbox creates CUSTOMER and CONTACT records only",
    )


def update(store: Store, scope: Scope, el: Element) -> list[Element]:
    obj, body = _body(el, "update")
    if obj == "CUSTOMER":
        return [_written("customer", _update_customer(store, scope, body), "CUSTOMERID")]
    if obj == "CONTACT":
        return [_written("contact", _update_contact(store, scope, body), "CONTACTNAME")]
    raise business(f"Update of {obj} is not available in this company")
