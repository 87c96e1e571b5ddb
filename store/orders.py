"""Orders and their timeline. Every status change is one ``order_events`` row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import NewOrder, OrderEvent, OrderStatus, StoredOrder, from_row
from store.tables import order_events, orders

__all__ = [
    "DuplicateExternalRefError",
    "events_of",
    "find_by_external_ref",
    "get_order",
    "insert_order",
    "transition",
]


class DuplicateExternalRefError(Exception):
    """Another order already carries this external reference in this entity."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"order {existing_id} already has this external reference")
        self.existing_id = existing_id


async def _id_for_ref(conn: AsyncConnection, entity: str, external_ref: str) -> str | None:
    found = await conn.scalar(
        sa.select(orders.c.id).where(
            orders.c.entity == entity, orders.c.external_ref == external_ref
        )
    )
    return str(found) if found is not None else None


async def insert_order(
    conn: AsyncConnection, order: NewOrder, now: datetime, *, cause: str = "accepted"
) -> None:
    """Insert an ``accepted`` order and its first event; a taken reference raises
    ``DuplicateExternalRefError`` naming the order that holds it (the transaction stays usable).
    """
    existing = await _id_for_ref(conn, order.entity, order.external_ref)
    if existing is not None:
        raise DuplicateExternalRefError(existing)
    values = msgspec.structs.asdict(order)
    try:
        async with conn.begin_nested():
            await conn.execute(
                orders.insert().values(
                    **values, status="accepted", attempts=0, maybe_sent=False,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
    except IntegrityError:
        # Lost a race with a concurrent insert of the same reference.
        existing = await _id_for_ref(conn, order.entity, order.external_ref)
        if existing is None:
            raise
        raise DuplicateExternalRefError(existing) from None
    await _event(conn, order.id, now=now, status="accepted", cause=cause, detail=None)


async def _event(
    conn: AsyncConnection,
    order_id: str,
    *,
    now: datetime,
    status: str,
    cause: str,
    detail: dict[str, Any] | None,
) -> None:
    await conn.execute(
        order_events.insert().values(
            order_id=order_id, at=now, status=status, cause=cause[:2000], detail=detail
        )
    )


def _order(row: sa.Row[Any]) -> StoredOrder:
    return from_row(row, StoredOrder)


async def get_order(conn: AsyncConnection, order_id: str) -> StoredOrder | None:
    row = (await conn.execute(sa.select(orders).where(orders.c.id == order_id))).first()
    return _order(row) if row is not None else None


async def find_by_external_ref(
    conn: AsyncConnection, external_ref: str, entity: str | None = None
) -> list[StoredOrder]:
    query = sa.select(orders).where(orders.c.external_ref == external_ref)
    if entity is not None:
        query = query.where(orders.c.entity == entity)
    rows = (await conn.execute(query.order_by(orders.c.created_at))).all()
    return [_order(r) for r in rows]


async def events_of(conn: AsyncConnection, order_id: str) -> list[OrderEvent]:
    rows = await conn.execute(
        sa.select(order_events.c.at, order_events.c.status, order_events.c.cause,
                  order_events.c.detail)
        .where(order_events.c.order_id == order_id)
        .order_by(order_events.c.id)
    )  # fmt: skip
    return [from_row(r, OrderEvent) for r in rows]


async def transition(
    conn: AsyncConnection,
    order_id: str,
    status: OrderStatus,
    now: datetime,
    *,
    cause: str,
    detail: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Set ``status`` (and any other columns in ``changes``) and record the event."""
    await conn.execute(
        orders.update()
        .where(orders.c.id == order_id)
        .values(status=status, updated_at=now, **changes)
    )
    await _event(conn, order_id, now=now, status=status, cause=cause, detail=detail)
