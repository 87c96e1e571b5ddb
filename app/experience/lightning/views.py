"""Process answers as Lightning shows them: statuses, labels, SLDS variants, titled messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from app.experience.lightning.models import (
    LightningAvailabilityLine,
    LightningAvailabilityResult,
    LightningCredit,
    LightningCreditResult,
    LightningMessage,
    LightningPriceLine,
    LightningPriceResult,
    LightningQuoteLine,
    LightningQuoteResult,
    LightningWarehouse,
    Variant,
)
from app.experience.payloads import echo
from process_apis.models import (
    AtpLineResult,
    AtpResult,
    CreditCheckResult,
    CreditSummary,
    PriceCheckResult,
    PriceLineResult,
    Provenance,
    Reason,
    ValidateQuoteResult,
    Verdict,
)

__all__ = [
    "availability_line",
    "availability_view",
    "credit_view",
    "price_line",
    "price_view",
    "quote_view",
    "title_for",
]

_QUOTE_STATUS: dict[str, tuple[Literal["READY", "REVIEW", "BLOCKED"], str, Variant]] = {
    "ok": ("READY", "Ready to submit", "success"),
    "warn": ("REVIEW", "Review before submitting", "warning"),
    "block": ("BLOCKED", "Cannot be submitted", "error"),
}
_CREDIT_STATUS: dict[str, tuple[Literal["OK", "REVIEW", "BLOCKED"], str, Variant]] = {
    "ok": ("OK", "Credit OK", "success"),
    "warn": ("REVIEW", "Credit needs review", "warning"),
    "block": ("BLOCKED", "Credit blocked", "error"),
}
_PRICE_LABEL = {"MATCH": "Matches ERP", "MISMATCH": "Differs from ERP", "UNAVAILABLE": "Unknown"}
_PRICED_LABEL = {"PRICED": "Priced", "UNAVAILABLE": "Price unavailable", "ERROR": "Cannot price"}
_AVAILABILITY_LABEL = {
    "AVAILABLE": "Available",
    "PARTIAL": "Partly available",
    "BACKORDER": "Backorder",
    "UNAVAILABLE": "Unknown",
    "ERROR": "Cannot check",
}
_TITLES = {
    "PRICE_MISMATCH": "Price differs from the ERP",
    "PRICE_NOT_FOUND": "No price in the ERP",
    "PRICE_UNAVAILABLE": "Price could not be checked",
    "INSUFFICIENT_STOCK": "Not enough stock by the requested date",
    "AVAILABILITY_UNAVAILABLE": "Availability could not be checked",
    "CREDIT_HOLD": "Account on credit hold",
    "CREDIT_LIMIT_EXCEEDED": "Credit limit exceeded",
    "CREDIT_OVERDUE": "Account has overdue invoices",
    "CREDIT_UNAVAILABLE": "Credit could not be checked",
    "CUSTOMER_INACTIVE": "Account inactive in the ERP",
    "CUSTOMER_NOT_FOUND": "Account not found in the ERP",
    "CURRENCY_NOT_CONVERTIBLE": "Currency cannot be converted",
    "ITEM_INACTIVE": "Product is inactive",
    "ITEM_NOT_FOUND": "Product not found in the ERP",
    "ITEM_UNAVAILABLE": "Product could not be checked",
    "UOM_NOT_CONVERTIBLE": "Unit not available for this product",
    "DEADLINE_EXCEEDED": "The ERP did not answer in time",
}


def title_for(code: str) -> str:
    """A short display title per reason code (falls back to the code in words)."""
    return _TITLES.get(code) or code.replace("_", " ").capitalize()


def _incomplete(*sections: Provenance) -> bool:
    """Some section is partial, missing or stale: the user should review before relying on it."""
    return any(p.status != "complete" or p.degraded for p in sections)


def _messages(reasons: list[Reason]) -> list[LightningMessage]:
    return [
        LightningMessage(
            code=r.code,
            severity="ERROR" if r.severity == "block" else "WARNING",
            title=title_for(r.code),
            message=r.message,
            line_no=r.line_no,
        )
        for r in reasons
    ]


def _credit(
    summary: CreditSummary | None, verdict: Verdict, provenance: Provenance
) -> LightningCredit:
    if summary is None or provenance.status == "unavailable":
        return LightningCredit(status="UNAVAILABLE", label="Credit unknown", variant="info")
    status, label, variant = _CREDIT_STATUS[verdict]
    return LightningCredit(
        status=status,
        label=label,
        variant=variant,
        currency=summary.currency,
        credit_limit=summary.credit_limit,
        exposure=summary.exposure,
        headroom=summary.headroom,
        open_receivables=summary.open_receivables,
        open_orders=summary.open_orders,
        overdue_amount=summary.overdue_amount,
        on_hold=summary.on_hold,
        hold_reason=summary.hold_reason,
    )


def quote_view(result: ValidateQuoteResult) -> LightningQuoteResult:
    status, label, variant = _QUOTE_STATUS[result.verdict]
    lines = []
    for line in result.lines:
        price_status = line.price_status.upper()
        availability_status = line.availability_status.upper()
        lines.append(
            LightningQuoteLine(
                **echo(line),
                unit_price=line.quoted_unit_price,
                net_unit_price=line.net_unit_price,
                price_status=price_status,  # type: ignore[arg-type]
                price_label=_PRICE_LABEL[price_status],
                availability_status=availability_status,  # type: ignore[arg-type]
                availability_label=_AVAILABILITY_LABEL[availability_status],
                available_quantity=line.available_by_requested_date,
                promise_date=line.promise_date,
            )
        )
    return LightningQuoteResult(
        quote_id=result.quote_id,
        status=status,
        label=label,
        variant=variant,
        currency=result.currency,
        total=result.quote_total,
        messages=_messages(result.reasons),
        lines=lines,
        credit=_credit(result.credit, result.credit_verdict, result.credit_provenance),
        degraded=_incomplete(
            result.credit_provenance, result.price_provenance, result.availability_provenance
        ),
        elapsed_ms=result.elapsed_ms,
    )


def price_line(line: PriceLineResult) -> LightningPriceLine:
    status: Literal["PRICED", "UNAVAILABLE", "ERROR"] = (
        "PRICED"
        if line.status == "ok"
        else "UNAVAILABLE"
        if line.status == "unavailable"
        else "ERROR"
    )
    discount = None
    if line.list_price and line.net_price is not None and line.list_price > 0:
        discount = ((1 - line.net_price / line.list_price) * 100).quantize(Decimal("0.01"))
    return LightningPriceLine(
        **echo(line),
        status=status,
        label=_PRICED_LABEL[status],
        message=line.message,
        list_price=line.list_price,
        net_price=line.net_price,
        extended_net=line.extended_net,
        discount_percent=discount,
        price_list=line.price_list,
        valid_to=line.valid_to,
    )


def price_view(result: PriceCheckResult) -> LightningPriceResult:
    return LightningPriceResult(
        currency=result.currency,
        lines=[price_line(line) for line in result.lines],
        degraded=_incomplete(result.provenance),
    )


def availability_line(line: AtpLineResult) -> LightningAvailabilityLine:
    status = line.status.upper()
    return LightningAvailabilityLine(
        **echo(line),
        requested_date=line.requested_date,
        status=status,  # type: ignore[arg-type]
        label=_AVAILABILITY_LABEL[status],
        message=line.message,
        available_quantity=line.available_by_requested_date,
        promise_date=line.promise_date,
        promise_warehouse=line.promise_warehouse,
        warehouses=[LightningWarehouse(**msgspec.structs.asdict(w)) for w in line.warehouses],
    )


def availability_view(result: AtpResult) -> LightningAvailabilityResult:
    return LightningAvailabilityResult(
        lines=[availability_line(line) for line in result.lines],
        degraded=_incomplete(result.provenance),
    )


def credit_view(result: CreditCheckResult, account_id: str) -> LightningCreditResult:
    return LightningCreditResult(
        account_id=account_id,
        entity=result.entity,
        credit=_credit(result.credit, result.verdict, result.provenance),
        messages=_messages(result.reasons),
        amount=result.amount,
    )
