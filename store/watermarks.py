"""Sync watermarks: how far each delta flow has read, per (system, kind, entity)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import sync_watermarks as marks

__all__ = ["advance_watermark", "get_watermark"]


def _where(system: str, kind: str, entity: str) -> sa.ColumnElement[bool]:
    return sa.and_(marks.c.system == system, marks.c.kind == kind, marks.c.entity == entity)


async def get_watermark(conn: AsyncConnection, system: str, kind: str, entity: str) -> str | None:
    value = await conn.scalar(sa.select(marks.c.watermark).where(_where(system, kind, entity)))
    return str(value) if value is not None else None


async def advance_watermark(
    conn: AsyncConnection,
    system: str,
    kind: str,
    entity: str,
    *,
    watermark: str,
    now: datetime,
) -> None:
    updated = await conn.execute(
        marks.update()
        .where(_where(system, kind, entity))
        .values(watermark=watermark, updated_at=now)
    )
    if updated.rowcount == 0:
        await conn.execute(
            marks.insert().values(
                system=system, kind=kind, entity=entity, watermark=watermark, updated_at=now
            )
        )
