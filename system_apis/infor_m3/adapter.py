"""The System API contract over Infor M3 (MI REST v2 through the ION API gateway).

Field mapping (M3 → canonical), chosen where M3 offers several candidates:
- credit: ``CRL3`` (max outstanding invoices + orders) is the limit compared with exposure;
  ``TOIN`` open receivables, ``TBLG`` open orders not invoiced, ``TDIN``/``ODUE`` overdue
  amount/days; ``BLCD != 0`` (customer stop) is on hold; ``STAT 90`` is inactive. A ``CRL3``
  of all nines is read as "no limit" (UNVERIFIED convention).
- items: ``MMS200MI/GetItmBasic`` + ``MMS015MI/Lst`` (quantity alternates, ``AUTP 1``):
  ``DMCF 1`` → factor ``COFA``, ``DMCF 2`` → ``1/COFA`` basic units per alternate unit.
- prices: ``OIS320MI/GetPriceLine``: ``SAPR`` list, ``NETP`` net, ``DIP1``..``DIP6`` percent
  discounts, ``PRRF`` price list (the transaction answers no validity dates).
- availability: ``GetItmWhsBal`` (``STQT`` on hand, ``ALQT`` allocated, ``AV01`` available)
  + ``OIS100MI/GetATP`` (receipts are the increases of the ``AVTQ`` series after its first date).
- orders: ``CUOR`` carries ``external_ref``; ``LstHead`` by customer is searched for it first,
  then ``AddBatchHead`` (the customer's PO as ``YREF``, a known delivery address as ``ADID``),
  ``AddBatchAddress`` (full addresses: ``ADRT`` 1 delivery, 3 invoice), ``AddBatchText``
  (notes as pre-text lines of 60), ``AddBatchLine`` (M3 numbers the lines: ``PONR`` is an
  output, not an input), ``Confirm``; ``GetHead`` + ``LstLine`` read it back. Line tax is not
  sent: M3 taxes an order from its own tax codes and its order API takes no tax amount.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import textwrap
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
import msgspec
from cachetools import LRUCache

from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    Discount,
    FutureReceipt,
    Item,
    OrderAck,
    OrderLineAck,
    OrderParty,
    OrderRequest,
    Price,
    PriceQuery,
    Source,
    UomConversion,
    Vendor,
)
from system_apis.errors import BackendError
from system_apis.infor_m3.client import MiClient, Record
from system_apis.infor_m3.credentials import IonApiCredentials
from system_apis.infor_m3.errors import M3NotFoundError, M3ProtocolError
from system_apis.infor_m3.tokens import TokenProvider
from system_apis.resilience import RequestRate
from system_apis.response_cap import DEFAULT_MAX_RESPONSE_BYTES

__all__ = ["CUOR_LENGTH", "M3Adapter", "cuor_for", "text_lines"]

T = TypeVar("T")
T2 = TypeVar("T2")
CUOR_LENGTH = 20
_NO_LIMIT = Decimal("99999999")
_INACTIVE_STATUSES = frozenset({"90"})
_STOCKED_IN_ENTRIES = 10_000


_DELIVERY, _INVOICE = "1", "3"
"""``ADRT`` address types: 01 delivery address, 03 invoice address (OIS002)."""
_PRE_TEXT = "1"
"""``TYTR`` text type of ``AddBatchText``: 1 pre-text, 2 post-text (UNVERIFIED)."""
_TEXT_WIDTH = 60


def _address_inputs(
    batch: str, adrt: str, party: OrderParty | None
) -> dict[str, str | None] | None:
    """``AddBatchAddress`` for an order address: a full one, or an invoice address by number
    (a known delivery address is ``ADID`` on the head already)."""
    if party is None or (party.address is None and adrt == _DELIVERY):
        return None
    if party.address is None:
        return {"ORNO": batch, "ADRT": adrt, "ADID": party.address_id}
    a = party.address
    street = [*a.lines, "", "", "", ""]
    return {
        "ORNO": batch,
        "ADRT": adrt,
        "CUNM": a.name,
        "CUA1": street[0],
        "CUA2": street[1],
        "CUA3": street[2],
        "CUA4": street[3],
        "TOWN": a.city,
        "ECAR": a.region,
        "PONO": a.postal_code,
        "CSCD": a.country,
    }


def text_lines(text: str | None, width: int = _TEXT_WIDTH) -> list[str]:
    """Notes as M3 text lines (``TX60``): its own lines, wrapped at word breaks to ``width``."""
    out: list[str] = []
    for paragraph in (text or "").splitlines():
        out.extend(textwrap.wrap(paragraph, width) or [""])
    while out and not out[-1]:
        out.pop()
    return out


def cuor_for(external_ref: str) -> str:
    """The ``CUOR`` (20 characters) that carries ``external_ref``: itself when it fits, else a
    stable digest (``#`` + 19 base32 characters) so that a replay finds the same order."""
    if len(external_ref) <= CUOR_LENGTH:
        return external_ref
    digest = base64.b32encode(hashlib.sha256(external_ref.encode()).digest()).decode()
    return "#" + digest[: CUOR_LENGTH - 1]


# The columns each read uses (M3's ``returncols``, a bulk transaction's ``selectedColumns``):
# M3 answers these alone instead of every output of the transaction (GetItmBasic has 118,
# GetPriceLine 93), so less crosses the wire and less is decoded and trimmed per record. Only
# columns the transaction has (M3's own metadata): a field it lacks is not asked for.
_BASIC_DATA = ("CUNO", "CUNM", "STAT", "CUCD")
_FINANCIAL = ("CRL3", "BLCD", "CUCD", "TOIN", "TBLG", "TDIN", "ODUE")
_ITEM = ("ITNO", "ITDS", "STAT", "UNMS", "ITTY", "STCD")
_ALTERNATE_UNITS = ("ALUN", "COFA", "DMCF")
_PRICE_LINE = ("SPUN", "CUCD", "SAPR", "NETP", "PRRF", *(f"DIP{n}" for n in range(1, 7)))
_BALANCE = ("ITNO", "WHLO", "STQT", "ALQT", "AV01")


class M3Adapter:
    """``ErpBackend`` for Infor M3; ``ctx.company`` is the CONO, ``ctx.division`` the DIVI."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        ionapi: IonApiCredentials,
        request_timeout: float = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        rate: RequestRate | None = None,
        batch_window: float | None = None,
    ) -> None:
        """``clock``: what token lifetimes are measured with (tests pass a manual one).
        ``rate``: this process's share of the ION API gateway's request rate (None: unlimited).
        ``batch_window``: how long reads wait for others to share a bulk request (None: never).
        """
        self._ionapi = ionapi
        self.tokens = TokenProvider(client, ionapi, clock=clock)
        self.mi = MiClient(
            client,
            ionapi,
            self.tokens,
            request_timeout=request_timeout,
            max_response_bytes=max_response_bytes,
            rate=rate,
            batch_window=batch_window,
        )
        # (company, item) → the warehouses the last listing named (see get_availability).
        self._stocked_in: LRUCache[tuple[str, str], tuple[str, ...]] = LRUCache(
            maxsize=_STOCKED_IN_ENTRIES
        )
        # One lock per order reference while someone holds it; gone once nobody does.
        self._order_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def vendor(self) -> Vendor:
        return "infor_m3"

    def __repr__(self) -> str:
        return f"M3Adapter(tenant={self._ionapi.ti!r}, iu={self._ionapi.iu!r})"

    def _source(self, ctx: CallContext) -> Source:
        return Source(vendor="infor_m3", system=f"{self._ionapi.ti}/{ctx.company}")

    async def _one(
        self,
        ctx: CallContext,
        program: str,
        transaction: str,
        inputs: dict[str, str | None],
        *,
        batch: bool = False,
        returncols: tuple[str, ...] = (),
    ) -> Record:
        records = await self.mi.execute(
            ctx, program, transaction, inputs, maxrecs=1, batch=batch, returncols=returncols
        )
        if not records:
            raise M3ProtocolError(
                f"{program}/{transaction} returned no record",
                transaction=f"{program}/{transaction}",
            )
        return records[0]

    # -- customers & credit ------------------------------------------------------------
    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        inputs: dict[str, str | None] = {"CUNO": customer_id}
        basic, fin = await _both(
            self._one(ctx, "CRS610MI", "GetBasicData", inputs, batch=True, returncols=_BASIC_DATA),
            self._one(
                ctx,
                "CRS610MI",
                "GetFinancial",
                {**inputs, "DIVI": ctx.division},
                batch=True,
                returncols=_FINANCIAL,
            ),
        )
        limit = _dec(fin.get("CRL3"))
        stop = fin.get("BLCD", "0") or "0"
        on_hold = stop not in ("0", "")
        return CustomerCredit(
            customer_id=basic.get("CUNO") or customer_id,
            name=basic.get("CUNM", ""),
            status="inactive" if basic.get("STAT") in _INACTIVE_STATUSES else "active",
            currency=fin.get("CUCD") or basic.get("CUCD", ""),
            credit_limit=None if limit >= _NO_LIMIT else limit,
            open_receivables=_dec(fin.get("TOIN")),
            open_orders=_dec(fin.get("TBLG")),
            overdue_amount=_dec(fin.get("TDIN")),
            overdue_days=int(_dec(fin.get("ODUE"))),
            on_hold=on_hold,
            hold_reason=f"M3 customer stop {stop}" if on_hold else None,
            terms=fin.get("TEPY") or basic.get("TEPY") or None,
            source=self._source(ctx),
            as_of=_now(),
        )

    # -- items -----------------------------------------------------------------------------
    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        basic, alternates = await _both(
            self._one(
                ctx, "MMS200MI", "GetItmBasic", {"ITNO": item_id}, batch=True, returncols=_ITEM
            ),
            self._alternates(ctx, item_id),
        )
        status = basic.get("STAT", "")
        return Item(
            item_id=basic.get("ITNO") or item_id,
            description=basic.get("ITDS", ""),
            status="active" if "20" <= status < "90" else "inactive",
            base_uom=basic.get("UNMS", ""),
            uoms=alternates,
            item_type=basic.get("ITTY") or None,
            stocked=basic.get("STCD", "1") != "0",
            source=self._source(ctx),
            as_of=_now(),
        )

    async def _alternates(self, ctx: CallContext, item_id: str) -> tuple[UomConversion, ...]:
        try:
            records = await self.mi.execute(
                ctx,
                "MMS015MI",
                "Lst",
                {"ITNO": item_id, "AUTP": "1"},
                maxrecs=0,
                batch=True,
                returncols=_ALTERNATE_UNITS,
            )
        except M3NotFoundError:
            return ()  # no alternate units recorded (or the item is unknown: GetItmBasic says)
        conversions = []
        for rec in records:
            cofa = _dec(rec.get("COFA"))
            if not rec.get("ALUN") or cofa <= 0:
                continue
            factor = cofa if rec.get("DMCF", "1") != "2" else Decimal(1) / cofa
            conversions.append(UomConversion(uom=rec["ALUN"], factor=factor))
        return tuple(conversions)

    # -- prices ----------------------------------------------------------------------------
    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        rec = await self._one(
            ctx,
            "OIS320MI",
            "GetPriceLine",
            {
                "CUNO": query.customer_id,
                "ITNO": query.item_id,
                "ORDT": query.on_date.strftime("%Y%m%d"),
                "ORQA": _m3_number(query.quantity),
                "ALUN": query.uom,
                "CUCD": query.currency,
                "WHLO": query.warehouse_id,
            },
            batch=True,
            returncols=_PRICE_LINE,
        )
        discounts = tuple(
            Discount(kind="percent", value=_dec(rec.get(f"DIP{n}")), label=f"DIP{n}")
            for n in range(1, 7)
            if _dec(rec.get(f"DIP{n}")) != 0
        )
        return Price(
            item_id=rec.get("ITNO") or query.item_id,
            customer_id=rec.get("CUNO") or query.customer_id,
            quantity=query.quantity,
            uom=rec.get("SPUN") or query.uom,
            currency=rec.get("CUCD") or query.currency,
            list_price=_dec(rec.get("SAPR")),
            net_price=_dec(rec.get("NETP")),
            discounts=discounts,
            price_list=rec.get("PRRF") or None,
            source=self._source(ctx),
            as_of=_now(),
        )

    # -- availability ----------------------------------------------------------------------
    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        if warehouse_ids:
            return await self._warehouses_of(ctx, item_id, warehouse_ids)
        # Which warehouses stock the item is only known from a listing, and the balances need
        # it: two rounds. The warehouses the last listing named are asked for at once, with
        # the listing, so the answer takes one round; the listing still decides what is
        # answered (a warehouse added since is fetched after it, one dropped is left out).
        key = (ctx.company, item_id)
        known = self._stocked_in.get(key, ())
        started = {w: asyncio.ensure_future(self._warehouse(ctx, item_id, w)) for w in known}
        try:
            listed = await self.mi.execute(
                ctx,
                "MMS200MI",
                "LstItmWhsByItm",
                {"ITNO": item_id},
                maxrecs=0,
                returncols=("WHLO",),
                batch=True,
            )
            current = tuple(dict.fromkeys(r["WHLO"] for r in listed if r.get("WHLO")))
            self._stocked_in[key] = current
            for whlo in current:
                if whlo not in started:
                    started[whlo] = asyncio.ensure_future(self._warehouse(ctx, item_id, whlo))
            for whlo, task in started.items():
                if whlo not in current:
                    task.cancel()
            if not current:
                return ()
            rows = await asyncio.gather(*(started[w] for w in current))
        except BaseException:
            for task in started.values():
                task.cancel()
            raise
        finally:
            for task in started.values():
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: a dropped warehouse's failure is no news
        return tuple(rows)

    async def _warehouses_of(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...]
    ) -> tuple[Availability, ...]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._warehouse(ctx, item_id, w)) for w in warehouse_ids]
        return tuple(task.result() for task in tasks)

    async def _warehouse(self, ctx: CallContext, item_id: str, whlo: str) -> Availability:
        inputs: dict[str, str | None] = {"ITNO": item_id, "WHLO": whlo}
        balance, series = await _both(
            self._one(ctx, "MMS200MI", "GetItmWhsBal", inputs, batch=True, returncols=_BALANCE),
            # The series as the bulk member's future itself: no task for it.
            self.mi.submit(ctx, "OIS100MI", "GetATP", inputs, maxrecs=0, batch=True),
        )
        on_hand, allocated = _dec(balance.get("STQT")), _dec(balance.get("ALQT"))
        available = _dec(balance["AV01"]) if balance.get("AV01") else on_hand - allocated
        points = sorted(
            ((day, _dec(r.get("AVTQ"))) for r in series if (day := _ymd(r.get("AVTD")))),
            key=lambda p: p[0],
        )
        receipts = []
        for (_, before), (day, after) in itertools.pairwise(points):
            if after > before:
                receipts.append(FutureReceipt(date=day, quantity=after - before))
        uom = next((r["UNMS"] for r in series if r.get("UNMS")), "")
        if not uom:
            item = await self._one(
                ctx, "MMS200MI", "GetItmBasic", {"ITNO": item_id}, batch=True, returncols=_ITEM
            )
            uom = item["UNMS"]
        return Availability(
            item_id=balance.get("ITNO") or item_id,
            warehouse_id=balance.get("WHLO") or whlo,
            uom=uom,
            on_hand=on_hand,
            allocated=allocated,
            available_now=min(available, on_hand),
            receipts=tuple(receipts),
            source=self._source(ctx),
            as_of=_now(),
        )

    # -- orders ----------------------------------------------------------------------------
    async def create_order(self, ctx: CallContext, order: OrderRequest) -> OrderAck:
        cuor = cuor_for(order.external_ref)
        # Duplicates racing inside this process queue up here; the CUOR lookup then finds the
        # first one's order. Across replicas nothing here closes the gap between the lookup and
        # the create: the caller must submit each order from one place at a time.
        key = f"{ctx.company}/{order.customer_id}/{cuor}"
        lock = self._order_locks.get(key)
        if lock is None:
            lock = self._order_locks[key] = asyncio.Lock()
        async with lock:
            existing = await self._find_by_cuor(ctx, order.customer_id, cuor)
            if existing is not None:
                ack = await self.get_order(ctx, existing)
                return _with(ack, external_ref=order.external_ref, created=False)
            return await self._create(ctx, order, cuor)

    async def find_order(
        self, ctx: CallContext, customer_id: str, external_ref: str
    ) -> OrderAck | None:
        """By ``CUOR`` among the customer's confirmed orders."""
        orno = await self._find_by_cuor(ctx, customer_id, cuor_for(external_ref))
        if orno is None:
            return None
        return _with(await self.get_order(ctx, orno), external_ref=external_ref, created=False)

    async def _find_by_cuor(self, ctx: CallContext, customer_id: str, cuor: str) -> str | None:
        heads = await self.mi.execute(
            ctx,
            "OIS100MI",
            "LstHead",
            {"CUNO": customer_id},
            maxrecs=0,
            returncols=("ORNO", "CUOR"),
        )
        return next((h["ORNO"] for h in heads if h.get("CUOR") == cuor and h.get("ORNO")), None)

    async def _create(self, ctx: CallContext, order: OrderRequest, cuor: str) -> OrderAck:
        first_whlo = next((ln.warehouse_id for ln in order.lines if ln.warehouse_id), None)
        head = await self._one(
            ctx,
            "OIS100MI",
            "AddBatchHead",
            {
                "CUNO": order.customer_id,
                "CUOR": cuor,
                "ORDT": order.order_date.strftime("%Y%m%d"),
                "RLDT": order.requested_date.strftime("%Y%m%d") if order.requested_date else None,
                "CUCD": order.currency,
                "WHLO": first_whlo,
                "YREF": order.customer_po,
                "ADID": order.ship_to.address_id if order.ship_to else None,
            },
        )
        batch = head.get("ORNO", "")
        if not batch:
            raise M3ProtocolError(
                "AddBatchHead returned no order number", transaction="OIS100MI/AddBatchHead"
            )
        for adrt, party in ((_DELIVERY, order.ship_to), (_INVOICE, order.bill_to)):
            inputs = _address_inputs(batch, adrt, party)
            if inputs is not None:
                await self.mi.execute(ctx, "OIS100MI", "AddBatchAddress", inputs)
        for text in text_lines(order.notes):
            await self.mi.execute(
                ctx, "OIS100MI", "AddBatchText", {"ORNO": batch, "TYTR": _PRE_TEXT, "TX60": text}
            )
        for line in sorted(order.lines, key=lambda ln: ln.line_no):
            requested = line.requested_date or order.requested_date
            await self._one(
                ctx,
                "OIS100MI",
                "AddBatchLine",
                {
                    # AddBatchLine takes no PONR: M3 numbers the lines itself.
                    "ORNO": batch,
                    "ITNO": line.item_id,
                    "ORQT": _m3_number(line.quantity),
                    "ALUN": line.uom,
                    "WHLO": line.warehouse_id,
                    "DWDT": requested.strftime("%Y%m%d") if requested else None,
                    "SAPR": _m3_number(line.unit_price) if line.unit_price is not None else None,
                },
            )
        confirmed = await self._one(ctx, "OIS100MI", "Confirm", {"ORNO": batch})
        orno = confirmed.get("ORNO") or batch
        try:
            ack = await self.get_order(ctx, orno)
        except BackendError:
            # Confirmed but not readable yet: answer from what we sent.
            return OrderAck(
                order_id=orno,
                external_ref=order.external_ref,
                customer_id=order.customer_id,
                status=confirmed.get("STAT", ""),
                currency=order.currency,
                lines=tuple(
                    OrderLineAck(
                        line_no=ln.line_no,
                        item_id=ln.item_id,
                        quantity=ln.quantity,
                        uom=ln.uom,
                        unit_price=ln.unit_price,
                        status="",
                    )
                    for ln in order.lines
                ),
                created=True,
                source=self._source(ctx),
                as_of=_now(),
            )
        return _with(ack, external_ref=order.external_ref, created=True)

    async def get_order(self, ctx: CallContext, order_id: str) -> OrderAck:
        inputs: dict[str, str | None] = {"ORNO": order_id}
        head, lines = await _both(
            self._one(ctx, "OIS100MI", "GetHead", inputs),
            self.mi.execute(ctx, "OIS100MI", "LstLine", inputs, maxrecs=0),
        )
        return OrderAck(
            order_id=head.get("ORNO") or order_id,
            external_ref=head.get("CUOR") or None,
            customer_id=head.get("CUNO", ""),
            status=head.get("STAT", ""),
            currency=head.get("CUCD") or None,
            total=_dec(head["NTAM"]) if head.get("NTAM") else None,
            lines=tuple(
                OrderLineAck(
                    line_no=int(_dec(ln.get("PONR"))),
                    item_id=ln.get("ITNO", ""),
                    quantity=_dec(ln.get("ORQA")) if ln.get("ALUN") else _dec(ln.get("ORQT")),
                    uom=ln.get("ALUN", ""),
                    unit_price=_dec(ln.get("NEPR") or ln.get("SAPR")),
                    status=ln.get("ORST", ""),
                )
                for ln in lines
            ),
            created=False,
            source=self._source(ctx),
            as_of=_now(),
        )

    async def ping(self, ctx: CallContext) -> None:
        await self.mi.execute(ctx, "MNS150MI", "GetUserData", {}, maxrecs=1)

    async def aclose(self) -> None:
        """Revoke the service account's tokens (the HTTP client belongs to the caller)."""
        await self.tokens.revoke()


async def _both(first: Coroutine[Any, Any, T], second: Awaitable[T2]) -> tuple[T, T2]:
    """Run two calls concurrently; the first failure cancels the other and is raised as is.

    Two bare tasks (``second`` may be a future already: it is used as is) and one waiter
    rather than a TaskGroup and a wrapper coroutine per call: a quote makes this pair of
    reads a few dozen times.
    """
    a = asyncio.ensure_future(first)
    b = asyncio.ensure_future(second)
    waiter: asyncio.Future[asyncio.Future[Any] | None] = a.get_loop().create_future()

    def settle(task: asyncio.Future[Any]) -> None:
        # Every error is retrieved here, so none is logged as never retrieved.
        failed = task.cancelled() or task.exception() is not None
        if not waiter.done():
            if failed:
                waiter.set_result(task)  # the first to fail
            elif a.done() and b.done():
                waiter.set_result(None)

    a.add_done_callback(settle)
    b.add_done_callback(settle)
    try:
        failed = await waiter
    except BaseException:
        a.cancel()
        b.cancel()
        raise
    if failed is not None:
        (b if failed is a else a).cancel()
        failed.result()  # raises its error (or CancelledError)
    return a.result(), b.result()


def _with(ack: OrderAck, *, external_ref: str, created: bool) -> OrderAck:
    return msgspec.structs.replace(ack, external_ref=external_ref, created=created)


def _dec(raw: str | None) -> Decimal:
    if raw is None or not raw.strip():
        return Decimal(0)
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise M3ProtocolError(f"M3 sent a number that is not one: {raw!r}") from None
    return value


def _ymd(raw: str | None) -> date | None:
    """An M3 date (``YYYYMMDD``), or None for none (empty, ``0``) or a malformed one."""
    text = raw.strip() if raw else ""
    # Eight ASCII digits, read directly: strptime costs ~20 us, and a quote reads dozens.
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _m3_number(value: Decimal) -> str:
    """M3 reads plain decimals: no exponent, no needless trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def _now() -> datetime:
    return datetime.now(UTC)
