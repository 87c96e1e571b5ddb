"""Validate quote: prices, availability and credit for a whole quote in one fan-out.

Per line it checks the quoted unit price against the ERP's net price (``PRICE_MISMATCH`` beyond
the tolerance) and the availability by the requested date (``INSUFFICIENT_STOCK``); for the
quote it checks the customer's credit against the quote total (the credit-check reasons).
Lines the ERP could not answer for warn (``PRICE_UNAVAILABLE``, ``AVAILABILITY_UNAVAILABLE``,
``ITEM_UNAVAILABLE``); lines it refused block (``ITEM_NOT_FOUND``, ``ITEM_INACTIVE``,
``UOM_NOT_CONVERTIBLE``). The verdict is ``block`` if any reason blocks, else ``warn`` if any
warns, else ``ok``; the credit section carries its own verdict too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Literal

from process_apis import fanout
from process_apis.atp import (
    AvailabilityStatus,
    fetch_availability,
    prefetch_availability,
    promise,
)
from process_apis.credit_check import CreditWork, credit_section
from process_apis.models import (
    Provenance,
    QuoteLineResult,
    Reason,
    Severity,
    ValidateQuoteRequest,
    ValidateQuoteResult,
)
from process_apis.money import round_money
from process_apis.price_check import PriceTerms, fetch_price, prefetch_price
from process_apis.validation import check_money
from process_apis.verdict import verdict_of
from system_apis.resilience import Deadline

__all__ = ["ValidateQuote"]


class ValidateQuote(
    fanout.Capability[ValidateQuoteRequest, ValidateQuoteResult], name="validate-quote"
):
    async def __call__(
        self, request: ValidateQuoteRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> ValidateQuoteResult:
        setup = self.setup
        customer, lookups = self.customer_reads(request, deadline, correlation_id)
        today = setup.today()
        on_date = request.date or today
        default_requested = request.requested_date or on_date
        for i, ln in enumerate(request.lines):
            check_money(ln.quoted_unit_price, f"/lines/{i}/quotedUnitPrice")
        lines = fanout.new_lines(
            setup,
            customer.routed,
            request.lines,
            requested_date=lambda line: line.requested_date or default_requested,
            warehouse=lambda line: line.warehouse,
        )
        quoted = {
            line.line_no: q.quoted_unit_price for line, q in zip(lines, request.lines, strict=True)
        }
        credit = CreditWork(customer.customer_id)
        terms = PriceTerms(customer.customer_id, request.currency, on_date, setup.fx)

        # Price and availability start with the item, not after it: one round of ERP calls.
        for line in lines:
            prefetch_price(line, lookups, terms)
            prefetch_availability(line, lookups)

        async def price_and_availability(line: fanout.LineWork) -> None:
            # Both at once, as a gather would, with one task instead of two and a gather:
            # the price read starts here and now, the availability's in its task.
            availability = asyncio.ensure_future(fetch_availability(line, lookups))
            try:
                await fetch_price(line, lookups, terms)
            except BaseException:
                availability.cancel()
                raise
            await availability

        finished = await fanout.run_lines(
            deadline, lookups, lines, price_and_availability, credit.fetch(lookups)
        )

        quote_total = round_money(
            sum((quoted[line.line_no] * line.quantity for line in lines), Decimal(0))
        )
        section = credit_section(credit, quote_total, request.currency, setup.fx)
        reasons = list(section.reasons)
        line_results = []
        for line in lines:
            line.mark_unfinished("item", *(["price", "availability"] if line.base else []))
            line_results.append(self._line(line, quoted[line.line_no], today, reasons))

        prices = [line.price for line in lines if line.price is not None]
        rows = [row for line in lines for row in (line.availability or ())]
        late = None if finished else fanout.DEADLINE_EXCEEDED
        all_answered = all(line.availability is not None for line in lines)
        return ValidateQuoteResult(
            quote_id=request.quote_id,
            entity=request.entity,
            erp=customer.routed.route.erp,
            customer_number=customer.customer_id,
            currency=request.currency,
            verdict=verdict_of(reasons),
            reasons=reasons,
            quote_total=quote_total,
            credit=section.summary,
            credit_verdict=section.verdict,
            lines=line_results,
            credit_provenance=section.provenance,
            price_provenance=fanout.provenance_of(
                prices, expected=len(lines), failure=late if len(prices) < len(lines) else None
            ),
            availability_provenance=fanout.provenance_of(
                rows, expected=len(rows) if all_answered else len(rows) + 1, failure=late
            ),
            elapsed_ms=0.0,
        )

    def sections(self, result: ValidateQuoteResult) -> Iterable[Provenance]:
        return (result.credit_provenance, result.price_provenance, result.availability_provenance)

    def _line(
        self, line: fanout.LineWork, quoted_price: Decimal, today: date, reasons: list[Reason]
    ) -> QuoteLineResult:
        """The line's result; its reasons are added to ``reasons``."""
        item_failure = line.failures.get("item")
        if item_failure is not None:
            severity: Severity = "warn" if item_failure.transient else "block"
            code = item_failure.code if severity == "block" else "ITEM_UNAVAILABLE"
            reasons.append(
                Reason(
                    code=code, severity=severity, message=item_failure.message, line_no=line.line_no
                )
            )
        price_status: Literal["match", "mismatch", "unavailable"] = "unavailable"
        delta = None
        if line.net_unit is not None:
            delta = quoted_price - line.net_unit
            if abs(delta) <= self.setup.price_tolerance:
                price_status = "match"
            else:
                price_status = "mismatch"
                direction = "below" if delta < 0 else "above"
                reasons.append(
                    Reason(
                        code="PRICE_MISMATCH",
                        severity="warn",
                        message=f"Quoted {quoted_price} is {direction} the ERP net price {line.net_unit} per {line.uom}.",
                        line_no=line.line_no,
                    )
                )
        elif item_failure is None and "price" in line.failures:
            reasons.append(_section_reason(line, "price", "PRICE"))
        availability_status: AvailabilityStatus | Literal["unavailable"] = "unavailable"
        promise_date = promise_wh = None
        by_requested = None
        if line.availability is not None and line.base is not None:
            availability_status, promise_date, promise_wh, by_requested = promise(line, today)
            if availability_status != "available":
                when = f"earliest {promise_date.isoformat()}" if promise_date else "no date in view"
                reasons.append(
                    Reason(
                        code="INSUFFICIENT_STOCK",
                        severity="warn",
                        message=f"{line.quantity} {line.uom} of {line.sku} not available by "
                        f"{line.requested_date.isoformat()} ({when}).",
                        line_no=line.line_no,
                    )
                )
        elif item_failure is None and "availability" in line.failures:
            reasons.append(_section_reason(line, "availability", "AVAILABILITY"))
        return QuoteLineResult(
            **line.echo(),
            quoted_unit_price=quoted_price,
            net_unit_price=line.net_unit,
            list_unit_price=line.list_unit,
            price_delta=delta,
            price_status=price_status,
            availability_status=availability_status,
            promise_date=promise_date,
            promise_warehouse=promise_wh,
            available_by_requested_date=by_requested,
        )


def _section_reason(line: fanout.LineWork, section: str, name: str) -> Reason:
    """A warning for a line section the ERP did not fill: ``<NAME>_UNAVAILABLE`` when it was
    slow or down, else the ERP's own reason (``PRICE_NOT_FOUND``, ``WAREHOUSE_NOT_FOUND``…)."""
    failure: fanout.Failure = line.failures[section]
    return Reason(
        code=f"{name}_UNAVAILABLE" if failure.transient else failure.code,
        severity="warn",
        message=failure.message,
        line_no=line.line_no,
    )
