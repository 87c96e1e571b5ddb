"""What the queue asks of each flow: put a record's work up again, check an edited payload,
and tell the record's business timeline. Each flow registers one ``FlowHandler``.

The order flow's handler is here: a retry or replay puts the same order (same external
reference) back on the outbox, so the worker's exactly-once path (look up by reference
after any ambiguous attempt) is the only way anything reaches the ERP again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.exceptions.diff import json_diff
from process_apis.exceptions.errors import ActionRefusedError, InvalidPayloadError
from process_apis.orders.service import SUBMIT_ORDER
from store import FailureRecord
from store import orders as order_rows
from store.outbox_requeue import make_due
from system_apis.contract import OrderRequest

__all__ = ["ORDER_SUBMIT", "FlowHandler", "OrderSubmitFlow", "TimelineItem"]

ORDER_SUBMIT = "order_submit"


class TimelineItem(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    status: str
    text: str


class FlowHandler(Protocol):
    flow: str

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        """The edited payload, normalised; ``InvalidPayloadError`` when it cannot be sent."""
        ...

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        """Put the record's work up again (with ``payload`` when edited); says what it did."""
        ...

    async def timeline(
        self, conn: AsyncConnection, record: FailureRecord
    ) -> list[TimelineItem]: ...


class OrderSubmitFlow:
    """Orders refused or given up on by the worker (``flow = order_submit``)."""

    flow = ORDER_SUBMIT

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        try:
            request = msgspec.convert(payload, OrderRequest, strict=False)
        except msgspec.ValidationError as exc:
            raise InvalidPayloadError(f"The order payload is not valid: {exc}") from None
        if not request.lines:
            raise InvalidPayloadError("An order needs at least one line.", pointer="/lines")
        original = record.payload
        for name in ("external_ref", "customer_id"):
            if original.get(name) is not None and getattr(request, name) != original.get(name):
                raise InvalidPayloadError(
                    f"{name} cannot change on replay: it is how the ERP recognises this order "
                    "(a different one would create a second order). Discard this record and "
                    "submit a new order instead.",
                    pointer=f"/{name}",
                )
        # Through JSON and back: plain lists and strings, as the store gives payloads back.
        normalised: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(request))
        return normalised

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        order = await order_rows.get_order(conn, record.subject_id)
        if order is None:
            raise ActionRefusedError(f"Order {record.subject_id} no longer exists.")
        if order.status == "booked":
            raise ActionRefusedError(
                f"Order {order.id} is already booked as {order.erp_order_id}: nothing to retry."
            )
        changes: dict[str, Any] = {}
        if payload is not None:
            changes["erp_request"] = payload
            cause = f"replayed by {actor} with an edited payload"
            detail: dict[str, Any] | None = {"changes": json_diff(order.erp_request, payload)}
        else:
            cause = f"retry by {actor}"
            detail = None
        await order_rows.transition(
            conn, order.id, "retrying", now, cause=cause, detail=detail, **changes
        )
        return await make_due(conn, SUBMIT_ORDER, order.id, now)

    async def timeline(self, conn: AsyncConnection, record: FailureRecord) -> list[TimelineItem]:
        events = await order_rows.events_of(conn, record.subject_id)
        return [TimelineItem(at=e.at, status=e.status, text=e.cause) for e in events]
