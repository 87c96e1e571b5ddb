"""Per-request fan-out: shared lookups, backend errors as reasons, and the deadline cut-off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from process_apis.models import Provenance
from process_apis.routing import RoutedEntity
from system_apis.contract import Availability, CallContext, CustomerCredit, Item, Price
from system_apis.errors import BackendError

__all__ = ["Failure", "Lookups", "failure_from", "provenance_of", "run_until"]

T = TypeVar("T")

DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"


@dataclass(frozen=True)
class Failure:
    """Why a piece of data is missing: a reason code and a human-readable message."""

    code: str
    message: str
    not_found: bool = False


_KIND_CODES = {
    "timeout": DEADLINE_EXCEEDED,
    "rate_limited": "BACKEND_THROTTLED",
    "unavailable": "BACKEND_UNAVAILABLE",
    "protocol": "BACKEND_UNAVAILABLE",
    "auth": "BACKEND_UNAVAILABLE",
    "rejected": "BACKEND_REJECTED",
}


def failure_from(error: BaseException, not_found_code: str) -> Failure:
    if isinstance(error, BackendError):
        if error.kind == "not_found":
            return Failure(not_found_code, error.message, not_found=True)
        return Failure(
            _KIND_CODES.get(error.kind, "BACKEND_UNAVAILABLE"), f"{error.vendor}: {error.message}"
        )
    if isinstance(error, TimeoutError | asyncio.CancelledError):
        return Failure(DEADLINE_EXCEEDED, "The ERP did not answer within the request's deadline.")
    raise error


class Lookups:
    """One request's backend reads, each made once however many lines need it."""

    def __init__(self, routed: RoutedEntity, ctx: CallContext) -> None:
        self.routed = routed
        self.ctx = ctx
        self._items: dict[str, asyncio.Task[Item]] = {}
        self._availability: dict[
            tuple[str, tuple[str, ...]], asyncio.Task[tuple[Availability, ...]]
        ] = {}
        self.records: list[Item | Price | Availability | CustomerCredit] = []

    def _shared(
        self, cache: dict[Any, asyncio.Task[T]], key: Any, make: Callable[[], Awaitable[T]]
    ) -> asyncio.Task[T]:
        task = cache.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            cache[key] = task
        return task

    async def item(self, item_id: str) -> Item:
        item = await self._shared(
            self._items, item_id, lambda: self.routed.backend.get_item(self.ctx, item_id)
        )
        return item

    async def availability(
        self, item_id: str, warehouses: tuple[str, ...]
    ) -> tuple[Availability, ...]:
        rows = await self._shared(
            self._availability,
            (item_id, warehouses),
            lambda: self.routed.backend.get_availability(self.ctx, item_id, warehouses),
        )
        return rows

    def cancel(self) -> None:
        for task in [*self._items.values(), *self._availability.values()]:
            if not task.done():
                task.cancel()


async def run_until(deadline_at_remaining: float, work: Iterable[Awaitable[None]]) -> bool:
    """Run ``work`` concurrently until done or the time is up; cancel what is left.

    Each piece records its own results as it goes, so whatever finished in time is kept.
    Returns True when everything finished.
    """
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return True
    done, pending = await asyncio.wait(tasks, timeout=deadline_at_remaining)
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


class CreditLookup:
    """One customer's credit, fetched inside a fan-out; ``why`` says what went wrong if absent."""

    def __init__(self, routed: RoutedEntity, ctx: CallContext, customer_id: str) -> None:
        self._routed = routed
        self._ctx = ctx
        self._customer_id = customer_id
        self.credit: CustomerCredit | None = None
        self._failure: Failure | None = None

    async def run(self) -> None:
        try:
            self.credit = await self._routed.backend.get_customer_credit(
                self._ctx, self._customer_id
            )
        except Exception as exc:
            self._failure = failure_from(exc, "CUSTOMER_NOT_FOUND")

    @property
    def why(self) -> Failure:
        return self._failure or Failure(
            DEADLINE_EXCEEDED, "The ERP did not answer within the request's deadline."
        )
