"""Transport to the Intacct XML gateway: sessions per entity, a cap on requests in flight,
deadlines turned into timeouts, paging through ``readMore`` and ``offset``, errors mapped.

With a ``batch_window``, the reads of ``read_by_query`` and ``query`` (``readByQuery``,
``readMore``, ``query``) that start within that window for the same entity are sent as one
request: several ``<function>`` elements, each with its own control id, under
``transaction="false"``, so each executes and answers on its own and one function's failure is
only its caller's error. A quote's dozens of reads become a handful of requests, each taking
one of the company's few request slots. A read alone in its window goes as the single-function
request it always was; writes (``call``, ``call_all``) are never batched. A whole request
failing (transport, HTTP status, control error) fails every read in it, and a refused session
is renewed and the request sent once more, as for a single call; repeating reads is harmless.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import httpx
import msgspec

from system_apis.contract import CallContext
from system_apis.errors import BackendTimeoutError
from system_apis.resilience import ConcurrencySlots, LocalSlots, remaining_seconds
from system_apis.response_cap import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ResponseTooLargeError,
    send_capped,
)
from system_apis.sage_intacct.errors import (
    VENDOR,
    IntacctError,
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
)

__all__ = ["DEFAULT_BATCH_MAX_FUNCTIONS", "IntacctClient", "IntacctCredentials"]

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

    async def _read(self, ctx: CallContext, fn: Element) -> FunctionResult:
        """A read function: alone, or in the entity's open batch (see the module doc)."""
        if self._batch_window is None:
            return await self.call(ctx, fn)
        loop = asyncio.get_running_loop()
        batch = self._open.get(ctx.company)
        if batch is None:
            batch = self._open[ctx.company] = _Batch()
            loop.call_later(self._batch_window, self._flush, ctx.company, batch)
        future: asyncio.Future[FunctionResult] = loop.create_future()
        batch.members.append(_Member(ctx, fn, future))
        if len(batch.members) >= self._batch_max:
            self._flush(ctx.company, batch)
        return await future

    def _flush(self, entity: str, batch: _Batch) -> None:
        if self._open.get(entity) is batch:
            del self._open[entity]
        if batch.sent:
            return  # already sent when it filled up; this is its window's timer
        batch.sent = True
        task = asyncio.ensure_future(self._send_batch(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_batch(self, batch: _Batch) -> None:
        members = [m for m in batch.members if not m.future.done()]  # cancelled: not sent
        if not members:
            return
        outcomes: Sequence[FunctionResult | Exception]
        try:
            if len(members) == 1:
                outcomes = [await self.call(members[0].ctx, members[0].fn)]
            else:
                outcomes = await self._call_reads(members)
        except Exception as exc:
            outcomes = [exc] * len(members)
        except BaseException:
            for m in members:  # cancelled itself (the loop closing): no caller waits for ever
                m.future.cancel()
            raise
        for m, outcome in zip(members, outcomes, strict=True):
            _settle(m, outcome)

    async def _call_reads(self, members: list[_Member]) -> list[FunctionResult | IntacctError]:
        """One non-transactional request for every member; each answer found by its control id."""
        deadlines = [m.ctx.deadline for m in members]
        # The request serves every member: it may take as long as the latest of them allows.
        ctx = msgspec.structs.replace(
            members[0].ctx,
            deadline=None if None in deadlines else max(d for d in deadlines if d is not None),
        )
        ids = [self._controlid("fn") for _ in members]
        response = await self._send_in_session(
            ctx,
            [(cid, m.fn) for cid, m in zip(ids, members, strict=True)],
            controlid=self._controlid("reads"),
        )
        answered = {r.controlid: r for r in response.results}
        outcomes: list[FunctionResult | IntacctError] = []
        for cid, m in zip(ids, members, strict=True):
            result = answered.get(cid)
            if result is None:
                outcomes.append(IntacctProtocolError(f"no <result> for {m.fn.tag} in the response"))
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

    async def read_by_query(
        self,
        ctx: CallContext,
        obj: str,
        fields: tuple[str, ...],
        query: str,
        *,
        pagesize: int = 1000,
        limit: int | None = None,
    ) -> list[Record]:
        """Every matching record, following ``readMore`` until nothing remains (or ``limit``)."""
        result = await self._read(ctx, fn_read_by_query(obj, fields, query, pagesize))
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
    future: asyncio.Future[FunctionResult]


class _Batch:
    __slots__ = ("members", "sent")

    def __init__(self) -> None:
        self.members: list[_Member] = []
        self.sent = False


def _settle(member: _Member, outcome: FunctionResult | BaseException) -> None:
    if member.future.done():
        return  # its caller stopped waiting (deadline reached, sibling failed)
    if isinstance(outcome, BaseException):
        member.future.set_exception(outcome)
    else:
        member.future.set_result(outcome)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
