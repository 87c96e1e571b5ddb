"""``/lightning/v1``: Apex and Lightning Web Components, for internal users.

Compact, display-ready answers over the process APIs (views in ``views.py``, payloads in
``models.py``). GET forms read by id for components that fetch on render.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from app.experience import mapping
from app.experience.lightning import views
from app.experience.lightning.models import (
    LightningAvailabilityLine,
    LightningAvailabilityLineIn,
    LightningAvailabilityRequest,
    LightningAvailabilityResult,
    LightningCreditResult,
    LightningLineIn,
    LightningPriceLine,
    LightningPriceRequest,
    LightningPriceResult,
    LightningQuoteRequest,
    LightningQuoteResult,
)
from app.problems import FieldProblem, ProblemError
from app.routes.body import StrictBody
from app.routes.shared import Ask, answers, problem_responses
from app.security import (
    CREDIT_READ,
    INVENTORY_READ,
    PRICES_READ,
    QUOTES_VALIDATE,
)
from process_apis.decimals import exact_decimal
from process_apis.models import AMOUNT_PATTERN, QUANTITY_PATTERN

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


class LightningController(Controller):
    path = "/lightning/v1"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["lightning"]

    @post(
        "/quotes/validate",
        **answers(
            "lightningValidateQuote",
            "Validate a quote for a Lightning component",
            QUOTES_VALIDATE,
            _ERRORS,
            description=(
                "Prices, availability and credit in one answer: READY, REVIEW or BLOCKED with a "
                "label, an SLDS variant and a titled message per reason."
            ),
        ),
    )
    async def validate_quote(
        self, data: Annotated[LightningQuoteRequest, Body()], ask: NamedDependency[Ask]
    ) -> LightningQuoteResult:
        request = mapping.quote_request(
            data.entity,
            data.account_id,
            data.currency,
            data.lines,
            quote_id=data.quote_id,
            requested_date=data.requested_date,
        )
        result = await ask.validate_quote(request)
        return views.quote_view(result)

    @post(
        "/prices/check",
        **answers("lightningCheckPrices", "Price lines for an account", PRICES_READ, _ERRORS),
    )
    async def check_prices(
        self, data: Annotated[LightningPriceRequest, Body()], ask: NamedDependency[Ask]
    ) -> LightningPriceResult:
        request = mapping.price_request(
            data.entity, data.account_id, data.currency, data.lines, on_date=data.date
        )
        result = await ask.price_check(request)
        return views.price_view(result)

    @get(
        "/accounts/{accountId:str}/prices/{sku:str}",
        **answers(
            "lightningGetPrice", "Price one product for an account", PRICES_READ, _GET_ERRORS
        ),
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
        ask: NamedDependency[Ask],
    ) -> LightningPriceLine:
        line = LightningLineIn(
            sku=sku, quantity=_query_decimal(quantity, "quantity", QUANTITY_PATTERN), uom=uom
        )
        request = mapping.price_request(entity, accountId, currency, [line])
        result = await ask.price_check(request)
        return views.price_line(result.lines[0])

    @post(
        "/availability/check",
        **answers(
            "lightningCheckAvailability",
            "Availability per line, with warehouses and promise dates",
            INVENTORY_READ,
            _ERRORS,
        ),
    )
    async def check_availability(
        self, data: Annotated[LightningAvailabilityRequest, Body()], ask: NamedDependency[Ask]
    ) -> LightningAvailabilityResult:
        request = mapping.atp_request(data.entity, data.lines)
        result = await ask.atp(request)
        return views.availability_view(result)

    @get(
        "/products/{sku:str}/availability",
        **answers(
            "lightningGetAvailability", "Availability of one product", INVENTORY_READ, _GET_ERRORS
        ),
    )
    async def get_availability(
        self,
        sku: SkuPath,
        entity: EntityQuery,
        quantity: QuantityQuery,
        uom: UomQuery,
        ask: NamedDependency[Ask],
    ) -> LightningAvailabilityLine:
        line = LightningAvailabilityLineIn(
            sku=sku, quantity=_query_decimal(quantity, "quantity", QUANTITY_PATTERN), uom=uom
        )
        result = await ask.atp(mapping.atp_request(entity, [line]))
        return views.availability_line(result.lines[0])

    @get(
        "/accounts/{accountId:str}/credit",
        **answers(
            "lightningGetCredit",
            "An account's credit: limit, exposure, headroom and a status",
            CREDIT_READ,
            _GET_ERRORS,
            description="With `amount`, also whether an order of that size fits the headroom.",
        ),
    )
    async def get_credit(
        self,
        *,
        accountId: AccountPath,  # camelCase: the path segment's name
        entity: EntityQuery,
        amount: Annotated[str | None, Parameter(pattern=AMOUNT_PATTERN, required=False)] = None,
        currency: Annotated[str | None, Parameter(pattern=r"^[A-Z]{3}$", required=False)] = None,
        ask: NamedDependency[Ask],
    ) -> LightningCreditResult:
        request = mapping.credit_request(
            entity,
            accountId,
            amount=_query_decimal(amount, "amount", AMOUNT_PATTERN) if amount is not None else None,
            currency=currency,
        )
        result = await ask.credit_check(request)
        return views.credit_view(result, accountId)
