"""Credit assessment: exposure and headroom against an amount, with the reasons that matter."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from process_apis.models import CreditSummary, Reason
from process_apis.money import Conversion, FxTable, round_money
from system_apis.contract import CustomerCredit

__all__ = ["CreditAssessment", "assess_credit", "credit_summary"]

# Using more than this share of the remaining headroom earns a warning before it blocks.
_HEADROOM_WARN_SHARE = Decimal("0.9")


@dataclass(frozen=True)
class CreditAssessment:
    reasons: list[Reason]
    amount: Decimal | None
    """The amount in the customer's currency."""
    conversion: Conversion | None


def credit_summary(credit: CustomerCredit) -> CreditSummary:
    return CreditSummary(
        customer_number=credit.customer_id,
        name=credit.name,
        status=credit.status,
        currency=credit.currency,
        credit_limit=credit.credit_limit,
        open_receivables=credit.open_receivables,
        open_orders=credit.open_orders,
        exposure=credit.exposure,
        headroom=credit.headroom,
        overdue_amount=credit.overdue_amount,
        overdue_days=credit.overdue_days,
        on_hold=credit.on_hold,
        hold_reason=credit.hold_reason,
        terms=credit.terms,
    )


def assess_credit(
    credit: CustomerCredit, amount: Decimal | None, currency: str, fx: FxTable
) -> CreditAssessment:
    reasons: list[Reason] = []
    if credit.status != "active":
        reasons.append(
            Reason(
                code="CUSTOMER_INACTIVE",
                severity="block",
                message=f"Customer {credit.customer_id} is inactive.",
            )
        )
    if credit.on_hold:
        why = f": {credit.hold_reason}" if credit.hold_reason else ""
        reasons.append(
            Reason(
                code="CREDIT_HOLD",
                severity="block",
                message=f"Customer {credit.customer_id} is on credit hold{why}.",
            )
        )
    if credit.overdue_amount > 0:
        reasons.append(
            Reason(
                code="CREDIT_OVERDUE",
                severity="warn",
                message=f"{credit.overdue_amount} {credit.currency} overdue ({credit.overdue_days} days).",
            )
        )
    converted: Decimal | None = None
    conversion: Conversion | None = None
    if amount is not None:
        try:
            raw, conversion = fx.convert(amount, currency, credit.currency)
            converted = round_money(raw)
        except KeyError:
            reasons.append(
                Reason(
                    code="CURRENCY_NOT_CONVERTIBLE",
                    severity="warn",
                    message=f"No {currency}/{credit.currency} rate is configured; headroom not checked.",
                )
            )
    headroom = credit.headroom
    if converted is not None and headroom is not None:
        if converted > headroom:
            reasons.append(
                Reason(
                    code="CREDIT_LIMIT_EXCEEDED",
                    severity="block",
                    message=f"{converted} {credit.currency} exceeds the remaining credit of {headroom} {credit.currency}.",
                )
            )
        elif converted > headroom * _HEADROOM_WARN_SHARE:
            reasons.append(
                Reason(
                    code="CREDIT_HEADROOM_LOW",
                    severity="warn",
                    message=f"{converted} {credit.currency} uses most of the remaining {headroom} {credit.currency}.",
                )
            )
    return CreditAssessment(reasons=reasons, amount=converted, conversion=conversion)
