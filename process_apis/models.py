"""Process API payloads: strict requests, tolerant-to-evolve responses (camelCase on the wire).

Money and quantities travel as decimal strings (``"12.50"``): exact, and what Apex's
``Decimal.valueOf`` reads. Every response section says where its data came from and when.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import msgspec

from process_apis.decimals import (
    AMOUNT_PATTERN,
    QUANTITY_PATTERN,
    AmountString,
    QuantityString,
    plain_decimals,
)
from process_apis.money import Conversion

__all__ = [
    "AMOUNT_PATTERN",
    "QUANTITY_PATTERN",
    "AtpLine",
    "AtpLineResult",
    "AtpRequest",
    "AtpResult",
    "CreditCheckRequest",
    "CreditCheckResult",
    "CreditSummary",
    "CustomerRequest",
    "DiscountOut",
    "PriceCheckRequest",
    "PriceCheckResult",
    "PriceLine",
    "PriceLineResult",
    "Provenance",
    "QuoteLine",
    "QuoteLineResult",
    "Reason",
    "Severity",
    "ValidateQuoteRequest",
    "ValidateQuoteResult",
    "Verdict",
    "WarehouseAvailability",
]

MAX_LINES = 500
Entity = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,20}$", examples=["US01", "DE01"])]
Currency = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["USD"])
]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=80, examples=["SKU-0001"])]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=10, examples=["Each", "Box"])]
AccountId = Annotated[
    str,
    msgspec.Meta(
        min_length=15,
        max_length=18,
        pattern=r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$",
        examples=["001Sbx000000001IAA"],
    ),
]
CustomerNumber = Annotated[
    str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
]
# Decimals in requests travel as strings matching the published pattern exactly; anything
# else (a JSON number, "1E+5", "2_0", " 2", non-ASCII digits) is refused (process_apis.decimals).
Quantity = Annotated[
    QuantityString,
    msgspec.Meta(
        extra_json_schema={
            "description": "Greater than 0, below 1e9, at most 6 decimal places",
            "examples": ["12"],
            "extra": {"pattern": QUANTITY_PATTERN},
        }
    ),
]
Amount = Annotated[
    AmountString,
    msgspec.Meta(
        extra_json_schema={
            "description": "0 or more, below 1e12, at most 6 decimal places",
            "examples": ["1250.00"],
            "extra": {"pattern": AMOUNT_PATTERN},
        }
    ),
]
WarehouseId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Severity = Literal["warn", "block"]
Verdict = Literal["ok", "warn", "block"]


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    def __post_init__(self) -> None:
        plain_decimals(self)


class _Response(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    pass


class CustomerRequest(_Request, kw_only=True):
    """A request about one customer of one legal entity."""

    EXACTLY_ONE_OF: ClassVar[tuple[str, ...]] = ("accountId", "customerNumber")
    """Wire names of which a request gives exactly one (documented in the OpenAPI schema)."""

    entity: Entity
    account_id: AccountId | None = None
    """Salesforce Account id (15 or 18 characters); or give ``customerNumber``."""
    customer_number: CustomerNumber | None = None
    """The ERP's customer number; or give ``accountId``."""


# ---------------------------------------------------------------- provenance and reasons


class Provenance(_Response, kw_only=True):
    """Where a section's data came from and how fresh it is."""

    status: Literal["complete", "partial", "unavailable"]
    vendor: str | None = None
    system: str | None = None
    as_of: dt.datetime | None = None
    """Oldest ``as of`` among the records used."""
    degraded: bool = False
    """True when last known-good (stale) data was served because the ERP failed or was late."""
    max_age_seconds: float | None = None
    reason: str | None = None
    """Why the section is partial or unavailable (e.g. ``DEADLINE_EXCEEDED``)."""


class Reason(_Response, kw_only=True):
    code: str
    """Machine-readable, e.g. ``PRICE_MISMATCH``, ``CREDIT_HOLD``."""
    severity: Severity
    message: str
    line_no: int | None = None


class _Line(_Request, kw_only=True):
    """What every request line names: a product, a quantity and its unit."""

    line_no: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit


# ---------------------------------------------------------------- price check


class PriceLine(_Line, kw_only=True):
    pass


class PriceCheckRequest(CustomerRequest, kw_only=True):
    currency: Currency
    date: dt.date | None = None
    """Pricing date (effective-dated prices); today when omitted."""
    lines: Annotated[list[PriceLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class DiscountOut(_Response, kw_only=True):
    kind: str
    value: Decimal
    label: str | None = None


class PriceLineResult(_Response, kw_only=True):
    line_no: int
    sku: str
    item_id: str | None
    quantity: Decimal
    uom: str
    status: Literal["ok", "unavailable", "error"]
    reason: str | None = None
    message: str | None = None
    currency: str | None = None
    list_price: Decimal | None = None
    """Per ``uom``, in ``currency``."""
    net_price: Decimal | None = None
    extended_net: Decimal | None = None
    discounts: list[DiscountOut] = []
    price_list: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    conversion: Conversion | None = None
    base_quantity: Decimal | None = None
    base_uom: str | None = None


class PriceCheckResult(_Response, kw_only=True):
    entity: str
    erp: str
    customer_number: str
    currency: str
    date: dt.date
    lines: list[PriceLineResult]
    provenance: Provenance


# ---------------------------------------------------------------- ATP


class AtpLine(_Line, kw_only=True):
    requested_date: dt.date | None = None
    warehouse: WarehouseId | None = None


class AtpRequest(_Request, kw_only=True):
    entity: Entity
    lines: Annotated[list[AtpLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class WarehouseAvailability(_Response, kw_only=True):
    warehouse: str
    available_now: Decimal
    """In the line's ``uom``."""
    on_hand: Decimal
    promise_date: dt.date | None
    """Earliest date the full line quantity is available here; null when not in view."""


class AtpLineResult(_Response, kw_only=True):
    line_no: int
    sku: str
    item_id: str | None
    quantity: Decimal
    uom: str
    requested_date: dt.date
    status: Literal["available", "partial", "backorder", "unavailable", "error"]
    reason: str | None = None
    message: str | None = None
    available_by_requested_date: Decimal | None = None
    """Best single warehouse's quantity by the requested date, in ``uom``."""
    promise_date: dt.date | None = None
    """Earliest date any one warehouse can ship the full quantity."""
    promise_warehouse: str | None = None
    warehouses: list[WarehouseAvailability] = []


class AtpResult(_Response, kw_only=True):
    entity: str
    erp: str
    lines: list[AtpLineResult]
    provenance: Provenance


# ---------------------------------------------------------------- credit


class CreditCheckRequest(CustomerRequest, kw_only=True):
    amount: Amount | None = None
    """Order amount to test against headroom, in ``currency`` (the customer's when omitted)."""
    currency: Currency | None = None


class CreditSummary(_Response, kw_only=True):
    customer_number: str
    name: str
    status: Literal["active", "inactive"]
    currency: str
    credit_limit: Decimal | None
    open_receivables: Decimal
    open_orders: Decimal
    exposure: Decimal
    headroom: Decimal | None
    overdue_amount: Decimal
    overdue_days: int
    on_hold: bool
    hold_reason: str | None = None
    terms: str | None = None


class CreditCheckResult(_Response, kw_only=True):
    entity: str
    erp: str
    verdict: Verdict
    reasons: list[Reason]
    credit: CreditSummary | None
    amount: Decimal | None = None
    """``amount`` in the customer's currency, when one was given."""
    conversion: Conversion | None = None
    provenance: Provenance


# ---------------------------------------------------------------- validate quote


class QuoteLine(_Line, kw_only=True):
    quoted_unit_price: Amount
    """The rep's unit price per ``uom``, in the quote currency."""
    requested_date: dt.date | None = None
    warehouse: WarehouseId | None = None


class ValidateQuoteRequest(CustomerRequest, kw_only=True):
    quote_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    currency: Currency
    date: dt.date | None = None
    """Pricing date; today when omitted."""
    requested_date: dt.date | None = None
    """Default delivery date for lines that name none; the pricing date when omitted."""
    lines: Annotated[list[QuoteLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class QuoteLineResult(_Response, kw_only=True):
    line_no: int
    sku: str
    item_id: str | None
    quantity: Decimal
    uom: str
    quoted_unit_price: Decimal
    net_unit_price: Decimal | None = None
    list_unit_price: Decimal | None = None
    price_delta: Decimal | None = None
    """quoted minus net, per unit."""
    price_status: Literal["match", "mismatch", "unavailable"]
    availability_status: Literal["available", "partial", "backorder", "unavailable"]
    promise_date: dt.date | None = None
    promise_warehouse: str | None = None
    available_by_requested_date: Decimal | None = None


class ValidateQuoteResult(_Response, kw_only=True):
    quote_id: str | None
    entity: str
    erp: str
    customer_number: str
    currency: str
    verdict: Verdict
    reasons: list[Reason]
    quote_total: Decimal
    credit: CreditSummary | None
    credit_verdict: Verdict = "ok"
    """The credit section's own verdict (its reasons only): ``warn`` when credit could not be
    checked, ``block`` for a hold, an exceeded limit, an inactive or unknown customer."""
    lines: list[QuoteLineResult]
    credit_provenance: Provenance
    price_provenance: Provenance
    availability_provenance: Provenance
    elapsed_ms: float
