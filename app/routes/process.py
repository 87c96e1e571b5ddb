"""``/process/v1``: the business capabilities over HTTP, for internal and Salesforce callers."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import Body

from app.examples import (
    ATP_EXAMPLE,
    CREDIT_EXAMPLE,
    PRICE_CHECK_EXAMPLE,
    VALIDATE_QUOTE_EXAMPLE,
)
from app.routes.body import StrictBody
from app.routes.read_lane import READ_CAPABILITY
from app.routes.shared import Ask, problem_responses
from process_apis.models import (
    AtpRequest,
    AtpResult,
    CreditCheckRequest,
    CreditCheckResult,
    PriceCheckRequest,
    PriceCheckResult,
    ValidateQuoteRequest,
    ValidateQuoteResult,
)

__all__ = ["ProcessController"]

_ERRORS = problem_responses(400, 401, 403, 415, 422, 429, 431, 503)
"""Authentication, scope, rate and header-size refusals (``app.security``) apply here too."""


class ProcessController(Controller):
    """The four read capabilities. The request gate answers their usual requests itself
    (``app.routes.read_lane``); these handlers answer the rest and document them all."""

    path = "/process/v1"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["process"]

    @post(
        "/price-check",
        status_code=200,
        opt={READ_CAPABILITY: "price-check"},
        operation_id="priceCheck",
        summary="Price lines for a customer",
        description="List and net unit price, discounts, price list and validity per line, in the request currency.",
        responses=_ERRORS,
    )
    async def price_check(
        self,
        data: Annotated[PriceCheckRequest, Body(examples=[PRICE_CHECK_EXAMPLE])],
        ask: NamedDependency[Ask],
    ) -> PriceCheckResult:
        return await ask.price_check(data)

    @post(
        "/atp",
        status_code=200,
        opt={READ_CAPABILITY: "atp"},
        operation_id="availableToPromise",
        summary="Available-to-promise per line",
        description=(
            "Available now per warehouse, the earliest date the full quantity is promisable, "
            "and the quantity available by the requested date."
        ),
        responses=_ERRORS,
    )
    async def atp(
        self, data: Annotated[AtpRequest, Body(examples=[ATP_EXAMPLE])], ask: NamedDependency[Ask]
    ) -> AtpResult:
        return await ask.atp(data)

    @post(
        "/credit-check",
        status_code=200,
        opt={READ_CAPABILITY: "credit-check"},
        operation_id="creditCheck",
        summary="Credit exposure, headroom and a verdict for an amount",
        responses=_ERRORS,
    )
    async def credit_check(
        self,
        data: Annotated[CreditCheckRequest, Body(examples=[CREDIT_EXAMPLE])],
        ask: NamedDependency[Ask],
    ) -> CreditCheckResult:
        return await ask.credit_check(data)

    @post(
        "/validate-quote",
        status_code=200,
        opt={READ_CAPABILITY: "validate-quote"},
        operation_id="validateQuote",
        summary="Validate a whole quote: prices, availability and credit in one answer",
        description=(
            "One concurrent fan-out of credit, prices and availability within the deadline. "
            "Verdict `ok | warn | block` with machine-readable reasons (PRICE_MISMATCH, "
            "INSUFFICIENT_STOCK, CREDIT_HOLD, CREDIT_LIMIT_EXCEEDED, ITEM_INACTIVE, "
            "CUSTOMER_INACTIVE, UOM_NOT_CONVERTIBLE, …) and provenance per section."
        ),
        responses=_ERRORS,
    )
    async def validate_quote(
        self,
        data: Annotated[ValidateQuoteRequest, Body(examples=[VALIDATE_QUOTE_EXAMPLE])],
        ask: NamedDependency[Ask],
    ) -> ValidateQuoteResult:
        return await ask.validate_quote(data)
