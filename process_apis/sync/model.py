"""The sync's own vocabulary: flows and their names, and one keyed write to Salesforce."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = [
    "ERP_KINDS",
    "FlowName",
    "FlowSpec",
    "FlowTrigger",
    "SalesforceWrite",
    "doc_key",
    "parse_flow",
]

ERP_KINDS = ("orders", "shipments", "invoices", "payments", "credit")
"""ERP → Salesforce record kinds, in the order one step's runs should go (parents first)."""
SALESFORCE_KINDS = ("orders",)
"""Salesforce → ERP record kinds (this issue: Orders reaching a status enter the orders path)."""
FlowName = str
FlowTrigger = Literal["schedule", "manual", "cli", "reconcile"]
_FLOW = re.compile(r"^(?P<system>[a-z_0-9]+)\.(?P<kind>[a-z_]+)\.(?P<entity>[A-Za-z0-9_\-]+)$")


@dataclass(frozen=True)
class FlowSpec:
    """One flow: records of ``kind`` from ``system`` for legal entity ``entity``."""

    system: str
    kind: str
    entity: str

    @property
    def name(self) -> FlowName:
        return f"{self.system}.{self.kind}.{self.entity}"

    @property
    def to_salesforce(self) -> bool:
        return self.system != "salesforce"


def parse_flow(name: str) -> FlowSpec | None:
    match = _FLOW.match(name)
    if match is None:
        return None
    return FlowSpec(match["system"], match["kind"], match["entity"])


def doc_key(system: str, company: str, document: str) -> str:
    """An ERP document's key in Salesforce external ids: ``system:company:document``."""
    return f"{system}:{company}:{document}"


class SalesforceWrite(msgspec.Struct, frozen=True, kw_only=True):
    """One record to write: updated by ``Id`` or upserted by an external id (``key_field``)."""

    sobject: str
    key_field: str
    key: str
    values: dict[str, Any]
    """Proposed field values, as JSON builtins (decimals and dates as text)."""
    stamps: dict[str, Any] = {}
    """Written along whenever the record is written, never compared (``ERP_Last_Synced__c``)."""
    erp_document: str
    entity: str
    modified: datetime
    event: dict[str, Any] | None = None
    """A status Platform Event to publish when this write changes something."""
    current: bool = False
    """The values were decided against Salesforce's current values (master data merges): the
    write goes out even when it equals the last proposal (a restore after an edit)."""
