"""Waiting for something another task or thread makes happen, without guessing how long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["eventually"]


async def eventually(check: Callable[[], bool], within: float = 30.0) -> bool:
    """Poll ``check`` every 10 ms until it holds; ``within`` only stops a broken build hanging."""
    until = time.monotonic() + within
    while time.monotonic() < until:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()
