"""Lightning payloads: status enums a component can switch on (``READY | REVIEW | BLOCKED``,
``MATCH | MISMATCH``, ...), a label and an SLDS variant to show as is, one human-readable
message per reason, and full detail (quantities, credit headroom)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from app.experience import payloads
from process_apis.models import AccountId, Currency

Variant = Literal["success", "warning", "error", "info"]
"""SLDS variants (``lightning-badge``, toasts) matching the status."""


class LightningMessage(payloads.Reply, kw_only=True):
    code: str
    """Machine-readable reason, e.g. ``PRICE_MISMATCH``."""
    severity: Literal["WARNING", "ERROR"]
    title: str
    """Short, display-ready, e.g. "Price differs from the ERP"."""
    message: str
    line_no: int | None = None


# Lines in, named per experience: the spec's component names are what Apex classes are
# generated from.
class LightningLineIn(payloads.LineIn, kw_only=True): ...


class LightningQuoteLineIn(payloads.PricedLineIn, kw_only=True): ...


class LightningAvailabilityLineIn(payloads.DatedLineIn, kw_only=True): ...


class LightningQuoteRequest(payloads.EntityRequest, kw_only=True):
    account_id: AccountId
    quote_id: payloads.QuoteId | None = None
    currency: Currency
    requested_date: dt.date | None = None
    lines: Annotated[list[LightningQuoteLineIn], payloads.Lines]


class LightningCredit(payloads.Reply, kw_only=True):
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


class LightningQuoteLine(payloads.LineOut, kw_only=True):
    unit_price: Decimal
    net_unit_price: Decimal | None = None
    price_status: Literal["MATCH", "MISMATCH", "UNAVAILABLE"]
    price_label: str
    availability_status: Literal["AVAILABLE", "PARTIAL", "BACKORDER", "UNAVAILABLE"]
    availability_label: str
    available_quantity: Decimal | None = None
    """Quantity available by the requested date, in ``uom`` (best single warehouse)."""
    promise_date: dt.date | None = None


class LightningQuoteResult(payloads.Reply, kw_only=True):
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


class LightningPriceRequest(payloads.EntityRequest, kw_only=True):
    account_id: AccountId
    currency: Currency
    date: dt.date | None = None
    lines: Annotated[list[LightningLineIn], payloads.Lines]


class LightningPriceLine(payloads.LineOut, kw_only=True):
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


class LightningPriceResult(payloads.Reply, kw_only=True):
    currency: str
    lines: list[LightningPriceLine] = []
    degraded: bool = False


class LightningAvailabilityRequest(payloads.EntityRequest, kw_only=True):
    lines: Annotated[list[LightningAvailabilityLineIn], payloads.Lines]


class LightningWarehouse(payloads.Reply, kw_only=True):
    warehouse: str
    available_now: Decimal
    on_hand: Decimal
    promise_date: dt.date | None = None


class LightningAvailabilityLine(payloads.LineOut, kw_only=True):
    requested_date: dt.date
    status: Literal["AVAILABLE", "PARTIAL", "BACKORDER", "UNAVAILABLE", "ERROR"]
    label: str
    message: str | None = None
    available_quantity: Decimal | None = None
    promise_date: dt.date | None = None
    promise_warehouse: str | None = None
    warehouses: list[LightningWarehouse] = []


class LightningAvailabilityResult(payloads.Reply, kw_only=True):
    lines: list[LightningAvailabilityLine] = []
    degraded: bool = False


class LightningCreditResult(payloads.Reply, kw_only=True):
    account_id: str
    entity: str
    credit: LightningCredit
    messages: list[LightningMessage] = []
    amount: Decimal | None = None
    """The amount tested, in the customer's currency."""
