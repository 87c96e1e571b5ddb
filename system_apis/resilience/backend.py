"""``ResilientBackend``: timeouts, retries, a circuit breaker and a bulkhead around one ERP.

``ResilientBackend`` implements ``ErpBackend`` over another implementation (an adapter):

- every attempt is bounded by what is left of ``ctx.deadline`` (and ``attempt_timeout``);
- reads are retried only on connection failures, 429 and 502/503/504, with jittered backoff,
  never past the deadline, and within a retry budget (a failing backend sees at most about
  ``1 + budget_ratio`` times the calls it was asked for, plus a small burst);
- a circuit breaker per company (``vendor`` + ``ctx.company``) refuses at once while the
  backend is failing, so the cache above can answer in milliseconds; business answers (not
  found, rejected) count as successes: the backend is alive and answering;
- a bulkhead caps calls in flight, so a hung backend holds a bounded number of tasks and
  sockets and cannot starve other backends or health checks; the calls of one request (same
  company and correlation id: a quote's item, price and availability per line, and credit)
  hold one slot together (up to ``CALLS_PER_SLOT``), so the cap counts fan-outs, and a
  10-line quote (31 calls) does not take 31 of them;
- a timeout is a failure wherever its timer fires: ours, or an outer one (the cache's fill
  bound, the request's fan-out cut-off) that cancels the call once its deadline is reached.
  Only a call cancelled with time still left (its caller went away) tells nothing about the
  backend. So a hanging backend opens the breaker as a failing one does.

``create_order`` is never retried here (the adapters carry the idempotency guard; a retry
belongs to the caller that knows the order), it only passes the breaker and the bulkhead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    ErpBackend,
    Item,
    OrderAck,
    OrderRequest,
    Price,
    PriceQuery,
    Vendor,
)
from system_apis.errors import (
    BackendError,
    BackendProtocolError,
    BackendRateLimitedError,
    BackendTimeoutError,
    BackendUnavailableError,
)
from system_apis.resilience.breaker import (
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
)
from system_apis.resilience.bulkhead import LocalSlots
from system_apis.resilience.deadline import MIN_USEFUL_SECONDS, remaining_seconds
from system_apis.resilience.retry import RetryBudget, RetryPolicy, retry_delay, should_retry

__all__ = [
    "BulkheadFullError",
    "CircuitOpenError",
    "ResiliencePolicy",
    "ResilienceSnapshot",
    "ResilientBackend",
]

T = TypeVar("T")


class CircuitOpenError(BackendUnavailableError):
    """The breaker for this backend/company is open: no call was made."""

    retryable = False


class BulkheadFullError(BackendUnavailableError):
    """Too many calls to this backend were already in flight: no call was made."""

    retryable = False


@dataclass(frozen=True)
class ResiliencePolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    max_in_flight: int = 32
    """Bulkhead: calls in flight to this backend at once (one request's calls count once)."""
    queue_wait: float = 0.1
    """How long a call may wait for a bulkhead slot (never past its deadline)."""
    attempt_timeout: float = 30.0
    """Bound on one attempt when the call has no deadline."""


class ResilienceSnapshot(msgspec.Struct, kw_only=True):
    vendor: str
    in_flight: int
    max_in_flight: int
    calls: int
    attempts: int
    retries: int
    retries_refused_by_budget: int
    bulkhead_rejections: int
    timeouts: int
    breakers: dict[str, BreakerSnapshot]
    """Per ``ctx.company``."""


class ResilientBackend:
    """``ErpBackend`` adding deadline-bound timeouts, safe retries, breakers and a bulkhead.

    ``inner``: the adapter. ``policy``: see ``ResiliencePolicy``. ``clock``: monotonic clock
    of the breakers; ``now``: the clock ``ctx.deadline`` is read with (``time.monotonic``,
    like every deadline). Tests pass manual ones.
    """

    def __init__(
        self,
        inner: ErpBackend,
        *,
        policy: ResiliencePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._policy = policy or ResiliencePolicy()
        self._clock = clock
        self._now = now
        self._bulkhead = LocalSlots(self._policy.max_in_flight)
        self._requests: dict[tuple[str, str], _Holding] = {}
        """The bulkhead slot each request (company, correlation id) holds for its calls."""
        self._breakers: dict[str, CircuitBreaker] = {}
        self._budgets: dict[str, RetryBudget] = {}
        self._calls = 0
        self._attempts = 0
        self._retries = 0
        self._timeouts = 0

    @property
    def vendor(self) -> Vendor:
        return self._inner.vendor

    @property
    def inner(self) -> ErpBackend:
        return self._inner

    def breaker_state(self, company: str) -> BreakerState:
        return self._breaker(company).state

    # ------------------------------------------------------------------ the contract
    # Plain methods returning ``_call``'s coroutine: no frame of their own in each call's
    # await chain (a quote makes dozens of calls).

    def get_customer_credit(
        self, ctx: CallContext, customer_id: str
    ) -> Coroutine[Any, Any, CustomerCredit]:
        return self._call(
            ctx, lambda: self._inner.get_customer_credit(ctx, customer_id), retry=True
        )

    def get_item(self, ctx: CallContext, item_id: str) -> Coroutine[Any, Any, Item]:
        return self._call(ctx, lambda: self._inner.get_item(ctx, item_id), retry=True)

    def get_price(self, ctx: CallContext, query: PriceQuery) -> Coroutine[Any, Any, Price]:
        return self._call(ctx, lambda: self._inner.get_price(ctx, query), retry=True)

    def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> Coroutine[Any, Any, tuple[Availability, ...]]:
        return self._call(
            ctx, lambda: self._inner.get_availability(ctx, item_id, warehouse_ids), retry=True
        )

    def create_order(self, ctx: CallContext, order: OrderRequest) -> Coroutine[Any, Any, OrderAck]:
        return self._call(ctx, lambda: self._inner.create_order(ctx, order), retry=False)

    def get_order(self, ctx: CallContext, order_id: str) -> Coroutine[Any, Any, OrderAck]:
        return self._call(ctx, lambda: self._inner.get_order(ctx, order_id), retry=True)

    def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> Coroutine[Any, Any, OrderAck | None]:
        return self._call(
            ctx, lambda: self._inner.find_order(ctx, customer_id, external_ref), retry=True
        )

    def ping(self, ctx: CallContext) -> Coroutine[Any, Any, None]:
        # A readiness probe wants the backend's state now, not after retries.
        return self._call(ctx, lambda: self._inner.ping(ctx), retry=False)

    # ------------------------------------------------------------------ the machinery

    def _breaker(self, company: str) -> CircuitBreaker:
        breaker = self._breakers.get(company)
        if breaker is None:
            breaker = self._breakers[company] = CircuitBreaker(
                self._policy.breaker, clock=self._clock
            )
        return breaker

    def _budget(self, company: str) -> RetryBudget:
        budget = self._budgets.get(company)
        if budget is None:
            retry = self._policy.retry
            budget = self._budgets[company] = RetryBudget(
                ratio=retry.budget_ratio, burst=retry.budget_burst
            )
        return budget

    async def _call(self, ctx: CallContext, make: Callable[[], Awaitable[T]], *, retry: bool) -> T:
        vendor = self.vendor
        breaker = self._breaker(ctx.company)
        budget = self._budget(ctx.company)
        self._calls += 1
        if retry:
            budget.deposit()
        max_attempts = self._policy.retry.max_attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            if not breaker.try_acquire():
                raise CircuitOpenError(
                    f"circuit open for {vendor} company {ctx.company}",
                    vendor=vendor,
                    retry_after=breaker.retry_in(),
                )
            try:
                result = await self._attempt(ctx, make)
            except BulkheadFullError:
                breaker.record_neutral()
                raise
            except BackendError as error:
                if _is_backend_failure(error):
                    breaker.record_failure()
                else:
                    breaker.record_success()
                if attempt >= max_attempts or not should_retry(error):
                    raise
                delay = retry_delay(self._policy.retry, attempt, error)
                if not self._fits(ctx, delay) or not budget.try_withdraw():
                    raise
                self._retries += 1
                if delay > 0:
                    await asyncio.sleep(delay)
                continue
            except asyncio.CancelledError:
                if self._out_of_time(ctx):
                    # An outer timer at the same deadline beat ours: still a hang.
                    self._timeouts += 1
                    breaker.record_failure()
                else:
                    breaker.record_neutral()  # the caller went away with time left
                raise
            except Exception:
                breaker.record_failure()
                raise
            breaker.record_success()
            return result

    async def _attempt(self, ctx: CallContext, make: Callable[[], Awaitable[T]]) -> T:
        vendor = self.vendor
        try:
            timeout = remaining_seconds(
                ctx, vendor=vendor, cap=self._policy.attempt_timeout, now=self._now
            )
        except BackendTimeoutError:
            self._timeouts += 1
            raise
        request = (ctx.company, ctx.correlation_id) if ctx.correlation_id else None
        holding = self._requests.get(request) if request is not None else None
        if holding is None or holding.calls >= CALLS_PER_SLOT:
            try:
                await self._bulkhead.acquire(min(self._policy.queue_wait, timeout))
            except TimeoutError:
                raise BulkheadFullError(
                    f"{self._bulkhead.limit} calls already in flight to {vendor}", vendor=vendor
                ) from None
            holding = _Holding()
            if request is not None:
                self._requests[request] = holding
        holding.calls += 1
        self._attempts += 1
        if ctx.deadline is not None:  # waiting for the slot took some of the time
            timeout = max(0.0, min(timeout, ctx.deadline - self._now()))
        expired = False
        try:
            expiry = _Expiry(timeout)
            try:
                return await make()
            finally:
                expired = expiry.close()
        except (asyncio.CancelledError, TimeoutError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not expired:
                raise  # not our timer: the caller's cancellation
            self._timeouts += 1
            raise BackendTimeoutError(
                f"{vendor} did not answer within {timeout:.3f} s", vendor=vendor
            ) from None
        finally:
            holding.calls -= 1
            if holding.calls == 0:
                if request is not None and self._requests.get(request) is holding:
                    del self._requests[request]
                self._bulkhead.release()

    def _out_of_time(self, ctx: CallContext) -> bool:
        """Is (nearly) nothing left of the call's deadline? Then a cancellation is a timeout."""
        return ctx.deadline is not None and ctx.deadline - self._now() < MIN_USEFUL_SECONDS

    def _fits(self, ctx: CallContext, delay: float) -> bool:
        if ctx.deadline is None:
            return True
        return self._now() + delay + MIN_USEFUL_SECONDS < ctx.deadline

    def snapshot(self) -> ResilienceSnapshot:
        return ResilienceSnapshot(
            vendor=self.vendor,
            in_flight=self._bulkhead.in_flight,
            max_in_flight=self._bulkhead.limit,
            calls=self._calls,
            attempts=self._attempts,
            retries=self._retries,
            retries_refused_by_budget=sum(b.exhausted for b in self._budgets.values()),
            bulkhead_rejections=self._bulkhead.refused,
            timeouts=self._timeouts,
            breakers={company: b.snapshot() for company, b in self._breakers.items()},
        )


CALLS_PER_SLOT = 64
"""Most calls one bulkhead slot carries. A 10-line quote makes 31; a correlation id that many
requests reuse (a client sending a fixed one) takes a slot per 64 calls, so the cap still
bounds what is in flight: ``max_in_flight`` times this, at most."""


class _Expiry:
    """``asyncio.timeout(delay)`` for one attempt, as a timer and a flag: the same cancel and
    the same ``uncancel`` accounting (an outer cancellation still wins), without an async
    context manager, its state machine and two coroutines per call (dozens per quote)."""

    __slots__ = ("_cancelling", "_fired", "_handle", "_task")

    def __init__(self, delay: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._fired = False
        loop = task.get_loop()
        self._handle: asyncio.Handle = (
            loop.call_soon(self._fire)
            if delay <= 0
            else loop.call_at(loop.time() + delay, self._fire)
        )

    def _fire(self) -> None:
        self._fired = True
        self._task.cancel()

    def close(self) -> bool:
        """Stop the timer; True when it fired and its cancellation is the only one pending
        (then the ``CancelledError`` that ended the call is this timeout)."""
        self._handle.cancel()
        return self._fired and self._task.uncancel() <= self._cancelling


class _Holding:
    """One bulkhead slot and how many calls share it."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0


def _is_backend_failure(error: BackendError) -> bool:
    """Does this error say the backend is unwell (as opposed to answering 'no')?"""
    return isinstance(
        error,
        BackendUnavailableError
        | BackendTimeoutError
        | BackendProtocolError
        | BackendRateLimitedError,
    ) and not isinstance(error, CircuitOpenError | BulkheadFullError)
