"""Payloads of the experience APIs: compact, camelCase, display-ready.

Lightning (internal users): status enums a component can switch on (``READY | REVIEW |
BLOCKED``, ``MATCH | MISMATCH``, ...), a label and an SLDS variant to show as is, and one
human-readable message per reason, plus full detail (quantities, credit headroom).

Portal (partners): the same questions answered with what a partner may see: contract (net)
prices, availability bands instead of warehouse quantities, credit as ``ok`` or
``contact_account_manager``.

Every response field has a default or is always present; new fields get defaults
(msgspec schema evolution), so older Apex classes keep deserialising newer answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from process_apis.decimals import plain_decimals
from process_apis.models import AccountId, Amount, Currency, Entity, Quantity, Sku, Unit

__all__ = [
    "AvailabilityBand",
    "LightningAvailabilityLine",
    "LightningAvailabilityRequest",
    "LightningAvailabilityResult",
    "LightningCredit",
    "LightningLineIn",
    "LightningMessage",
    "LightningPriceLine",
    "LightningPriceRequest",
    "LightningPriceResult",
    "LightningQuoteLine",
    "LightningQuoteLineIn",
    "LightningQuoteRequest",
    "LightningQuoteResult",
    "PortalAccount",
    "PortalAccounts",
    "PortalAvailabilityLine",
    "PortalAvailabilityRequest",
    "PortalAvailabilityResult",
    "PortalCredit",
    "PortalLineIn",
    "PortalMessage",
    "PortalPriceLine",
    "PortalPriceRequest",
    "PortalPriceResult",
    "PortalQuoteLine",
    "PortalQuoteLineIn",
    "PortalQuoteRequest",
    "PortalQuoteResult",
]

MAX_LINES = 200
"""Lower than the process API's: an interactive component never sends more."""
LineNo = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
QuoteId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
Variant = Literal["success", "warning", "error", "info"]
"""SLDS variants (``lightning-badge``, toasts) matching the status."""


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    def __post_init__(self) -> None:
        plain_decimals(self)


class _Out(msgspec.Struct, kw_only=True, rename="camel"):
    pass


# ================================================================ Lightning


class LightningMessage(_Out, kw_only=True):
    code: str
    """Machine-readable reason, e.g. ``PRICE_MISMATCH``."""
    severity: Literal["WARNING", "ERROR"]
    title: str
    """Short, display-ready, e.g. "Price differs from the ERP"."""
    message: str
    line_no: int | None = None


class LightningLineIn(_In, kw_only=True):
    line_no: LineNo | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit


class LightningQuoteLineIn(LightningLineIn, kw_only=True):
    unit_price: Amount
    """The rep's unit price per ``uom``, in the quote currency."""
    requested_date: dt.date | None = None


class LightningQuoteRequest(_In, kw_only=True):
    entity: Entity
    account_id: AccountId
    quote_id: QuoteId | None = None
    currency: Currency
    requested_date: dt.date | None = None
    lines: Annotated[list[LightningQuoteLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class LightningCredit(_Out, kw_only=True):
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


class LightningQuoteLine(_Out, kw_only=True):
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


class LightningQuoteResult(_Out, kw_only=True):
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


class LightningPriceRequest(_In, kw_only=True):
    entity: Entity
    account_id: AccountId
    currency: Currency
    date: dt.date | None = None
    lines: Annotated[list[LightningLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class LightningPriceLine(_Out, kw_only=True):
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


class LightningPriceResult(_Out, kw_only=True):
    currency: str
    lines: list[LightningPriceLine] = []
    degraded: bool = False


class LightningAvailabilityLineIn(LightningLineIn, kw_only=True):
    requested_date: dt.date | None = None


class LightningAvailabilityRequest(_In, kw_only=True):
    entity: Entity
    lines: Annotated[
        list[LightningAvailabilityLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)
    ]


class LightningWarehouse(_Out, kw_only=True):
    warehouse: str
    available_now: Decimal
    on_hand: Decimal
    promise_date: dt.date | None = None


class LightningAvailabilityLine(_Out, kw_only=True):
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


class LightningAvailabilityResult(_Out, kw_only=True):
    lines: list[LightningAvailabilityLine] = []
    degraded: bool = False


class LightningCreditResult(_Out, kw_only=True):
    account_id: str
    entity: str
    credit: LightningCredit
    messages: list[LightningMessage] = []
    amount: Decimal | None = None
    """The amount tested, in the customer's currency."""


# ================================================================ Portal

AvailabilityBand = Literal["in_stock", "limited", "backorder", "unavailable"]


class PortalMessage(_Out, kw_only=True):
    code: str
    message: str
    line_no: int | None = None


class PortalAccount(_Out, kw_only=True):
    account_id: str


class PortalAccounts(_Out, kw_only=True):
    partner_id: str
    accounts: list[PortalAccount] = []


class PortalCredit(_Out, kw_only=True):
    account_id: str
    entity: str
    status: Literal["ok", "contact_account_manager"]
    message: str


class PortalLineIn(_In, kw_only=True):
    line_no: LineNo | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit


class PortalPriceRequest(_In, kw_only=True):
    entity: Entity
    currency: Currency
    lines: Annotated[list[PortalLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class PortalPriceLine(_Out, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    status: Literal["priced", "unavailable"]
    contract_price: Decimal | None = None
    """Your net unit price per ``uom``."""
    extended_price: Decimal | None = None
    valid_to: dt.date | None = None


class PortalPriceResult(_Out, kw_only=True):
    account_id: str
    currency: str
    lines: list[PortalPriceLine] = []


class PortalAvailabilityLineIn(PortalLineIn, kw_only=True):
    requested_date: dt.date | None = None


class PortalAvailabilityRequest(_In, kw_only=True):
    entity: Entity
    lines: Annotated[
        list[PortalAvailabilityLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)
    ]


class PortalAvailabilityLine(_Out, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    band: AvailabilityBand
    """``in_stock``: the full quantity by the requested date; ``limited``: part of it;
    ``backorder``: none of it (``availableDate`` says when, if known)."""
    available_date: dt.date | None = None


class PortalAvailabilityResult(_Out, kw_only=True):
    lines: list[PortalAvailabilityLine] = []


class PortalQuoteLineIn(PortalLineIn, kw_only=True):
    unit_price: Amount
    requested_date: dt.date | None = None


class PortalQuoteRequest(_In, kw_only=True):
    entity: Entity
    quote_id: QuoteId | None = None
    currency: Currency
    lines: Annotated[list[PortalQuoteLineIn], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class PortalQuoteLine(_Out, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    contract_price: Decimal | None = None
    price_status: Literal["match", "mismatch", "unavailable"]
    band: AvailabilityBand
    available_date: dt.date | None = None


class PortalQuoteResult(_Out, kw_only=True):
    account_id: str
    quote_id: str | None = None
    status: Literal["ok", "review", "blocked"]
    currency: str
    total: Decimal
    credit: Literal["ok", "contact_account_manager"]
    lines: list[PortalQuoteLine] = []
    messages: list[PortalMessage] = []
