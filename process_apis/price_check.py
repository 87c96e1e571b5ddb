"""Price check: list and net unit price per line for a customer, in the request's currency.

The ERP prices per its base unit (or per the unit it names); the answer is per the line's
unit, converted into the request currency at a configured FX rate when the ERP prices in
another. A line that cannot be priced carries a reason: ``PRICE_NOT_FOUND``,
``UOM_NOT_CONVERTIBLE``, ``CURRENCY_NOT_CONVERTIBLE``, an item reason (``ITEM_NOT_FOUND``,
``ITEM_INACTIVE``) or an ERP one (``DEADLINE_EXCEEDED``, ``BACKEND_UNAVAILABLE``, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from process_apis import fanout
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

__all__ = ["PriceCheck", "PriceTerms", "fetch_price", "prefetch_price"]

_UNIT_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class PriceTerms:
    """Whose price, in which currency, on which date (and the rates to convert it)."""

    customer_id: str
    currency: str
    on_date: date
    fx: FxTable


class PriceCheck(fanout.Capability[PriceCheckRequest, PriceCheckResult], name="price-check"):
    async def __call__(
        self, request: PriceCheckRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> PriceCheckResult:
        setup = self.setup
        customer, lookups = self.customer_reads(request, deadline, correlation_id)
        on_date = request.date or setup.today()
        lines = fanout.new_lines(
            setup, customer.routed, request.lines, requested_date=lambda _line: on_date
        )
        terms = PriceTerms(customer.customer_id, request.currency, on_date, setup.fx)
        for line in lines:
            prefetch_price(line, lookups, terms)

        async def price(line: fanout.LineWork) -> None:
            await fetch_price(line, lookups, terms)

        finished = await fanout.run_lines(deadline, lookups, lines, price)
        for line in lines:
            line.mark_unfinished("item", *(["price"] if line.base else []))
        return PriceCheckResult(
            entity=request.entity,
            erp=customer.routed.route.erp,
            customer_number=customer.customer_id,
            currency=request.currency,
            date=on_date,
            lines=[_line_result(line, request.currency) for line in lines],
            provenance=fanout.provenance_of(
                [line.price for line in lines if line.price is not None],
                expected=len(lines),
                failure=None if finished else fanout.DEADLINE_EXCEEDED,
            ),
        )

    def sections(self, result: PriceCheckResult) -> Iterable[Provenance]:
        return (result.provenance,)


def _guessed_query(line: fanout.LineWork, terms: PriceTerms) -> PriceQuery:
    """The price query of a line whose unit is its item's base unit (the common case)."""
    return PriceQuery(
        customer_id=terms.customer_id,
        item_id=line.item_id,
        quantity=line.quantity,
        uom=line.erp_uom,
        currency=terms.currency,
        on_date=terms.on_date,
        warehouse_id=line.warehouse,
    )


def prefetch_price(line: fanout.LineWork, lookups: fanout.Lookups, terms: PriceTerms) -> None:
    """Start the line's price read before its item is back when the line is in the base unit
    an earlier request saw the item in: the price then costs no round of calls of its own.
    ``fetch_price`` uses it when the item still says so and discards it when not."""
    if lookups.base_unit(line.item_id) == line.erp_uom:
        lookups.price(_guessed_query(line, terms))


async def fetch_price(line: fanout.LineWork, lookups: fanout.Lookups, terms: PriceTerms) -> None:
    """The ERP's price for a resolved line, per the line's unit and in the terms' currency."""
    assert line.item is not None
    assert line.base is not None
    currency = terms.currency
    query = PriceQuery(
        customer_id=terms.customer_id,
        item_id=line.item.item_id,
        quantity=line.base.quantity,
        uom=line.base.base_uom,
        currency=currency,
        on_date=terms.on_date,
        warehouse_id=line.warehouse,
    )
    guessed = _guessed_query(line, terms)
    if guessed != query:
        lookups.discard(("price", guessed))  # if it was started: the hint was out of date
    try:
        price = await lookups.price(query)
    except Exception as exc:
        line.failures["price"] = fanout.failure_from(exc, "PRICE_NOT_FOUND")
        return
    # The ERP prices per base unit (or per the unit it says); express it per the line's unit.
    per_base = Decimal(1)
    if price.uom.upper() != line.base.base_uom.upper():
        try:
            per_base = to_base(line.item, Decimal(1), price.uom).factor
        except UomNotConvertible:
            line.failures["price"] = fanout.Failure(
                "UOM_NOT_CONVERTIBLE", f"Price unit {price.uom} does not convert."
            )
            return
    try:
        net, conversion = terms.fx.convert(price.net_price, price.currency, currency)
        gross, _ = terms.fx.convert(price.list_price, price.currency, currency)
    except KeyError:
        line.failures["price"] = fanout.Failure(
            "CURRENCY_NOT_CONVERTIBLE",
            f"The ERP prices in {price.currency}; no {price.currency}/{currency} rate is configured.",
        )
        return
    line.price = price
    line.conversion = conversion
    line.net_unit = (net / per_base * line.base.factor).quantize(_UNIT_PLACES)
    line.list_unit = (gross / per_base * line.base.factor).quantize(_UNIT_PLACES)


_NO_PRICE = fanout.Failure("PRICE_NOT_FOUND", "No price was returned.")


def _line_result(line: fanout.LineWork, currency: str) -> PriceLineResult:
    failure = line.missing("price", _NO_PRICE)
    if failure is not None:
        return PriceLineResult(
            **line.echo(),
            status=fanout.line_status(failure),
            reason=failure.code,
            message=failure.message,
        )
    price, net = line.price, line.net_unit
    assert price is not None
    assert net is not None
    return PriceLineResult(
        **line.echo(),
        status="ok",
        currency=currency,
        list_price=line.list_unit,
        net_price=net,
        extended_net=round_money(net * line.quantity),
        discounts=[DiscountOut(kind=d.kind, value=d.value, label=d.label) for d in price.discounts],
        price_list=price.price_list,
        valid_from=price.valid_from,
        valid_to=price.valid_to,
        conversion=line.conversion,
        base_quantity=line.base.quantity if line.base else None,
        base_uom=line.base.base_uom if line.base else None,
    )
