"""The client-side request rate: shares that add up to the gateway's rate, and deadlines."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from system_apis.resilience import RateWaitTooLong, RequestRate
from tests.support.clock import ManualClock


def _most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_two_workers_shares_never_send_more_than_the_rate_in_any_second() -> None:
    clock = ManualClock()
    workers = [RequestRate.per_second(10, share_of=2, clock=clock) for _ in range(2)]
    sent: list[float] = []
    for step in range(300):  # callers keep coming, faster than the rate
        for worker in workers:
            sent.append(clock() + worker.reserve(None))
        clock.advance(0.013 * (step % 3))

    assert _most_in_any_window(sent, 1.0) <= 10
    # Evenly spaced, as the ION API gateway's spike arrest expects: no two sends of one
    # worker closer than its share's interval (1.05 / 5 s).
    for worker in workers:
        assert (worker.limit, worker.window) == (1, pytest.approx(1.05 / 5))
    mine = sorted(sent[0::2])
    assert min(b - a for a, b in itertools.pairwise(mine)) >= 1.05 / 5 - 1e-9


def test_a_rate_below_one_per_worker_spaces_single_requests() -> None:
    clock = ManualClock()
    rate = RequestRate.per_second(1, share_of=4, clock=clock)
    first, second = clock() + rate.reserve(None), clock() + rate.reserve(None)

    assert second - first >= 4.0


def test_a_caller_that_would_wait_past_its_deadline_is_refused_at_once() -> None:
    clock = ManualClock()
    rate = RequestRate(2, window=1.0, clock=clock)
    assert (rate.reserve(None), rate.reserve(None)) == (0.0, 0.0)

    with pytest.raises(RateWaitTooLong):
        rate.reserve(deadline=clock() + 0.5)  # the next slot is 1 s away

    # The refused caller took nothing: the next one with time enough gets that slot.
    assert rate.reserve(deadline=clock() + 2.0) == 1.0
    assert rate.refused == 1


async def test_a_caller_with_time_enough_waits_for_its_slot() -> None:
    clock = ManualClock()
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.advance(seconds)

    rate = RequestRate(1, window=1.0, clock=clock, sleep=sleep)
    await rate.acquire(None)
    await rate.acquire(clock() + 5)

    assert waited == [1.0]


async def test_callers_woken_late_still_go_a_window_apart() -> None:
    # The process was busy: every sleep overran by 0.5 s, so the callers' reserved times
    # had all passed when they woke. They must not go out together.
    clock = ManualClock()
    went: list[float] = []

    async def late_sleep(seconds: float) -> None:
        clock.advance(seconds + 0.5)

    rate = RequestRate(1, window=0.1, clock=clock, sleep=late_sleep)

    async def caller() -> None:
        await rate.acquire(None)
        went.append(clock())

    await asyncio.gather(*(caller() for _ in range(5)))

    assert len(went) == 5
    assert min(b - a for a, b in itertools.pairwise(sorted(went))) >= 0.1 - 1e-9


async def test_a_caller_pushed_past_its_deadline_by_a_late_neighbour_is_refused() -> None:
    clock = ManualClock()
    rate = RequestRate(1, window=1.0, clock=clock, sleep=lambda s: asyncio.sleep(0))
    await rate.acquire(None)  # goes now
    clock.advance(0.2)
    rate._sent.clear()  # its reservation forgotten: only the actual send time remains

    with pytest.raises(RateWaitTooLong):
        await rate.acquire(clock() + 0.5)  # the gap to the last send is 0.8 s
    assert rate.refused == 1
