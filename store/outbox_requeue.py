"""Putting work up again: the exception queue's retries and replays go through the outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import outbox

__all__ = ["make_due"]


async def make_due(conn: AsyncConnection, kind: str, subject_id: str, now: datetime) -> str:
    """Make the entry for ``(kind, subject_id)`` due now: add one, or bring a waiting one
    forward. Returns ``added``, ``due_now`` or ``in_progress`` (a worker holds it now: it
    will pick up the change on its next attempt)."""
    row = (
        await conn.execute(
            sa.select(outbox.c.id, outbox.c.lease_until)
            .where(outbox.c.kind == kind, outbox.c.subject_id == subject_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        await conn.execute(
            outbox.insert().values(
                kind=kind, subject_id=subject_id, available_at=now, created_at=now
            )
        )
        return "added"
    if row.lease_until is not None and row.lease_until > now:
        return "in_progress"
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == row.id)
        .values(available_at=now, lease_owner=None, lease_until=None)
    )
    return "due_now"
