"""Transport to the Intacct XML gateway: sessions per entity, a cap on requests in flight,
deadlines turned into timeouts, paging through ``readMore`` and ``offset``, errors mapped.

With a ``batch_window``, the reads of ``read_by_query`` and ``query`` (``readByQuery``,
``readMore``, ``query``) that start together for the same entity (until a few turns of the
event loop pass with none started, or two windows at most) are sent as one request: several
``<function>`` elements, each with its own control id, under ``transaction="false"``, so each
executes and answers on its own and one function's failure is only its caller's error. A
quote's dozens of reads become a handful of requests, each taking one of the company's few
request slots (``system_apis.quiet_turns`` says when a batch is complete). A read alone goes as
the single-function request it always was; writes (``call``, ``call_all``) are never batched. A
whole request failing (transport, HTTP status, control error) fails every read in it, and a
refused session is renewed and the request sent once more, as for a single call; repeating
reads is harmless.

While the company's request slots are all busy, a batch stays open: every read that starts
meanwhile joins the one request that goes when a slot frees (up to ``batch_max_functions``),
instead of each waiting for a slot of its own; the same function asked for by several reads
(the same item read for two quotes) goes once and answers them all.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import httpx

from system_apis.contract import CallContext
from system_apis.errors import BackendTimeoutError
from system_apis.quiet_turns import QuietTurns
from system_apis.resilience import ConcurrencySlots, LocalSlots, remaining_seconds
from system_apis.response_cap import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ResponseTooLargeError,
    send_capped,
)
from system_apis.sage_intacct.errors import (
    VENDOR,
    IntacctProtocolError,
    IntacctRateLimitedError,
    IntacctTimeoutError,
    IntacctUnavailableError,
    error_from_details,
)
from system_apis.sage_intacct.wire import (
    FunctionResult,
    IntacctResponse,
    Login,
    Record,
    build_request,
    fn_get_api_session,
    fn_query,
    fn_read_by_query,
    fn_read_more,
    parse_response,
    records,
    xml_text,
)

__all__ = ["DEFAULT_BATCH_MAX_FUNCTIONS", "IntacctClient", "IntacctCredentials", "widest"]

_HANDOFF_TURNS = 32
"""Turns of the event loop a request's readers get, slot still held, when another batch
waits for it: enough for an answer to set off its dependent reads (an item's unit group, a
price's list entries), which then go in the very next request rather than the one after."""

DEFAULT_BATCH_MAX_FUNCTIONS = 50
"""Functions in one batched request at most. Intacct documents no limit we could find (100 is
often quoted for the XML API); 50 stays well inside it and keeps one answer small."""


@dataclass(frozen=True)
class IntacctCredentials:
    sender_id: str
    sender_password: str = field(repr=False)
    user_id: str
    company_id: str
    user_password: str = field(repr=False)


@dataclass(frozen=True)
class _Session:
    session_id: str = field(repr=False)
    endpoint: str


class IntacctClient:
    """One Intacct company. ``ctx.company`` names the entity (``locationid``) of each call.

    At most ``max_in_flight`` HTTP requests are outstanding at once for the company, whatever
    the entity: Intacct's concurrency limit is per company.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint_url: str,
        credentials: IntacctCredentials,
        max_in_flight: int = 2,
        request_timeout: float = 30.0,
        slots: ConcurrencySlots | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        batch_window: float | None = None,
        batch_max_functions: int = DEFAULT_BATCH_MAX_FUNCTIONS,
    ) -> None:
        """``batch_window``: seconds reads wait for company in one request (None: never);
        ``batch_max_functions``: a batch that reaches this size is sent at once."""
        self._http = http
        self._batch_window = batch_window
        self._batch_max = max(1, batch_max_functions)
        self._open: dict[str, _Batch] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._quiet = QuietTurns()
        """Reads queued for a batch so far: a batch starts once they stop coming."""
        self._waiting = 0
        """Batches waiting for a request slot."""
        self._max_response_bytes = max_response_bytes
        self._endpoint_url = endpoint_url
        self._cred = credentials
        self._request_timeout = request_timeout
        self._slots: ConcurrencySlots = slots or LocalSlots(max_in_flight)
        self._sessions: dict[str, _Session] = {}
        self._session_locks: dict[str, asyncio.Lock] = {}
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    @property
    def company_id(self) -> str:
        return self._cred.company_id

    def _controlid(self, kind: str) -> str:
        return f"isthmus-{self._prefix}-{kind}-{next(self._counter)}"

    # --- one function -------------------------------------------------------------------------

    async def call(
        self, ctx: CallContext, fn: Element, *, controlid: str | None = None, uniqueid: bool = False
    ) -> FunctionResult:
        """Run one function with the entity's session; raise an ``IntacctError`` on failure.

        A session the gateway refuses (expired, revoked) is renewed once; a second refusal is
        an ``IntacctAuthError``.
        """
        response = await self._send_in_session(
            ctx,
            [(self._controlid("fn"), fn)],
            controlid=controlid or self._controlid(fn.tag),
            uniqueid=uniqueid,
        )
        return self._single_result(response, fn.tag)

    async def call_all(
        self, ctx: CallContext, fns: Sequence[Element], *, transaction: bool = False
    ) -> tuple[FunctionResult, ...]:
        """Run several functions in one request; with ``transaction`` Intacct applies all of
        them or none. Raises the error of the function that failed (not the ``aborted`` ones
        Intacct rolled back because of it)."""
        response = await self._send_in_session(
            ctx,
            [(self._controlid("fn"), fn) for fn in fns],
            controlid=self._controlid("batch"),
            transaction=transaction,
        )
        if len(response.results) != len(fns):
            raise IntacctProtocolError(
                f"{len(fns)} functions sent, {len(response.results)} results answered"
            )
        failed = [r for r in response.results if r.status != "success"]
        if failed:
            first = next((r for r in failed if r.status == "failure"), failed[0])
            raise error_from_details(first.errors, level="result")
        return response.results

    async def _send_in_session(
        self,
        ctx: CallContext,
        functions: Sequence[tuple[str, Element]],
        *,
        controlid: str,
        uniqueid: bool = False,
        transaction: bool = False,
    ) -> IntacctResponse:
        """One request of ``functions`` with the entity's session. A session the gateway
        refuses (expired, revoked) is renewed once; a second refusal is an ``IntacctAuthError``."""
        for attempt in range(2):
            session = await self._session(ctx)
            body = build_request(
                sender_id=self._cred.sender_id,
                sender_password=self._cred.sender_password,
                controlid=controlid,
                functions=functions,
                session_id=session.session_id,
                uniqueid=uniqueid,
                transaction=transaction,
            )
            response = await self._post(ctx, session.endpoint, body)
            if response.auth_status != "failure":
                return response
            self._forget_session(ctx.company, session)
            if attempt == 1:
                raise error_from_details(response.auth_errors, level="authentication")
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _single_result(response: IntacctResponse, name: str) -> FunctionResult:
        if not response.results:
            raise IntacctProtocolError(f"no <result> for {name} in the response")
        result = response.results[0]
        if result.status != "success":
            raise error_from_details(result.errors, level="result")
        return result

    # --- batched reads ---------------------------------------------------------------------

    def _read(self, ctx: CallContext, fn: Element) -> Awaitable[FunctionResult]:
        """A read function: alone, or in the entity's open batch (see the module doc), which
        it joins now, not when awaited."""
        if self._batch_window is None:
            return self.call(ctx, fn)
        future: asyncio.Future[FunctionResult] = asyncio.get_running_loop().create_future()
        text = xml_text(fn)  # written once: the same function's key and what is sent
        self._enqueue(_Member(ctx, fn, text, future), text)
        return future

    def _enqueue(self, member: _Member, key: object) -> None:
        """Into the entity's open batch (a new one, if none is open); same ``key``, same function."""
        entity = member.ctx.company
        batch = self._open.get(entity)
        self._quiet.queue()
        if batch is None:
            opened = batch = self._open[entity] = _Batch()
            self._quiet.watch(
                lambda: opened.started,
                lambda: self._start(entity, opened),
                self._batch_window or 0.0,
            )
        batch.add(member, key)
        if len(batch.functions) >= self._batch_max:
            self._close(entity, batch)
            self._start(entity, batch)

    def _close(self, entity: str, batch: _Batch) -> None:
        """No more reads join ``batch``."""
        if self._open.get(entity) is batch:
            del self._open[entity]

    def _start(self, entity: str, batch: _Batch) -> None:
        """``batch``'s window is over (or it is full): send it as soon as a slot is free."""
        if batch.started:
            return  # already started when it filled up; this is its window's timer
        batch.started = True
        task = asyncio.ensure_future(self._send_batch(entity, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_batch(self, entity: str, batch: _Batch) -> None:
        """Wait for a request slot while ``batch`` stays open, then send what it holds.

        Reads that start while the company's slots are all busy join the batch waiting for
        the next free one instead of each waiting for a slot of its own: under load, every
        read queued during one request's round trip goes out in the next request.
        """
        sealed: list[list[_Member]] = []
        try:
            await self._send_when_free(entity, batch, sealed)
        except Exception as exc:
            if not sealed:  # failed before it was sent (signing in): every read waiting fails
                sealed.extend(batch.live_groups())
            self._deliver(sealed, [exc] * len(sealed))
        except BaseException:
            for m in batch.members:  # cancelled itself (the loop closing): no caller waits for ever
                m.future.cancel()
            raise
        finally:
            self._close(entity, batch)
        sent = {id(m) for group in sealed for m in group}
        for m in batch.members:  # nothing was sent for it (it gave up waiting, or no slot came)
            if id(m) not in sent and not m.future.done():
                m.future.set_exception(
                    IntacctTimeoutError("deadline reached waiting for a free Intacct request slot")
                )

    def _deliver(
        self, sealed: list[list[_Member]], outcomes: Sequence[FunctionResult | Exception]
    ) -> None:
        """Each sealed function's outcome to every read that asked for it."""
        for group, outcome in zip(sealed, outcomes, strict=True):
            if len(group) > 1 and isinstance(outcome, FunctionResult) and _more(outcome):
                # More pages follow under one result id, which each reader would page through
                # on its own: only the first keeps this answer, the others read again alone.
                _settle(group[0], outcome)
                for m in group[1:]:
                    self._enqueue(m, m)
                continue
            for m in group:
                _settle(m, outcome)

    async def _send_when_free(
        self, entity: str, batch: _Batch, sealed: list[list[_Member]]
    ) -> None:
        """Send ``batch`` once a slot is free, each distinct function once (its readers in
        ``sealed``), and answer them; a refused session is renewed and the same functions
        sent once more.

        The answers are handed out before the slot is let go and, when another batch waits
        for it, their readers get a few turns of the loop first (``_HANDOFF_TURNS``): the
        reads an answer sets off then join the batch that goes next rather than the one after.
        """
        ctx = widest(m.ctx for m in batch.members if not m.future.done())
        for attempt in range(2):
            await self._session(ctx)  # signing in takes a slot of its own: before holding one
            async with self._slot_for(batch):
                session = self._sessions.get(entity)
                if session is None:  # forgotten while waiting: sign in again, then wait again
                    continue
                if not sealed:
                    self._close(entity, batch)
                    sealed.extend(batch.live_groups())
                    if not sealed:
                        return
                    ctx = widest(m.ctx for group in sealed for m in group)
                fns = [group[0].fn for group in sealed]
                texts = [group[0].text for group in sealed]
                if len(fns) == 1:  # alone: the single-function request it always was
                    controlid, ids = self._controlid(fns[0].tag), [self._controlid("fn")]
                else:
                    controlid, ids = self._controlid("reads"), [self._controlid("fn") for _ in fns]
                body = build_request(
                    sender_id=self._cred.sender_id,
                    sender_password=self._cred.sender_password,
                    controlid=controlid,
                    functions=list(zip(ids, texts, strict=True)),
                    session_id=session.session_id,
                )
                response = self._interpret(await self._send(ctx, session.endpoint, body))
                if response.auth_status != "failure":
                    self._deliver(sealed, self._outcomes(response, ids, fns))
                    if self._waiting:
                        # Let the readers take their next steps while the slot is still held:
                        # the reads they start now join the batch that takes the slot next.
                        for _ in range(_HANDOFF_TURNS):
                            await asyncio.sleep(0)
                    return
            self._forget_session(entity, session)
            if attempt == 1:
                raise error_from_details(response.auth_errors, level="authentication")
        raise IntacctTimeoutError("no Intacct session could be had for the batch")

    @asynccontextmanager
    async def _slot_for(self, batch: _Batch) -> AsyncIterator[None]:
        """A request slot for ``batch``, waited for as long as its most patient read may wait."""
        async with AsyncExitStack() as held:
            self._waiting += 1
            try:
                await self._take_slot(batch, held)
            finally:
                self._waiting -= 1
            yield

    async def _take_slot(self, batch: _Batch, held: AsyncExitStack) -> None:
        """Into ``held``: a slot, waited for as long as the batch's most patient read may."""
        while True:
            ctx = widest(m.ctx for m in batch.members if not m.future.done())
            try:
                wait = self._timeout(ctx)
            except IntacctTimeoutError:
                wait = 0.0  # every read left is out of time: a free slot or none
            try:
                await held.enter_async_context(self._slots.slot(wait))
                return
            except TimeoutError:
                if any(not m.future.done() and _later(m.ctx, ctx) for m in batch.members):
                    continue  # a read with more time joined while this one waited
                raise IntacctTimeoutError(
                    "deadline reached waiting for a free Intacct request slot"
                ) from None

    @staticmethod
    def _outcomes(
        response: IntacctResponse, ids: list[str], fns: list[Element]
    ) -> list[FunctionResult | Exception]:
        """Each function's answer, found by its control id."""
        answered = {r.controlid: r for r in response.results}
        if len(fns) == 1 and len(response.results) == 1:
            answered = {ids[0]: response.results[0]}
        outcomes: list[FunctionResult | Exception] = []
        for cid, fn in zip(ids, fns, strict=True):
            result = answered.get(cid)
            if result is None:
                outcomes.append(IntacctProtocolError(f"no <result> for {fn.tag} in the response"))
            elif result.status != "success":
                outcomes.append(error_from_details(result.errors, level="result"))
            else:
                outcomes.append(result)
        return outcomes

    # --- sessions -----------------------------------------------------------------------------

    async def _session(self, ctx: CallContext) -> _Session:
        entity = ctx.company
        cached = self._sessions.get(entity)
        if cached is not None:
            return cached
        lock = self._session_locks.setdefault(entity, asyncio.Lock())
        async with lock:
            cached = self._sessions.get(entity)
            if cached is not None:
                return cached
            body = build_request(
                sender_id=self._cred.sender_id,
                sender_password=self._cred.sender_password,
                controlid=self._controlid("session"),
                functions=[(self._controlid("fn"), fn_get_api_session())],
                login=Login(
                    self._cred.user_id,
                    self._cred.company_id,
                    self._cred.user_password,
                    location_id=entity or None,
                ),
            )
            response = await self._post(ctx, self._endpoint_url, body)
            if response.auth_status == "failure":
                raise error_from_details(response.auth_errors, level="authentication")
            result = self._single_result(response, "getAPISession")
            api = result.data.find("api") if result.data is not None else None
            session_id = (api.findtext("sessionid") or "").strip() if api is not None else ""
            endpoint = (api.findtext("endpoint") or "").strip() if api is not None else ""
            if not session_id:
                raise IntacctProtocolError("getAPISession answered without a session id")
            session = _Session(session_id, endpoint or self._endpoint_url)
            self._sessions[entity] = session
            return session

    def _forget_session(self, entity: str, session: _Session) -> None:
        if self._sessions.get(entity) == session:
            del self._sessions[entity]

    # --- HTTP -------------------------------------------------------------------------------

    def _timeout(self, ctx: CallContext) -> float:
        try:
            return remaining_seconds(ctx, vendor=VENDOR, cap=self._request_timeout)
        except BackendTimeoutError as exc:
            raise IntacctTimeoutError(exc.message) from exc

    async def _post(self, ctx: CallContext, url: str, body: bytes) -> IntacctResponse:
        # Only waiting for a slot can raise TimeoutError here: _send turns every transport
        # failure into an IntacctError.
        try:
            async with self._slots.slot(self._timeout(ctx)):
                response = await self._send(ctx, url, body)
        except TimeoutError as exc:
            raise IntacctTimeoutError(
                "deadline reached waiting for a free Intacct request slot"
            ) from exc
        return self._interpret(response)

    async def _send(self, ctx: CallContext, url: str, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/xml"}
        if ctx.correlation_id:
            headers["X-Correlation-ID"] = ctx.correlation_id
        try:
            return await send_capped(
                self._http,
                "POST",
                url,
                max_bytes=self._max_response_bytes,
                content=body,
                headers=headers,
                timeout=self._timeout(ctx),
            )
        except ResponseTooLargeError as exc:
            raise IntacctProtocolError(f"Intacct answered too much: {exc}") from None
        except httpx.TimeoutException as exc:
            raise IntacctTimeoutError(
                f"Intacct did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise IntacctUnavailableError(
                f"connection to Intacct failed ({type(exc).__name__})"
            ) from exc

    @staticmethod
    def _interpret(response: httpx.Response) -> IntacctResponse:
        status = response.status_code
        looks_xml = response.content.lstrip().startswith(
            b"<?xml"
        ) or response.content.lstrip().startswith(b"<response")
        if status == 524:
            # The edge gave up waiting; the request may still complete, so a blind retry of a
            # write could duplicate it (the vendor SDK does not retry 524 either).
            raise IntacctTimeoutError(
                "Intacct timed out at the edge (HTTP 524)", status_code=status, retryable=False
            )
        if status == 429:
            details = parse_response(response.content).control_errors if looks_xml else ()
            raise IntacctRateLimitedError(
                "Intacct rate limit exceeded", errors=details, level="control", status_code=status
            )
        if status >= 500:
            raise IntacctUnavailableError(f"Intacct answered HTTP {status}", status_code=status)
        if status != 200 and not looks_xml:
            raise IntacctProtocolError(f"unexpected HTTP {status} from Intacct", status_code=status)
        parsed = parse_response(response.content, status_code=status)
        if parsed.control_status != "success":
            error = error_from_details(parsed.control_errors, level="control", status_code=status)
            raise error
        return parsed

    # --- paging -------------------------------------------------------------------------------

    def read_by_query(
        self,
        ctx: CallContext,
        obj: str,
        fields: tuple[str, ...],
        query: str,
        *,
        pagesize: int = 1000,
        limit: int | None = None,
    ) -> Coroutine[Any, Any, list[Record]]:
        """Every matching record, following ``readMore`` until nothing remains (or ``limit``).
        The first page's read joins the open batch now, before this is awaited."""
        first = self._read(ctx, fn_read_by_query(obj, fields, query, pagesize))
        return self._pages(ctx, first, limit)

    async def _pages(
        self, ctx: CallContext, first: Awaitable[FunctionResult], limit: int | None
    ) -> list[Record]:
        result = await first
        rows = records(result.data)
        while (limit is None or len(rows) < limit) and _int(result.attr("numremaining")) > 0:
            result_id = result.attr("resultId")
            if not result_id:
                raise IntacctProtocolError("records remain but no resultId was given")
            result = await self._read(ctx, fn_read_more(result_id))
            rows.extend(records(result.data))
        return rows if limit is None else rows[:limit]

    async def query(
        self,
        ctx: CallContext,
        obj: str,
        select: tuple[str, ...],
        *,
        filter_: Element | None = None,
        order_by: tuple[tuple[str, bool], ...] = (),
        pagesize: int = 1000,
    ) -> list[Record]:
        """Every matching record of the newer ``query`` function, paging by ``offset``."""
        rows: list[Record] = []
        while True:
            fn = fn_query(
                obj, select, filter_=filter_, order_by=order_by, pagesize=pagesize, offset=len(rows)
            )
            result = await self._read(ctx, fn)
            page = records(result.data)
            rows.extend(page)
            if not page or _int(result.attr("numremaining")) <= 0:
                return rows


@dataclass(frozen=True, slots=True)
class _Member:
    """One read waiting in a batch."""

    ctx: CallContext
    fn: Element
    text: str
    """``fn`` as sent (``xml_text``)."""
    future: asyncio.Future[FunctionResult]


class _Batch:
    """Reads waiting to go as one request: each distinct function once, with every read that
    asked for it (the same read made twice at once is one function and one answer)."""

    __slots__ = ("functions", "members", "started")

    def __init__(self) -> None:
        self.members: list[_Member] = []
        self.functions: dict[object, list[_Member]] = {}
        self.started = False

    def add(self, member: _Member, key: object) -> None:
        self.members.append(member)
        self.functions.setdefault(key, []).append(member)

    def live_groups(self) -> list[list[_Member]]:
        """Per distinct function, the reads still waiting for it (functions nobody waits for
        any more are not sent)."""
        groups = ([m for m in group if not m.future.done()] for group in self.functions.values())
        return [group for group in groups if group]


def widest(contexts: Iterable[CallContext]) -> CallContext:
    """The context whose deadline is the latest (None: no deadline) of ``contexts``."""
    found: CallContext | None = None
    for ctx in contexts:
        if found is None or _later(ctx, found):
            found = ctx
    if found is None:
        raise IntacctTimeoutError("every read of the batch gave up waiting")
    return found


def _later(a: CallContext, b: CallContext) -> bool:
    """``a`` may run longer than ``b``."""
    if b.deadline is None:
        return False
    return a.deadline is None or a.deadline > b.deadline


def _settle(member: _Member, outcome: FunctionResult | BaseException) -> None:
    if member.future.done():
        return  # its caller stopped waiting (deadline reached, sibling failed)
    if isinstance(outcome, BaseException):
        member.future.set_exception(outcome)
    else:
        member.future.set_result(outcome)


def _more(result: FunctionResult) -> bool:
    """Records remain to be read after this answer (``readMore`` with its result id)."""
    return _int(result.attr("numremaining")) > 0


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
