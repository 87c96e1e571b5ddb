"""The order worker: claims accepted orders from the outbox and books them in their ERP.

Exactly once, by construction rather than by luck:

- before each attempt the order is marked ``submitting`` with ``maybe_sent`` (committed
  before anything is sent), so a worker that dies mid-call leaves a trace;
- an attempt after an ambiguous outcome (timeout, reset, 5xx, or a worker that died) first
  looks the order up in the ERP by its external reference, and sends it again only when the
  ERP certainly has none;
- claims are leases renewed while the work runs; a dead worker's lease runs out and another
  worker takes the order over (and, per the above, looks it up first).

Transient failures retry with exponential backoff and jitter up to ``max_attempts``, then the
order needs attention; refusals are classified and captured as failure records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from process_apis.exceptions.capture import capture, resolve
from process_apis.orders.classify import Classified, classify
from process_apis.orders.clock import Clock, SystemClock
from process_apis.orders.service import SUBMIT_ORDER
from process_apis.routing import EntityRouter
from store import Claimed, Database, NewFailure, OrderStatus, StoredOrder
from store import orders as order_rows
from store import outbox as work
from store.audit import audit
from system_apis.contract import CallContext, OrderAck, OrderRequest
from system_apis.errors import BackendError, BackendUnavailableError

__all__ = ["OrderWorker", "WorkerPolicy"]

log = logging.getLogger("isthmus.worker")
ACTOR = "system:worker"


@dataclass(frozen=True)
class WorkerPolicy:
    concurrency: int = 8
    lease_s: float = 30.0
    idle_poll_s: float = 0.5
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    submit_timeout_s: float = 60.0


class OrderWorker:
    def __init__(
        self,
        db: Database,
        router: EntityRouter,
        policy: WorkerPolicy | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.router = router
        self.policy = policy or WorkerPolicy()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._held: dict[int, Claimed] = {}

    # ------------------------------------------------------------------ loop

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and process until ``stop`` is set; in-flight orders finish first."""
        tasks: set[asyncio.Task[None]] = set()
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        db_pause = 0.5
        try:
            while not stop.is_set():
                free = self.policy.concurrency - len(tasks)
                claimed: list[Claimed] = []
                if free > 0:
                    try:
                        claimed = await self._claim(free)
                        db_pause = 0.5
                    except (SQLAlchemyError, OSError) as exc:
                        log.warning("store unavailable, claiming again in %.1fs: %s", db_pause, exc)
                        await self._pause(stop, db_pause)
                        db_pause = min(db_pause * 2, 10.0)
                        continue
                for entry in claimed:
                    task = asyncio.create_task(self._process_guarded(entry))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if not claimed:
                    await self._pause(stop, self.policy.idle_poll_s, tasks)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _pause(
        self, stop: asyncio.Event, seconds: float, tasks: set[asyncio.Task[None]] | None = None
    ) -> None:
        """Sleep until ``seconds`` pass, ``stop`` is set, or (when full) a task finishes."""
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiters.append(sleeper)
        if tasks and len(tasks) >= self.policy.concurrency:
            waiters.extend(tasks)
        _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            if waiter is sleeper or waiter is waiters[0]:
                waiter.cancel()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Renew the leases of what this worker holds, every third of the lease."""
        while not stop.is_set():
            await self.clock.sleep(self.policy.lease_s / 3)
            if not self._held:
                continue
            until = self.clock.now() + timedelta(seconds=self.policy.lease_s)
            try:
                async with self.db.transaction() as conn:
                    await work.extend(conn, list(self._held), owner=self.name, until=until)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("could not renew leases: %s", exc)

    async def _claim(self, limit: int) -> list[Claimed]:
        async with self.db.transaction() as conn:
            claimed = await work.claim(
                conn, owner=self.name, now=self.clock.now(),
                lease=timedelta(seconds=self.policy.lease_s), limit=limit, kinds=[SUBMIT_ORDER],
            )  # fmt: skip
        for entry in claimed:
            self._held[entry.id] = entry
        return claimed

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Process every entry that is due now, one batch after another (tests, one-shot use)."""
        done = 0
        for _ in range(max_rounds):
            claimed = await self._claim(self.policy.concurrency)
            if not claimed:
                return done
            await asyncio.gather(*(self._process_guarded(e) for e in claimed))
            done += len(claimed)
        return done

    async def _process_guarded(self, entry: Claimed) -> None:
        try:
            await self.process(entry)
        except (SQLAlchemyError, OSError) as exc:
            # The store failed mid-way: the lease runs out and the order is taken up again;
            # it is marked maybe_sent, so the next attempt looks it up before sending.
            log.warning("store failed while processing %s: %s", entry.subject_id, exc)
        except Exception:
            log.exception("unexpected failure processing %s", entry.subject_id)
        finally:
            self._held.pop(entry.id, None)

    # ------------------------------------------------------------------ one order

    async def process(self, entry: Claimed) -> None:
        # Reading the order and marking it submitting share one transaction: each store
        # transaction costs a pool pre-ping and BEGIN/COMMIT round trips, and with eight
        # orders in flight those round trips, not the ERP calls, held most of the slots.
        async with self.db.transaction() as conn:
            order = await order_rows.get_order(conn, entry.subject_id)
            if order is None or order.final:
                await work.complete(conn, entry.id)
                return
            request = msgspec.convert(order.erp_request, OrderRequest)
            look_up_first = order.maybe_sent
            attempt = order.attempts + 1
            cause = f"attempt {attempt}"
            if look_up_first:
                cause += ": an earlier attempt may have reached the ERP, looking it up first"
            await order_rows.transition(
                conn, order.id, "submitting", self.clock.now(), cause=cause,
                attempts=attempt, maybe_sent=True,
            )  # fmt: skip
        certainly_absent = False
        try:
            routed = self.router.resolve(order.entity)
            ctx = CallContext(
                company=routed.route.company,
                division=routed.route.division,
                deadline=time.monotonic() + self.policy.submit_timeout_s,
                correlation_id=order.correlation_id,
            )
            ack: OrderAck | None = None
            if look_up_first:
                ack = await routed.backend.find_order(
                    ctx, request.customer_id, request.external_ref
                )
                certainly_absent = ack is None
                found = "found it" if ack is not None else "not there: sending"
                log.info("looked up %s by reference: %s", order.id, found)
            if ack is None:
                ack = await routed.backend.create_order(ctx, request)
        except BackendError as exc:
            await self._failed(
                entry, order, request, attempt, exc, certainly_absent=certainly_absent
            )
            return
        except Exception as exc:
            log.exception("order %s: unexpected error talking to the ERP", order.id)
            await self._failed(
                entry, order, request, attempt,
                BackendUnavailableError(f"unexpected error: {type(exc).__name__}",
                                        vendor=order.erp),
                certainly_absent=certainly_absent,
            )  # fmt: skip
            return
        await self._booked(
            entry, order, ack, found_by_lookup=look_up_first and not certainly_absent
        )

    async def _booked(
        self, entry: Claimed, order: StoredOrder, ack: OrderAck, *, found_by_lookup: bool
    ) -> None:
        now = self.clock.now()
        if found_by_lookup or not ack.created:
            cause = f"booked in {order.erp} as {ack.order_id} (found by its reference: an earlier attempt had created it)"
        else:
            cause = f"booked in {order.erp} as {ack.order_id}"
        lines = [
            {"line_no": ln.line_no, "item_id": ln.item_id, "quantity": str(ln.quantity),
             "uom": ln.uom, "unit_price": None if ln.unit_price is None else str(ln.unit_price),
             "status": ln.status}
            for ln in ack.lines
        ]  # fmt: skip
        async with self.db.transaction() as conn:
            await order_rows.transition(
                conn, order.id, "booked", now, cause=cause,
                detail={"erp_order_id": ack.order_id, "erp_status": ack.status},
                erp_order_id=ack.order_id, erp_status=ack.status, erp_lines=lines,
                booked_at=now, maybe_sent=False,
            )  # fmt: skip
            await work.complete(conn, entry.id)
            await audit(
                conn, now=now, actor=ACTOR, action="order.booked", subject_type="order",
                subject_id=order.id, correlation_id=order.correlation_id,
                detail={"erp_order_id": ack.order_id},
            )  # fmt: skip
            # The exception queue: this order's open failure records resolve themselves.
            await resolve(
                conn, flow="order_submit", subject_type="order", subject_id=order.id, now=now,
                cause=cause, actor=ACTOR, erp_document=ack.order_id,
            )  # fmt: skip

    def backoff_s(self, attempt: int) -> float:
        """Exponential, capped, with jitter: between half and all of ``base * 2^(n-1)``."""
        ceiling = min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2 ** (attempt - 1))
        return float(ceiling / 2 + self.rng.random() * ceiling / 2)

    async def _failed(
        self,
        entry: Claimed,
        order: StoredOrder,
        request: OrderRequest,
        attempt: int,
        exc: BackendError,
        *,
        certainly_absent: bool,
    ) -> None:
        kind = classify(exc)
        now = self.clock.now()
        detail = {
            "category": kind.category,
            "vendor": exc.vendor,
            "code": exc.code,
            "message": exc.message,
            "field": exc.field,
            "ambiguous": kind.ambiguous,
        }
        # After a certain "absent" and an unambiguous failure nothing can be in the ERP.
        maybe_sent = kind.ambiguous or (not certainly_absent and order.maybe_sent)
        if kind.retryable and attempt < self.policy.max_attempts:
            delay = self.backoff_s(attempt)
            async with self.db.transaction() as conn:
                await order_rows.transition(
                    conn, order.id, "retrying", now, detail=detail, maybe_sent=maybe_sent,
                    cause=f"{kind.category}: {exc.message} (retry {attempt + 1} in {delay:.1f}s)",
                )  # fmt: skip
                await work.release(conn, entry.id, available_at=now + timedelta(seconds=delay))
                # Visible in the exception queue as "retrying" while the worker retries.
                await capture(
                    conn, self._failure(order, request, attempt, exc, kind), now=now,
                    flow_retries=True, actor=ACTOR,
                )  # fmt: skip
            return
        status: OrderStatus = (
            "rejected" if kind.needs_people and kind.category != "auth" else "needs_attention"
        )
        why = "refused by the ERP" if status == "rejected" else "needs attention"
        if kind.retryable:
            why = f"gave up after {attempt} attempts"
        async with self.db.transaction() as conn:
            await capture(
                conn, self._failure(order, request, attempt, exc, kind), now=now, actor=ACTOR
            )
            await order_rows.transition(
                conn, order.id, status, now, detail=detail, maybe_sent=maybe_sent,
                cause=f"{why}: {kind.category}: {exc.message}",
            )  # fmt: skip
            await work.complete(conn, entry.id)
            await audit(
                conn, now=now, actor=ACTOR, action=f"order.{status}", subject_type="order",
                subject_id=order.id, correlation_id=order.correlation_id, detail=detail,
            )  # fmt: skip

    @staticmethod
    def _failure(
        order: StoredOrder, request: OrderRequest, attempt: int, exc: BackendError, kind: Classified
    ) -> NewFailure:
        ref = order.external_ref
        return NewFailure(
            flow="order_submit",
            subject_type="order",
            subject_id=order.id,
            entity=order.entity,
            system=exc.vendor or order.erp,
            category=kind.category,
            retryable=kind.retryable,
            vendor_code=exc.code,
            vendor_message=exc.message[:4000],
            vendor_field=exc.field,
            payload=msgspec.to_builtins(request),
            salesforce_id=ref if len(ref) in (15, 18) and ref.isalnum() else None,
            correlation_id=order.correlation_id,
            attempts=attempt,
        )
