"""A load's own lateness figures come from two readings of an emulator's cumulative buckets."""

from __future__ import annotations

import time

from bench.lateness import late_between
from sandbox.latency import DueTimes


async def test_a_load_is_measured_by_the_difference_of_two_readings() -> None:
    due_times = DueTimes()
    await due_times.hold_until(time.monotonic() - 0.5)  # an earlier load's very late answer
    before = due_times.stats()
    now = time.monotonic()
    for _ in range(99):
        await due_times.hold_until(now - 0.040)  # 40 ms past due: beyond the 32 ms bound
    await due_times.hold_until(now - 0.5)

    late = late_between(before, due_times.stats())

    assert late == {"answers": 100, "p50_le_ms": "+Inf", "p99_le_ms": "+Inf", "max_le_ms": "+Inf"}


def test_a_reading_after_a_load_without_delayed_answers_says_so() -> None:
    reading = DueTimes().stats()
    assert late_between(reading, reading) == {"answers": 0}


def test_the_bucket_holding_each_share_is_named() -> None:
    bounds = ["0.25", "0.5", "1", "2", "4", "8", "16", "32", "+Inf"]
    before = {"late_le_ms": dict.fromkeys(bounds, 10)}
    # This load: 60 within 0.25 ms, 39 more within 2 ms, the last one within 8 ms.
    added = [60, 60, 60, 99, 99, 100, 100, 100, 100]
    after = {"late_le_ms": {b: 10 + n for b, n in zip(bounds, added, strict=True)}}

    assert late_between(before, after) == {
        "answers": 100,
        "p50_le_ms": "0.25",
        "p99_le_ms": "2",
        "max_le_ms": "8",
    }


def test_an_emulator_without_buckets_gives_no_figures() -> None:
    assert late_between({"delayed_total": 3}, {"delayed_total": 5}) is None
