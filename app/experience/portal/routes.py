"""``/portal/v1``: partner portals, scoped to the calling partner.

Partners see only their own accounts (another partner's account id answers 404, never the
data), their contract (net) prices, availability as bands rather than warehouse quantities,
and credit only as ``ok`` or ``contact_account_manager`` (views in ``views.py``). Responses
carry ``Cache-Control: no-store``; browsers may call from configured portal origins only (CORS).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Body, Parameter

from app.experience import mapping
from app.experience.portal import views
from app.experience.portal.models import (
    PortalAccount,
    PortalAccounts,
    PortalAvailabilityRequest,
    PortalAvailabilityResult,
    PortalCredit,
    PortalPriceRequest,
    PortalPriceResult,
    PortalQuoteRequest,
    PortalQuoteResult,
)
from app.routes.body import StrictBody
from app.routes.shared import Ask, answers, problem_responses
from app.security import (
    ACCOUNTS_READ,
    CREDIT_READ,
    INVENTORY_READ,
    PRICES_READ,
    QUOTES_VALIDATE,
    Caller,
    PartnerDirectory,
)

__all__ = ["PortalController"]

_ERRORS = problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 431, 503)
_GET_ERRORS = problem_responses(400, 401, 403, 404, 422, 429, 431, 503)

AccountPath = Annotated[
    str, Parameter(min_length=1, max_length=18, description="Salesforce Account id you own")
]
EntityQuery = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_-]{1,20}$")]
AnyRequest = Request[Caller, Any, Any]


def _partner(request: AnyRequest) -> str:
    partner_id = request.user.partner_id
    assert partner_id is not None  # the portal's policy admits partner credentials only
    return partner_id


class PortalController(Controller):
    path = "/portal/v1"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["portal"]

    @get(
        "/accounts",
        **answers(
            "portalListAccounts",
            "The accounts your partner credential may see",
            ACCOUNTS_READ,
            problem_responses(401, 403, 429, 431),
        ),
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
        **answers(
            "portalGetCredit",
            "Whether an account can order on credit",
            CREDIT_READ,
            _GET_ERRORS,
            description="`ok`, or `contact_account_manager` (hold, limit, overdue or unknown).",
        ),
    )
    async def get_credit(
        self,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        entity: EntityQuery,
        ask: NamedDependency[Ask],
        partners: NamedDependency[PartnerDirectory],
    ) -> PortalCredit:
        owned = partners.owned_account(request.user, accountId)
        result = await ask.credit_check(mapping.credit_request(entity, owned))
        return views.credit_view(result, owned)

    @post(
        "/accounts/{accountId:str}/prices",
        **answers("portalCheckPrices", "Your contract prices for lines", PRICES_READ, _ERRORS),
    )
    async def check_prices(
        self,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        data: Annotated[PortalPriceRequest, Body()],
        ask: NamedDependency[Ask],
        partners: NamedDependency[PartnerDirectory],
    ) -> PortalPriceResult:
        owned = partners.owned_account(request.user, accountId)
        result = await ask.price_check(
            mapping.price_request(data.entity, owned, data.currency, data.lines)
        )
        return views.price_view(result, owned)

    @post(
        "/availability",
        **answers(
            "portalCheckAvailability",
            "Availability bands: in stock, limited, or backorder with a date",
            INVENTORY_READ,
            _ERRORS,
        ),
    )
    async def check_availability(
        self, data: Annotated[PortalAvailabilityRequest, Body()], ask: NamedDependency[Ask]
    ) -> PortalAvailabilityResult:
        result = await ask.atp(mapping.atp_request(data.entity, data.lines))
        return views.availability_view(result)

    @post(
        "/accounts/{accountId:str}/quotes/validate",
        **answers(
            "portalValidateQuote",
            "Check a quote: your prices, availability bands and whether credit is ok",
            QUOTES_VALIDATE,
            _ERRORS,
        ),
    )
    async def validate_quote(
        self,
        request: AnyRequest,
        accountId: AccountPath,  # camelCase: the path segment's name
        data: Annotated[PortalQuoteRequest, Body()],
        ask: NamedDependency[Ask],
        partners: NamedDependency[PartnerDirectory],
    ) -> PortalQuoteResult:
        owned = partners.owned_account(request.user, accountId)
        quote = mapping.quote_request(
            data.entity, owned, data.currency, data.lines, quote_id=data.quote_id
        )
        result = await ask.validate_quote(quote)
        return views.quote_view(result, owned)
