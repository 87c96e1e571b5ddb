"""One quote/price/ATP line: resolve the item, price it, check its stock, record what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from process_apis.errors import InvalidInputError
from process_apis.fanout import DEADLINE_EXCEEDED, Failure, Lookups, failure_from
from process_apis.models import WarehouseAvailability
from process_apis.money import Conversion, FxTable
from process_apis.uom import BaseQuantity, UomNotConvertible, to_base
from process_apis.xref import CrossReference
from system_apis.contract import Availability, Item, Price, PriceQuery

__all__ = ["AvailabilityStatus", "LineOutcome", "check_money", "check_quantity", "new_line"]

AvailabilityStatus = Literal["available", "partial", "backorder"]

_MAX_QUANTITY = Decimal("1e9")
_UNIT_PLACES = Decimal("0.0001")


def _check_decimal(value: Decimal, *, low: Decimal, high: Decimal, what: str, pointer: str) -> None:
    """Finite, ``low <= value < high``, at most 6 decimal places; else a 422 at ``pointer``."""
    if not value.is_finite() or not low <= value < high:
        raise InvalidInputError(
            f"{what} must be at least {low} and below {high:.0e} (got {value}).", pointer=pointer
        )
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise InvalidInputError(f"{what} allows at most 6 decimal places.", pointer=pointer)


def check_quantity(quantity: Decimal, pointer: str) -> None:
    """Quantities are positive, finite, below 1e9 with at most 6 decimal places."""
    if quantity.is_finite() and quantity <= 0:
        raise InvalidInputError(
            f"quantity must be greater than 0 (got {quantity}).", pointer=pointer
        )
    _check_decimal(quantity, low=Decimal(0), high=_MAX_QUANTITY, what="quantity", pointer=pointer)


def check_money(amount: Decimal, pointer: str) -> None:
    """Amounts are 0 or more, finite, below 1e12 with at most 6 decimal places."""
    _check_decimal(amount, low=Decimal(0), high=Decimal("1e12"), what="amount", pointer=pointer)


@dataclass
class LineOutcome:
    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    erp_uom: str
    item_id: str
    requested_date: date
    warehouse: str | None
    item: Item | None = None
    base: BaseQuantity | None = None
    price: Price | None = None
    conversion: Conversion | None = None
    net_unit: Decimal | None = None
    """Per line ``uom``, in the request currency."""
    list_unit: Decimal | None = None
    availability: tuple[Availability, ...] | None = None
    failures: dict[str, Failure] = field(default_factory=dict)

    # ------------------------------------------------------------ steps

    async def resolve_item(self, lookups: Lookups) -> bool:
        try:
            item = await lookups.item(self.item_id)
        except Exception as exc:
            self.failures["item"] = failure_from(exc, "ITEM_NOT_FOUND")
            return False
        self.item = item
        lookups.records.append(item)
        if item.status != "active":
            self.failures["item"] = Failure(
                "ITEM_INACTIVE", f"Item {item.item_id} is inactive in the ERP."
            )
            return False
        try:
            base = to_base(item, self.quantity, self.erp_uom)
        except UomNotConvertible as exc:
            self.failures["item"] = Failure("UOM_NOT_CONVERTIBLE", str(exc))
            return False
        self.base = base
        if not base.whole:
            self.failures["item"] = Failure(
                "UOM_NOT_CONVERTIBLE",
                f"{self.quantity} {self.uom} is {base.quantity} {base.base_uom}, not a whole number of base units.",
            )
            return False
        return True

    async def fetch_price(
        self, lookups: Lookups, *, customer_id: str, currency: str, on_date: date, fx: FxTable
    ) -> None:
        assert self.item is not None
        assert self.base is not None
        query = PriceQuery(
            customer_id=customer_id,
            item_id=self.item.item_id,
            quantity=self.base.quantity,
            uom=self.base.base_uom,
            currency=currency,
            on_date=on_date,
            warehouse_id=self.warehouse,
        )
        try:
            price = await lookups.routed.backend.get_price(lookups.ctx, query)
        except Exception as exc:
            self.failures["price"] = failure_from(exc, "PRICE_NOT_FOUND")
            return
        lookups.records.append(price)
        # The ERP prices per base unit (or per the unit it says); express it per the line's unit.
        per_base = Decimal(1)
        if price.uom.upper() != self.base.base_uom.upper():
            try:
                per_base = to_base(self.item, Decimal(1), price.uom).factor
            except UomNotConvertible:
                self.failures["price"] = Failure(
                    "UOM_NOT_CONVERTIBLE", f"Price unit {price.uom} does not convert."
                )
                return
        try:
            net, conversion = fx.convert(price.net_price, price.currency, currency)
            gross, _ = fx.convert(price.list_price, price.currency, currency)
        except KeyError:
            self.failures["price"] = Failure(
                "CURRENCY_NOT_CONVERTIBLE",
                f"The ERP prices in {price.currency}; no {price.currency}/{currency} rate is configured.",
            )
            return
        self.price = price
        self.conversion = conversion
        self.net_unit = (net / per_base * self.base.factor).quantize(_UNIT_PLACES)
        self.list_unit = (gross / per_base * self.base.factor).quantize(_UNIT_PLACES)

    async def fetch_availability(self, lookups: Lookups) -> None:
        assert self.item is not None
        warehouses = (self.warehouse,) if self.warehouse else ()
        try:
            rows = await lookups.availability(self.item.item_id, warehouses)
        except Exception as exc:
            self.failures["availability"] = failure_from(exc, "ITEM_NOT_FOUND")
            return
        if warehouses and not rows:
            self.failures["availability"] = Failure(
                "WAREHOUSE_NOT_FOUND",
                f"Warehouse {self.warehouse} holds no stock record for {self.item.item_id}.",
            )
            return
        lookups.records.extend(rows)
        self.availability = rows

    def mark_unfinished(self, *sections: str) -> None:
        """After the deadline: anything neither filled nor failed ran out of time."""
        filled = {"item": self.item, "price": self.price, "availability": self.availability}
        for section in sections:
            if filled.get(section) is None and section not in self.failures:
                self.failures[section] = Failure(
                    DEADLINE_EXCEEDED, "The ERP did not answer within the request's deadline."
                )

    # ------------------------------------------------------------ availability views

    def warehouse_views(self, today: date) -> list[WarehouseAvailability]:
        assert self.base is not None
        assert self.availability is not None
        factor = self.base.factor
        return [
            WarehouseAvailability(
                warehouse=row.warehouse_id,
                available_now=(row.available_now / factor).quantize(_UNIT_PLACES).normalize(),
                on_hand=(row.on_hand / factor).quantize(_UNIT_PLACES).normalize(),
                promise_date=row.earliest_date_for(self.base.quantity, today),
            )
            for row in self.availability
        ]

    def promise(self, today: date) -> tuple[AvailabilityStatus, date | None, str | None, Decimal]:
        """(status, earliest promise date, its warehouse, best quantity by requested date in line uom)."""
        assert self.base is not None
        assert self.availability is not None
        best_date: date | None = None
        best_wh: str | None = None
        best_by_requested = Decimal(0)
        for row in self.availability:
            promise = row.earliest_date_for(self.base.quantity, today)
            if promise is not None and (best_date is None or promise < best_date):
                best_date, best_wh = promise, row.warehouse_id
            by_requested = row.available_now + sum(
                (r.quantity for r in row.receipts if r.date <= self.requested_date), Decimal(0)
            )
            best_by_requested = max(best_by_requested, by_requested)
        in_uom = (
            (min(best_by_requested, self.base.quantity) / self.base.factor)
            .quantize(_UNIT_PLACES)
            .normalize()
        )
        status: AvailabilityStatus
        if best_date is not None and best_date <= max(self.requested_date, today):
            status = "available"
        elif best_by_requested > 0:
            status = "partial"
        else:
            status = "backorder"
        return status, best_date, best_wh, in_uom


def new_line(
    *,
    index: int,
    line_no: int | None,
    sku: str,
    quantity: Decimal,
    uom: str,
    requested_date: date,
    warehouse: str | None,
    xref: CrossReference,
    lookups: Lookups,
) -> LineOutcome:
    pointer = f"/lines/{index}"
    check_quantity(quantity, f"{pointer}/quantity")
    vendor = lookups.routed.route.erp
    return LineOutcome(
        line_no=line_no or index + 1,
        sku=sku,
        quantity=quantity,
        uom=uom,
        erp_uom=xref.erp_unit(uom, vendor),
        item_id=xref.item_for_sku(sku, vendor, pointer=f"{pointer}/sku"),
        requested_date=requested_date,
        warehouse=warehouse,
    )
