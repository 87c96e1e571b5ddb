"""A clock the test moves by hand.

Breakers, cache ages, the JWKS cooldown and rate-limit windows read the time through a
``clock: Callable[[], float]`` they are handed; the process layer's deadlines through a
``system_apis.resilience.Clock``. Tests hand them this one and ``advance`` it instead of
sleeping, so what happens "after 200 ms" or "at the deadline" does not depend on how busy the
machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

__all__ = ["ManualClock"]


class ManualClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._alarms: list[tuple[float, asyncio.Future[None]]] = []
        self.waiting = asyncio.Event()
        """Set while something waits in ``wait_until`` for this clock to move."""

    def __call__(self) -> float:
        return self._now

    def now(self) -> float:
        """Seconds; the default start is a plausible wall-clock instant, so it serves as one."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time on; waits whose instant has come end (when their task next runs)."""
        self._now += seconds
        due = [alarm for at, alarm in self._alarms if at <= self._now]
        self._alarms = [(at, alarm) for at, alarm in self._alarms if at > self._now]
        for alarm in due:
            if not alarm.done():
                alarm.set_result(None)
        if not self._alarms:
            self.waiting.clear()

    async def wait_until(
        self, tasks: Collection[asyncio.Future[Any]], at: float
    ) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
        """``asyncio.wait`` on this clock: until all ``tasks`` are done or it reaches ``at``."""
        if at > self._now:
            alarm: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._alarms.append((at, alarm))
            self.waiting.set()
            everything = asyncio.ensure_future(asyncio.wait(tasks))
            try:
                await asyncio.wait({alarm, everything}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                everything.cancel()
                alarm.cancel()
                self._alarms = [(t, a) for t, a in self._alarms if a is not alarm]
                if not self._alarms:
                    self.waiting.clear()
        done = {task for task in tasks if task.done()}
        return done, {task for task in tasks if not task.done()}
