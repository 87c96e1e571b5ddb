"""What changed in an ERP since a point in time: the read side of the delta sync.

Each ERP adapter package offers a ``ChangeFeed`` over its own read APIs and modification
timestamps (Intacct ``WHENMODIFIED``, M3 ``LMTS`` change stamps). A feed answers every
document modified inside a window ``[since, until)``, each with the ERP's own modification
time, in the canonical shapes below; the sync flows never see vendor payloads. Reads are
whole windows from one consistent result (Intacct ``readByQuery``/``readMore``, one M3
selection), so nothing shifts between pages while a window is read.

Windows are half-open and compared on the ERP's clock; the flows keep an overlap so that
clock skew and documents committed within the same second are read again rather than
missed (keyed writes make the repeat harmless).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import msgspec

from system_apis.contract import CallContext, Vendor

__all__ = [
    "ChangeFeed",
    "ChangeWindow",
    "CreditChange",
    "ErpDocumentKind",
    "InvoiceChange",
    "OrderChange",
    "OrderLineState",
    "PaymentApplication",
    "PaymentChange",
    "ShipmentChange",
    "ShipmentLine",
]

ErpDocumentKind = Literal["orders", "shipments", "invoices", "payments", "credit"]

OrderPhase = Literal[
    "booked", "allocated", "partially_shipped", "shipped", "partially_invoiced", "invoiced",
    "closed", "cancelled",
]  # fmt: skip


class ChangeWindow(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    until: datetime | None = None
    """Exclusive upper bound; None reads up to the ERP's present."""


class OrderLineState(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    item_id: str
    uom: str
    ordered: Decimal
    confirmed: Decimal
    """Quantity the ERP committed to (allocated or reserved); 0 while not yet allocated."""
    shipped: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)
    unit_price: Decimal | None = None
    status: str
    """The ERP's own line status (M3 ``ORST`` 22…77, Intacct line state)."""
    promised: date | None = None


class OrderChange(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    external_ref: str | None
    """The reference the order was created with (Salesforce Order id), when the ERP holds it."""
    customer_id: str
    status: str
    """The ERP's own status, as the ERP words it."""
    phase: OrderPhase
    currency: str | None = None
    total: Decimal | None = None
    customer_po: str | None = None
    requested_date: date | None = None
    lines: tuple[OrderLineState, ...] = ()
    modified: datetime


class ShipmentLine(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    item_id: str
    quantity: Decimal
    uom: str


class ShipmentChange(msgspec.Struct, frozen=True, kw_only=True):
    shipment_id: str
    """The ERP's delivery / shipper number (unique within the ERP company)."""
    order_id: str
    external_ref: str | None = None
    customer_id: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_on: date | None = None
    lines: tuple[ShipmentLine, ...] = ()
    modified: datetime


class InvoiceChange(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str
    order_id: str | None = None
    external_ref: str | None = None
    customer_id: str
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str
    net_amount: Decimal
    tax_amount: Decimal = Decimal(0)
    total: Decimal
    paid: Decimal = Decimal(0)
    due: Decimal
    status: Literal["Open", "Partially_Paid", "Paid", "Void"]
    modified: datetime


class PaymentApplication(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str
    amount: Decimal


class PaymentChange(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str
    customer_id: str
    paid_on: date | None = None
    currency: str
    amount: Decimal
    method: str | None = None
    applications: tuple[PaymentApplication, ...] = ()
    modified: datetime


class CreditChange(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    currency: str
    credit_limit: Decimal | None
    exposure: Decimal
    overdue: Decimal = Decimal(0)
    on_hold: bool
    hold_reason: str | None = None
    modified: datetime


@runtime_checkable
class ChangeFeed(Protocol):
    """Documents modified in a window, per kind, for one ERP company (``ctx.company``)."""

    @property
    def vendor(self) -> Vendor: ...

    async def orders(self, ctx: CallContext, window: ChangeWindow) -> list[OrderChange]: ...

    async def shipments(self, ctx: CallContext, window: ChangeWindow) -> list[ShipmentChange]: ...

    async def invoices(self, ctx: CallContext, window: ChangeWindow) -> list[InvoiceChange]: ...

    async def payments(self, ctx: CallContext, window: ChangeWindow) -> list[PaymentChange]: ...

    async def credit(self, ctx: CallContext, window: ChangeWindow) -> list[CreditChange]: ...
