"""Portal payloads: the same questions answered with what a partner may see: contract (net)
prices, availability bands instead of warehouse quantities, credit as ``ok`` or
``contact_account_manager``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from app.experience.payloads import LineIn, Lines, QuoteId, Reply, Request
from process_apis.models import Amount, Currency, Entity

__all__ = [
    "AvailabilityBand",
    "PortalAccount",
    "PortalAccounts",
    "PortalAvailabilityLine",
    "PortalAvailabilityLineIn",
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

AvailabilityBand = Literal["in_stock", "limited", "backorder", "unavailable"]
"""The portal's view of availability: a band, never a warehouse quantity."""


class PortalMessage(Reply, kw_only=True):
    code: str
    message: str
    line_no: int | None = None


class PortalAccount(Reply, kw_only=True):
    account_id: str


class PortalAccounts(Reply, kw_only=True):
    partner_id: str
    accounts: list[PortalAccount] = []


class PortalCredit(Reply, kw_only=True):
    account_id: str
    entity: str
    status: Literal["ok", "contact_account_manager"]
    message: str


class PortalLineIn(LineIn, kw_only=True):
    pass


class PortalPriceRequest(Request, kw_only=True):
    entity: Entity
    currency: Currency
    lines: Annotated[list[PortalLineIn], Lines]


class PortalPriceLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    status: Literal["priced", "unavailable"]
    contract_price: Decimal | None = None
    """Your net unit price per ``uom``."""
    extended_price: Decimal | None = None
    valid_to: dt.date | None = None


class PortalPriceResult(Reply, kw_only=True):
    account_id: str
    currency: str
    lines: list[PortalPriceLine] = []


class PortalAvailabilityLineIn(PortalLineIn, kw_only=True):
    requested_date: dt.date | None = None


class PortalAvailabilityRequest(Request, kw_only=True):
    entity: Entity
    lines: Annotated[list[PortalAvailabilityLineIn], Lines]


class PortalAvailabilityLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    band: AvailabilityBand
    """``in_stock``: the full quantity by the requested date; ``limited``: part of it;
    ``backorder``: none of it (``availableDate`` says when, if known)."""
    available_date: dt.date | None = None


class PortalAvailabilityResult(Reply, kw_only=True):
    lines: list[PortalAvailabilityLine] = []


class PortalQuoteLineIn(PortalLineIn, kw_only=True):
    unit_price: Amount
    requested_date: dt.date | None = None


class PortalQuoteRequest(Request, kw_only=True):
    entity: Entity
    quote_id: QuoteId | None = None
    currency: Currency
    lines: Annotated[list[PortalQuoteLineIn], Lines]


class PortalQuoteLine(Reply, kw_only=True):
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    contract_price: Decimal | None = None
    price_status: Literal["match", "mismatch", "unavailable"]
    band: AvailabilityBand
    available_date: dt.date | None = None


class PortalQuoteResult(Reply, kw_only=True):
    account_id: str
    quote_id: str | None = None
    status: Literal["ok", "review", "blocked"]
    currency: str
    total: Decimal
    credit: Literal["ok", "contact_account_manager"]
    lines: list[PortalQuoteLine] = []
    messages: list[PortalMessage] = []
