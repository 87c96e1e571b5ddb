"""A circuit breaker: closed → open after failures → half-open probe → closed again.

It opens on ``consecutive_failures`` in a row, or when at least ``min_calls`` of the last
``window`` outcomes are known and ``failure_ratio`` of them failed. While open it refuses at
once (the cache above answers in milliseconds); after ``open_seconds`` it lets
``half_open_probes`` calls through: a success closes it, a failure opens it again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec

__all__ = ["BreakerPolicy", "BreakerSnapshot", "BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerPolicy:
    consecutive_failures: int = 5
    failure_ratio: float = 0.5
    window: int = 20
    min_calls: int = 10
    open_seconds: float = 5.0
    half_open_probes: int = 1


class BreakerSnapshot(msgspec.Struct, kw_only=True):
    state: BreakerState
    consecutive_failures: int
    recent_calls: int
    recent_failures: int
    opened: int
    """How many times it has opened since start."""
    rejected: int
    """Calls refused while open (or while the half-open probe was busy)."""
    retry_in_seconds: float | None = None


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy, *, clock: Callable[[], float] = time.monotonic):
        self._policy = policy
        self._clock = clock
        self._state: BreakerState = "closed"
        self._opened_at = 0.0
        self._consecutive = 0
        self._outcomes: deque[bool] = deque(maxlen=policy.window)
        self._probes = 0
        self._opened = 0
        self._rejected = 0

    @property
    def state(self) -> BreakerState:
        if self._state == "open" and self._clock() - self._opened_at >= self._policy.open_seconds:
            return "half_open"
        return self._state

    def retry_in(self) -> float:
        return max(0.0, self._opened_at + self._policy.open_seconds - self._clock())

    def try_acquire(self) -> bool:
        """May a call go through now? Every True must be followed by exactly one of
        ``record_success``, ``record_failure`` or ``record_neutral``."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open":
            if self._state == "open":
                self._state = "half_open"
                self._probes = 0
            if self._probes < self._policy.half_open_probes:
                self._probes += 1
                return True
        self._rejected += 1
        return False

    def record_success(self) -> None:
        if self._state == "half_open":
            self._close()
            return
        self._consecutive = 0
        self._outcomes.append(True)

    def record_failure(self) -> None:
        if self._state == "half_open":
            self._open()
            return
        if self._state == "open":
            return  # a call started before the breaker opened, ending now
        self._consecutive += 1
        self._outcomes.append(False)
        if self._consecutive >= self._policy.consecutive_failures or self._ratio_exceeded():
            self._open()

    def record_neutral(self) -> None:
        """The call ended without telling anything about the backend (cancelled by its caller)."""
        if self._state == "half_open":
            self._probes = max(0, self._probes - 1)

    def _ratio_exceeded(self) -> bool:
        if len(self._outcomes) < self._policy.min_calls:
            return False
        failures = sum(1 for ok in self._outcomes if not ok)
        return failures / len(self._outcomes) >= self._policy.failure_ratio

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        self._opened += 1
        self._probes = 0

    def _close(self) -> None:
        self._state = "closed"
        self._consecutive = 0
        self._outcomes.clear()
        self._probes = 0

    def snapshot(self) -> BreakerSnapshot:
        state = self.state
        return BreakerSnapshot(
            state=state,
            consecutive_failures=self._consecutive,
            recent_calls=len(self._outcomes),
            recent_failures=sum(1 for ok in self._outcomes if not ok),
            opened=self._opened,
            rejected=self._rejected,
            retry_in_seconds=round(self.retry_in(), 3) if state == "open" else None,
        )
