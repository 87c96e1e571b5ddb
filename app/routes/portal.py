"""``/portal/v1``: partner portals, scoped to the calling partner.

Partners see only their own accounts (another partner's account id answers 404, never the
data), their contract (net) prices, availability as bands rather than warehouse quantities,
and credit only as ``ok`` or ``contact_account_manager``. Responses carry
``Cache-Control: no-store``; browsers may call from configured portal origins only (CORS).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from app.correlation import current_correlation_id
from app.experience_models import (
    AvailabilityBand,
    PortalAccount,
    PortalAccounts,
    PortalAvailabilityLine,
    PortalAvailabilityRequest,
    PortalAvailabilityResult,
    PortalCredit,
    PortalMessage,
    PortalPriceLine,
    PortalPriceRequest,
    PortalPriceResult,
    PortalQuoteLine,
    PortalQuoteRequest,
    PortalQuoteResult,
)
from app.routes._experience import DeadlineHeader, deadline_for, problem_responses
from app.security import (
    ACCOUNTS_READ,
    CREDIT_READ,
    INVENTORY_READ,
    PRICES_READ,
    QUOTES_VALIDATE,
    Caller,
    PartnerDirectory,
    requires,
    security_requirements,
)
from app.services import Services
from process_apis.models import (
    AtpLine,
    AtpRequest,
    CreditCheckRequest,
    PriceCheckRequest,
    PriceLine,
    QuoteLine,
    ValidateQuoteRequest,
)

__all__ = ["PortalController", "band_of"]

_ERRORS = problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 431, 503)
_GET_ERRORS = problem_responses(400, 401, 403, 404, 422, 429, 431, 503)

AccountPath = Annotated[
    str, Parameter(min_length=1, max_length=18, description="Salesforce Account id you own")
]
EntityQuery = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_-]{1,20}$")]
AnyRequest = Request[Caller, Any, Any]

_CREDIT_CODES = ("CREDIT_", "CUSTOMER_")
_PARTNER_MESSAGES = {
    "PRICE_MISMATCH": "Your price differs from your contract price.",
    "INSUFFICIENT_STOCK": "Not all of the quantity is available by the requested date.",
    "ITEM_INACTIVE": "This product can no longer be ordered.",
    "ITEM_NOT_FOUND": "This product is not in the catalogue.",
    "UOM_NOT_CONVERTIBLE": "This product cannot be ordered in this unit or quantity.",
}
_CONTACT = "Please contact your account manager about this account."


def band_of(status: str, by_requested: Any) -> AvailabilityBand:
    """Warehouse quantities become a band: all by the date, part of it, or none of it."""
    if status == "available":
        return "in_stock"
    if status == "partial" and by_requested:
        return "limited"
    if status in {"partial", "backorder"}:
        return "backorder"
    return "unavailable"


def _partner(request: AnyRequest) -> str:
    partner_id = request.user.partner_id
    assert partner_id is not None  # the portal's policy admits partner credentials only
    return partner_id


class PortalController(Controller):
    path = "/portal/v1"
    tags = ["portal"]

    @get(
        "/accounts",
        operation_id="portalListAccounts",
        summary="The accounts your partner credential may see",
        responses=problem_responses(401, 403, 429, 431),
        opt=requires(ACCOUNTS_READ),
        security=security_requirements(ACCOUNTS_READ),
    )
    async def list_accounts(
        self, request: AnyRequest, partners: NamedDependency[PartnerDirectory]
    ) -> PortalAccounts:
        partner_id = _partner(request)
        return PortalAccounts(
            partner_id=partner_id,
            accounts=[PortalAccount(account_id=a) for a in partners.accounts_of(partner_id)],
        )

    @get(
        "/accounts/{accountId:str}/credit",
        operation_id="portalGetCredit",
        summary="Whether an account can order on credit",
        description="`ok`, or `contact_account_manager` (hold, limit, overdue or unknown).",
        responses=_GET_ERRORS,
        opt=requires(CREDIT_READ),
        security=security_requirements(CREDIT_READ),
    )
    async def get_credit(
        self,
        *,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        entity: EntityQuery,
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        deadline_ms: DeadlineHeader = None,
    ) -> PortalCredit:
        owned = partners.owned_account(request.user, accountId)
        result = await services.process.credit_check(
            CreditCheckRequest(entity=entity, account_id=owned),
            deadline_for(services, deadline_ms),
            current_correlation_id(),
        )
        ok = result.verdict == "ok" and result.credit is not None
        return PortalCredit(
            account_id=owned,
            entity=entity,
            status="ok" if ok else "contact_account_manager",
            message="Orders on account terms are possible." if ok else _CONTACT,
        )

    @post(
        "/accounts/{accountId:str}/prices",
        status_code=200,
        operation_id="portalCheckPrices",
        summary="Your contract prices for lines",
        responses=_ERRORS,
        opt=requires(PRICES_READ),
        security=security_requirements(PRICES_READ),
    )
    async def check_prices(
        self,
        *,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        data: Annotated[PortalPriceRequest, Body()],
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        deadline_ms: DeadlineHeader = None,
    ) -> PortalPriceResult:
        owned = partners.owned_account(request.user, accountId)
        result = await services.process.price_check(
            PriceCheckRequest(
                entity=data.entity,
                account_id=owned,
                currency=data.currency,
                lines=[
                    PriceLine(line_no=ln.line_no, sku=ln.sku, quantity=ln.quantity, uom=ln.uom)
                    for ln in data.lines
                ],
            ),
            deadline_for(services, deadline_ms),
            current_correlation_id(),
        )
        return PortalPriceResult(
            account_id=owned,
            currency=result.currency,
            lines=[
                PortalPriceLine(
                    line_no=line.line_no,
                    sku=line.sku,
                    quantity=line.quantity,
                    uom=line.uom,
                    status="priced" if line.status == "ok" else "unavailable",
                    contract_price=line.net_price,
                    extended_price=line.extended_net,
                    valid_to=line.valid_to,
                )
                for line in result.lines
            ],
        )

    @post(
        "/availability",
        status_code=200,
        operation_id="portalCheckAvailability",
        summary="Availability bands: in stock, limited, or backorder with a date",
        responses=_ERRORS,
        opt=requires(INVENTORY_READ),
        security=security_requirements(INVENTORY_READ),
    )
    async def check_availability(
        self,
        *,
        data: Annotated[PortalAvailabilityRequest, Body()],
        services: NamedDependency[Services],
        deadline_ms: DeadlineHeader = None,
    ) -> PortalAvailabilityResult:
        result = await services.process.atp(
            AtpRequest(
                entity=data.entity,
                lines=[
                    AtpLine(
                        line_no=ln.line_no,
                        sku=ln.sku,
                        quantity=ln.quantity,
                        uom=ln.uom,
                        requested_date=ln.requested_date,
                    )
                    for ln in data.lines
                ],
            ),
            deadline_for(services, deadline_ms),
            current_correlation_id(),
        )
        lines = []
        for line in result.lines:
            band = band_of(line.status, line.available_by_requested_date)
            lines.append(
                PortalAvailabilityLine(
                    line_no=line.line_no,
                    sku=line.sku,
                    quantity=line.quantity,
                    uom=line.uom,
                    band=band,
                    available_date=line.promise_date if band != "unavailable" else None,
                )
            )
        return PortalAvailabilityResult(lines=lines)

    @post(
        "/accounts/{accountId:str}/quotes/validate",
        status_code=200,
        operation_id="portalValidateQuote",
        summary="Check a quote: your prices, availability bands and whether credit is ok",
        responses=_ERRORS,
        opt=requires(QUOTES_VALIDATE),
        security=security_requirements(QUOTES_VALIDATE),
    )
    async def validate_quote(
        self,
        *,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        data: Annotated[PortalQuoteRequest, Body()],
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        deadline_ms: DeadlineHeader = None,
    ) -> PortalQuoteResult:
        owned = partners.owned_account(request.user, accountId)
        result = await services.process.validate_quote(
            ValidateQuoteRequest(
                entity=data.entity,
                account_id=owned,
                quote_id=data.quote_id,
                currency=data.currency,
                lines=[
                    QuoteLine(
                        line_no=ln.line_no,
                        sku=ln.sku,
                        quantity=ln.quantity,
                        uom=ln.uom,
                        quoted_unit_price=ln.unit_price,
                        requested_date=ln.requested_date,
                    )
                    for ln in data.lines
                ],
            ),
            deadline_for(services, deadline_ms),
            current_correlation_id(),
        )
        credit_ok = result.credit is not None and not any(
            r.code.startswith(_CREDIT_CODES) for r in result.reasons
        )
        messages = [
            PortalMessage(code=r.code, message=_PARTNER_MESSAGES[r.code], line_no=r.line_no)
            for r in result.reasons
            if r.code in _PARTNER_MESSAGES
        ]
        if not credit_ok:
            messages.insert(0, PortalMessage(code="CONTACT_ACCOUNT_MANAGER", message=_CONTACT))
        # Reasons a partner is not told about in detail (ERP timeouts) still mark a review.
        status: Literal["ok", "review", "blocked"] = {
            "ok": "ok",
            "warn": "review",
            "block": "blocked",
        }[result.verdict]  # type: ignore[assignment]
        return PortalQuoteResult(
            account_id=owned,
            quote_id=result.quote_id,
            status=status,
            currency=result.currency,
            total=result.quote_total,
            credit="ok" if credit_ok else "contact_account_manager",
            lines=[
                PortalQuoteLine(
                    line_no=line.line_no,
                    sku=line.sku,
                    quantity=line.quantity,
                    uom=line.uom,
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
