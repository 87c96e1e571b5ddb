"""Lightning payloads: status enums a component can switch on (``READY | REVIEW | BLOCKED``,
``MATCH | MISMATCH``, ...), a label and an SLDS variant to show as is, one human-readable
message per reason, and full detail (quantities, credit headroom)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from app.experience.payloads import LineIn, Lines, QuoteId, Reply, Request
from process_apis.models import AccountId, Amount, Currency, Entity

__all__ = [
    "LightningAvailabilityLine",
    "LightningAvailabilityLineIn",
    "LightningAvailabilityRequest",
    "LightningAvailabilityResult",
    "LightningCredit",
    "LightningCreditResult",
    "LightningLineIn",
    "LightningMessage",
    "LightningPriceLine",
    "LightningPriceRequest",
    "LightningPriceResult",
    "LightningQuoteLine",
    "LightningQuoteLineIn",
    "LightningQuoteRequest",
    "LightningQuoteResult",
    "LightningWarehouse",
    "Variant",
]

Variant = Literal["success", "warning", "error", "info"]
"""SLDS variants (``lightning-badge``, toasts) matching the status."""


class LightningMessage(Reply, kw_only=True):
    code: str
    """Machine-readable reason, e.g. ``PRICE_MISMATCH``."""
    severity: Literal["WARNING", "ERROR"]
    title: str
    """Short, display-ready, e.g. "Price differs from the ERP"."""
    message: str
    line_no: int | None = None


class LightningLineIn(LineIn, kw_only=True):
    pass


class LightningQuoteLineIn(LightningLineIn, kw_only=True):
    unit_price: Amount
    """The rep's unit price per ``uom``, in the quote currency."""
    requested_date: dt.date | None = None


class LightningQuoteRequest(Request, kw_only=True):
    entity: Entity
    account_id: AccountId
    quote_id: QuoteId | None = None
    currency: Currency
    requested_date: dt.date | None = None
    lines: Annotated[list[LightningQuoteLineIn], Lines]


class LightningCredit(Reply, kw_only=True):
    status: Literal["OK", "REVIEW", "BLOCKED", "UNAVAILABLE"]
    label: str
    variant: Variant
    currency: str | None = None
    credit_limit: Decimal | None = None
    exposure: Decimal | None = None
    headroom: Decimal | None = None
    """Credit limit minus exposure; null when the customer has no limit."""
    open_receivables: Decimal | None = None
    open_orders: Decimal | None = None
    overdue_amount: Decimal | None = None
    on_hold: bool = False
    hold_reason: str | None = None


class LightningQuoteLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    net_unit_price: Decimal | None = None
    price_status: Literal["MATCH", "MISMATCH", "UNAVAILABLE"]
    price_label: str
    availability_status: Literal["AVAILABLE", "PARTIAL", "BACKORDER", "UNAVAILABLE"]
    availability_label: str
    available_quantity: Decimal | None = None
    """Quantity available by the requested date, in ``uom`` (best single warehouse)."""
    promise_date: dt.date | None = None


class LightningQuoteResult(Reply, kw_only=True):
    quote_id: str | None = None
    status: Literal["READY", "REVIEW", "BLOCKED"]
    label: str
    variant: Variant
    currency: str
    total: Decimal
    messages: list[LightningMessage] = []
    lines: list[LightningQuoteLine] = []
    credit: LightningCredit
    degraded: bool = False
    """True when some section is incomplete (ERP slow or down): review before relying on it."""
    elapsed_ms: float = 0.0


class LightningPriceRequest(Request, kw_only=True):
    entity: Entity
    account_id: AccountId
    currency: Currency
    date: dt.date | None = None
    lines: Annotated[list[LightningLineIn], Lines]


class LightningPriceLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    status: Literal["PRICED", "UNAVAILABLE", "ERROR"]
    label: str
    message: str | None = None
    list_price: Decimal | None = None
    net_price: Decimal | None = None
    extended_net: Decimal | None = None
    discount_percent: Decimal | None = None
    """List-to-net discount, rounded to 2 places."""
    price_list: str | None = None
    valid_to: dt.date | None = None


class LightningPriceResult(Reply, kw_only=True):
    currency: str
    lines: list[LightningPriceLine] = []
    degraded: bool = False


class LightningAvailabilityLineIn(LightningLineIn, kw_only=True):
    requested_date: dt.date | None = None


class LightningAvailabilityRequest(Request, kw_only=True):
    entity: Entity
    lines: Annotated[list[LightningAvailabilityLineIn], Lines]


class LightningWarehouse(Reply, kw_only=True):
    warehouse: str
    available_now: Decimal
    on_hand: Decimal
    promise_date: dt.date | None = None


class LightningAvailabilityLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    requested_date: dt.date
    status: Literal["AVAILABLE", "PARTIAL", "BACKORDER", "UNAVAILABLE", "ERROR"]
    label: str
    message: str | None = None
    available_quantity: Decimal | None = None
    promise_date: dt.date | None = None
    promise_warehouse: str | None = None
    warehouses: list[LightningWarehouse] = []


class LightningAvailabilityResult(Reply, kw_only=True):
    lines: list[LightningAvailabilityLine] = []
    degraded: bool = False


class LightningCreditResult(Reply, kw_only=True):
    account_id: str
    entity: str
    credit: LightningCredit
    messages: list[LightningMessage] = []
    amount: Decimal | None = None
    """The amount tested, in the customer's currency."""
