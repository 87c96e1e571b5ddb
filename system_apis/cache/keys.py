"""Cache keys for reference data, and the glob patterns that select them for invalidation.

A key is ``kind:vendor:company:division:…query fields``. Every component is escaped so that
it can never contain ``:`` or a glob character (``* ? [ ] \\``): a pattern built from escaped
components plus literal ``*`` then means the same to Redis ``SCAN MATCH`` and to ``fnmatch``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from system_apis.contract import CallContext, PriceQuery

__all__ = [
    "KINDS",
    "Kind",
    "availability_key",
    "credit_key",
    "item_key",
    "pattern_for",
    "price_key",
]

Kind = Literal["credit", "item", "price", "availability"]
KINDS: tuple[Kind, ...] = ("credit", "item", "price", "availability")

_ESCAPES = str.maketrans(
    {
        "%": "%25",
        ":": "%3A",
        "*": "%2A",
        "?": "%3F",
        "[": "%5B",
        "]": "%5D",
        "\\": "%5C",
        ",": "%2C",
        " ": "%20",
    }
)
_NONE = "-"
_ANY = "*"


def _part(value: str | None) -> str:
    if value is None:
        return _NONE
    return value.translate(_ESCAPES) if value else "%00"


def _qty(value: Decimal) -> str:
    # 10, 10.0 and 1E+1 are the same quantity and must share a key.
    normal = value.normalize()
    return format(normal, "f")


def _scope(kind: Kind, vendor: str, ctx: CallContext) -> str:
    return f"{kind}:{_part(vendor)}:{_part(ctx.company)}:{_part(ctx.division)}"


def credit_key(vendor: str, ctx: CallContext, customer_id: str) -> str:
    return f"{_scope('credit', vendor, ctx)}:{_part(customer_id)}"


def item_key(vendor: str, ctx: CallContext, item_id: str) -> str:
    return f"{_scope('item', vendor, ctx)}:{_part(item_id)}"


def price_key(vendor: str, ctx: CallContext, query: PriceQuery) -> str:
    fields = (
        _part(query.customer_id),
        _part(query.item_id),
        _part(_qty(query.quantity)),
        _part(query.uom),
        _part(query.currency),
        query.on_date.isoformat(),
        _part(query.warehouse_id),
    )
    return f"{_scope('price', vendor, ctx)}:{':'.join(fields)}"


def availability_key(
    vendor: str, ctx: CallContext, item_id: str, warehouses: tuple[str, ...]
) -> str:
    # The order of warehouses is kept: it is the order of the answer.
    listed = ",".join(_part(w) for w in warehouses) if warehouses else _NONE
    return f"{_scope('availability', vendor, ctx)}:{_part(item_id)}:{listed}"


def pattern_for(
    kind: Kind,
    vendor: str,
    *,
    company: str | None = None,
    division: str | None = None,
    customer_id: str | None = None,
    item_id: str | None = None,
) -> str | None:
    """The glob selecting ``kind`` entries of one vendor, narrowed by what is given.

    ``None`` means "any" for company and division. Returns None when the kind holds nothing
    about the entity asked for (an item's entries hold no customer). A ``*`` may span several
    components, so a pattern can select a few more entries than asked (a customer id equal to
    an item id elsewhere): invalidation errs on the side of dropping too much, never too little.
    """
    if customer_id is not None and kind in ("item", "availability"):
        return None
    if item_id is not None and kind == "credit":
        return None
    scope = ":".join(
        (
            kind,
            _part(vendor),
            _part(company) if company is not None else _ANY,
            _part(division) if division is not None else _ANY,
        )
    )
    customer = _part(customer_id) if customer_id is not None else _ANY
    item = _part(item_id) if item_id is not None else _ANY
    if kind == "credit":
        tail = customer
    elif kind == "item":
        tail = item
    elif kind == "availability":
        tail = f"{item}:{_ANY}"
    else:
        tail = f"{customer}:{item}:{_ANY}"
    return f"{scope}:{tail}"
