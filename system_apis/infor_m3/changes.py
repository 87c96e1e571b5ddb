"""``ChangeFeed`` over M3 MI: what changed, by change stamp (``LMTS``), through ``EXPORTMI``.

``EXPORTMI/Select`` (M3's generic extract API, one table per query) finds the documents whose
change stamp falls in the window — ``OOHEAD`` (orders), ``MHDISH`` (deliveries), ``OINVOH``
(invoices), ``FSLEDG`` (customer ledger: payments, ``ESTRCD`` 20) and ``OCUSMA`` (customers) —
in one answer per window (``maxrecs=0``). The details come from the standard transactions
where they exist: ``OIS100MI/GetHead`` + ``LstLine`` per order, ``MWS411MI/LstDelLnByOrd``
per delivered order, and the adapter's own credit read per customer.

Change stamps are ``YYYYMMDDHHMMSSmmm`` in the M3 company's time zone (``timezone``, UTC by
default). The table and column names of the extract are kept in ``_QUERIES``: they are our
reading of M3's tables (UNVERIFIED beyond ``OOHEAD``/``OOLINE``/``OCUSMA`` and ``LMTS``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
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
from system_apis.errors import BackendError
from system_apis.infor_m3.adapter import M3Adapter
from system_apis.infor_m3.client import Record

__all__ = ["M3ChangeFeed", "format_lmts", "parse_lmts"]

_ZERO = Decimal(0)
_SEP = "\t"
_QUERIES = {
    "orders": ("OOHEAD", "OA", ("ORNO", "DIVI", "LMTS")),
    "shipments": ("MHDISH", "OQ", ("DLIX", "RIDN", "CONA", "FWNO", "ETRN", "DSDT", "LMTS")),
    "invoices": ("OINVOH", "UH", ("DIVI", "YEA4", "IVNO", "ORNO", "CUNO", "IVDT", "DUDT",
                                  "CUCD", "NTAM", "VTAM", "IVAM", "RAFC", "LMTS")),
    "payments": ("FSLEDG", "ES", ("DIVI", "VONO", "CINO", "INYR", "CUNO", "ACDT", "CUCD",
                                  "CUAM", "PYCD", "LMTS")),
    "credit": ("OCUSMA", "OK", ("CUNO", "LMTS")),
}  # fmt: skip


def format_lmts(value: datetime, zone: tzinfo = UTC) -> str:
    local = value.astimezone(zone)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def parse_lmts(text: str, zone: tzinfo = UTC) -> datetime:
    digits = text.strip()
    try:
        parsed = datetime.strptime(digits[:14], "%Y%m%d%H%M%S")
        millis = int(digits[14:17] or 0)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return parsed.replace(microsecond=millis * 1000, tzinfo=zone).astimezone(UTC)


def _dec(text: str | None) -> Decimal:
    try:
        return Decimal((text or "").strip() or "0")
    except InvalidOperation:
        return _ZERO


def _ymd(text: str | None) -> date | None:
    raw = (text or "").strip()
    if not raw or raw == "0":
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


class M3ChangeFeed:
    """``system_apis.changes.ChangeFeed`` for one M3 company (``ctx.company`` = CONO); rows of
    other divisions than ``ctx.division`` are left out where M3 records the division."""

    def __init__(self, adapter: M3Adapter, *, timezone: tzinfo = UTC) -> None:
        self.adapter = adapter
        self.mi = adapter.mi
        self.zone = timezone

    @property
    def vendor(self) -> Vendor:
        return "infor_m3"

    async def _select(
        self, ctx: CallContext, kind: str, window: ChangeWindow, extra: str = ""
    ) -> list[dict[str, str]]:
        table, prefix, fields = _QUERIES[kind]
        where = f"{prefix}LMTS >= {format_lmts(window.since, self.zone)}"
        if window.until is not None:
            where += f" and {prefix}LMTS < {format_lmts(window.until, self.zone)}"
        if extra:
            where += f" and {extra}"
        query = f"{', '.join(prefix + f for f in fields)} from {table} where {where}"
        records = await self.mi.execute(
            ctx, "EXPORTMI", "Select", {"SEPC": _SEP, "HDRS": "0", "QERY": query}, maxrecs=0
        )
        rows = []
        for record in records:
            values = record.get("REPL", "").split(_SEP)
            values += [""] * (len(fields) - len(values))
            rows.append({f: v.strip() for f, v in zip(fields, values, strict=False)})
        return rows

    def _mine(self, ctx: CallContext, row: dict[str, str]) -> bool:
        return not ctx.division or not row.get("DIVI") or row["DIVI"] == ctx.division

    async def _head(self, ctx: CallContext, orno: str, cache: dict[str, Record]) -> Record | None:
        if orno not in cache:
            try:
                found = await self.mi.execute(ctx, "OIS100MI", "GetHead", {"ORNO": orno}, maxrecs=1)
            except BackendError:
                found = []
            cache[orno] = found[0] if found else {}
        return cache[orno] or None

    # --- orders -------------------------------------------------------------------------------

    async def orders(self, ctx: CallContext, window: ChangeWindow) -> list[OrderChange]:
        rows = [r for r in await self._select(ctx, "orders", window) if self._mine(ctx, r)]
        changes = []
        heads: dict[str, Record] = {}
        for row in rows:
            head = await self._head(ctx, row["ORNO"], heads)
            if head is None:
                continue
            lines = await self.mi.execute(
                ctx, "OIS100MI", "LstLine", {"ORNO": row["ORNO"]}, maxrecs=0
            )
            states = [_line_state(ln) for ln in lines]
            lowest, highest = head.get("ORSL", ""), head.get("ORST", "")
            changes.append(
                OrderChange(
                    order_id=row["ORNO"],
                    external_ref=head.get("CUOR") or None,
                    customer_id=head.get("CUNO", ""),
                    status=f"{lowest}/{highest}" if lowest != highest else highest,
                    phase=_phase(states, lowest, highest),
                    currency=head.get("CUCD") or None,
                    total=_dec(head.get("NTAM")) if head.get("NTAM") else None,
                    customer_po=head.get("YREF") or None,
                    requested_date=_ymd(head.get("RLDT")),
                    lines=tuple(states),
                    modified=parse_lmts(row["LMTS"], self.zone),
                )
            )
        return changes

    # --- shipments ----------------------------------------------------------------------------

    async def shipments(self, ctx: CallContext, window: ChangeWindow) -> list[ShipmentChange]:
        rows = await self._select(ctx, "shipments", window, "OQRORC = 3")
        heads: dict[str, Record] = {}
        lines_of: dict[str, list[Record]] = {}
        changes = []
        for row in rows:
            head = await self._head(ctx, row["RIDN"], heads)
            if head is None or not self._mine(ctx, head):
                continue
            if row["RIDN"] not in lines_of:
                lines_of[row["RIDN"]] = await self.mi.execute(
                    ctx, "MWS411MI", "LstDelLnByOrd", {"RORC": "3", "RIDN": row["RIDN"]},
                    maxrecs=0,
                )  # fmt: skip
            lines = [ln for ln in lines_of[row["RIDN"]] if ln.get("DLIX") == row["DLIX"]]
            changes.append(
                ShipmentChange(
                    shipment_id=row["DLIX"],
                    order_id=row["RIDN"],
                    external_ref=head.get("CUOR") or None,
                    customer_id=row["CONA"] or head.get("CUNO", ""),
                    carrier=row["FWNO"] or None,
                    tracking_number=row["ETRN"] or None,
                    shipped_on=_ymd(row["DSDT"]),
                    lines=tuple(
                        ShipmentLine(
                            line_no=int(_dec(ln.get("RIDL"))),
                            item_id=ln.get("ITNO", ""),
                            quantity=_dec(ln.get("TRQA"))
                            if ln.get("ALUN")
                            else _dec(ln.get("TRQT")),
                            uom=ln.get("ALUN", ""),
                        )
                        for ln in lines
                    ),
                    modified=parse_lmts(row["LMTS"], self.zone),
                )
            )
        return changes

    # --- invoices -----------------------------------------------------------------------------

    async def invoices(self, ctx: CallContext, window: ChangeWindow) -> list[InvoiceChange]:
        rows = [r for r in await self._select(ctx, "invoices", window) if self._mine(ctx, r)]
        heads: dict[str, Record] = {}
        changes = []
        for row in rows:
            head = await self._head(ctx, row["ORNO"], heads) if row["ORNO"] else None
            total, remaining = _dec(row["IVAM"]), _dec(row["RAFC"])
            status: Literal["Open", "Partially_Paid", "Paid", "Void"] = (
                "Paid" if remaining <= 0 else "Partially_Paid" if remaining < total else "Open"
            )
            changes.append(
                InvoiceChange(
                    invoice_id=f"{row['YEA4']}-{row['IVNO']}",
                    order_id=row["ORNO"] or None,
                    external_ref=(head.get("CUOR") or None) if head else None,
                    customer_id=row["CUNO"],
                    invoice_date=_ymd(row["IVDT"]),
                    due_date=_ymd(row["DUDT"]),
                    currency=row["CUCD"],
                    net_amount=_dec(row["NTAM"]),
                    tax_amount=_dec(row["VTAM"]),
                    total=total,
                    paid=total - remaining,
                    due=remaining,
                    status=status,
                    modified=parse_lmts(row["LMTS"], self.zone),
                )
            )
        return changes

    # --- payments -----------------------------------------------------------------------------

    async def payments(self, ctx: CallContext, window: ChangeWindow) -> list[PaymentChange]:
        rows = [
            r
            for r in await self._select(ctx, "payments", window, "ESTRCD = 20")
            if self._mine(ctx, r)
        ]
        grouped: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            grouped.setdefault(row["VONO"], []).append(row)
        changes = []
        for number, parts in grouped.items():
            first = parts[0]
            applications = tuple(
                PaymentApplication(invoice_id=f"{p['INYR']}-{p['CINO']}", amount=-_dec(p["CUAM"]))
                for p in parts
            )
            changes.append(
                PaymentChange(
                    payment_id=number,
                    customer_id=first["CUNO"],
                    paid_on=_ymd(first["ACDT"]),
                    currency=first["CUCD"],
                    amount=sum((a.amount for a in applications), _ZERO),
                    method=first["PYCD"] or None,
                    applications=applications,
                    modified=max(parse_lmts(p["LMTS"], self.zone) for p in parts),
                )
            )
        return changes

    # --- credit -------------------------------------------------------------------------------

    async def credit(self, ctx: CallContext, window: ChangeWindow) -> list[CreditChange]:
        changes = []
        for row in await self._select(ctx, "credit", window):
            credit = await self.adapter.get_customer_credit(ctx, row["CUNO"])
            changes.append(
                CreditChange(
                    customer_id=credit.customer_id,
                    currency=credit.currency,
                    credit_limit=credit.credit_limit,
                    exposure=credit.exposure,
                    overdue=credit.overdue_amount,
                    on_hold=credit.on_hold,
                    hold_reason=credit.hold_reason,
                    modified=parse_lmts(row["LMTS"], self.zone),
                )
            )
        return changes


def _line_state(line: Record) -> OrderLineState:
    basic = _dec(line.get("ORQT"))
    alternate = _dec(line.get("ORQA")) if line.get("ALUN") else basic
    ratio = alternate / basic if basic else Decimal(1)

    def in_unit(field: str) -> Decimal:
        return (_dec(line.get(field)) * ratio).normalize()

    return OrderLineState(
        line_no=int(_dec(line.get("PONR"))),
        item_id=line.get("ITNO", ""),
        uom=line.get("ALUN", ""),
        ordered=alternate,
        confirmed=in_unit("ALQT"),
        shipped=in_unit("DLQT"),
        invoiced=in_unit("IVQT"),
        unit_price=_dec(line.get("NEPR") or line.get("SAPR")),
        status=line.get("ORST", ""),
        promised=_ymd(line.get("CODT")),
    )


def _phase(
    lines: list[OrderLineState], lowest: str, highest: str
) -> Literal[
    "booked", "allocated", "partially_shipped", "shipped", "partially_invoiced", "invoiced",
    "closed", "cancelled",
]:  # fmt: skip
    if lowest == "90":
        return "cancelled"
    if lowest == "99":
        return "closed"
    if lines and all(ln.invoiced >= ln.ordered for ln in lines):
        return "invoiced"
    if any(ln.invoiced > 0 for ln in lines) or highest.endswith("7"):
        return "partially_invoiced"
    if lines and all(ln.shipped >= ln.ordered for ln in lines):
        return "shipped"
    if any(ln.shipped > 0 for ln in lines) or highest.endswith("6"):
        return "partially_shipped"
    if lines and all(ln.confirmed >= ln.ordered for ln in lines):
        return "allocated"
    return "booked"
