"""Transport to the Intacct XML gateway: sessions per entity, a cap on requests in flight,
deadlines turned into timeouts, paging through ``readMore`` and ``offset``, errors mapped."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import httpx

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

__all__ = ["IntacctClient", "IntacctCredentials"]


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
    ) -> None:
        self._http = http
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
        for attempt in range(2):
            session = await self._session(ctx)
            body = build_request(
                sender_id=self._cred.sender_id,
                sender_password=self._cred.sender_password,
                controlid=controlid or self._controlid(fn.tag),
                functions=[(self._controlid("fn"), fn)],
                session_id=session.session_id,
                uniqueid=uniqueid,
            )
            response = await self._post(ctx, session.endpoint, body)
            if response.auth_status == "failure":
                self._forget_session(ctx.company, session)
                if attempt == 0:
                    continue
                raise error_from_details(response.auth_errors, level="authentication")
            return self._single_result(response, fn.tag)
        raise AssertionError("unreachable")  # pragma: no cover

    async def call_all(
        self, ctx: CallContext, fns: Sequence[Element], *, transaction: bool = False
    ) -> tuple[FunctionResult, ...]:
        """Run several functions in one request; with ``transaction`` Intacct applies all of
        them or none. Raises the error of the function that failed (not the ``aborted`` ones
        Intacct rolled back because of it)."""
        for attempt in range(2):
            session = await self._session(ctx)
            body = build_request(
                sender_id=self._cred.sender_id,
                sender_password=self._cred.sender_password,
                controlid=self._controlid("batch"),
                functions=[(self._controlid("fn"), fn) for fn in fns],
                session_id=session.session_id,
                transaction=transaction,
            )
            response = await self._post(ctx, session.endpoint, body)
            if response.auth_status == "failure":
                self._forget_session(ctx.company, session)
                if attempt == 0:
                    continue
                raise error_from_details(response.auth_errors, level="authentication")
            if len(response.results) != len(fns):
                raise IntacctProtocolError(
                    f"{len(fns)} functions sent, {len(response.results)} results answered"
                )
            failed = [r for r in response.results if r.status != "success"]
            if failed:
                first = next((r for r in failed if r.status == "failure"), failed[0])
                raise error_from_details(first.errors, level="result")
            return response.results
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _single_result(response: IntacctResponse, name: str) -> FunctionResult:
        if not response.results:
            raise IntacctProtocolError(f"no <result> for {name} in the response")
        result = response.results[0]
        if result.status != "success":
            raise error_from_details(result.errors, level="result")
        return result

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
        result = await self.call(ctx, fn_read_by_query(obj, fields, query, pagesize))
        rows = records(result.data)
        while (limit is None or len(rows) < limit) and _int(result.attr("numremaining")) > 0:
            result_id = result.attr("resultId")
            if not result_id:
                raise IntacctProtocolError("records remain but no resultId was given")
            result = await self.call(ctx, fn_read_more(result_id))
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
            result = await self.call(ctx, fn)
            page = records(result.data)
            rows.extend(page)
            if not page or _int(result.attr("numremaining")) <= 0:
                return rows


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
