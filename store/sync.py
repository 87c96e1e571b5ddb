"""Repositories of the delta sync: flow leases, runs, written records, pending writes,
conflicts and reconcile reports. Functions over an ``AsyncConnection`` like the rest.

Flow leases: ``take_lease`` is one conditional UPDATE (after an idempotent INSERT of the
flow's row), so on PostgreSQL and SQLite alike exactly one caller gets a free or expired
lease; the holder renews it while it runs and gives it back at the end. A holder that dies
simply lets it run out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import from_row
from store.sync_tables import (
    reconcile_reports,
    sync_conflicts,
    sync_flows,
    sync_pending,
    sync_records,
    sync_runs,
)
from store.tables import orders

__all__ = [
    "ConflictRecord",
    "FlowState",
    "NewConflict",
    "PendingWrite",
    "ReportRecord",
    "RunRecord",
    "RunStatus",
    "WrittenRecord",
    "acknowledge_conflict",
    "add_conflicts",
    "drop_pending",
    "due_pending",
    "external_refs_by_erp_order",
    "finish_run",
    "flow_states",
    "get_report",
    "get_run",
    "keep_pending",
    "list_conflicts",
    "list_reports",
    "list_runs",
    "make_pending_due",
    "orders_accepted_between",
    "pending_count",
    "pending_for",
    "pending_keys",
    "records_by_key",
    "records_for",
    "release_lease",
    "remember_written",
    "renew_lease",
    "save_report",
    "start_run",
    "take_lease",
    "update_run",
    "written_since",
]

RunStatus = Literal["running", "ok", "partial", "stopped", "failed"]


class FlowState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    lease_owner: str | None
    lease_until: datetime | None
    last_run_id: int | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    updated_at: datetime


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    flow: str
    trigger: str
    owner: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    window_from: str | None
    window_to: str | None
    watermark_before: str | None
    watermark_after: str | None
    read: int
    written: int
    unchanged: int
    failed: int
    conflicts: int
    api_calls: int
    message: str | None


class WrittenRecord(msgspec.Struct, frozen=True, kw_only=True):
    sobject: str
    key: str
    salesforce_id: str | None
    flow: str
    entity: str | None
    erp_document: str | None
    values: dict[str, Any]
    source_modified: datetime | None
    written_at: datetime
    run_id: int | None


class PendingWrite(msgspec.Struct, frozen=True, kw_only=True):
    flow: str
    sobject: str
    key: str
    entity: str | None
    erp_document: str | None
    write: dict[str, Any]
    category: str
    message: str | None
    attempts: int
    failure_id: int | None
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime


class NewConflict(msgspec.Struct, frozen=True, kw_only=True):
    flow: str
    sobject: str
    key: str
    salesforce_id: str | None
    field: str
    master: str
    outcome: str
    salesforce_value: Any
    erp_value: Any


class ConflictRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    flow: str
    sobject: str
    key: str
    salesforce_id: str | None
    field: str
    master: str
    outcome: str
    salesforce_value: Any
    erp_value: Any
    status: str
    run_id: int | None
    detected_at: datetime


class ReportRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    entity: str
    erp: str
    date_from: date
    date_to: date
    created_at: datetime
    drift: int
    repaired: int
    summary: dict[str, Any]
    report: dict[str, Any]


# --- flow leases -------------------------------------------------------------------------------


async def take_lease(
    conn: AsyncConnection, flow: str, *, owner: str, now: datetime, until: datetime
) -> bool:
    """Take the flow's lease when it is free or has run out; True when ``owner`` holds it."""
    exists = await conn.scalar(sa.select(sa.literal(1)).where(sync_flows.c.name == flow))
    if exists is None:
        try:
            async with conn.begin_nested():
                await conn.execute(sync_flows.insert().values(name=flow, updated_at=now))
        except IntegrityError:
            pass  # another worker created it first: fine, the UPDATE decides
    taken = await conn.execute(
        sync_flows.update()
        .where(
            sync_flows.c.name == flow,
            sa.or_(
                sync_flows.c.lease_until.is_(None),
                sync_flows.c.lease_until < now,
                sync_flows.c.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=until, updated_at=now)
    )
    return bool(taken.rowcount == 1)


async def renew_lease(conn: AsyncConnection, flow: str, *, owner: str, until: datetime) -> bool:
    renewed = await conn.execute(
        sync_flows.update()
        .where(sync_flows.c.name == flow, sync_flows.c.lease_owner == owner)
        .values(lease_until=until)
    )
    return bool(renewed.rowcount == 1)


async def release_lease(conn: AsyncConnection, flow: str, *, owner: str, now: datetime) -> None:
    await conn.execute(
        sync_flows.update()
        .where(sync_flows.c.name == flow, sync_flows.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, updated_at=now)
    )


async def flow_states(conn: AsyncConnection) -> dict[str, FlowState]:
    rows = await conn.execute(sa.select(sync_flows))
    return {r.name: from_row(r, FlowState) for r in rows}


# --- runs -------------------------------------------------------------------------------------


async def start_run(
    conn: AsyncConnection,
    flow: str,
    *,
    trigger: str,
    owner: str,
    now: datetime,
    watermark: str | None,
) -> int:
    run_id = await conn.scalar(
        sync_runs.insert()
        .values(
            flow=flow,
            trigger=trigger,
            owner=owner,
            status="running",
            started_at=now,
            watermark_before=watermark,
            watermark_after=watermark,
        )
        .returning(sync_runs.c.id)
    )
    assert run_id is not None
    await conn.execute(
        sync_flows.update()
        .where(sync_flows.c.name == flow)
        .values(last_run_id=run_id, last_started_at=now, last_status="running", updated_at=now)
    )
    return int(run_id)


async def update_run(conn: AsyncConnection, run_id: int, **values: Any) -> None:
    await conn.execute(sync_runs.update().where(sync_runs.c.id == run_id).values(**values))


async def finish_run(
    conn: AsyncConnection,
    run_id: int,
    flow: str,
    *,
    status: RunStatus,
    now: datetime,
    **values: Any,
) -> None:
    await conn.execute(
        sync_runs.update()
        .where(sync_runs.c.id == run_id)
        .values(status=status, finished_at=now, **values)
    )
    await conn.execute(
        sync_flows.update()
        .where(sync_flows.c.name == flow)
        .values(last_finished_at=now, last_status=status, updated_at=now)
    )


async def get_run(conn: AsyncConnection, run_id: int) -> RunRecord | None:
    row = (await conn.execute(sa.select(sync_runs).where(sync_runs.c.id == run_id))).first()
    return from_row(row, RunRecord) if row is not None else None


async def list_runs(
    conn: AsyncConnection, *, flow: str | None = None, limit: int = 50
) -> list[RunRecord]:
    query = sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
    if flow is not None:
        query = query.where(sync_runs.c.flow == flow)
    return [from_row(r, RunRecord) for r in await conn.execute(query)]


# --- written records ----------------------------------------------------------------------------


async def records_by_key(
    conn: AsyncConnection, sobject: str, keys: Sequence[str]
) -> dict[str, WrittenRecord]:
    found: dict[str, WrittenRecord] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        rows = await conn.execute(
            sa.select(sync_records).where(
                sync_records.c.sobject == sobject, sync_records.c.key.in_(chunk)
            )
        )
        for r in rows:
            found[r.key] = from_row(r, WrittenRecord)
    return found


async def remember_written(conn: AsyncConnection, records: Iterable[WrittenRecord]) -> None:
    """Upsert what was written (delete + insert: one code path on both databases)."""
    batch = list(records)
    if not batch:
        return
    by_object: dict[str, list[str]] = {}
    for r in batch:
        by_object.setdefault(r.sobject, []).append(r.key)
    for sobject, keys in by_object.items():
        for start in range(0, len(keys), 500):
            await conn.execute(
                sync_records.delete().where(
                    sync_records.c.sobject == sobject,
                    sync_records.c.key.in_(keys[start : start + 500]),
                )
            )
    await conn.execute(sync_records.insert(), [msgspec.structs.asdict(r) for r in batch])


async def records_for(
    conn: AsyncConnection, *, sobject: str, entity: str | None = None
) -> list[WrittenRecord]:
    query = sa.select(sync_records).where(sync_records.c.sobject == sobject)
    if entity is not None:
        query = query.where(sync_records.c.entity == entity)
    return [from_row(r, WrittenRecord) for r in await conn.execute(query)]


async def written_since(conn: AsyncConnection, flow: str, since: datetime) -> int:
    return int(
        await conn.scalar(
            sa.select(sa.func.count())
            .select_from(sync_records)
            .where(sync_records.c.flow == flow, sync_records.c.written_at >= since)
        )
        or 0
    )


# --- pending writes ---------------------------------------------------------------------------


async def keep_pending(conn: AsyncConnection, pending: PendingWrite) -> None:
    """Keep (or replace) a write that failed, until it succeeds."""
    await conn.execute(
        sync_pending.delete().where(
            sync_pending.c.flow == pending.flow,
            sync_pending.c.sobject == pending.sobject,
            sync_pending.c.key == pending.key,
        )
    )
    await conn.execute(sync_pending.insert().values(**msgspec.structs.asdict(pending)))


async def drop_pending(conn: AsyncConnection, flow: str, sobject: str, keys: Sequence[str]) -> int:
    dropped = 0
    for start in range(0, len(keys), 500):
        result = await conn.execute(
            sync_pending.delete().where(
                sync_pending.c.flow == flow,
                sync_pending.c.sobject == sobject,
                sync_pending.c.key.in_(list(keys[start : start + 500])),
            )
        )
        dropped += int(result.rowcount)
    return dropped


async def pending_keys(
    conn: AsyncConnection, flow: str, sobject: str, keys: Sequence[str]
) -> list[str]:
    """Which of ``keys`` have a pending write in ``flow``."""
    found: list[str] = []
    for start in range(0, len(keys), 500):
        rows = await conn.execute(
            sa.select(sync_pending.c.key).where(
                sync_pending.c.flow == flow,
                sync_pending.c.sobject == sobject,
                sync_pending.c.key.in_(list(keys[start : start + 500])),
            )
        )
        found.extend(str(r.key) for r in rows)
    return found


async def due_pending(
    conn: AsyncConnection, flow: str, *, now: datetime, limit: int = 1000
) -> list[PendingWrite]:
    rows = await conn.execute(
        sa.select(sync_pending)
        .where(sync_pending.c.flow == flow, sync_pending.c.next_attempt_at <= now)
        .order_by(sync_pending.c.created_at, sync_pending.c.key)
        .limit(limit)
    )
    return [from_row(r, PendingWrite) for r in rows]


async def pending_for(conn: AsyncConnection, flow: str | None = None) -> list[PendingWrite]:
    query = sa.select(sync_pending).order_by(sync_pending.c.created_at)
    if flow is not None:
        query = query.where(sync_pending.c.flow == flow)
    return [from_row(r, PendingWrite) for r in await conn.execute(query)]


async def make_pending_due(conn: AsyncConnection, sobject: str, key: str, *, now: datetime) -> int:
    result = await conn.execute(
        sync_pending.update()
        .where(sync_pending.c.sobject == sobject, sync_pending.c.key == key)
        .values(next_attempt_at=now, updated_at=now)
    )
    return int(result.rowcount)


async def pending_count(conn: AsyncConnection, flow: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(sync_pending)
    if flow is not None:
        query = query.where(sync_pending.c.flow == flow)
    return int(await conn.scalar(query) or 0)


# --- conflicts --------------------------------------------------------------------------------


async def add_conflicts(
    conn: AsyncConnection, conflicts: Sequence[NewConflict], *, run_id: int | None, now: datetime
) -> None:
    if conflicts:
        await conn.execute(
            sync_conflicts.insert(),
            [
                {
                    **msgspec.structs.asdict(c),
                    "run_id": run_id,
                    "detected_at": now,
                    "status": "open",
                }
                for c in conflicts
            ],
        )


async def list_conflicts(
    conn: AsyncConnection,
    *,
    status: str | None = "open",
    sobject: str | None = None,
    key: str | None = None,
    limit: int = 100,
) -> list[ConflictRecord]:
    query = sa.select(sync_conflicts).order_by(sync_conflicts.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(sync_conflicts.c.status == status)
    if sobject is not None:
        query = query.where(sync_conflicts.c.sobject == sobject)
    if key is not None:
        query = query.where(sync_conflicts.c.key == key)
    return [from_row(r, ConflictRecord) for r in await conn.execute(query)]


async def acknowledge_conflict(conn: AsyncConnection, conflict_id: int) -> bool:
    result = await conn.execute(
        sync_conflicts.update()
        .where(sync_conflicts.c.id == conflict_id)
        .values(status="acknowledged")
    )
    return bool(result.rowcount == 1)


# --- reconcile reports ------------------------------------------------------------------------


async def save_report(
    conn: AsyncConnection,
    *,
    entity: str,
    erp: str,
    date_from: date,
    date_to: date,
    now: datetime,
    drift: int,
    repaired: int,
    summary: dict[str, Any],
    report: dict[str, Any],
) -> int:
    report_id = await conn.scalar(
        reconcile_reports.insert()
        .values(
            entity=entity,
            erp=erp,
            date_from=date_from,
            date_to=date_to,
            created_at=now,
            drift=drift,
            repaired=repaired,
            summary=summary,
            report=report,
        )
        .returning(reconcile_reports.c.id)
    )
    assert report_id is not None
    return int(report_id)


async def list_reports(
    conn: AsyncConnection, *, entity: str | None = None, limit: int = 20
) -> list[ReportRecord]:
    query = sa.select(reconcile_reports).order_by(reconcile_reports.c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(reconcile_reports.c.entity == entity)
    return [from_row(r, ReportRecord) for r in await conn.execute(query)]


async def get_report(conn: AsyncConnection, report_id: int) -> ReportRecord | None:
    row = (
        await conn.execute(sa.select(reconcile_reports).where(reconcile_reports.c.id == report_id))
    ).first()
    return from_row(row, ReportRecord) if row is not None else None


# --- the order store, as the sync reads it ------------------------------------------------------


async def external_refs_by_erp_order(
    conn: AsyncConnection, entity: str, erp_order_ids: Sequence[str]
) -> dict[str, str]:
    """ERP order number → the reference the order was accepted with, for booked orders."""
    found: dict[str, str] = {}
    ids = sorted(set(erp_order_ids))
    for start in range(0, len(ids), 500):
        rows = await conn.execute(
            sa.select(orders.c.erp_order_id, orders.c.external_ref).where(
                orders.c.entity == entity, orders.c.erp_order_id.in_(ids[start : start + 500])
            )
        )
        found.update({str(r.erp_order_id): str(r.external_ref) for r in rows})
    return found


async def orders_accepted_between(
    conn: AsyncConnection, entity: str, since: datetime, until: datetime
) -> list[tuple[str, str, str | None, str]]:
    """(order id, external reference, ERP order number, status) of orders accepted in the span."""
    rows = await conn.execute(
        sa.select(orders.c.id, orders.c.external_ref, orders.c.erp_order_id, orders.c.status)
        .where(orders.c.entity == entity, orders.c.created_at >= since, orders.c.created_at < until)
        .order_by(orders.c.created_at)
    )
    return [(r.id, r.external_ref, r.erp_order_id, r.status) for r in rows]
