"""What every experience payload is built from: strict camelCase bodies in, camelCase out.

Every response field has a default or is always present; new fields get defaults (msgspec
schema evolution), so older Apex classes keep deserialising newer answers.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from process_apis.decimals import plain_decimals
from process_apis.models import Quantity, Sku, Unit

__all__ = ["MAX_LINES", "LineIn", "LineNo", "Lines", "QuoteId", "Reply", "Request"]

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


class LineIn(Request, kw_only=True):
    """A line as both experiences take it: a product, a quantity and its unit."""

    line_no: LineNo | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit
