"""The System API contract: what every ERP adapter offers, in canonical records.

Adapters (Sage Intacct, Infor M3, …) implement these Protocols and return these records;
the process layer and the caching wrapper depend on nothing else. Records are frozen,
keyword-only msgspec Structs. Money is ``Decimal`` plus an ISO 4217 code; quantities always
travel with their unit of measure. Every record says where it came from and as of when.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import msgspec

__all__ = [
    "Availability",
    "CallContext",
    "CustomerCredit",
    "Discount",
    "ErpBackend",
    "Freshness",
    "FutureReceipt",
    "Invoice",
    "Item",
    "OrderAck",
    "OrderLine",
    "OrderLineAck",
    "OrderParty",
    "OrderRequest",
    "PostalAddress",
    "Price",
    "PriceQuery",
    "Source",
    "UomConversion",
    "Vendor",
]

Vendor = Literal["sage_intacct", "infor_m3", "salesforce"]


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """Which system answered: the vendor and the system id (Intacct company, M3 tenant/CONO)."""

    vendor: Vendor
    system: str


class Freshness(msgspec.Struct, frozen=True, kw_only=True):
    """Set by the caching wrapper when a record was served from cache."""

    cached: bool = False
    age_seconds: float = 0.0
    stale: bool = False
    degraded: bool = False


class CallContext(msgspec.Struct, frozen=True, kw_only=True):
    """Per-call scope handed to every adapter method.

    ``company`` is the ERP-side company or entity the call is about (Intacct entity /
    ``locationid``, M3 ``CONO``); ``division`` is M3's ``DIVI`` where it matters.
    ``deadline`` is an absolute ``time.monotonic()`` instant; adapters must not work past it.
    """

    company: str
    division: str | None = None
    deadline: float | None = None
    correlation_id: str | None = None


class CustomerCredit(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    name: str
    status: Literal["active", "inactive"]
    currency: str
    credit_limit: Decimal | None
    """``None`` means the ERP sets no limit."""
    open_receivables: Decimal
    open_orders: Decimal
    overdue_amount: Decimal = Decimal(0)
    overdue_days: int = 0
    on_hold: bool = False
    hold_reason: str | None = None
    terms: str | None = None
    salesforce_account_id: str | None = None
    source: Source
    as_of: datetime
    freshness: Freshness = Freshness()

    @property
    def exposure(self) -> Decimal:
        return self.open_receivables + self.open_orders

    @property
    def headroom(self) -> Decimal | None:
        if self.credit_limit is None:
            return None
        return self.credit_limit - self.exposure


class UomConversion(msgspec.Struct, frozen=True, kw_only=True):
    """``1 uom`` equals ``factor`` base units (e.g. BOX → 12 when the base unit is EA)."""

    uom: str
    factor: Decimal


class Item(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    description: str
    status: Literal["active", "inactive"]
    base_uom: str
    uoms: tuple[UomConversion, ...] = ()
    """Alternate units with their factors to the base unit (the base unit itself may appear)."""
    item_type: str | None = None
    stocked: bool = True
    source: Source
    as_of: datetime
    freshness: Freshness = Freshness()


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["percent", "amount", "markup_percent", "markup_amount", "override"]
    value: Decimal
    label: str | None = None


class PriceQuery(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    item_id: str
    quantity: Decimal
    uom: str
    currency: str
    on_date: date
    warehouse_id: str | None = None


class Price(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    customer_id: str
    quantity: Decimal
    uom: str
    currency: str
    list_price: Decimal
    """Unit price before discounts, per ``uom``."""
    net_price: Decimal
    """Unit price after discounts, per ``uom``."""
    discounts: tuple[Discount, ...] = ()
    price_list: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    source: Source
    as_of: datetime
    freshness: Freshness = Freshness()


class FutureReceipt(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    quantity: Decimal


class Availability(msgspec.Struct, frozen=True, kw_only=True):
    """Stock of one item in one warehouse, in the item's base unit ``uom``."""

    item_id: str
    warehouse_id: str
    uom: str
    on_hand: Decimal
    allocated: Decimal
    available_now: Decimal
    receipts: tuple[FutureReceipt, ...] = ()
    """Expected additions to availability after today, in date order."""
    source: Source
    as_of: datetime
    freshness: Freshness = Freshness()

    def earliest_date_for(self, quantity: Decimal, today: date) -> date | None:
        """The first date on which ``quantity`` is available, or None if never in view."""
        if self.available_now >= quantity:
            return today
        running = self.available_now
        for receipt in self.receipts:
            running += receipt.quantity
            if running >= quantity:
                return max(receipt.date, today)
        return None


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    item_id: str
    quantity: Decimal
    uom: str
    unit_price: Decimal | None = None
    warehouse_id: str | None = None
    requested_date: date | None = None
    dimensions: dict[str, str] = {}
    """Intacct dimensions per line: ``location``, ``department``, ``class``, ``project``."""
    memo: str | None = None
    tax_amount: Decimal | None = None
    """Tax for the line in the order currency, when the caller computed it (Salesforce)."""


class PostalAddress(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    lines: tuple[str, ...] = ()
    """Street lines, first to last."""
    city: str
    region: str | None = None
    """State or province, as the caller gave it."""
    postal_code: str | None = None
    country: str
    """ISO 3166-1 alpha-2."""


class OrderParty(msgspec.Struct, frozen=True, kw_only=True):
    """A ship-to or bill-to: an address the ERP already holds (``address_id``: an Intacct
    contact name, an M3 customer address number) or one given in full (``address``)."""

    address_id: str | None = None
    address: PostalAddress | None = None


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    external_ref: str
    """Our caller's order reference (the Salesforce Order id): the idempotency key."""
    customer_id: str
    currency: str
    order_date: date
    requested_date: date | None = None
    customer_po: str | None = None
    ship_to: OrderParty | None = None
    bill_to: OrderParty | None = None
    notes: str | None = None
    """Free text for the order (Intacct ``message``, M3 order pre-text)."""
    lines: tuple[OrderLine, ...]


class OrderLineAck(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    item_id: str
    quantity: Decimal
    uom: str
    unit_price: Decimal | None = None
    status: str


class OrderAck(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    external_ref: str | None
    customer_id: str
    status: str
    """The ERP's own status, as text (M3 ``20``, Intacct ``Pending`` …)."""
    currency: str | None = None
    total: Decimal | None = None
    lines: tuple[OrderLineAck, ...] = ()
    created: bool = True
    """False when the order already existed for ``external_ref`` (an idempotent replay)."""
    source: Source
    as_of: datetime


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str
    customer_id: str
    state: str
    currency: str
    total: Decimal
    total_paid: Decimal
    total_due: Decimal
    due_date: date | None = None
    source: Source
    as_of: datetime


@runtime_checkable
class ErpBackend(Protocol):
    """Everything the process layer needs from one ERP connection.

    Errors are raised as ``system_apis.errors.BackendError`` subclasses, never vendor
    exceptions or raw httpx errors.
    """

    @property
    def vendor(self) -> Vendor: ...

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        """Customer master plus credit exposure. Unknown customer → ``NotFoundError``."""
        ...

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        """Item master with UoM conversions. Unknown item → ``NotFoundError``."""
        ...

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        """The price valid for the customer, quantity, unit and date."""
        ...

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        """Availability per warehouse (all stocking warehouses when none are named)."""
        ...

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        """Create a sales order, idempotent by ``order.external_ref``."""
        ...

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        """Status of an order by the ERP's order number."""
        ...

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        """The customer's order carrying ``external_ref``, or None when the ERP has none.

        Asked before a write is repeated after an ambiguous outcome: None must mean "certainly
        absent", so a failed lookup raises rather than answering None.
        """
        ...

    async def ping(self, ctx: CallContext) -> None:
        """A cheap authenticated round-trip, for readiness checks."""
        ...
