"""``SingleFlightBackend``: identical reads in flight at once share one backend call.

The cache's single flight without the cache. With caching off every answer is live, yet a
quote for the same customer and items asked by several reps at once (or a retried request
racing its first attempt) would each make the same ERP calls; against an ERP that lets a
company have only a few requests in flight (Intacct) they would queue behind each other. Here
a read whose twin (same kind, vendor, company, division and query: the cache's key) is in
flight waits for that call's answer instead of making its own. The answer is live: the ERP
gave it after this read began, to the identical read that asked first.

The call runs in the first read's own task, with its context. A read that joined it:

- gets its answer or its error (not found, rejected, ERP unavailable) like the first read;
- when the first read's caller went away (cancelled), or its call timed out at a deadline
  earlier than this read's, makes a call of its own with its own context: nobody is answered
  worse for having waited on a call that had less time than it has;
- when itself cancelled, leaves the call to the others.

Orders, order status and pings pass straight through: a write is never shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from system_apis.cache.keys import KINDS, Kind
from system_apis.cache.passthrough import PassThrough
from system_apis.cache.reads import (
    Read,
    availability_read,
    credit_read,
    item_read,
    price_read,
)
from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    ErpBackend,
    Item,
    Price,
    PriceQuery,
)
from system_apis.errors import BackendTimeoutError

__all__ = ["SingleFlightBackend"]


class _Abandoned(Exception):
    """The first read's caller stopped waiting before its call answered."""


_ABANDONED: Final = _Abandoned()


class _Flight:
    """One call in flight: its answer, and the deadline it runs under."""

    __slots__ = ("answer", "deadline")

    def __init__(self, answer: asyncio.Future[Any], deadline: float | None) -> None:
        self.answer = answer
        self.deadline = deadline


class SingleFlightBackend(PassThrough):
    """``ErpBackend`` over ``inner`` sharing identical reads in flight (see the module doc).

    ``shared`` counts, per data kind, the reads answered by another read's call; ``waiting``
    is how many reads wait for another's call now.
    """

    def __init__(self, inner: ErpBackend) -> None:
        super().__init__(inner)
        self._flights: dict[str, _Flight] = {}
        self.shared: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        self.waiting = 0

    @property
    def joined(self) -> int:
        """Reads of every kind answered by another read's call."""
        return sum(self.shared.values())

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        credit: CustomerCredit = await self._read(ctx, credit_read(self._inner, ctx, customer_id))
        return credit

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        item: Item = await self._read(ctx, item_read(self._inner, ctx, item_id))
        return item

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        price: Price = await self._read(ctx, price_read(self._inner, ctx, query))
        return price

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        rows: tuple[Availability, ...] = await self._read(
            ctx, availability_read(self._inner, ctx, item_id, warehouse_ids)
        )
        return rows

    async def _read(self, ctx: CallContext, read: Read) -> Any:
        while True:
            flight = self._flights.get(read.key)
            if flight is None:
                return await self._lead(ctx, read.key, read.fetch)
            self.waiting += 1
            try:
                # Shielded: this read's cancellation must not cancel the others' answer.
                answer = await asyncio.shield(flight.answer)
            except _Abandoned:
                continue  # the first read's caller went away: go again
            except BackendTimeoutError:
                if not _later(ctx.deadline, flight.deadline):
                    raise  # it had as long as this read has: a call of its own would fare no better
                continue  # the first read ran out of its shorter time: go again
            finally:
                self.waiting -= 1
            self.shared[read.kind] += 1
            return answer

    async def _lead(
        self, ctx: CallContext, key: str, fetch: Callable[[CallContext], Awaitable[Any]]
    ) -> Any:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Retrieved here so an answer nobody joined is never reported as "never retrieved".
        answer.add_done_callback(_retrieve)
        self._flights[key] = _Flight(answer, ctx.deadline)
        try:
            value = await fetch(ctx)
        except Exception as exc:
            answer.set_exception(exc)
            raise
        except BaseException:
            answer.set_exception(_ABANDONED)
            raise
        else:
            answer.set_result(value)
            return value
        finally:
            del self._flights[key]


def _later(mine: float | None, theirs: float | None) -> bool:
    """A read with deadline ``mine`` may wait longer than one with ``theirs`` (None: none)."""
    if theirs is None:
        return False
    return mine is None or mine > theirs


def _retrieve(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()
