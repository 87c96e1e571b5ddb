"""ERP changes → the Salesforce records that show them (the shipped ``salesforce/`` metadata).

- an order change → the Order (by its Salesforce id: ERP number, status and phase, when it
  changed) and one ``ERP_Order_Line__c`` per line (ordered, confirmed, shipped, invoiced);
- a shipment → ``ERP_Shipment__c``; an invoice → ``ERP_Invoice__c``; a payment →
  ``ERP_Payment__c`` (linked to its first invoice through the invoice's external id);
  each linked to its Order and Account where they are known;
- a credit change → the Account's credit fields.

External ids are ``system:company:document`` (``sage_intacct:DE01:INV-DE-01033``), so every
Salesforce record leads back to its ERP document and a replay finds the same record.
The Salesforce Order of an ERP order is the reference it was created with (the Salesforce
Order id the order path sends as the ERP's customer reference), else the order store's
record of which order it booked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from process_apis.errors import ProcessError
from process_apis.sync.model import SalesforceWrite, doc_key
from process_apis.xref import CrossReference, normalize_salesforce_id
from system_apis.changes import (
    CreditChange,
    InvoiceChange,
    OrderChange,
    PaymentChange,
    ShipmentChange,
)

__all__ = ["Links", "WriteBack", "salesforce_order_id"]

_PHASES = {
    "booked": "Booked", "allocated": "Allocated", "partially_shipped": "Partially_Shipped",
    "shipped": "Shipped", "partially_invoiced": "Partially_Invoiced", "invoiced": "Invoiced",
    "closed": "Closed", "cancelled": "Cancelled",
}  # fmt: skip


def _b(value: Any) -> Any:
    """JSON builtins (decimals and dates as text), as stored and as sent."""
    return msgspec.to_builtins(value)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def salesforce_order_id(reference: str | None) -> str | None:
    """The 18-character Salesforce Order id a reference holds, if it holds one."""
    if not reference or not reference.startswith("801") or len(reference) not in (15, 18):
        return None
    if not reference.isalnum():
        return None
    try:
        return normalize_salesforce_id(reference, pointer="externalRef")
    except ProcessError:
        return reference if len(reference) == 18 else None


class Links:
    """Salesforce ids for ERP documents of one entity: Orders by ERP order, Accounts by
    customer. ``order_refs`` comes from the order store (ERP order → accepted reference)."""

    def __init__(
        self, xref: CrossReference, entity: str, order_refs: Mapping[str, str] | None = None
    ) -> None:
        self.xref = xref
        self.entity = entity
        self.order_refs = dict(order_refs or {})

    def order(self, erp_order_id: str | None, external_ref: str | None) -> str | None:
        found = salesforce_order_id(external_ref)
        if found is None and erp_order_id:
            found = salesforce_order_id(self.order_refs.get(erp_order_id))
        return found

    def account(self, customer_id: str) -> str | None:
        return self.xref.account_for_customer(customer_id, self.entity)


class WriteBack:
    """Maps one ERP company's changes to writes; ``now`` stamps ``ERP_Last_Synced__c``."""

    def __init__(
        self, *, system: str, company: str, entity: str, links: Links, now: datetime,
        events: bool = False,
    ) -> None:  # fmt: skip
        self.system = system
        self.company = company
        self.entity = entity
        self.links = links
        self.now = now
        self.events = events

    def key(self, document: str) -> str:
        return doc_key(self.system, self.company, document)

    def _write(  # noqa: PLR0917 - (object, key field, key, values, document, modified)
        self, sobject: str, key_field: str, key: str, values: dict[str, Any], document: str,
        modified: datetime, **extra: Any,
    ) -> SalesforceWrite:  # fmt: skip
        return SalesforceWrite(
            sobject=sobject, key_field=key_field, key=key, values=_b(values),
            erp_document=self.key(document), entity=self.entity, modified=modified, **extra,
        )  # fmt: skip

    # --- per kind -----------------------------------------------------------------------------

    def orders(self, changes: Iterable[OrderChange]) -> list[SalesforceWrite]:
        writes = []
        for change in changes:
            order_id = self.links.order(change.order_id, change.external_ref)
            if order_id is not None:
                values: dict[str, Any] = {
                    "ERP_System__c": self.system,
                    "ERP_Order_Number__c": change.order_id,
                    "ERP_Status__c": change.status[:40],
                    "ERP_Phase__c": _PHASES[change.phase],
                    "ERP_Status_Changed__c": change.modified,
                    "ERP_Sync_Status__c": "Cancelled" if change.phase == "cancelled" else "Booked",
                }
                if change.customer_po:
                    values["PoNumber"] = change.customer_po
                event = None
                if self.events:
                    event = _b({"Record_Id__c": order_id, "Kind__c": "order",
                                "Status__c": _PHASES[change.phase],
                                "ERP_Reference__c": change.order_id,
                                "Message__c": f"{self.system} order {change.order_id}: "
                                              f"{change.phase.replace('_', ' ')}"})  # fmt: skip
                writes.append(
                    self._write(
                        "Order",
                        "Id",
                        order_id,
                        values,
                        change.order_id,
                        change.modified,
                        stamps=_b({"ERP_Last_Synced__c": self.now}),
                        event=event,
                    )
                )
            for line in change.lines:
                key = self.key(f"{change.order_id}:{line.line_no}")
                writes.append(
                    self._write(
                        "ERP_Order_Line__c",
                        "ERP_Line_Id__c",
                        key,
                        {
                            "ERP_Line_Id__c": key,
                            "Name": f"{change.order_id} / {line.line_no}"[:80],
                            "ERP_System__c": self.system,
                            "Order__c": order_id,
                            "Line_Number__c": line.line_no,
                            "Item__c": line.item_id,
                            "Unit__c": line.uom,
                            "Ordered_Quantity__c": line.ordered,
                            "Confirmed_Quantity__c": line.confirmed,
                            "Shipped_Quantity__c": line.shipped,
                            "Invoiced_Quantity__c": line.invoiced,
                            "Unit_Price__c": line.unit_price,
                            "Status__c": line.status[:40],
                            "Promised_Date__c": line.promised,
                        },
                        change.order_id,
                        change.modified,
                    )
                )
        return writes

    def shipments(self, changes: Iterable[ShipmentChange]) -> list[SalesforceWrite]:
        writes = []
        for s in changes:
            key = self.key(s.shipment_id)
            writes.append(
                self._write(
                    "ERP_Shipment__c",
                    "ERP_Shipment_Id__c",
                    key,
                    {
                        "ERP_Shipment_Id__c": key,
                        "Name": f"{s.shipment_id} ({s.order_id})"[:80],
                        "ERP_System__c": self.system,
                        "Order__c": self.links.order(s.order_id, s.external_ref),
                        "Account__c": self.links.account(s.customer_id),
                        "Carrier__c": s.carrier,
                        "Tracking_Number__c": s.tracking_number,
                        "Shipped_Date__c": s.shipped_on,
                        "Status__c": "Shipped",
                    },
                    s.shipment_id,
                    s.modified,
                )
            )
        return writes

    def invoices(self, changes: Iterable[InvoiceChange]) -> list[SalesforceWrite]:
        writes = []
        for i in changes:
            key = self.key(i.invoice_id)
            writes.append(
                self._write(
                    "ERP_Invoice__c",
                    "ERP_Invoice_Id__c",
                    key,
                    {
                        "ERP_Invoice_Id__c": key,
                        "Name": i.invoice_id[:80],
                        "ERP_System__c": self.system,
                        "Account__c": self.links.account(i.customer_id),
                        "Order__c": self.links.order(i.order_id, i.external_ref),
                        "Invoice_Date__c": i.invoice_date,
                        "Due_Date__c": i.due_date,
                        "Currency_Code__c": i.currency,
                        "Net_Amount__c": _money(i.net_amount),
                        "Tax_Amount__c": _money(i.tax_amount),
                        "Total_Amount__c": _money(i.total),
                        "Amount_Due__c": _money(i.due),
                        "Status__c": i.status,
                    },
                    i.invoice_id,
                    i.modified,
                )
            )
        return writes

    def payments(self, changes: Iterable[PaymentChange]) -> list[SalesforceWrite]:
        writes = []
        for p in changes:
            key = self.key(p.payment_id)
            applied = "; ".join(f"{a.invoice_id}: {_money(a.amount)}" for a in p.applications)
            values: dict[str, Any] = {
                "ERP_Payment_Id__c": key,
                "Name": p.payment_id[:80],
                "ERP_System__c": self.system,
                "Account__c": self.links.account(p.customer_id),
                "Amount__c": _money(p.amount),
                "Currency_Code__c": p.currency,
                "Payment_Date__c": p.paid_on,
                "Method__c": p.method,
                "Applied_Invoices__c": applied[:255] or None,
            }
            if p.applications:
                values["Invoice__r"] = {"ERP_Invoice_Id__c": self.key(p.applications[0].invoice_id)}
            writes.append(
                self._write(
                    "ERP_Payment__c", "ERP_Payment_Id__c", key, values, p.payment_id, p.modified
                )
            )
        return writes

    def credit(self, changes: Iterable[CreditChange]) -> list[SalesforceWrite]:
        writes = []
        for c in changes:
            account = self.links.account(c.customer_id)
            if account is None:
                continue  # a customer no Salesforce Account stands for
            writes.append(
                self._write(
                    "Account",
                    "Id",
                    account,
                    {
                        "Credit_Limit__c": None
                        if c.credit_limit is None
                        else _money(c.credit_limit),
                        "Credit_Exposure__c": _money(c.exposure),
                        "Credit_Overdue__c": _money(c.overdue),
                        "Credit_Currency__c": c.currency,
                        "Credit_Hold__c": c.on_hold,
                        "Credit_Hold_Reason__c": (c.hold_reason or "On hold in the ERP")[:255]
                        if c.on_hold
                        else None,
                    },
                    f"customer:{c.customer_id}",
                    c.modified,
                    stamps=_b({"Credit_As_Of__c": c.modified}),
                )
            )
        return writes
