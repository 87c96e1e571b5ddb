"""Portal payloads: the same questions answered with what a partner may see: contract (net)
prices, availability bands instead of warehouse quantities, credit as ``ok`` or
``contact_account_manager``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from app.experience import payloads
from process_apis.models import Currency

AvailabilityBand = Literal["in_stock", "limited", "backorder", "unavailable"]
"""The portal's view of availability: a band, never a warehouse quantity."""


class PortalMessage(payloads.Reply, kw_only=True):
    code: str
    message: str
    line_no: int | None = None


class PortalAccount(payloads.Reply, kw_only=True):
    account_id: str


class PortalAccounts(payloads.Reply, kw_only=True):
    partner_id: str
    accounts: list[PortalAccount] = []


class PortalCredit(payloads.Reply, kw_only=True):
    account_id: str
    entity: str
    status: Literal["ok", "contact_account_manager"]
    message: str


class PortalLineIn(payloads.LineIn, kw_only=True): ...


class PortalAvailabilityLineIn(payloads.DatedLineIn, kw_only=True): ...


class PortalQuoteLineIn(payloads.PricedLineIn, kw_only=True): ...


class PortalPriceRequest(payloads.EntityRequest, kw_only=True):
    currency: Currency
    lines: Annotated[list[PortalLineIn], payloads.Lines]


class PortalPriceLine(payloads.LineOut, kw_only=True):
    status: Literal["priced", "unavailable"]
    contract_price: Decimal | None = None
    """Your net unit price per ``uom``."""
    extended_price: Decimal | None = None
    valid_to: dt.date | None = None


class PortalPriceResult(payloads.Reply, kw_only=True):
    account_id: str
    currency: str
    lines: list[PortalPriceLine] = []


class PortalAvailabilityRequest(payloads.EntityRequest, kw_only=True):
    lines: Annotated[list[PortalAvailabilityLineIn], payloads.Lines]


class PortalAvailabilityLine(payloads.LineOut, kw_only=True):
    band: AvailabilityBand
    """``in_stock``: the full quantity by the requested date; ``limited``: part of it;
    ``backorder``: none of it (``availableDate`` says when, if known)."""
    available_date: dt.date | None = None


class PortalAvailabilityResult(payloads.Reply, kw_only=True):
    lines: list[PortalAvailabilityLine] = []


class PortalQuoteRequest(payloads.EntityRequest, kw_only=True):
    quote_id: payloads.QuoteId | None = None
    currency: Currency
    lines: Annotated[list[PortalQuoteLineIn], payloads.Lines]


class PortalQuoteLine(payloads.LineOut, kw_only=True):
    unit_price: Decimal
    contract_price: Decimal | None = None
    price_status: Literal["match", "mismatch", "unavailable"]
    band: AvailabilityBand
    available_date: dt.date | None = None


class PortalQuoteResult(payloads.Reply, kw_only=True):
    account_id: str
    quote_id: str | None = None
    status: Literal["ok", "review", "blocked"]
    currency: str
    total: Decimal
    credit: Literal["ok", "contact_account_manager"]
    lines: list[PortalQuoteLine] = []
    messages: list[PortalMessage] = []
