"""Running one delta-sync flow: a window since the watermark, in batches, exactly what changed.

A flow is (source system, record kind, entity): ``sage_intacct.invoices.DE01``,
``infor_m3.orders.US01``, ``salesforce.orders.US01``. One run:

1. takes the flow's lease in the store (several workers never run one flow at once; the lease
   is renewed after every batch and runs out if its holder dies);
2. reads the window ``[watermark - overlap, now - settle)`` from the source, whole (one
   consistent result), and orders it by modification time;
3. first retries the flow's pending writes that are due (records that failed before);
4. maps each batch of changes to Salesforce writes (``writeback.py``), writes them
   (``writer.py``: unchanged records are skipped, field ownership applied, collections of
   200) and records, in ONE transaction per batch: what was written, failures (pending +
   the exception queue), conflicts, and the watermark advanced to the batch's last
   modification time. A crash at any point repeats at most the current batch, whose writes
   are keyed (upsert by external id, update by id): nothing is written twice, nothing missed;
5. stops cleanly when Salesforce's API budget reaches its reserve (the client refuses the
   call before sending it): the watermark stays where the last written batch left it and the
   next run resumes from there;
6. at the end of a complete window the watermark moves to the window's end.

Failures of a whole call (the ERP or Salesforce unreachable, a timeout) end the run as
``failed`` with an exception-queue record for the flow; the schedule runs it again and the
record resolves when a run succeeds.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.exceptions.capture import capture, resolve
from process_apis.orders.clock import Clock, SystemClock
from process_apis.routing import EntityRouter
from process_apis.sync.failures import RETRY_ON_NEXT_RUN, RecordFailure
from process_apis.sync.model import FlowSpec, SalesforceWrite, parse_flow
from process_apis.sync.ownership import OwnershipTable
from process_apis.sync.writeback import Links, WriteBack
from process_apis.sync.writer import BatchResult, SalesforceWriter
from process_apis.xref import CrossReference
from store import Database, NewFailure
from store import sync as rows
from store.watermarks import advance_watermark, get_watermark
from system_apis.changes import ChangeFeed, ChangeWindow
from system_apis.contract import CallContext
from system_apis.crm import CrmBackend
from system_apis.errors import BackendError, BackendRateLimitedError

__all__ = [
    "WRITEBACK_FLOW",
    "FlowBusyError",
    "FlowNotFoundError",
    "RunSummary",
    "SyncEngine",
    "SyncPolicy",
]

log = logging.getLogger("isthmus.sync")
WRITEBACK_FLOW = "salesforce_writeback"
"""The exception queue's flow for records the write-back could not write."""
RUN_FLOW = "sync_run"
"""The exception queue's flow for runs that failed as a whole."""
ACTOR = "system:sync"


class FlowNotFoundError(LookupError):
    """No such flow is configured."""


class FlowBusyError(RuntimeError):
    """Another worker holds the flow's lease: it is running there right now."""


@dataclass(frozen=True)
class SyncPolicy:
    batch_size: int = 200
    """Changes per batch: the watermark advances after each batch."""
    overlap_s: float = 300.0
    """Each window starts this far before the watermark (clock skew, same-second commits)."""
    settle_s: float = 2.0
    """Each window ends this far before now (commits still in flight)."""
    initial_lookback_s: float = 86_400.0
    """A flow's first run reads this far back."""
    lease_s: float = 300.0
    read_timeout_s: float = 120.0
    max_record_attempts: int = 10
    """A failed record is retried on the flow's runs this many times, then waits for people."""
    publish_events: bool = False
    """A status Platform Event per order change (for live Lightning updates)."""


@dataclass
class RunSummary:
    flow: str
    run_id: int
    status: rows.RunStatus = "running"
    read: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    conflicts: int = 0
    api_calls: int = 0
    events: int = 0
    watermark_before: str | None = None
    watermark_after: str | None = None
    message: str | None = None
    window: tuple[str, str] | None = None
    failures: list[RecordFailure] = field(default_factory=list)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SyncEngine:
    def __init__(  # noqa: PLR0917 - the flow's collaborators, named at every call site
        self,
        db: Database,
        crm: CrmBackend,
        feeds: dict[str, ChangeFeed],
        router: EntityRouter,
        xref: CrossReference,
        ownership: OwnershipTable,
        *,
        flows: Sequence[FlowSpec] = (),
        policy: SyncPolicy | None = None,
        clock: Clock | None = None,
        name: str | None = None,
        intake: Any = None,
        runners: dict[str, Any] | None = None,
    ) -> None:
        self.db = db
        self.crm = crm
        self.feeds = feeds
        self.router = router
        self.xref = xref
        self.ownership = ownership
        self.policy = policy or SyncPolicy()
        self.clock: Clock = clock or SystemClock()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.intake = intake
        """``process_apis.sync.intake.OrderIntake`` for ``salesforce.orders.*`` flows."""
        self._flows = {f.name: f for f in flows}
        self.runners: dict[str, Any] = dict(runners or {})
        """Further flow kinds (master data): ``kind`` → an object with
        ``async run(engine, spec, summary)``, run like the intake within the engine's lease,
        run record and failure handling."""

    def add_flow(self, spec: FlowSpec, runner: Any = None) -> None:
        """Add a flow (and the runner of its kind) to this engine's schedule."""
        self._flows[spec.name] = spec
        if runner is not None:
            self.runners[spec.kind] = runner

    @property
    def flows(self) -> list[FlowSpec]:
        return list(self._flows.values())

    def flow(self, name: str) -> FlowSpec:
        spec = self._flows.get(name) or None
        if spec is None:
            parsed = parse_flow(name)
            raise FlowNotFoundError(
                f"No flow {name!r}" + ("" if parsed else " (flows are named system.kind.entity)")
            )
        return spec

    def context(self, spec: FlowSpec, run_id: int) -> CallContext:
        route = self.router.resolve(spec.entity).route
        return CallContext(
            company=route.company,
            division=route.division,
            deadline=time.monotonic() + self.policy.read_timeout_s,
            correlation_id=f"sync-{run_id}",
        )

    def _salesforce_context(self, run_id: int) -> Callable[[], CallContext]:
        def make() -> CallContext:
            return CallContext(
                company="salesforce",
                deadline=time.monotonic() + self.policy.read_timeout_s,
                correlation_id=f"sync-{run_id}",
            )

        return make

    # --- one run ------------------------------------------------------------------------------

    async def run(self, flow: str, *, trigger: str = "manual") -> RunSummary:
        spec = self.flow(flow)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            taken = await rows.take_lease(
                conn, spec.name, owner=self.name, now=now,
                until=now + timedelta(seconds=self.policy.lease_s),
            )  # fmt: skip
            if not taken:
                raise FlowBusyError(f"flow {spec.name} is running in another worker")
            watermark = await get_watermark(conn, spec.system, spec.kind, spec.entity)
            run_id = await rows.start_run(
                conn, spec.name, trigger=trigger, owner=self.name, now=now, watermark=watermark
            )
        summary = RunSummary(flow=spec.name, run_id=run_id, watermark_before=watermark,
                             watermark_after=watermark)  # fmt: skip
        try:
            runner = self.runners.get(spec.kind)
            if runner is not None:
                await runner.run(self, spec, summary)
            elif spec.system == "salesforce":
                if self.intake is None:
                    raise FlowNotFoundError(f"{spec.name}: no order intake configured")
                await self.intake.run(self, spec, summary)
            else:
                await self._run_erp(spec, summary)
            if summary.status == "running":
                summary.status = "partial" if summary.failed else "ok"
        except BackendError as exc:
            summary.status = "failed"
            summary.message = f"{exc.vendor or 'backend'}: {exc.message}"[:2000]
            await self._run_failed(spec, summary, exc)
        except Exception as exc:
            summary.status = "failed"
            summary.message = f"unexpected {type(exc).__name__}: {exc}"[:2000]
            log.exception("sync run %s of %s failed", run_id, spec.name)
            raise
        except BaseException:
            summary.status, summary.message = "failed", "interrupted"
            raise
        finally:
            await self._finish(spec, summary)
        return summary

    async def _finish(self, spec: FlowSpec, summary: RunSummary) -> None:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await rows.finish_run(
                conn, summary.run_id, spec.name, status=summary.status, now=now,
                read=summary.read, written=summary.written, unchanged=summary.unchanged,
                failed=summary.failed, conflicts=summary.conflicts, api_calls=summary.api_calls,
                watermark_after=summary.watermark_after, message=summary.message,
                window_from=summary.window[0] if summary.window else None,
                window_to=summary.window[1] if summary.window else None,
            )  # fmt: skip
            if summary.status in ("ok", "partial"):
                await resolve(conn, flow=RUN_FLOW, subject_type="sync_flow",
                              subject_id=spec.name, now=now, actor=ACTOR,
                              cause=f"run {summary.run_id} succeeded")  # fmt: skip
            await rows.release_lease(conn, spec.name, owner=self.name, now=now)
        log.info(
            "sync %s run %s: %s read=%s written=%s unchanged=%s failed=%s api_calls=%s",
            spec.name, summary.run_id, summary.status, summary.read, summary.written,
            summary.unchanged, summary.failed, summary.api_calls,
        )  # fmt: skip

    async def _run_failed(self, spec: FlowSpec, summary: RunSummary, exc: BackendError) -> None:
        if isinstance(exc, BackendRateLimitedError) and exc.vendor == "salesforce":
            # The org's budget: a clean stop, resumed from the watermark by a later run.
            summary.status = "stopped"
            return
        category = {"timeout": "timeout", "rate_limited": "rate_limit", "auth": "auth"}.get(
            exc.kind, "connection"
        )
        failure = NewFailure(
            flow=RUN_FLOW, subject_type="sync_flow", subject_id=spec.name, entity=spec.entity,
            system=exc.vendor or spec.system, category=category, retryable=exc.retryable,
            vendor_code=exc.code, vendor_message=exc.message[:4000], vendor_field=exc.field,
            payload={"flow": spec.name, "run": summary.run_id, "window": summary.window},
            attempts=1, correlation_id=f"sync-{summary.run_id}",
        )  # fmt: skip
        async with self.db.transaction() as conn:
            await capture(conn, failure, now=self.clock.now(), flow_retries=True, actor=ACTOR)

    async def renew(self, spec: FlowSpec) -> bool:
        async with self.db.transaction() as conn:
            return await rows.renew_lease(
                conn, spec.name, owner=self.name,
                until=self.clock.now() + timedelta(seconds=self.policy.lease_s),
            )  # fmt: skip

    def window(self, watermark: str | None) -> ChangeWindow:
        now = self.clock.now()
        mark = _parse(watermark)
        since = (
            mark - timedelta(seconds=self.policy.overlap_s)
            if mark is not None
            else now - timedelta(seconds=self.policy.initial_lookback_s)
        )
        return ChangeWindow(since=since, until=now - timedelta(seconds=self.policy.settle_s))

    async def _run_erp(self, spec: FlowSpec, summary: RunSummary) -> None:
        routed = self.router.resolve(spec.entity)
        feed = self.feeds.get(spec.system)
        if feed is None or routed.route.erp != spec.system:
            raise FlowNotFoundError(f"{spec.name}: no change feed for {spec.system}")
        window = self.window(summary.watermark_before)
        assert window.until is not None
        summary.window = (_iso(window.since), _iso(window.until))
        writer = SalesforceWriter(
            self.crm, self.ownership, context=self._salesforce_context(summary.run_id)
        )
        await self.retry_pending(spec, summary, writer)
        if summary.status != "running":
            return
        reader = getattr(feed, spec.kind)
        changes = await reader(self.context(spec, summary.run_id), window)
        changes.sort(key=lambda c: c.modified)
        summary.read = len(changes)
        route = routed.route
        order_ids = {str(getattr(c, "order_id", "") or "") for c in changes} - {""}
        async with self.db.transaction() as conn:
            refs = await rows.external_refs_by_erp_order(conn, spec.entity, sorted(order_ids))
        mapper = WriteBack(
            system=spec.system, company=route.company, entity=spec.entity,
            links=Links(self.xref, spec.entity, refs), now=self.clock.now(),
            events=self.policy.publish_events,
        )  # fmt: skip
        to_writes: Callable[[list[Any]], list[SalesforceWrite]] = getattr(mapper, spec.kind)
        size = self.policy.batch_size
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            writes = to_writes(batch)
            last = max(c.modified for c in batch)
            done = await self.write_batch(spec, summary, writer, writes, advance_to=last)
            if not done:
                return
            if not await self.renew(spec):
                summary.status, summary.message = "stopped", "lease lost to another worker"
                return
        await self._advance(spec, summary, window.until)

    async def _advance(self, spec: FlowSpec, summary: RunSummary, to: datetime) -> None:
        current = _parse(summary.watermark_after)
        if current is not None and current >= to:
            return
        async with self.db.transaction() as conn:
            await advance_watermark(
                conn, spec.system, spec.kind, spec.entity, watermark=_iso(to), now=self.clock.now()
            )
        summary.watermark_after = _iso(to)

    # --- batches ------------------------------------------------------------------------------

    async def write_batch(
        self,
        spec: FlowSpec,
        summary: RunSummary,
        writer: SalesforceWriter,
        writes: list[SalesforceWrite],
        *,
        advance_to: datetime | None,
        pending_retry: bool = False,
    ) -> bool:
        """Write one batch and record its outcome (and the watermark) in one transaction;
        False when the run must stop."""
        keys: dict[str, list[str]] = {}
        for w in writes:
            keys.setdefault(w.sobject, []).append(w.key)
        shadows: dict[tuple[str, str], dict[str, Any]] = {}
        async with self.db.transaction() as conn:
            for sobject, object_keys in keys.items():
                for key, record in (await rows.records_by_key(conn, sobject, object_keys)).items():
                    shadows[(sobject, key)] = record.values
        result = await writer.write(writes, shadows)
        await self._record(spec, summary, result, shadows, advance_to=advance_to,
                           pending_retry=pending_retry)  # fmt: skip
        if result.error is not None:
            raise result.error
        return True

    async def _record(
        self,
        spec: FlowSpec,
        summary: RunSummary,
        result: BatchResult,
        shadows: dict[tuple[str, str], dict[str, Any]],
        *,
        advance_to: datetime | None,
        pending_retry: bool,
    ) -> None:
        now = self.clock.now()
        summary.written += len(result.written)
        summary.unchanged += len(result.unchanged)
        summary.api_calls += result.api_calls
        summary.events += result.events
        async with self.db.transaction() as conn:
            written = []
            for planned, salesforce_id in result.written:
                w = planned.write
                before = dict((shadows.get((w.sobject, w.key)) or {}).get("written") or {})
                written.append(
                    rows.WrittenRecord(
                        sobject=w.sobject,
                        key=w.key,
                        salesforce_id=salesforce_id or (w.key if w.key_field == "Id" else None),
                        flow=spec.name,
                        entity=w.entity,
                        erp_document=w.erp_document,
                        values={
                            "proposed": w.values,
                            "written": {
                                **before,
                                **{k: v for k, v in planned.values.items() if k in w.values},
                            },
                        },
                        source_modified=w.modified,
                        written_at=now,
                        run_id=summary.run_id,
                    )
                )
            await rows.remember_written(conn, written)
            by_object: dict[str, list[str]] = {}
            for record in written:
                by_object.setdefault(record.sobject, []).append(record.key)
            for sobject, keys in by_object.items():
                # Only records that failed before have a pending write and a queue record.
                for key in await rows.pending_keys(conn, spec.name, sobject, keys):
                    await rows.drop_pending(conn, spec.name, sobject, [key])
                    await resolve(conn, flow=WRITEBACK_FLOW, subject_type=sobject,
                                  subject_id=key[:80], now=now, actor=ACTOR,
                                  cause=f"written by sync run {summary.run_id}")  # fmt: skip
            conflicts = [(p.write, c) for p, _ in result.written for c in p.conflicts] + [
                (p.write, c) for p in result.conflicts_only for c in p.conflicts
            ]
            fresh = []
            for w, c in conflicts:
                known = await rows.list_conflicts(conn, sobject=w.sobject, key=w.key, limit=50)
                if any(k.field == c.field and k.outcome == c.outcome and
                       msgspec.json.encode(k.erp_value) == msgspec.json.encode(c.proposed_value)
                       for k in known):  # fmt: skip
                    continue
                fresh.append(
                    rows.NewConflict(
                        flow=spec.name,
                        sobject=w.sobject,
                        key=w.key,
                        salesforce_id=w.key if w.key_field == "Id" else None,
                        field=c.field,
                        master=c.master,
                        outcome=c.outcome,
                        salesforce_value=msgspec.to_builtins(c.target_value),
                        erp_value=msgspec.to_builtins(c.proposed_value),
                    )
                )
            await rows.add_conflicts(conn, fresh, run_id=summary.run_id, now=now)
            summary.conflicts += len(fresh)
            for failure in result.failed:
                await self._failed(conn, spec, summary, failure, now)
            summary.failed += len(result.failed)
            if result.error is None and advance_to is not None and not pending_retry:
                current = _parse(summary.watermark_after)
                if current is None or advance_to > current:
                    await advance_watermark(
                        conn, spec.system, spec.kind, spec.entity, watermark=_iso(advance_to),
                        now=now,
                    )  # fmt: skip
                    summary.watermark_after = _iso(advance_to)

    async def _failed(
        self,
        conn: AsyncConnection,
        spec: FlowSpec,
        summary: RunSummary,
        failure: RecordFailure,
        now: datetime,
    ) -> None:
        w = failure.write
        previous = [p for p in await rows.pending_for(conn, spec.name)
                    if p.sobject == w.sobject and p.key == w.key]  # fmt: skip
        attempts = (previous[0].attempts if previous else 0) + 1
        on_next_run = failure.category in RETRY_ON_NEXT_RUN
        keep_trying = on_next_run and attempts < self.policy.max_record_attempts
        captured = await capture(
            conn,
            NewFailure(
                flow=WRITEBACK_FLOW, subject_type=w.sobject, subject_id=w.key[:80],
                entity=w.entity, system="salesforce", category=failure.category,
                retryable=failure.retryable, vendor_code=failure.code,
                vendor_message=failure.message[:4000], vendor_field=",".join(failure.fields)[:80]
                or None, payload={"flow": spec.name, "write": msgspec.to_builtins(w)},
                salesforce_id=w.key if w.key_field == "Id" else None, attempts=attempts,
                correlation_id=f"sync-{summary.run_id}",
            ),
            now=now, flow_retries=keep_trying, target="salesforce",
            erp_document=w.erp_document[:80], actor=ACTOR,
        )  # fmt: skip
        far = now + timedelta(days=3650)
        await rows.keep_pending(
            conn,
            rows.PendingWrite(
                flow=spec.name, sobject=w.sobject, key=w.key, entity=w.entity,
                erp_document=w.erp_document, write=msgspec.to_builtins(w),
                category=failure.category, message=failure.message[:4000], attempts=attempts,
                failure_id=captured.record.id, next_attempt_at=now if keep_trying else far,
                created_at=previous[0].created_at if previous else now, updated_at=now,
            ),
        )  # fmt: skip
        summary.failures.append(failure)

    async def retry_pending(
        self, spec: FlowSpec, summary: RunSummary, writer: SalesforceWriter
    ) -> None:
        """The flow's earlier failures that are due go first (their own batches)."""
        async with self.db.transaction() as conn:
            due = await rows.due_pending(conn, spec.name, now=self.clock.now())
        writes = [msgspec.convert(p.write, SalesforceWrite) for p in due]
        for start in range(0, len(writes), self.policy.batch_size):
            await self.write_batch(
                spec, summary, writer, writes[start : start + self.policy.batch_size],
                advance_to=None, pending_retry=True,
            )  # fmt: skip
