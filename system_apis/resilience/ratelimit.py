"""A client-side request rate: at most ``limit`` requests sent in any ``window`` seconds.

Some gateways refuse requests beyond a rate rather than beyond a number in flight (the ION API
gateway's spike arrest answers 429 over its requests per second). Honouring the rate here
keeps those refusals, and the retries they cost, off the read path.

The algorithm is the gateway's own: a sliding window holding the send times of the last
``limit`` requests. A caller *reserves* its send time at once: now, or when the oldest of the
last ``limit`` reservations leaves the window. Reservations are handed out in order, so the
waiting is first come, first served, and every caller knows at once when it may send. One
that would have to wait past its deadline is refused straight away (``RateWaitTooLong``)
instead of sleeping into a timeout: its caller answers degraded now, and the reservation it
did not take stays free for a caller that still has time.

Per process, no I/O: a limit shared by several worker processes is split between them by the
composition root (each takes ``rate / workers``), which keeps the hot path a few deque
operations rather than a Redis round trip per ERP call.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable

__all__ = ["RateWaitTooLong", "RequestRate"]


class RateWaitTooLong(TimeoutError):
    """The next free send time falls after the caller's deadline."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"next request slot in {wait_s:.3f} s, after the deadline")
        self.wait_s = wait_s


class RequestRate:
    """At most ``limit`` sends in any ``window`` seconds, in this process.

    ``clock``/``sleep``: the time the deadlines are measured on (``time.monotonic`` in
    production, as ``CallContext.deadline`` is) and how to wait on it; tests pass manual ones.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("a request rate allows at least one request per window")
        self.limit = limit
        self.window = window
        self.refused = 0
        """Reservations refused because they would have ended after the caller's deadline."""
        self.waited = 0
        """Reservations that had to wait for the window to move."""
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque(maxlen=limit)
        """The last ``limit`` send times handed out."""
        self._went: collections.deque[float] = collections.deque(maxlen=limit)
        """The last ``limit`` times callers actually went."""

    @classmethod
    def per_second(
        cls,
        rate: float,
        *,
        share_of: int = 1,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> RequestRate:
        """This process's share of ``rate`` requests per second split over ``share_of``
        processes, sent evenly spaced: one request every ``(1 + margin) / share`` seconds.

        Evenly spaced because the ION API gateway's spike arrest smooths its rate (Apigee's
        Spike Arrest: "100ps" admits one request per 10 ms, not any 100 within a second), and
        because bursts sent a second apart can arrive closer together behind a busy network or
        connection pool. ``margin`` keeps the spacing a little wider than the rate for the same
        reason."""
        per_process = rate / max(1, share_of)
        return cls(1, window=(1.0 + margin) / per_process, clock=clock, sleep=sleep)

    def reserve(self, deadline: float | None) -> float:
        """Reserve the next send time and return how long to wait for it (0: send now).

        Raises ``RateWaitTooLong`` (nothing reserved) when that time is after ``deadline``.
        """
        now = self._clock()
        at = self._free_at(self._sent, now)
        if deadline is not None and at > deadline:
            self.refused += 1
            raise RateWaitTooLong(at - now)
        # The deque keeps the last ``limit`` reservations: appending drops the oldest.
        self._sent.append(at)
        return at - now

    async def acquire(self, deadline: float | None) -> None:
        """Wait for this caller's send time; ``RateWaitTooLong`` at once if it is too late.

        The window also holds over the times callers actually go: a caller woken late (the
        process was busy) would otherwise go out together with those whose times passed
        meanwhile, a burst the ERP's gateway counts as such.
        """
        wait = self.reserve(deadline)
        if wait > 0:
            self.waited += 1
            await self._sleep(wait)
        now = self._clock()
        while (at := self._free_at(self._went, now)) > now:
            if deadline is not None and at > deadline:
                self.refused += 1
                raise RateWaitTooLong(at - now)
            await self._sleep(at - now)
            now = self._clock()
        self._went.append(now)

    def _free_at(self, times: collections.deque[float], now: float) -> float:
        """The first moment from ``now`` at which one more send keeps ``times`` (the last
        ``limit`` sends) within the window."""
        return max(now, times[0] + self.window) if len(times) == self.limit else now
