"""The console's pages: sign-in, business transactions, the exception queue (list, record,
actions, bulk), an order's story, system health with charts, and the audit log."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import PathParameter
from litestar.response import Redirect, Stream

from app.correlation import current_correlation_id
from app.ops.audit_api import export_stream
from app.ops.console.app import Console
from app.ops.console.charts import bar_chart, line_chart, route_stats
from app.ops.console.session import COOKIE, LOGIN_COOKIE, Session
from app.ops.exception_models import FilterBody
from app.security import EXCEPTIONS_ACT, EXCEPTIONS_VIEW
from app.security.api_keys import ApiKeyStore
from app.services import Services
from process_apis.errors import ProcessError
from process_apis.exceptions import ExceptionQueue
from store import exceptions as failure_rows
from store import ops_views
from store import orders as order_rows
from store.audit import audit_trail
from store.audit_log import AuditQuery, entries
from store.failures import failures_for

__all__ = ["ConsolePages"]

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Action = Annotated[str, PathParameter(max_length=20)]
OrderId = Annotated[str, PathParameter(max_length=40)]
_STATUS_CHOICES = ("active", "open", "retrying", "resolved", "discarded", "all")
_LIST_KEYS = ("flow", "category", "system", "salesforceId", "erpDocument", "subjectId",
              "assignee", "tag", "q", "olderThanMinutes", "newerThanMinutes", "status",
              "unassigned")  # fmt: skip


def _queue(services: Services) -> ExceptionQueue | None:
    return services.exceptions


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/ops") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ops/"


def _filter_params(source: Any) -> dict[str, str]:
    """The list filters present in a query string or form, as plain strings."""
    return {k: str(source.get(k)).strip() for k in _LIST_KEYS if str(source.get(k) or "").strip()}


def _filter_body(params: dict[str, str]) -> FilterBody:
    doc: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("flow", "category"):
            doc[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "status":
            if value == "active":
                doc[key] = ["open", "retrying"]
            elif value != "all":
                doc[key] = [value]
        elif key == "unassigned":
            doc[key] = value in ("1", "true", "on", "yes")
        elif key in ("olderThanMinutes", "newerThanMinutes"):
            doc[key] = int(value) if value.isdigit() else value
        else:
            doc[key] = value
    return msgspec.convert(doc, FilterBody)


class ConsolePages(Controller):
    path = "/ops"

    # ------------------------------------------------------------------ sign-in

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console]
    ) -> Response[str]:
        return self._login_page(request, console)

    def _login_page(
        self, request: Request[Any, Any, Any], console: Console, *, status: int = 200,
        problem: str | None = None,
    ) -> Response[str]:  # fmt: skip
        token, cookie = console.codec.login_token()
        response = console.page(
            "login.html", request, None, status=status, csrf=token, problem=problem,
            next=_safe_next(request.query_params.get("next")),
        )  # fmt: skip
        response.set_cookie(LOGIN_COOKIE, cookie, path="/ops/login", httponly=True,
                            samesite="strict", secure=console.secure(request), max_age=600)  # fmt: skip
        return response

    @post("/login", status_code=303)
    async def login(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console]
    ) -> Response[Any]:
        console.check_origin(request)
        form = await request.form()
        presented = form.get("csrf_token")
        if not console.codec.check_login_token(
            request.cookies.get(LOGIN_COOKIE), presented if isinstance(presented, str) else None
        ):
            raise PermissionDeniedException(
                detail="The sign-in form's CSRF token is missing or stale; reload the page."
            )
        key = form.get("api_key")
        key = key.strip() if isinstance(key, str) else ""
        security = console.settings.security
        if not security.enabled:
            client = "anonymous"
            scopes: tuple[str, ...] = (EXCEPTIONS_VIEW, EXCEPTIONS_ACT)
        else:
            caller = ApiKeyStore(security.api_keys).verify(key)
            if caller is None or caller.partner_id is not None:
                return self._login_page(request, console, status=401,
                                        problem="That key is not a valid ops credential.")  # fmt: skip
            if not caller.has(EXCEPTIONS_VIEW):
                return self._login_page(request, console, status=403,
                                        problem="That key lacks the exceptions:view scope.")  # fmt: skip
            client = caller.client
            scopes = tuple(s for s in (EXCEPTIONS_VIEW, EXCEPTIONS_ACT) if caller.has(s))
        session = console.codec.new_session(client, scopes)
        next_path = form.get("next")
        response: Response[Any] = Redirect(
            _safe_next(next_path if isinstance(next_path, str) else None), status_code=303
        )
        response.set_cookie(COOKIE, console.codec.encode(session), path="/ops", httponly=True,
                            samesite="strict", secure=console.secure(request),
                            max_age=console.settings.console.session_ttl_s)  # fmt: skip
        response.delete_cookie(LOGIN_COOKIE, path="/ops/login")
        return response

    @post("/logout", status_code=303)
    async def logout(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console]
    ) -> Response[Any]:
        session = console.session_of(request)
        if session is not None:
            await console.form_for(request, session)
        response: Response[Any] = Redirect("/ops/login", status_code=303)
        response.delete_cookie(COOKIE, path="/ops")
        return response

    # ------------------------------------------------------------------ overview

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        now = datetime.now(UTC)
        stuck_after = services.settings.exceptions.stuck_after_s
        context: dict[str, Any] = {"store": queue is not None, "now": now,
                                   "stuck_after_min": stuck_after // 60}  # fmt: skip
        if queue is not None:
            async with queue.db.transaction() as conn:
                context.update(
                    counts=await ops_views.order_counts(conn),
                    today=await ops_views.order_counts(conn, since=now - timedelta(days=1)),
                    stuck=await ops_views.stuck_orders(
                        conn, cutoff=now - timedelta(seconds=stuck_after)
                    ),
                    stuck_total=await ops_views.stuck_count(
                        conn, cutoff=now - timedelta(seconds=stuck_after)
                    ),
                    attention=await ops_views.recent_orders(
                        conn, statuses=("rejected", "needs_attention"), limit=10
                    ),
                    marks=await ops_views.watermarks(conn),
                    stats=await failure_rows.open_stats(conn),
                )
        return console.page("overview.html", request, session, **context)

    # ------------------------------------------------------------------ the queue

    @get("/exceptions")
    async def queue(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        if queue is None:
            return console.page("nostore.html", request, session, status=503)
        params = _filter_params(request.query_params)
        params.setdefault("status", "active")
        problem = None
        try:
            body = _filter_body(params)
        except (msgspec.ValidationError, ValueError) as exc:
            body, problem = FilterBody(status=["open", "retrying"]), f"Filter ignored: {exc}"
        raw_offset = request.query_params.get("offset", "0")
        offset = min(int(raw_offset), 1_000_000) if raw_offset.isdigit() else 0
        page = await queue.search(body.to_filter(), limit=50, offset=offset)
        choices = await queue.choices()
        template = "_queue_table.html" if request.headers.get("hx-request") else "exceptions.html"
        return console.page(
            template, request, session, page=page, params=params, choices=choices,
            statuses=_STATUS_CHOICES, offset=offset, query=urlencode(params),
            problem=problem, now=datetime.now(UTC),
        )  # fmt: skip

    @get("/exceptions/{failure_id:int}")
    async def record(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services], failure_id: Id,
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        if queue is None:
            return console.page("nostore.html", request, session, status=503)
        try:
            detail = await queue.detail(failure_id)
        except ProcessError as exc:
            return console.page("notfound.html", request, session, status=exc.status,
                                what=exc.detail)  # fmt: skip
        payload = queue.view_payload(detail.record)
        return console.page(
            "exception.html", request, session, d=detail, r=detail.record, payload=payload,
            now=datetime.now(UTC),
        )  # fmt: skip

    @post("/exceptions/{failure_id:int}/{action:str}", status_code=303)
    async def act(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services], failure_id: Id, action: Action,
    ) -> Response[Any]:  # fmt: skip
        session = self._acting(console, request)
        form = await console.form_for(request, session)
        queue = _queue(services)
        back = f"/ops/exceptions/{failure_id}"
        if queue is None:
            return console.back(back, "error", "This gateway runs without a store.")
        actor, corr = session.client, current_correlation_id()
        try:
            done = await self._do(queue, failure_id, action, form, actor, corr)
        except ProcessError as exc:
            return console.back(back, "error", exc.detail)
        return console.back(back, "done", done)

    @staticmethod
    async def _do(  # noqa: PLR0917
        queue: ExceptionQueue,
        failure_id: int,
        action: str,
        form: dict[str, str],
        actor: str,
        corr: str | None,
    ) -> str:
        reason = form.get("reason", "").strip() or None
        if action == "retry":
            await queue.retry(failure_id, actor=actor, correlation_id=corr, reason=reason)
            return "Sent again as it was."
        if action == "replay":
            try:
                payload = msgspec.json.decode(form.get("payload", "").encode())
            except msgspec.DecodeError as exc:
                raise ProcessError(f"The payload is not valid JSON: {exc}") from None
            await queue.replay(failure_id, payload, actor=actor, correlation_id=corr,
                               reason=reason)  # fmt: skip
            return "Replayed with the edited payload."
        if action == "discard":
            await queue.discard(failure_id, reason=reason or "", actor=actor, correlation_id=corr)
            return "Discarded."
        if action == "assign":
            await queue.assign(failure_id, form.get("assignee"), actor=actor, correlation_id=corr)
            return "Assignment saved."
        if action == "tag":

            def split(name: str) -> list[str]:
                return [t.strip() for t in form.get(name, "").split(",") if t.strip()]

            await queue.tag(failure_id, add=split("add"), remove=split("remove"), actor=actor,
                            correlation_id=corr)  # fmt: skip
            return "Tags saved."
        if action == "comment":
            await queue.comment(failure_id, form.get("text", ""), actor=actor, correlation_id=corr)
            return "Comment added."
        raise ProcessError(f"Unknown action {action!r}.")

    @post("/exceptions/bulk", status_code=303)
    async def bulk(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = self._acting(console, request)
        form = await console.form_for(request, session)
        queue = _queue(services)
        params = _filter_params(form)
        back = "/ops/exceptions"
        if queue is None:
            return console.back(back, "error", "This gateway runs without a store.")
        action = form.get("action")
        if action not in ("retry", "discard"):
            return console.back(back, "error", "Choose retry or discard.", params)
        try:
            body = _filter_body(params)
            result = await queue.bulk(
                "retry" if action == "retry" else "discard", body.to_filter(),
                actor=session.client, reason=form.get("reason", "").strip() or None,
                correlation_id=current_correlation_id(),
            )  # fmt: skip
        except (ProcessError, msgspec.ValidationError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ProcessError) else str(exc)
            return console.back(back, "error", detail, params)
        verb = "Retried" if action == "retry" else "Discarded"
        message = f"{verb} {len(result.done)} of {result.matched} matching records."
        if result.skipped:
            message += f" Left alone: {len(result.skipped)}."
        return console.back(back, "done", message, params)

    @staticmethod
    def _acting(console: Console, request: Request[Any, Any, Any]) -> Session:
        session = console.session_of(request)
        if session is None:
            raise PermissionDeniedException(detail="Sign in to the console first.")
        if not session.can(EXCEPTIONS_ACT):
            raise PermissionDeniedException(detail="Your credential lacks exceptions:act.")
        return session

    # ------------------------------------------------------------------ an order

    @get("/orders/{order_id:str}")
    async def order(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services], order_id: OrderId,
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        if queue is None:
            return console.page("nostore.html", request, session, status=503)
        async with queue.db.transaction() as conn:
            found = await order_rows.get_order(conn, order_id[:40])
            if found is None:
                return console.page("notfound.html", request, session, status=404,
                                    what=f"There is no order {order_id[:40]}.")  # fmt: skip
            events = await order_rows.events_of(conn, found.id)
            trail = await audit_trail(conn, "order", found.id)
            failed = await failures_for(conn, "order", found.id)
        return console.page(
            "order.html", request, session, o=found, events=events, trail=trail, failed=failed,
            request_doc=queue.redactor.redact(found.request),
            erp_doc=queue.redactor.redact(found.erp_request), now=datetime.now(UTC),
        )  # fmt: skip

    # ------------------------------------------------------------------ health

    @get("/health")
    async def health(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        checks = await asyncio.gather(*(_probe(c.probe) for c in services.readiness_checks))
        breakers = [
            (snap.vendor, company, b.state, b.opened, b.rejected)
            for snap in (r.snapshot() for r in services.resilient)
            for company, b in snap.breakers.items()
        ]
        caches = [(c.vendor, c.snapshot()) for c in services.cached]
        return console.page(
            "health.html", request, session,
            checks=[(c.name, c.required, *result)
                    for c, result in zip(services.readiness_checks, checks, strict=True)],
            breakers=breakers, caches=caches, redis=services.redis is not None,
            charts=self._charts(console, services),
        )  # fmt: skip

    @get("/health/charts")
    async def charts(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        return console.page("_charts.html", request, session,
                            charts=self._charts(console, services))  # fmt: skip

    @staticmethod
    def _charts(console: Console, services: Services) -> list[Any]:
        registry = services.metrics.registry
        routes = [r for r in route_stats(registry, "isthmus_http_request_duration_seconds",
                                         "route") if not r.name.startswith("/ops")]  # fmt: skip
        backends = route_stats(registry, "isthmus_backend_call_duration_seconds", "vendor")
        console.history.add(
            time.monotonic(), sum(r.count for r in routes), sum(r.errors for r in routes),
            sum(b.errors for b in backends),
        )  # fmt: skip
        rates = console.history.rates()
        return [
            line_chart(
                "Requests and errors per second",
                [
                    ("requests/s", "ok", [(a, r) for a, r, _, _ in rates]),
                    ("5xx/s", "bad", [(a, e) for a, _, e, _ in rates]),
                    ("ERP errors/s", "warn", [(a, b) for a, _, _, b in rates]),
                ],
            ),
            bar_chart(
                "p95 latency by route (ms)",
                [(r.name, 1000 * (r.quantile(0.95) or 0), "ok") for r in routes[:8]],
                unit=" ms",
            ),
            bar_chart(
                "Answers by route: 5xx / 4xx",
                [
                    row
                    for r in routes[:8]
                    for row in (
                        (f"{r.name} 5xx", r.errors, "bad"),
                        (f"{r.name} 4xx", r.refusals, "warn"),
                    )
                ],
            ),
            bar_chart(
                "ERP calls: p95 latency (ms) and errors",
                [
                    row
                    for b in backends
                    for row in (
                        (f"{b.name} p95 ms", 1000 * (b.quantile(0.95) or 0), "ok"),
                        (f"{b.name} errors", b.errors, "bad"),
                    )
                ],
            ),
        ]

    # ------------------------------------------------------------------ audit

    @get("/audit")
    async def audit(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        if queue is None:
            return console.page("nostore.html", request, session, status=503)
        params = {k: v.strip()[:128] for k in ("subjectType", "subjectId", "actor", "action")
                  if (v := request.query_params.get(k, "")).strip()}  # fmt: skip
        q = AuditQuery(subject_type=params.get("subjectType"), subject_id=params.get("subjectId"),
                       actor=params.get("actor"), action=params.get("action"))  # fmt: skip
        async with queue.db.transaction() as conn:
            found = await entries(conn, q, limit=200)
        return console.page("audit.html", request, session, entries=found, params=params,
                            query=urlencode(params))  # fmt: skip

    @get("/audit/export")
    async def audit_export(
        self, request: Request[Any, Any, Any], console: NamedDependency[Console],
        services: NamedDependency[Services],
    ) -> Response[Any]:  # fmt: skip
        session = console.session_of(request)
        if session is None:
            return console.redirect_to_login(request)
        queue = _queue(services)
        if queue is None:
            return console.page("nostore.html", request, session, status=503)
        fmt = "csv" if request.query_params.get("format") == "csv" else "jsonl"
        q = AuditQuery(subject_type=request.query_params.get("subjectType") or None,
                       subject_id=request.query_params.get("subjectId") or None,
                       actor=request.query_params.get("actor") or None,
                       action=request.query_params.get("action") or None)  # fmt: skip
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        return Stream(
            export_stream(queue.db, q, fmt), media_type=media,
            headers={"content-disposition": f'attachment; filename="isthmus-audit.{fmt}"'},
        )  # fmt: skip


async def _probe(probe: Any) -> tuple[bool, float, str | None]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=2.0)
    except Exception as exc:  # a health page reports every failure, whatever its kind
        return False, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"[:200]
    return True, (time.perf_counter() - started) * 1000, None
