"""``/lightning/v1``: Apex and Lightning Web Components, for internal users.

Compact, display-ready answers over the process APIs: status enums a component can switch on,
a label and SLDS variant to show, a titled message per reason, and full detail (quantities,
credit headroom). GET forms read by id for components that fetch on render.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from app.correlation import current_correlation_id
from app.experience_models import (
    LightningAvailabilityLine,
    LightningAvailabilityRequest,
    LightningAvailabilityResult,
    LightningCredit,
    LightningCreditResult,
    LightningMessage,
    LightningPriceLine,
    LightningPriceRequest,
    LightningPriceResult,
    LightningQuoteLine,
    LightningQuoteRequest,
    LightningQuoteResult,
    LightningWarehouse,
    Variant,
)
from app.problems import FieldProblem, ProblemError
from app.routes._experience import DeadlineHeader, deadline_for, problem_responses, title_for
from app.security import (
    CREDIT_READ,
    INVENTORY_READ,
    PRICES_READ,
    QUOTES_VALIDATE,
    requires,
    security_requirements,
)
from app.services import Services
from process_apis.decimals import exact_decimal
from process_apis.models import (
    AMOUNT_PATTERN,
    QUANTITY_PATTERN,
    AtpLine,
    AtpLineResult,
    AtpRequest,
    CreditCheckRequest,
    CreditCheckResult,
    CreditSummary,
    PriceCheckRequest,
    PriceCheckResult,
    PriceLine,
    PriceLineResult,
    QuoteLine,
    Reason,
    ValidateQuoteRequest,
    ValidateQuoteResult,
)

__all__ = ["LightningController"]

_ERRORS = problem_responses(400, 401, 403, 413, 415, 422, 429, 431, 503)
_GET_ERRORS = problem_responses(400, 401, 403, 422, 429, 431, 503)

EntityQuery = Annotated[
    str, Parameter(pattern=r"^[A-Za-z0-9_-]{1,20}$", description="Legal entity")
]
AccountPath = Annotated[
    str,
    Parameter(
        pattern=r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$",
        min_length=15,
        max_length=18,
        description="Salesforce Account id (15 or 18 characters)",
    ),
]
CurrencyQuery = Annotated[str, Parameter(pattern=r"^[A-Z]{3}$")]
QuantityQuery = Annotated[str, Parameter(pattern=QUANTITY_PATTERN)]
UomQuery = Annotated[str, Parameter(min_length=1, max_length=10)]


def _query_decimal(text: str, name: str, pattern: str) -> Decimal:
    """A decimal query parameter, held to its pattern exactly (no trailing line end)."""
    value = exact_decimal(text, pattern)
    if value is None:
        detail = f"{name} does not match {pattern}"
        raise ProblemError(
            422,
            "validation_error",
            "Request failed validation",
            f"query:{name}: {detail}",
            errors=[FieldProblem(pointer=f"query:{name}", detail=detail)],
        )
    return value


SkuPath = Annotated[str, Parameter(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]

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
_STOCK_LABEL = {
    "AVAILABLE": "Available",
    "PARTIAL": "Partly available",
    "BACKORDER": "Backorder",
    "UNAVAILABLE": "Unknown",
    "ERROR": "Cannot check",
}


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
    summary: CreditSummary | None, verdict: str | None, available: bool = True
) -> LightningCredit:
    if summary is None or not available or verdict is None:
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


def _credit_verdict(reasons: list[Reason]) -> str:
    credit = [r for r in reasons if r.code.startswith(("CREDIT_", "CUSTOMER_"))]
    if any(r.severity == "block" for r in credit):
        return "block"
    return "warn" if credit else "ok"


def quote_view(result: ValidateQuoteResult) -> LightningQuoteResult:
    status, label, variant = _QUOTE_STATUS[result.verdict]
    lines = []
    for line in result.lines:
        price_status = line.price_status.upper()
        stock_status = line.availability_status.upper()
        lines.append(
            LightningQuoteLine(
                line_no=line.line_no,
                sku=line.sku,
                quantity=line.quantity,
                uom=line.uom,
                unit_price=line.quoted_unit_price,
                net_unit_price=line.net_unit_price,
                price_status=price_status,  # type: ignore[arg-type]
                price_label=_PRICE_LABEL[price_status],
                availability_status=stock_status,  # type: ignore[arg-type]
                availability_label=_STOCK_LABEL[stock_status],
                available_quantity=line.available_by_requested_date,
                promise_date=line.promise_date,
            )
        )
    provenances = (
        result.credit_provenance,
        result.price_provenance,
        result.availability_provenance,
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
        credit=_credit(
            result.credit,
            _credit_verdict(result.reasons),
            result.credit_provenance.status != "unavailable",
        ),
        degraded=any(p.status != "complete" or p.degraded for p in provenances),
        elapsed_ms=result.elapsed_ms,
    )


def _price_line(line: PriceLineResult) -> LightningPriceLine:
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
        line_no=line.line_no,
        sku=line.sku,
        quantity=line.quantity,
        uom=line.uom,
        status=status,
        label={"PRICED": "Priced", "UNAVAILABLE": "Price unavailable", "ERROR": "Cannot price"}[
            status
        ],
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
        lines=[_price_line(line) for line in result.lines],
        degraded=result.provenance.status != "complete" or result.provenance.degraded,
    )


def _atp_line(line: AtpLineResult) -> LightningAvailabilityLine:
    status = line.status.upper()
    return LightningAvailabilityLine(
        line_no=line.line_no,
        sku=line.sku,
        quantity=line.quantity,
        uom=line.uom,
        requested_date=line.requested_date,
        status=status,  # type: ignore[arg-type]
        label=_STOCK_LABEL[status],
        message=line.message,
        available_quantity=line.available_by_requested_date,
        promise_date=line.promise_date,
        promise_warehouse=line.promise_warehouse,
        warehouses=[
            LightningWarehouse(
                warehouse=w.warehouse,
                available_now=w.available_now,
                on_hand=w.on_hand,
                promise_date=w.promise_date,
            )
            for w in line.warehouses
        ],
    )


def credit_view(result: CreditCheckResult, account_id: str) -> LightningCreditResult:
    return LightningCreditResult(
        account_id=account_id,
        entity=result.entity,
        credit=_credit(result.credit, result.verdict, result.provenance.status != "unavailable"),
        messages=_messages(result.reasons),
        amount=result.amount,
    )


class LightningController(Controller):
    path = "/lightning/v1"
    tags = ["lightning"]

    @post(
        "/quotes/validate",
        status_code=200,
        operation_id="lightningValidateQuote",
        summary="Validate a quote for a Lightning component",
        description=(
            "Prices, availability and credit in one answer: READY, REVIEW or BLOCKED with a "
            "label, an SLDS variant and a titled message per reason."
        ),
        responses=_ERRORS,
        opt=requires(QUOTES_VALIDATE),
        security=security_requirements(QUOTES_VALIDATE),
    )
    async def validate_quote(
        self,
        *,
        data: Annotated[LightningQuoteRequest, Body()],
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> LightningQuoteResult:
        request = ValidateQuoteRequest(
            entity=data.entity,
            account_id=data.account_id,
            quote_id=data.quote_id,
            currency=data.currency,
            requested_date=data.requested_date,
            lines=[
                QuoteLine(
                    line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom,
                    quoted_unit_price=ln.unit_price, requested_date=ln.requested_date,
                )
                for ln in data.lines
            ],
        )  # fmt: skip
        result = await services.process.validate_quote(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return quote_view(result)

    @post(
        "/prices/check",
        status_code=200,
        operation_id="lightningCheckPrices",
        summary="Price lines for an account",
        responses=_ERRORS,
        opt=requires(PRICES_READ),
        security=security_requirements(PRICES_READ),
    )
    async def check_prices(
        self,
        *,
        data: Annotated[LightningPriceRequest, Body()],
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> LightningPriceResult:
        request = PriceCheckRequest(
            entity=data.entity,
            account_id=data.account_id,
            currency=data.currency,
            date=data.date,
            lines=[
                PriceLine(line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom)
                for ln in data.lines
            ],
        )
        result = await services.process.price_check(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return price_view(result)

    @get(
        "/accounts/{accountId:str}/prices/{sku:str}",
        operation_id="lightningGetPrice",
        summary="Price one product for an account",
        responses=_GET_ERRORS,
        opt=requires(PRICES_READ),
        security=security_requirements(PRICES_READ),
    )
    async def get_price(
        self,
        *,
        accountId: AccountPath,  # camelCase: the path segment's name
        sku: SkuPath,
        entity: EntityQuery,
        currency: CurrencyQuery,
        quantity: QuantityQuery,
        uom: UomQuery,
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> LightningPriceLine:
        request = PriceCheckRequest(
            entity=entity,
            account_id=accountId,
            currency=currency,
            lines=[
                PriceLine(
                    sku=sku,
                    quantity=_query_decimal(quantity, "quantity", QUANTITY_PATTERN),
                    uom=uom,
                )
            ],
        )
        result = await services.process.price_check(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return _price_line(result.lines[0])

    @post(
        "/availability/check",
        status_code=200,
        operation_id="lightningCheckAvailability",
        summary="Availability per line, with warehouses and promise dates",
        responses=_ERRORS,
        opt=requires(INVENTORY_READ),
        security=security_requirements(INVENTORY_READ),
    )
    async def check_availability(
        self,
        *,
        data: Annotated[LightningAvailabilityRequest, Body()],
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> LightningAvailabilityResult:
        request = AtpRequest(
            entity=data.entity,
            lines=[
                AtpLine(
                    line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom,
                    requested_date=ln.requested_date,
                )
                for ln in data.lines
            ],
        )  # fmt: skip
        result = await services.process.atp(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return LightningAvailabilityResult(
            lines=[_atp_line(line) for line in result.lines],
            degraded=result.provenance.status != "complete" or result.provenance.degraded,
        )

    @get(
        "/products/{sku:str}/availability",
        operation_id="lightningGetAvailability",
        summary="Availability of one product",
        responses=_GET_ERRORS,
        opt=requires(INVENTORY_READ),
        security=security_requirements(INVENTORY_READ),
    )
    async def get_availability(
        self,
        *,
        sku: SkuPath,
        entity: EntityQuery,
        quantity: QuantityQuery,
        uom: UomQuery,
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> LightningAvailabilityLine:
        request = AtpRequest(
            entity=entity,
            lines=[
                AtpLine(
                    sku=sku,
                    quantity=_query_decimal(quantity, "quantity", QUANTITY_PATTERN),
                    uom=uom,
                )
            ],
        )
        result = await services.process.atp(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return _atp_line(result.lines[0])

    @get(
        "/accounts/{accountId:str}/credit",
        operation_id="lightningGetCredit",
        summary="An account's credit: limit, exposure, headroom and a status",
        description="With `amount`, also whether an order of that size fits the headroom.",
        responses=_GET_ERRORS,
        opt=requires(CREDIT_READ),
        security=security_requirements(CREDIT_READ),
    )
    async def get_credit(
        self,
        *,
        accountId: AccountPath,  # camelCase: the path segment's name
        entity: EntityQuery,
        services: NamedDependency[Services],
        amount: Annotated[str | None, Parameter(pattern=AMOUNT_PATTERN, required=False)] = None,
        currency: Annotated[str | None, Parameter(pattern=r"^[A-Z]{3}$", required=False)] = None,
        deadline_ms: DeadlineHeader = None,
    ) -> LightningCreditResult:
        request = CreditCheckRequest(
            entity=entity,
            account_id=accountId,
            amount=_query_decimal(amount, "amount", AMOUNT_PATTERN) if amount is not None else None,
            currency=currency,
        )
        result = await services.process.credit_check(
            request, deadline_for(services, deadline_ms), current_correlation_id()
        )
        return credit_view(result, accountId)
