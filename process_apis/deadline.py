"""A request's time budget, carried into every backend call of its fan-out."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Deadline"]


@dataclass(frozen=True)
class Deadline:
    """An absolute ``time.monotonic()`` instant after which no backend work is useful."""

    at: float
    budget_ms: int

    @classmethod
    def within(
        cls, requested_ms: int | None, *, default_ms: int, min_ms: int, max_ms: int
    ) -> Deadline:
        """The caller's hint (``X-Deadline-Ms``) clamped to the configured range."""
        budget = default_ms if requested_ms is None else max(min_ms, min(requested_ms, max_ms))
        return cls(at=time.monotonic() + budget / 1000, budget_ms=budget)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0
