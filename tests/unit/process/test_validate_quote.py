"""Validate quote over the in-memory ERP: every verdict reason, the credit verdict, deadlines."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from process_apis.models import QuoteLine, ValidateQuoteRequest, ValidateQuoteResult
from system_apis.errors import BackendRejectedError, BackendUnavailableError
from tests.unit.process.conftest import TODAY, Process

# At the seed's prices: 2 boxes of WIDGET at 120.00 and 10 GADGET at 5.00 match the ERP.
WIDGETS = QuoteLine(sku="WIDGET", quantity=Decimal(2), uom="BOX", quoted_unit_price=Decimal(120))
GADGETS = QuoteLine(sku="GADGET", quantity=Decimal(10), uom="EA", quoted_unit_price=Decimal(5))


def _quote(*lines: QuoteLine, **fields: Any) -> ValidateQuoteRequest:
    values: dict[str, Any] = {"entity": "US01", "customer_number": "C1", "currency": "USD"}
    values.update(fields)
    return ValidateQuoteRequest(**values, lines=list(lines or (WIDGETS, GADGETS)))


def _line(sku: str, quantity: str, uom: str = "EA", price: str = "1", **f: Any) -> QuoteLine:
    return QuoteLine(
        sku=sku, quantity=Decimal(quantity), uom=uom, quoted_unit_price=Decimal(price), **f
    )


async def _validate(process: Process, request: ValidateQuoteRequest) -> ValidateQuoteResult:
    return await process.api.validate_quote(request, process.deadline())


def _reasons(result: ValidateQuoteResult) -> list[tuple[str, str, int | None]]:
    return [(r.code, r.severity, r.line_no) for r in result.reasons]


async def test_a_quote_at_the_erps_prices_in_stock_within_credit_is_ok(process: Process) -> None:
    result = await _validate(process, _quote())
    assert (result.verdict, result.reasons, result.credit_verdict) == ("ok", [], "ok")
    assert result.quote_total == Decimal("290.00")
    assert [(ln.price_status, ln.availability_status) for ln in result.lines] == [
        ("match", "available"), ("match", "available"),
    ]  # fmt: skip
    assert {p.status for p in (result.credit_provenance, result.price_provenance)} == {"complete"}
    assert result.availability_provenance.status == "complete"
    assert result.elapsed_ms >= 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (_line("WIDGET", "2", "BOX", price="119.00"), ("PRICE_MISMATCH", "warn", 1)),
        (_line("WIDGET", "100", price="9"), ("INSUFFICIENT_STOCK", "warn", 1)),  # 10% off at 100
        (_line("GHOST", "1"), ("ITEM_NOT_FOUND", "block", 1)),
        (_line("RETIRED", "1"), ("ITEM_INACTIVE", "block", 1)),
        (_line("BULK", "1", "BOX"), ("UOM_NOT_CONVERTIBLE", "block", 1)),
        (_line("WIDGET", "1", price="10", warehouse="W9"), ("WAREHOUSE_NOT_FOUND", "warn", 1)),
    ],
    ids=[
        "price-below-the-erps",
        "more-than-in-stock",
        "unknown-item",
        "inactive-item",
        "unit-without-conversion",
        "unknown-warehouse",
    ],
)
async def test_each_line_reason(
    process: Process, line: QuoteLine, reason: tuple[str, str, int]
) -> None:
    result = await _validate(process, _quote(line))
    assert _reasons(result) == [reason]
    assert result.verdict == reason[1]
    assert result.credit_verdict == "ok"


async def test_an_item_without_a_price_is_price_not_found(process: Process) -> None:
    del process.erp.prices["I2"]
    result = await _validate(process, _quote(GADGETS))
    assert _reasons(result) == [("PRICE_NOT_FOUND", "warn", 1)]
    assert result.lines[0].price_status == "unavailable"


async def test_no_rate_for_the_quotes_currency_warns_on_price_and_credit(process: Process) -> None:
    result = await _validate(process, _quote(GADGETS, currency="GBP"))
    assert _reasons(result) == [
        ("CURRENCY_NOT_CONVERTIBLE", "warn", None),  # credit: headroom not checked
        ("CURRENCY_NOT_CONVERTIBLE", "warn", 1),  # price: not comparable
    ]
    assert result.credit_verdict == "warn"


@pytest.mark.parametrize(
    ("method", "error", "reason"),
    [
        ("get_price", BackendUnavailableError, ("PRICE_UNAVAILABLE", "warn", 1)),
        ("get_price", BackendRejectedError, ("BACKEND_REJECTED", "warn", 1)),
        ("get_availability", BackendUnavailableError, ("AVAILABILITY_UNAVAILABLE", "warn", 1)),
        ("get_item", BackendUnavailableError, ("ITEM_UNAVAILABLE", "warn", 1)),
    ],
    ids=["price-erp-down", "price-erp-refuses", "availability-erp-down", "item-erp-down"],
)
async def test_erp_failures_on_a_line_warn(
    process: Process, method: str, error: type[Exception], reason: tuple[str, str, int]
) -> None:
    process.erp.fail[method] = error("injected", vendor="infor_m3")  # type: ignore[call-arg, assignment]
    result = await _validate(process, _quote(GADGETS))
    assert _reasons(result) == [reason]
    assert (result.verdict, result.credit_verdict) == ("warn", "ok")


@pytest.mark.parametrize(
    ("customer", "fields", "lines", "credit_verdict", "reason"),
    [
        ("HOLD", {}, (GADGETS,), "block", ("CREDIT_HOLD", "block", None)),
        ("GONE", {}, (GADGETS,), "block", ("CUSTOMER_INACTIVE", "block", None)),
        ("NOPE", {}, (GADGETS,), "block", ("CUSTOMER_NOT_FOUND", "block", None)),
        (
            "LATE",
            {"overdue_amount": Decimal(1), "overdue_days": 3},
            (GADGETS,),
            "warn",
            ("CREDIT_OVERDUE", "warn", None),
        ),
        (
            "C1",
            {},
            (_line("GADGET", "701", price="10"),),
            "block",
            ("CREDIT_LIMIT_EXCEEDED", "block", None),
        ),
        (
            "C1",
            {},
            (_line("GADGET", "631", price="10"),),
            "warn",
            ("CREDIT_HEADROOM_LOW", "warn", None),
        ),
    ],
    ids=["on-hold", "inactive", "unknown", "overdue", "over-the-headroom", "most-of-it"],
)
async def test_each_credit_reason_sets_the_credit_verdict(
    process: Process,
    customer: str,
    fields: dict[str, Any],
    lines: tuple[QuoteLine, ...],
    credit_verdict: str,
    reason: tuple[str, str, None],
) -> None:
    if fields:
        process.add_customer(customer, **fields)
    result = await _validate(process, _quote(*lines, customer_number=customer))
    line_prices_differ = [r for r in _reasons(result) if r[0] == "PRICE_MISMATCH"]
    assert [r for r in _reasons(result) if r not in line_prices_differ] == [reason]
    assert result.credit_verdict == credit_verdict
    assert result.verdict == credit_verdict


async def test_credit_down_warns_and_the_lines_are_still_checked(process: Process) -> None:
    process.erp.fail["get_customer_credit"] = BackendUnavailableError("x", vendor="infor_m3")
    result = await _validate(process, _quote())
    assert _reasons(result) == [("CREDIT_UNAVAILABLE", "warn", None)]
    assert (result.credit, result.credit_verdict) == (None, "warn")
    assert result.price_provenance.status == "complete"


async def test_at_the_deadline_what_came_back_is_kept_and_the_rest_is_unavailable(
    process: Process,
) -> None:
    result = await process.past_the_deadline(
        process.api.validate_quote(_quote(), process.deadline()), "get_price"
    )
    assert _reasons(result) == [("PRICE_UNAVAILABLE", "warn", 1), ("PRICE_UNAVAILABLE", "warn", 2)]
    assert [ln.availability_status for ln in result.lines] == ["available", "available"]
    assert (result.price_provenance.status, result.price_provenance.reason) == (
        "unavailable", "DEADLINE_EXCEEDED",
    )  # fmt: skip
    assert result.credit_provenance.status == "complete"
    assert sorted(process.erp.cancelled) == ["get_price", "get_price"]


async def test_requested_dates_default_to_the_quotes_then_the_pricing_date(
    process: Process,
) -> None:
    later = TODAY.replace(day=TODAY.day + 1)
    result = await _validate(
        process, _quote(_line("GADGET", "1", price="5"), GADGETS, requested_date=later)
    )
    assert result.lines[0].promise_date == TODAY
    assert result.verdict == "ok"


async def test_credit_and_items_are_read_together_then_price_and_availability_together(
    process: Process,
) -> None:
    gates = {m: process.erp.gate(m) for m in ("get_customer_credit", "get_item")}
    gates |= {m: process.erp.gate(m) for m in ("get_price", "get_availability")}
    validation = asyncio.ensure_future(
        process.api.validate_quote(_quote(GADGETS), process.deadline())
    )

    # Both asked before either answered: a sequential fan-out would wait here forever.
    await gates["get_customer_credit"].reached.wait()
    await gates["get_item"].reached.wait()
    gates["get_item"].open()
    # The line's price and availability, both asked while credit is still out.
    await gates["get_price"].reached.wait()
    await gates["get_availability"].reached.wait()
    for gate in gates.values():
        gate.open()
    result = await validation

    assert result.verdict == "ok"
    assert [m for m, _ in process.erp.calls] == [
        "get_customer_credit", "get_item", "get_price", "get_availability",
    ]  # fmt: skip
