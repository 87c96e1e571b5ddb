"""Deadlines: a request's time budget, and the guard that keeps every backend call inside it.

A ``Deadline`` is an instant on a ``Clock`` after which no backend work is useful. It reaches
the adapters as ``CallContext.deadline`` (the same instant), where ``remaining_seconds`` turns
it into each HTTP request's timeout and refuses to start a call that could not finish in time.
The process layer cuts its fan-out off at the deadline with ``Clock.wait_until``.

In production the clock is ``time.monotonic`` (``MONOTONIC``), and every ``CallContext``
deadline is an instant on it. Tests of the process layer hand in a clock they move by hand,
so "the deadline passed" is an event the test causes, not a race against a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from system_apis.contract import CallContext
from system_apis.errors import BackendTimeoutError

__all__ = ["MIN_USEFUL_SECONDS", "MONOTONIC", "Clock", "Deadline", "remaining_seconds"]

MIN_USEFUL_SECONDS = 0.005
"""A call with less than this left would only time out in flight: it is not started."""

Tasks = Collection[asyncio.Future[Any]]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock (only differences mean anything)."""
        ...

    async def wait_until(
        self, tasks: Tasks, at: float
    ) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
        """Like ``asyncio.wait``: (done, pending) once all are done or this clock reaches ``at``."""
        ...


class _Monotonic:
    """The event loop's own time: ``time.monotonic`` and ``asyncio.wait``."""

    def now(self) -> float:
        return time.monotonic()

    async def wait_until(
        self, tasks: Tasks, at: float
    ) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
        return await asyncio.wait(tasks, timeout=max(0.0, at - time.monotonic()))


MONOTONIC: Clock = _Monotonic()


@dataclass(frozen=True)
class Deadline:
    """An instant on ``clock`` after which no backend work is useful."""

    at: float
    budget_ms: int
    clock: Clock = field(default=MONOTONIC, compare=False, repr=False)

    @classmethod
    def within(
        cls,
        requested_ms: int | None,
        *,
        default_ms: int,
        min_ms: int,
        max_ms: int,
        clock: Clock = MONOTONIC,
    ) -> Deadline:
        """The caller's hint (``X-Deadline-Ms``) clamped to the configured range."""
        budget = default_ms if requested_ms is None else max(min_ms, min(requested_ms, max_ms))
        return cls(at=clock.now() + budget / 1000, budget_ms=budget, clock=clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock.now())


def remaining_seconds(
    ctx: CallContext, *, vendor: str, cap: float, now: Callable[[], float] = time.monotonic
) -> float:
    """Seconds this call may still take: the time to ``ctx.deadline``, at most ``cap``.

    Raises ``BackendTimeoutError`` when the deadline has already (nearly) passed, so that no
    adapter or guard ever starts a request it cannot finish in time.
    """
    if ctx.deadline is None:
        return cap
    left = ctx.deadline - now()
    if left < MIN_USEFUL_SECONDS:
        raise BackendTimeoutError("deadline reached before the call was made", vendor=vendor)
    return min(left, cap)
