"""MI REST v2 transport: URL with matrix parameters, bearer token, v2 parsing, error mapping.

``GET {iu}/{ti}/M3/m3api-rest/v2/execute/{PROGRAM}/{TRANSACTION};metadata=false;maxrecs=N;
excludempty=false;cono=…;divi=…[;returncols=…]?FIELD=value…``. Output values are right-padded
by M3; records come back trimmed. Only requests the server cannot have executed are repeated
here (a refused token, a 429 within the caller's deadline); other retries belong to the
resilience layer, which knows which calls are safe to repeat.

With a ``batch_window``, reads marked ``batch=True`` that start within that window for the
same program and company are sent as one bulk request (``POST .../v2/execute``, one result per
transaction): a quote's dozens of reads become a handful of HTTP requests, each one request
against the gateway's rate. A bulk goes as soon as reads stop coming: once a few turns of the
event loop in a row pass with no read queued (for any program), it goes with every other bulk
open at that moment, so a request's later reads go in the same round. Waiting for the window's
timer instead held an idle gateway's quote for 1.3 ms of nothing before its first request. A
stream of reads (a busy gateway) holds a bulk at most two windows. A read alone goes as the
single GET it always was.

With a ``RequestRate`` every request (a repeat too) first waits for its send time under the
gateway's rate; one whose send time would fall after the caller's deadline fails at once as a
timeout, so the read path answers degraded instead of queueing into the deadline.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import msgspec

from system_apis.contract import CallContext
from system_apis.infor_m3.credentials import IonApiCredentials
from system_apis.infor_m3.errors import (
    VENDOR,
    M3AuthError,
    M3Error,
    M3ProtocolError,
    M3RateLimitedError,
    M3RejectedError,
    M3TimeoutError,
    M3UnavailableError,
    error_for_refusal,
)
from system_apis.infor_m3.tokens import TokenProvider
from system_apis.infor_m3.wire import MiResponse, mi_response_decoder
from system_apis.quiet_turns import QuietTurns
from system_apis.resilience import RateWaitTooLong, RequestRate, remaining_seconds
from system_apis.response_cap import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ResponseTooLargeError,
    send_capped,
)

__all__ = ["MiClient", "Record"]

log = logging.getLogger(__name__)

Record = dict[str, str]
_MI_PATH = "/M3/m3api-rest/v2/execute"
_MAX_THROTTLE_WAITS = 3
_MAX_RETRY_AFTER_SECONDS = 60.0
_MAX_BULK_TRANSACTIONS = 100


class MiClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: IonApiCredentials,
        tokens: TokenProvider,
        *,
        request_timeout: float = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        rate: RequestRate | None = None,
        batch_window: float | None = None,
    ) -> None:
        """``batch_window``: seconds reads wait for company in one bulk request (None: never)."""
        self._client = client
        self._rate = rate
        self._batch_window = batch_window
        self._open: dict[tuple[str, str, str | None], _Bulk] = {}
        self._quiet = QuietTurns()
        """Reads queued for a bulk so far: a bulk goes once they stop coming."""
        self._sending: set[asyncio.Task[None]] = set()
        self._credentials = credentials
        self._tokens = tokens
        self._request_timeout = request_timeout
        self._max_response_bytes = max_response_bytes
        self._bulk_url: httpx.URL | None = None

    def url(
        self,
        ctx: CallContext,
        program: str,
        transaction: str,
        *,
        maxrecs: int = 100,
        returncols: Sequence[str] = (),
    ) -> str:
        matrix = {
            "metadata": "false",
            "maxrecs": str(maxrecs),
            "excludempty": "false",
            "cono": ctx.company,
        }
        if ctx.division:
            matrix["divi"] = ctx.division
        if returncols:
            matrix["returncols"] = ",".join(returncols)
        params = "".join(f";{k}={quote(v, safe=',')}" for k, v in matrix.items())
        return (
            f"{self._credentials.api_base}{_MI_PATH}/{quote(program, safe='')}/"
            f"{quote(transaction, safe='')}{params}"
        )

    async def execute(
        self,
        ctx: CallContext,
        program: str,
        transaction: str,
        inputs: Mapping[str, str | None] | None = None,
        *,
        maxrecs: int = 100,
        returncols: Sequence[str] = (),
        batch: bool = False,
    ) -> list[Record]:
        """Run one transaction and return its records, trimmed. ``maxrecs=0``: all records.

        ``batch``: a read that may share a bulk request with others (see the module doc).
        """
        return await self.submit(
            ctx, program, transaction, inputs, maxrecs=maxrecs, returncols=returncols, batch=batch
        )

    def submit(
        self,
        ctx: CallContext,
        program: str,
        transaction: str,
        inputs: Mapping[str, str | None] | None = None,
        *,
        maxrecs: int = 100,
        returncols: Sequence[str] = (),
        batch: bool = False,
    ) -> Awaitable[list[Record]]:
        """``execute``, as an awaitable: a batched read joins its bulk request now and is its
        future (to run beside another read, it needs no task of its own); any other read is
        the coroutine that sends it, started when awaited."""
        params = {k: v for k, v in inputs.items() if v is not None and v != ""} if inputs else {}
        read = _Read(
            ctx, program, transaction, params=params, maxrecs=maxrecs, returncols=tuple(returncols)
        )
        if batch and self._batch_window is not None:
            return self._queue(read)
        return self._single(read)

    async def _single(self, read: _Read) -> list[Record]:
        name = f"{read.program}/{read.transaction}"
        url = self.url(
            read.ctx,
            read.program,
            read.transaction,
            maxrecs=read.maxrecs,
            returncols=read.returncols,
        )
        response, body = await self._exchange(read.ctx, name, "GET", url, params=read.params)
        return _records(name, response, body)

    async def _exchange(
        self,
        ctx: CallContext,
        name: str,
        method: str,
        url: str | httpx.URL,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One request with a valid token, under the rate; a refused token and a 429 within
        the deadline are repeated here."""
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if ctx.correlation_id:
            headers["X-Correlation-ID"] = ctx.correlation_id
        refused_token: str | None = None
        throttled = 0
        while True:
            timeout = remaining_seconds(ctx, vendor=VENDOR, cap=self._request_timeout)
            token = await self._tokens.get(http_timeout=timeout)
            if self._rate is not None:
                try:
                    await self._rate.acquire(ctx.deadline)
                except RateWaitTooLong as exc:
                    raise M3TimeoutError(
                        f"{name}: no ION API request slot before the deadline ({exc})",
                        transaction=name,
                    ) from None
            timeout = remaining_seconds(ctx, vendor=VENDOR, cap=self._request_timeout)
            try:
                response = await send_capped(
                    self._client,
                    method,
                    url,
                    max_bytes=self._max_response_bytes,
                    params=params,
                    content=content,
                    timeout=timeout,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )
                body = response.content
            except ResponseTooLargeError as exc:
                raise M3ProtocolError(
                    f"{name} answered too much: {exc}", transaction=name
                ) from None
            except httpx.TimeoutException:
                raise M3TimeoutError(f"{name} timed out", transaction=name) from None
            except httpx.HTTPError as exc:
                raise M3UnavailableError(
                    f"{name} failed: {type(exc).__name__}", transaction=name
                ) from None
            status = response.status_code
            if status == 401 and refused_token is None:
                # Expired or revoked early: one fresh token, then the same request again.
                refused_token = token
                self._tokens.invalidate(token)
                continue
            if status == 429:
                retry_after = _retry_after(response)
                if throttled < _MAX_THROTTLE_WAITS and _fits(ctx, retry_after):
                    throttled += 1
                    log.info("%s throttled by ION API; retrying in %.2f s", name, retry_after)
                    await asyncio.sleep(retry_after)
                    continue
                raise M3RateLimitedError(
                    f"{name} throttled by ION API",
                    transaction=name,
                    status_code=429,
                    retry_after=retry_after,
                )
            return response, body

    # -- bulk ------------------------------------------------------------------------------

    def _queue(self, read: _Read) -> asyncio.Future[list[Record]]:
        """``read`` added to the open bulk request of its program and company: its future
        (a plain function, so the caller awaits the future with no frame of ours between)."""
        key = (read.program, read.ctx.company, read.ctx.division)
        bulk = self._open.get(key)
        self._quiet.queue()
        if bulk is None:
            bulk = self._open[key] = _Bulk(read.program)
            assert self._batch_window is not None
            opened = bulk
            self._quiet.watch(lambda: opened.sent, self._flush_open, self._batch_window)
        read.future = asyncio.get_running_loop().create_future()
        bulk.members.append(read)
        if len(bulk.members) >= _MAX_BULK_TRANSACTIONS:
            self._flush(key, bulk)
        return read.future

    def _flush_open(self) -> None:
        """Reads stopped coming: every bulk open now goes (a request's reads in one round)."""
        for open_key, open_bulk in list(self._open.items()):
            self._flush(open_key, open_bulk)

    def _flush(self, key: tuple[str, str, str | None], bulk: _Bulk) -> None:
        if self._open.get(key) is bulk:
            del self._open[key]
        elif bulk.sent:
            return
        bulk.sent = True
        task = asyncio.ensure_future(self._send_bulk(bulk))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_bulk(self, bulk: _Bulk) -> None:
        members = [m for m in bulk.members if not m.future.done()]  # cancelled: not sent
        if not members:
            return
        try:
            if len(members) == 1:
                _settle(members[0], await self._single(members[0]))
                return
            results = await self._bulk(bulk.program, members)
        except Exception as exc:
            for m in members:
                _settle(m, exc)
            return
        for m, result in zip(members, results, strict=True):
            _settle(m, result)

    async def _bulk(self, program: str, members: list[_Read]) -> list[list[Record] | M3Error]:
        first = members[0].ctx
        deadlines = [m.ctx.deadline for m in members]
        # The request serves every member: it may take as long as the latest of them allows.
        ctx = msgspec.structs.replace(
            first, deadline=None if None in deadlines else max(d for d in deadlines if d)
        )
        matrix = {"cono": first.company, **({"divi": first.division} if first.division else {})}
        payload = {
            "program": program,
            **matrix,
            "maxReturnedRecords": 0,
            "excludeEmptyValues": False,
            "rightTrim": True,
            "transactions": [
                {
                    "transaction": m.transaction,
                    "record": m.params,
                    **({"selectedColumns": list(m.returncols)} if m.returncols else {}),
                }
                for m in members
            ],
        }
        name = f"{program} bulk"
        url = self._bulk_url
        if url is None:
            # Parsed once: every bulk request goes to this one address.
            url = self._bulk_url = httpx.URL(f"{self._credentials.api_base}{_MI_PATH}")
        response, body = await self._exchange(
            ctx, name, "POST", url, content=msgspec.json.encode(payload)
        )
        parsed = _parse(name, response, body)
        failure = _failure(name, msgspec.structs.replace(parsed, results=[]), response.status_code)
        if failure is not None and (parsed.errorMessage is not None or parsed.wasTerminated):
            raise failure
        if len(parsed.results) != len(members):
            raise M3ProtocolError(
                f"{name}: {len(members)} transactions sent, {len(parsed.results)} results answered",
                status_code=response.status_code,
            )
        out: list[list[Record] | M3Error] = []
        for m, result in zip(members, parsed.results, strict=True):
            if result.errorMessage is not None:
                out.append(
                    error_for_refusal(
                        transaction=f"{program}/{m.transaction}",
                        message=result.errorMessage,
                        code=result.errorCode,
                        field=result.errorField,
                        status_code=response.status_code,
                    )
                )
                continue
            records = _trimmed(result.records)
            out.append(records[: m.maxrecs] if m.maxrecs > 0 else records)
        return out


class _Read:
    """One transaction to run; in a bulk request, with the future its caller awaits."""

    __slots__ = ("ctx", "future", "maxrecs", "params", "program", "returncols", "transaction")
    future: asyncio.Future[list[Record]]
    """Set when it joins a bulk request (a read sent alone has none)."""

    def __init__(
        self,
        ctx: CallContext,
        program: str,
        transaction: str,
        *,
        params: dict[str, str],
        maxrecs: int,
        returncols: tuple[str, ...],
    ) -> None:
        self.ctx = ctx
        self.program = program
        self.transaction = transaction
        self.params = params
        self.maxrecs = maxrecs
        self.returncols = returncols


class _Bulk:
    __slots__ = ("members", "program", "sent")

    def __init__(self, program: str) -> None:
        self.program = program
        self.members: list[_Read] = []
        self.sent = False


def _settle(member: _Read, outcome: list[Record] | BaseException) -> None:
    future = member.future
    if future.done():
        return  # its caller stopped waiting (deadline reached)
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _trimmed(records: list[dict[str, object]]) -> list[Record]:
    # M3 pads its values with blanks; nearly all arrive as strings (the common case first).
    return [
        {
            key: value.strip()
            if type(value) is str
            else ("" if value is None else str(value).strip())
            for key, value in record.items()
        }
        for record in records
    ]


def _parse(name: str, response: httpx.Response, body: bytes) -> MiResponse:
    """The v2 envelope of an answer whose HTTP status says it has one (else the error)."""
    status = response.status_code
    if status in (401, 403):
        raise M3AuthError(
            f"ION API refused the credentials for {name}",
            transaction=name,
            status_code=status,
            code=_oauth_error(response),
        )
    if status == 504:
        raise M3TimeoutError(
            f"{name}: ION API gateway timed out", transaction=name, status_code=status
        )
    if status >= 500:
        raise M3UnavailableError(
            f"{name}: ION API answered {status}",
            transaction=name,
            status_code=status,
            retry_after=_retry_after_or_none(response),
        )
    if status not in (200, 400):
        raise M3RejectedError(
            f"{name}: ION API answered {status}",
            transaction=name,
            status_code=status,
            code=f"HTTP{status}",
        )
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type and not body.lstrip().startswith(b"{"):
        raise M3ProtocolError(
            f"{name}: expected JSON, got {content_type or 'no content type'}",
            transaction=name,
            status_code=status,
        )
    try:
        return mi_response_decoder.decode(body)
    except msgspec.DecodeError:
        raise M3ProtocolError(
            f"{name}: malformed MI response", transaction=name, status_code=status
        ) from None


def _records(name: str, response: httpx.Response, body: bytes) -> list[Record]:
    status = response.status_code
    parsed = _parse(name, response, body)
    failure = _failure(name, parsed, status)
    if failure is not None:
        raise failure
    if status != 200 or not parsed.results:
        raise M3ProtocolError(
            f"{name}: MI response without results", transaction=name, status_code=status
        )
    return _trimmed(parsed.results[0].records)


def _failure(name: str, parsed: MiResponse, status: int) -> M3Error | None:
    """The refusal a v2 response carries: top level, terminated, or in ``results[0]``."""
    first = parsed.results[0] if parsed.results else None
    if first is not None and first.errorMessage is not None:
        return error_for_refusal(
            transaction=name,
            message=first.errorMessage,
            code=first.errorCode,
            field=first.errorField,
            status_code=status,
        )
    if parsed.errorMessage is not None or parsed.wasTerminated:
        message = parsed.errorMessage or parsed.terminationReason or "MI request terminated"
        code = parsed.errorCode or parsed.terminationErrorType or parsed.errorType
        return error_for_refusal(
            transaction=name,
            message=message,
            code=code,
            field=parsed.errorField,
            status_code=status,
        )
    if parsed.nrOfFailedTransactions > 0 or status == 400:
        return M3RejectedError(
            f"{name} failed without an M3 message", transaction=name, status_code=status
        )
    return None


def _retry_after_or_none(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return min(max(float(raw), 0.0), _MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_SECONDS)


def _retry_after(response: httpx.Response) -> float:
    found = _retry_after_or_none(response)
    return 1.0 if found is None else found


def _fits(ctx: CallContext, wait: float) -> bool:
    """Whether waiting ``wait`` seconds still leaves time for the retried request."""
    if ctx.deadline is None:
        return wait <= _MAX_RETRY_AFTER_SECONDS
    return time.monotonic() + wait + 0.05 < ctx.deadline


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None
