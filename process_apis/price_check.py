"""Price check: list and net unit price per line for a customer, in the request's currency.

The ERP prices per its base unit (or per the unit it names); the answer is per the line's
unit, converted into the request currency at a configured FX rate when the ERP prices in
another. A line that cannot be priced carries a reason: ``PRICE_NOT_FOUND``,
``UOM_NOT_CONVERTIBLE``, ``CURRENCY_NOT_CONVERTIBLE``, an item reason (``ITEM_NOT_FOUND``,
``ITEM_INACTIVE``) or an ERP one (``DEADLINE_EXCEEDED``, ``BACKEND_UNAVAILABLE``, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from process_apis.fanout import (
    DEADLINE_EXCEEDED,
    Failure,
    LineWork,
    Lookups,
    Setup,
    failure_from,
    line_status,
    new_lines,
    provenance_of,
    resolve_customer,
    run_lines,
)
from process_apis.models import (
    DiscountOut,
    PriceCheckRequest,
    PriceCheckResult,
    PriceLineResult,
    Provenance,
)
from process_apis.money import FxTable, round_money
from process_apis.uom import UomNotConvertible, to_base
from system_apis.contract import PriceQuery
from system_apis.resilience import Deadline

__all__ = ["PriceCheck", "fetch_price"]

_UNIT_PLACES = Decimal("0.0001")


class PriceCheck:
    name = "price-check"

    def __init__(self, setup: Setup) -> None:
        self._setup = setup

    async def __call__(
        self, request: PriceCheckRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> PriceCheckResult:
        setup = self._setup
        customer = resolve_customer(
            setup, request.entity, request.account_id, request.customer_number
        )
        lookups = Lookups(customer.routed, customer.routed.context(deadline, correlation_id))
        on_date = request.date or setup.today()
        lines = new_lines(
            setup, customer.routed, request.lines, requested_date=lambda _line: on_date
        )

        async def price(line: LineWork) -> None:
            await fetch_price(
                line,
                lookups,
                customer_id=customer.customer_id,
                currency=request.currency,
                on_date=on_date,
                fx=setup.fx,
            )

        finished = await run_lines(deadline, lookups, lines, price)
        for line in lines:
            line.mark_unfinished("item", *(["price"] if line.base else []))
        return PriceCheckResult(
            entity=request.entity,
            erp=customer.routed.route.erp,
            customer_number=customer.customer_id,
            currency=request.currency,
            date=on_date,
            lines=[_line_result(line, request.currency) for line in lines],
            provenance=provenance_of(
                [line.price for line in lines if line.price is not None],
                expected=len(lines),
                failure=None if finished else DEADLINE_EXCEEDED,
            ),
        )

    @staticmethod
    def sections(result: PriceCheckResult) -> Iterable[Provenance]:
        return (result.provenance,)


async def fetch_price(
    line: LineWork,
    lookups: Lookups,
    *,
    customer_id: str,
    currency: str,
    on_date: date,
    fx: FxTable,
) -> None:
    """The ERP's price for a resolved line, per the line's unit and in ``currency``."""
    assert line.item is not None
    assert line.base is not None
    query = PriceQuery(
        customer_id=customer_id,
        item_id=line.item.item_id,
        quantity=line.base.quantity,
        uom=line.base.base_uom,
        currency=currency,
        on_date=on_date,
        warehouse_id=line.warehouse,
    )
    try:
        price = await lookups.price(query)
    except Exception as exc:
        line.failures["price"] = failure_from(exc, "PRICE_NOT_FOUND")
        return
    # The ERP prices per base unit (or per the unit it says); express it per the line's unit.
    per_base = Decimal(1)
    if price.uom.upper() != line.base.base_uom.upper():
        try:
            per_base = to_base(line.item, Decimal(1), price.uom).factor
        except UomNotConvertible:
            line.failures["price"] = Failure(
                "UOM_NOT_CONVERTIBLE", f"Price unit {price.uom} does not convert."
            )
            return
    try:
        net, conversion = fx.convert(price.net_price, price.currency, currency)
        gross, _ = fx.convert(price.list_price, price.currency, currency)
    except KeyError:
        line.failures["price"] = Failure(
            "CURRENCY_NOT_CONVERTIBLE",
            f"The ERP prices in {price.currency}; no {price.currency}/{currency} rate is configured.",
        )
        return
    line.price = price
    line.conversion = conversion
    line.net_unit = (net / per_base * line.base.factor).quantize(_UNIT_PLACES)
    line.list_unit = (gross / per_base * line.base.factor).quantize(_UNIT_PLACES)


def _line_result(line: LineWork, currency: str) -> PriceLineResult:
    failure = line.failures.get("item") or line.failures.get("price")
    if failure is not None or line.price is None or line.net_unit is None:
        failure = failure or Failure("PRICE_NOT_FOUND", "No price was returned.")
        return PriceLineResult(
            line_no=line.line_no,
            sku=line.sku,
            item_id=line.item_id,
            quantity=line.quantity,
            uom=line.uom,
            status=line_status(failure),
            reason=failure.code,
            message=failure.message,
        )
    price = line.price
    return PriceLineResult(
        line_no=line.line_no,
        sku=line.sku,
        item_id=line.item_id,
        quantity=line.quantity,
        uom=line.uom,
        status="ok",
        currency=currency,
        list_price=line.list_unit,
        net_price=line.net_unit,
        extended_net=round_money(line.net_unit * line.quantity),
        discounts=[DiscountOut(kind=d.kind, value=d.value, label=d.label) for d in price.discounts],
        price_list=price.price_list,
        valid_from=price.valid_from,
        valid_to=price.valid_to,
        conversion=line.conversion,
        base_quantity=line.base.quantity if line.base else None,
        base_uom=line.base.base_uom if line.base else None,
    )
