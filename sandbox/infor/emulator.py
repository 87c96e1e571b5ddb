"""Infor ION API gateway + M3 MI REST v2 emulator, as a plain ASGI application.

A plain ASGI app (rather than a framework) because M3 URLs carry matrix parameters
(``…/GetBasicData;maxrecs=10;cono=100?CUNO=…``) and some faults (connection reset mid-body)
need control of the raw ASGI messages.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

import msgspec

from sandbox.arrival import arrived
from sandbox.infor import seed as S
from sandbox.infor.faults import Fault
from sandbox.infor.lifecycle import M3Lifecycle
from sandbox.infor.programs import MiField
from sandbox.infor.registry import TRANSACTIONS
from sandbox.infor.transactions import (
    FIELD_LABELS,
    MESSAGE_WIDTH,
    M3State,
    MiError,
    Session,
)
from sandbox.latency import DueTimes

__all__ = ["InforEmulator", "ReceivedRequest"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = "application/json"
_MI_PREFIX = "/M3/m3api-rest/v2/execute"
_MAX_BODY = 1_000_000


class _ResetConnection(Exception):
    """Raised after a partial body so that the server drops the connection."""


@dataclass(frozen=True)
class ReceivedRequest:
    """What the emulator received: ``name`` is ``PROGRAM/TRANSACTION`` or ``token``/``revoke``."""

    kind: Literal["token", "revoke", "mi", "bulk", "other"]
    name: str
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    matrix: dict[str, str] = field(default_factory=dict)
    authorization: str = ""
    """``bearer``, ``basic`` or ``none``: never the credential itself."""
    at: float = 0.0


@dataclass
class _Token:
    expires_at: float
    revoked: bool = False


@dataclass
class _Response:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: str = _JSON


def _json(status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> _Response:
    # msgspec: the same JSON as ``json.dumps``, several times faster (a quote's bulk answers
    # were the emulator's largest cost under load).
    return _Response(status, msgspec.json.encode(payload), headers or [])


def _oauth_error(status: int, error: str, description: str) -> _Response:
    return _json(status, {"error": error, "error_description": description})


class InforEmulator:
    """Emulates the ION API OAuth2 endpoints and M3 MI REST v2 for one tenant.

    Tunables (defaults in brackets):
    - ``public_url``: the base URL clients reach it at; the ``.ionapi`` file points there.
    - ``token_lifetime`` [7200 s] / ``refresh_token_lifetime`` [28800 s].
    - ``requests_per_second`` [None = no throttling]: ION API spike-arrest; beyond it, 429
      with ``Retry-After``, counted over ``throttle_window`` [1 s].
    - ``issue_refresh_token`` [True]: the authorized app's "Issue Refresh Token" switch; off,
      token answers carry no ``refresh_token`` and the refresh grant is refused.
    - ``token_requests_per_minute`` [None = unlimited]: service-account authentications per
      minute (Infor OS Essentials entitles 20); beyond it the token endpoint answers 429.
    - ``nok_status`` [400]: HTTP status of a single GET whose transaction M3 refused (the
      body is the v2 envelope either way; bulk POSTs always answer 200).
    - ``today`` [date.today()]: anchor of the seed's dates (planned receipts, promotions).
    - ``received_maxlen`` [500]: how many requests ``received`` keeps.
    - ``rate_clock`` [time.monotonic]: what the spike-arrest window is measured with (tests
      move a manual one).

    ``GET /_sandbox/stats`` reports the most API calls that arrived within one
    ``throttle_window`` (refused ones included, so a client that overruns the limit shows it)
    and how many calls the spike arrest refused with 429.
    """

    # Well-known sandbox credentials: they are written to the .ionapi file anyway.
    def __init__(
        self,
        *,
        public_url: str = "http://127.0.0.1:8702",
        tenant: str = S.TENANT,
        client_id: str | None = None,
        client_secret: str = "isthmus-sandbox-client-secret",  # noqa: S107
        access_key: str | None = None,
        secret_key: str = "isthmus-sandbox-service-account-secret",  # noqa: S107
        user: str = "ISTHMUSAPI",
        default_division: str = "US1",
        token_lifetime: float = 7200.0,
        refresh_token_lifetime: float = 28800.0,
        requests_per_second: float | None = None,
        throttle_window: float = 1.0,
        issue_refresh_token: bool = True,
        token_requests_per_minute: int | None = None,
        nok_status: int = 400,
        today: date | None = None,
        received_maxlen: int = 500,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        rate_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        """What token lifetimes are measured with (tests move a manual one)."""
        self.tenant = tenant
        self.client_id = client_id or f"{tenant}~isthmus-sandbox"
        self.client_secret = client_secret
        self.access_key = access_key or f"{tenant}#isthmus-sandbox-service-account"
        self.secret_key = secret_key
        self.user = user
        self.default_division = default_division
        self.token_lifetime = token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.requests_per_second = requests_per_second
        self.throttle_window = throttle_window
        self.issue_refresh_token = issue_refresh_token
        self.token_requests_per_minute = token_requests_per_minute
        self._token_hits: collections.deque[float] = collections.deque()
        self.nok_status = nok_status
        self.state = M3State(S.build_seed(today or date.today()), clock=wall_clock)
        # Order to cash, moved by control calls (sandbox/infor/lifecycle.py).
        self.lifecycle = M3Lifecycle(self.state)
        self.received: collections.deque[ReceivedRequest] = collections.deque(
            maxlen=received_maxlen
        )
        self._lock = threading.Lock()
        self._faults: dict[str, list[Any]] = {}  # target -> [Fault, remaining or None]
        self._fault_generation = 0
        self._access_tokens: dict[str, _Token] = {}
        self.tokens_issued = 0
        """Access tokens issued since start (every grant), expired and revoked ones included."""
        self._refresh_tokens: dict[str, _Token] = {}
        self._hits: collections.deque[float] = collections.deque()
        self.rate_clock = rate_clock
        # Every API call's arrival within the last throttle_window, admitted or not.
        self._arrivals: collections.deque[float] = collections.deque()
        self.max_in_window_seen = 0
        self.requests_total = 0
        self.rate_limited_total = 0
        self.due_times = DueTimes()
        # The emulator object is the ASGI app (a callable object, so servers detect ASGI 3).
        self.app = self

    # -- public helpers ------------------------------------------------------------------
    def ionapi_document(self) -> dict[str, str]:
        """The ``.ionapi`` credentials file a client needs to reach this emulator."""
        return {
            "ti": self.tenant,
            "cn": "Isthmus sandbox",
            "dt": "12",
            "ci": self.client_id,
            "cs": self.client_secret,
            "iu": self.public_url,
            "pu": f"{self.public_url}/{self.tenant}/as/",
            "oa": "authorization.oauth2",
            "ot": "token.oauth2",
            "or": "revoke_token.oauth2",
            "ev": "U000000001",
            "v": "1.0",
            "saak": self.access_key,
            "sask": self.secret_key,
        }

    def write_ionapi(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.ionapi_document(), indent=2) + "\n", encoding="utf-8")
        return target

    def set_fault(self, name: str, fault: Fault) -> None:
        with self._lock:
            self._faults[name] = [fault, fault.times]

    def clear_faults(self) -> None:
        """Remove all faults and release requests currently hanging."""
        with self._lock:
            self._faults.clear()
            self._fault_generation += 1

    def revoke_all_tokens(self) -> None:
        """Server-side revocation (as when an admin rotates the service account)."""
        with self._lock:
            for token in [*self._access_tokens.values(), *self._refresh_tokens.values()]:
                token.revoked = True

    def received_named(self, name: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.received if r.name == name]

    # -- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        _ARRIVED.set(arrived(scope))
        body = await _read_body(receive)
        response = await self._dispatch(scope, body, send)
        if response is not None:
            await _send(send, response)

    async def _dispatch(self, scope: Scope, body: bytes, send: Send) -> _Response | None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        if path.startswith("/_sandbox/"):
            return self._control(method, path, body)
        sso = f"/{self.tenant}/as/"
        if path == f"{sso}token.oauth2" and method == "POST":
            return await self._with_faults("token", send, lambda: self._token(headers, body))
        if path == f"{sso}revoke_token.oauth2" and method == "POST":
            return self._revoke(headers, body)
        api = f"/{self.tenant}{_MI_PREFIX}"
        if path.startswith(api):
            return await self._mi(
                method=method,
                rest=path[len(api) :],
                headers=headers,
                query=query,
                body=body,
                send=send,
            )
        return _json(404, {"error": "Not Found", "message": f"No API at {path}"})

    # -- OAuth2 --------------------------------------------------------------------------
    def _client_ok(self, headers: dict[str, str], form: dict[str, str]) -> bool:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode()
            except ValueError:
                return False
            client_id, _, client_secret = decoded.partition(":")
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def _token(self, headers: dict[str, str], body: bytes) -> _Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        self._record(
            ReceivedRequest(
                kind="token",
                name="token",
                method="POST",
                inputs={"grant_type": grant},
                authorization=_auth_kind(headers),
            )
        )
        if not self._client_ok(headers, form):
            return _oauth_error(401, "invalid_client", "Invalid client or client credentials.")
        now = self.clock()
        limited = self._token_limited(now)
        if limited is not None:
            return limited
        if grant == "password":
            if not (
                secrets.compare_digest(form.get("username", ""), self.access_key)
                and secrets.compare_digest(form.get("password", ""), self.secret_key)
            ):
                return _oauth_error(400, "invalid_grant", "Invalid username or password.")
        elif grant == "refresh_token":
            if not self.issue_refresh_token:
                return _oauth_error(400, "invalid_grant", "Refresh tokens are not issued.")
            with self._lock:
                old = self._refresh_tokens.get(form.get("refresh_token", ""))
                if old is None or old.revoked or old.expires_at <= now:
                    return _oauth_error(400, "invalid_grant", "Invalid refresh token.")
                old.revoked = True  # refresh tokens are single use here (rotation)
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant {grant!r}.")
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            # Integer seconds as RFC 6749 says; sub-second lifetimes (tests) stay fractional.
            "expires_in": int(self.token_lifetime)
            if self.token_lifetime == int(self.token_lifetime)
            else self.token_lifetime,
        }
        with self._lock:
            self._access_tokens[access] = _Token(now + self.token_lifetime)
            self.tokens_issued += 1
            if self.issue_refresh_token:
                self._refresh_tokens[refresh] = _Token(now + self.refresh_token_lifetime)
                answer["refresh_token"] = refresh
        return _json(200, answer, [(b"cache-control", b"no-store")])

    def _token_limited(self, now: float) -> _Response | None:
        """Service-account authentications beyond the per-minute entitlement: 429."""
        if self.token_requests_per_minute is None:
            return None
        with self._lock:
            while self._token_hits and self._token_hits[0] <= now - 60.0:
                self._token_hits.popleft()
            if len(self._token_hits) >= self.token_requests_per_minute:
                wait = math.ceil(self._token_hits[0] + 60.0 - now)
                return _json(
                    429,
                    {"error": "Too Many Requests", "message": "Authentication rate exceeded"},
                    [(b"retry-after", str(max(1, wait)).encode())],
                )
            self._token_hits.append(now)
        return None

    def _revoke(self, headers: dict[str, str], body: bytes) -> _Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        self._record(
            ReceivedRequest(
                kind="revoke",
                name="revoke",
                method="POST",
                inputs={"token_type_hint": form.get("token_type_hint", "")},
                authorization=_auth_kind(headers),
            )
        )
        if not self._client_ok(headers, form):
            return _oauth_error(401, "invalid_client", "Invalid client or client credentials.")
        token = form.get("token", "")
        with self._lock:
            for store in (self._access_tokens, self._refresh_tokens):
                if token in store:
                    store[token].revoked = True
        return _Response(200, b"", content_type="text/plain")  # RFC 7009: 200 even if unknown

    def _bearer_refusal(self, headers: dict[str, str]) -> _Response | None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self._lock:
            known = self._access_tokens.get(token)
            valid = known is not None and not known.revoked and known.expires_at > self.clock()
        if valid:
            return None
        challenge = b'Bearer error="invalid_token"'
        response = _oauth_error(
            401,
            "invalid_token",
            "The access token is missing."
            if not token
            else "The access token is invalid, expired or revoked.",
        )
        response.headers.append((b"www-authenticate", challenge))
        return response

    # -- throttling and faults -------------------------------------------------------------
    def _throttled(self) -> _Response | None:
        now = self.rate_clock()
        self._count_arrival(now)
        if self.requests_per_second is None:
            return None
        allowed = max(1, int(self.requests_per_second * self.throttle_window))
        with self._lock:
            while self._hits and self._hits[0] <= now - self.throttle_window:
                self._hits.popleft()
            if len(self._hits) >= allowed:
                wait = self._hits[0] + self.throttle_window - now
                retry_after = str(max(1, math.ceil(wait)))
                self.rate_limited_total += 1
                return _json(
                    429,
                    {
                        "error": "Too Many Requests",
                        "message": "Spike arrest violation: rate limit exceeded",
                    },
                    [(b"retry-after", retry_after.encode())],
                )
            self._hits.append(now)
        return None

    def _count_arrival(self, now: float) -> None:
        with self._lock:
            self.requests_total += 1
            self._arrivals.append(now)
            while self._arrivals[0] <= now - self.throttle_window:
                self._arrivals.popleft()
            self.max_in_window_seen = max(self.max_in_window_seen, len(self._arrivals))

    def stats(self) -> dict[str, Any]:
        """What a load test needs to prove the client kept to the spike-arrest rate."""
        with self._lock:
            return {
                "requests_per_second": self.requests_per_second,
                "throttle_window_s": self.throttle_window,
                "max_requests_in_window": self.max_in_window_seen,
                "max_rate_seen": self.max_in_window_seen / self.throttle_window,
                "rate_limited_total": self.rate_limited_total,
                **self.due_times.stats(),
                "requests_total": self.requests_total,
                "tokens_issued": self.tokens_issued,
            }

    def _take_fault(self, names: list[str]) -> tuple[Fault, int] | None:
        with self._lock:
            for name in [*names, "*"]:
                entry = self._faults.get(name)
                if entry is None:
                    continue
                fault, remaining = entry
                if remaining is not None:
                    if remaining <= 0:
                        continue
                    entry[1] = remaining - 1
                return fault, self._fault_generation
        return None

    async def _with_faults(
        self, name: str, send: Send, produce: Callable[[], _Response], *extra: str
    ) -> _Response | None:
        names = [name, *extra]
        if "/" in name:
            names.append(name.split("/", maxsplit=1)[0])
        taken = self._take_fault(names)
        if taken is None:
            return produce()
        fault, generation = taken
        if fault.kind == "latency":
            # Due delay_ms after arrival, worked out meanwhile (``sandbox.latency``).
            arrived = _ARRIVED.get(time.monotonic())
            due = arrived + fault.delay_ms / 1000
            await self.due_times.until_work(arrived, due)
            response = produce()
            await self.due_times.hold_until(due)
            return response
        if fault.kind in ("hang", "hold"):
            limit = time.monotonic() + (fault.delay_ms / 1000 if fault.delay_ms else 300.0)
            # Polling, not an asyncio.Event: clear_faults() runs on another thread and loop.
            while time.monotonic() < limit and generation == self._fault_generation:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if fault.kind == "hold":
                return produce()
            return _json(504, {"error": "Gateway Timeout", "message": "Target did not answer"})
        if fault.kind == "status":
            headers = (
                [(b"retry-after", str(fault.retry_after).encode())]
                if fault.status in (429, 503)
                else []
            )
            reason = {
                429: "Too Many Requests",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(fault.status, "Internal Server Error")
            return _json(
                fault.status, {"error": reason, "message": f"Injected {fault.status}"}, headers
            )
        if fault.kind == "html":
            page = (
                b"<!DOCTYPE html><html><head><title>Error</title></head><body>"
                b"<h1>Service temporarily unavailable</h1><p>Please try again later.</p>"
                b"</body></html>"
            )
            return _Response(200, page, content_type="text/html; charset=utf-8")
        if fault.kind == "malformed":
            return _Response(200, b'{"results":[{"transaction": GetBasicData, records: [}')
        normal = produce()
        if fault.kind == "truncated":
            return _Response(200, normal.body[: max(1, len(normal.body) // 2)])
        # reset: promise a body, send part of it, then drop the connection.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", _JSON.encode()),
                    (b"content-length", str(len(normal.body)).encode()),
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": normal.body[: len(normal.body) // 2],
                "more_body": True,
            }
        )
        raise _ResetConnection("injected connection reset")

    # -- MI REST ---------------------------------------------------------------------------
    async def _mi(
        self,
        *,
        method: str,
        rest: str,
        headers: dict[str, str],
        query: dict[str, str],
        body: bytes,
        send: Send,
    ) -> _Response | None:
        segments = [s for s in rest.split("/") if s]
        matrix: dict[str, str] = {}
        names: list[str] = []
        if rest.startswith(";"):
            segments = [rest.lstrip("/")]
        for segment in segments:
            head, *params = segment.split(";")
            if head:
                names.append(unquote(head))
            for param in params:
                key, _, value = param.partition("=")
                matrix[unquote(key).lower()] = unquote(value)
        auth_kind = _auth_kind(headers)
        if method == "GET" and len(names) == 2:
            program, transaction = names
            name = f"{program}/{transaction}"
            self._record(
                ReceivedRequest(
                    kind="mi",
                    name=name,
                    method=method,
                    inputs=dict(query),
                    matrix=matrix,
                    authorization=auth_kind,
                )
            )
            refusal = self._bearer_refusal(headers) or self._throttled()
            if refusal is not None:
                return refusal
            return await self._with_faults(
                name, send, lambda: self._execute_get(program, transaction, query, matrix)
            )
        if method == "POST" and not names:
            return await self._bulk(headers, body, matrix, send, auth_kind)
        self._record(
            ReceivedRequest(kind="other", name=rest, method=method, authorization=auth_kind)
        )
        return _json(404, {"error": "Not Found", "message": f"No MI resource {method} {rest}"})

    def _session(self, matrix: dict[str, str]) -> Session:
        return Session(
            cono=matrix.get("cono", "").strip() or S.COMPANY,
            divi=matrix.get("divi", "").strip() or self.default_division,
            user=self.user,
        )

    def _execute_get(
        self, program: str, transaction: str, query: dict[str, str], matrix: dict[str, str]
    ) -> _Response:
        terminated = self._termination(program, transaction)
        if terminated is not None:
            return _json(self.nok_status, terminated)
        result = self._run(
            program,
            transaction,
            query,
            self._session(matrix),
            maxrecs=_int(matrix.get("maxrecs"), 100),
            returncols=[c for c in matrix.get("returncols", "").split(",") if c.strip()],
            exclude_empty=_flag(matrix.get("excludempty")),
            metadata=_flag(matrix.get("metadata")),
            right_trim=False,
        )
        failed = "errorMessage" in result
        envelope = _envelope([result])
        return _json(self.nok_status if failed else 200, envelope)

    async def _bulk(
        self,
        headers: dict[str, str],
        body: bytes,
        matrix: dict[str, str],
        send: Send,
        auth_kind: str,
    ) -> _Response | None:
        try:
            request = json.loads(body or b"{}")
            program = str(request["program"])
            transactions = list(request["transactions"])
        except (ValueError, KeyError, TypeError):
            self._record(
                ReceivedRequest(kind="bulk", name="bulk", method="POST", authorization=auth_kind)
            )
            return _json(
                400,
                {
                    "errorMessage": "Malformed bulk request",
                    "errorType": "BadRequest",
                    "wasTerminated": True,
                    "results": [],
                    "nrOfSuccessfullTransactions": 0,
                    "nrOfFailedTransactions": 0,
                },
            )
        names = [
            f"{program}/{t.get('transaction', '')}" for t in transactions if isinstance(t, dict)
        ]
        arrived = time.time()
        for t, name in zip(transactions, names, strict=False):
            self._record(
                ReceivedRequest(
                    kind="bulk",
                    name=name,
                    method="POST",
                    matrix=matrix,
                    authorization=auth_kind,
                    inputs={str(k): str(v) for k, v in (t.get("record") or {}).items()},
                    at=arrived,
                )
            )
        refusal = self._bearer_refusal(headers) or self._throttled()
        if refusal is not None:
            return refusal
        session = Session(
            cono=str(request.get("cono") or matrix.get("cono") or S.COMPANY),
            divi=str(request.get("divi") or matrix.get("divi") or self.default_division),
            user=self.user,
        )

        def produce() -> _Response:
            results = []
            for t in transactions:
                transaction = str(t.get("transaction", "")) if isinstance(t, dict) else ""
                terminated = self._termination(program, transaction)
                if terminated is not None:
                    return _json(200, terminated)
                record = t.get("record") or {}
                results.append(
                    self._run(
                        program,
                        transaction,
                        {str(k): str(v) for k, v in record.items()},
                        session,
                        maxrecs=_int(str(request.get("maxReturnedRecords", "")), 100),
                        returncols=list(t.get("selectedColumns") or []),
                        exclude_empty=bool(request.get("excludeEmptyValues", False)),
                        metadata=False,
                        right_trim=bool(request.get("rightTrim", False)),
                    )
                )
            return _json(200, _envelope(results))

        return await self._with_faults(program, send, produce, *names)

    def _termination(self, program: str, transaction: str) -> dict[str, Any] | None:
        """Unknown program or transaction: the whole request is terminated (not per record)."""
        if program not in TRANSACTIONS:
            reason, kind = f"Program {program} does not exist", "ProgramNotFound"
        elif transaction not in TRANSACTIONS[program]:
            reason = f"Transaction {transaction} does not exist in {program}"
            kind = "TransactionNotFound"
        else:
            return None
        return {
            "results": [],
            "wasTerminated": True,
            "terminationReason": reason,
            "terminationErrorType": kind,
            "errorMessage": reason,
            "errorType": kind,
            "nrOfSuccessfullTransactions": 0,
            "nrOfFailedTransactions": 1,
        }

    def _run(
        self,
        program: str,
        transaction: str,
        inputs: dict[str, str],
        session: Session,
        *,
        maxrecs: int,
        returncols: list[str],
        exclude_empty: bool,
        metadata: bool,
        right_trim: bool,
    ) -> dict[str, Any]:
        spec = TRANSACTIONS[program][transaction]
        definition = spec.definition
        try:
            if not definition.input_names >= inputs.keys():
                unknown = sorted(n for n in inputs if n not in definition.input_names)
                raise MiError("XIN0001", f"Input field {unknown[0]} does not exist", unknown[0])
            for name in definition.required_inputs:
                if not inputs.get(name, "").strip():
                    raise MiError(f"W{name[:2]}0102", f"{_label(name)} must be entered", name)
            with self._lock:
                records = spec.handler(self.state, session, inputs)
        except MiError as refusal:
            failure: dict[str, Any] = {
                "transaction": transaction,
                "errorMessage": refusal.message.ljust(MESSAGE_WIDTH),
                "errorType": "ServerReturnedNOK",
                "errorCode": refusal.code,
            }
            if refusal.field:
                failure["errorField"] = refusal.field
            return failure
        if spec.is_list and maxrecs > 0:
            records = records[:maxrecs]
        fields = definition.outputs_for(tuple(returncols))
        shaped = []
        for record in records:
            out = {}
            for f in fields:
                value = _field_value(f, record.get(f.name, ""), right_trim=right_trim)
                if exclude_empty and not value.strip():
                    continue
                out[f.name] = value
            shaped.append(out)
        result: dict[str, Any] = {"transaction": transaction, "records": shaped}
        if metadata:
            result["metadata"] = {
                "field": [
                    {
                        "@name": f.name,
                        "@type": f.type,
                        "@length": f.length,
                        "@description": f.description,
                    }
                    for f in fields
                ]
            }
        return result

    # -- control endpoints ---------------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> _Response:
        if path == "/_sandbox/faults" and method == "POST":
            try:
                spec = json.loads(body)
                fault = Fault(
                    kind=spec["kind"],
                    status=int(spec.get("status", 503)),
                    delay_ms=int(spec.get("delay_ms", 0)),
                    retry_after=int(spec.get("retry_after", 1)),
                    times=spec.get("times"),
                )
                target = str(spec.get("target", "*"))
            except (ValueError, KeyError, TypeError) as exc:
                return _json(400, {"error": f"bad fault: {exc}"})
            if fault.kind not in (
                "latency",
                "hang",
                "hold",
                "status",
                "malformed",
                "truncated",
                "reset",
                "html",
            ):
                return _json(400, {"error": f"unknown fault kind {fault.kind!r}"})
            self.set_fault(target, fault)
            return _json(200, {"target": target, **asdict(fault)})
        if path == "/_sandbox/faults" and method == "DELETE":
            self.clear_faults()
            return _json(200, {"cleared": True})
        if path == "/_sandbox/received" and method == "GET":
            with self._lock:
                return _json(200, [asdict(r) for r in self.received])
        if path == "/_sandbox/received" and method == "DELETE":
            with self._lock:
                self.received.clear()
            return _json(200, {"cleared": True})
        if path.startswith("/_sandbox/lifecycle/"):
            status, payload = self.lifecycle.control(method, path, body)
            return _json(status, payload)
        if path == "/_sandbox/ionapi" and method == "GET":
            return _json(200, self.ionapi_document())
        if path == "/_sandbox/stats" and method == "GET":
            return _json(200, self.stats())
        return _json(404, {"error": f"no control endpoint {method} {path}"})

    def _record(self, request: ReceivedRequest) -> None:
        # A shallow copy (``asdict`` would deep-copy every input, for every transaction); one
        # stamped already (a bulk request's transactions, all at once) is kept as it is.
        stamped = request if request.at else replace(request, at=time.time())
        with self._lock:
            self.received.append(stamped)


def _envelope(results: list[dict[str, Any]]) -> dict[str, Any]:
    failed = sum(1 for r in results if "errorMessage" in r)
    return {
        "results": results,
        "wasTerminated": False,
        "nrOfSuccessfullTransactions": len(results) - failed,
        "nrOfFailedTransactions": failed,
    }


def _field_value(field: MiField, value: str, *, right_trim: bool) -> str:
    """How M3 writes an output value: alphanumerics right-padded to the field's length,
    numbers as plain decimals (0 when unset), dates as YYYYMMDD (empty when unset)."""
    if field.type == "A":
        return value if right_trim else value.ljust(field.length)[: max(field.length, len(value))]
    if field.type == "N":
        return value.strip() or "0"
    return value.strip()


def _label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        return default


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() == "true"


def _auth_kind(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "").lower()
    return (
        "bearer" if auth.startswith("bearer ") else "basic" if auth.startswith("basic ") else "none"
    )


_ARRIVED: ContextVar[float] = ContextVar("arrived")
"""When the request being served arrived (``time.monotonic``): a delayed answer is due from it."""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= _MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, response: _Response) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
