"""Choosing and applying an Intacct price list entry (pure functions, no I/O).

The rule (see ``sandbox/intacct/README.md``): the customer's own price list (``CUSTOMER.
PRICELIST``) first, then the entity's default list. Within a list, an entry must be active, in
the query currency, valid on the date, and its quantity band (``QTYLIMITMIN`` ..
``QTYLIMITMAX``, in the item's base unit, empty max = no upper bound) must hold the quantity.
An item's own entry beats its product line's. Values are per base unit; a value type other
than ``Actual`` is applied to ``ITEM.BASEPRICE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from system_apis.contract import Discount

__all__ = ["PriceEntry", "apply_entry", "parse_date", "parse_decimal", "select_entry"]


class PriceEntry(msgspec.Struct, frozen=True, kw_only=True):
    """View of ``SOPRICELISTENTRY`` holding what pricing needs (text as Intacct sends it)."""

    PRICELISTID: str = ""
    ITEMID: str = ""
    PRODUCTLINEID: str = ""
    DATEFROM: str = ""
    DATETO: str = ""
    QTYLIMITMIN: str = ""
    QTYLIMITMAX: str = ""
    VALUE: str = ""
    VALUETYPE: str = ""
    CURRENCY: str = ""
    STATUS: str = ""


def parse_decimal(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def parse_date(text: str) -> date | None:
    text = text.strip()
    if len(text) == 10 and text[2] == "/" and text[5] == "/":
        # Intacct's own MM/DD/YYYY, read directly: strptime cost more than the rest of a
        # price entry's checks, for every entry of every line.
        month, day, year = text[:2], text[3:5], text[6:]
        if month.isdigit() and day.isdigit() and year.isdigit():
            try:
                return date(int(year), int(month), int(day))
            except ValueError:
                return None
    for fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _applies(entry: PriceEntry, *, currency: str, on_date: date, base_qty: Decimal) -> bool:
    if entry.STATUS and entry.STATUS != "active":
        return False
    if entry.CURRENCY and currency != entry.CURRENCY:
        return False
    start, end = parse_date(entry.DATEFROM), parse_date(entry.DATETO)
    if (start and on_date < start) or (end and on_date > end):
        return False
    low = parse_decimal(entry.QTYLIMITMIN) or Decimal(0)
    high = parse_decimal(entry.QTYLIMITMAX)
    return base_qty >= low and (high is None or high == 0 or base_qty <= high)


def select_entry(
    entries: Sequence[PriceEntry],
    *,
    price_lists: Sequence[str],
    item_id: str,
    product_line: str,
    currency: str,
    on_date: date,
    base_qty: Decimal,
) -> PriceEntry | None:
    """The entry that prices ``base_qty`` of the item on ``on_date``, or None."""
    for plist in price_lists:
        valid = [
            e
            for e in entries
            if plist == e.PRICELISTID
            and _applies(e, currency=currency, on_date=on_date, base_qty=base_qty)
        ]
        own = [e for e in valid if item_id == e.ITEMID]
        line = [
            e for e in valid if not e.ITEMID and product_line and product_line == e.PRODUCTLINEID
        ]
        chosen = own or line
        if chosen:
            # The narrowest band (highest minimum) and the most recent start win.
            return max(
                chosen,
                key=lambda e: (
                    parse_decimal(e.QTYLIMITMIN) or Decimal(0),
                    parse_date(e.DATEFROM) or date.min,
                ),
            )
    return None


def apply_entry(
    entry: PriceEntry, base_price: Decimal
) -> tuple[Decimal, Decimal, tuple[Discount, ...]]:
    """``(list, net, discounts)`` per base unit for ``entry``."""
    value = parse_decimal(entry.VALUE) or Decimal(0)
    kind = entry.VALUETYPE.strip().lower()
    if kind == "actual":
        return value, value, ()
    if kind == "% discount":
        net = base_price * (1 - value / 100)
        return base_price, net, (Discount(kind="percent", value=value, label=entry.PRICELISTID),)
    if kind == "% markup":
        net = base_price * (1 + value / 100)
        return (
            base_price,
            net,
            (Discount(kind="markup_percent", value=value, label=entry.PRICELISTID),),
        )
    if kind == "dollar discount":
        net = max(Decimal(0), base_price - value)
        return base_price, net, (Discount(kind="amount", value=value, label=entry.PRICELISTID),)
    if kind == "dollar markup":
        return (
            base_price,
            base_price + value,
            (Discount(kind="markup_amount", value=value, label=entry.PRICELISTID),),
        )
    raise ValueError(f"unknown price list value type {entry.VALUETYPE!r}")
