"""The reference reads a wrapper may answer other than by a call of its own: per read, its data
kind, its cache key, the call that answers it, and how the cache stores and marks the answer.

``CachedBackend`` keeps and marks answers; ``SingleFlightBackend`` only shares calls in flight.
Both key a read the same way, so one read is one thing to either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from system_apis.cache.keys import Kind, availability_key, credit_key, item_key, price_key
from system_apis.cache.store import Codec
from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    ErpBackend,
    Freshness,
    Item,
    Price,
    PriceQuery,
)

__all__ = ["Read", "availability_read", "credit_read", "item_read", "price_read"]

T = TypeVar("T")


def _mark(record: Any, freshness: Freshness) -> Any:
    return msgspec.structs.replace(record, freshness=freshness)


def _mark_one(value: T, freshness: Freshness) -> T:
    return _mark(value, freshness)  # type: ignore[no-any-return]


def _mark_rows(value: tuple[Availability, ...], freshness: Freshness) -> tuple[Availability, ...]:
    return tuple(_mark(row, freshness) for row in value)


_CREDIT: Codec[CustomerCredit] = Codec(CustomerCredit)
_ITEM: Codec[Item] = Codec(Item)
_PRICE: Codec[Price] = Codec(Price)
_AVAILABILITY: Codec[tuple[Availability, ...]] = Codec(tuple[Availability, ...])


@dataclass(frozen=True)
class Read:
    """One reference read: what to call, how to store it, how to mark it."""

    kind: Kind
    key: str
    codec: Codec[Any]
    fetch: Callable[[CallContext], Awaitable[Any]]
    mark: Callable[[Any, Freshness], Any]


def credit_read(inner: ErpBackend, ctx: CallContext, customer_id: str) -> Read:
    return Read(
        "credit",
        credit_key(inner.vendor, ctx, customer_id),
        _CREDIT,
        lambda c: inner.get_customer_credit(c, customer_id),
        _mark_one,
    )


def item_read(inner: ErpBackend, ctx: CallContext, item_id: str) -> Read:
    return Read(
        "item",
        item_key(inner.vendor, ctx, item_id),
        _ITEM,
        lambda c: inner.get_item(c, item_id),
        _mark_one,
    )


def price_read(inner: ErpBackend, ctx: CallContext, query: PriceQuery) -> Read:
    return Read(
        "price",
        price_key(inner.vendor, ctx, query),
        _PRICE,
        lambda c: inner.get_price(c, query),
        _mark_one,
    )


def availability_read(
    inner: ErpBackend, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...]
) -> Read:
    return Read(
        "availability",
        availability_key(inner.vendor, ctx, item_id, warehouse_ids),
        _AVAILABILITY,
        lambda c: inner.get_availability(c, item_id, warehouse_ids),
        _mark_rows,
    )
