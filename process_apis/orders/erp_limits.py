"""What each ERP can hold of an order's addresses and references, checked when the order is
accepted: a caller hears at once (422 with a JSON Pointer to the field) instead of the worker
failing later in the ERP.

Infor M3 takes the customer's PO as ``YREF`` (30 characters), a known delivery address as
``ADID`` (6) and a full address through ``OIS100MI/AddBatchAddress``: name ``CUNM`` and four
street lines ``CUA1``-``CUA4`` (36 each), city ``TOWN`` (20), state ``ECAR`` (2, a code such as
"CA"), postal code ``PONO`` (10), country ``CSCD``. Intacct keeps an address on a contact with
three street lines (``MAILADDRESS.ADDRESS1``-``ADDRESS3``); its other lengths are within what our
own schema allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from process_apis.errors import InvalidInputError
from process_apis.orders.models import Address, Party
from system_apis.contract import OrderParty, PostalAddress

__all__ = ["ErpLimits", "check_customer_po", "limits_for", "order_party"]


@dataclass(frozen=True)
class ErpLimits:
    label: str
    customer_po: int | None = None
    address_id: int | None = None
    name: int | None = None
    street_lines: int = 4
    street: int | None = None
    city: int | None = None
    region: int | None = None
    postal_code: int | None = None


_LIMITS = {
    "infor_m3": ErpLimits(
        "Infor M3",
        customer_po=30,
        address_id=6,
        name=36,
        street_lines=4,
        street=36,
        city=20,
        region=2,
        postal_code=10,
    ),
    "sage_intacct": ErpLimits("Sage Intacct", street_lines=3),
}


def limits_for(vendor: str) -> ErpLimits:
    return _LIMITS.get(vendor, ErpLimits(vendor))


def _fits(value: str | None, limit: int | None, what: str, erp: ErpLimits, pointer: str) -> None:
    if value is not None and limit is not None and len(value) > limit:
        raise InvalidInputError(
            f"{what} holds at most {limit} characters in {erp.label} ({len(value)} given).",
            pointer=pointer,
        )


def check_customer_po(value: str | None, erp: ErpLimits, pointer: str) -> None:
    _fits(value, erp.customer_po, "The customer PO", erp, pointer)


def order_party(party: Party | None, erp: ErpLimits, pointer: str) -> OrderParty | None:
    """The ship-to or bill-to as the ERP will receive it: exactly one of an address id the ERP
    knows and a full address, each within what the ERP holds."""
    if party is None:
        return None
    if (party.address_id is None) == (party.address is None):
        raise InvalidInputError(
            "Give exactly one of addressId and address.", pointer=f"{pointer}/addressId"
        )
    if party.address_id is not None:
        _fits(party.address_id, erp.address_id, "An address id", erp, f"{pointer}/addressId")
        return OrderParty(address_id=party.address_id)
    assert party.address is not None
    return OrderParty(address=_postal(party.address, erp, f"{pointer}/address"))


def _postal(address: Address, erp: ErpLimits, at: str) -> PostalAddress:
    lines = [line.strip() for line in address.street if line.strip()]
    if len(lines) > erp.street_lines:
        raise InvalidInputError(
            f"{erp.label} holds at most {erp.street_lines} street lines ({len(lines)} given).",
            pointer=f"{at}/street",
        )
    for i, line in enumerate(lines):
        _fits(line, erp.street, "A street line", erp, f"{at}/street/{i}")
    _fits(address.name, erp.name, "The name", erp, f"{at}/name")
    _fits(address.city, erp.city, "The city", erp, f"{at}/city")
    _fits(address.region, erp.region, "The region", erp, f"{at}/region")
    _fits(address.postal_code, erp.postal_code, "The postal code", erp, f"{at}/postalCode")
    return PostalAddress(
        name=address.name,
        lines=tuple(lines),
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
    )
