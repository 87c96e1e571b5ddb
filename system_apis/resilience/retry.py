"""What a read may be retried on, how long to wait, and how many retries a backend can afford.

Retried: connection failures, 429 (waiting at least its ``Retry-After``) and 502/503/504.
Not retried: business answers (not found, rejected), auth, 500, malformed bodies, and our own
timeouts: the deadline bounds the call, so a second try would only eat what is left of it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from system_apis.errors import (
    BackendError,
    BackendRateLimitedError,
    BackendTimeoutError,
    BackendUnavailableError,
)

__all__ = ["RetryBudget", "RetryPolicy", "retry_delay", "should_retry"]

_RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    """Attempts per call, the first included."""
    base_delay: float = 0.05
    max_delay: float = 1.0
    backoff: bool = True
    """False: retry at once, ignoring ``Retry-After`` too (tests switch waiting off with it)."""
    budget_ratio: float = 0.2
    """Each call earns this fraction of a retry: a failing backend sees at most ~1.2x calls."""
    budget_burst: float = 3.0
    """Retries that may be spent before any call earned them (and the most that can be saved)."""

    @classmethod
    def without_backoff(cls, **overrides: float | int) -> RetryPolicy:
        return cls(backoff=False, **overrides)  # type: ignore[arg-type]

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(max_attempts=1)


def should_retry(error: BackendError) -> bool:
    if not error.retryable:
        return False
    if isinstance(error, BackendRateLimitedError):
        return True
    if isinstance(error, BackendUnavailableError):
        # No status: the connection failed (refused, reset) before an HTTP answer.
        return error.status_code is None or error.status_code in _RETRY_STATUSES
    if isinstance(error, BackendTimeoutError):
        return error.status_code in _RETRY_STATUSES  # a gateway's 504, not our own clock
    return False


def retry_delay(policy: RetryPolicy, retry_number: int, error: BackendError) -> float:
    """Full-jitter exponential backoff, never shorter than the backend's ``Retry-After``."""
    if not policy.backoff:
        return 0.0
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (retry_number - 1)))
    delay = random.uniform(0.0, ceiling)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return delay


class RetryBudget:
    """A token bucket: every call deposits ``ratio`` tokens, every retry withdraws one.

    Over N calls at most ``burst + ratio * N`` retries happen, however the calls fail.
    """

    def __init__(self, *, ratio: float, burst: float) -> None:
        self._ratio = ratio
        self._burst = burst
        self._tokens = burst
        self.exhausted = 0

    def deposit(self) -> None:
        self._tokens = min(self._burst, self._tokens + self._ratio)

    def try_withdraw(self) -> bool:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.exhausted += 1
        return False

    @property
    def tokens(self) -> float:
        return self._tokens
