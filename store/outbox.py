"""The outbox: work committed together with the change that caused it, claimed by workers.

A claim is a lease: ``lease_owner`` holds the entry until ``lease_until``; a worker that dies
simply lets it run out and another worker takes the entry over. On PostgreSQL the claim
selects with ``FOR UPDATE SKIP LOCKED``, so concurrent workers never block on, or take, the
same rows; on SQLite the claim runs under the database's single write lock (``BEGIN
IMMEDIATE``), which gives the same guarantee for the one machine SQLite serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import Claimed
from store.tables import outbox

__all__ = ["claim", "complete", "enqueue", "extend", "pending_count", "release"]


async def enqueue(
    conn: AsyncConnection,
    kind: str,
    subject_id: str,
    now: datetime,
    *,
    available_at: datetime | None = None,
) -> None:
    await conn.execute(
        outbox.insert().values(
            kind=kind, subject_id=subject_id, available_at=available_at or now, created_at=now
        )
    )


async def claim(
    conn: AsyncConnection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    kinds: Sequence[str] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due entries (not leased, or whose lease ran out) to ``owner``."""
    due = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.available_at <= now,
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if kinds:
        due = due.where(outbox.c.kind.in_(list(kinds)))
    until = now + lease
    rows = await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_until=until)
        .returning(outbox.c.id, outbox.c.kind, outbox.c.subject_id)
    )
    return [
        Claimed(id=r.id, kind=r.kind, subject_id=r.subject_id, owner=owner, lease_until=until)
        for r in rows
    ]


async def extend(conn: AsyncConnection, ids: Sequence[int], *, owner: str, until: datetime) -> int:
    """Push the leases ``owner`` still holds out to ``until``; returns how many it holds."""
    if not ids:
        return 0
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)), outbox.c.lease_owner == owner)
        .values(lease_until=until)
    )
    return int(result.rowcount)


async def complete(conn: AsyncConnection, entry_id: int) -> None:
    """The work is done: the entry goes."""
    await conn.execute(outbox.delete().where(outbox.c.id == entry_id))


async def release(conn: AsyncConnection, entry_id: int, *, available_at: datetime) -> None:
    """Give the entry back, due again at ``available_at`` (a retry after backoff)."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == entry_id)
        .values(lease_owner=None, lease_until=None, available_at=available_at)
    )


async def pending_count(conn: AsyncConnection, kind: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(outbox)
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    return int(await conn.scalar(query) or 0)
