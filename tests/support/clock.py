"""A clock the test moves by hand, for code that takes ``clock: Callable[[], float]``.

Breakers, cache ages, the JWKS cooldown and rate limits read the time through a clock they
are handed; tests hand them this one and ``advance`` it instead of sleeping, so what happens
"after 200 ms" does not depend on how busy the machine is.
"""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        """Seconds; the default is a plausible wall-clock instant, so it also serves as one."""

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
