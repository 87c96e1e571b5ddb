"""When a ``latency`` fault's answer leaves, for every emulator, and how well that was kept.

A delayed request is worked out when it arrives and answered ``delay`` after its arrival, as a
slow backend's own processing takes that time. Woken all at once to be worked out one after
another on an emulator's one thread, the last of several delayed together was late by the
others' work (2-7 ms under a bench load), and the backend slower than asked.
"""

from __future__ import annotations

import asyncio
import threading
import time

__all__ = ["DueTimes"]


class DueTimes:
    """Holds delayed answers until they are due, counting them and how late any left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # stats are read from the control thread too
        self.delayed_total = 0
        """Answers held back by a ``latency`` fault."""
        self.max_late_ms = 0.0
        """The most any of them left after its due time."""

    @staticmethod
    async def arrivals_first() -> None:
        """One turn of the loop before a delayed request's work: requests that came in beside
        it have their arrival taken first (their due times are not pushed back by its work)."""
        await asyncio.sleep(0)

    async def hold_until(self, due: float) -> None:
        """Wait until ``due`` (``time.monotonic``), then count the answer as sent."""
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        late_ms = (time.monotonic() - due) * 1000
        with self._lock:
            self.delayed_total += 1
            self.max_late_ms = max(self.max_late_ms, late_ms)

    def stats(self) -> dict[str, float]:
        with self._lock:
            return {"delayed_total": self.delayed_total, "max_late_ms": round(self.max_late_ms, 3)}
