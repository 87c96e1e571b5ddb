"""Turning a call's absolute deadline into per-request timeouts."""

from __future__ import annotations

import time

from system_apis.contract import CallContext
from system_apis.errors import BackendTimeoutError

__all__ = ["remaining_seconds"]

# A request with less than this left would only time out in flight; fail it before sending.
_MIN_USEFUL_SECONDS = 0.005


def remaining_seconds(ctx: CallContext, *, vendor: str, cap: float) -> float:
    """Seconds this call may still take: the time to ``ctx.deadline``, at most ``cap``.

    Raises ``BackendTimeoutError`` when the deadline has already (nearly) passed, so that an
    adapter never starts a request it cannot finish in time.
    """
    if ctx.deadline is None:
        return cap
    left = ctx.deadline - time.monotonic()
    if left < _MIN_USEFUL_SECONDS:
        raise BackendTimeoutError("deadline reached before the call was made", vendor=vendor)
    return min(left, cap)
