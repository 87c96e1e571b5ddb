"""ATP over the in-memory ERP: statuses, promise dates, quantities per line unit, every reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from process_apis.models import AtpLine, AtpRequest, AtpResult
from system_apis.errors import BackendUnavailableError
from tests.unit.process.conftest import TODAY, Process

RECEIPT_DAY = TODAY + timedelta(days=10)  # 100 EA of I1 arrive at W1


def _request(*lines: AtpLine) -> AtpRequest:
    return AtpRequest(entity="US01", lines=list(lines))


def _line(sku: str, quantity: str, uom: str = "EA", **fields: object) -> AtpLine:
    return AtpLine(sku=sku, quantity=Decimal(quantity), uom=uom, **fields)  # type: ignore[arg-type]


async def _atp(process: Process, *lines: AtpLine) -> AtpResult:
    return await process.api.atp(_request(*lines), process.deadline())


async def test_a_quantity_on_hand_is_available_today_with_each_warehouse(
    process: Process,
) -> None:
    (line,) = (await _atp(process, _line("WIDGET", "2", "BOX"))).lines  # 24 EA
    assert (line.status, line.reason) == ("available", None)
    assert (line.promise_date, line.promise_warehouse) == (TODAY, "W1")
    assert line.available_by_requested_date == Decimal(2)  # in boxes, capped at the line's
    w1, w2 = line.warehouses
    assert (w1.warehouse, w1.available_now, w1.on_hand, w1.promise_date) == (
        "W1", Decimal("4.1667"), Decimal(5), TODAY,
    )  # fmt: skip
    assert (w2.warehouse, w2.promise_date) == ("W2", None)


@pytest.mark.parametrize(
    ("requested", "status", "by_requested"),
    [
        (None, "partial", Decimal(50)),
        (RECEIPT_DAY, "available", Decimal(100)),
    ],
    ids=["wanted-today", "wanted-after-the-receipt"],
)
async def test_more_than_on_hand_is_promised_when_the_receipt_arrives(
    process: Process, requested: date | None, status: str, by_requested: Decimal
) -> None:
    (line,) = (await _atp(process, _line("WIDGET", "100", requested_date=requested))).lines
    assert (line.status, line.promise_date, line.promise_warehouse) == (status, RECEIPT_DAY, "W1")
    assert line.available_by_requested_date == by_requested
    assert line.reason == (None if status == "available" else "INSUFFICIENT_STOCK")


async def test_more_than_ever_in_view_is_backorder_without_a_date(process: Process) -> None:
    (line,) = (await _atp(process, _line("BULK", "1"))).lines  # no stock record at all
    assert (line.status, line.reason, line.promise_date) == (
        "backorder", "INSUFFICIENT_STOCK", None,
    )  # fmt: skip


async def test_a_named_warehouse_is_the_only_one_asked(process: Process) -> None:
    (line,) = (await _atp(process, _line("WIDGET", "3", warehouse="W2"))).lines
    assert [w.warehouse for w in line.warehouses] == ["W2"]
    assert line.status == "available"


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        (_line("WIDGET", "1", warehouse="W9"), "error", "WAREHOUSE_NOT_FOUND"),
        (_line("GHOST", "1"), "error", "ITEM_NOT_FOUND"),
        (_line("RETIRED", "1"), "error", "ITEM_INACTIVE"),
        (_line("BULK", "1", "BOX"), "error", "UOM_NOT_CONVERTIBLE"),
    ],
    ids=["unknown-warehouse", "unknown-item", "inactive-item", "unit-without-conversion"],
)
async def test_lines_the_erp_refuses_carry_a_reason(
    process: Process, line: AtpLine, status: str, reason: str
) -> None:
    refused, fine = (await _atp(process, line, _line("GADGET", "1"))).lines
    assert (refused.status, refused.reason, refused.warehouses) == (status, reason, [])
    assert fine.status == "available"


async def test_an_erp_that_is_down_makes_the_line_unavailable(process: Process) -> None:
    process.erp.fail["get_availability"] = BackendUnavailableError("down", vendor="infor_m3")
    result = await _atp(process, _line("GADGET", "1"))
    (line,) = result.lines
    assert (line.status, line.reason) == ("unavailable", "BACKEND_UNAVAILABLE")
    assert result.provenance.status == "unavailable"


async def test_lines_without_availability_at_the_deadline_are_unavailable(
    process: Process,
) -> None:
    result = await process.past_the_deadline(
        process.api.atp(_request(_line("GADGET", "1")), process.deadline()),
        "get_availability",
    )
    (line,) = result.lines
    assert (line.status, line.reason) == ("unavailable", "DEADLINE_EXCEEDED")
    assert (result.provenance.status, result.provenance.reason) == (
        "unavailable", "DEADLINE_EXCEEDED",
    )  # fmt: skip
    assert process.erp.cancelled == ["get_availability"]


async def test_one_item_read_serves_every_line_of_that_item(process: Process) -> None:
    await _atp(process, _line("WIDGET", "1"), _line("WIDGET", "2", "BOX"))
    assert [c for c in process.erp.calls if c[0] == "get_item"] == [("get_item", "I1")]
