"""Spans and timings around ERP calls, as a wrapper implementing the System API contract.

Two layers use it (see ``app/wiring.py``): ``lookup`` outermost, whose span says whether the
cache answered (``isthmus.cache``: hit / stale / degraded / miss); ``backend`` around the
adapter itself, a CLIENT span per real ERP call whose duration feeds the backend metrics.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    ErpBackend,
    Freshness,
    Item,
    OrderAck,
    OrderRequest,
    Price,
    PriceQuery,
    Vendor,
)
from system_apis.errors import BackendError

__all__ = ["BackendCallRecorder", "ObservedBackend"]

T = TypeVar("T")
Layer = Literal["lookup", "backend"]


class BackendCallRecorder(Protocol):
    def __call__(self, vendor: str, operation: str, outcome: str, seconds: float) -> None: ...


def _cache_result(value: object) -> str:
    records = value if isinstance(value, tuple) else (value,)
    freshness = [
        r.freshness for r in records if isinstance(getattr(r, "freshness", None), Freshness)
    ]
    if not freshness:
        return "none"
    if any(f.degraded for f in freshness):
        return "degraded"
    if any(f.stale for f in freshness):
        return "stale"
    if all(f.cached for f in freshness):
        return "hit"
    return "miss"


class ObservedBackend:
    def __init__(
        self,
        inner: ErpBackend,
        *,
        layer: Layer,
        tracer: trace.Tracer | None = None,
        record: BackendCallRecorder | None = None,
    ) -> None:
        self._inner = inner
        self._layer = layer
        self._tracer = tracer or trace.get_tracer("isthmus.system_apis")
        # Tracing off: no span machinery at all on the hot path (cache hits included).
        self._traced = not isinstance(self._tracer, trace.NoOpTracer)
        self._record = record

    @property
    def vendor(self) -> Vendor:
        return self._inner.vendor

    async def _observe(
        self, operation: str, ctx: CallContext, call: Callable[[], Awaitable[T]]
    ) -> T:
        if not self._traced:
            return await self._timed(operation, call)
        kind = SpanKind.CLIENT if self._layer == "backend" else SpanKind.INTERNAL
        name = f"{self.vendor} {operation}" if self._layer == "backend" else f"lookup {operation}"
        with self._tracer.start_as_current_span(name, kind=kind, record_exception=False) as span:
            if not span.is_recording():
                # Below an unsampled request: the decision is made, nothing to describe.
                return await self._timed(operation, call)
            span.set_attributes(
                {
                    "isthmus.vendor": self.vendor,
                    "isthmus.operation": operation,
                    "isthmus.entity": ctx.company + (f"/{ctx.division}" if ctx.division else ""),
                }
            )
            try:
                value = await self._timed(operation, call)
            except BackendError as exc:
                span.set_attribute("isthmus.outcome", exc.kind)
                if exc.code:
                    span.set_attribute("isthmus.vendor_code", exc.code)
                span.set_status(Status(StatusCode.ERROR, exc.kind))
                raise
            except BaseException:
                span.set_attribute("isthmus.outcome", "cancelled")
                raise
            span.set_attribute("isthmus.outcome", "ok")
            if self._layer == "lookup":
                span.set_attribute("isthmus.cache", _cache_result(value))
            return value

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        """The call, its duration and outcome recorded in the backend metrics (backend layer)."""
        if self._record is None or self._layer != "backend":
            return await call()
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await call()
        except BackendError as exc:
            outcome = exc.kind
            raise
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            self._record(self.vendor, operation, outcome, time.perf_counter() - started)

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        return await self._observe(
            "get_customer_credit", ctx, lambda: self._inner.get_customer_credit(ctx, customer_id)
        )

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        return await self._observe("get_item", ctx, lambda: self._inner.get_item(ctx, item_id))

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        return await self._observe("get_price", ctx, lambda: self._inner.get_price(ctx, query))

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        return await self._observe(
            "get_availability",
            ctx,
            lambda: self._inner.get_availability(ctx, item_id, warehouse_ids),
        )

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        return await self._observe(
            "create_order", ctx, lambda: self._inner.create_order(ctx, order)
        )

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        return await self._observe("get_order", ctx, lambda: self._inner.get_order(ctx, order_id))

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        return await self._observe(
            "find_order", ctx, lambda: self._inner.find_order(ctx, customer_id, external_ref)
        )

    async def ping(self, ctx: CallContext) -> None:
        await self._observe("ping", ctx, lambda: self._inner.ping(ctx))
