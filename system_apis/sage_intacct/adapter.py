"""The System API contract over Sage Intacct (XML gateway): ``IntacctAdapter``."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple, TypeVar

import httpx
import msgspec
from cachetools import LRUCache

from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    FutureReceipt,
    Invoice,
    Item,
    OrderAck,
    OrderLineAck,
    OrderParty,
    OrderRequest,
    PostalAddress,
    Price,
    PriceQuery,
    Source,
    UomConversion,
    Vendor,
)
from system_apis.errors import BackendError
from system_apis.resilience import ConcurrencySlots
from system_apis.response_cap import DEFAULT_MAX_RESPONSE_BYTES
from system_apis.sage_intacct.client import (
    DEFAULT_BATCH_MAX_FUNCTIONS,
    IntacctClient,
    IntacctCredentials,
)
from system_apis.sage_intacct.errors import (
    IntacctDuplicateRequestError,
    IntacctNotFoundError,
    IntacctProtocolError,
    IntacctRejectedError,
)
from system_apis.sage_intacct.gathered import Gathered
from system_apis.sage_intacct.pricing import (
    PriceEntry,
    apply_entry,
    parse_date,
    parse_decimal,
    select_entry,
)
from system_apis.sage_intacct.wire import (
    ContactAddress,
    Record,
    SoLine,
    SoSubtotal,
    filter_op,
    fn_create_contact,
    fn_create_sotransaction,
    fn_read_by_query,
    intacct_date,
    quote,
)

__all__ = ["DEFAULT_PRICE_LISTS", "DEFAULT_TAX_SUBTOTAL", "IntacctAdapter", "contact_name_for"]

DEFAULT_TAX_SUBTOTAL = "Tax"
"""The Sales Order definition's tax subtotal, which receives the lines' tax (configurable)."""

DEFAULT_PRICE_LISTS: Mapping[str, str] = {"DE01": "EUR Standard", "UK01": "GBP Standard"}
"""Entity → its default sales price list, when the caller configures none (sandbox names)."""

# Sales order states whose amount is still uninvoiced exposure.
_OPEN_ORDER_STATES = ("Pending", "Partially Converted", "In Progress", "Draft")
_EXPOSURE_ORDER_STATES = ("Pending", "Partially Converted", "In Progress")
_OPEN_PO_STATES = ("Pending", "Partially Converted", "In Progress")
_STOCKED_TYPES = frozenset({"Inventory", "Stockable Kit"})
_CENT = Decimal("0.01")
_ZERO = Decimal(0)

_V = TypeVar("_V", bound=msgspec.Struct)


class _Customer(msgspec.Struct, frozen=True):
    CUSTOMERID: str = ""
    NAME: str = ""
    STATUS: str = ""
    TERMNAME: str = ""
    CREDITLIMIT: str = ""
    TOTALDUE: str = ""
    ONHOLD: str = ""
    CURRENCY: str = ""
    PRICELIST: str = ""


class _Item(msgspec.Struct, frozen=True):
    ITEMID: str = ""
    NAME: str = ""
    STATUS: str = ""
    ITEMTYPE: str = ""
    PRODUCTLINEID: str = ""
    BASEPRICE: str = ""
    UOMGRPKEY: str = ""
    BASEUOM: str = ""


class _UomDetail(msgspec.Struct, frozen=True):
    UNIT: str = ""
    CONVFACTOR: str = ""
    ISBASE: str = ""


class _Invoice(msgspec.Struct, frozen=True):
    RECORDID: str = ""
    CUSTOMERID: str = ""
    STATE: str = ""
    CURRENCY: str = ""
    TOTALENTERED: str = ""
    TOTALPAID: str = ""
    TOTALDUE: str = ""
    WHENDUE: str = ""


class _SoHeader(msgspec.Struct, frozen=True):
    DOCNO: str = ""
    DOCID: str = ""
    STATE: str = ""
    PONUMBER: str = ""
    CUSTVENDID: str = ""
    CURRENCY: str = ""
    TOTAL: str = ""


class _SoLine(msgspec.Struct, frozen=True):
    LINE_NO: str = ""
    ITEMID: str = ""
    QUANTITY: str = ""
    UNIT: str = ""
    PRICE: str = ""
    STATE: str = ""


class _Stock(msgspec.Struct, frozen=True):
    WAREHOUSEID: str = ""
    WONHAND: str = ""
    WONHOLD: str = ""
    WRESERVED: str = ""
    WALLOCATED: str = ""


class _PoLine(msgspec.Struct, frozen=True):
    # A transaction line names its warehouse WAREHOUSE.LOCATION_NO (not WAREHOUSEID).
    WAREHOUSE: str = msgspec.field(default="", name="WAREHOUSE.LOCATION_NO")
    QUANTITY: str = ""
    QTY_CONVERTED: str = ""
    WHENDUE: str = ""


@asynccontextmanager
async def _concurrently() -> AsyncIterator[asyncio.TaskGroup]:
    """A task group that fails with the first error itself, not an ``ExceptionGroup``, so
    callers see our ``BackendError`` types (the other tasks are cancelled as usual)."""
    try:
        async with asyncio.TaskGroup() as tg:
            yield tg
    except BaseExceptionGroup as group:
        leaves: list[BaseException] = []
        pending: list[BaseException] = [group]
        while pending:
            exc = pending.pop(0)
            if isinstance(exc, BaseExceptionGroup):
                pending.extend(exc.exceptions)
            else:
                leaves.append(exc)
        preferred = next((e for e in leaves if isinstance(e, BackendError)), leaves[0])
        raise preferred from None


class _RequestReads:
    """The master-data reads (customer, item, unit group) of one request, each made once.

    One quote reads the same customer for its credit and for every line's price, and the
    same item for its item, price and availability: with this, each is one read, shared by
    every call of that request (same company and correlation id) until its deadline. A read
    that fails is not kept, so a retry reads again; calls without a correlation id or a
    deadline share nothing (nothing says which request they belong to, or when it ends).
    """

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], _Request] = {}

    async def once(
        self,
        ctx: CallContext,
        key: tuple[str, ...],
        read: Callable[[], Awaitable[list[Record]]],
    ) -> list[Record]:
        if ctx.deadline is None or ctx.correlation_id is None:
            return await read()
        scope = (ctx.company, ctx.correlation_id)
        request = self._requests.get(scope)
        if request is None:
            request = self._requests[scope] = _Request()
        if ctx.deadline > request.until:  # kept as long as any call of the request runs
            request.until = ctx.deadline
            loop = asyncio.get_running_loop()
            delay = max(0.0, ctx.deadline - time.monotonic())
            loop.call_later(delay, self._end, scope, request, ctx.deadline)
        reads = request.reads
        shared = reads.get(key)
        if shared is None:
            shared = reads[key] = _Shared(asyncio.ensure_future(read()))
            shared.task.add_done_callback(functools.partial(_forget_failed, reads, key, shared))
        shared.waiters += 1
        try:
            return list(await asyncio.shield(shared.task))
        finally:
            shared.waiters -= 1
            if shared.waiters == 0 and not shared.task.done():
                shared.task.cancel()  # nobody waits for it any more

    def _end(self, scope: tuple[str, str], request: _Request, until: float) -> None:
        if self._requests.get(scope) is request and request.until == until:  # not extended
            del self._requests[scope]


class _Request:
    __slots__ = ("reads", "until")

    def __init__(self) -> None:
        self.reads: dict[tuple[str, ...], _Shared] = {}
        self.until = float("-inf")


class _Shared:
    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Future[list[Record]]) -> None:
        self.task = task
        self.waiters = 0


def _forget_failed(
    reads: dict[tuple[str, ...], _Shared],
    key: tuple[str, ...],
    shared: _Shared,
    task: asyncio.Future[list[Record]],
) -> None:
    if (task.cancelled() or task.exception() is not None) and reads.get(key) is shared:
        del reads[key]


class _EntriesWhere(NamedTuple):
    """The price list entries that may price an item on a date: of one of ``lists``, for
    the item or its product line, valid on the day."""

    lists: tuple[str, ...]
    item_id: str
    product_line: str
    on: date


class _ItemHint(NamedTuple):
    """What the last read of an item said of the reads that depend on it."""

    group: str
    """``UOMGRPKEY``: its unit group."""
    product_line: str
    """``PRODUCTLINEID``: price list entries may price its product line."""


class _Ahead:
    """A read started before the record it depends on came back, on a guess (``key``)."""

    def __init__(self, key: Hashable, read: Awaitable[list[Record]]) -> None:
        self.key = key
        self.task: asyncio.Future[list[Record]] = asyncio.ensure_future(read)
        self.task.add_done_callback(_retrieve)

    def drop(self) -> None:
        self.task.cancel()


async def _awaited(rows: Awaitable[list[Record]]) -> list[Record]:
    """``rows`` as a coroutine, for a task group."""
    return await rows


def _drop(*aheads: _Ahead | None) -> None:
    """Stop the reads ahead that will not be used (the call failed or needs none)."""
    for ahead in aheads:
        if ahead is not None:
            ahead.drop()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """A read ahead may end unawaited; its failure is no news."""
    if not task.cancelled():
        task.exception()


async def _use(
    ahead: _Ahead | None, key: Hashable, read: Callable[[], Awaitable[list[Record]]]
) -> list[Record]:
    """``ahead``'s rows when it guessed ``key``, else ``read()`` (and ``ahead`` is dropped)."""
    if ahead is None:
        return await read()
    if ahead.key != key:
        ahead.drop()
        return await read()
    try:
        return await ahead.task
    finally:
        ahead.drop()  # a no-op once done; stops it when the caller went away


def _fields(view: type[msgspec.Struct]) -> tuple[str, ...]:
    """The Intacct field names a view reads (its encoded names, e.g. ``WAREHOUSE.LOCATION_NO``)."""
    return view.__struct_encode_fields__


def _view(record: Record, view: type[_V]) -> _V:
    return msgspec.convert(record, view)


def _dec(text: str) -> Decimal:
    return parse_decimal(text) or _ZERO


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def _status(text: str) -> Literal["active", "inactive"]:
    return "active" if text.strip().lower() in ("active", "") else "inactive"


class IntacctAdapter:
    """``ErpBackend`` over the Intacct XML gateway; ``ctx.company`` is the entity (``locationid``).

    One session per entity; never more than ``max_in_flight`` requests at once for the company.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        endpoint_url: str,
        sender_id: str,
        sender_password: str,
        user_id: str,
        company_id: str,
        user_password: str,
        max_in_flight: int = 2,
        request_timeout: float = 30.0,
        default_price_lists: Mapping[str, str] | None = None,
        slots: ConcurrencySlots | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        tax_subtotal: str = DEFAULT_TAX_SUBTOTAL,
        batch_window: float | None = None,
        batch_max_functions: int = DEFAULT_BATCH_MAX_FUNCTIONS,
    ) -> None:
        """``batch_window``: how long reads wait for others to share a request (None: never);
        ``batch_max_functions``: the most functions one such request carries."""
        self._tax_subtotal = tax_subtotal
        self._client = IntacctClient(
            client,
            endpoint_url=endpoint_url,
            credentials=IntacctCredentials(
                sender_id=sender_id,
                sender_password=sender_password,
                user_id=user_id,
                company_id=company_id,
                user_password=user_password,
            ),
            max_in_flight=max_in_flight,
            request_timeout=request_timeout,
            slots=slots,
            max_response_bytes=max_response_bytes,
            batch_window=batch_window,
            batch_max_functions=batch_max_functions,
        )
        self._default_price_lists = dict(
            DEFAULT_PRICE_LISTS if default_price_lists is None else default_price_lists
        )
        self._source = Source(vendor="sage_intacct", system=company_id)
        self._once = _RequestReads()
        # Reads by id started together go as one query (with batching: the same requests).
        self._gathered = Gathered(self._client.read_by_query, enabled=batch_window is not None)
        # What earlier reads told (see ``get_price``): hints, never answers.
        self._item_hints: LRUCache[tuple[str, str], _ItemHint] = LRUCache(maxsize=20_000)
        self._price_list_hints: LRUCache[tuple[str, str], str] = LRUCache(maxsize=20_000)

    @property
    def vendor(self) -> Vendor:
        return "sage_intacct"

    @property
    def client(self) -> IntacctClient:
        """The gateway client (sessions, paging), shared with this company's change feed."""
        return self._client

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    # --- customers ----------------------------------------------------------------------------

    async def _customer(self, ctx: CallContext, customer_id: str) -> _Customer:
        rows = await self._once.once(
            ctx,
            ("CUSTOMER", customer_id),
            lambda: self._client.read_by_query(
                ctx,
                "CUSTOMER",
                _fields(_Customer),
                f"CUSTOMERID = {quote(customer_id)}",
                pagesize=1,
                limit=1,
            ),
        )
        if not rows:
            self._price_list_hints.pop((ctx.company, customer_id), None)
            raise IntacctNotFoundError(f"customer {customer_id!r} not found in Intacct")
        customer = _view(rows[0], _Customer)
        self._price_list_hints[(ctx.company, customer_id)] = customer.PRICELIST
        return customer

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        async with _concurrently() as tg:
            customer_t = tg.create_task(self._customer(ctx, customer_id))
            invoices_t = tg.create_task(
                self._client.read_by_query(
                    ctx,
                    "ARINVOICE",
                    _fields(_Invoice),
                    f"CUSTOMERID = {quote(customer_id)} AND TOTALDUE > 0",
                )
            )
            orders_t = tg.create_task(
                self._client.read_by_query(
                    ctx,
                    "SODOCUMENT",
                    _fields(_SoHeader),
                    f"DOCPARID = 'Sales Order' AND CUSTVENDID = {quote(customer_id)} "
                    f"AND STATE IN {_in(_EXPOSURE_ORDER_STATES)}",
                )
            )
        customer = customer_t.result()
        today = date.today()
        overdue_amount = _ZERO
        overdue_days = 0
        for invoice in (_view(r, _Invoice) for r in invoices_t.result()):
            due = parse_date(invoice.WHENDUE)
            if due is not None and due < today:
                overdue_amount += _dec(invoice.TOTALDUE)
                overdue_days = max(overdue_days, (today - due).days)
        open_orders = sum((_dec(_view(r, _SoHeader).TOTAL) for r in orders_t.result()), _ZERO)
        on_hold = customer.ONHOLD.strip().lower() == "true"
        return CustomerCredit(
            customer_id=customer.CUSTOMERID,
            name=customer.NAME,
            status=_status(customer.STATUS),
            currency=customer.CURRENCY,
            credit_limit=parse_decimal(customer.CREDITLIMIT),
            open_receivables=_dec(customer.TOTALDUE),
            open_orders=open_orders,
            overdue_amount=overdue_amount,
            overdue_days=overdue_days,
            on_hold=on_hold,
            hold_reason="Customer is on hold in Sage Intacct" if on_hold else None,
            terms=customer.TERMNAME or None,
            source=self._source,
            as_of=self._now(),
        )

    async def list_invoices(self, ctx: CallContext, customer_id: str) -> tuple[Invoice, ...]:
        """AR invoices of a customer, oldest due first (paid ones included)."""
        rows = await self._client.query(
            ctx,
            "ARINVOICE",
            _fields(_Invoice),
            filter_=filter_op("equalto", "CUSTOMERID", customer_id),
            order_by=(("WHENDUE", False),),
            pagesize=100,
        )
        now = self._now()
        return tuple(
            Invoice(
                invoice_id=inv.RECORDID,
                customer_id=inv.CUSTOMERID,
                state=inv.STATE,
                currency=inv.CURRENCY,
                total=_dec(inv.TOTALENTERED),
                total_paid=_dec(inv.TOTALPAID),
                total_due=_dec(inv.TOTALDUE),
                due_date=parse_date(inv.WHENDUE),
                source=self._source,
                as_of=now,
            )
            for inv in (_view(r, _Invoice) for r in rows)
        )

    # --- items --------------------------------------------------------------------------------

    async def _item(self, ctx: CallContext, item_id: str) -> _Item:
        rows = await self._once.once(
            ctx,
            ("ITEM", item_id),
            lambda: self._gathered.rows(ctx, "ITEM", _fields(_Item), [("ITEMID", item_id)]),
        )
        if not rows:
            self._item_hints.pop((ctx.company, item_id), None)
            raise IntacctNotFoundError(f"item {item_id!r} not found in Intacct")
        item = _view(rows[0], _Item)
        self._item_hints[(ctx.company, item_id)] = _ItemHint(item.UOMGRPKEY, item.PRODUCTLINEID)
        return item

    def _unit_rows(self, ctx: CallContext, group: str) -> Awaitable[list[Record]]:
        return self._once.once(
            ctx,
            ("UOMDETAIL", group),
            lambda: self._gathered.rows(ctx, "UOMDETAIL", _fields(_UomDetail), [("GRPKEY", group)]),
        )

    def _units_ahead(self, ctx: CallContext, item_id: str) -> _Ahead | None:
        """The unit group read of an item whose group an earlier read told, started now."""
        hint = self._item_hints.get((ctx.company, item_id))
        if hint is None or not hint.group:
            return None
        return _Ahead(hint.group, self._unit_rows(ctx, hint.group))

    async def _units(
        self, ctx: CallContext, item: _Item, ahead: _Ahead | None = None
    ) -> tuple[str, dict[str, Decimal]]:
        """The item's base unit and every unit of its group with its factor to the base
        (from ``ahead`` when that read was of the item's group)."""
        factors: dict[str, Decimal] = {}
        base = item.BASEUOM
        if item.UOMGRPKEY:
            rows = await _use(ahead, item.UOMGRPKEY, lambda: self._unit_rows(ctx, item.UOMGRPKEY))
            for detail in (_view(r, _UomDetail) for r in rows):
                factors[detail.UNIT] = _dec(detail.CONVFACTOR) or Decimal(1)
                if detail.ISBASE.lower() == "true" and not base:
                    base = detail.UNIT
        else:
            _drop(ahead)
        base = base or "EA"
        factors.setdefault(base, Decimal(1))
        return base, factors

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        ahead = self._units_ahead(ctx, item_id)
        try:
            item = await self._item(ctx, item_id)
        except BaseException:
            _drop(ahead)
            raise
        base, factors = await self._units(ctx, item, ahead)
        return Item(
            item_id=item.ITEMID,
            description=item.NAME,
            status=_status(item.STATUS),
            base_uom=base,
            uoms=tuple(
                UomConversion(uom=unit, factor=factor.normalize() if factor != 1 else Decimal(1))
                for unit, factor in sorted(factors.items(), key=lambda kv: kv[1])
            ),
            item_type=item.ITEMTYPE or None,
            stocked=item.ITEMTYPE in _STOCKED_TYPES,
            source=self._source,
            as_of=self._now(),
        )

    # --- prices -------------------------------------------------------------------------------

    def _price_lists(self, ctx: CallContext, customer_price_list: str) -> list[str]:
        """The customer's price list, then the entity's default."""
        return [p for p in (customer_price_list, self._default_price_lists.get(ctx.company)) if p]

    def _entries(self, ctx: CallContext, where: _EntriesWhere) -> Awaitable[list[Record]]:
        day = quote(intacct_date(where.on))
        return self._gathered.rows(
            ctx,
            "SOPRICELISTENTRY",
            _fields(PriceEntry),
            [("ITEMID", where.item_id), ("PRODUCTLINEID", where.product_line)],
            f"PRICELISTID IN {_in(where.lists)} AND DATEFROM <= {day}"
            f" AND (DATETO >= {day} OR DATETO IS NULL)",
        )

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        # What earlier reads told of the item (unit group, product line) and the customer
        # (price list) starts the reads that depend on them now, with the customer and item
        # reads: a price is then one round of requests. A read ahead that turns out not to
        # be the one needed is dropped and the right one made.
        units_ahead = self._units_ahead(ctx, query.item_id)
        entries_ahead: _Ahead | None = None
        item_hint = self._item_hints.get((ctx.company, query.item_id))
        list_hint = self._price_list_hints.get((ctx.company, query.customer_id))
        if item_hint is not None and list_hint is not None:
            guessed_lists = self._price_lists(ctx, list_hint)
            if guessed_lists:
                guessed = _EntriesWhere(
                    tuple(guessed_lists), query.item_id, item_hint.product_line, query.on_date
                )
                entries_ahead = _Ahead(guessed, self._entries(ctx, guessed))
        try:
            async with _concurrently() as tg:
                customer_t = tg.create_task(self._customer(ctx, query.customer_id))
                item_t = tg.create_task(self._item(ctx, query.item_id))
        except BaseException:
            _drop(units_ahead, entries_ahead)
            raise
        customer, item = customer_t.result(), item_t.result()
        lists = self._price_lists(ctx, customer.PRICELIST)
        if not lists:
            _drop(units_ahead, entries_ahead)
            raise IntacctNotFoundError(
                f"no price list applies to customer {query.customer_id!r} in {ctx.company!r}"
            )
        where = _EntriesWhere(tuple(lists), item.ITEMID, item.PRODUCTLINEID, query.on_date)
        async with _concurrently() as tg:
            units_t = tg.create_task(self._units(ctx, item, units_ahead))
            entries_t = tg.create_task(
                _use(entries_ahead, where, lambda: self._entries(ctx, where))
            )
        _base, factors = units_t.result()
        factor = factors.get(query.uom)
        if factor is None:
            raise IntacctRejectedError(
                f"unit {query.uom!r} is not in the unit group of item {query.item_id!r}"
            )
        base_qty = query.quantity * factor
        entries = [_view(r, PriceEntry) for r in entries_t.result()]
        entry = select_entry(
            entries,
            price_lists=lists,
            item_id=item.ITEMID,
            product_line=item.PRODUCTLINEID,
            currency=query.currency,
            on_date=query.on_date,
            base_qty=base_qty,
        )
        if entry is None:
            raise IntacctNotFoundError(
                f"no {query.currency} price for item {query.item_id!r} on {query.on_date} "
                f"in price list(s) {', '.join(lists)}"
            )
        list_base, net_base, discounts = apply_entry(entry, _dec(item.BASEPRICE))
        return Price(
            item_id=item.ITEMID,
            customer_id=customer.CUSTOMERID,
            quantity=query.quantity,
            uom=query.uom,
            currency=query.currency,
            list_price=(list_base * factor).quantize(_CENT, rounding=ROUND_HALF_UP),
            net_price=(net_base * factor).quantize(_CENT, rounding=ROUND_HALF_UP),
            discounts=discounts,
            price_list=entry.PRICELISTID,
            valid_from=parse_date(entry.DATEFROM),
            valid_to=parse_date(entry.DATETO),
            min_quantity=parse_decimal(entry.QTYLIMITMIN),
            max_quantity=parse_decimal(entry.QTYLIMITMAX),
            source=self._source,
            as_of=self._now(),
        )

    # --- availability -------------------------------------------------------------------------

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        match = [("ITEMID", item_id)]
        where = f"WAREHOUSEID IN {_in(warehouse_ids)}" if warehouse_ids else ""
        po_where = f"DOCPARID = 'Purchase Order' AND STATE IN {_in(_OPEN_PO_STATES)}"
        if warehouse_ids:
            po_where = f"WAREHOUSE.LOCATION_NO IN {_in(warehouse_ids)} AND {po_where}"
        async with _concurrently() as tg:
            item_t = tg.create_task(self._item(ctx, item_id))
            stock_t = tg.create_task(
                _awaited(
                    self._gathered.rows(ctx, "ITEMWAREHOUSEINFO", _fields(_Stock), match, where)
                )
            )
            po_t = tg.create_task(
                _awaited(
                    self._gathered.rows(ctx, "PODOCUMENTENTRY", _fields(_PoLine), match, po_where)
                )
            )
        item = item_t.result()
        receipts: dict[str, list[FutureReceipt]] = {}
        for po in (_view(r, _PoLine) for r in po_t.result()):
            due = parse_date(po.WHENDUE)
            remaining = _dec(po.QUANTITY) - _dec(po.QTY_CONVERTED)
            if due is not None and remaining > 0:
                receipts.setdefault(po.WAREHOUSE, []).append(
                    FutureReceipt(date=due, quantity=remaining)
                )
        rows: dict[str, Availability] = {}
        now = self._now()
        for stock in (_view(r, _Stock) for r in stock_t.result()):
            on_hand = _dec(stock.WONHAND)
            allocated = _dec(stock.WRESERVED) + _dec(stock.WALLOCATED)
            held = _dec(stock.WONHOLD)
            rows[stock.WAREHOUSEID] = Availability(
                item_id=item.ITEMID,
                warehouse_id=stock.WAREHOUSEID,
                uom=item.BASEUOM or "EA",
                on_hand=on_hand,
                allocated=allocated,
                available_now=max(_ZERO, on_hand - allocated - held),
                receipts=tuple(sorted(receipts.get(stock.WAREHOUSEID, []), key=lambda r: r.date)),
                source=self._source,
                as_of=now,
            )
        order = list(warehouse_ids) if warehouse_ids else sorted(rows)
        return tuple(rows[w] for w in order if w in rows)

    # --- orders -------------------------------------------------------------------------------

    async def _find_order(self, ctx: CallContext, external_ref: str) -> str | None:
        rows = await self._client.read_by_query(
            ctx,
            "SODOCUMENT",
            ("DOCNO",),
            f"DOCPARID = 'Sales Order' AND PONUMBER = {quote(external_ref)}",
            pagesize=1,
            limit=1,
        )
        return rows[0].get("DOCNO") if rows else None

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        """Create a sales order once per ``external_ref`` (sent as ``referenceno``).

        Looks the reference up first; the create itself carries ``uniqueid=true`` with a
        control id derived from the order, so a replay Intacct already processed is refused
        by the gateway and answered from the existing order.
        """
        existing = await self._find_order(ctx, order.external_ref)
        if existing is not None:
            return await self._ack(ctx, existing, created=False)
        ship_to = await self._contact(ctx, order.ship_to)
        bill_to = await self._contact(ctx, order.bill_to)
        taxed = [line.tax_amount for line in order.lines if line.tax_amount is not None]
        fn = fn_create_sotransaction(
            customer_id=order.customer_id,
            date_created=order.order_date,
            reference_no=order.external_ref,
            currency=order.currency,
            date_due=order.requested_date,
            message=_message(order),
            ship_to_contact=ship_to,
            bill_to_contact=bill_to,
            lines=[
                SoLine(
                    item_id=line.item_id,
                    quantity=format(line.quantity, "f"),
                    unit=line.uom,
                    warehouse_id=line.warehouse_id,
                    price=format(line.unit_price, "f") if line.unit_price is not None else None,
                    location_id=line.dimensions.get("location") or ctx.company or None,
                    department_id=line.dimensions.get("department"),
                    project_id=line.dimensions.get("project"),
                    class_id=line.dimensions.get("class"),
                    memo=line.memo,
                    taxable=None if line.tax_amount is None else line.tax_amount > 0,
                )
                for line in sorted(order.lines, key=lambda ln: ln.line_no)
            ],
            subtotals=[SoSubtotal(self._tax_subtotal, format(sum(taxed, _ZERO), "f"))]
            if taxed
            else [],
        )
        try:
            result = await self._client.call(
                ctx, fn, controlid=_order_controlid(order), uniqueid=True
            )
        except IntacctDuplicateRequestError:
            existing = await self._find_order(ctx, order.external_ref)
            if existing is None:
                raise
            return await self._ack(ctx, existing, created=False)
        key = result.key or ""
        docno = key.partition("-")[2] if key.startswith("Sales Order-") else key
        if not docno:
            raise IntacctProtocolError("create_sotransaction answered without a key")
        return await self._ack(ctx, docno, created=True)

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        return await self._ack(ctx, order_id, created=True)

    async def _contact(self, ctx: CallContext, party: OrderParty | None) -> str | None:
        """The contact a ship-to/bill-to names: the given contact name, or a contact holding
        the full address, created once (its name derives from the address, so a repeat finds
        it rather than creating another)."""
        if party is None:
            return None
        if party.address is None:
            return party.address_id
        address = party.address
        name = contact_name_for(address)
        if await self._contact_exists(ctx, name):
            return name
        contact = ContactAddress(
            contact_name=name,
            print_as=address.name or name,
            company_name=address.name,
            lines=_intacct_lines(address.lines),
            city=address.city,
            state=address.region,
            zip=address.postal_code,
            country_code=address.country,
        )
        try:
            await self._client.call(ctx, fn_create_contact(contact))
        except IntacctRejectedError:
            if not await self._contact_exists(ctx, name):  # else: created meanwhile
                raise
        return name

    async def _contact_exists(self, ctx: CallContext, name: str) -> bool:
        rows = await self._client.read_by_query(
            ctx, "CONTACT", ("RECORDNO",), f"CONTACTNAME = {quote(name)}", pagesize=1, limit=1
        )
        return bool(rows)

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        """By ``PONUMBER`` (the ``referenceno`` the order was created with)."""
        docno = await self._find_order(ctx, external_ref)
        return await self._ack(ctx, docno, created=False) if docno is not None else None

    async def _ack(self, ctx: CallContext, docno: str, *, created: bool) -> OrderAck:
        docid = f"Sales Order-{docno}"
        async with _concurrently() as tg:
            header_t = tg.create_task(
                self._client.read_by_query(
                    ctx,
                    "SODOCUMENT",
                    _fields(_SoHeader),
                    f"DOCPARID = 'Sales Order' AND DOCNO = {quote(docno)}",
                    pagesize=1,
                    limit=1,
                )
            )
            lines_t = tg.create_task(
                self._client.read_by_query(
                    ctx, "SODOCUMENTENTRY", _fields(_SoLine), f"DOCHDRID = {quote(docid)}"
                )
            )
        if not header_t.result():
            raise IntacctNotFoundError(f"sales order {docno!r} not found in Intacct")
        header = _view(header_t.result()[0], _SoHeader)
        lines = sorted(
            (_view(r, _SoLine) for r in lines_t.result()), key=lambda ln: int(ln.LINE_NO or 0)
        )
        return OrderAck(
            order_id=header.DOCNO,
            external_ref=header.PONUMBER or None,
            customer_id=header.CUSTVENDID,
            status=header.STATE,
            currency=header.CURRENCY or None,
            total=parse_decimal(header.TOTAL),
            lines=tuple(
                OrderLineAck(
                    line_no=int(ln.LINE_NO or 0),
                    item_id=ln.ITEMID,
                    quantity=_dec(ln.QUANTITY),
                    uom=ln.UNIT,
                    unit_price=parse_decimal(ln.PRICE),
                    status=ln.STATE or header.STATE,
                )
                for ln in lines
            ),
            created=created,
            source=self._source,
            as_of=self._now(),
        )

    async def ping(self, ctx: CallContext) -> None:
        await self._client.call(ctx, fn_read_by_query("LOCATION", ("LOCATIONID",), "", 1))


def contact_name_for(address: PostalAddress) -> str:
    """A stable contact name for a full address: its name (or city) and a digest of it all."""
    content = msgspec.json.encode(address)
    digest = hashlib.sha256(content).hexdigest()[:10].upper()
    label = " ".join((address.name or address.city).split())[:60]
    return f"{label} ({digest})"


def _intacct_lines(lines: tuple[str, ...]) -> tuple[str, ...]:
    """Intacct holds three street lines; a fourth joins the third."""
    if len(lines) <= 3:
        return lines
    return (*lines[:2], ", ".join(lines[2:]))


def _message(order: OrderRequest) -> str | None:
    """The order's message: the customer's PO first, then the notes."""
    parts = [f"Customer PO {order.customer_po}"] if order.customer_po else []
    if order.notes:
        parts.append(order.notes)
    return "\n".join(parts) or None


def _order_controlid(order: OrderRequest) -> str:
    """Stable for the same order content: a replay is a duplicate, a corrected order is not."""
    digest = hashlib.sha256(msgspec.json.encode(order)).hexdigest()[:40]
    return f"isthmus-so-{digest}"
