"""Identical requests that arrive while an answer is being built wait for that one build."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import msgspec
import pytest

from process_apis.fanout import Capability
from process_apis.memo import Remembered, ResultMemo
from process_apis.models import Provenance
from system_apis.resilience import Deadline
from tests.support.clock import ManualClock


class Ask(msgspec.Struct, frozen=True):
    sku: str


class Answer(msgspec.Struct, frozen=True):
    sku: str
    build: int
    section: Provenance


class Gated(Capability[Ask, Answer], name="gated"):
    """Builds an answer only when the test opens the gate, counting each build."""

    def __init__(self, status: str = "complete") -> None:
        self.builds = 0
        self.gate = asyncio.Event()
        self.status = status

    async def __call__(
        self, request: Ask, deadline: Deadline, correlation_id: str | None = None
    ) -> Answer:
        self.builds += 1
        build = self.builds
        await self.gate.wait()
        if request.sku == "BOOM":
            raise ValueError("the ERP said no")
        return Answer(request.sku, build, Provenance(status=self.status))  # type: ignore[arg-type]

    def sections(self, result: Answer) -> Iterable[Provenance]:
        return [result.section]


def _deadline(clock: ManualClock, ms: int) -> Deadline:
    return Deadline(at=clock.now() + ms / 1000, budget_ms=ms, clock=clock)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_identical_requests_in_flight_share_one_build() -> None:
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    calls = [
        asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500))) for _ in range(20)
    ]
    other = asyncio.create_task(remembered(Ask("SKU-2"), _deadline(clock, 2500)))
    await _settle()
    assert capability.builds == 2  # one per distinct request, not one per caller
    capability.gate.set()
    answers = await asyncio.gather(*calls)
    assert {a.build for a in answers} == {answers[0].build}
    assert (await other).sku == "SKU-2"


async def test_a_caller_with_an_earlier_deadline_builds_its_own() -> None:
    # Joining a build bound by a later deadline could keep this caller past its own.
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    first = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500)))
    await _settle()
    hurried = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 500)))
    await _settle()
    assert capability.builds == 2
    capability.gate.set()
    assert {(await first).build, (await hurried).build} == {1, 2}


async def test_a_caller_leaving_does_not_cancel_the_build_others_wait_for() -> None:
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    leader = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500)))
    await _settle()
    follower = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500)))
    await _settle()
    leader.cancel()
    await _settle()
    capability.gate.set()
    assert (await follower).build == 1
    assert capability.builds == 1


async def test_a_failed_build_fails_every_caller_waiting_and_is_not_kept() -> None:
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    calls = [asyncio.create_task(remembered(Ask("BOOM"), _deadline(clock, 2500))) for _ in range(3)]
    await _settle()
    capability.gate.set()
    for call in calls:
        with pytest.raises(ValueError, match="the ERP said no"):
            await call
    assert capability.builds == 1
    with pytest.raises(ValueError, match="the ERP said no"):
        await remembered(Ask("BOOM"), _deadline(clock, 2500))
    assert capability.builds == 2  # nothing remembered, nothing left building


async def test_a_clear_during_a_build_is_not_undone_by_it() -> None:
    # A cache invalidation while an answer is being built: that answer (possibly built from
    # the invalidated data) is neither remembered nor shared with requests arriving after it.
    clock = ManualClock()
    capability = Gated()
    memo = ResultMemo(ttl_s=2)
    remembered = Remembered(capability, memo)
    before = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500)))
    await _settle()
    memo.clear()
    after = asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500)))
    await _settle()
    assert capability.builds == 2
    capability.gate.set()
    assert (await before).build == 1
    assert (await after).build == 2
    assert (await remembered(Ask("SKU-1"), _deadline(clock, 2500))).build == 2


async def test_with_the_memo_off_every_request_builds() -> None:
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=0))
    calls = [
        asyncio.create_task(remembered(Ask("SKU-1"), _deadline(clock, 2500))) for _ in range(3)
    ]
    await _settle()
    assert capability.builds == 3
    capability.gate.set()
    await asyncio.gather(*calls)


async def test_with_the_memo_off_builds_in_flight_may_still_be_shared() -> None:
    """The cache off: nothing is remembered, yet identical requests at once share one build."""
    clock = ManualClock()
    capability = Gated()
    memo = ResultMemo(ttl_s=0, share_builds=True)
    remembered = Remembered(capability, memo)
    calls = [
        asyncio.create_task(remembered.answer(Ask("SKU-1"), _deadline(clock, 2500)))
        for _ in range(3)
    ]
    await _settle()
    assert capability.builds == 1
    capability.gate.set()
    answers = await asyncio.gather(*calls)
    again = await remembered.answer(Ask("SKU-1"), _deadline(clock, 2500))

    assert {a.build for a, _ in answers} == {1}
    assert [taken for _, taken in answers] == [False, False, False]  # no bytes kept either
    assert again[0].build == 2  # built anew: nothing was kept
    assert memo.get(ResultMemo.key("gated", Ask("SKU-1"))) is None


async def test_an_answer_says_whether_the_memo_took_it_in_just_now() -> None:
    """Bytes of an answer may be kept only with the answer itself: built now, or by the build
    a caller waited for; never for one the memo held already (they would outlive it)."""
    clock = ManualClock()
    capability = Gated()
    capability.gate.set()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    built = await remembered.answer(Ask("SKU-1"), _deadline(clock, 2500))
    held = await remembered.answer(Ask("SKU-1"), _deadline(clock, 2500))

    incomplete = Gated(status="partial")
    incomplete.gate.set()
    partial = await Remembered(incomplete, ResultMemo(ttl_s=2)).answer(
        Ask("SKU-1"), _deadline(clock, 2500)
    )
    off = await Remembered(capability, ResultMemo(ttl_s=0)).answer(
        Ask("SKU-1"), _deadline(clock, 2500)
    )

    assert (built[1], held[1], partial[1], off[1]) == (True, False, False, False)
    assert held[0] is built[0]


async def test_callers_waiting_for_a_build_may_keep_its_bytes_too() -> None:
    clock = ManualClock()
    capability = Gated()
    remembered = Remembered(capability, ResultMemo(ttl_s=2))
    calls = [
        asyncio.create_task(remembered.answer(Ask("SKU-1"), _deadline(clock, 2500)))
        for _ in range(3)
    ]
    await _settle()
    capability.gate.set()

    assert [taken for _, taken in await asyncio.gather(*calls)] == [True, True, True]
    assert capability.builds == 1
