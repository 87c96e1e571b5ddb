"""Running the flows on their schedule, and the reconciler nightly, inside ``isthmus worker``.

Each ``tick``: every flow whose last run (any worker's: the store keeps it) started at least
its interval ago is run; a flow whose lease another worker holds is skipped (``FlowBusyError``),
so N workers share the flows without running one twice. The nightly reconciler is a job like
a flow (``reconcile.{entity}``, with its own lease and last-run time): once a day, after
``reconcile_at`` (UTC), it reconciles the previous ``reconcile_days`` days of each entity.
Time comes from the injected clock; ``run`` sleeps through it between ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.exc import SQLAlchemyError

from process_apis.sync.engine import FlowBusyError, RunSummary, SyncEngine
from process_apis.sync.reconcile import Reconciler, ReconcileReport
from store import sync as rows

__all__ = ["Schedule", "SyncScheduler"]

log = logging.getLogger("isthmus.sync")


@dataclass(frozen=True)
class Schedule:
    intervals: dict[str, float] = field(default_factory=dict)
    """Flow name → seconds between runs; flows not listed use ``default_interval_s``."""
    default_interval_s: float = 300.0
    poll_s: float = 5.0
    reconcile_at: time | None = time(2, 0)
    """UTC time of day after which the nightly reconciler runs; None: never."""
    reconcile_days: int = 1
    reconcile_entities: tuple[str, ...] = ()
    lease_s: float = 3600.0


class SyncScheduler:
    def __init__(self, engine: SyncEngine, schedule: Schedule | None = None) -> None:
        self.engine = engine
        self.schedule = schedule or Schedule()

    def interval(self, flow: str) -> timedelta:
        seconds = self.schedule.intervals.get(flow, self.schedule.default_interval_s)
        return timedelta(seconds=seconds)

    async def tick(self) -> list[RunSummary]:
        """Run every flow that is due (each at most once), then the nightly job if due."""
        now = self.engine.clock.now()
        async with self.engine.db.transaction() as conn:
            states = await rows.flow_states(conn)
        summaries = []
        for spec in self.engine.flows:
            state = states.get(spec.name)
            last = state.last_started_at if state else None
            if last is not None and now - last < self.interval(spec.name):
                continue
            try:
                summaries.append(await self.engine.run(spec.name, trigger="schedule"))
            except FlowBusyError:
                log.debug("flow %s is running elsewhere", spec.name)
            except (SQLAlchemyError, OSError):
                raise
            except Exception:
                # One flow's defect must not stop the others; its run is recorded as failed.
                log.exception("sync flow %s failed", spec.name)
        await self.nightly(now, states)
        return summaries

    async def nightly(
        self, now: datetime, states: dict[str, rows.FlowState] | None = None
    ) -> list[ReconcileReport]:
        at = self.schedule.reconcile_at
        if at is None:
            return []
        if states is None:
            async with self.engine.db.transaction() as conn:
                states = await rows.flow_states(conn)
        today = now.astimezone(UTC).date()
        if now.astimezone(UTC).time() < at:
            return []
        reports = []
        for entity in self.schedule.reconcile_entities:
            job = f"reconcile.{entity}"
            state = states.get(job)
            if state and state.last_started_at and state.last_started_at.date() >= today:
                continue
            async with self.engine.db.transaction() as conn:
                taken = await rows.take_lease(
                    conn, job, owner=self.engine.name, now=now,
                    until=now + timedelta(seconds=self.schedule.lease_s),
                )  # fmt: skip
                if not taken:
                    continue
                run_id = await rows.start_run(
                    conn, job, trigger="reconcile", owner=self.engine.name, now=now, watermark=None
                )
            status: rows.RunStatus = "failed"
            message = None
            try:
                report = await Reconciler(self.engine).run(
                    entity, today - timedelta(days=self.schedule.reconcile_days),
                    today - timedelta(days=1),
                )  # fmt: skip
                reports.append(report)
                status = "ok"
                message = f"report {report.id}: {len(report.drift)} drift"
            except Exception as exc:
                log.exception("nightly reconcile of %s failed", entity)
                message = f"{type(exc).__name__}: {exc}"[:2000]
            finally:
                async with self.engine.db.transaction() as conn:
                    await rows.finish_run(conn, run_id, job, status=status,
                                          now=self.engine.clock.now(), message=message)  # fmt: skip
                    await rows.release_lease(conn, job, owner=self.engine.name,
                                             now=self.engine.clock.now())  # fmt: skip
        return reports

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``poll_s`` until ``stop`` is set; a store outage only delays it."""
        while not stop.is_set():
            try:
                await self.tick()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("sync schedule tick failed, trying again later: %s", exc)
            except Exception:
                log.exception("sync schedule tick failed")
            sleeper = asyncio.ensure_future(self.engine.clock.sleep(self.schedule.poll_s))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (sleeper, stopper):
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
