"""Delayed answers are held until their due time, never released before it, in due order."""

from __future__ import annotations

import asyncio
import time

from sandbox.latency import LATE_BOUNDS_MS, WORK_LEAD, DueTimes


async def test_holds_release_in_due_order_and_never_early() -> None:
    due_times = DueTimes()
    now = time.monotonic()
    dues = [now + 0.06, now + 0.02, now + 0.04, now + 0.02]
    released: list[tuple[int, float]] = []

    async def hold(n: int) -> None:
        await due_times.hold_until(dues[n])
        released.append((n, time.monotonic()))

    await asyncio.gather(*(hold(n) for n in range(len(dues))))

    assert [n for n, _ in released] == [1, 3, 2, 0]  # equal due times keep the order they came
    assert all(at >= dues[n] for n, at in released)
    stats = due_times.stats()
    assert stats["delayed_total"] == 4
    assert stats["max_late_ms"] >= 0


async def test_a_cancelled_hold_does_not_wake_later_ones_early_or_count() -> None:
    due_times = DueTimes()
    now = time.monotonic()
    cancelled = asyncio.ensure_future(due_times.hold_until(now + 0.02))
    kept = asyncio.ensure_future(due_times.hold_until(now + 0.05))
    await asyncio.sleep(0)
    cancelled.cancel()

    await kept

    assert time.monotonic() >= now + 0.05
    assert cancelled.cancelled()
    assert due_times.stats()["delayed_total"] == 1


async def test_a_due_time_already_passed_is_not_waited_for() -> None:
    due_times = DueTimes()
    past = time.monotonic() - 0.5

    await due_times.hold_until(past)

    stats = due_times.stats()
    assert stats["delayed_total"] == 1
    assert stats["max_late_ms"] >= 500


async def test_answers_are_counted_by_how_late_they_left() -> None:
    due_times = DueTimes()
    for seconds_past_due in (0.5, 0.010):  # later than every bound; at least 10 ms late
        await due_times.hold_until(time.monotonic() - seconds_past_due)

    late = due_times.stats()["late_le_ms"]

    assert list(late) == [f"{b:g}" for b in LATE_BOUNDS_MS] + ["+Inf"]
    assert late["+Inf"] == 2
    assert late["32"] <= 1  # the 500 ms one is beyond the last bound
    assert late["8"] == 0  # neither left within 8 ms of its due time
    counts = list(late.values())
    assert counts == sorted(counts)  # cumulative, as a Prometheus histogram's buckets


async def test_the_work_waits_until_shortly_before_the_due_time() -> None:
    arrived = time.monotonic()
    long_due = arrived + WORK_LEAD + 0.04  # worked out WORK_LEAD before it is due
    short_due = arrived + 0.04  # shorter than WORK_LEAD: halfway through

    await DueTimes.until_work(arrived, short_due)
    assert time.monotonic() >= arrived + 0.02
    await DueTimes.until_work(arrived, long_due)
    assert time.monotonic() >= arrived + 0.04
