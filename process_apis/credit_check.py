"""Credit check: a customer's limit, exposure and headroom, and whether an amount fits.

Reasons: ``CUSTOMER_INACTIVE`` and ``CREDIT_HOLD`` block; ``CREDIT_LIMIT_EXCEEDED`` blocks when
the amount is more than the headroom; ``CREDIT_HEADROOM_LOW`` warns when it uses most of it;
``CREDIT_OVERDUE`` warns about overdue invoices; ``CURRENCY_NOT_CONVERTIBLE`` warns when the
amount's currency has no rate to the customer's; ``CREDIT_UNAVAILABLE`` warns when the ERP did
not answer. An unknown customer is a 422 here and ``CUSTOMER_NOT_FOUND`` (blocking) inside a
quote validation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from process_apis import fanout
from process_apis.errors import UnknownReferenceError
from process_apis.models import (
    CreditCheckRequest,
    CreditCheckResult,
    CreditSummary,
    Provenance,
    Reason,
    Verdict,
)
from process_apis.money import Conversion, FxTable, round_money
from process_apis.validation import check_money
from process_apis.verdict import verdict_of
from system_apis.contract import CustomerCredit
from system_apis.resilience import Deadline

__all__ = ["CreditCheck", "CreditSection", "CreditWork", "assess_credit", "credit_section"]

# Using more than this share of the remaining headroom earns a warning before it blocks.
_HEADROOM_WARN_SHARE = Decimal("0.9")


class CreditCheck(fanout.Capability[CreditCheckRequest, CreditCheckResult], name="credit-check"):
    async def __call__(
        self, request: CreditCheckRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> CreditCheckResult:
        customer, lookups = self.customer_reads(request, deadline, correlation_id)
        if request.amount is not None:
            check_money(request.amount, "/amount")
        work = CreditWork(customer.customer_id)
        await fanout.gather_within(deadline, [work.fetch(lookups)])
        lookups.cancel()
        if work.credit is None and work.why.not_found:
            raise UnknownReferenceError(
                f"Customer '{customer.customer_id}' does not exist in {customer.routed.route.erp} "
                f"for entity {request.entity}.",
                pointer="/customerNumber" if request.customer_number else "/accountId",
            )
        currency = request.currency or (work.credit.currency if work.credit else "")
        section = credit_section(work, request.amount, currency, self.setup.fx)
        return CreditCheckResult(
            entity=request.entity,
            erp=customer.routed.route.erp,
            verdict=section.verdict,
            reasons=section.reasons,
            credit=section.summary,
            amount=section.amount,
            conversion=section.conversion,
            provenance=section.provenance,
        )

    def sections(self, result: CreditCheckResult) -> Iterable[Provenance]:
        return (result.provenance,)


class CreditWork:
    """One customer's credit while it is being read inside a fan-out."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.credit: CustomerCredit | None = None
        self._failure: fanout.Failure | None = None

    async def fetch(self, lookups: fanout.Lookups) -> None:
        try:
            self.credit = await lookups.credit(self.customer_id)
        except Exception as exc:
            self._failure = fanout.failure_from(exc, "CUSTOMER_NOT_FOUND")

    @property
    def why(self) -> fanout.Failure:
        """Why ``credit`` is missing (the deadline, when the read never ended)."""
        return self._failure or fanout.LATE


@dataclass(frozen=True)
class CreditSection:
    """The credit part of an answer: its own verdict and reasons, the summary, provenance."""

    verdict: Verdict
    reasons: list[Reason]
    summary: CreditSummary | None
    amount: Decimal | None
    """The amount tested, in the customer's currency."""
    conversion: Conversion | None
    provenance: Provenance


def credit_section(
    work: CreditWork, amount: Decimal | None, currency: str, fx: FxTable
) -> CreditSection:
    """Assess ``amount`` (in ``currency``) against the credit read, or say why it is missing."""
    credit = work.credit
    if credit is None:
        why = work.why
        reason = (
            Reason(code="CUSTOMER_NOT_FOUND", severity="block", message=why.message)
            if why.not_found
            else Reason(code="CREDIT_UNAVAILABLE", severity="warn", message=why.message)
        )
        return CreditSection(
            verdict=verdict_of([reason]),
            reasons=[reason],
            summary=None,
            amount=None,
            conversion=None,
            provenance=Provenance(status="unavailable", reason=why.code),
        )
    reasons, converted, conversion = assess_credit(credit, amount, currency, fx)
    return CreditSection(
        verdict=verdict_of(reasons),
        reasons=reasons,
        summary=_summary(credit),
        amount=converted,
        conversion=conversion,
        provenance=fanout.provenance_of([credit], expected=1),
    )


_SUMMARISED = tuple(f for f in CreditSummary.__struct_fields__ if f != "customer_number")
"""What the summary copies from the ERP's record under the same name (exposure and headroom
are computed there)."""


def _summary(credit: CustomerCredit) -> CreditSummary:
    copied = {name: getattr(credit, name) for name in _SUMMARISED}
    return CreditSummary(customer_number=credit.customer_id, **copied)


def assess_credit(
    credit: CustomerCredit, amount: Decimal | None, currency: str, fx: FxTable
) -> tuple[list[Reason], Decimal | None, Conversion | None]:
    """(reasons, ``amount`` in the customer's currency, the conversion used)."""
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
    return reasons, converted, conversion
