"""``ProcessApi``: the four read capabilities, behind the whole-answer memo, as one object.

The composition root (``app/wiring.py``) builds one; the routes call its four capabilities.
Each capability lives in the module named after it (``price_check``, ``atp``,
``credit_check``, ``validate_quote``) over the shared fan-out (``fanout``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from process_apis.atp import Atp
from process_apis.credit_check import CreditCheck
from process_apis.fanout import Setup
from process_apis.memo import Remembered, ResultMemo
from process_apis.models import ValidateQuoteRequest, ValidateQuoteResult
from process_apis.money import FxTable
from process_apis.price_check import PriceCheck
from process_apis.routing import EntityRouter
from process_apis.validate_quote import ValidateQuote
from process_apis.xref import CrossReference
from system_apis.resilience import Deadline

__all__ = ["ProcessApi"]


class ProcessApi:
    """Business capabilities over the System API contract, the same for every ERP."""

    def __init__(
        self,
        router: EntityRouter,
        xref: CrossReference,
        fx: FxTable | None = None,
        *,
        price_tolerance: Decimal = Decimal("0.005"),
        today: Callable[[], date] = date.today,
        memo: ResultMemo | None = None,
    ) -> None:
        self.setup = Setup(
            router=router,
            xref=xref,
            fx=fx or FxTable(),
            today=today,
            price_tolerance=price_tolerance,
        )
        self.memo = memo or ResultMemo(ttl_s=0)
        self.price_check = Remembered(PriceCheck(self.setup), self.memo)
        self.atp = Remembered(Atp(self.setup), self.memo)
        self.credit_check = Remembered(CreditCheck(self.setup), self.memo)
        self._validate_quote = Remembered(ValidateQuote(self.setup), self.memo)

    @property
    def remembered(self) -> tuple[Remembered[Any, Any], ...]:
        """The four capabilities behind the memo, each named (``Remembered.name``), as callers
        that send the encoded answer themselves use them: validate-quote's ``elapsed_ms`` is
        then theirs to set (``validate_quote`` below sets it for struct callers)."""
        return (self.price_check, self.atp, self.credit_check, self._validate_quote)

    @property
    def router(self) -> EntityRouter:
        return self.setup.router

    @property
    def xref(self) -> CrossReference:
        return self.setup.xref

    @xref.setter
    def xref(self, xref: CrossReference) -> None:
        self.setup.xref = xref

    async def validate_quote(
        self, request: ValidateQuoteRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> ValidateQuoteResult:
        """The validation, with the time this request took (also when the memo answered)."""
        started = time.perf_counter()
        result = await self._validate_quote(request, deadline, correlation_id)
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        return msgspec.structs.replace(result, elapsed_ms=elapsed)
