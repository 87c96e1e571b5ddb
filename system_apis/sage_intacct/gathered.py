"""Reads of one object that differ only in the ids they match, started together, sent as one
``readByQuery`` (``ITEMID IN (...)``); each caller gets the rows of its own ids.

A quote of ten lines reads ten items, their stock, their open purchase lines and their price
list entries: forty ``readByQuery`` functions where four answer the same rows. Intacct meters
its API by function (each one an API transaction of the company's allowance), and each costs
both sides a query's work, so a gathered read is cheaper on every count.

A read opens a gathering for its object, fields and the rest of its query; reads with the same
three that start in the same turn of the event loop join it, up to ``MAX_GATHERED`` reads. On
the next turn one read is made for all of them, with the widest deadline among them, joining
the client's open batch right then (so it goes in the same request as the reads it was started
with), and its rows are handed out: a caller's rows are those matching one of its own values,
exactly the rows its own query would have read. A read alone goes as its own query, as before.
A failure fails every read of the gathering (each would have met it); the read stops when every
caller has gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from system_apis.contract import CallContext
from system_apis.sage_intacct.client import widest
from system_apis.sage_intacct.wire import Record, quote

__all__ = ["MAX_GATHERED", "Gathered", "ReadByQuery"]

MAX_GATHERED = 50
"""Reads in one gathering: their ids make one ``IN`` list, kept to a modest query length."""

ReadByQuery = Callable[[CallContext, str, tuple[str, ...], str], Awaitable[list[Record]]]
"""``(ctx, object, fields, query) -> rows``: the client's ``read_by_query``."""

_Key = tuple[str, str | None, str, tuple[str, ...], tuple[str, ...], str]


class Gathered:
    """Gathers reads by id (see the module doc); with ``enabled`` False each read is sent alone."""

    def __init__(self, read: ReadByQuery, *, enabled: bool = True) -> None:
        self._read = read
        self._enabled = enabled
        self._open: dict[_Key, _Gathering] = {}

    def rows(
        self,
        ctx: CallContext,
        obj: str,
        fields: tuple[str, ...],
        match: Sequence[tuple[str, str]],
        where: str = "",
    ) -> Awaitable[list[Record]]:
        """The rows of ``obj`` where one of ``match``'s ``(field, value)`` holds (an empty
        value matches nothing) and ``where`` (the rest of the query) holds too."""
        if not any(value for _, value in match):  # an empty id matches no row
            nothing: asyncio.Future[list[Record]] = asyncio.get_running_loop().create_future()
            nothing.set_result([])
            return nothing
        if not self._enabled:
            return self._read(ctx, obj, fields, _query(match, where))
        names = tuple(name for name, _ in match)
        key: _Key = (ctx.company, ctx.division, obj, fields, names, where)
        gathering = self._open.get(key)
        if gathering is None or len(gathering.members) >= MAX_GATHERED:
            gathering = self._open[key] = _Gathering(self, key)
        return gathering.join(ctx, tuple(value for _, value in match))

    def _close(self, key: _Key, gathering: _Gathering) -> None:
        if self._open.get(key) is gathering:
            del self._open[key]


class _Member:
    __slots__ = ("ctx", "future", "values")

    def __init__(
        self, ctx: CallContext, values: tuple[str, ...], future: asyncio.Future[list[Record]]
    ) -> None:
        self.ctx = ctx
        self.values = values
        self.future = future


class _Gathering:
    __slots__ = ("_task", "key", "members", "owner")

    def __init__(self, owner: Gathered, key: _Key) -> None:
        self.owner = owner
        self.key = key
        self.members: list[_Member] = []
        self._task: asyncio.Future[None] | None = None
        asyncio.get_running_loop().call_soon(self._go)

    def join(self, ctx: CallContext, values: tuple[str, ...]) -> asyncio.Future[list[Record]]:
        future: asyncio.Future[list[Record]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(self._left)
        self.members.append(_Member(ctx, values, future))
        return future

    def _go(self) -> None:
        """A turn after the first read: the reads one request sets off start in the same turn
        (each a task at the same depth). The read joins the client's open batch now."""
        self.owner._close(self.key, self)
        live = [m for m in self.members if not m.future.done()]
        if live:
            self._task = asyncio.ensure_future(self._deliver(live, self._start(live)))

    def _left(self, _future: asyncio.Future[list[Record]]) -> None:
        """A caller went (or was answered): the read stops once nobody waits for it."""
        task = self._task
        if task is not None and not task.done() and all(m.future.done() for m in self.members):
            task.cancel()

    def _start(self, members: list[_Member]) -> Awaitable[list[Record]]:
        _company, _division, obj, fields, names, where = self.key
        ctx = widest(m.ctx for m in members)
        if len(members) == 1:
            match = list(zip(names, members[0].values, strict=True))
            return self.owner._read(ctx, obj, fields, _query(match, where))
        sent_fields = fields + tuple(n for n in names if n not in fields)
        return self.owner._read(
            ctx, obj, sent_fields, _query_in(names, [m.values for m in members], where)
        )

    async def _deliver(self, members: list[_Member], read: Awaitable[list[Record]]) -> None:
        names = self.key[4]
        try:
            rows = await read
        except Exception as exc:
            for m in members:
                if not m.future.done():
                    m.future.set_exception(exc)
            return
        if len(members) == 1:
            if not members[0].future.done():
                members[0].future.set_result(rows)
            return
        # Rows by the values they match, once: each caller then takes its own by lookup, not
        # by a scan of every row (a 50-line quote's gathered read answers hundreds of rows).
        matching: dict[tuple[str, str], list[int]] = {}
        for i, row in enumerate(rows):
            for name in names:
                value = row.get(name)
                if value:
                    matching.setdefault((name, value), []).append(i)
        for m in members:
            if m.future.done():
                continue
            hits = [
                matching.get((name, value), [])
                for name, value in zip(names, m.values, strict=True)
                if value
            ]
            # In the answer's order, a row matching on two names once.
            picked = hits[0] if len(hits) == 1 else sorted(set().union(*hits))
            m.future.set_result([rows[i] for i in picked])


def _query(match: Sequence[tuple[str, str]], where: str) -> str:
    """One read's own query: ``(A = 'a' OR B = 'b') AND where``."""
    parts = [f"{name} = {quote(value)}" for name, value in match if value]
    if not parts:
        raise ValueError("a gathered read matches at least one value")
    condition = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return f"{condition} AND {where}" if where else condition


def _query_in(names: tuple[str, ...], values: list[tuple[str, ...]], where: str) -> str:
    """The gathering's query: ``(A IN (...) OR B IN (...)) AND where``."""
    parts = []
    for i, name in enumerate(names):
        distinct = sorted({v[i] for v in values if v[i]})
        if distinct:
            parts.append(f"{name} IN (" + ", ".join(quote(v) for v in distinct) + ")")
    condition = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return f"{condition} AND {where}" if where else condition
