"""Cross-reference: Salesforce Account ids and product codes ↔ ERP customer and item ids."""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path

import msgspec

from process_apis.errors import InvalidInputError, UnknownReferenceError
from system_apis.contract import Vendor

__all__ = ["CrossReference", "normalize_salesforce_id"]

_ALNUM = set(string.ascii_letters + string.digits)
_CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"


def _checksum(id15: str) -> str:
    # Salesforce's 18-character suffix: one character per 5-char chunk encoding which
    # characters are upper case, so ids survive case-insensitive systems.
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def normalize_salesforce_id(value: str, *, pointer: str) -> str:
    """Validate a 15- or 18-character Salesforce id and return its 18-character form."""
    if len(value) not in (15, 18) or not set(value) <= _ALNUM:
        raise InvalidInputError(
            f"'{value}' is not a Salesforce id (15 or 18 letters and digits).", pointer=pointer
        )
    id15 = value[:15]
    expected = id15 + _checksum(id15)
    if len(value) == 18 and value[15:].upper() != expected[15:]:
        raise InvalidInputError(
            f"'{value}' has an invalid Salesforce id checksum.", pointer=pointer
        )
    return expected


class _XrefFile(msgspec.Struct, forbid_unknown_fields=True):
    accounts: dict[str, dict[str, str]] = {}
    """18-char Account id → {entity: ERP customer number}."""
    products: dict[str, dict[str, str]] = {}
    """Salesforce product code → {vendor: ERP item id}."""
    units: dict[str, dict[str, str]] = {}
    """Salesforce unit → {vendor: ERP unit}; units not listed pass through unchanged."""


class CrossReference:
    def __init__(
        self,
        accounts: Mapping[str, Mapping[str, str]],
        products: Mapping[str, Mapping[str, str]],
        units: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._accounts = {
            normalize_salesforce_id(k, pointer="xref"): dict(v) for k, v in accounts.items()
        }
        self._products = {k: dict(v) for k, v in products.items()}
        self._units = {k: dict(v) for k, v in (units or {}).items()}
        self._by_customer = {
            (entity, customer): account
            for account, per_entity in self._accounts.items()
            for entity, customer in per_entity.items()
        }

    @classmethod
    def from_file(cls, path: str | Path) -> CrossReference:
        data = msgspec.json.decode(Path(path).read_bytes(), type=_XrefFile)
        return cls(data.accounts, data.products, data.units)

    @classmethod
    def empty(cls) -> CrossReference:
        return cls({}, {}, {})

    def customer_for_account(self, account_id: str, entity: str, *, pointer: str) -> str:
        key = normalize_salesforce_id(account_id, pointer=pointer)
        per_entity = self._accounts.get(key)
        if per_entity is None:
            raise UnknownReferenceError(
                f"Salesforce Account '{account_id}' is not cross-referenced.", pointer=pointer
            )
        customer = per_entity.get(entity)
        if customer is None:
            raise UnknownReferenceError(
                f"Salesforce Account '{account_id}' has no customer in entity '{entity}'.",
                pointer=pointer,
            )
        return customer

    def account_for_customer(self, customer_id: str, entity: str) -> str | None:
        """The 18-character Account id cross-referenced to an ERP customer, or None."""
        return self._by_customer.get((entity, customer_id))

    def item_for_sku(self, sku: str, vendor: Vendor, *, pointer: str) -> str:
        per_vendor = self._products.get(sku)
        item = per_vendor.get(vendor) if per_vendor else None
        if item is None:
            raise UnknownReferenceError(
                f"Product code '{sku}' has no item in {vendor}.", pointer=pointer
            )
        return item

    def erp_unit(self, unit: str, vendor: Vendor) -> str:
        return self._units.get(unit, {}).get(vendor, unit)

    def salesforce_unit(self, erp_unit: str, vendor: Vendor) -> str:
        for sf_unit, per_vendor in self._units.items():
            if per_vendor.get(vendor) == erp_unit:
                return sf_unit
        return erp_unit
