"""Units of measure: a quantity in a caller's unit, expressed in the item's base unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from system_apis.contract import Item

__all__ = ["BaseQuantity", "UomNotConvertible", "to_base"]


class UomNotConvertible(Exception):
    """The item has no conversion for the unit asked for."""


@dataclass(frozen=True)
class BaseQuantity:
    quantity: Decimal
    """In the item's base unit."""
    base_uom: str
    factor: Decimal
    """Base units per one of the requested unit."""
    whole: bool
    """False when the quantity is a fraction of a base unit (it cannot be shipped as asked)."""


def factor_for(item: Item, uom: str) -> Decimal:
    if uom.upper() == item.base_uom.upper():
        return Decimal(1)
    for conversion in item.uoms:
        if conversion.uom.upper() == uom.upper():
            return conversion.factor
    raise UomNotConvertible(f"Item {item.item_id} has no conversion from {uom} to {item.base_uom}.")


def to_base(item: Item, quantity: Decimal, uom: str) -> BaseQuantity:
    factor = factor_for(item, uom)
    base = quantity * factor
    return BaseQuantity(
        quantity=base, base_uom=item.base_uom, factor=factor, whole=base == base.to_integral_value()
    )
