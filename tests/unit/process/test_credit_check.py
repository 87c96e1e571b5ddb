"""Credit check over the in-memory ERP: exposure, headroom and every credit reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from process_apis.errors import UnknownReferenceError
from process_apis.models import CreditCheckRequest, CreditCheckResult
from system_apis.errors import BackendUnavailableError
from tests.unit.process.conftest import Process


def _request(customer: str = "C1", **fields: Any) -> CreditCheckRequest:
    return CreditCheckRequest(entity="US01", customer_number=customer, **fields)


async def _check(process: Process, request: CreditCheckRequest) -> CreditCheckResult:
    return await process.api.credit_check(request, process.deadline())


def _codes(result: CreditCheckResult) -> list[tuple[str, str]]:
    return [(r.code, r.severity) for r in result.reasons]


async def test_a_customer_in_good_standing_is_ok_with_limit_exposure_and_headroom(
    process: Process,
) -> None:
    result = await _check(process, _request(amount=Decimal("100.00")))
    assert (result.verdict, result.reasons) == ("ok", [])
    assert result.credit is not None
    assert (result.credit.credit_limit, result.credit.exposure, result.credit.headroom) == (
        Decimal(10000), Decimal(3000), Decimal(7000),
    )  # fmt: skip
    assert (result.amount, result.provenance.status) == (Decimal("100.00"), "complete")


@pytest.mark.parametrize(
    ("customer", "fields", "amount", "verdict", "reasons"),
    [
        ("HOLD", {}, None, "block", [("CREDIT_HOLD", "block")]),
        ("GONE", {}, None, "block", [("CUSTOMER_INACTIVE", "block")]),
        (
            "LATE",
            {"overdue_amount": Decimal(500), "overdue_days": 45},
            None,
            "warn",
            [("CREDIT_OVERDUE", "warn")],
        ),
        ("C1", {}, "7000.01", "block", [("CREDIT_LIMIT_EXCEEDED", "block")]),
        ("C1", {}, "6300.01", "warn", [("CREDIT_HEADROOM_LOW", "warn")]),
        ("C1", {}, "6300.00", "ok", []),
        ("NOLIMIT", {"credit_limit": None}, "1000000", "ok", []),
    ],
    ids=[
        "on-hold",
        "inactive",
        "overdue",
        "over-the-headroom",
        "most-of-the-headroom",
        "nine-tenths-of-it",
        "no-limit",
    ],
)
async def test_each_credit_reason(
    process: Process,
    customer: str,
    fields: dict[str, Any],
    amount: str | None,
    verdict: str,
    reasons: list[tuple[str, str]],
) -> None:
    if fields:
        process.add_customer(customer, **fields)
    result = await _check(process, _request(customer, amount=Decimal(amount) if amount else None))
    assert (result.verdict, _codes(result)) == (verdict, reasons)


async def test_an_amount_in_another_currency_is_converted_before_it_is_compared(
    process: Process,
) -> None:
    result = await _check(process, _request(amount=Decimal("6400"), currency="EUR"))
    assert result.amount == Decimal("7040.00")  # 1 EUR = 1.10 USD: over the 7000 headroom
    assert _codes(result) == [("CREDIT_LIMIT_EXCEEDED", "block")]
    assert result.conversion is not None


async def test_no_rate_for_the_amounts_currency_warns_and_leaves_headroom_unchecked(
    process: Process,
) -> None:
    result = await _check(process, _request(amount=Decimal("100000"), currency="GBP"))
    assert (result.verdict, _codes(result)) == ("warn", [("CURRENCY_NOT_CONVERTIBLE", "warn")])
    assert result.amount is None


async def test_an_unknown_customer_is_a_422_at_the_field_that_named_it(process: Process) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        await _check(process, _request("NOPE"))
    assert raised.value.pointer == "/customerNumber"


async def test_an_erp_that_is_down_warns_that_credit_is_unavailable(process: Process) -> None:
    process.erp.fail["get_customer_credit"] = BackendUnavailableError("down", vendor="infor_m3")
    result = await _check(process, _request())
    assert (result.verdict, _codes(result)) == ("warn", [("CREDIT_UNAVAILABLE", "warn")])
    assert (result.credit, result.provenance.reason) == (None, "BACKEND_UNAVAILABLE")


async def test_credit_not_back_by_the_deadline_is_unavailable(process: Process) -> None:
    result = await process.past_the_deadline(
        process.api.credit_check(_request(), process.deadline()), "get_customer_credit"
    )
    assert (result.verdict, _codes(result)) == ("warn", [("CREDIT_UNAVAILABLE", "warn")])
    assert (result.provenance.status, result.provenance.reason) == (
        "unavailable", "DEADLINE_EXCEEDED",
    )  # fmt: skip
    assert process.erp.cancelled == ["get_customer_credit"]
