"""A small in-memory ERP implementing the System API contract, for process-layer tests.

It records every call and can be told to be slow, hang or fail per method, so tests can prove
what the process layer does with a slow or broken backend without a vendor protocol in the way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    FutureReceipt,
    Item,
    OrderAck,
    OrderRequest,
    Price,
    PriceQuery,
    Source,
    UomConversion,
    Vendor,
)
from system_apis.errors import BackendError, BackendUnavailableError, NotFoundError

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Gate:
    """Holds every call of one method until the test opens it: ordering without sleeps."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the first call arrives at the gate."""
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        self.opened.set()


@dataclass
class FakeErp:
    vendor_name: Vendor = "infor_m3"
    delay: dict[str, float] = field(default_factory=dict)
    """Seconds to sleep per method name (``float('inf')`` hangs)."""
    fail: dict[str, BackendError] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    """Calls of a method named here wait at its gate (after being recorded in ``calls``)."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    customers: dict[str, CustomerCredit] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    """Net price per base unit by item id (list price is 10% higher)."""
    stock: dict[str, list[Availability]] = field(default_factory=dict)

    @property
    def vendor(self) -> Vendor:
        return self.vendor_name

    def _source(self) -> Source:
        return Source(vendor=self.vendor_name, system="fake")

    def gate(self, method: str) -> Gate:
        """From now on, calls of ``method`` wait until the returned gate is opened."""
        gate = self.gates[method] = Gate()
        return gate

    async def _enter(self, method: str, key: str) -> None:
        self.calls.append((method, key))
        delay = self.delay.get(method, 0.0)
        gate = self.gates.get(method)
        try:
            if gate is not None:
                gate.reached.set()
                await gate.opened.wait()
            if delay == float("inf"):
                await asyncio.Event().wait()
            elif delay:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.cancelled.append(method)
            raise
        if method in self.fail:
            raise self.fail[method]

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        await self._enter("get_customer_credit", customer_id)
        if customer_id not in self.customers:
            raise NotFoundError(f"Customer {customer_id} does not exist", vendor=self.vendor_name)
        return self.customers[customer_id]

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        await self._enter("get_item", item_id)
        if item_id not in self.items:
            raise NotFoundError(f"Item {item_id} does not exist", vendor=self.vendor_name)
        return self.items[item_id]

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        await self._enter("get_price", query.item_id)
        if query.item_id not in self.prices:
            raise NotFoundError(f"No price for item {query.item_id}", vendor=self.vendor_name)
        net = self.prices[query.item_id]
        if query.quantity >= 100:
            net = net * Decimal("0.9")
        return Price(
            item_id=query.item_id,
            customer_id=query.customer_id,
            quantity=query.quantity,
            uom=query.uom,
            currency="USD",
            list_price=self.prices[query.item_id] * Decimal("1.1"),
            net_price=net,
            price_list="FAKE",
            source=self._source(),
            as_of=NOW,
        )

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        await self._enter("get_availability", item_id)
        rows = self.stock.get(item_id, [])
        return tuple(r for r in rows if not warehouse_ids or r.warehouse_id in warehouse_ids)

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        raise BackendUnavailableError("not supported by the fake", vendor=self.vendor_name)

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        raise BackendUnavailableError("not supported by the fake", vendor=self.vendor_name)

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        raise BackendUnavailableError("not supported by the fake", vendor=self.vendor_name)

    async def ping(self, ctx: CallContext) -> None:
        await self._enter("ping", "")


def price_query(**overrides: object) -> PriceQuery:
    """A price query for the seeded customer C1 and item I1 (1 EA in USD), with overrides."""
    values: dict[str, object] = {
        "customer_id": "C1",
        "item_id": "I1",
        "quantity": Decimal(1),
        "uom": "EA",
        "currency": "USD",
        "on_date": date(2026, 11, 23),
    }
    return PriceQuery(**{**values, **overrides})  # type: ignore[arg-type]


def seeded_fake(vendor: Vendor = "infor_m3", today: date | None = None) -> FakeErp:
    today = today or date.today()
    fake = FakeErp(vendor_name=vendor)
    src = fake._source()

    def credit(cid: str, **kw: object) -> CustomerCredit:
        values: dict[str, object] = {
            "customer_id": cid,
            "name": f"Customer {cid}",
            "status": "active",
            "currency": "USD",
            "credit_limit": Decimal("10000"),
            "open_receivables": Decimal("2000"),
            "open_orders": Decimal("1000"),
            "source": src,
            "as_of": NOW,
        }
        values.update(kw)
        return CustomerCredit(**values)  # type: ignore[arg-type]

    fake.customers = {
        "C1": credit("C1"),
        "HOLD": credit("HOLD", on_hold=True, hold_reason="Customer stop 2"),
        "GONE": credit("GONE", status="inactive"),
    }
    uoms = (
        UomConversion(uom="BOX", factor=Decimal(12)),
        UomConversion(uom="PAL", factor=Decimal(480)),
    )
    fake.items = {
        "I1": Item(
            item_id="I1",
            description="Widget",
            status="active",
            base_uom="EA",
            uoms=uoms,
            source=src,
            as_of=NOW,
        ),
        "I2": Item(
            item_id="I2",
            description="Gadget",
            status="active",
            base_uom="EA",
            uoms=uoms,
            source=src,
            as_of=NOW,
        ),
        "OLD": Item(
            item_id="OLD",
            description="Retired",
            status="inactive",
            base_uom="EA",
            source=src,
            as_of=NOW,
        ),
        "KG": Item(
            item_id="KG", description="Bulk", status="active", base_uom="EA", source=src, as_of=NOW
        ),
    }
    fake.prices = {"I1": Decimal("10.00"), "I2": Decimal("5.00"), "KG": Decimal("1.00")}
    fake.stock = {
        "I1": [
            Availability(
                item_id="I1", warehouse_id="W1", uom="EA", on_hand=Decimal(60), allocated=Decimal(10),
                available_now=Decimal(50), source=src, as_of=NOW,
                receipts=(FutureReceipt(date=today + timedelta(days=10), quantity=Decimal(100)),),
            ),
            Availability(
                item_id="I1", warehouse_id="W2", uom="EA", on_hand=Decimal(5), allocated=Decimal(0),
                available_now=Decimal(5), source=src, as_of=NOW,
            ),
        ],
        "I2": [
            Availability(
                item_id="I2", warehouse_id="W1", uom="EA", on_hand=Decimal(1000), allocated=Decimal(0),
                available_now=Decimal(1000), source=src, as_of=NOW,
            )
        ],
    }  # fmt: skip
    return fake
