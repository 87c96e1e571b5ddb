"""When a ``latency`` fault's answer leaves, for every emulator, and how well that was kept.

A delayed request is answered ``delay`` after its arrival, as a slow backend's own processing
takes that time. Its answer is worked out during the delay, ``WORK_LEAD`` (or half the delay,
when shorter) before it is due, not on arrival: an emulator works on one thread, and work done
on arrival held back the arrival of every request that came in meanwhile (a quote's five ION
bulk requests, sent 0.15 ms apart, were taken in up to 3 ms after they were sent under a bench
load), so their answers left late against the time they were sent, the backend slower than
asked. Worked out meanwhile, answers woken together no longer queue behind each other's work
when their time is up (held until due, they left 2-7 ms late under a bench load before that).

The wait itself is timed by a thread, not by the event loop's timers: uvloop (libuv) keeps
time in whole milliseconds from the start of a turn of its loop, so an answer due at a given
instant left up to a millisecond and a half after it (1.5 ms for most of a quote's answers,
measured against the emulator's own clock). The thread sleeps until the earliest due time and
wakes the loop then; an idle loop takes the wake-up within about a tenth of a millisecond.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import threading
import time
from typing import Any

__all__ = ["LATE_BOUNDS_MS", "WORK_LEAD", "DueTimes"]

WORK_LEAD = 0.05
"""Seconds before its due time that a delayed answer is worked out: far more than one answer's
work, so that a burst's answers are all ready when due."""


LATE_BOUNDS_MS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""Upper bounds of the buckets answers are counted in by how late they left past their due
time (``late_le_ms``): a load's own figures are the difference of two readings."""


class DueTimes:
    """Holds delayed answers until they are due, counting them and how late they left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # stats are read from the control thread too
        self.max_late_ms = 0.0
        """The most any of them left after its due time."""
        self._late = [0] * (len(LATE_BOUNDS_MS) + 1)
        """Answers held back by a ``latency`` fault, per bucket of how late they left
        (``LATE_BOUNDS_MS``, then any later)."""

    @staticmethod
    async def until_work(arrived: float, due: float) -> None:
        """Wait until a request that arrived at ``arrived`` and is due at ``due`` (both
        ``time.monotonic``) is to be worked out: ``WORK_LEAD`` before it is due, or halfway
        through its delay when that is shorter."""
        work_at = max(due - WORK_LEAD, arrived + (due - arrived) / 2)
        wait = work_at - time.monotonic()
        # The loop's own timer: when the work starts within a millisecond does not matter.
        await asyncio.sleep(max(0.0, wait))

    async def hold_until(self, due: float) -> None:
        """Wait until ``due`` (``time.monotonic``), then count the answer as sent."""
        if due > time.monotonic():
            loop = asyncio.get_running_loop()
            woken: asyncio.Future[None] = loop.create_future()
            _ALARMS.wake_at(due, loop, woken)
            await woken
        late_ms = (time.monotonic() - due) * 1000
        bucket = bisect.bisect_left(LATE_BOUNDS_MS, late_ms)
        with self._lock:
            self.max_late_ms = max(self.max_late_ms, late_ms)
            self._late[bucket] += 1

    def stats(self) -> dict[str, Any]:
        """``delayed_total``, ``max_late_ms``, and ``late_le_ms``: how many left at most so many
        milliseconds past due, for each of ``LATE_BOUNDS_MS`` and ``+Inf`` (cumulative, as a
        Prometheus histogram's buckets)."""
        with self._lock:
            cumulative = list(itertools.accumulate(self._late))
            return {
                "delayed_total": cumulative[-1],
                "max_late_ms": round(self.max_late_ms, 3),
                "late_le_ms": {
                    **{f"{b:g}": n for b, n in zip(LATE_BOUNDS_MS, cumulative, strict=False)},
                    "+Inf": cumulative[-1],
                },
            }


class _Alarms:
    """One daemon thread that resolves futures at their due times, for every loop."""

    def __init__(self) -> None:
        self._due = threading.Condition()
        self._heap: list[tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._order = itertools.count()  # equal due times wake in the order they were set
        self._thread: threading.Thread | None = None

    def wake_at(
        self, due: float, loop: asyncio.AbstractEventLoop, woken: asyncio.Future[None]
    ) -> None:
        with self._due:
            heapq.heappush(self._heap, (due, next(self._order), loop, woken))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="due-times", daemon=True)
                self._thread.start()
            self._due.notify()

    def _run(self) -> None:
        with self._due:
            while True:
                if not self._heap:
                    self._due.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._due.wait(wait)  # or sooner, when an earlier one is set
                    continue
                _, _, loop, woken = heapq.heappop(self._heap)
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                    loop.call_soon_threadsafe(_release, woken)


def _release(woken: asyncio.Future[None]) -> None:
    if not woken.done():  # not cancelled meanwhile
        woken.set_result(None)


_ALARMS = _Alarms()
