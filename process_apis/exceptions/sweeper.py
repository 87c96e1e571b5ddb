"""The queue's automatic work, one ``sweep`` at a time (a loop runs it every few seconds):

1. pause or resume: a flow's records waiting for an automatic retry against a backend whose
   circuit breaker is open are ``paused`` (no attempt is spent on a backend known to be
   down); when the breaker lets calls through again they resume, in one audit entry each way;
2. retry what is due: records whose ``next_retry_at`` has come are handed to their flow
   again (claimed first, so concurrent sweepers never retry one record twice);
3. once an hour, the audit log's retention purge.

Time comes from an injected clock; ``run`` sleeps through it between sweeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from process_apis.exceptions.capture import SUBJECT
from process_apis.exceptions.classes import RetryPolicy
from process_apis.exceptions.errors import ActionRefusedError
from process_apis.exceptions.flows import FlowHandler
from process_apis.orders.clock import Clock, SystemClock
from store import Database
from store import exceptions as rows
from store.audit import audit
from store.audit_log import purge_before

__all__ = ["BreakerProbe", "ExceptionSweeper", "SweepReport"]

log = logging.getLogger("isthmus.exceptions")
ACTOR = "system:exception-queue"

BreakerProbe = Callable[[str], bool]
"""``system`` → is its circuit breaker open (calls refused)?"""


@dataclass
class SweepReport:
    retried: list[int] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    purged: int = 0


class ExceptionSweeper:
    def __init__(
        self,
        db: Database,
        flows: dict[str, FlowHandler],
        *,
        policy: RetryPolicy | None = None,
        breaker_open: BreakerProbe | None = None,
        clock: Clock | None = None,
        audit_retention: timedelta | None = None,
        interval_s: float = 5.0,
    ) -> None:
        self.db = db
        self.flows = flows
        self.policy = policy or RetryPolicy()
        self.breaker_open: BreakerProbe = breaker_open or (lambda _system: False)
        self.clock: Clock = clock or SystemClock()
        self.audit_retention = audit_retention
        self.interval_s = interval_s
        self._last_purge: datetime | None = None

    async def sweep(self) -> SweepReport:
        report = SweepReport()
        now = self.clock.now()
        await self._pause_or_resume(now, report)
        await self._retry_due(now, report)
        await self._purge(now, report)
        return report

    async def _pause_or_resume(self, now: datetime, report: SweepReport) -> None:
        async with self.db.transaction() as conn:
            stats = await rows.open_stats(conn)
        for flow, system in sorted({(s.flow, s.system) for s in stats}):
            down = self.breaker_open(system)
            async with self.db.transaction() as conn:
                changed = await rows.set_paused(
                    conn, flow=flow, system=system, paused=down, now=now
                )
                if changed:
                    await audit(
                        conn, now=now, actor=ACTOR,
                        action="exception.paused" if down else "exception.resumed",
                        subject_type="exception_flow", subject_id=f"{flow}/{system}",
                        detail={"records": changed,
                                "reason": f"{system} circuit breaker "
                                          + ("open" if down else "closed again")},
                    )  # fmt: skip
            (report.paused if down else report.resumed).extend(changed)

    async def _retry_due(self, now: datetime, report: SweepReport) -> None:
        async with self.db.transaction() as conn:
            due = await rows.claim_due(conn, now=now, limit=self.policy.batch)
        for record in due:
            handler = self.flows.get(record.flow)
            try:
                async with self.db.transaction() as conn:
                    if handler is None:
                        raise ActionRefusedError(f"no handler for flow {record.flow!r}")
                    outcome = await handler.reschedule(
                        conn, record, payload=None, now=now, actor=ACTOR
                    )
                    await rows.update(conn, record.id, now=now,
                                      auto_retries=record.auto_retries + 1)  # fmt: skip
                    await audit(
                        conn, now=now, actor=ACTOR, action="exception.auto_retry",
                        subject_type=SUBJECT, subject_id=str(record.id),
                        correlation_id=record.correlation_id,
                        detail={"retry": record.auto_retries + 1, "outcome": outcome},
                    )  # fmt: skip
                report.retried.append(record.id)
            except ActionRefusedError as exc:
                async with self.db.transaction() as conn:
                    await rows.update(conn, record.id, now=now, status="open")
                    await audit(
                        conn, now=now, actor=ACTOR, action="exception.reopened",
                        subject_type=SUBJECT, subject_id=str(record.id),
                        correlation_id=record.correlation_id, detail={"reason": exc.detail},
                        before={"status": "retrying"}, after={"status": "open"},
                    )  # fmt: skip

    async def _purge(self, now: datetime, report: SweepReport) -> None:
        if self.audit_retention is None:
            return
        if self._last_purge is not None and now - self._last_purge < timedelta(hours=1):
            return
        async with self.db.transaction() as conn:
            report.purged = await purge_before(conn, now - self.audit_retention, now=now)
        self._last_purge = now

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``interval_s`` until ``stop`` is set; a store outage only delays it."""
        while not stop.is_set():
            try:
                await self.sweep()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("exception queue sweep failed, trying again later: %s", exc)
            sleeper = asyncio.ensure_future(self.clock.sleep(self.interval_s))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (sleeper, stopper):
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
