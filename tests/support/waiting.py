"""Waiting for something another task or thread makes happen, without guessing how long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["eventually", "until"]


async def eventually(check: Callable[[], bool], within: float = 30.0) -> bool:
    """Poll ``check`` every 10 ms until it holds; ``within`` only stops a broken build hanging."""
    until = time.monotonic() + within
    while time.monotonic() < until:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


def until(check: Callable[[], bool], within: float = 30.0) -> bool:
    """``eventually`` for a test's own thread, while the app runs on another (a TestClient)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()
