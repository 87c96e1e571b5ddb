"""``ChangeFeed`` over the Intacct XML gateway: documents by ``WHENMODIFIED`` window.

Every read is ``readByQuery`` + ``readMore`` (a server-side result set, so the window does not
shift while it is paged) with ``WHENMODIFIED >= 'since' AND WHENMODIFIED < 'until'``.
Timestamps are read and written as GMT (``MM/DD/YYYY HH:MM:SS``).

- orders: ``SODOCUMENT`` (``DOCPARID = 'Sales Order'``) + lines; shipped and invoiced quantities
  per line from the ``Shipper`` and ``Sales Invoice`` documents converted from the order
  (``CREATEDFROM``), whose lines carry the order line's ``LINE_NO``.
- shipments: ``Shipper`` documents: carrier ``SHIPVIA``, tracking number in the custom field
  ``TRACKINGNUMBER`` (configurable), ship date ``WHENCREATED``.
- invoices: ``ARINVOICE``; net and tax from the ``Sales Invoice`` document it was posted from
  (``DOCHDRKEY``: ``SUBTOTAL``, ``TOTAL - SUBTOTAL``), which also names the order.
- payments: ``ARPYMT`` + ``ARPYMTDETAIL`` (the invoices each payment was applied to).
- credit: ``CUSTOMER`` by ``WHENMODIFIED``, then the adapter's own credit read per customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from system_apis.changes import (
    ChangeWindow,
    CreditChange,
    InvoiceChange,
    OrderChange,
    OrderLineState,
    PaymentApplication,
    PaymentChange,
    ShipmentChange,
    ShipmentLine,
)
from system_apis.contract import CallContext, Vendor
from system_apis.sage_intacct.adapter import IntacctAdapter
from system_apis.sage_intacct.pricing import parse_date, parse_decimal
from system_apis.sage_intacct.wire import Record, quote

__all__ = ["IntacctChangeFeed", "intacct_timestamp", "parse_timestamp"]

_ZERO = Decimal(0)
_CHUNK = 100
_HEAD = ("RECORDNO", "DOCNO", "DOCID", "STATE", "PONUMBER", "CUSTVENDID", "CURRENCY", "TOTAL",
         "WHENDUE", "MESSAGE", "WHENMODIFIED")  # fmt: skip
_LINE = ("DOCHDRID", "LINE_NO", "ITEMID", "QUANTITY", "UNIT", "PRICE", "STATE", "QTY_CONVERTED")
_CHILD = ("DOCID", "DOCPARID", "CREATEDFROM", "STATE")
_CHILD_LINE = ("DOCHDRID", "LINE_NO", "QUANTITY")
_PO_PREFIX = "Customer PO "
"""How ``IntacctAdapter.create_order`` records the customer's PO (Intacct has no field for it
beside the reference, which carries the Salesforce Order id)."""
_ALLOCATED_STATES = frozenset({"In Progress", "Partially Converted", "Converted"})


def intacct_timestamp(value: datetime) -> str:
    """An aware instant as Intacct's GMT ``MM/DD/YYYY HH:MM:SS`` (seconds are truncated)."""
    return value.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def parse_timestamp(text: str) -> datetime:
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return datetime(1970, 1, 1, tzinfo=UTC)


def _dec(text: str | None) -> Decimal:
    return parse_decimal(text or "") or _ZERO


def _in(field: str, values: Iterable[str]) -> str:
    return f"{field} IN ({', '.join(quote(v) for v in values)})"


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _order_no(docid: str) -> str:
    return docid.partition("-")[2] if docid.startswith("Sales Order-") else docid


class IntacctChangeFeed:
    """``system_apis.changes.ChangeFeed`` for one Intacct company (``ctx.company`` = entity)."""

    def __init__(self, adapter: IntacctAdapter, *, tracking_field: str = "TRACKINGNUMBER") -> None:
        self.adapter = adapter
        self.client = adapter.client
        self.tracking_field = tracking_field

    @property
    def vendor(self) -> Vendor:
        return "sage_intacct"

    @staticmethod
    def _window(window: ChangeWindow) -> str:
        text = f"WHENMODIFIED >= '{intacct_timestamp(window.since)}'"
        if window.until is not None:
            text += f" AND WHENMODIFIED < '{intacct_timestamp(window.until)}'"
        return text

    async def _read(
        self, ctx: CallContext, obj: str, fields: tuple[str, ...], query: str
    ) -> list[Record]:
        return await self.client.read_by_query(ctx, obj, fields, query, pagesize=1000)

    async def _read_in(
        self,
        ctx: CallContext,
        obj: str,
        fields: tuple[str, ...],
        field: str,
        values: Sequence[str],
        *,
        extra: str = "",
    ) -> list[Record]:
        rows: list[Record] = []
        for chunk in _chunks(sorted(set(values))):
            rows.extend(await self._read(ctx, obj, fields, extra + _in(field, chunk)))
        return rows

    # --- orders -------------------------------------------------------------------------------

    async def orders(self, ctx: CallContext, window: ChangeWindow) -> list[OrderChange]:
        heads = await self._read(
            ctx, "SODOCUMENT", _HEAD, f"DOCPARID = 'Sales Order' AND {self._window(window)}"
        )
        if not heads:
            return []
        docids = [h["DOCID"] for h in heads]
        lines = await self._read_in(ctx, "SODOCUMENTENTRY", _LINE, "DOCHDRID", docids)
        children = await self._read_in(
            ctx, "SODOCUMENT", _CHILD, "CREATEDFROM", docids,
            extra="DOCPARID IN ('Shipper', 'Sales Invoice') AND ",
        )  # fmt: skip
        child_lines = await self._read_in(
            ctx, "SODOCUMENTENTRY", _CHILD_LINE, "DOCHDRID", [c["DOCID"] for c in children]
        )
        parent_of = {c["DOCID"]: c for c in children}
        shipped: dict[tuple[str, str], Decimal] = {}
        invoiced: dict[tuple[str, str], Decimal] = {}
        for cl in child_lines:
            child = parent_of.get(cl["DOCHDRID"])
            if child is None:
                continue
            target = shipped if child["DOCPARID"] == "Shipper" else invoiced
            key = (child["CREATEDFROM"], cl["LINE_NO"])
            target[key] = target.get(key, _ZERO) + _dec(cl["QUANTITY"])
        by_doc: dict[str, list[Record]] = {}
        for line in lines:
            by_doc.setdefault(line["DOCHDRID"], []).append(line)
        changes = []
        for head in heads:
            states = []
            for line in sorted(by_doc.get(head["DOCID"], []), key=lambda r: int(r["LINE_NO"] or 0)):
                ordered = _dec(line["QUANTITY"])
                key = (head["DOCID"], line["LINE_NO"])
                states.append(
                    OrderLineState(
                        line_no=int(line["LINE_NO"] or 0),
                        item_id=line["ITEMID"],
                        uom=line["UNIT"],
                        ordered=ordered,
                        confirmed=ordered if head["STATE"] in _ALLOCATED_STATES else _ZERO,
                        shipped=shipped.get(key, _dec(line["QTY_CONVERTED"])),
                        invoiced=invoiced.get(key, _ZERO),
                        unit_price=parse_decimal(line["PRICE"]),
                        status=line["STATE"] or head["STATE"],
                    )
                )
            changes.append(
                OrderChange(
                    order_id=head["DOCNO"],
                    external_ref=head["PONUMBER"] or None,
                    customer_id=head["CUSTVENDID"],
                    status=head["STATE"],
                    phase=_phase(head["STATE"], states),
                    currency=head["CURRENCY"] or None,
                    total=parse_decimal(head["TOTAL"]),
                    customer_po=_customer_po(head["MESSAGE"]),
                    requested_date=parse_date(head["WHENDUE"]),
                    lines=tuple(states),
                    modified=parse_timestamp(head["WHENMODIFIED"]),
                )
            )
        return changes

    # --- shipments ----------------------------------------------------------------------------

    async def shipments(self, ctx: CallContext, window: ChangeWindow) -> list[ShipmentChange]:
        fields = ("DOCNO", "DOCID", "CREATEDFROM", "PONUMBER", "CUSTVENDID", "SHIPVIA",
                  self.tracking_field, "WHENCREATED", "WHENMODIFIED")  # fmt: skip
        heads = await self._read(
            ctx, "SODOCUMENT", fields, f"DOCPARID = 'Shipper' AND {self._window(window)}"
        )
        lines = await self._read_in(
            ctx, "SODOCUMENTENTRY", ("DOCHDRID", "LINE_NO", "ITEMID", "QUANTITY", "UNIT"),
            "DOCHDRID", [h["DOCID"] for h in heads],
        )  # fmt: skip
        by_doc: dict[str, list[Record]] = {}
        for line in lines:
            by_doc.setdefault(line["DOCHDRID"], []).append(line)
        return [
            ShipmentChange(
                shipment_id=h["DOCNO"],
                order_id=_order_no(h["CREATEDFROM"]),
                external_ref=h["PONUMBER"] or None,
                customer_id=h["CUSTVENDID"],
                carrier=h["SHIPVIA"] or None,
                tracking_number=h.get(self.tracking_field) or None,
                shipped_on=parse_date(h["WHENCREATED"]),
                lines=tuple(
                    ShipmentLine(
                        line_no=int(ln["LINE_NO"] or 0),
                        item_id=ln["ITEMID"],
                        quantity=_dec(ln["QUANTITY"]),
                        uom=ln["UNIT"],
                    )
                    for ln in sorted(
                        by_doc.get(h["DOCID"], []), key=lambda r: int(r["LINE_NO"] or 0)
                    )
                ),
                modified=parse_timestamp(h["WHENMODIFIED"]),
            )
            for h in heads
        ]

    # --- invoices -----------------------------------------------------------------------------

    async def invoices(self, ctx: CallContext, window: ChangeWindow) -> list[InvoiceChange]:
        fields = ("RECORDNO", "RECORDID", "CUSTOMERID", "WHENCREATED", "WHENDUE", "CURRENCY",
                  "TOTALENTERED", "TOTALPAID", "TOTALDUE", "STATE", "DOCHDRKEY", "WHENMODIFIED")  # fmt: skip
        rows = await self._read(ctx, "ARINVOICE", fields, self._window(window))
        keys = [r["DOCHDRKEY"] for r in rows if r["DOCHDRKEY"]]
        documents = {
            d["RECORDNO"]: d
            for d in await self._read_in(
                ctx,
                "SODOCUMENT",
                ("RECORDNO", "CREATEDFROM", "PONUMBER", "SUBTOTAL", "TOTAL"),
                "RECORDNO",
                keys,
            )
        }
        changes = []
        for r in rows:
            total = _dec(r["TOTALENTERED"])
            doc = documents.get(r["DOCHDRKEY"])
            net = _dec(doc["SUBTOTAL"]) if doc else total
            changes.append(
                InvoiceChange(
                    invoice_id=r["RECORDID"] or r["RECORDNO"],
                    order_id=_order_no(doc["CREATEDFROM"]) if doc else None,
                    external_ref=(doc["PONUMBER"] or None) if doc else None,
                    customer_id=r["CUSTOMERID"],
                    invoice_date=parse_date(r["WHENCREATED"]),
                    due_date=parse_date(r["WHENDUE"]),
                    currency=r["CURRENCY"],
                    net_amount=net,
                    tax_amount=total - net,
                    total=total,
                    paid=_dec(r["TOTALPAID"]),
                    due=_dec(r["TOTALDUE"]),
                    status=_invoice_status(r["STATE"]),
                    modified=parse_timestamp(r["WHENMODIFIED"]),
                )
            )
        return changes

    # --- payments -----------------------------------------------------------------------------

    async def payments(self, ctx: CallContext, window: ChangeWindow) -> list[PaymentChange]:
        fields = ("RECORDNO", "DOCNUMBER", "CUSTOMERID", "RECEIPTDATE", "CURRENCY",
                  "TOTALENTERED", "PAYMENTMETHOD", "STATE", "WHENMODIFIED")  # fmt: skip
        rows = await self._read(ctx, "ARPYMT", fields, self._window(window))
        details = await self._read_in(
            ctx, "ARPYMTDETAIL", ("PAYMENTKEY", "RECORDKEY", "TRX_PAYMENTAMOUNT"), "PAYMENTKEY",
            [r["RECORDNO"] for r in rows],
        )  # fmt: skip
        invoice_ids = {
            i["RECORDNO"]: i["RECORDID"]
            for i in await self._read_in(
                ctx,
                "ARINVOICE",
                ("RECORDNO", "RECORDID"),
                "RECORDNO",
                [d["RECORDKEY"] for d in details],
            )
        }
        applied: dict[str, list[PaymentApplication]] = {}
        for d in details:
            applied.setdefault(d["PAYMENTKEY"], []).append(
                PaymentApplication(
                    invoice_id=invoice_ids.get(d["RECORDKEY"], d["RECORDKEY"]),
                    amount=_dec(d["TRX_PAYMENTAMOUNT"]),
                )
            )
        return [
            PaymentChange(
                payment_id=r["DOCNUMBER"] or r["RECORDNO"],
                customer_id=r["CUSTOMERID"],
                paid_on=parse_date(r["RECEIPTDATE"]),
                currency=r["CURRENCY"],
                amount=_dec(r["TOTALENTERED"]),
                method=r["PAYMENTMETHOD"] or None,
                applications=tuple(applied.get(r["RECORDNO"], ())),
                modified=parse_timestamp(r["WHENMODIFIED"]),
            )
            for r in rows
            if r["STATE"] not in ("Draft", "Voided", "Reversed")
        ]

    # --- credit -------------------------------------------------------------------------------

    async def credit(self, ctx: CallContext, window: ChangeWindow) -> list[CreditChange]:
        rows = await self._read(
            ctx, "CUSTOMER", ("CUSTOMERID", "STATUS", "WHENMODIFIED"), self._window(window)
        )
        changes = []
        for r in rows:
            credit = await self.adapter.get_customer_credit(ctx, r["CUSTOMERID"])
            changes.append(
                CreditChange(
                    customer_id=credit.customer_id,
                    currency=credit.currency,
                    credit_limit=credit.credit_limit,
                    exposure=credit.exposure,
                    overdue=credit.overdue_amount,
                    on_hold=credit.on_hold,
                    hold_reason=credit.hold_reason
                    or ("On hold in Sage Intacct" if credit.on_hold else None),
                    modified=parse_timestamp(r["WHENMODIFIED"]),
                )
            )
        return changes


def _customer_po(message: str) -> str | None:
    """The customer's PO the adapter wrote on the message's first line (``Customer PO …``)."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first[len(_PO_PREFIX) :].strip() or None if first.startswith(_PO_PREFIX) else None


def _phase(
    state: str, lines: list[OrderLineState]
) -> Literal[
    "booked", "allocated", "partially_shipped", "shipped", "partially_invoiced", "invoiced",
    "closed", "cancelled",
]:  # fmt: skip
    if lines and all(ln.invoiced >= ln.ordered for ln in lines):
        return "invoiced"
    if any(ln.invoiced > 0 for ln in lines):
        return "partially_invoiced"
    if lines and all(ln.shipped >= ln.ordered for ln in lines):
        return "shipped"
    if any(ln.shipped > 0 for ln in lines):
        return "partially_shipped"
    if state == "Closed":
        return "closed"
    if state in _ALLOCATED_STATES:
        return "allocated"
    return "booked"


def _invoice_status(state: str) -> Literal["Open", "Partially_Paid", "Paid", "Void"]:
    if state == "Paid":
        return "Paid"
    if state == "Partially Paid":
        return "Partially_Paid"
    if state in ("Reversed", "Reversal"):
        return "Void"
    return "Open"
