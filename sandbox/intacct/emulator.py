"""The Sage Intacct XML gateway emulator: ``POST /ia/xml/xmlgw.phtml`` plus ``/_sandbox/`` controls.

A plain ASGI app (no framework) so that faults can misbehave at the byte level: hang, cut a
body short, or drop the connection after announcing a length.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from sandbox.arrival import arrived
from sandbox.intacct import errors as codes
from sandbox.intacct.credentials import INTACCT_SANDBOX_CREDENTIALS, IntacctSandboxCredentials
from sandbox.intacct.errors import ErrorEntry, IntacctFailure
from sandbox.intacct.faults import FAULT_KINDS, Fault
from sandbox.intacct.functions import HANDLERS, READ_FUNCTIONS, WRITE_FUNCTIONS, Scope, Store
from sandbox.intacct.lifecycle import IntacctLifecycle
from sandbox.intacct.seed import ENTITIES, build_seed
from sandbox.latency import DueTimes

__all__ = ["GATEWAY_PATH", "IntacctEmulator", "ReceivedFunction", "ReceivedRequest"]

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
_XML_TYPE = b"text/xml; charset=UTF-8"
Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class ReceivedFunction:
    name: str
    controlid: str
    inputs: dict[str, str]
    """The function's simple child elements (object, query, fields, keys, referenceno …)."""


@dataclass
class ReceivedRequest:
    controlid: str
    uniqueid: bool
    transaction: bool
    auth: str | None
    """``login``, ``session`` or None when the request never got that far."""
    company_id: str | None
    entity: str | None
    functions: tuple[ReceivedFunction, ...]
    at: float
    outcome: str = "pending"
    """``success``, ``failure`` (some function failed), ``aborted``, ``control_failure``,
    ``auth_failure``, ``rate_limited``, ``fault:<kind>``."""

    @property
    def function_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.functions)


@dataclass
class _Session:
    session_id: str
    user_id: str
    company_id: str
    entity: str | None
    expires_at: float


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: bytes = _XML_TYPE
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class _ControlFailure(Exception):
    def __init__(self, status: int, *errors: ErrorEntry) -> None:
        super().__init__(errors[0].description)
        self.status = status
        self.errors = errors


class _AuthFailure(Exception):
    def __init__(self, error: ErrorEntry) -> None:
        super().__init__(error.description)
        self.error = error


def _errormessage(parent: Element, errors: tuple[ErrorEntry, ...] | list[ErrorEntry]) -> None:
    box = SubElement(parent, "errormessage")
    for entry in errors:
        err = SubElement(box, "error")
        SubElement(err, "errorno").text = entry.errorno
        SubElement(err, "description").text = entry.description
        SubElement(err, "description2").text = entry.description2
        SubElement(err, "correction").text = entry.correction


def _xml_bytes(root: Element) -> bytes:
    """``root`` as a UTF-8 document, written directly: ElementTree's general serializer was a
    fifth of a large read-only request's time here, for answers of plain elements and text."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write(root, out)
    return "".join(out).encode("utf-8")


def _escaped(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _write(el: Element, out: list[str]) -> None:
    tag = el.tag
    if not isinstance(tag, str):  # a comment or processing instruction: the general way
        out.append(tostring(el, encoding="unicode"))
        return
    if el.attrib:
        attributes = "".join(
            f' {k}="{_escaped(v).replace(chr(34), "&quot;")}"' for k, v in el.attrib.items()
        )
        out.append(f"<{tag}{attributes}")
    else:
        out.append("<" + tag)
    text = el.text
    if text or len(el):
        out.append(">")
        if text:
            out.append(_escaped(text))
        for child in el:
            _write(child, out)
        out.append(f"</{tag}>")
    else:
        out.append(" />")
    if el.tail:
        out.append(_escaped(el.tail))


def _child_text(el: Element | None, tag: str) -> str:
    if el is None:
        return ""
    return (el.findtext(tag) or "").strip()


class IntacctEmulator:
    """An in-memory Intacct company behind the XML gateway protocol.

    Tunables (defaults in brackets): ``today`` [date.today()] anchors relative seed dates;
    ``session_timeout_s`` [3600] sliding session lifetime; ``max_in_flight`` [2] requests per
    company at once before the rate-limit error; ``received_maxlen`` [1000] size of the
    ``received`` record; ``closed_before`` [first day of last month] periods before it are
    closed; ``hang_max_s`` [300] how long a ``hang`` fault holds a request at most;
    ``service_time_s`` [0] how long each admitted request takes before it is answered, holding
    its in-flight slot as the real gateway's work does (0: answered as soon as it is processed,
    so requests never overlap and the in-flight cap can only be reached with latency faults).
    """

    def __init__(
        self,
        *,
        public_url: str,
        today: date | None = None,
        session_timeout_s: float = 3600.0,
        max_in_flight: int = 2,
        received_maxlen: int = 1000,
        closed_before: date | None = None,
        hang_max_s: float = 300.0,
        service_time_s: float = 0.0,
        credentials: IntacctSandboxCredentials = INTACCT_SANDBOX_CREDENTIALS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        """What session timeouts are measured with (tests move a manual one)."""
        self.wall_clock: Callable[[], datetime] = wall_clock or (lambda: datetime.now(UTC))
        """What records are stamped with (``WHENMODIFIED``): the company's time."""
        self.today = today or date.today()
        self.session_timeout_s = session_timeout_s
        self.max_in_flight = max_in_flight
        self.hang_max_s = hang_max_s
        self.service_time_s = service_time_s
        self.credentials = credentials
        first_of_month = self.today.replace(day=1)
        default_closed = (first_of_month - timedelta(days=1)).replace(day=1)
        self.store = Store(build_seed(self.today), closed_before=closed_before or default_closed)
        self.received: deque[ReceivedRequest] = deque(maxlen=received_maxlen)
        self.in_flight: dict[str, int] = {}
        self.max_in_flight_seen: dict[str, int] = {}
        self.due_times = DueTimes()
        self.rate_limited_total = 0
        self._faults: dict[str, Fault] = {}
        self._fault_uses: dict[str, int] = {}
        self._sessions: dict[str, _Session] = {}
        self.sessions_issued = 0
        """Sessions opened since start (each sign-in with a login), expired ones included."""
        self._controlids: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Order to cash, moved by control calls (sandbox/intacct/lifecycle.py).
        self.lifecycle = IntacctLifecycle(self.store, clock=self._stamp_clock)

        # A plain function (not a bound method) so servers detect the ASGI 3 interface.
        async def app(scope: Scope_, receive: Receive, send: Send) -> None:
            await self._asgi(scope, receive, send)

        self.app = app

    # --- public test/CLI surface ---------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self.public_url + GATEWAY_PATH

    def set_fault(self, name: str, fault: Fault) -> None:
        """Inject ``fault`` for requests calling function ``name`` (``*`` for every request)."""
        self._faults[name] = fault
        self._fault_uses[name] = 0

    def clear_faults(self) -> None:
        self._faults.clear()
        self._fault_uses.clear()

    def expire_sessions(self) -> None:
        """Make every open session time out now (as if left idle past the timeout)."""
        for session in self._sessions.values():
            session.expires_at = 0.0

    async def _asgi(self, scope: Scope_, receive: Receive, send: Send) -> None:
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
        path, method = scope["path"], scope["method"]
        if path == GATEWAY_PATH and method == "POST":
            await self._gateway(receive, send, arrived(scope))
        elif path.startswith("/_sandbox/"):
            await self._control(path, method, receive, send)
        elif path == GATEWAY_PATH:
            await self._send(send, _Reply(405, b"Method Not Allowed", b"text/plain"))
        else:
            await self._send(send, _Reply(404, b"Not Found", b"text/plain"))

    # --- HTTP plumbing ----------------------------------------------------------------------

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, reply: _Reply) -> None:
        headers = [
            (b"content-type", reply.content_type),
            (b"content-length", str(len(reply.body)).encode()),
            *reply.headers,
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _control(self, path: str, method: str, receive: Receive, send: Send) -> None:
        body = await self._read_body(receive)
        if path == "/_sandbox/faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                kind = spec["kind"]
                if kind not in FAULT_KINDS:
                    raise ValueError(kind)
                fault = Fault(
                    kind=kind,
                    status=int(spec.get("status", 503)),
                    delay_ms=int(spec.get("delay_ms", 0)),
                    times=spec.get("times"),
                )
                self.set_fault(str(spec.get("target", "*")), fault)
            except (KeyError, ValueError, TypeError) as exc:
                msg = json.dumps({"error": f"bad fault spec: {exc}", "kinds": FAULT_KINDS})
                await self._send(send, _Reply(400, msg.encode(), b"application/json"))
                return
            await self._send(send, _Reply(204, b"", b"application/json"))
        elif path == "/_sandbox/faults" and method == "DELETE":
            self.clear_faults()
            await self._send(send, _Reply(204, b"", b"application/json"))
        elif path == "/_sandbox/faults" and method == "GET":
            payload = {k: asdict(v) for k, v in self._faults.items()}
            await self._send(send, _Reply(200, json.dumps(payload).encode(), b"application/json"))
        elif path == "/_sandbox/received" and method == "GET":
            payload = [
                {**asdict(r), "functions": [asdict(f) for f in r.functions]} for r in self.received
            ]
            await self._send(send, _Reply(200, json.dumps(payload).encode(), b"application/json"))
        elif path == "/_sandbox/stats" and method == "GET":
            # What a load test needs to prove the client respected the per-company limit.
            payload_stats = {
                "max_in_flight": self.max_in_flight,
                "max_in_flight_seen": self.max_in_flight_seen,
                "rate_limited_total": self.rate_limited_total,
                "sessions_issued": self.sessions_issued,
                **self.due_times.stats(),
            }
            await self._send(
                send, _Reply(200, json.dumps(payload_stats).encode(), b"application/json")
            )
        elif path.startswith("/_sandbox/lifecycle/"):
            status, payload = self.lifecycle.control(method, path, body)
            await self._send(
                send, _Reply(status, json.dumps(payload).encode(), b"application/json")
            )
        elif path == "/_sandbox/sessions/expire" and method == "POST":
            self.expire_sessions()
            await self._send(send, _Reply(204, b"", b"application/json"))
        else:
            await self._send(send, _Reply(404, b'{"error":"unknown control"}', b"application/json"))

    # --- the gateway ------------------------------------------------------------------------

    async def _gateway(self, receive: Receive, send: Send, arrived_at: float) -> None:
        """An XML gateway request that reached the emulator at ``arrived_at`` (``time.monotonic``)."""
        body = await self._read_body(receive)
        record = ReceivedRequest("", False, False, None, None, None, (), time.time())
        self.received.append(record)
        company: str | None = None
        control: Element | None = None
        operation: Element | None = None
        try:
            root = self._parse(body)
            control = root.find("control")
            record.controlid = _child_text(control, "controlid")
            record.uniqueid = _child_text(control, "uniqueid").lower() == "true"
            operation, functions = self._check_envelope(root, control)
            record.transaction = operation.get("transaction", "false").lower() == "true"
            record.functions = tuple(
                ReceivedFunction(
                    fn.tag, fn_controlid, {c.tag: (c.text or "").strip() for c in fn if len(c) == 0}
                )
                for fn_controlid, fn in functions
            )
            record.auth = (
                "session" if operation.find("authentication/sessionid") is not None else "login"
            )
            scope, session = self._authenticate(operation)
            record.company_id, record.entity = scope.company_id, scope.entity
            company = scope.company_id
            if self.in_flight.get(company, 0) >= self.max_in_flight:
                company = None  # not admitted, nothing to release
                record.outcome = "rate_limited"
                self.rate_limited_total += 1
                raise _ControlFailure(
                    429,
                    ErrorEntry(
                        codes.RATE_LIMIT,
                        "API rate limit exceeded",
                        f"More than {self.max_in_flight} requests in flight for this company.",
                        "Wait for a request to finish, then retry.",
                    ),
                )
            self.in_flight[company] = self.in_flight.get(company, 0) + 1
            self.max_in_flight_seen[company] = max(
                self.max_in_flight_seen.get(company, 0), self.in_flight[company]
            )
            if self.service_time_s > 0:
                await asyncio.sleep(self.service_time_s)
            fault = self._take_fault(record.function_names)
            if fault is not None and fault.kind == "hang":
                record.outcome = "fault:hang"
                await self._hang(receive)
                return
            if fault is not None and fault.kind in ("status", "malformed", "html"):
                record.outcome = f"fault:{fault.kind}"
                reply = self._fault_reply(fault)
                self._release(company)
                company = None
                await self._send(send, reply)
                return
            # Due delay_ms after arrival and the service time, worked out meanwhile
            # (``sandbox.latency``).
            due = None
            if fault is not None and fault.kind == "latency":
                due = arrived_at + self.service_time_s + fault.delay_ms / 1000
                await self.due_times.until_work(arrived_at, due)
            reply = self._process(
                control, functions=functions, scope=scope, session=session, record=record
            )
            if due is not None:
                await self.due_times.hold_until(due)
            if fault is not None and fault.kind in ("truncated", "reset"):
                record.outcome = f"fault:{fault.kind}"
                self._release(company)
                company = None
                await self._broken_reply(send, reply, fault)
                return
        except _ControlFailure as failure:
            if record.outcome == "pending":
                record.outcome = "control_failure"
            reply = self._control_failure_reply(control, failure)
        except _AuthFailure as failure:
            record.outcome = "auth_failure"
            reply = self._auth_failure_reply(control, operation, failure.error)
        finally:
            if company is not None:
                self._release(company)
        await self._send(send, reply)

    def _release(self, company: str) -> None:
        self.in_flight[company] = max(0, self.in_flight.get(company, 1) - 1)

    def _parse(self, body: bytes) -> Element:
        try:
            root = fromstring(body, forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise _ControlFailure(
                200,
                ErrorEntry(
                    codes.XML_SCHEMA,
                    "XML Parse error",
                    f"The request is not well-formed XML: {exc}",
                    "Send a well-formed request document",
                ),
            ) from exc
        if root.tag != "request":
            raise _ControlFailure(
                200,
                ErrorEntry(
                    codes.XML_SCHEMA, "XML Parse schema error", "The root element must be <request>"
                ),
            )
        return root

    def _check_envelope(
        self, root: Element, control: Element | None
    ) -> tuple[Element, list[tuple[str, Element]]]:
        def schema(detail: str) -> _ControlFailure:
            return _ControlFailure(
                200,
                ErrorEntry(
                    codes.XML_SCHEMA,
                    "XML Parse schema error",
                    detail,
                    "Check the request against the DTD",
                ),
            )

        if control is None:
            raise schema("Missing required element control")
        for tag in ("senderid", "password", "controlid"):
            if control.find(tag) is None:
                raise schema(f"Missing required element {tag} in control")
        controlid = _child_text(control, "controlid")
        if not 1 <= len(controlid) <= 256:
            raise schema("controlid must be 1 to 256 characters")
        if (
            _child_text(control, "senderid") != self.credentials.sender_id
            or _child_text(control, "password") != self.credentials.sender_password
        ):
            raise _ControlFailure(
                401,
                ErrorEntry(
                    codes.SIGN_IN_SENDER,
                    "Sign-in information is incorrect. Please check your request.",
                    "",
                    "Check the Web Services sender id and password",
                ),
            )
        operations = root.findall("operation")
        if len(operations) != 1:
            raise schema("The request needs exactly one operation element")
        operation = operations[0]
        if operation.find("authentication") is None:
            raise schema("Missing required element authentication")
        content = operation.find("content")
        if content is None or len(content) == 0:
            raise schema("Missing required element content/function")
        functions: list[tuple[str, Element]] = []
        for fn in content:
            if fn.tag != "function":
                raise schema(f"Element {fn.tag} is not allowed in content")
            fn_controlid = fn.get("controlid")
            if not fn_controlid:
                raise schema("Attribute controlid is required on function")
            if len(fn) != 1:
                raise schema("A function element holds exactly one function")
            functions.append((fn_controlid, fn[0]))
        return operation, functions

    def _authenticate(self, operation: Element) -> tuple[Scope, _Session]:
        auth = operation.find("authentication")
        assert auth is not None
        now = self.clock()
        session_el = auth.find("sessionid")
        if session_el is not None:
            session = self._sessions.get((session_el.text or "").strip())
            if session is None or session.expires_at <= now:
                if session is not None:
                    del self._sessions[session.session_id]
                raise _AuthFailure(
                    ErrorEntry(
                        codes.SIGN_IN_USER,
                        "Sign-in information is incorrect",
                        "Invalid session: the session has expired or does not exist.",
                        "Sign in again to get a new session",
                    )
                )
            session.expires_at = now + self.session_timeout_s
            return self._scope(session), session
        login = auth.find("login")
        if login is None:
            raise _ControlFailure(
                200,
                ErrorEntry(
                    codes.XML_SCHEMA,
                    "XML Parse schema error",
                    "authentication needs login or sessionid",
                ),
            )
        cred = self.credentials
        entity = _child_text(login, "locationid") or None
        if (
            _child_text(login, "userid") != cred.user_id
            or _child_text(login, "companyid") != cred.company_id
            or _child_text(login, "password") != cred.user_password
            or (entity is not None and entity not in ENTITIES)
        ):
            raise _AuthFailure(
                ErrorEntry(
                    codes.SIGN_IN_USER,
                    "Sign-in information is incorrect",
                    "",
                    "Check the user id, company id, password and entity",
                )
            )
        session = self._new_session(cred.user_id, cred.company_id, entity)
        return self._scope(session), session

    def _new_session(self, user_id: str, company_id: str, entity: str | None) -> _Session:
        now = self.clock()
        for sid in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[sid]
        session = _Session(
            secrets.token_urlsafe(24) + "..",
            user_id,
            company_id,
            entity,
            now + self.session_timeout_s,
        )
        self._sessions[session.session_id] = session
        self.sessions_issued += 1
        return session

    def _scope(self, session: _Session) -> Scope:
        return Scope(
            session.company_id, session.user_id, session.entity, self.today, self._stamp_clock()
        )

    def _stamp_clock(self) -> datetime:
        """The clock for WHENMODIFIED and friends: UTC, whole seconds (as Intacct shows them)."""
        return self.wall_clock().astimezone(UTC).replace(tzinfo=None, microsecond=0)

    def _take_fault(self, names: tuple[str, ...]) -> Fault | None:
        for name in (*names, "*"):
            fault = self._faults.get(name)
            if fault is None:
                continue
            uses = self._fault_uses.get(name, 0)
            if fault.times is not None and uses >= fault.times:
                continue
            self._fault_uses[name] = uses + 1
            return fault
        return None

    async def _hang(self, receive: Receive) -> None:
        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_disconnect(), self.hang_max_s)

    @staticmethod
    def _fault_reply(fault: Fault) -> _Reply:
        if fault.kind == "status":
            page = f"<html><body><h1>{fault.status}</h1>Service unavailable</body></html>"
            return _Reply(fault.status, page.encode(), b"text/html; charset=UTF-8")
        if fault.kind == "html":
            page = "<html><head><title>Maintenance</title></head><body>Down for maintenance"
            return _Reply(200, page.encode(), b"text/html; charset=UTF-8")
        return _Reply(200, b"<response><control><status>succ\x00ess</status>{{not xml", _XML_TYPE)

    @staticmethod
    async def _broken_reply(send: Send, reply: _Reply, fault: Fault) -> None:
        half = reply.body[: len(reply.body) // 2]
        if fault.kind == "truncated":
            await IntacctEmulator._send(send, _Reply(reply.status, half, reply.content_type))
            return
        headers = [
            (b"content-type", reply.content_type),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionResetError("sandbox fault: connection reset mid-response")

    # --- building responses -----------------------------------------------------------------

    def _control_element(self, parent: Element, control: Element | None, status: str) -> None:
        out = SubElement(parent, "control")
        SubElement(out, "status").text = status
        SubElement(out, "senderid").text = _child_text(control, "senderid")
        SubElement(out, "controlid").text = _child_text(control, "controlid")
        SubElement(out, "uniqueid").text = _child_text(control, "uniqueid") or "false"
        SubElement(out, "dtdversion").text = _child_text(control, "dtdversion") or "3.0"

    def _control_failure_reply(self, control: Element | None, failure: _ControlFailure) -> _Reply:
        root = Element("response")
        self._control_element(root, control, "failure")
        _errormessage(root, failure.errors)
        return _Reply(failure.status, _xml_bytes(root))

    def _auth_failure_reply(
        self, control: Element | None, operation: Element | None, error: ErrorEntry
    ) -> _Reply:
        root = Element("response")
        self._control_element(root, control, "success")
        op = SubElement(root, "operation")
        auth = SubElement(op, "authentication")
        SubElement(auth, "status").text = "failure"
        login = operation.find("authentication/login") if operation is not None else None
        SubElement(auth, "userid").text = _child_text(login, "userid")
        SubElement(auth, "companyid").text = _child_text(login, "companyid")
        SubElement(auth, "locationid").text = _child_text(login, "locationid")
        SubElement(auth, "sessiontimestamp").text = datetime.now(UTC).isoformat(timespec="seconds")
        _errormessage(op, [error])
        return _Reply(200, _xml_bytes(root))

    def _process(
        self,
        control: Element,
        *,
        functions: list[tuple[str, Element]],
        scope: Scope,
        session: _Session,
        record: ReceivedRequest,
    ) -> _Reply:
        controlid = _child_text(control, "controlid")
        key = (scope.company_id, controlid)
        if record.uniqueid and key in self._controlids:
            raise _ControlFailure(
                200,
                ErrorEntry(
                    codes.DUPLICATE_CONTROLID,
                    "Duplicate control id",
                    f"A request with control id '{controlid}' was already processed "
                    "(uniqueid=true).",
                    "Use a new control id for a new request",
                ),
            )
        self._controlids[key] = None
        while len(self._controlids) > 10_000:
            self._controlids.popitem(last=False)

        transaction = record.transaction
        snapshot = (
            self.store.snapshot()
            if transaction and any(fn.tag in WRITE_FUNCTIONS for _, fn in functions)
            else None
        )
        results: list[tuple[str, str, list[Element] | tuple[ErrorEntry, ...]]] = []
        failed_at: int | None = None
        reading = (
            self.store.reads_only()
            if all(fn.tag in READ_FUNCTIONS for _, fn in functions)
            else contextlib.nullcontext()
        )
        with reading:
            for index, (fn_controlid, fn) in enumerate(functions):
                try:
                    if transaction and failed_at is not None:
                        raise IntacctFailure(ErrorEntry(codes.ROLLED_BACK, ""))
                    if fn.tag == "getAPISession":
                        payload = self._get_api_session(fn, session, scope)
                    else:
                        handler = HANDLERS.get(fn.tag)
                        if handler is None:
                            raise IntacctFailure(
                                ErrorEntry(
                                    codes.XML_SCHEMA,
                                    "XML Parse schema error",
                                    f"Function {fn.tag} is not allowed here",
                                    "Check the function name",
                                )
                            )
                        payload = handler(self.store, scope, fn)
                    results.append((fn.tag, fn_controlid, payload))
                except IntacctFailure as failure:
                    results.append((fn.tag, fn_controlid, failure.errors))
                    if failed_at is None:
                        failed_at = index
        if transaction and failed_at is not None and snapshot is not None:
            self.store.restore(snapshot)
        record.outcome = (
            "aborted"
            if transaction and failed_at is not None
            else "failure"
            if failed_at is not None
            else "success"
        )

        out = Element("response")
        self._control_element(out, control, "success")
        op = SubElement(out, "operation")
        auth = SubElement(op, "authentication")
        SubElement(auth, "status").text = "success"
        SubElement(auth, "userid").text = session.user_id
        SubElement(auth, "companyid").text = session.company_id
        SubElement(auth, "locationid").text = session.entity or ""
        stamp = datetime.now(UTC)
        SubElement(auth, "sessiontimestamp").text = stamp.isoformat(timespec="seconds")
        SubElement(auth, "sessiontimeout").text = (
            stamp + timedelta(seconds=self.session_timeout_s)
        ).isoformat(timespec="seconds")
        rolled_back = ErrorEntry(
            codes.ROLLED_BACK,
            "The entire transaction in this operation has been rolled back due to an error.",
        )
        for name, fn_controlid, payload in results:
            result = SubElement(op, "result")
            is_error = isinstance(payload, tuple)
            if transaction and failed_at is not None:
                status = "aborted"
            else:
                status = "failure" if is_error else "success"
            SubElement(result, "status").text = status
            SubElement(result, "function").text = name
            SubElement(result, "controlid").text = fn_controlid
            if status == "aborted":
                entries = [e for e in payload if e.errorno != codes.ROLLED_BACK] if is_error else []
                _errormessage(result, [*entries, rolled_back])  # type: ignore[list-item]
            elif is_error:
                _errormessage(result, payload)  # type: ignore[arg-type]
            else:
                for element in payload:  # type: ignore[union-attr]
                    result.append(element)  # type: ignore[arg-type]
        return _Reply(200, _xml_bytes(out))

    def _get_api_session(self, fn: Element, session: _Session, scope: Scope) -> list[Element]:
        entity = _child_text(fn, "locationid") or scope.entity
        if entity is not None and entity not in ENTITIES:
            raise IntacctFailure(
                ErrorEntry(
                    codes.SIGN_IN_USER,
                    "Sign-in information is incorrect",
                    f"Invalid entity '{entity}'",
                )
            )
        if entity != session.entity:
            session = self._new_session(session.user_id, session.company_id, entity)
        data = Element("data")
        api = SubElement(data, "api")
        SubElement(api, "sessionid").text = session.session_id
        SubElement(api, "endpoint").text = self.endpoint_url
        SubElement(api, "locationid").text = entity or ""
        return [data]
