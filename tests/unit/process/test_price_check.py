"""Price check over the in-memory ERP: prices per line unit and currency, and every line reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from process_apis.errors import InvalidInputError, UnknownReferenceError
from process_apis.models import PriceCheckRequest, PriceCheckResult, PriceLine
from system_apis.errors import BackendRejectedError, BackendUnavailableError
from tests.unit.process.conftest import ACCOUNT, TODAY, Process


def _request(*lines: tuple[str, str, str], **fields: Any) -> PriceCheckRequest:
    values: dict[str, Any] = {"entity": "US01", "customer_number": "C1", "currency": "USD"}
    values.update(fields)
    return PriceCheckRequest(
        **values,
        lines=[PriceLine(sku=sku, quantity=Decimal(q), uom=uom) for sku, q, uom in lines],
    )


async def _check(process: Process, request: PriceCheckRequest) -> PriceCheckResult:
    return await process.api.price_check(request, process.deadline())


async def test_prices_are_per_the_lines_unit_with_list_net_and_extended(
    process: Process,
) -> None:
    result = await _check(process, _request(("WIDGET", "2", "BOX"), ("GADGET", "3", "Each")))

    box, each = result.lines
    assert (box.status, box.net_price, box.list_price) == ("ok", Decimal(120), Decimal(132))
    assert (box.base_quantity, box.base_uom, box.extended_net) == (Decimal(24), "EA", Decimal(240))
    assert (each.net_price, each.uom, each.extended_net) == (Decimal(5), "Each", Decimal(15))
    assert (result.date, result.customer_number, result.provenance.status) == (
        TODAY, "C1", "complete",
    )  # fmt: skip
    assert [q for m, q in process.erp.calls if m == "get_price"] == ["I1", "I2"]


async def test_an_account_id_is_mapped_to_the_erp_customer(process: Process) -> None:
    request = _request(("WIDGET", "1", "EA"), customer_number=None, account_id=ACCOUNT)
    assert (await _check(process, request)).customer_number == "C1"


async def test_a_price_in_another_currency_is_converted_at_the_configured_rate(
    process: Process,
) -> None:
    result = await _check(process, _request(("WIDGET", "11", "EA"), currency="EUR"))
    (line,) = result.lines
    assert line.net_price == Decimal("9.0909")  # 10 USD at 1 EUR = 1.10 USD
    assert line.conversion is not None
    assert (line.conversion.from_currency, line.conversion.to_currency) == ("USD", "EUR")


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        (("GHOST", "1", "EA"), "error", "ITEM_NOT_FOUND"),
        (("RETIRED", "1", "EA"), "error", "ITEM_INACTIVE"),
        (("BULK", "1", "BOX"), "error", "UOM_NOT_CONVERTIBLE"),
        (("WIDGET", "0.5", "EA"), "error", "UOM_NOT_CONVERTIBLE"),
    ],
    ids=["unknown-item", "inactive-item", "unit-without-conversion", "half-a-base-unit"],
)
async def test_lines_the_erp_refuses_are_errors_with_a_reason(
    process: Process, line: tuple[str, str, str], status: str, reason: str
) -> None:
    result = await _check(process, _request(line, ("GADGET", "1", "EA")))
    refused, fine = result.lines
    assert (refused.status, refused.reason) == (status, reason)
    assert refused.net_price is None
    assert fine.status == "ok"


async def test_an_item_without_a_price_is_price_not_found(process: Process) -> None:
    del process.erp.prices["I2"]
    (line,) = (await _check(process, _request(("GADGET", "1", "EA")))).lines
    assert (line.status, line.reason) == ("error", "PRICE_NOT_FOUND")


async def test_no_rate_for_the_erps_currency_is_currency_not_convertible(process: Process) -> None:
    (line,) = (await _check(process, _request(("GADGET", "1", "EA"), currency="GBP"))).lines
    assert (line.status, line.reason) == ("error", "CURRENCY_NOT_CONVERTIBLE")


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (BackendUnavailableError("down", vendor="infor_m3"), "unavailable", "BACKEND_UNAVAILABLE"),
        (BackendRejectedError("no", vendor="infor_m3"), "error", "BACKEND_REJECTED"),
    ],
    ids=["erp-down", "erp-refuses"],
)
async def test_an_erp_failure_is_the_lines_reason(
    process: Process, error: Exception, status: str, reason: str
) -> None:
    process.erp.fail["get_price"] = error  # type: ignore[assignment]
    result = await _check(process, _request(("GADGET", "1", "EA")))
    (line,) = result.lines
    assert (line.status, line.reason) == (status, reason)
    assert result.provenance.status == "unavailable"


async def test_lines_not_priced_by_the_deadline_are_unavailable_and_cancelled(
    process: Process,
) -> None:
    result = await process.past_the_deadline(
        process.api.price_check(_request(("GADGET", "1", "EA")), process.deadline()),
        "get_price",
    )
    (line,) = result.lines
    assert (line.status, line.reason) == ("unavailable", "DEADLINE_EXCEEDED")
    assert (result.provenance.status, result.provenance.reason) == (
        "unavailable", "DEADLINE_EXCEEDED",
    )  # fmt: skip
    assert process.erp.cancelled == ["get_price"]


async def test_items_not_back_by_the_deadline_leave_every_line_unpriced(process: Process) -> None:
    result_task = process.api.price_check(
        _request(("WIDGET", "1", "EA"), ("GADGET", "1", "EA")), process.deadline()
    )
    # Both lines wait at the gate for their item; the price of neither is known.
    result = await process.past_the_deadline(result_task, "get_item")
    assert [line.reason for line in result.lines] == ["DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"]


@pytest.mark.parametrize(
    ("fields", "error", "pointer"),
    [
        ({"customer_number": None}, InvalidInputError, "/accountId"),
        ({"account_id": ACCOUNT}, InvalidInputError, "/accountId"),
        ({"entity": "XX99"}, Exception, "/entity"),
    ],
    ids=["no-customer", "two-customers", "unknown-entity"],
)
async def test_who_and_where_must_be_named_exactly_once(
    process: Process, fields: dict[str, Any], error: type[Exception], pointer: str
) -> None:
    with pytest.raises(error) as raised:
        await _check(process, _request(("WIDGET", "1", "EA"), **fields))
    assert getattr(raised.value, "pointer", None) == pointer
    assert process.erp.calls == []


async def test_an_unknown_product_is_422_before_any_erp_call(process: Process) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        await _check(process, _request(("WIDGET", "1", "EA"), ("NOT-IN-XREF", "1", "EA")))
    assert raised.value.pointer == "/lines/1/sku"
    assert process.erp.calls == []
