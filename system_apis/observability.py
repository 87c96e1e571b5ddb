"""Spans and timings around ERP calls, as a wrapper implementing the System API contract.

Two layers use it (see ``app/wiring.py``): ``lookup`` outermost, whose span says whether the
cache answered (``isthmus.cache``: hit / stale / degraded / miss); ``backend`` around the
adapter itself, a CLIENT span per real ERP call whose duration feeds the backend metrics.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any, Literal, Protocol, TypeVar

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
        self._timing = record is not None and layer == "backend"
        # Neither traced nor timed: each call is the inner call itself, no frame of ours.
        self._plain = not self._traced and not self._timing

    @property
    def vendor(self) -> Vendor:
        return self._inner.vendor

    def _wrap(
        self, operation: str, ctx: CallContext, call: Coroutine[Any, Any, T]
    ) -> Coroutine[Any, Any, T]:
        """``call`` (not yet started) as this layer runs it: as is, timed, or traced."""
        if self._plain:
            return call
        if not self._traced:
            return self._timed(operation, call)
        return self._observe(operation, ctx, call)

    async def _observe(self, operation: str, ctx: CallContext, call: Coroutine[Any, Any, T]) -> T:
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

    async def _timed(self, operation: str, call: Coroutine[Any, Any, T]) -> T:
        """The call, its duration and outcome recorded in the backend metrics (backend layer)."""
        if not self._timing:
            return await call
        assert self._record is not None
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await call
        except BackendError as exc:
            outcome = exc.kind
            raise
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            self._record(self.vendor, operation, outcome, time.perf_counter() - started)

    # Plain methods returning the layer's coroutine: an untraced, untimed layer adds no frame
    # of its own to each call's await chain (a quote makes dozens of calls).
    def get_customer_credit(
        self, ctx: CallContext, customer_id: str
    ) -> Coroutine[Any, Any, CustomerCredit]:
        return self._wrap(
            "get_customer_credit", ctx, self._inner.get_customer_credit(ctx, customer_id)
        )

    def get_item(self, ctx: CallContext, item_id: str) -> Coroutine[Any, Any, Item]:
        return self._wrap("get_item", ctx, self._inner.get_item(ctx, item_id))

    def get_price(self, ctx: CallContext, query: PriceQuery) -> Coroutine[Any, Any, Price]:
        return self._wrap("get_price", ctx, self._inner.get_price(ctx, query))

    def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> Coroutine[Any, Any, tuple[Availability, ...]]:
        return self._wrap(
            "get_availability", ctx, self._inner.get_availability(ctx, item_id, warehouse_ids)
        )

    def create_order(self, ctx: CallContext, order: OrderRequest) -> Coroutine[Any, Any, OrderAck]:
        return self._wrap("create_order", ctx, self._inner.create_order(ctx, order))

    def get_order(self, ctx: CallContext, order_id: str) -> Coroutine[Any, Any, OrderAck]:
        return self._wrap("get_order", ctx, self._inner.get_order(ctx, order_id))

    def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> Coroutine[Any, Any, OrderAck | None]:
        return self._wrap("find_order", ctx, self._inner.find_order(ctx, customer_id, external_ref))

    def ping(self, ctx: CallContext) -> Coroutine[Any, Any, None]:
        return self._wrap("ping", ctx, self._inner.ping(ctx))
