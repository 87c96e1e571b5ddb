"""Checks on business input that a JSON schema cannot express: decimals that are finite,
within range and not too precise (422 with a JSON Pointer to the field)."""

from __future__ import annotations

from decimal import Decimal

from process_apis.errors import InvalidInputError

__all__ = ["check_money", "check_quantity"]

_MAX_QUANTITY = Decimal("1e9")


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
