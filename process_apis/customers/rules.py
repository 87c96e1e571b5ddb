"""Which entity an Account belongs to, the checks it must pass, and duplicate matching.

All of it is configuration (``CustomerRules``, built from ``[master_data.customers]``):

- entity: the Account's explicit entity field, else the first rule whose field value maps to
  an entity, else its billing country, else the default;
- checks: a field present / matching a pattern / equal to a value, optionally only for some
  countries or entities; every failed check is reported, by its message;
- duplicates: names compare after folding case and accents, dropping punctuation and legal
  forms (``Inc``, ``GmbH``, ``Ltd`` …); postal codes and tax ids without spaces or
  punctuation, upper case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AccountCheck",
    "CustomerRules",
    "EntityRule",
    "Numbering",
    "country_code",
    "normalize_name",
    "normalize_postcode",
    "normalize_tax_id",
]

_LEGAL_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "ug",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "aps",
    ]
)
_COUNTRIES = {
    "united states": "US", "usa": "US", "united states of america": "US", "canada": "CA",
    "germany": "DE", "deutschland": "DE", "united kingdom": "GB", "uk": "GB",
    "great britain": "GB", "england": "GB", "france": "FR", "netherlands": "NL", "italy": "IT",
    "spain": "ES", "austria": "AT", "switzerland": "CH",
}  # fmt: skip


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize_name(name: str | None) -> str:
    words = re.sub(r"[^0-9a-z]+", " ", _fold(name or "")).split()
    return " ".join(w for w in words if w not in _LEGAL_FORMS)


def normalize_postcode(code: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (code or "").upper())


def normalize_tax_id(tax_id: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (tax_id or "").upper())


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from a code or a common country name."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _COUNTRIES.get(_fold(text))


def _value(account: Mapping[str, Any], name: str) -> Any:
    """A field of a SOQL row, following one relationship (``RecordType.DeveloperName``)."""
    if "." in name:
        parent, child = name.split(".", 1)
        related = account.get(parent)
        return related.get(child) if isinstance(related, Mapping) else None
    return account.get(name)


@dataclass(frozen=True)
class EntityRule:
    field: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class AccountCheck:
    field: str
    rule: str = "present"
    value: str | None = None
    pattern: str | None = None
    countries: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    message: str | None = None

    def failure(self, account: Mapping[str, Any], entity: str) -> str | None:
        country = country_code(account.get("BillingCountry"))
        if self.countries and country not in self.countries:
            return None
        if self.entities and entity not in self.entities:
            return None
        raw = _value(account, self.field)
        text = "" if raw is None else str(raw).strip()
        ok = (
            bool(text)
            if self.rule == "present"
            else text == (self.value or "")
            if self.rule == "equals"
            else bool(re.fullmatch(self.pattern or "", text))
        )
        if ok:
            return None
        if self.message:
            return self.message
        if self.rule == "present":
            return f"{self.field} is required"
        if self.rule == "equals":
            return f"{self.field} must be {self.value!r} (is {text!r})"
        return f"{self.field} {text!r} is not in the expected format"


@dataclass(frozen=True)
class Numbering:
    prefix: str = "SF"
    width: int = 6
    start: int = 1

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}"


@dataclass(frozen=True)
class CustomerRules:
    status_field: str = "ERP_Customer_Status__c"
    request_values: tuple[str, ...] = ("Requested",)
    record_types: tuple[str, ...] = ()
    entity_field: str | None = "ERP_Legal_Entity__c"
    entity_rules: tuple[EntityRule, ...] = ()
    entity_by_country: Mapping[str, str] = field(default_factory=dict)
    default_entity: str | None = None
    checks: tuple[AccountCheck, ...] = ()
    duplicate_checks: tuple[str, ...] = ("cross_reference", "tax_id", "name_postcode")
    numbering: Mapping[str, Numbering] = field(default_factory=dict)

    @property
    def fields(self) -> set[str]:
        """Account fields the rules read (added to the flows' queries)."""
        names = {self.status_field, *(r.field for r in self.entity_rules)}
        names.update(c.field for c in self.checks)
        if self.entity_field:
            names.add(self.entity_field)
        if self.record_types:
            names.add("RecordType.DeveloperName")
        return names

    def requested(self, account: Mapping[str, Any]) -> bool:
        if account.get(self.status_field) not in self.request_values:
            return False
        if self.record_types:
            return _value(account, "RecordType.DeveloperName") in self.record_types
        return True

    def entity_for(self, account: Mapping[str, Any]) -> str | None:
        if self.entity_field:
            explicit = _value(account, self.entity_field)
            if explicit:
                return str(explicit).strip()
        for rule in self.entity_rules:
            value = _value(account, rule.field)
            if value is not None and str(value) in rule.values:
                return rule.values[str(value)]
        country = country_code(account.get("BillingCountry"))
        if country and country in self.entity_by_country:
            return self.entity_by_country[country]
        return self.default_entity

    def failed_checks(self, account: Mapping[str, Any], entity: str) -> list[str]:
        return [f for c in self.checks if (f := c.failure(account, entity)) is not None]

    def numbering_for(self, entity: str) -> Numbering:
        return self.numbering.get(entity) or Numbering()
