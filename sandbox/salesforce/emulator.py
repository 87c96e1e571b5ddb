"""A Salesforce org over the REST API, as a plain ASGI application.

Served over HTTPS by ``isthmus sandbox`` (see ``tls.py``); in-process tests may call it
through an ASGI transport. Plain ASGI (rather than a framework) because some faults
(connection reset mid-body) need control of the raw messages.
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime as http_date
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from sandbox.salesforce.auth import ConnectedApp, OAuthError, Sessions, generate_key_pair
from sandbox.salesforce.ids import IdFactory, is_id, normalize_id
from sandbox.salesforce.metadata import DEFAULT_PROJECT, apply_metadata
from sandbox.salesforce.org import Org, SfError, format_datetime, parse_datetime
from sandbox.salesforce.schema import ObjectDef, Schema
from sandbox.salesforce.seed import INTEGRATION_USERNAME, seed_org
from sandbox.salesforce.soql import SoqlError, parse_query
from sandbox.salesforce.standard import standard_objects

__all__ = [
    "SANDBOX_CONSUMER_KEY",
    "SANDBOX_CONSUMER_SECRET",
    "SANDBOX_USERNAME",
    "Fault",
    "ReceivedRequest",
    "SalesforceEmulator",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SANDBOX_CONSUMER_KEY = "3MVG9Isthmus.Sandbox.ConnectedApp.Consumer.Key0001"
SANDBOX_CONSUMER_SECRET = "ISTHMUS-SANDBOX-CONSUMER-SECRET-7f3a91c2e4"  # noqa: S105 - documented
SANDBOX_USERNAME = INTEGRATION_USERNAME
MIN_VERSION, MAX_VERSION = 50, 62
_RELEASES = {50: "Winter '21", 51: "Spring '21", 52: "Summer '21", 53: "Winter '22",
             54: "Spring '22", 55: "Summer '22", 56: "Winter '23", 57: "Spring '23",
             58: "Summer '23", 59: "Winter '24", 60: "Spring '24", 61: "Summer '24",
             62: "Winter '25"}  # fmt: skip
_JSON = "application/json;charset=UTF-8"
_MAX_BODY = 8_000_000
COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000
_NOT_FOUND = SfError("NOT_FOUND", "The requested resource does not exist", (), 404)
FaultKind = Literal["latency", "hang", "status", "malformed", "truncated", "reset", "html"]
FAULT_KINDS = ("latency", "hang", "status", "malformed", "truncated", "reset", "html")


class _ResetConnection(Exception):
    """Raised after a partial body so that the server drops the connection."""


@dataclass(frozen=True)
class Fault:
    """One injected fault, for an operation name or a path pattern (``fnmatch``).

    - ``latency``: wait ``delay_ms`` then answer normally;
    - ``hang``: never answer (until ``delay_ms`` if given, or until faults are cleared);
    - ``status``: answer ``status`` with a Salesforce error body (503 → SERVER_UNAVAILABLE);
    - ``malformed``: 200 with a body that is not JSON; ``truncated``: the real JSON cut in
      half; ``html``: 200 with an HTML maintenance page;
    - ``reset``: start a response and drop the connection mid-body.
    ``times`` limits how many requests the fault hits (None = until cleared).
    """

    kind: FaultKind
    status: int = 503
    delay_ms: int = 0
    times: int | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """What the org received. ``op`` names the operation (``token``, ``query``, ``create``,
    ``update``, ``upsert``, ``collections.create`` …); ``body`` is the decoded JSON (token
    requests keep only ``grant_type`` and ``client_id``, never an assertion or secret)."""

    op: str
    method: str
    path: str
    version: str = ""
    sobject: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    authorization: str = "none"
    at: float = 0.0


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: str = _JSON


def _json(status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> _Response:
    return _Response(status, json.dumps(payload).encode(), headers or [])


def _errors(*errors: SfError, status: int | None = None) -> _Response:
    return _json(status or errors[0].status, [e.body() for e in errors])


@dataclass
class _Result:
    """What a REST handler produced, before the HTTP framing (also used by ``composite``)."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class SalesforceEmulator:
    """One emulated org. Tunables (defaults in brackets):

    - ``public_url`` [https://127.0.0.1:8703]: the instance URL and an accepted JWT audience.
    - ``project`` [the repository's ``salesforce/``]: the SFDX project read for custom schema.
    - ``consumer_key``/``consumer_secret``/``username``: the connected app and its user.
    - ``jwt_public_key_pem``: the connected app's certificate key; when not given a key pair is
      generated and the private half is in ``jwt_private_key_pem`` (``write_credentials``).
    - ``token_lifetime`` [2 h]; ``daily_api_limit`` [15,000]; ``clock`` [UTC now];
      ``today`` [the clock's date] anchors the seed; ``received_maxlen`` [2,000].
    """

    def __init__(
        self,
        *,
        public_url: str = "https://127.0.0.1:8703",
        project: Path = DEFAULT_PROJECT,
        consumer_key: str = SANDBOX_CONSUMER_KEY,
        consumer_secret: str = SANDBOX_CONSUMER_SECRET,
        username: str = SANDBOX_USERNAME,
        jwt_public_key_pem: bytes | None = None,
        token_lifetime: timedelta = timedelta(hours=2),
        daily_api_limit: int = 15_000,
        clock: Callable[[], datetime] | None = None,
        today: date | None = None,
        received_maxlen: int = 2_000,
        cursor_lifetime: timedelta = timedelta(minutes=15),
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.schema = Schema(apply_metadata(standard_objects(), project))
        self.org = Org(self.schema, self.clock)
        seed_org(self.org, today=today or self.clock().date())
        self.started_at = self.clock().replace(microsecond=0)
        if jwt_public_key_pem is None:
            self.jwt_private_key_pem: bytes | None
            self.jwt_private_key_pem, jwt_public_key_pem = generate_key_pair()
        else:
            self.jwt_private_key_pem = None
        self.app_credentials = ConnectedApp(
            consumer_key, consumer_secret, jwt_public_key_pem, username
        )
        self.sessions = Sessions(
            self.app_credentials,
            audiences=("https://login.salesforce.com", "https://test.salesforce.com", self.public_url),
            clock=self.clock, lifetime=token_lifetime, org_id=self.org.org_id,
            user_id=self.org.user_id, public_url=self.public_url,
        )  # fmt: skip
        self.daily_api_limit = daily_api_limit
        self.api_used = 0
        self.cursor_lifetime = cursor_lifetime
        self.received: collections.deque[ReceivedRequest] = collections.deque(
            maxlen=received_maxlen
        )
        self._lock = threading.Lock()
        self._faults: dict[str, list[Any]] = {}
        self._fault_generation = 0
        self._cursors: dict[str, tuple[list[dict[str, Any]], datetime, int]] = {}
        self._cursor_ids = IdFactory()
        self.app = self

    # -- control hooks (tests, and /_sandbox/ over HTTP) ------------------------------------
    def set_fault(self, target: str, fault: Fault) -> None:
        """``target``: an operation name (``query``, ``token``, ``collections.upsert`` …), a
        path pattern (``/services/data/*/composite/*``) or ``*``."""
        with self._lock:
            self._faults[target] = [fault, fault.times]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._fault_generation += 1

    def expire_sessions(self) -> None:
        """Every access token issued so far answers INVALID_SESSION_ID from now on."""
        self.sessions.expire_all()

    def set_api_usage(self, *, used: int | None = None, limit: int | None = None) -> None:
        with self._lock:
            if used is not None:
                self.api_used = used
            if limit is not None:
                self.daily_api_limit = limit

    def lock_record(self, record_id: str) -> None:
        """Writes to the record fail with UNABLE_TO_LOCK_ROW until ``unlock_record``."""
        with self.org.lock:
            self.org.locked_ids.add(normalize_id(record_id) or record_id)

    def unlock_record(self, record_id: str) -> None:
        with self.org.lock:
            self.org.locked_ids.discard(normalize_id(record_id) or record_id)

    def received_op(self, op: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.received if r.op == op]

    def record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """The stored record (values as Python types), or None."""
        with self.org.lock:
            found = self.org.get(sobject, record_id)
            return dict(found) if found is not None else None

    def find(self, sobject: str, field_name: str, value: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.org.find(sobject, field_name, value)]

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.org.lock:
            return list(self.org.events)

    def credentials_document(
        self, private_key_file: Path | None = None, ca_file: Path | None = None
    ) -> dict[str, Any]:
        return {
            "login_url": self.public_url,
            "instance_url": self.public_url,
            "consumer_key": self.app_credentials.consumer_key,
            "consumer_secret": self.app_credentials.consumer_secret,
            "username": self.app_credentials.username,
            "private_key_file": str(private_key_file) if private_key_file else None,
            "ca_file": str(ca_file) if ca_file else None,
            "api_versions": f"{MIN_VERSION}.0-{MAX_VERSION}.0",
        }

    def write_credentials(self, directory: Path, ca_file: Path | None = None) -> Path:
        """Write the connected app's private key and ``salesforce.json``; return the key file."""
        if self.jwt_private_key_pem is None:
            raise RuntimeError("the emulator was given a public key: it holds no private key")
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / "salesforce-jwt-key.pem"
        key_file.write_bytes(self.jwt_private_key_pem)
        key_file.chmod(0o600)
        doc = self.credentials_document(key_file.resolve(), ca_file.resolve() if ca_file else None)
        (directory / "salesforce.json").write_text(
            json.dumps(doc, indent=2) + "\n", encoding="utf-8"
        )
        return key_file

    # -- ASGI -------------------------------------------------------------------------------
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
            return self._control(method, path, query, body)
        if path.rstrip("/") == "/services/oauth2/token":
            return await self._token(method, path, headers, body, send)
        if path.rstrip("/") in ("/services/data", ""):
            self._record(ReceivedRequest(op="versions", method=method, path=path))
            return await self._with_faults("versions", path, send, lambda: self._versions(method))
        match = re.match(r"^/services/data/v(\d+\.\d)(/.*)?$", path)
        if match:
            return await self._rest(
                method,
                path,
                match.group(1),
                rest=match.group(2) or "/",
                headers=headers,
                query=query,
                body=body,
                send=send,
            )
        match = re.match(r"^/id/([A-Za-z0-9]{15,18})/([A-Za-z0-9]{15,18})/?$", path)
        if match and method == "GET":
            return self._identity(headers, match.group(1), match.group(2))
        return _errors(_NOT_FOUND)

    # -- OAuth ------------------------------------------------------------------------------
    async def _token(
        self, method: str, path: str, headers: dict[str, str], body: bytes, send: Send
    ) -> _Response | None:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        self._record(
            ReceivedRequest(
                op="token", method=method, path=path,
                body={"grant_type": form.get("grant_type", ""), "client_id": form.get("client_id", "")},
                authorization=_auth_kind(headers),
            )
        )  # fmt: skip

        def produce() -> _Response:
            if method != "POST":
                return _json(
                    400, {"error": "invalid_request", "error_description": "must use HTTP POST"}
                )
            if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return _json(
                    400,
                    {"error": "invalid_request", "error_description": "unsupported content type"},
                )
            try:
                payload = self.sessions.token(headers, body)
            except OAuthError as refusal:
                return _json(
                    refusal.status,
                    {"error": refusal.error, "error_description": refusal.description},
                )
            return _json(
                200,
                payload,
                [(b"cache-control", b"no-cache,must-revalidate,max-age=0,no-store,private")],
            )

        return await self._with_faults("token", path, send, produce)

    def _identity(self, headers: dict[str, str], org_id: str, user_id: str) -> _Response:
        if not self.sessions.valid(_bearer(headers)):
            return _json(403, "Bad_OAuth_Token")
        user = self.org.records["User"].get(normalize_id(user_id) or "")
        if user is None or normalize_id(org_id) != self.org.org_id:
            return _errors(_NOT_FOUND)
        return _json(200, {
            "id": f"{self.public_url}/id/{self.org.org_id}/{user['Id']}", "asserted_user": True,
            "user_id": user["Id"], "organization_id": self.org.org_id, "username": user["Username"],
            "display_name": user["Name"], "email": user["Email"], "active": True, "user_type": "STANDARD",
            "urls": {"rest": f"{self.public_url}/services/data/v{{version}}/",
                     "sobjects": f"{self.public_url}/services/data/v{{version}}/sobjects/",
                     "query": f"{self.public_url}/services/data/v{{version}}/query/"},
        })  # fmt: skip

    def _versions(self, method: str) -> _Response:
        if method != "GET":
            return _method_not_allowed(method, "GET")
        return _json(200, [
            {"label": _RELEASES[v], "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(MIN_VERSION, MAX_VERSION + 1)
        ])  # fmt: skip

    # -- REST -------------------------------------------------------------------------------
    async def _rest(self, method: str, path: str, version: str, *, rest: str, headers: dict[str, str],
                    query: dict[str, str], body: bytes, send: Send) -> _Response | None:  # fmt: skip
        op, sobject = _classify(method, rest)
        parsed_body: Any = None
        body_error: SfError | None = None
        if body and method in ("POST", "PATCH", "PUT"):
            try:
                parsed_body = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                body_error = SfError("JSON_PARSER_ERROR", f"Unexpected character: {str(exc)[:120]}")
        self._record(
            ReceivedRequest(
                op=op, method=method, path=path, version=version, sobject=sobject,
                query=dict(query.items()), body=parsed_body, authorization=_auth_kind(headers),
            )
        )  # fmt: skip
        major = int(version.split(".", maxsplit=1)[0])
        if not version.endswith(".0") or not MIN_VERSION <= major <= MAX_VERSION:
            return _errors(_NOT_FOUND)
        if not self.sessions.valid(_bearer(headers)):
            response = _json(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
            response.headers.append((b"www-authenticate", b"Token"))
            return response
        with self._lock:
            over = self.api_used >= self.daily_api_limit
            if not over:
                self.api_used += 1
            usage = f"api-usage={self.api_used}/{self.daily_api_limit}".encode()
        if over:
            response = _errors(
                SfError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", (), 403)
            )
            response.headers.append((b"sforce-limit-info", usage))
            return response

        def produce() -> _Response:
            if body_error is not None:
                result = _Result(400, [body_error.body()])
            else:
                result = self.handle(
                    method, rest, version, query=query, headers=headers, body=parsed_body
                )
            if result.status in (204, 304) or result.payload is None:
                response = _Response(result.status, b"")
            else:
                response = _json(result.status, result.payload)
            response.headers.append((b"sforce-limit-info", usage))
            for key, value in result.headers.items():
                response.headers.append((key.lower().encode(), value.encode()))
            return response

        return await self._with_faults(op, path, send, produce)

    def handle(self, method: str, rest: str, version: str, *, query: dict[str, str],
               headers: dict[str, str], body: Any) -> _Result:  # fmt: skip
        """Run one REST request (also a ``composite`` subrequest) against the org."""
        try:
            return self._route(method, rest, version, query=query, headers=headers, body=body)
        except SfError as error:
            return _Result(error.status, [error.body()])
        except SoqlError as error:
            return _Result(400, [{"message": error.message, "errorCode": error.code}])

    def _route(self, method: str, rest: str, version: str, *, query: dict[str, str],
               headers: dict[str, str], body: Any) -> _Result:  # fmt: skip
        parts = [unquote(p) for p in rest.strip("/").split("/") if p]
        base = f"/services/data/v{version}"
        if not parts:
            _allow(method, "GET")
            names = (
                "sobjects",
                "query",
                "queryAll",
                "composite",
                "limits",
                "search",
                "recent",
                "tooling",
            )
            return _Result(200, {n: f"{base}/{n}" for n in names})
        head = parts[0]
        if head == "limits" and len(parts) == 1:
            _allow(method, "GET")
            return _Result(200, self._limits())
        if head in ("query", "queryAll"):
            _allow(method, "GET")
            if len(parts) == 1:
                return self._query(query, headers, version, include_deleted=head == "queryAll")
            if len(parts) == 2:
                return self._query_more(parts[1])
            raise _NOT_FOUND
        if head == "sobjects":
            return self._sobjects(
                method, parts[1:], version, query=query, headers=headers, body=body
            )
        if head == "composite":
            if len(parts) == 1:
                _allow(method, "POST")
                return self._composite(body, version)
            if parts[1] == "sobjects":
                return self._collections(method, parts[2:], version, query, body)
        raise _NOT_FOUND

    def _object(self, name: str) -> ObjectDef:
        obj = self.schema.get(name)
        if obj is None:
            raise _NOT_FOUND
        return obj

    # sobjects ------------------------------------------------------------------------------
    def _sobjects(self, method: str, parts: list[str], version: str, *, query: dict[str, str],
                  headers: dict[str, str], body: Any) -> _Result:  # fmt: skip
        if not parts:
            _allow(method, "GET")
            return _Result(200, {
                "encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT,
                "sobjects": [o.summary(version) for o in self.schema.objects.values()],
            })  # fmt: skip
        obj = self._object(parts[0])
        if len(parts) == 1:
            _allow(method, "GET", "POST")
            if method == "GET":
                return _Result(200, {"objectDescribe": obj.summary(version), "recentItems": []})
            record_id = self.org.create(obj, _body_object(body))
            if obj.is_event:
                event = self.org.events[-1]
                return _Result(201, {"id": record_id, "success": True, "errors": [
                    {"statusCode": "OPERATION_ENQUEUED", "message": event["EventUuid"], "fields": []}]})  # fmt: skip
            return _Result(201, {"id": record_id, "success": True, "errors": []},
                           {"Location": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"})  # fmt: skip
        if parts[1] == "describe" and len(parts) == 2:
            _allow(method, "GET")
            last_modified = http_date(self.started_at, usegmt=True)
            since = headers.get("if-modified-since")
            if since:
                try:
                    if parsedate_to_datetime(since) >= self.started_at:
                        return _Result(304, None, {"Last-Modified": last_modified})
                except (TypeError, ValueError):
                    pass
            return _Result(
                200, self.schema.describe(obj.name, version), {"Last-Modified": last_modified}
            )
        if parts[1] in ("updated", "deleted") and len(parts) == 2:
            _allow(method, "GET")
            return self._replication(obj, parts[1], query)
        if obj.is_event:
            raise _NOT_FOUND
        if len(parts) == 2:
            return self._record_by_id(
                method, obj, parts[1], version=version, query=query, body=body
            )
        if len(parts) == 3:
            return self._record_by_external_id(
                method, obj, parts[1], parts[2], version=version, query=query, body=body
            )
        raise _NOT_FOUND

    def _fields_param(self, obj: ObjectDef, raw: str | None) -> list[str] | None:
        if raw is None:
            return None
        names = []
        for name in (n.strip() for n in raw.split(",") if n.strip()):
            fdef = obj.field_ci(name)
            if fdef is None:
                raise SfError(
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                )
            names.append(fdef.name)
        return names

    def _check_id(self, obj: ObjectDef, raw: str) -> str:
        full = normalize_id(raw)
        if full is None or full[:3] != obj.key_prefix:
            raise SfError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", (), 400
            )
        return full

    def _record_by_id(self, method: str, obj: ObjectDef, raw_id: str, *, version: str,
                      query: dict[str, str], body: Any) -> _Result:  # fmt: skip
        _allow(method, "GET", "PATCH", "DELETE")
        if not re.fullmatch(r"[A-Za-z0-9]{15}|[A-Za-z0-9]{18}", raw_id):
            raise SfError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw_id}",
                (),
                404,
            )
        record_id = self._check_id(obj, raw_id)
        if method == "GET":
            names = self._fields_param(obj, query.get("fields"))
            with self.org.lock:
                record = self.org.get(obj.name, record_id)
                if record is None:
                    raise _NOT_FOUND
                return _Result(200, self.org.render(obj, record, version, names))
        if method == "PATCH":
            self.org.update(obj, record_id, _body_object(body))
            return _Result(204)
        self.org.delete(obj, record_id)
        return _Result(204)

    def _record_by_external_id(self, method: str, obj: ObjectDef, field_name: str, value: str, *,
                               version: str, query: dict[str, str], body: Any) -> _Result:  # fmt: skip
        _allow(method, "GET", "PATCH", "DELETE")
        fdef = obj.field_ci(field_name)
        if fdef is None:
            raise SfError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
                (),
                404,
            )
        if not (fdef.external_id or fdef.id_lookup):
            raise SfError(
                "INVALID_FIELD",
                f"Field {fdef.name} is not an External ID or indexed field for {obj.name}",
                (),
                400,
            )
        matches = self.org.find(obj.name, fdef.name, value) if fdef.name != "Id" else (
            [r] if (r := self.org.get(obj.name, value)) else []
        )  # fmt: skip
        if len(matches) > 1:
            return _Result(
                300, [f"/services/data/v{version}/sobjects/{obj.name}/{r['Id']}" for r in matches]
            )
        if method == "GET":
            if not matches:
                raise _NOT_FOUND
            names = self._fields_param(obj, query.get("fields"))
            return _Result(200, self.org.render(obj, matches[0], version, names))
        if method == "DELETE":
            if not matches:
                raise _NOT_FOUND
            self.org.delete(obj, matches[0]["Id"])
            return _Result(204)
        values = _body_object(body)
        for key in list(values):
            if key.lower() == fdef.name.lower():
                if str(values[key]) != value:
                    raise SfError(
                        "INVALID_FIELD", f"{fdef.name} specified more than once", (fdef.name,)
                    )
                del values[key]
        major = int(version.split(".", maxsplit=1)[0])
        if matches:
            self.org.update(obj, matches[0]["Id"], values)
            if major >= 46:
                return _Result(
                    200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
                )
            return _Result(204)
        if query.get("updateOnly", "").lower() == "true" and major >= 61:
            raise _NOT_FOUND
        values[fdef.name] = value
        record_id = self.org.create(obj, values)
        return _Result(201, {"id": record_id, "success": True, "errors": [], "created": True},
                       {"Location": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"})  # fmt: skip

    def _replication(self, obj: ObjectDef, kind: str, query: dict[str, str]) -> _Result:
        if obj.is_event or not obj.queryable:
            raise SfError("INVALID_TYPE", f"sObject type '{obj.name}' is not supported.")
        raw_start, raw_end = query.get("start"), query.get("end")
        if not raw_start or not raw_end:
            raise SfError("MISSING_ARGUMENT", "start and end are required parameters")
        try:
            start = parse_datetime(raw_start).replace(second=0, microsecond=0)
            end = parse_datetime(raw_end).replace(second=0, microsecond=0)
        except ValueError:
            raise SfError(
                "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes"
            ) from None
        now = self.clock()
        if start >= end:
            raise SfError(
                "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
            )
        earliest = (now - timedelta(days=30)).replace(second=0, microsecond=0)
        if start < earliest:
            raise SfError("INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
        covered = min(end, now.replace(second=0, microsecond=0))
        with self.org.lock:
            if kind == "updated":
                ids = sorted(
                    r["Id"] for r in self.org.records[obj.name].values()
                    if start <= r["SystemModstamp"] < end
                )  # fmt: skip
                return _Result(200, {"ids": ids, "latestDateCovered": format_datetime(covered)})
            deleted = sorted(
                ({"id": r["Id"], "deletedDate": format_datetime(r["__deleted_at__"])}
                 for r in self.org.recycled[obj.name].values() if start <= r["__deleted_at__"] < end),
                key=lambda d: d["deletedDate"],
            )  # fmt: skip
        return _Result(200, {
            "deletedRecords": deleted, "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(covered),
        })  # fmt: skip

    # query ----------------------------------------------------------------------------------
    def _query(
        self, query: dict[str, str], headers: dict[str, str], version: str, *, include_deleted: bool
    ) -> _Result:
        text = query.get("q")
        if text is None:
            raise SfError("MALFORMED_QUERY", "A query string must be provided.")
        parsed = parse_query(text, self.schema, self.clock())
        with self.org.lock:
            hits = self.org.run_query(parsed, include_deleted=include_deleted)
            if parsed.count_only:
                return _Result(200, {"totalSize": len(hits), "done": True, "records": []})
            rows = [self.org.shape(parsed, r, version) for r in hits]
        batch = _batch_size(headers.get("sforce-query-options", ""))
        if len(rows) <= batch:
            return _Result(200, {"totalSize": len(rows), "done": True, "records": rows})
        locator = self._cursor_ids.new("01g")
        with self._lock:
            self._cursors[locator] = (rows, self.clock(), batch)
        return _Result(200, {
            "totalSize": len(rows), "done": False,
            "nextRecordsUrl": f"/services/data/v{version}/query/{locator}-{batch}",
            "records": rows[:batch],
        })  # fmt: skip

    def _query_more(self, token: str) -> _Result:
        locator, _, raw_offset = token.partition("-")
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is not None and self.clock() - cursor[1] > self.cursor_lifetime:
                del self._cursors[locator]
                cursor = None
        if cursor is None or not raw_offset.isdigit():
            raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, _, batch = cursor
        offset = int(raw_offset)
        if offset >= len(rows):
            raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator")
        with self._lock:
            self._cursors[locator] = (rows, self.clock(), batch)
        page = rows[offset : offset + batch]
        done = offset + batch >= len(rows)
        payload: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            version = page[0]["attributes"]["url"].split("/")[3][1:] if page else f"{MAX_VERSION}.0"
            payload["nextRecordsUrl"] = (
                f"/services/data/v{version}/query/{locator}-{offset + batch}"
            )
        return _Result(200, payload)

    # limits ---------------------------------------------------------------------------------
    def _limits(self) -> dict[str, Any]:
        with self._lock:
            used, limit = self.api_used, self.daily_api_limit
        return {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyStandardVolumePlatformEvents": {"Max": 10000, "Remaining": 10000},
            "HourlyPublishedPlatformEvents": {
                "Max": 250000,
                "Remaining": 250000 - len(self.org.events),
            },
            "HourlyPublishedStandardVolumePlatformEvents": {"Max": 100000, "Remaining": 100000},
            "DataStorageMB": {"Max": 5, "Remaining": 4},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        }

    # collections ----------------------------------------------------------------------------
    def _collections(
        self, method: str, parts: list[str], version: str, query: dict[str, str], body: Any
    ) -> _Result:
        if not parts:
            _allow(method, "POST", "PATCH", "DELETE")
            if method == "DELETE":
                ids = [i for i in query.get("ids", "").split(",") if i]
                if not ids:
                    raise SfError("MISSING_ARGUMENT", "ids parameter is required")
                if len(ids) > COLLECTION_LIMIT:
                    raise _too_many()
                all_or_none = query.get("allOrNone", "false").lower() == "true"
                return _Result(200, self._batch(ids, all_or_none, self._delete_one))
            request = _body_object(body)
            records = _records(request)
            all_or_none = _flag(request.get("allOrNone", False))
            if method == "POST":
                return _Result(200, self._batch(records, all_or_none, self._create_one))
            return _Result(200, self._batch(records, all_or_none, self._update_one))
        obj = self._object(parts[0])
        if len(parts) == 1:
            _allow(method, "GET", "POST")
            if method == "GET":
                ids = [i for i in query.get("ids", "").split(",") if i]
                names = self._fields_param(obj, query.get("fields"))
                if not ids or names is None:
                    raise SfError("MISSING_ARGUMENT", "ids and fields are required parameters")
            else:
                request = _body_object(body)
                ids = list(request.get("ids") or [])
                names = self._fields_param(obj, ",".join(request.get("fields") or []))
                if len(ids) > 2000:
                    raise _too_many(2000)
            out = []
            with self.org.lock:
                for raw in ids:
                    record = self.org.get(obj.name, raw) if is_id(str(raw)) else None
                    out.append(self.org.render(obj, record, version, names) if record else None)
            return _Result(200, out)
        if len(parts) == 2:
            _allow(method, "PATCH")
            fdef = obj.field_ci(parts[1])
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise SfError(
                    "INVALID_FIELD",
                    f"Field {parts[1]} is not an External ID or indexed field for {obj.name}",
                )
            request = _body_object(body)
            records = _records(request)
            all_or_none = _flag(request.get("allOrNone", False))
            return _Result(
                200,
                self._batch(
                    records, all_or_none, lambda r: self._upsert_one(obj, fdef.name, r, version)
                ),
            )
        raise _NOT_FOUND

    def _batch(
        self, items: list[Any], all_or_none: bool, run: Callable[[Any], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        state = self.org.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        failed = False
        for item in items:
            try:
                results.append(run(item))
            except SfError as error:
                failed = True
                results.append(
                    {"id": _given_id(item), "success": False, "errors": [error.collection_error()]}
                )
                if all_or_none:
                    break
        if all_or_none and failed:
            self.org.restore(state)
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "fields": [],
            }
            final = []
            for index, item in enumerate(items):
                if index < len(results) and not results[index]["success"]:
                    final.append(results[index])
                else:
                    final.append({"id": _given_id(item), "success": False, "errors": [rolled]})
            return final
        return results

    def _typed(self, record: Any) -> tuple[ObjectDef, dict[str, Any]]:
        if not isinstance(record, dict):
            raise SfError(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sObject from a non-object value",
            )
        attributes = record.get("attributes") or {}
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if not type_name:
            raise SfError("INVALID_TYPE", "Must send a concrete entity type.")
        obj = self.schema.get(str(type_name))
        if obj is None:
            raise SfError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return obj, {k: v for k, v in record.items() if k != "attributes"}

    def _create_one(self, record: Any) -> dict[str, Any]:
        obj, values = self._typed(record)
        record_id = self.org.create(obj, values)
        if obj.is_event:
            uuid_text = self.org.events[-1]["EventUuid"]
            return {"id": record_id, "success": True, "errors": [
                {"statusCode": "OPERATION_ENQUEUED", "message": uuid_text, "fields": []}]}  # fmt: skip
        return {"id": record_id, "success": True, "errors": []}

    def _update_one(self, record: Any) -> dict[str, Any]:
        obj, values = self._typed(record)
        raw_id = next((values.pop(k) for k in list(values) if k.lower() == "id"), None)
        if not raw_id:
            raise SfError("MISSING_ARGUMENT", "Id not specified in an update call")
        full = normalize_id(str(raw_id))
        if full is None or full[:3] != obj.key_prefix:
            raise SfError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}", ("Id",)
            )
        self.org.update(obj, full, values)
        return {"id": full, "success": True, "errors": []}

    def _delete_one(self, raw_id: Any) -> dict[str, Any]:
        full = normalize_id(str(raw_id))
        obj = self.org.object_of(full) if full else None
        if full is None or obj is None:
            raise SfError("MALFORMED_ID", f"malformed id {raw_id}")
        self.org.delete(obj, full)
        return {"id": full, "success": True, "errors": []}

    def _upsert_one(
        self, obj: ObjectDef, field_name: str, record: Any, version: str
    ) -> dict[str, Any]:
        typed, values = self._typed(record)
        if typed.name != obj.name:
            raise SfError(
                "INVALID_TYPE", f"Record type {typed.name} does not match the URL's {obj.name}"
            )
        key = next((k for k in values if k.lower() == field_name.lower()), None)
        if key is None or values[key] in (None, ""):
            raise SfError("MISSING_ARGUMENT", f"{field_name} not specified", (field_name,))
        value = values[key]
        matches = self.org.find(obj.name, field_name, value) if field_name != "Id" else (
            [r] if (r := self.org.get(obj.name, str(value))) else []
        )  # fmt: skip
        if len(matches) > 1:
            raise SfError(
                "DUPLICATE_EXTERNAL_ID",
                f"{field_name}: more than one record found for external id field: {value}",
                (field_name,),
            )
        if matches:
            rest = {k: v for k, v in values.items() if k != key}
            self.org.update(obj, matches[0]["Id"], rest)
            return {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
        if field_name == "Id":
            raise _NOT_FOUND
        record_id = self.org.create(obj, values)
        return {"id": record_id, "success": True, "errors": [], "created": True}

    # composite ------------------------------------------------------------------------------
    def _composite(self, body: Any, version: str) -> _Result:
        request = _body_object(body)
        subrequests = request.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise SfError(
                "INVALID_INPUT", "compositeRequest must be a non-empty list of subrequests"
            )
        if len(subrequests) > COMPOSITE_LIMIT:
            raise SfError(
                "LIMIT_EXCEEDED",
                f"Composite request can contain at most {COMPOSITE_LIMIT} subrequests",
            )
        all_or_none = _flag(request.get("allOrNone", False))
        seen: set[str] = set()
        for sub in subrequests:
            ref = sub.get("referenceId") if isinstance(sub, dict) else None
            if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", ref):
                raise SfError(
                    "INVALID_INPUT",
                    "referenceId must start with a letter and hold only letters, digits and underscores",
                )
            if ref in seen:
                raise SfError(
                    "INVALID_INPUT", f"Duplicate referenceId provided in the request: {ref}"
                )
            seen.add(ref)
        state = self.org.snapshot() if all_or_none else None
        outputs: dict[str, Any] = {}
        responses: list[dict[str, Any]] = []
        failed = False
        halted = [{"errorCode": "PROCESSING_HALTED",
                   "message": "The transaction was rolled back since another operation in the same transaction failed."}]  # fmt: skip
        for sub in subrequests:
            ref = sub["referenceId"]
            if failed and all_or_none:
                responses.append(
                    {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}
                )
                continue
            try:
                url = _substitute(str(sub.get("url", "")), outputs)
                sub_body = _substitute(sub.get("body"), outputs)
            except KeyError as missing:
                failed = True
                responses.append({"body": [{"errorCode": "PROCESSING_HALTED", "message": f"Invalid reference specified. No value for {missing.args[0]} found in {missing.args[0].split('.')[0]}."}],
                                  "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref})  # fmt: skip
                continue
            method = str(sub.get("method", "")).upper()
            match = re.match(r"^/services/data/v(\d+\.\d)(/[^?]*)?(?:\?(.*))?$", url)
            if match is None:
                result = _Result(
                    400,
                    [
                        {
                            "errorCode": "INVALID_INPUT",
                            "message": f"The URL must start with /services/data/vXX.X: {url}",
                        }
                    ],
                )
            else:
                sub_query = dict(parse_qsl(match.group(3) or "", keep_blank_values=True))
                result = self.handle(
                    method,
                    match.group(2) or "/",
                    match.group(1),
                    query=sub_query,
                    headers={},
                    body=sub_body,
                )
            if result.status >= 400:
                failed = True
            else:
                outputs[ref] = result.payload
            responses.append({"body": result.payload, "httpHeaders": result.headers,
                              "httpStatusCode": result.status, "referenceId": ref})  # fmt: skip
        if failed and all_or_none:
            self.org.restore(state)
            for response in responses:
                if response["httpStatusCode"] < 400:
                    response.update(body=halted, httpHeaders={}, httpStatusCode=400)
        return _Result(200, {"compositeResponse": responses})

    # -- faults -----------------------------------------------------------------------------
    def _take_fault(self, op: str, path: str) -> tuple[Fault, int] | None:
        with self._lock:
            for target, entry in self._faults.items():
                hit = target in ("*", op) or (
                    target.startswith("/") and fnmatch.fnmatchcase(path, target)
                )
                if not hit:
                    continue
                fault, remaining = entry
                if remaining is not None:
                    if remaining <= 0:
                        continue
                    entry[1] = remaining - 1
                return fault, self._fault_generation
        return None

    async def _with_faults(
        self, op: str, path: str, send: Send, produce: Callable[[], _Response]
    ) -> _Response | None:
        taken = self._take_fault(op, path)
        if taken is None:
            return produce()
        fault, generation = taken
        if fault.kind == "latency":
            await asyncio.sleep(fault.delay_ms / 1000)
            return produce()
        if fault.kind == "hang":
            limit = time.monotonic() + (fault.delay_ms / 1000 if fault.delay_ms else 300.0)
            # Polling, not an asyncio.Event: clear_faults() may run on another thread and loop.
            while time.monotonic() < limit and generation == self._fault_generation:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            return _errors(
                SfError(
                    "REQUEST_RUNNING_TOO_LONG",
                    "Your request was running for too long, and has been stopped.",
                    (),
                    500,
                )
            )
        if fault.kind == "status":
            code, message = {
                500: (
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
                ),
                502: ("SERVER_UNAVAILABLE", "Bad gateway"),
                503: (
                    "SERVER_UNAVAILABLE",
                    "Server temporarily unavailable, please try again later.",
                ),
                429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
            }.get(fault.status, ("UNKNOWN_EXCEPTION", f"Injected HTTP {fault.status}"))
            return _errors(SfError(code, message, (), fault.status))
        if fault.kind == "html":
            page = (b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
                    b"<h1>Down for maintenance</h1></body></html>")  # fmt: skip
            return _Response(200, page, content_type="text/html;charset=UTF-8")
        if fault.kind == "malformed":
            return _Response(200, b'{"totalSize": 3, "done": true, "records": [{"attributes": ')
        normal = produce()
        if fault.kind == "truncated":
            return _Response(
                normal.status, normal.body[: max(1, len(normal.body) // 2)], normal.headers
            )
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", _JSON.encode()), (b"content-length", str(max(len(normal.body), 2)).encode())]})  # fmt: skip
        await send(
            {
                "type": "http.response.body",
                "body": normal.body[: len(normal.body) // 2],
                "more_body": True,
            }
        )
        raise _ResetConnection("injected connection reset")

    # -- control endpoints ------------------------------------------------------------------
    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> _Response:
        try:
            spec = json.loads(body) if body else {}
        except ValueError:
            return _json(400, {"error": "body is not JSON"})
        if path == "/_sandbox/faults" and method == "POST":
            try:
                fault = Fault(kind=spec["kind"], status=int(spec.get("status", 503)),
                              delay_ms=int(spec.get("delay_ms", 0)), times=spec.get("times"))  # fmt: skip
            except (KeyError, TypeError, ValueError) as exc:
                return _json(400, {"error": f"bad fault: {exc}"})
            if fault.kind not in FAULT_KINDS:
                return _json(400, {"error": f"unknown fault kind {fault.kind!r}"})
            target = str(spec.get("target", "*"))
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
        if path == "/_sandbox/limits" and method in ("GET", "POST"):
            if method == "POST":
                self.set_api_usage(used=spec.get("used"), limit=spec.get("limit"))
            return _json(200, {"used": self.api_used, "limit": self.daily_api_limit})
        if path == "/_sandbox/sessions" and method == "DELETE":
            self.expire_sessions()
            return _json(200, {"expired": True})
        if path == "/_sandbox/locks" and method in ("POST", "DELETE"):
            record_id = str(spec.get("id", ""))
            (self.lock_record if method == "POST" else self.unlock_record)(record_id)
            return _json(200, {"id": record_id, "locked": method == "POST"})
        if path == "/_sandbox/events" and method == "GET":
            return _json(200, [_plain(e) for e in self.events])
        if path == "/_sandbox/credentials" and method == "GET":
            return _json(200, self.credentials_document())
        return _json(404, {"error": f"no control endpoint {method} {path}"})

    def _record(self, request: ReceivedRequest) -> None:
        stamped = ReceivedRequest(**{**asdict(request), "at": time.time()})
        with self._lock:
            self.received.append(stamped)


# -- helpers --------------------------------------------------------------------------------


def _classify(method: str, rest: str) -> tuple[str, str]:
    """The operation name used for faults and the received record, and the sObject."""
    parts = [p for p in rest.strip("/").split("/") if p]
    if not parts:
        return "resources", ""
    head = parts[0]
    if head in ("query", "queryAll"):
        return ("query_more" if len(parts) > 1 else "query"), ""
    if head == "limits":
        return "limits", ""
    if head == "composite":
        if len(parts) == 1:
            return "composite", ""
        sobject = parts[2] if len(parts) > 2 else ""
        if len(parts) == 4:
            return "collections.upsert", sobject
        if len(parts) == 3:
            return "collections.retrieve", sobject
        return {
            "POST": "collections.create",
            "PATCH": "collections.update",
            "DELETE": "collections.delete",
        }.get(method, "collections"), ""
    if head == "sobjects":
        if len(parts) == 1:
            return "describe_global", ""
        sobject = parts[1]
        if len(parts) == 2:
            return ("create" if method == "POST" else "sobject_info"), sobject
        if parts[2] == "describe":
            return "describe", sobject
        if parts[2] in ("updated", "deleted"):
            return parts[2], sobject
        if len(parts) == 3:
            return {"GET": "retrieve", "PATCH": "update", "DELETE": "delete"}.get(
                method, "sobject"
            ), sobject
        return (
            "upsert"
            if method == "PATCH"
            else "retrieve_by_external_id"
            if method == "GET"
            else "delete"
        ), sobject
    return head, ""


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise SfError(
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}", (), 405,
        )  # fmt: skip


def _method_not_allowed(method: str, *allowed: str) -> _Response:
    try:
        _allow(method, *allowed)
    except SfError as error:
        return _errors(error)
    raise AssertionError("unreachable")


def _body_object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SfError(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of sObject from START_ARRAY value [line:1, column:1]",
        )
    return dict(body)


def _records(request: dict[str, Any]) -> list[Any]:
    records = request.get("records")
    if not isinstance(records, list):
        raise SfError("INVALID_INPUT", "records is required and must be a list")
    if len(records) > COLLECTION_LIMIT:
        raise _too_many()
    return records


def _too_many(limit: int = COLLECTION_LIMIT) -> SfError:
    return SfError(
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {limit} records into this call",
    )


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _given_id(item: Any) -> str | None:
    if isinstance(item, str):
        return normalize_id(item) or item
    if isinstance(item, dict):
        for key, value in item.items():
            if key.lower() == "id" and isinstance(value, str):
                return normalize_id(value) or value
    return None


def _batch_size(options: str) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))


_REFERENCE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _substitute(value: Any, outputs: dict[str, Any]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            ref, path = match.group(1), match.group(2)
            if ref not in outputs:
                raise KeyError(f"{ref}{path}")
            node: Any = outputs[ref]
            for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
                key, index = step
                try:
                    node = node[int(index)] if index else node[key]
                except (KeyError, IndexError, TypeError):
                    raise KeyError(f"{ref}{path}") from None
            return str(node)

        return _REFERENCE.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    return value


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: format_datetime(v) if isinstance(v, datetime) else v for k, v in record.items()}


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    for scheme in ("bearer ", "oauth "):
        if auth.lower().startswith(scheme):
            return auth[len(scheme) :].strip()
    return ""


def _auth_kind(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "").lower()
    if auth.startswith(("bearer ", "oauth ")):
        return "bearer"
    return "basic" if auth.startswith("basic ") else "none"


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
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
    ]
    if response.body or response.status not in (204, 304):
        headers.insert(0, (b"content-type", response.content_type.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
