"""The whole-answer memo, applied the same way to every capability."""

from __future__ import annotations

from decimal import Decimal

import pytest

from process_apis.models import (
    AtpLine,
    AtpRequest,
    CreditCheckRequest,
    PriceCheckRequest,
    PriceLine,
    QuoteLine,
    ValidateQuoteRequest,
)
from system_apis.errors import BackendUnavailableError
from tests.unit.process.conftest import Process, make_process

LINE = {"sku": "GADGET", "quantity": Decimal(1), "uom": "EA"}
REQUESTS = {
    "price_check": PriceCheckRequest(
        entity="US01", customer_number="C1", currency="USD", lines=[PriceLine(**LINE)]
    ),
    "atp": AtpRequest(entity="US01", lines=[AtpLine(**LINE)]),
    "credit_check": CreditCheckRequest(entity="US01", customer_number="C1"),
    "validate_quote": ValidateQuoteRequest(
        entity="US01",
        customer_number="C1",
        currency="USD",
        lines=[QuoteLine(**LINE, quoted_unit_price=Decimal(5))],
    ),
}


@pytest.fixture
def remembering() -> Process:
    return make_process(memo_s=60)


@pytest.mark.parametrize("capability", list(REQUESTS))
async def test_an_identical_request_is_answered_from_the_memo(
    remembering: Process, capability: str
) -> None:
    call = getattr(remembering.api, capability)
    first = await call(REQUESTS[capability], remembering.deadline())
    reads = len(remembering.erp.calls)
    second = await call(REQUESTS[capability], remembering.deadline())

    assert len(remembering.erp.calls) == reads  # no ERP read the second time
    assert remembering.api.memo.hits == 1
    if capability == "validate_quote":  # the time is this request's own
        first.elapsed_ms = second.elapsed_ms
    assert second == first


@pytest.mark.parametrize("capability", list(REQUESTS))
async def test_an_answer_with_a_missing_section_is_not_remembered(
    remembering: Process, capability: str
) -> None:
    for method in ("get_customer_credit", "get_price", "get_availability"):
        remembering.erp.fail[method] = BackendUnavailableError("down", vendor="infor_m3")
    call = getattr(remembering.api, capability)
    await call(REQUESTS[capability], remembering.deadline())
    reads = len(remembering.erp.calls)
    await call(REQUESTS[capability], remembering.deadline())

    assert len(remembering.erp.calls) == 2 * reads
    assert remembering.api.memo.hits == 0


async def test_clearing_the_memo_forgets_every_answer(remembering: Process) -> None:
    await remembering.api.atp(REQUESTS["atp"], remembering.deadline())
    remembering.api.memo.clear()
    await remembering.api.atp(REQUESTS["atp"], remembering.deadline())
    assert remembering.api.memo.hits == 0
