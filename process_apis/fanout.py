"""The fan-out every capability shares: one request's ERP reads, the deadline cut-off, and
what a missing piece of data is reported as.

A capability resolves the caller's customer (``resolve_customer``) and lines (``new_lines``),
makes its reads through one ``Lookups`` (each distinct read made once, however many lines
need it) and runs them with ``run_lines`` / ``gather_within`` until everything is back or the
deadline passes; what is still running then is cancelled, and the answer is built from what
arrived. Whatever did not arrive is a ``Failure`` with a reason code: ``DEADLINE_EXCEEDED``
when the ERP was too slow, else what the ERP said (``ITEM_NOT_FOUND``, ``BACKEND_UNAVAILABLE``…).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import msgspec
from cachetools import LRUCache

from process_apis.errors import InvalidInputError
from process_apis.models import CustomerRequest, Provenance
from process_apis.money import Conversion, FxTable
from process_apis.routing import EntityRouter, RoutedEntity
from process_apis.uom import BaseQuantity, UomNotConvertible, to_base
from process_apis.validation import check_quantity
from process_apis.xref import CrossReference
from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    Item,
    Price,
    PriceQuery,
)
from system_apis.errors import BackendError
from system_apis.resilience import Deadline

__all__ = [
    "DEADLINE_EXCEEDED",
    "LATE",
    "Capability",
    "Customer",
    "Failure",
    "ItemHints",
    "LineWork",
    "Lookups",
    "Setup",
    "failure_from",
    "gather_within",
    "new_lines",
    "provenance_of",
    "resolve_customer",
    "run_lines",
]

T = TypeVar("T")
Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)

DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
_TRANSIENT = frozenset({DEADLINE_EXCEEDED, "BACKEND_UNAVAILABLE", "BACKEND_THROTTLED"})


class ItemHints:
    """What earlier requests learned about items: which are active, in which base unit.

    They only decide which reads a request starts before its item read is back (see
    ``Lookups.discard``); every answer still comes from the request's own reads, so a hint
    gone out of date costs one wasted read, never a wrong answer.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._base: LRUCache[tuple[str, str, str], str] = LRUCache(maxsize=maxsize)

    def base_unit(self, routed: RoutedEntity, item_id: str) -> str | None:
        """The base unit of an item last seen active, else None."""
        return self._base.get((routed.route.erp, routed.route.company, item_id))

    def learn(self, routed: RoutedEntity, item_id: str, item: Item) -> None:
        key = (routed.route.erp, routed.route.company, item_id)
        if item.status == "active" and item.item_id == item_id:
            self._base[key] = item.base_uom
        else:
            self._base.pop(key, None)


@dataclass
class Setup:
    """What every capability consults besides the ERP: where each legal entity is served, the
    Salesforce cross-reference, FX rates, today's date (a function, so tests can fix it) and
    how far a quoted price may be from the ERP's before it is a mismatch."""

    router: EntityRouter
    xref: CrossReference
    fx: FxTable
    today: Callable[[], date] = date.today
    price_tolerance: Decimal = Decimal("0.005")
    hints: ItemHints = field(default_factory=ItemHints)


class Capability(Generic[Req, Res]):
    """A business capability: ``await capability(request, deadline, correlation_id)``.

    ``sections``: the provenance of each part of an answer (the memo keeps only answers whose
    every section is complete and fresh).
    """

    name: ClassVar[str]
    """What the memo calls it (``price-check``, ``atp``, ...)."""

    def __init_subclass__(cls, *, name: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = name

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    async def __call__(
        self, request: Req, deadline: Deadline, correlation_id: str | None = None
    ) -> Res:
        raise NotImplementedError

    def sections(self, result: Res) -> Iterable[Provenance]:
        raise NotImplementedError

    def customer_reads(
        self, request: CustomerRequest, deadline: Deadline, correlation_id: str | None
    ) -> tuple[Customer, Lookups]:
        """The request's customer, and the reads of this request from its ERP."""
        customer = resolve_customer(self.setup, request)
        return customer, Lookups.open(
            customer.routed, deadline, correlation_id, hints=self.setup.hints
        )


# ---------------------------------------------------------------- failures


@dataclass(frozen=True)
class Failure:
    """Why a piece of data is missing: a reason code and a human-readable message."""

    code: str
    message: str
    not_found: bool = False

    @property
    def transient(self) -> bool:
        """The ERP was slow, down or throttling: asking again later may work."""
        return self.code in _TRANSIENT


LATE = Failure(DEADLINE_EXCEEDED, "The ERP did not answer within the request's deadline.")

_KIND_CODES = {
    "timeout": DEADLINE_EXCEEDED,
    "rate_limited": "BACKEND_THROTTLED",
    "unavailable": "BACKEND_UNAVAILABLE",
    "protocol": "BACKEND_UNAVAILABLE",
    "auth": "BACKEND_UNAVAILABLE",
    "rejected": "BACKEND_REJECTED",
}


def failure_from(error: BaseException, not_found_code: str) -> Failure:
    """A backend error as a reason; ``not_found_code`` names what a "not found" was about."""
    if isinstance(error, BackendError):
        if error.kind == "not_found":
            return Failure(not_found_code, error.message, not_found=True)
        return Failure(
            _KIND_CODES.get(error.kind, "BACKEND_UNAVAILABLE"), f"{error.vendor}: {error.message}"
        )
    if isinstance(error, TimeoutError | asyncio.CancelledError):
        return LATE
    raise error


# ---------------------------------------------------------------- the request's customer


@dataclass(frozen=True)
class Customer:
    routed: RoutedEntity
    customer_id: str
    """The ERP's customer number."""


def resolve_customer(setup: Setup, request: CustomerRequest) -> Customer:
    """The entity's ERP and the customer in it, named by Salesforce Account id or ERP number."""
    routed = setup.router.resolve(request.entity)
    if (request.account_id is None) == (request.customer_number is None):
        raise InvalidInputError(
            "Give exactly one of accountId and customerNumber.", pointer="/accountId"
        )
    if request.account_id is not None:
        customer = setup.xref.customer_for_account(
            request.account_id, request.entity, pointer="/accountId"
        )
    else:
        assert request.customer_number is not None
        customer = request.customer_number
    return Customer(routed=routed, customer_id=customer)


# ---------------------------------------------------------------- reads


class Lookups:
    """One request's ERP reads, each made once however many lines need it."""

    def __init__(
        self, routed: RoutedEntity, ctx: CallContext, hints: ItemHints | None = None
    ) -> None:
        self.routed = routed
        self.ctx = ctx
        self.hints = hints or ItemHints(maxsize=1)
        self._tasks: dict[tuple[Any, ...], asyncio.Task[Any]] = {}

    @classmethod
    def open(
        cls,
        routed: RoutedEntity,
        deadline: Deadline,
        correlation_id: str | None,
        *,
        hints: ItemHints | None = None,
    ) -> Lookups:
        """The reads of one request to ``routed``'s ERP, bounded by ``deadline``."""
        return cls(routed, routed.context(deadline, correlation_id), hints)

    def base_unit(self, item_id: str) -> str | None:
        """The item's base unit if an earlier request saw it active (a hint, see ``ItemHints``)."""
        return self.hints.base_unit(self.routed, item_id)

    def _once(self, key: tuple[Any, ...], make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(make())
            # A read started ahead (see ``discard``) may end unawaited; its failure is no news.
            task.add_done_callback(_retrieve)
        return task

    def discard(self, key: tuple[Any, ...]) -> None:
        """A read started ahead of need that turned out not to be the one needed: stop it.

        Capabilities start a line's price and availability reads together with its item
        read, guessing the queries from the request line, so that with a slow ERP the answer
        takes one round of calls rather than two; a wrong guess is discarded here.
        """
        task = self._tasks.get(key)
        if task is not None and not task.done():
            task.cancel()

    def item(self, item_id: str) -> Awaitable[Item]:
        backend, ctx, routed, hints = self.routed.backend, self.ctx, self.routed, self.hints

        async def read() -> Item:
            item = await backend.get_item(ctx, item_id)
            hints.learn(routed, item_id, item)
            return item

        return self._once(("item", item_id), read)

    def price(self, query: PriceQuery) -> Awaitable[Price]:
        backend, ctx = self.routed.backend, self.ctx
        return self._once(("price", query), lambda: backend.get_price(ctx, query))

    def availability(
        self, item_id: str, warehouses: tuple[str, ...]
    ) -> Awaitable[tuple[Availability, ...]]:
        backend, ctx = self.routed.backend, self.ctx
        return self._once(
            ("availability", item_id, warehouses),
            lambda: backend.get_availability(ctx, item_id, warehouses),
        )

    def credit(self, customer_id: str) -> Awaitable[CustomerCredit]:
        backend, ctx = self.routed.backend, self.ctx
        return self._once(
            ("credit", customer_id), lambda: backend.get_customer_credit(ctx, customer_id)
        )

    def cancel(self) -> None:
        """After the deadline: stop every read still in flight."""
        for task in self._tasks.values():
            if not task.done():
                task.cancel()


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def gather_within(deadline: Deadline, work: Iterable[Awaitable[None]]) -> bool:
    """Run ``work`` concurrently until all of it is done or the deadline passes.

    Each piece records its own results as it goes, so whatever finished in time is kept; what
    is still running at the deadline is cancelled. True when everything finished.
    """
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return True
    done, pending = await deadline.clock.wait_until(tasks, deadline.at)
    for task in pending:
        task.cancel()
    if pending:
        # Give cancelled calls a moment to unwind (close sockets) without holding the answer.
        await asyncio.wait(pending, timeout=0.01)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return not pending


def provenance_of(
    records: Iterable[Item | Price | Availability | CustomerCredit],
    *,
    expected: int,
    failure: str | None = None,
) -> Provenance:
    """Where a section's records came from, how old they are, and whether all arrived."""
    records = list(records)
    if not records:
        return Provenance(status="unavailable", reason=failure or "NO_DATA")
    status: Literal["complete", "partial"] = (
        "complete" if len(records) >= expected and failure is None else "partial"
    )
    oldest: datetime = min(r.as_of for r in records)
    ages = [r.freshness.age_seconds for r in records if r.freshness.cached]
    return Provenance(
        status=status,
        vendor=records[0].source.vendor,
        system=records[0].source.system,
        as_of=oldest,
        degraded=any(r.freshness.degraded for r in records),
        max_age_seconds=max(ages) if ages else None,
        reason=failure if status == "partial" else None,
    )


# ---------------------------------------------------------------- lines


class RequestLine(Protocol):
    """What every capability's request line names: a product, a quantity and its unit."""

    @property
    def line_no(self) -> int | None: ...
    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def uom(self) -> str: ...


@dataclass
class LineWork:
    """One request line while its lookups come back: filled in step by step by the
    capabilities (item, base quantity, then price and/or availability); ``failures`` holds,
    per section, why it stayed empty."""

    line_no: int
    sku: str
    quantity: Decimal
    uom: str
    erp_uom: str
    item_id: str
    requested_date: date
    warehouse: str | None
    item: Item | None = None
    base: BaseQuantity | None = None
    price: Price | None = None
    conversion: Conversion | None = None
    net_unit: Decimal | None = None
    """Per line ``uom``, in the request currency."""
    list_unit: Decimal | None = None
    availability: tuple[Availability, ...] | None = None
    failures: dict[str, Failure] = field(default_factory=dict)

    async def resolve_item(self, lookups: Lookups) -> bool:
        """The item, active, with the line's quantity as a whole number of its base unit."""
        try:
            item = await lookups.item(self.item_id)
        except Exception as exc:
            self.failures["item"] = failure_from(exc, "ITEM_NOT_FOUND")
            return False
        self.item = item
        if item.status != "active":
            self.failures["item"] = Failure(
                "ITEM_INACTIVE", f"Item {item.item_id} is inactive in the ERP."
            )
            return False
        try:
            base = to_base(item, self.quantity, self.erp_uom)
        except UomNotConvertible as exc:
            self.failures["item"] = Failure("UOM_NOT_CONVERTIBLE", str(exc))
            return False
        self.base = base
        if not base.whole:
            self.failures["item"] = Failure(
                "UOM_NOT_CONVERTIBLE",
                f"{self.quantity} {self.uom} is {base.quantity} {base.base_uom}, not a whole number of base units.",
            )
            return False
        return True

    def echo(self) -> dict[str, Any]:
        """The fields every line result repeats from the request line."""
        return {
            "line_no": self.line_no,
            "sku": self.sku,
            "item_id": self.item_id,
            "quantity": self.quantity,
            "uom": self.uom,
        }

    def missing(self, section: str, otherwise: Failure) -> Failure | None:
        """Why ``section`` has no value (``otherwise`` when nothing failed), None when it has one."""
        failure = self.failures.get("item") or self.failures.get(section)
        if failure is not None:
            return failure
        filled = {"price": self.net_unit, "availability": self.availability}
        return otherwise if filled[section] is None else None

    def mark_unfinished(self, *sections: str) -> None:
        """After the deadline: each of ``sections`` neither filled nor failed ran out of time."""
        filled = {"item": self.item, "price": self.price, "availability": self.availability}
        for section in sections:
            if filled.get(section) is None and section not in self.failures:
                self.failures[section] = LATE


def new_lines(
    setup: Setup,
    routed: RoutedEntity,
    lines: Sequence[RequestLine],
    *,
    requested_date: Callable[[Any], date],
    warehouse: Callable[[Any], str | None] = lambda _line: None,
) -> list[LineWork]:
    """The request's lines with their ERP item and unit (422 for an unknown product)."""
    vendor = routed.route.erp
    work = []
    for index, line in enumerate(lines):
        pointer = f"/lines/{index}"
        check_quantity(line.quantity, f"{pointer}/quantity")
        work.append(
            LineWork(
                line_no=line.line_no or index + 1,
                sku=line.sku,
                quantity=line.quantity,
                uom=line.uom,
                erp_uom=setup.xref.erp_unit(line.uom, vendor),
                item_id=setup.xref.item_for_sku(line.sku, vendor, pointer=f"{pointer}/sku"),
                requested_date=requested_date(line),
                warehouse=warehouse(line),
            )
        )
    return work


async def run_lines(
    deadline: Deadline,
    lookups: Lookups,
    lines: Iterable[LineWork],
    step: Callable[[LineWork], Awaitable[None]],
    *also: Awaitable[None],
) -> bool:
    """Resolve each line's item, then run ``step`` on it (and ``also``), within the deadline.

    Reads still in flight at the deadline are cancelled. True when everything finished.
    """

    async def line_work(line: LineWork) -> None:
        if await line.resolve_item(lookups):
            await step(line)

    finished = await gather_within(deadline, [*also, *(line_work(line) for line in lines)])
    lookups.cancel()
    return finished


def line_status(failure: Failure) -> Literal["unavailable", "error"]:
    """A line the ERP could not answer for now is ``unavailable``; one it refused, ``error``."""
    return "unavailable" if failure.transient else "error"
