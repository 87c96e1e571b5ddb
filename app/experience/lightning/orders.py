"""``/lightning/v1/orders``: order submission and status for Apex (External Services, callouts),
with the orders scopes; the same operations as ``/process/v1/orders`` (``app/routes/orders.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import Body

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
from app.security import ORDERS_READ, ORDERS_SUBMIT
from app.services import Services
from process_apis.orders import OrderSubmission, OrderView

__all__ = ["LightningOrdersController"]


class LightningOrdersController(Controller):
    """The same operations for Apex (External Services / callouts) with the orders scopes."""

    path = "/lightning/v1/orders"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["lightning"]

    @post(
        "/",
        **answers(
            "lightningSubmitOrder",
            "Submit an order from Salesforce (asynchronous, idempotent)",
            ORDERS_SUBMIT,
            {**ACCEPTED, **problem_responses(400, 401, 403, 413, 415, 422, 429, 503)},
            description=SUBMIT_DOC,
            status_code=202,
        ),
    )
    async def submit_order(
        self,
        request: AnyRequest,
        data: Annotated[OrderSubmission, Body(examples=[ORDER_EXAMPLE])],
        services: NamedDependency[Services],
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[Any]:
        return await submit(request, services, data, idempotency_key, prefer)

    @get(
        "/{order_id:str}",
        **answers(
            "lightningGetOrder",
            "An order's status and ERP order number",
            ORDERS_READ,
            problem_responses(400, 401, 403, 404, 422, 429, 503),
        ),
    )
    async def get_order(
        self, services: NamedDependency[Services], order_id: OrderIdPath
    ) -> OrderView:
        return await read(services, order_id)

    @get(
        "/",
        **answers(
            "lightningFindOrders",
            "Orders by Salesforce Order id",
            ORDERS_READ,
            problem_responses(400, 401, 403, 422, 429, 503),
        ),
    )
    async def find_orders(
        self,
        services: NamedDependency[Services],
        external_ref: ExternalRefQuery,
        entity: EntityFilter = None,
    ) -> OrderList:
        return OrderList(orders=await order_service(services).by_external_ref(external_ref, entity))
