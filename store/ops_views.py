"""Read-only aggregates for operations (the console and the metrics): orders by status, orders
stuck before ERP booking, and the write-back flows' watermarks."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import StoredOrder, from_row
from store.tables import orders, sync_watermarks

__all__ = [
    "NOT_BOOKED_YET",
    "Watermark",
    "order_counts",
    "recent_orders",
    "stuck_count",
    "stuck_orders",
    "watermarks",
]

NOT_BOOKED_YET = ("accepted", "submitting", "retrying")
"""Statuses of an order on its way to the ERP (not booked, not given up on)."""


async def order_counts(conn: AsyncConnection, *, since: datetime | None = None) -> dict[str, int]:
    """Orders per status (accepted since ``since`` when given)."""
    query = sa.select(orders.c.status, sa.func.count()).group_by(orders.c.status)
    if since is not None:
        query = query.where(orders.c.created_at >= since)
    return {str(status): int(n) for status, n in (await conn.execute(query)).all()}


def _stuck(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    return [orders.c.status.in_(NOT_BOOKED_YET), orders.c.created_at < cutoff]


async def stuck_count(conn: AsyncConnection, *, cutoff: datetime) -> int:
    """Orders accepted before ``cutoff`` and still not booked (nor given up on)."""
    query = sa.select(sa.func.count()).select_from(orders).where(*_stuck(cutoff))
    return int(await conn.scalar(query) or 0)


async def stuck_orders(
    conn: AsyncConnection, *, cutoff: datetime, limit: int = 50
) -> list[StoredOrder]:
    rows = await conn.execute(
        sa.select(orders).where(*_stuck(cutoff)).order_by(orders.c.created_at).limit(limit)
    )
    return [from_row(r, StoredOrder) for r in rows]


async def recent_orders(
    conn: AsyncConnection, *, statuses: tuple[str, ...] = (), limit: int = 20
) -> list[StoredOrder]:
    query = sa.select(orders).order_by(orders.c.updated_at.desc()).limit(limit)
    if statuses:
        query = query.where(orders.c.status.in_(statuses))
    return [from_row(r, StoredOrder) for r in await conn.execute(query)]


class Watermark(msgspec.Struct, frozen=True, kw_only=True):
    system: str
    kind: str
    entity: str
    watermark: str
    updated_at: datetime
    """When the flow last advanced it (its last successful run)."""


async def watermarks(conn: AsyncConnection) -> list[Watermark]:
    rows = await conn.execute(
        sa.select(sync_watermarks).order_by(
            sync_watermarks.c.system, sync_watermarks.c.kind, sync_watermarks.c.entity
        )
    )
    return [from_row(r, Watermark) for r in rows]
