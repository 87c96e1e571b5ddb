"""When a batch of reads is complete: once reads stop coming, not when a timer says.

The reads one request sets off start over a few turns of the event loop (each task a turn
after the one that started it), so a batch that went at once would hold only the first of
them, and one that waited for a timer (the ``batch_window``) held an idle gateway's request
1-2 ms with nothing to do before its first ERP request. ``QuietTurns`` looks once a turn from
a batch's first read and lets it go after ``QUIET_TURNS`` turns in a row with no read queued:
a turn of an idle loop takes microseconds. A busy loop's turns keep queueing reads (other
requests'), so ``until`` caps the wait, and the batches stay as few as a window made them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["QUIET_TURNS", "QuietTurns"]

QUIET_TURNS = 3
"""Turns in a row with no read queued after which a batch goes. One alone sent a 10-line
quote's reads in the same five ION bulks (measured, in process); three leave a margin."""


class QuietTurns:
    """Counts the reads queued into a client's batches; calls a batch's ``go`` once they stop."""

    def __init__(self) -> None:
        self.queued = 0
        """Reads queued so far, by every batch of the client."""

    def queue(self) -> None:
        """A read was queued into one of the batches."""
        self.queued += 1

    def watch(self, gone: Callable[[], bool], go: Callable[[], None], window: float) -> None:
        """From now on, look once a turn: call ``go`` after ``QUIET_TURNS`` turns in a row with
        no read queued, or once two ``window`` seconds have passed; stop looking as soon as
        ``gone`` says the batch went already (it filled up)."""
        loop = asyncio.get_running_loop()
        loop.call_soon(self._look, gone, go, -1, 0, loop.time() + 2 * window)

    def _look(
        self, gone: Callable[[], bool], go: Callable[[], None], seen: int, quiet: int, until: float
    ) -> None:
        if gone():
            return
        loop = asyncio.get_running_loop()
        quiet = quiet + 1 if self.queued == seen else 0
        if quiet < QUIET_TURNS and loop.time() < until:
            loop.call_soon(self._look, gone, go, self.queued, quiet, until)
            return
        go()
