"""What every experience payload is built from: strict camelCase bodies in, camelCase out.

Every response field has a default or is always present; new fields get defaults (msgspec
schema evolution), so older Apex classes keep deserialising newer answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

import msgspec

from process_apis.decimals import plain_decimals
from process_apis.models import Amount, Entity, Quantity, Sku, Unit

__all__ = [
    "MAX_LINES",
    "DatedLineIn",
    "EntityRequest",
    "LineIn",
    "LineNo",
    "LineOut",
    "Lines",
    "PricedLineIn",
    "QuoteId",
    "Reply",
    "Request",
    "echo",
]

MAX_LINES = 200
"""Lower than the process API's: an interactive component never sends more."""
Lines = msgspec.Meta(min_length=1, max_length=MAX_LINES)
LineNo = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
QuoteId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
Verdict = Literal["ok", "warn", "block"]


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """A request body: unknown fields are refused, decimals must be plain strings."""

    def __post_init__(self) -> None:
        plain_decimals(self)


class Reply(msgspec.Struct, kw_only=True, rename="camel"):
    """A response body."""


class EntityRequest(Request, kw_only=True):
    """A request about one legal entity's data."""

    entity: Entity


class LineIn(Request, kw_only=True):
    """A line as both experiences take it: a product, a quantity and its unit."""

    line_no: LineNo | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit


class DatedLineIn(LineIn, kw_only=True):
    """A line wanted by a date (today when omitted)."""

    requested_date: dt.date | None = None


class PricedLineIn(LineIn, kw_only=True):
    """A quote line: the unit price offered, and when it is wanted."""

    unit_price: Amount
    """The unit price per ``uom``, in the quote currency."""
    requested_date: dt.date | None = None


class LineOut(Reply, kw_only=True):
    """What every line of an answer repeats from the line asked about (see ``echo``)."""

    line_no: int
    sku: str
    quantity: Decimal
    uom: str


class _AnsweredLine(Protocol):
    @property
    def line_no(self) -> int: ...
    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def uom(self) -> str: ...


def echo(line: _AnsweredLine) -> dict[str, Any]:
    """What every line of an answer repeats from the line asked about."""
    return {"line_no": line.line_no, "sku": line.sku, "quantity": line.quantity, "uom": line.uom}
