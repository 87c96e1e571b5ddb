"""Accounts and Contacts ↔ ERP customers and contact persons, field by field, and the
three-way merge that applies the ownership table in both directions.

Both sides are compared in Salesforce's field names. ``merge`` takes the Salesforce values,
the ERP's values and the base (what both sides agreed on after the last sync, kept with the
cross-reference link) and decides per field, by the field's rule:

- in agreement: nothing to do;
- mastered by Salesforce: the ERP gets the Salesforce value — unless the ERP changed it since
  the base (someone edited it there): ``keep`` leaves the ERP's edit (a conflict, recorded),
  ``ignore`` leaves it silently (the table refuses ``overwrite`` for Salesforce's fields);
- mastered by the ERP: the mirror image (Salesforce gets the ERP value; an edit made in
  Salesforce is restored with ``overwrite``, or kept);
- first writer: a blank side is filled from the other; two different values stay as they are
  (a conflict).

Without a base (the first sync of a link) no side counts as edited: each master's value wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from process_apis.customers.rules import country_code
from process_apis.sync.ownership import OwnershipTable, normalize
from system_apis.master_data import (
    AddressRole,
    ContactPerson,
    CustomerMaster,
    CustomerUpdate,
    PostalAddress,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "CONTACT_FIELDS",
    "FieldDecision",
    "Merge",
    "account_values",
    "address_from",
    "contact_person",
    "contact_values",
    "customer_update",
    "merge",
    "salesforce_account_values",
    "salesforce_contact_values",
]

_BILLING = ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry")
_SHIPPING = (
    "ShippingStreet", "ShippingCity", "ShippingState", "ShippingPostalCode", "ShippingCountry",
)  # fmt: skip
ACCOUNT_FIELDS: tuple[str, ...] = (
    "Name", "Phone", "Tax_Id__c", "Payment_Terms__c", "Price_List__c", "ERP_Customer_Active__c",
    *_BILLING, *_SHIPPING,
)  # fmt: skip
"""Account fields both sides hold (compared and merged)."""
CONTACT_FIELDS: tuple[str, ...] = ("FirstName", "LastName", "Email", "Phone", "Title")
_MISSING = object()


def _blank(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _street(lines: Iterable[str]) -> str | None:
    text = "\n".join(line for line in lines if line)
    return text or None


def _address_values(prefix: str, address: PostalAddress | None) -> dict[str, Any]:
    if address is None:
        return dict.fromkeys((f"{prefix}{n}" for n in ("Street", "City", "State", "PostalCode",
                                                       "Country")), None)  # fmt: skip
    return {
        f"{prefix}Street": _street(address.street),
        f"{prefix}City": address.city,
        f"{prefix}State": address.state,
        f"{prefix}PostalCode": address.postal_code,
        f"{prefix}Country": address.country,
    }


def account_values(customer: CustomerMaster) -> dict[str, Any]:
    """The ERP customer as Account field values."""
    bill = customer.address_for("bill_to")
    ship = customer.address_for("ship_to")
    return {
        "Name": customer.name,
        "Phone": customer.phone,
        "Tax_Id__c": customer.tax_id,
        "Payment_Terms__c": customer.terms,
        "Price_List__c": customer.price_list,
        "ERP_Customer_Active__c": customer.status == "active",
        **_address_values("Billing", bill.address if bill else customer.address),
        **_address_values("Shipping", ship.address if ship else None),
    }


def salesforce_account_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """An Account row's values of the merged fields (countries as ISO codes)."""
    values = {name: _blank(row.get(name)) for name in ACCOUNT_FIELDS}
    for name in ("BillingCountry", "ShippingCountry"):
        if values[name] is not None:
            values[name] = country_code(str(values[name])) or values[name]
    if values["ERP_Customer_Active__c"] is None:
        values["ERP_Customer_Active__c"] = True
    return values


def address_from(values: Mapping[str, Any], role: AddressRole) -> PostalAddress | None:
    prefix = "Billing" if role == "bill_to" else "Shipping"
    street = values.get(f"{prefix}Street")
    address = PostalAddress(
        street=tuple(line.strip() for line in str(street).splitlines() if line.strip())
        if street
        else (),
        city=values.get(f"{prefix}City"),
        state=values.get(f"{prefix}State"),
        postal_code=values.get(f"{prefix}PostalCode"),
        country=country_code(values.get(f"{prefix}Country")) or values.get(f"{prefix}Country"),
    )
    return None if address == PostalAddress() else address


def customer_update(changes: Mapping[str, Any]) -> CustomerUpdate:
    """The customer-level part of ``changes`` (Account field → value) as a ``CustomerUpdate``."""
    status = changes.get("ERP_Customer_Active__c")
    return CustomerUpdate(
        name=changes.get("Name"),
        phone=changes.get("Phone"),
        tax_id=changes.get("Tax_Id__c"),
        terms=changes.get("Payment_Terms__c"),
        price_list=changes.get("Price_List__c"),
        status=None if status is None else ("active" if status else "inactive"),
    )


def contact_values(person: ContactPerson) -> dict[str, Any]:
    return {
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Email": person.email,
        "Phone": person.phone,
        "Title": person.title,
    }


def salesforce_contact_values(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _blank(row.get(name)) for name in CONTACT_FIELDS}


def contact_person(values: Mapping[str, Any], contact_id: str | None = None) -> ContactPerson:
    return ContactPerson(
        contact_id=contact_id,
        first_name=values.get("FirstName"),
        last_name=values.get("LastName") or "",
        email=values.get("Email"),
        phone=values.get("Phone"),
        title=values.get("Title"),
    )


@dataclass(frozen=True)
class FieldDecision:
    """A field where the sides disagreed and the table decided against the edit (restored) or
    let it stand (kept)."""

    field: str
    master: str
    outcome: Literal["kept", "restored"]
    salesforce_value: Any
    erp_value: Any


@dataclass
class Merge:
    to_erp: dict[str, Any] = field(default_factory=dict)
    to_salesforce: dict[str, Any] = field(default_factory=dict)
    conflicts: list[FieldDecision] = field(default_factory=list)
    agreed: dict[str, Any] = field(default_factory=dict)
    """The new base: what both sides hold once the writes are done (kept sides keep theirs)."""


def merge(
    table: OwnershipTable,
    sobject: str,
    *,
    salesforce: Mapping[str, Any],
    erp: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    fields: Iterable[str],
) -> Merge:
    out = Merge()
    for name in fields:
        s_raw, e_raw = salesforce.get(name), erp.get(name)
        s, e = normalize(s_raw), normalize(e_raw)
        b = normalize(base[name]) if base is not None and name in base else _MISSING
        if s == e:
            out.agreed[name] = s_raw
            continue
        rule = table.rule(sobject, name)
        if rule.master in ("salesforce", "erp"):
            to_sf = rule.master == "erp"
            master_raw, other_raw = (e_raw, s_raw) if to_sf else (s_raw, e_raw)
            other = s if to_sf else e
            edited = b is not _MISSING and other != b
            target = out.to_salesforce if to_sf else out.to_erp
            if not edited or rule.conflict == "overwrite":
                target[name] = master_raw
                out.agreed[name] = master_raw
                if edited:
                    out.conflicts.append(FieldDecision(name, rule.master, "restored", s_raw, e_raw))
                continue
            if rule.conflict == "keep":
                out.conflicts.append(FieldDecision(name, rule.master, "kept", s_raw, e_raw))
            out.agreed[name] = base.get(name) if base is not None else other_raw
            continue
        # first writer: a blank side is filled; two values stand
        if s is None:
            out.to_salesforce[name] = e_raw
            out.agreed[name] = e_raw
        elif e is None:
            out.to_erp[name] = s_raw
            out.agreed[name] = s_raw
        else:
            if rule.conflict != "ignore":
                out.conflicts.append(FieldDecision(name, rule.master, "kept", s_raw, e_raw))
            out.agreed[name] = base.get(name) if base is not None else s_raw
    return out
