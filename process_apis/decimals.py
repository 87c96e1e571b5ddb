"""Decimal strings exactly as the schema publishes them: money and quantities never change meaning.

Python's ``Decimal()`` (and so a plain ``Decimal`` field) reads far more than the published
patterns: ``"2_0"`` as 20, fullwidth or Arabic-Indic digits and ``" 2"`` as 2, ``"1E+5"`` and JSON numbers.
A field typed ``QuantityString`` or ``AmountString`` is decoded by ``decode_decimal_string``
instead, which accepts a JSON string matching the field's pattern in full (ASCII digits, no
sign, exponent, separator, space or line end) and refuses anything else with a validation
error at the field. Request models call ``plain_decimals`` after decoding so that the rest of
the code only ever sees ordinary ``Decimal`` values.
"""

from __future__ import annotations

import re
import typing
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import msgspec

__all__ = [
    "AMOUNT_PATTERN",
    "QUANTITY_PATTERN",
    "AmountString",
    "DecimalString",
    "QuantityString",
    "decode_decimal_string",
    "exact_decimal",
    "is_decimal_string",
    "plain_decimals",
]

QUANTITY_PATTERN = r"^(?=.*[1-9])[0-9]{1,9}(\.[0-9]{1,6})?$"
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"


def _exact(pattern: str) -> re.Pattern[str]:
    # As JSON Schema reads it: ``$`` is the end of the text (Python's also allows a "\n"),
    # and ``[0-9]`` is ASCII only.
    return re.compile(pattern.removesuffix("$") + r"\Z", re.ASCII)


class DecimalString(Decimal):
    """A decimal that travels as a JSON string matching ``PATTERN``; never instantiated."""

    PATTERN: ClassVar[str]
    SHAPE: ClassVar[str]
    _EXACT: ClassVar[re.Pattern[str]]


if TYPE_CHECKING:
    # What code sees once a request is decoded (``plain_decimals``): ordinary decimals.
    QuantityString: TypeAlias = Decimal
    AmountString: TypeAlias = Decimal
else:

    class QuantityString(DecimalString):
        PATTERN = QUANTITY_PATTERN
        SHAPE = 'a string of digits greater than 0, at most 9 before and 6 after a ".", e.g. "12"'
        _EXACT = _exact(QUANTITY_PATTERN)

    class AmountString(DecimalString):
        PATTERN = AMOUNT_PATTERN
        SHAPE = 'a string of digits, at most 12 before and 6 after a ".", e.g. "1250.00"'
        _EXACT = _exact(AMOUNT_PATTERN)


def is_decimal_string(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, DecimalString)


def decode_decimal_string(target: type[DecimalString], value: Any) -> DecimalString:
    """The decoder hook for ``DecimalString`` fields: raises ``TypeError``/``ValueError``,
    which the decoder reports as a validation error at the field."""
    if not isinstance(value, str):
        raise TypeError(f"Expected {target.SHAPE}, got a JSON {_json_kind(value)}")
    if target._EXACT.match(value) is None:
        raise ValueError(f"Expected {target.SHAPE}")
    return target(value)


def exact_decimal(text: str, pattern: str) -> Decimal | None:
    """``text`` as a ``Decimal`` when it matches ``pattern`` in full, as JSON Schema reads it
    (a validator's ``re.search`` lets ``"2\\n"`` through ``$``); else None."""
    return Decimal(text) if _exact(pattern).match(text) is not None else None


def plain_decimals(struct: Any) -> None:
    """Turn decoded ``DecimalString`` values into plain ``Decimal`` (``__post_init__``).

    Runs for every decoded request and line, so only the fields whose type can hold a
    ``DecimalString`` are visited (found once per struct class)."""
    cls = type(struct)
    names = _DECIMAL_FIELDS.get(cls)
    if names is None:
        names = _DECIMAL_FIELDS[cls] = tuple(
            field.name for field in msgspec.structs.fields(cls) if _may_hold_decimal(field.type)
        )
    for name in names:
        value = getattr(struct, name)
        if isinstance(value, DecimalString):
            setattr(struct, name, Decimal(value))


_DECIMAL_FIELDS: dict[type, tuple[str, ...]] = {}


def _may_hold_decimal(annotation: Any) -> bool:
    if is_decimal_string(annotation):
        return True
    return any(_may_hold_decimal(arg) for arg in typing.get_args(annotation))


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
