"""The process layer on its own: capabilities over the in-memory ERP, no HTTP, time by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

import msgspec
import pytest

from process_apis import ProcessApi
from process_apis.memo import ResultMemo
from process_apis.money import FxRate, FxTable
from process_apis.routing import EntityRouter, Route
from process_apis.xref import CrossReference, normalize_salesforce_id
from system_apis.resilience import Deadline
from tests.support.clock import ManualClock
from tests.support.fake_erp import FakeErp, seeded_fake

T = TypeVar("T")

TODAY = date(2026, 11, 23)
ACCOUNT = normalize_salesforce_id("001000000000001", pointer="")
BUDGET_MS = 2500


@dataclass
class Process:
    """A ``ProcessApi`` over ``erp``, on ``clock``, with a fixed today."""

    api: ProcessApi
    erp: FakeErp
    clock: ManualClock

    def deadline(self, budget_ms: int = BUDGET_MS) -> Deadline:
        return Deadline.within(
            budget_ms, default_ms=BUDGET_MS, min_ms=1, max_ms=60_000, clock=self.clock
        )

    async def past_the_deadline(self, call: Awaitable[T], method: str) -> T:
        """Run ``call`` while the ERP's ``method`` hangs, and move the clock to its deadline."""
        gate = self.erp.gate(method)
        task = asyncio.ensure_future(call)
        await gate.reached.wait()
        assert self.clock.waiting.is_set()  # the fan-out waits for the clock, not the ERP
        self.clock.advance(BUDGET_MS / 1000 - 0.001)
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()  # a millisecond early: still waiting
        self.clock.advance(0.001)
        return await task

    def add_customer(self, customer_id: str, **fields: object) -> None:
        self.erp.customers[customer_id] = msgspec.structs.replace(
            self.erp.customers["C1"], customer_id=customer_id, **fields
        )


def xref() -> CrossReference:
    return CrossReference(
        accounts={ACCOUNT: {"US01": "C1"}},
        products={
            "WIDGET": {"infor_m3": "I1"},
            "GADGET": {"infor_m3": "I2"},
            "RETIRED": {"infor_m3": "OLD"},
            "BULK": {"infor_m3": "KG"},
            "GHOST": {"infor_m3": "NOPE"},
        },
        units={"Each": {"infor_m3": "EA"}},
    )


def make_process(memo_s: float = 0) -> Process:
    erp = seeded_fake(today=TODAY)
    clock = ManualClock()
    router = EntityRouter(
        {"US01": Route(erp="infor_m3", company="100", division="US1", currency="USD")},
        {"infor_m3": erp},
    )
    fx = FxTable({"EUR/USD": FxRate(rate=Decimal("1.10"), as_of=TODAY)})
    api = ProcessApi(router, xref(), fx, today=lambda: TODAY, memo=ResultMemo(ttl_s=memo_s))
    return Process(api=api, erp=erp, clock=clock)


@pytest.fixture
def process() -> Process:
    return make_process()
