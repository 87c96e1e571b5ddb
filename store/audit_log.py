"""Reading the audit log (pages, exports) and its retention purge.

The log is append-only: entries are written by ``store.audit.audit`` and never changed (the
database refuses UPDATE on ``audit_log``). The only removal is ``purge_before``, run by the
retention setting, and it leaves an entry of its own saying how much it removed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.audit import audit
from store.records import AuditEntry, from_row
from store.tables import audit_log

__all__ = ["AuditQuery", "entries", "purge_before", "stream"]


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime | None = None
    until: datetime | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None
    action: str | None = None
    correlation_id: str | None = None


def _where(q: AuditQuery) -> list[sa.ColumnElement[bool]]:
    c = audit_log.c
    conds: list[sa.ColumnElement[bool]] = []
    if q.since is not None:
        conds.append(c.at >= q.since)
    if q.until is not None:
        conds.append(c.at < q.until)
    for column, value in (
        (c.subject_type, q.subject_type),
        (c.subject_id, q.subject_id),
        (c.actor, q.actor),
        (c.correlation_id, q.correlation_id),
    ):
        if value is not None:
            conds.append(column == value)
    if q.action is not None:
        conds.append(
            c.action.like(f"{q.action}%") if q.action.endswith(".") else c.action == q.action
        )
    return conds


async def entries(
    conn: AsyncConnection, q: AuditQuery, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages further back."""
    query = sa.select(audit_log).where(*_where(q)).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return [from_row(r, AuditEntry) for r in await conn.execute(query)]


async def stream(
    conn: AsyncConnection, q: AuditQuery, *, batch: int = 500
) -> AsyncIterator[AuditEntry]:
    """Oldest first, in batches by id (an export of any size in bounded memory)."""
    last = 0
    while True:
        rows = (
            await conn.execute(
                sa.select(audit_log)
                .where(*_where(q), audit_log.c.id > last)
                .order_by(audit_log.c.id)
                .limit(batch)
            )
        ).all()
        for row in rows:
            yield from_row(row, AuditEntry)
        if len(rows) < batch:
            return
        last = int(rows[-1].id)


async def purge_before(conn: AsyncConnection, cutoff: datetime, *, now: datetime) -> int:
    """Remove entries older than ``cutoff`` (the retention setting) and record that it did."""
    result = await conn.execute(audit_log.delete().where(audit_log.c.at < cutoff))
    removed = int(result.rowcount)
    if removed:
        await audit(
            conn, now=now, actor="system:retention", action="audit.purged",
            subject_type="audit_log", subject_id="retention",
            detail={"removed": removed, "before": cutoff.isoformat()},
        )  # fmt: skip
    return removed
