"""What a wrapper that shares or keeps reads leaves to the backend it wraps."""

from __future__ import annotations

from system_apis.contract import CallContext, ErpBackend, OrderAck, OrderRequest, Vendor

__all__ = ["PassThrough"]


class PassThrough:
    """The vendor of ``inner``, and its calls that are never answered but by a call of their
    own: orders, order status and pings. Subclasses add the reads they serve otherwise."""

    def __init__(self, inner: ErpBackend) -> None:
        self._inner = inner

    @property
    def vendor(self) -> Vendor:
        return self._inner.vendor

    @property
    def inner(self) -> ErpBackend:
        return self._inner

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        return await self._inner.create_order(ctx, order)

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        return await self._inner.get_order(ctx, order_id)

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        return await self._inner.find_order(ctx, customer_id, external_ref)

    async def ping(self, ctx: CallContext) -> None:
        await self._inner.ping(ctx)
