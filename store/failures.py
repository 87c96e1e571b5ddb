"""Failure records: what could not be done, with what was sent and what the system said.

One open record per (flow, subject): a later failure of the same work updates it (attempts,
the latest vendor words) rather than piling up duplicates; a resolved one stays as history
and a new failure opens a new record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import FailureRecord, NewFailure, from_row
from store.tables import failures

__all__ = ["failures_for", "list_failures", "record_failure"]


async def record_failure(conn: AsyncConnection, failure: NewFailure, now: datetime) -> int:
    values = msgspec.structs.asdict(failure)
    open_id = await conn.scalar(
        sa.select(failures.c.id).where(
            failures.c.flow == failure.flow,
            failures.c.subject_type == failure.subject_type,
            failures.c.subject_id == failure.subject_id,
            failures.c.status == "open",
        )
    )
    if open_id is not None:
        await conn.execute(
            failures.update().where(failures.c.id == open_id).values(**values, updated_at=now)
        )
        return int(open_id)
    new_id = await conn.scalar(
        failures.insert()
        .values(**values, status="open", created_at=now, updated_at=now)
        .returning(failures.c.id)
    )
    return int(new_id or 0)


def _record(row: sa.Row[Any]) -> FailureRecord:
    return from_row(row, FailureRecord)


async def failures_for(
    conn: AsyncConnection, subject_type: str, subject_id: str
) -> list[FailureRecord]:
    rows = await conn.execute(
        sa.select(failures)
        .where(failures.c.subject_type == subject_type, failures.c.subject_id == subject_id)
        .order_by(failures.c.id)
    )
    return [_record(r) for r in rows]


async def list_failures(
    conn: AsyncConnection, *, status: str | None = "open", limit: int = 100
) -> list[FailureRecord]:
    query = sa.select(failures).order_by(failures.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(failures.c.status == status)
    return [_record(r) for r in await conn.execute(query)]
