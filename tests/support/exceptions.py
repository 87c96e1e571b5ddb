"""Building blocks for exception-queue tests: orders as the worker leaves them after a failure."""

from __future__ import annotations

from typing import Any

import msgspec

from process_apis.exceptions import capture
from store import Database, NewFailure, NewOrder
from store import orders as order_rows
from system_apis.contract import OrderRequest
from tests.support.datetime_clock import ManualClock

__all__ = ["erp_request", "failed_order", "order_failure"]


def erp_request(ref: str, item: str = "A1013", customer: str = "US0001") -> dict[str, Any]:
    """An order as the worker sends it (``OrderRequest``, every field present)."""
    return _full({
        "external_ref": ref,
        "customer_id": customer,
        "currency": "USD",
        "order_date": "2026-12-01",
        "lines": [{"line_no": 1, "item_id": item, "quantity": "2", "uom": "EA",
                   "unit_price": "10.00"}],
    })  # fmt: skip


def _full(doc: dict[str, Any]) -> dict[str, Any]:
    request = msgspec.convert(doc, OrderRequest, strict=False)
    full: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(request))
    return full


def order_failure(
    order_id: str,
    ref: str,
    *,
    category: str = "value",
    retryable: bool = False,
    code: str | None = "WIT0503",
    message: str = "Item A1013 is blocked, status 90",
    field: str | None = "ITNO",
    system: str = "infor_m3",
    payload: dict[str, Any] | None = None,
    attempts: int = 1,
) -> NewFailure:
    return NewFailure(
        flow="order_submit", subject_type="order", subject_id=order_id, entity="US01",
        system=system, category=category, retryable=retryable, vendor_code=code,
        vendor_message=message, vendor_field=field, payload=payload or erp_request(ref),
        salesforce_id=ref, correlation_id=f"corr-{order_id}", attempts=attempts,
    )  # fmt: skip


async def failed_order(
    db: Database,
    clock: ManualClock,
    order_id: str,
    ref: str,
    *,
    status: str = "rejected",
    **failure: Any,
) -> int:
    """An order the worker gave up on: the row (``rejected``/``needs_attention``), its events
    and the captured failure. Returns the failure record's id."""
    now = clock.now()
    item = failure.pop("item", "A1013")
    async with db.transaction() as conn:
        await order_rows.insert_order(
            conn,
            NewOrder(
                id=order_id, entity="US01", external_ref=ref, erp="infor_m3", client="sf-test",
                account_id="001Sbx000000001IAA", customer_id="US0001",
                request={"externalRef": ref}, erp_request=erp_request(ref, item),
                correlation_id=f"corr-{order_id}",
            ),
            now,
        )  # fmt: skip
        await order_rows.transition(conn, order_id, "submitting", now, cause="attempt 1",
                                    attempts=1)  # fmt: skip
        await order_rows.transition(conn, order_id, status, now, cause="refused")  # type: ignore[arg-type]
        captured = await capture(
            conn, order_failure(order_id, ref, payload=erp_request(ref, item), **failure), now=now
        )
    return captured.record.id
