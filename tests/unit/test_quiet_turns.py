"""A batch goes once reads stop coming: a few turns of the loop with none queued."""

from __future__ import annotations

import asyncio

from system_apis.quiet_turns import QUIET_TURNS, QuietTurns


async def _turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_batch_goes_after_quiet_turns_not_while_reads_keep_coming() -> None:
    quiet = QuietTurns()
    went: list[int] = []
    quiet.queue()
    quiet.watch(lambda: bool(went), lambda: went.append(quiet.queued), window=60.0)

    for _ in range(5):  # a read on each of five turns: the batch waits for them
        await _turns(1)
        quiet.queue()
    assert went == []

    await _turns(QUIET_TURNS + 2)
    assert went == [6]  # every read queued before it went


async def test_a_stream_of_reads_holds_a_batch_two_windows_at_most() -> None:
    quiet = QuietTurns()
    went: list[float] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet.watch(lambda: bool(went), lambda: went.append(loop.time()), window=0.005)

    while not went:
        quiet.queue()  # a read on every turn: never quiet
        await asyncio.sleep(0)
        assert loop.time() - started < 5, "the batch never went"
    assert went[0] - started >= 0.01


async def test_a_batch_that_went_already_is_looked_at_no_more() -> None:
    quiet = QuietTurns()
    calls: list[str] = []
    quiet.watch(lambda: True, lambda: calls.append("go"), window=60.0)

    await _turns(QUIET_TURNS + 3)

    assert calls == []
