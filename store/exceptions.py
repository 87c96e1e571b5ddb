"""The exception queue's queries over ``failures`` (policy lives in ``process_apis.exceptions``).

Filters, counts, claims of due automatic retries, and the aggregates behind the metrics.
Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import FailureRecord, NewFailure, from_row
from store.tables import failures

__all__ = [
    "ACTIVE",
    "ExceptionFilter",
    "OpenStat",
    "active_for_subject",
    "claim_due",
    "count",
    "get",
    "insert",
    "matching_ids",
    "open_stats",
    "search",
    "set_paused",
    "update",
]

ACTIVE = ("open", "retrying")


class ExceptionFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Every given field narrows the selection (AND); empty tuples and None select all."""

    flows: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    system: str | None = None
    salesforce_id: str | None = None
    erp_document: str | None = None
    subject_id: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    tag: str | None = None
    text: str | None = None
    """Case-insensitive substring of the vendor's code or message, ids, or the payload."""
    created_before: datetime | None = None
    created_after: datetime | None = None
    ids: tuple[int, ...] = ()


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: ExceptionFilter) -> list[sa.ColumnElement[bool]]:
    c = failures.c
    conds: list[sa.ColumnElement[bool]] = []
    if f.flows:
        conds.append(c.flow.in_(f.flows))
    if f.categories:
        conds.append(c.category.in_(f.categories))
    if f.statuses:
        conds.append(c.status.in_(f.statuses))
    if f.system is not None:
        conds.append(sa.or_(c.system == f.system, c.target == f.system))
    if f.salesforce_id is not None:
        # 15- and 18-character forms of one Salesforce id share their first 15 characters.
        conds.append(c.salesforce_id.like(f"{f.salesforce_id[:15]}%"))
    if f.erp_document is not None:
        conds.append(c.erp_document == f.erp_document)
    if f.subject_id is not None:
        conds.append(c.subject_id == f.subject_id)
    if f.assignee is not None:
        conds.append(c.assignee == f.assignee)
    if f.unassigned:
        conds.append(c.assignee.is_(None))
    if f.tag is not None:
        conds.append(sa.cast(c.tags, sa.Text).like(_like(f'"{f.tag}"'), escape="\\"))
    if f.text:
        pattern = _like(f.text.lower())
        conds.append(
            sa.or_(
                *(
                    sa.func.lower(sa.func.coalesce(col, "")).like(pattern, escape="\\")
                    for col in (
                        c.vendor_message, c.vendor_code, c.vendor_field, c.subject_id,
                        c.salesforce_id, c.erp_document, c.resolution,
                        sa.cast(c.payload, sa.Text),
                    )
                )
            )
        )  # fmt: skip
    if f.created_before is not None:
        conds.append(c.created_at <= f.created_before)
    if f.created_after is not None:
        conds.append(c.created_at >= f.created_after)
    if f.ids:
        conds.append(c.id.in_(f.ids))
    return conds


def _record(row: sa.Row[Any]) -> FailureRecord:
    return from_row(row, FailureRecord)


async def get(
    conn: AsyncConnection, failure_id: int, *, lock: bool = False
) -> FailureRecord | None:
    query = sa.select(failures).where(failures.c.id == failure_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _record(row) if row is not None else None


async def search(
    conn: AsyncConnection, f: ExceptionFilter, *, limit: int = 50, offset: int = 0
) -> list[FailureRecord]:
    """Newest activity first."""
    query = (
        sa.select(failures)
        .where(*_where(f))
        .order_by(failures.c.updated_at.desc(), failures.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_record(r) for r in await conn.execute(query)]


async def count(conn: AsyncConnection, f: ExceptionFilter) -> int:
    query = sa.select(sa.func.count()).select_from(failures).where(*_where(f))
    return int(await conn.scalar(query) or 0)


async def matching_ids(conn: AsyncConnection, f: ExceptionFilter, *, limit: int) -> list[int]:
    """Ids of the matching records, oldest first, locked for the caller's transaction."""
    query = (
        sa.select(failures.c.id)
        .where(*_where(f))
        .order_by(failures.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [int(i) for i in (await conn.scalars(query)).all()]


async def active_for_subject(
    conn: AsyncConnection, flow: str, subject_type: str, subject_id: str
) -> list[FailureRecord]:
    rows = await conn.execute(
        sa.select(failures)
        .where(
            failures.c.flow == flow,
            failures.c.subject_type == subject_type,
            failures.c.subject_id == subject_id,
            failures.c.status.in_(ACTIVE),
        )
        .order_by(failures.c.id)
        .with_for_update()
    )
    return [_record(r) for r in rows]


async def insert(
    conn: AsyncConnection, failure: NewFailure, *, now: datetime, **values: Any
) -> FailureRecord:
    row = (
        await conn.execute(
            failures.insert()
            .values(
                **msgspec.structs.asdict(failure),
                created_at=now,
                updated_at=now,
                last_seen_at=now,
                **values,
            )
            .returning(failures)
        )
    ).one()
    return _record(row)


async def update(
    conn: AsyncConnection, failure_id: int, *, now: datetime, **values: Any
) -> FailureRecord:
    row = (
        await conn.execute(
            failures.update()
            .where(failures.c.id == failure_id)
            .values(updated_at=now, **values)
            .returning(failures)
        )
    ).one()
    return _record(row)


async def claim_due(conn: AsyncConnection, *, now: datetime, limit: int) -> list[FailureRecord]:
    """Automatic retries that are due: taken (``next_retry_at`` cleared) so that no other
    sweeper takes them too; the caller schedules the work again in the same transaction."""
    due = (
        sa.select(failures.c.id)
        .where(
            failures.c.status == "retrying",
            failures.c.next_retry_at <= now,
            failures.c.paused.is_(False),
        )
        .order_by(failures.c.next_retry_at, failures.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await conn.execute(
        failures.update()
        .where(failures.c.id.in_(due.scalar_subquery()))
        .values(next_retry_at=None, updated_at=now)
        .returning(failures)
    )
    return sorted((_record(r) for r in rows), key=lambda r: r.id)


async def set_paused(
    conn: AsyncConnection, *, flow: str, system: str, paused: bool, now: datetime
) -> list[int]:
    """Pause (or resume) the automatic retries of one flow against one system."""
    rows = await conn.execute(
        failures.update()
        .where(
            failures.c.flow == flow,
            failures.c.system == system,
            failures.c.status == "retrying",
            failures.c.paused.is_(not paused),
        )
        .values(paused=paused, updated_at=now)
        .returning(failures.c.id)
    )
    return sorted(int(r.id) for r in rows)


class OpenStat(msgspec.Struct, frozen=True, kw_only=True):
    flow: str
    category: str
    system: str
    count: int
    oldest: datetime


async def open_stats(conn: AsyncConnection) -> list[OpenStat]:
    """Active records per (flow, category, system), with the oldest one's first sighting."""
    rows = await conn.execute(
        sa.select(
            failures.c.flow,
            failures.c.category,
            failures.c.system,
            sa.func.count().label("count"),
            sa.func.min(failures.c.created_at).label("oldest"),
        )
        .where(failures.c.status.in_(ACTIVE))
        .group_by(failures.c.flow, failures.c.category, failures.c.system)
        .order_by(failures.c.flow, failures.c.category, failures.c.system)
    )
    return [from_row(r, OpenStat) for r in rows]


def distinct_values(column: str) -> sa.Select[Any]:
    """``SELECT DISTINCT column`` over failures (filter choices in the console)."""
    col = failures.c[column]
    return sa.select(col).distinct().where(col.is_not(None)).order_by(col)


async def choices(conn: AsyncConnection, columns: Sequence[str]) -> dict[str, list[str]]:
    return {c: [str(v) for v in (await conn.scalars(distinct_values(c))).all()] for c in columns}
