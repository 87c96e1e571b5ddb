"""The audit log: who (a client, a person or ``system:…``) did what to which record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import AuditEntry, from_row
from store.tables import audit_log

__all__ = ["audit", "audit_trail"]


async def audit(
    conn: AsyncConnection,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            at=now, actor=actor, action=action, subject_type=subject_type,
            subject_id=subject_id, detail=detail, correlation_id=correlation_id,
        )
    )  # fmt: skip


async def audit_trail(
    conn: AsyncConnection, subject_type: str, subject_id: str
) -> list[AuditEntry]:
    rows = await conn.execute(
        sa.select(audit_log)
        .where(audit_log.c.subject_type == subject_type, audit_log.c.subject_id == subject_id)
        .order_by(audit_log.c.id)
    )
    return [from_row(r, AuditEntry) for r in rows]
