"""Money: Decimal amounts in ISO 4217 currencies, converted only by a configured rate table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import msgspec

__all__ = ["Conversion", "FxRate", "FxTable", "round_money"]

_CENTS = Decimal("0.01")


def round_money(amount: Decimal, places: Decimal = _CENTS) -> Decimal:
    return amount.quantize(places, rounding=ROUND_HALF_EVEN)


class Conversion(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Says that an amount was converted, from what, at which rate and as of when."""

    from_currency: str
    to_currency: str
    rate: Decimal
    as_of: date


@dataclass(frozen=True)
class FxRate:
    rate: Decimal
    as_of: date


class FxTable:
    """Rates keyed ``"EUR/USD"`` meaning 1 EUR = rate USD; the inverse is derived."""

    def __init__(self, rates: Mapping[str, FxRate] | None = None) -> None:
        self._rates: dict[tuple[str, str], FxRate] = {}
        for pair, fx in (rates or {}).items():
            base, quote = pair.upper().split("/")
            self._rates[(base, quote)] = fx

    def conversion(self, from_currency: str, to_currency: str) -> Conversion | None:
        if from_currency == to_currency:
            return None
        direct = self._rates.get((from_currency, to_currency))
        if direct is not None:
            return Conversion(
                from_currency=from_currency,
                to_currency=to_currency,
                rate=direct.rate,
                as_of=direct.as_of,
            )
        inverse = self._rates.get((to_currency, from_currency))
        if inverse is not None:
            rate = (Decimal(1) / inverse.rate).quantize(Decimal("0.0000000001"))
            return Conversion(
                from_currency=from_currency, to_currency=to_currency, rate=rate, as_of=inverse.as_of
            )
        raise KeyError(f"{from_currency}/{to_currency}")

    def convert(
        self, amount: Decimal, from_currency: str, to_currency: str
    ) -> tuple[Decimal, Conversion | None]:
        """``amount`` in ``to_currency``; ``KeyError`` when no rate is configured."""
        conversion = self.conversion(from_currency, to_currency)
        if conversion is None:
            return amount, None
        return amount * conversion.rate, conversion
