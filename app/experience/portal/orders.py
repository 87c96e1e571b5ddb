"""``/portal/v1/orders``: partners submit and read orders for their own accounts only; the same
operations as ``/process/v1/orders`` (``app/routes/orders.py``), scoped to the partner.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Body

from app.problems import ProblemError
from app.routes.body import StrictBody
from app.routes.orders import (
    ACCEPTED,
    ORDER_EXAMPLE,
    SUBMIT_DOC,
    AnyRequest,
    EntityFilter,
    ExternalRefQuery,
    IdempotencyKey,
    OrderIdPath,
    OrderList,
    PreferHeader,
    order_service,
    read,
    submit,
)
from app.routes.shared import answers, problem_responses
from app.security import ORDERS_READ, ORDERS_SUBMIT, Caller, PartnerDirectory
from app.services import Services
from process_apis.orders import OrderSubmission, OrderView

__all__ = ["PortalOrdersController"]


def _owned(partners: PartnerDirectory, caller: Caller, order: OrderView) -> bool:
    if order.account_id is None or caller.partner_id is None:
        return False
    with contextlib.suppress(NotFoundException):
        partners.owned_account(caller, order.account_id)
        return True
    return False


class PortalOrdersController(Controller):
    """Partners submit and read orders for their own accounts only (others answer 404)."""

    path = "/portal/v1/orders"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["portal"]

    @post(
        "/",
        **answers(
            "portalSubmitOrder",
            "Submit an order for one of your accounts (asynchronous, idempotent)",
            ORDERS_SUBMIT,
            {**ACCEPTED, **problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 503)},
            description=SUBMIT_DOC + " `accountId` must be one of your accounts.",
            status_code=202,
        ),
    )
    async def submit_order(
        self,
        request: AnyRequest,
        data: Annotated[OrderSubmission, Body(examples=[ORDER_EXAMPLE])],
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        *,
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[Any]:
        if data.account_id is None:
            raise ProblemError(
                422, "validation_error", "Request failed validation",
                "Partners name the account by accountId.",
            )  # fmt: skip
        partners.owned_account(request.user, data.account_id)
        return await submit(request, services, data, idempotency_key, prefer)

    @get(
        "/{order_id:str}",
        **answers(
            "portalGetOrder",
            "One of your orders",
            ORDERS_READ,
            problem_responses(400, 401, 403, 404, 422, 429, 503),
        ),
    )
    async def get_order(
        self,
        request: AnyRequest,
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        order_id: OrderIdPath,
    ) -> OrderView:
        order = await read(services, order_id)
        if not _owned(partners, request.user, order):
            raise NotFoundException(detail=f"No order {order_id}.")
        return order

    @get(
        "/",
        **answers(
            "portalFindOrders",
            "Your orders by your reference",
            ORDERS_READ,
            problem_responses(400, 401, 403, 422, 429, 503),
        ),
    )
    async def find_orders(
        self,
        request: AnyRequest,
        services: NamedDependency[Services],
        partners: NamedDependency[PartnerDirectory],
        external_ref: ExternalRefQuery,
        entity: EntityFilter = None,
    ) -> OrderList:
        found = await order_service(services).by_external_ref(external_ref, entity)
        return OrderList(orders=[o for o in found if _owned(partners, request.user, o)])
