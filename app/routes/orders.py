"""Order submission and status over HTTP: ``/process/v1/orders`` here, and what the experiences'
order routes share with it (``app/experience/lightning/orders.py`` for ``/lightning/v1/orders``,
``app/experience/portal/orders.py`` for the partner variant ``/portal/v1/orders``, scoped to the
partner's accounts): the headers, the submission and the documented answers.

``Idempotency-Key`` is required on submission (IETF httpapi draft semantics): the same key and
body replay the first response, errors included, for ``orders.idempotency_retention_s``
(default 24 h); the same key with another body is a 422; a repeat while the first is still
being processed is a 409. Keys are scoped per client. Server errors (5xx) are not kept: the
same key may be retried. ``Prefer: wait=N`` (RFC 7240, seconds) waits up to N seconds,
capped at ``orders.wait_max_ms``, for the ERP's answer.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, HeaderParameter, Parameter, QueryParameter

from app.correlation import current_correlation_id
from app.errors import response_for
from app.problems import PROBLEM_JSON, ProblemError
from app.routes.body import StrictBody
from app.routes.shared import deadline_for, problem_responses
from app.security import Caller
from app.services import Services
from process_apis.orders import OrderService, OrderSubmission, OrderView, StoredResponse

__all__ = [
    "ACCEPTED",
    "ORDER_EXAMPLE",
    "SUBMIT_DOC",
    "AnyRequest",
    "EntityFilter",
    "ExternalRefQuery",
    "IdempotencyKey",
    "OrderIdPath",
    "OrderList",
    "PreferHeader",
    "ProcessOrdersController",
    "order_service",
    "read",
    "submit",
]

AnyRequest = Request[Caller, Any, Any]
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_WAIT_RE = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d{1,6})(?:$|[,;\s])", re.I)
_BUDGET_S = 9.0
"""Submission never answers later than this after it arrived (Apex's default timeout is 10 s)."""

ORDER_EXAMPLE = Example(
    summary="One line for an Infor (US01) customer",
    value={
        "externalRef": "801Sbx000000001AAA",
        "entity": "US01",
        "accountId": "001Sbx000000001IAA",
        "currency": "USD",
        "customerPo": "PO-4711",
        "requestedDate": "2026-12-01",
        "lines": [{"sku": "SKU-0001", "quantity": "2", "uom": "Each", "unitPrice": "9.50"}],
    },
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            "Required. 1-255 visible ASCII characters (a UUID is a good key), quoted or not. "
            "Same key + same body → the first response again (kept 24 h by default); same key "
            "+ another body → 422; while the first request runs → 409. Scoped per client."
        ),
    ),
]
PreferHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Prefer",
        required=False,
        description=(
            "`wait=N`: wait up to N **seconds** (RFC 7240's unit; `wait=5` is five seconds, "
            "not milliseconds) for the ERP's answer, capped at the gateway's `orders.wait_max_ms` "
            "(5 s by default). Answered in time: 200 with the outcome (e.g. `booked` and "
            "`erpOrderNumber`), else 202; both with `Preference-Applied: wait`."
        ),
    ),
]
ExternalRefQuery = Annotated[
    str,
    QueryParameter(name="externalRef", min_length=1, max_length=80, description="Your reference"),
]
EntityFilter = Annotated[
    str | None, QueryParameter(name="entity", pattern=r"^[A-Za-z0-9_-]{1,20}$", required=False)
]
OrderIdPath = Annotated[str, Parameter(min_length=1, max_length=40, pattern=r"^ord_[0-9a-f]+$")]


class OrderList(msgspec.Struct, kw_only=True, rename="camel"):
    orders: list[OrderView]


ACCEPTED = {
    202: ResponseSpec(
        data_container=OrderView,
        description="Accepted: stored with its outbox entry; `Location` names the order.",
        generate_examples=False,
    ),
    200: ResponseSpec(
        data_container=OrderView,
        description=(
            "With `Prefer: wait=N` (N seconds): the ERP answered in time (booked with "
            "`erpOrderNumber`, rejected, needs_attention)."
        ),
        generate_examples=False,
    ),
    409: ResponseSpec(
        data_container=Any,
        description=(
            "The external reference is already taken (`orderId` names the order), or a "
            "request with this Idempotency-Key is still running"
        ),
        media_type=PROBLEM_JSON,
        generate_examples=False,
    ),
}


def order_service(services: Services) -> OrderService:
    if services.orders is None:
        raise ProblemError(
            503, "store_not_configured", "Orders are not enabled",
            "This gateway runs without an order store.",
        )  # fmt: skip
    return services.orders


def _key(raw: str | None) -> str:
    if raw is None:
        raise ProblemError(
            400, "idempotency_key_missing", "Idempotency-Key header required",
            "Order submission requires an Idempotency-Key header (e.g. a UUID).",
        )  # fmt: skip
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _KEY_RE.fullmatch(key):
        raise ProblemError(
            400, "idempotency_key_invalid", "Idempotency-Key header invalid",
            "The Idempotency-Key must be 1-255 visible ASCII characters.",
        )  # fmt: skip
    return key


def _wait_s(prefer: str | None, services: Services, started: float) -> float | None:
    match = _WAIT_RE.search(f" {prefer} ") if prefer else None
    if match is None:
        return None
    cap = services.settings.orders.wait_max_ms / 1000
    left = _BUDGET_S - (time.monotonic() - started)
    return max(0.0, min(float(match.group(1)), cap, left))


def _stored(response: StoredResponse, *, replayed: bool = False) -> Response[bytes]:
    headers = dict(response.headers)
    media_type = headers.pop("content-type", "application/json")
    if replayed:
        headers["idempotent-replayed"] = "true"
    return Response(
        content=response.body, status_code=response.status, headers=headers, media_type=media_type
    )


async def submit(
    request: AnyRequest,
    services: Services,
    data: OrderSubmission,
    key_header: str | None,
    prefer: str | None,
) -> Response[Any]:
    started = time.monotonic()
    orders = order_service(services)
    key = _key(key_header)
    client = request.user.client
    fingerprint = OrderService.fingerprint(request.method, request.url.path, data)
    replay = await orders.reserve(client, key, fingerprint)
    if replay is not None:
        return _stored(replay, replayed=True)
    base = request.url.path.rstrip("/")

    def render(view: OrderView) -> StoredResponse:
        return StoredResponse(
            status=202,
            body=msgspec.json.encode(view),
            headers={"location": f"{base}/{view.id}", "content-type": "application/json"},
        )

    try:
        view, accepted = await orders.accept(
            data,
            client=client,
            key=key,
            correlation_id=current_correlation_id(),
            deadline=deadline_for(services, None),
            render=render,
        )
    except Exception as exc:
        problem = response_for(request, exc)
        status = problem.status_code or 500
        if status < 500:
            body = msgspec.json.encode(problem.content)
            headers = {k: str(v) for k, v in problem.headers.items()}
            await orders.remember(
                client, key, StoredResponse(status, body, {**headers,
                                            "content-type": PROBLEM_JSON})
            )  # fmt: skip
        else:
            with contextlib.suppress(Exception):
                await orders.forget(client, key, fingerprint)
        return problem
    wait = _wait_s(prefer, services, started)
    if wait is None:
        return _stored(accepted)
    latest = await orders.wait_for_final(view.id, wait) or view
    final = latest.status in ("booked", "rejected", "needs_attention")
    answer = StoredResponse(
        status=200 if final else 202,
        body=msgspec.json.encode(latest),
        headers={**accepted.headers, "preference-applied": "wait"},
    )
    # A repeat with this key replays what was sent now (else: the 202 of acceptance).
    with contextlib.suppress(Exception):
        await orders.answered(client, key, view.id, answer)
    return _stored(answer)


async def read(services: Services, order_id: str) -> OrderView:
    found = await order_service(services).view(order_id)
    if found is None:
        raise NotFoundException(detail=f"No order {order_id}.")
    return found


SUBMIT_DOC = (
    "Validates the order strictly, re-checks it against the ERP (prices, stock, credit: "
    "the validate-quote checks; per entity a blocking verdict refuses the order or it is "
    "accepted with warnings), then stores it with its outbox entry in one transaction and "
    "answers 202 with `Location`. A worker books it in the ERP (Intacct `create_sotransaction` "
    "with `referenceno`; M3 `OIS100MI` batch order with `CUOR`). Statuses: accepted → "
    "submitting → booked | rejected | retrying | needs_attention. `Prefer: wait=N` (N in "
    "seconds, RFC 7240) waits for the ERP's answer within the same call."
)


class ProcessOrdersController(Controller):
    path = "/process/v1/orders"
    dto = StrictBody  # bodies decoded straight into their struct (app.routes.body)
    return_dto = None
    tags = ["orders"]

    @post(
        "/",
        operation_id="submitOrder",
        summary="Submit an order to its ERP (asynchronous, idempotent)",
        description=SUBMIT_DOC,
        responses={**ACCEPTED, **problem_responses(400, 401, 403, 413, 415, 422, 429, 503)},
        status_code=202,
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
        operation_id="getOrder",
        summary="An order: status, ERP order number, lines, timeline and failures",
        responses=problem_responses(400, 401, 403, 404, 422, 429, 503),
    )
    async def get_order(
        self, services: NamedDependency[Services], order_id: OrderIdPath
    ) -> OrderView:
        return await read(services, order_id)

    @get(
        "/",
        operation_id="findOrders",
        summary="Orders by your external reference",
        responses=problem_responses(400, 401, 403, 422, 429, 503),
    )
    async def find_orders(
        self,
        services: NamedDependency[Services],
        external_ref: ExternalRefQuery,
        entity: EntityFilter = None,
    ) -> OrderList:
        return OrderList(orders=await order_service(services).by_external_ref(external_ref, entity))
