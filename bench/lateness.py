"""How late an emulator's delayed answers left during one load, from two readings of its stats."""

from __future__ import annotations

from typing import Any

__all__ = ["late_between"]


def late_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """How late one load's delayed answers left past their due time, from an emulator's
    ``/_sandbox/stats`` read before and after it: how many, and the smallest bucket bound
    (``late_le_ms``, in ms, ``+Inf`` beyond the last) holding half of them, 99 % and all.
    None when the emulator keeps no such buckets (an older sandbox)."""
    first, last = before.get("late_le_ms"), after.get("late_le_ms")
    if not first or not last:
        return None
    counts = {bound: n - first.get(bound, 0) for bound, n in last.items()}  # ascending bounds
    total = counts.get("+Inf", 0)
    if not total:
        return {"answers": 0}

    def within(share: float) -> str:
        return next(bound for bound, n in counts.items() if n >= share * total)

    return {
        "answers": total,
        "p50_le_ms": within(0.5),
        "p99_le_ms": within(0.99),
        "max_le_ms": within(1.0),
    }
