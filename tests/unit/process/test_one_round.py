"""With a slow ERP, a quote's reads go out together: one round of calls, not one per step."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from process_apis.models import QuoteLine, ValidateQuoteRequest
from tests.unit.process.conftest import Process

READS = ("get_customer_credit", "get_item", "get_price", "get_availability")


def _quote(uom: str = "EA") -> ValidateQuoteRequest:
    return ValidateQuoteRequest(
        entity="US01",
        customer_number="C1",
        currency="USD",
        lines=[
            QuoteLine(sku="GADGET", quantity=Decimal(10), uom=uom, quoted_unit_price=Decimal(5)),
            QuoteLine(sku="WIDGET", quantity=Decimal(24), uom=uom, quoted_unit_price=Decimal(10)),
        ],
    )


async def _settle() -> None:
    """Let every task run until it waits on something the test controls."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_every_read_of_a_quote_is_made_before_any_answers(process: Process) -> None:
    await process.api.validate_quote(_quote(), process.deadline())  # learns the items' units
    process.erp.calls.clear()
    gates = [process.erp.gate(method) for method in READS]

    task = asyncio.ensure_future(process.api.validate_quote(_quote(), process.deadline()))
    await _settle()
    # Nothing has answered yet, and every read is already out: the answer takes one round.
    assert sorted(process.erp.calls) == sorted(
        [("get_customer_credit", "C1")]
        + [(m, i) for m in ("get_item", "get_price", "get_availability") for i in ("I1", "I2")]
    )
    for gate in gates:
        gate.open()
    result = await task

    assert (result.price_provenance.status, result.availability_provenance.status) == (
        "complete",
        "complete",
    )
    assert len(process.erp.calls) == 7  # nothing asked twice


async def test_a_line_in_another_unit_waits_for_its_item_and_asks_once(process: Process) -> None:
    await process.api.validate_quote(_quote(), process.deadline())
    process.erp.calls.clear()

    result = await process.api.validate_quote(_quote(uom="BOX"), process.deadline())

    # 10 BOX is 120 EA: the price is asked in the base unit once the item says so, never in
    # the line's unit on a guess.
    prices = sorted(c for c in process.erp.calls if c[0] == "get_price")
    assert prices == [("get_price", "I1"), ("get_price", "I2")]
    assert result.price_provenance.status == "complete"
