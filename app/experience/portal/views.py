"""Process answers as a partner may see them: contract prices, bands, credit ok or not."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from app.experience.payloads import echo
from app.experience.portal.models import (
    AvailabilityBand,
    PortalAvailabilityLine,
    PortalAvailabilityResult,
    PortalCredit,
    PortalMessage,
    PortalPriceLine,
    PortalPriceResult,
    PortalQuoteLine,
    PortalQuoteResult,
)
from process_apis.models import AtpResult, CreditCheckResult, PriceCheckResult, ValidateQuoteResult

__all__ = ["availability_view", "band_of", "credit_view", "price_view", "quote_view"]

_PARTNER_MESSAGES = {
    "PRICE_MISMATCH": "Your price differs from your contract price.",
    "INSUFFICIENT_STOCK": "Not all of the quantity is available by the requested date.",
    "ITEM_INACTIVE": "This product can no longer be ordered.",
    "ITEM_NOT_FOUND": "This product is not in the catalogue.",
    "UOM_NOT_CONVERTIBLE": "This product cannot be ordered in this unit or quantity.",
}
_CONTACT = "Please contact your account manager about this account."
_QUOTE_STATUS: dict[str, Literal["ok", "review", "blocked"]] = {
    "ok": "ok",
    "warn": "review",
    "block": "blocked",
}


def band_of(status: str, by_requested: Decimal | None) -> AvailabilityBand:
    """Warehouse quantities become a band: all by the date, part of it, or none of it."""
    if status == "available":
        return "in_stock"
    if status == "partial" and by_requested:
        return "limited"
    if status in {"partial", "backorder"}:
        return "backorder"
    return "unavailable"


def credit_view(result: CreditCheckResult, account_id: str) -> PortalCredit:
    ok = result.verdict == "ok" and result.credit is not None
    return PortalCredit(
        account_id=account_id,
        entity=result.entity,
        status="ok" if ok else "contact_account_manager",
        message="Orders on account terms are possible." if ok else _CONTACT,
    )


def price_view(result: PriceCheckResult, account_id: str) -> PortalPriceResult:
    return PortalPriceResult(
        account_id=account_id,
        currency=result.currency,
        lines=[
            PortalPriceLine(
                **echo(line),
                status="priced" if line.status == "ok" else "unavailable",
                contract_price=line.net_price,
                extended_price=line.extended_net,
                valid_to=line.valid_to,
            )
            for line in result.lines
        ],
    )


def availability_view(result: AtpResult) -> PortalAvailabilityResult:
    lines = []
    for line in result.lines:
        band = band_of(line.status, line.available_by_requested_date)
        lines.append(
            PortalAvailabilityLine(
                **echo(line),
                band=band,
                available_date=line.promise_date if band != "unavailable" else None,
            )
        )
    return PortalAvailabilityResult(lines=lines)


def quote_view(result: ValidateQuoteResult, account_id: str) -> PortalQuoteResult:
    credit_ok = result.credit is not None and result.credit_verdict == "ok"
    messages = [
        PortalMessage(code=r.code, message=_PARTNER_MESSAGES[r.code], line_no=r.line_no)
        for r in result.reasons
        if r.code in _PARTNER_MESSAGES
    ]
    if not credit_ok:
        messages.insert(0, PortalMessage(code="CONTACT_ACCOUNT_MANAGER", message=_CONTACT))
    # Reasons a partner is not told about in detail (ERP timeouts) still mark a review.
    return PortalQuoteResult(
        account_id=account_id,
        quote_id=result.quote_id,
        status=_QUOTE_STATUS[result.verdict],
        currency=result.currency,
        total=result.quote_total,
        credit="ok" if credit_ok else "contact_account_manager",
        lines=[
            PortalQuoteLine(
                **echo(line),
                unit_price=line.quoted_unit_price,
                contract_price=line.net_unit_price,
                price_status=line.price_status,
                band=band_of(line.availability_status, line.available_by_requested_date),
                available_date=line.promise_date,
            )
            for line in result.lines
        ],
        messages=messages,
    )
