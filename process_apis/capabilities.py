"""The four synchronous capabilities Salesforce calls while a quote is edited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar

import msgspec

from process_apis.credit import assess_credit, credit_summary
from process_apis.errors import InvalidInputError, UnknownReferenceError
from process_apis.fanout import CreditLookup, Failure, Lookups, provenance_of, run_until
from process_apis.lines import AvailabilityStatus, LineOutcome, check_money, new_line
from process_apis.memo import ResultMemo
from process_apis.models import (
    AtpLineResult,
    AtpRequest,
    AtpResult,
    CreditCheckRequest,
    CreditCheckResult,
    DiscountOut,
    PriceCheckRequest,
    PriceCheckResult,
    PriceLineResult,
    Provenance,
    QuoteLineResult,
    Reason,
    Severity,
    ValidateQuoteRequest,
    ValidateQuoteResult,
)
from process_apis.money import FxTable, round_money
from process_apis.routing import EntityRouter, RoutedEntity
from process_apis.verdict import verdict_of
from process_apis.xref import CrossReference
from system_apis.resilience import Deadline

__all__ = ["ProcessApi"]

R = TypeVar("R")

_PRICE_TOLERANCE = Decimal("0.005")


@dataclass(frozen=True)
class _Customer:
    routed: RoutedEntity
    customer_id: str


class ProcessApi:
    """Business capabilities over the System API contract, the same for every ERP."""

    def __init__(
        self,
        router: EntityRouter,
        xref: CrossReference,
        fx: FxTable | None = None,
        *,
        price_tolerance: Decimal = _PRICE_TOLERANCE,
        today: type[date] = date,
        memo: ResultMemo | None = None,
    ) -> None:
        self.memo = memo or ResultMemo(ttl_s=0)
        self.router = router
        self.xref = xref
        self.fx = fx or FxTable()
        self.price_tolerance = price_tolerance
        self._date = today

    # ---------------------------------------------------------------- helpers

    def _customer(
        self, entity: str, account_id: str | None, customer_number: str | None
    ) -> _Customer:
        routed = self.router.resolve(entity)
        if (account_id is None) == (customer_number is None):
            raise InvalidInputError(
                "Give exactly one of accountId and customerNumber.", pointer="/accountId"
            )
        if account_id is not None:
            customer = self.xref.customer_for_account(account_id, entity, pointer="/accountId")
        else:
            assert customer_number is not None
            customer = customer_number
        return _Customer(routed=routed, customer_id=customer)

    async def _remembered(
        self,
        capability: str,
        request: msgspec.Struct,
        compute: Callable[[], Awaitable[R]],
        provenances: Callable[[R], Iterable[Provenance]],
    ) -> tuple[R, bool]:
        """The memo's answer to an identical request, else a fresh one (remembered when clean)."""
        key = ResultMemo.key(capability, request)
        remembered: R | None = self.memo.get(key)
        if remembered is not None:
            return remembered, True
        result = await compute()
        if all(_clean(p) for p in provenances(result)):
            self.memo.put(key, result)
        return result, False

    # ---------------------------------------------------------------- price check

    async def price_check(
        self, request: PriceCheckRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> PriceCheckResult:
        result, _ = await self._remembered(
            "price-check",
            request,
            lambda: self._price_check(request, deadline, correlation_id),
            lambda r: (r.provenance,),
        )
        return result

    async def _price_check(
        self, request: PriceCheckRequest, deadline: Deadline, correlation_id: str | None
    ) -> PriceCheckResult:
        customer = self._customer(request.entity, request.account_id, request.customer_number)
        ctx = customer.routed.context(deadline, correlation_id)
        lookups = Lookups(customer.routed, ctx)
        on_date = request.date or self._date.today()
        lines = [
            new_line(
                index=i, line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom,
                requested_date=on_date, warehouse=None, xref=self.xref, lookups=lookups,
            )
            for i, ln in enumerate(request.lines)
        ]  # fmt: skip

        async def work(line: LineOutcome) -> None:
            if await line.resolve_item(lookups):
                await line.fetch_price(
                    lookups,
                    customer_id=customer.customer_id,
                    currency=request.currency,
                    on_date=on_date,
                    fx=self.fx,
                )

        finished = await run_until(deadline.remaining(), [work(line) for line in lines])
        lookups.cancel()
        results = []
        for line in lines:
            line.mark_unfinished("item", *(["price"] if line.base else []))
            results.append(self._price_line_result(line, request.currency))
        return PriceCheckResult(
            entity=request.entity,
            erp=customer.routed.route.erp,
            customer_number=customer.customer_id,
            currency=request.currency,
            date=on_date,
            lines=results,
            provenance=provenance_of(
                [p for p in (line.price for line in lines) if p is not None],
                expected=len(lines),
                failure=None if finished else "DEADLINE_EXCEEDED",
            ),
        )

    def _price_line_result(self, line: LineOutcome, currency: str) -> PriceLineResult:
        failure = line.failures.get("item") or line.failures.get("price")
        if failure is not None or line.price is None or line.net_unit is None:
            failure = failure or Failure("PRICE_NOT_FOUND", "No price was returned.")
            return PriceLineResult(
                line_no=line.line_no,
                sku=line.sku,
                item_id=line.item_id,
                quantity=line.quantity,
                uom=line.uom,
                status=_status_for(failure),
                reason=failure.code,
                message=failure.message,
            )
        price = line.price
        return PriceLineResult(
            line_no=line.line_no,
            sku=line.sku,
            item_id=line.item_id,
            quantity=line.quantity,
            uom=line.uom,
            status="ok",
            currency=currency,
            list_price=line.list_unit,
            net_price=line.net_unit,
            extended_net=round_money(line.net_unit * line.quantity),
            discounts=[
                DiscountOut(kind=d.kind, value=d.value, label=d.label) for d in price.discounts
            ],
            price_list=price.price_list,
            valid_from=price.valid_from,
            valid_to=price.valid_to,
            conversion=line.conversion,
            base_quantity=line.base.quantity if line.base else None,
            base_uom=line.base.base_uom if line.base else None,
        )

    # ---------------------------------------------------------------- ATP

    async def atp(
        self, request: AtpRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> AtpResult:
        result, _ = await self._remembered(
            "atp",
            request,
            lambda: self._atp(request, deadline, correlation_id),
            lambda r: (r.provenance,),
        )
        return result

    async def _atp(
        self, request: AtpRequest, deadline: Deadline, correlation_id: str | None
    ) -> AtpResult:
        routed = self.router.resolve(request.entity)
        lookups = Lookups(routed, routed.context(deadline, correlation_id))
        today = self._date.today()
        lines = [
            new_line(
                index=i, line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom,
                requested_date=ln.requested_date or today, warehouse=ln.warehouse,
                xref=self.xref, lookups=lookups,
            )
            for i, ln in enumerate(request.lines)
        ]  # fmt: skip

        async def work(line: LineOutcome) -> None:
            if await line.resolve_item(lookups):
                await line.fetch_availability(lookups)

        finished = await run_until(deadline.remaining(), [work(line) for line in lines])
        lookups.cancel()
        results = []
        for line in lines:
            line.mark_unfinished("item", *(["availability"] if line.base else []))
            results.append(self._atp_line_result(line, today))
        return AtpResult(
            entity=request.entity,
            erp=routed.route.erp,
            lines=results,
            provenance=provenance_of(
                [r for line in lines for r in (line.availability or ())],
                expected=sum(1 for line in lines if line.availability is not None) or len(lines),
                failure=None if finished else "DEADLINE_EXCEEDED",
            ),
        )

    def _atp_line_result(self, line: LineOutcome, today: date) -> AtpLineResult:
        failure = line.failures.get("item") or line.failures.get("availability")
        if failure is not None or line.availability is None:
            failure = failure or Failure("NO_DATA", "No availability was returned.")
            return AtpLineResult(
                line_no=line.line_no,
                sku=line.sku,
                item_id=line.item_id,
                quantity=line.quantity,
                uom=line.uom,
                requested_date=line.requested_date,
                status=_status_for(failure),
                reason=failure.code,
                message=failure.message,
            )
        status, promise_date, promise_wh, by_requested = line.promise(today)
        return AtpLineResult(
            line_no=line.line_no,
            sku=line.sku,
            item_id=line.item_id,
            quantity=line.quantity,
            uom=line.uom,
            requested_date=line.requested_date,
            status=status,
            reason="INSUFFICIENT_STOCK" if status != "available" else None,
            available_by_requested_date=by_requested,
            promise_date=promise_date,
            promise_warehouse=promise_wh,
            warehouses=line.warehouse_views(today),
        )

    # ---------------------------------------------------------------- credit

    async def credit_check(
        self, request: CreditCheckRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> CreditCheckResult:
        result, _ = await self._remembered(
            "credit-check",
            request,
            lambda: self._credit_check(request, deadline, correlation_id),
            lambda r: (r.provenance,),
        )
        return result

    async def _credit_check(
        self, request: CreditCheckRequest, deadline: Deadline, correlation_id: str | None
    ) -> CreditCheckResult:
        customer = self._customer(request.entity, request.account_id, request.customer_number)
        if request.amount is not None:
            check_money(request.amount, "/amount")
        lookup = CreditLookup(
            customer.routed, customer.routed.context(deadline, correlation_id), customer.customer_id
        )
        await run_until(deadline.remaining(), [lookup.run()])
        credit = lookup.credit
        if credit is None:
            why = lookup.why
            if why.not_found:
                raise UnknownReferenceError(
                    f"Customer '{customer.customer_id}' does not exist in {customer.routed.route.erp} "
                    f"for entity {request.entity}.",
                    pointer="/customerNumber" if request.customer_number else "/accountId",
                )
            return CreditCheckResult(
                entity=request.entity,
                erp=customer.routed.route.erp,
                verdict="warn",
                reasons=[Reason(code="CREDIT_UNAVAILABLE", severity="warn", message=why.message)],
                credit=None,
                provenance=Provenance(status="unavailable", reason=why.code),
            )
        assessment = assess_credit(
            credit, request.amount, request.currency or credit.currency, self.fx
        )
        return CreditCheckResult(
            entity=request.entity,
            erp=customer.routed.route.erp,
            verdict=verdict_of(assessment.reasons),
            reasons=assessment.reasons,
            credit=credit_summary(credit),
            amount=assessment.amount,
            conversion=assessment.conversion,
            provenance=provenance_of([credit], expected=1),
        )

    # ---------------------------------------------------------------- validate quote

    async def validate_quote(
        self, request: ValidateQuoteRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> ValidateQuoteResult:
        started = time.perf_counter()
        result, remembered = await self._remembered(
            "validate-quote",
            request,
            lambda: self._validate_quote(request, deadline, correlation_id, started),
            lambda r: (r.credit_provenance, r.price_provenance, r.availability_provenance),
        )
        if remembered:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            return msgspec.structs.replace(result, elapsed_ms=elapsed)
        return result

    async def _validate_quote(
        self,
        request: ValidateQuoteRequest,
        deadline: Deadline,
        correlation_id: str | None,
        started: float,
    ) -> ValidateQuoteResult:
        customer = self._customer(request.entity, request.account_id, request.customer_number)
        ctx = customer.routed.context(deadline, correlation_id)
        lookups = Lookups(customer.routed, ctx)
        today = self._date.today()
        on_date = request.date or today
        default_requested = request.requested_date or on_date
        for i, ln in enumerate(request.lines):
            check_money(ln.quoted_unit_price, f"/lines/{i}/quotedUnitPrice")
        lines = [
            new_line(
                index=i, line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom,
                requested_date=ln.requested_date or default_requested, warehouse=ln.warehouse,
                xref=self.xref, lookups=lookups,
            )
            for i, ln in enumerate(request.lines)
        ]  # fmt: skip
        quoted = {
            line.line_no: q.quoted_unit_price for line, q in zip(lines, request.lines, strict=True)
        }
        credit_lookup = CreditLookup(customer.routed, ctx, customer.customer_id)

        async def line_work(line: LineOutcome) -> None:
            if await line.resolve_item(lookups):
                await asyncio.gather(
                    line.fetch_price(
                        lookups,
                        customer_id=customer.customer_id,
                        currency=request.currency,
                        on_date=on_date,
                        fx=self.fx,
                    ),
                    line.fetch_availability(lookups),
                )

        finished = await run_until(
            deadline.remaining(), [credit_lookup.run(), *(line_work(line) for line in lines)]
        )
        lookups.cancel()

        reasons: list[Reason] = []
        quote_total = round_money(
            sum((quoted[line.line_no] * line.quantity for line in lines), Decimal(0))
        )
        credit = credit_lookup.credit
        if credit is not None:
            assessment = assess_credit(credit, quote_total, request.currency, self.fx)
            reasons.extend(assessment.reasons)
            credit_prov = provenance_of([credit], expected=1)
        else:
            why = credit_lookup.why
            if why.not_found:
                reasons.append(
                    Reason(code="CUSTOMER_NOT_FOUND", severity="block", message=why.message)
                )
            else:
                reasons.append(
                    Reason(code="CREDIT_UNAVAILABLE", severity="warn", message=why.message)
                )
            credit_prov = Provenance(status="unavailable", reason=why.code)

        line_results = []
        for line in lines:
            line.mark_unfinished("item", *(["price", "availability"] if line.base else []))
            line_results.append(self._quote_line(line, quoted[line.line_no], today, reasons))

        prices = [line.price for line in lines if line.price is not None]
        stock = [r for line in lines for r in (line.availability or ())]
        priced_failure = None if finished else "DEADLINE_EXCEEDED"
        return ValidateQuoteResult(
            quote_id=request.quote_id,
            entity=request.entity,
            erp=customer.routed.route.erp,
            customer_number=customer.customer_id,
            currency=request.currency,
            verdict=verdict_of(reasons),
            reasons=reasons,
            quote_total=quote_total,
            credit=credit_summary(credit) if credit is not None else None,
            lines=line_results,
            credit_provenance=credit_prov,
            price_provenance=provenance_of(
                prices,
                expected=len(lines),
                failure=priced_failure if len(prices) < len(lines) else None,
            ),
            availability_provenance=provenance_of(
                stock,
                expected=len(stock)
                if all(line.availability is not None for line in lines)
                else len(stock) + 1,
                failure=priced_failure,
            ),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _quote_line(
        self, line: LineOutcome, quoted_price: Decimal, today: date, reasons: list[Reason]
    ) -> QuoteLineResult:
        item_failure = line.failures.get("item")
        if item_failure is not None:
            severity: Severity = "warn" if item_failure.code in _TRANSIENT else "block"
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
            if abs(delta) <= self.price_tolerance:
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
            failure = line.failures["price"]
            reasons.append(
                Reason(
                    code=_unavailable_code(failure, "PRICE"),
                    severity="warn",
                    message=failure.message,
                    line_no=line.line_no,
                )
            )
        availability_status: AvailabilityStatus | Literal["unavailable"] = "unavailable"
        promise_date = promise_wh = None
        by_requested = None
        if line.availability is not None and line.base is not None:
            availability_status, promise_date, promise_wh, by_requested = line.promise(today)
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
            failure = line.failures["availability"]
            reasons.append(
                Reason(
                    code=_unavailable_code(failure, "AVAILABILITY"),
                    severity="warn",
                    message=failure.message,
                    line_no=line.line_no,
                )
            )
        return QuoteLineResult(
            line_no=line.line_no,
            sku=line.sku,
            item_id=line.item_id,
            quantity=line.quantity,
            uom=line.uom,
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


def _clean(provenance: Provenance) -> bool:
    """An answer may be remembered only when built entirely from complete, undegraded data."""
    return provenance.status == "complete" and not provenance.degraded


_TRANSIENT = {"DEADLINE_EXCEEDED", "BACKEND_UNAVAILABLE", "BACKEND_THROTTLED"}


def _unavailable_code(failure: Failure, section: str) -> str:
    if failure.code in _TRANSIENT:
        return f"{section}_UNAVAILABLE"
    return failure.code


def _status_for(failure: Failure) -> Literal["unavailable", "error"]:
    return "unavailable" if failure.code in _TRANSIENT else "error"
