"""Experience requests as process requests: the one place either experience maps its input.

Both experiences take lines as ``lineNo, sku, quantity, uom`` (plus ``unitPrice`` and
``requestedDate`` where they apply) and name the customer by Salesforce Account id (the portal
from the path, after checking the partner owns it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from process_apis.models import (
    AtpLine,
    AtpRequest,
    CreditCheckRequest,
    PriceCheckRequest,
    PriceLine,
    QuoteLine,
    ValidateQuoteRequest,
)

__all__ = ["atp_request", "credit_request", "price_request", "quote_request"]


class _Line(Protocol):
    @property
    def line_no(self) -> int | None: ...
    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def uom(self) -> str: ...


class _DatedLine(_Line, Protocol):
    @property
    def requested_date(self) -> dt.date | None: ...


class _PricedLine(_DatedLine, Protocol):
    @property
    def unit_price(self) -> Decimal: ...


def price_request(
    entity: str,
    account_id: str,
    currency: str,
    lines: Sequence[_Line],
    *,
    on_date: dt.date | None = None,
) -> PriceCheckRequest:
    return PriceCheckRequest(
        entity=entity,
        account_id=account_id,
        currency=currency,
        date=on_date,
        lines=[
            PriceLine(line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom)
            for ln in lines
        ],
    )


def atp_request(entity: str, lines: Sequence[_DatedLine]) -> AtpRequest:
    return AtpRequest(
        entity=entity,
        lines=[
            AtpLine(
                line_no=ln.line_no,
                sku=ln.sku,
                quantity=ln.quantity,
                uom=ln.uom,
                requested_date=ln.requested_date,
            )
            for ln in lines
        ],
    )


def quote_request(
    entity: str,
    account_id: str,
    currency: str,
    lines: Sequence[_PricedLine],
    *,
    quote_id: str | None = None,
    requested_date: dt.date | None = None,
) -> ValidateQuoteRequest:
    return ValidateQuoteRequest(
        entity=entity,
        account_id=account_id,
        quote_id=quote_id,
        currency=currency,
        requested_date=requested_date,
        lines=[
            QuoteLine(
                line_no=ln.line_no,
                sku=ln.sku,
                quantity=ln.quantity,
                uom=ln.uom,
                quoted_unit_price=ln.unit_price,
                requested_date=ln.requested_date,
            )
            for ln in lines
        ],
    )


def credit_request(
    entity: str, account_id: str, *, amount: Decimal | None = None, currency: str | None = None
) -> CreditCheckRequest:
    return CreditCheckRequest(
        entity=entity, account_id=account_id, amount=amount, currency=currency
    )
