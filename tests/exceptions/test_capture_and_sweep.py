"""Capture, folding, automatic retries, auto-resolve, breaker pauses and audit retention —
each on SQLite and PostgreSQL, time driven by a manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from process_apis.exceptions import (
    ExceptionSweeper,
    OrderSubmitFlow,
    RetryPolicy,
    capture,
    resolve,
)
from store import Database
from store import exceptions as rows
from store import orders as order_rows
from store.audit import audit_trail
from store.audit_log import AuditQuery, entries, stream
from store.outbox import pending_count
from store.tables import audit_log
from tests.support.datetime_clock import ManualClock
from tests.support.exceptions import failed_order, order_failure

REF = "801Sbx000000001AAA"


async def trail(db: Database, failure_id: int) -> list[tuple[str, str, object, object]]:
    async with db.transaction() as conn:
        found = await audit_trail(conn, "exception", str(failure_id))
    return [(e.actor, e.action, e.before, e.after) for e in found]


async def test_a_repeat_of_the_same_error_folds_into_one_record_with_a_count(
    db: Database, clock: ManualClock
) -> None:
    first = await failed_order(db, clock, "ord_1", REF)
    clock.advance(60)
    async with db.transaction() as conn:
        again = await capture(conn, order_failure("ord_1", REF, attempts=2), now=clock.now())
    assert again.folded is True
    assert again.record.id == first
    assert again.record.occurrences == 2
    assert again.record.attempts == 2
    assert again.record.last_seen_at == clock.now()
    assert again.record.created_at == clock.now() - timedelta(seconds=60)
    assert again.record.status == "open"
    async with db.transaction() as conn:
        assert await rows.count(conn, rows.ExceptionFilter()) == 1
    assert await trail(db, first) == [
        ("system:capture", "exception.captured", None, {"status": "open"})
    ]


async def test_a_different_error_opens_a_new_record_and_supersedes_the_old(
    db: Database, clock: ManualClock
) -> None:
    first = await failed_order(db, clock, "ord_1", REF)
    async with db.transaction() as conn:
        second = await capture(
            conn,
            order_failure("ord_1", REF, category="credit", code="WCU0504", message="stop"),
            now=clock.now(),
        )
        old = await rows.get(conn, first)
    assert second.folded is False
    assert old is not None
    assert (old.status, old.resolution) == (
        "resolved",
        f"superseded by #{second.record.id} (credit)",
    )
    assert [a for _, a, _, _ in await trail(db, first)] == [
        "exception.captured",
        "exception.superseded",
    ]


async def test_transient_failures_retry_with_backoff_then_wait_for_people(
    db: Database, clock: ManualClock
) -> None:
    policy = RetryPolicy(base_s=60, max_s=600, max_auto_retries=2)
    sweeper = ExceptionSweeper(db, {"order_submit": OrderSubmitFlow()}, policy=policy, clock=clock)
    transient = {"category": "connection", "retryable": True, "code": None, "field": None,
                 "message": "connection refused"}  # fmt: skip
    failure_id = await failed_order(db, clock, "ord_1", REF, status="needs_attention", **transient)
    # capture used the default policy: recapture with this one to start from a known state
    async with db.transaction() as conn:
        record = await rows.get(conn, failure_id)
    assert record is not None
    assert record.status == "retrying"
    assert record.next_retry_at == clock.now() + timedelta(seconds=60)

    assert (await sweeper.sweep()).retried == []  # not due yet
    clock.advance(60)
    assert (await sweeper.sweep()).retried == [failure_id]
    async with db.transaction() as conn:
        order = await order_rows.get_order(conn, "ord_1")
        assert await pending_count(conn, "order.submit") == 1
        record = await rows.get(conn, failure_id)
    assert order is not None
    assert order.status == "retrying"
    assert record is not None
    assert (record.auto_retries, record.next_retry_at) == (1, None)

    # the worker's next attempt fails the same way: folded, next retry after 120 s
    async with db.transaction() as conn:
        await order_rows.transition(conn, "ord_1", "needs_attention", clock.now(), cause="again")
        folded = await capture(conn, order_failure("ord_1", REF, **transient), now=clock.now(),
                               policy=policy)  # fmt: skip
    assert folded.record.next_retry_at == clock.now() + timedelta(seconds=120)
    clock.advance(120)
    assert (await sweeper.sweep()).retried == [failure_id]
    async with db.transaction() as conn:
        exhausted = await capture(conn, order_failure("ord_1", REF, **transient),
                                  now=clock.now(), policy=policy)  # fmt: skip
    assert (exhausted.record.status, exhausted.record.occurrences) == ("open", 3)
    assert [a for _, a, _, _ in await trail(db, failure_id)] == [
        "exception.captured",
        "exception.auto_retry",
        "exception.auto_retry",
        "exception.reopened",
    ]


async def test_a_later_success_resolves_the_subjects_records(
    db: Database, clock: ManualClock
) -> None:
    failure_id = await failed_order(db, clock, "ord_1", REF)
    other = await failed_order(db, clock, "ord_2", "801Sbx000000002AAA")
    clock.advance(5)
    async with db.transaction() as conn:
        done = await resolve(conn, flow="order_submit", subject_type="order", subject_id="ord_1",
                             now=clock.now(), cause="booked in infor_m3 as 1000123",
                             actor="system:worker")  # fmt: skip
        untouched = await rows.get(conn, other)
    assert [(r.id, r.status, r.resolution) for r in done] == [
        (failure_id, "resolved", "booked in infor_m3 as 1000123")
    ]
    assert untouched is not None
    assert untouched.status == "open"
    assert (await trail(db, failure_id))[-1] == (
        "system:worker",
        "exception.resolved",
        {"status": "open"},
        {"status": "resolved"},
    )


async def test_retries_pause_while_the_backends_breaker_is_open_and_resume_after(
    db: Database, clock: ManualClock
) -> None:
    breaker = {"infor_m3": True}
    sweeper = ExceptionSweeper(
        db, {"order_submit": OrderSubmitFlow()}, clock=clock,
        breaker_open=lambda system: breaker.get(system, False),
    )  # fmt: skip
    failure_id = await failed_order(
        db, clock, "ord_1", REF, status="needs_attention", category="timeout", retryable=True,
        code=None, field=None, message="no answer in 30 s",
    )  # fmt: skip
    clock.advance(3600)
    report = await sweeper.sweep()
    assert (report.paused, report.retried) == ([failure_id], [])
    async with db.transaction() as conn:
        record = await rows.get(conn, failure_id)
    assert record is not None
    assert (record.paused, record.auto_retries) == (True, 0)

    breaker["infor_m3"] = False
    report = await sweeper.sweep()
    assert (report.resumed, report.retried) == ([failure_id], [failure_id])
    async with db.transaction() as conn:
        flow_trail = await audit_trail(conn, "exception_flow", "order_submit/infor_m3")
    assert [e.action for e in flow_trail] == ["exception.paused", "exception.resumed"]


async def test_the_audit_log_refuses_updates_and_purges_only_past_retention(
    db: Database, clock: ManualClock
) -> None:
    await failed_order(db, clock, "ord_1", REF)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute(audit_log.update().values(actor="someone else"))
    clock.advance(86400 * 40)
    await failed_order(db, clock, "ord_2", "801Sbx000000002AAA")
    sweeper = ExceptionSweeper(db, {}, clock=clock, audit_retention=timedelta(days=30))
    assert (await sweeper.sweep()).purged == 1
    async with db.transaction() as conn:
        left = [e.action for e in await entries(conn, AuditQuery())]
        exported = [e.action async for e in stream(conn, AuditQuery(), batch=1)]
        count = await conn.scalar(sa.select(sa.func.count()).select_from(audit_log))
    assert left == ["audit.purged", "exception.captured"]
    assert exported == ["exception.captured", "audit.purged"]
    assert count == 2
