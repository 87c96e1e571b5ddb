"""A datetime clock tests move by hand: ``now()`` and ``sleep()`` (which advances it and yields);
for code that reads instants (the store, the exception queue), beside ``clock.ManualClock``
for code that reads seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock"]


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)
