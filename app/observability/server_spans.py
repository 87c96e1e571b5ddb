"""A SERVER span per request, continuing the caller's W3C trace context.

Written for the hot path instead of the generic ASGI instrumentation, which spent more time per
request than our whole validate-quote answer from cache (it records a span per ASGI message
and dozens of attributes). This one records what operators search by: route, method, status.

The layer is one coroutine, not ``ASGIMiddleware``'s two with its per-request checks, and it
stands in for ``CorrelationMiddleware`` too: it makes the request's correlation id current,
and the caller's ``traceparent``, which that layer keeps for ERP calls when no trace of ours
is recorded, travels here in the span's context instead. That is one coroutine, one pass over
the headers and one context variable fewer per request: in process, an unsampled request cost
1.7-2.2 microseconds more than with tracing off, against 2.3-2.8 with two layers.

A request without a ``traceparent`` (most of them) starts a new trace through
``LeanTracer.start_root_span``: when that trace is not sampled, the request costs a random
number, one small object and a context switch; the span's ids are made only if something asks
(a log line, a call to an ERP).
A recorded span gets its attributes in one dict, its status from the response start.
"""

from __future__ import annotations

from collections.abc import Awaitable
from random import getrandbits

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.correlation import (
    CorrelationMiddleware,
    ids_for,
    reset_correlation_id,
    set_correlation_id,
)
from app.observability.tracing import (
    CURRENT_CONTEXT,
    LOW_64,
    NEW_NOT_SAMPLED,
    SPAN_KEY,
    LeanTracer,
    UnrecordedSpan,
    enter_span,
    leave_span,
    new_trace_id,
)

__all__ = ["ServerSpanMiddleware"]

_PROPAGATOR = TraceContextTextMapPropagator()
_WANTED = (b"traceparent", b"tracestate")
_LOWER_HEX = b"0123456789abcdef"
_FLAGS = {b"00": trace.TraceFlags(0), b"01": trace.TraceFlags(1)}
_UNTRACED = ("/health/", "/metrics")
_SERVER = trace.SpanKind.SERVER
_ERROR = trace.Status(trace.StatusCode.ERROR)


def _is_probe_or_scrape(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(_UNTRACED)


class ServerSpanMiddleware(ASGIMiddleware):
    """The SERVER span of each request, and its correlation id: with tracing on, the app has
    this layer in place of ``CorrelationMiddleware`` (see the module's docstring)."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer
        # Probes and scrapes are not traced: they would drown the requests that matter.
        self.should_bypass_for_scope = _is_probe_or_scrape

    def __call__(self, app: ASGIApp) -> ASGIApp:
        tracer = self.tracer
        current = CURRENT_CONTEXT
        if not isinstance(tracer, LeanTracer) or current is None:
            # The generic ``handle`` below, around the correlation layer.
            return super().__call__(CorrelationMiddleware()(app))
        handle = self.handle
        bound = tracer.bound
        span_key = SPAN_KEY
        new_context = context.Context
        http = ScopeType.HTTP

        async def traced(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != http:
                await app(scope, receive, send)
                return
            correlation_id, _parent, caller_sent = ids_for(scope)
            correlated = set_correlation_id(correlation_id)
            recorded: trace.Span | None = None
            token = None
            try:
                if scope["path"].startswith(_UNTRACED):
                    await app(scope, receive, send)
                    return
                if caller_sent:  # the caller's trace: its decision is followed
                    await handle(scope, receive, send, app)
                    return
                trace_id = getrandbits(128) or new_trace_id()  # the SDK's: random, never 0
                span: trace.Span
                if (trace_id & LOW_64) < bound:  # sampled
                    method: str = scope["method"]  # type: ignore[typeddict-item]  # HTTP scope
                    route: str = scope.get("path_template") or scope["path"]
                    span = recorded = tracer.start_root_span(
                        f"{method} {route}",
                        _SERVER,
                        {"http.request.method": method, "http.route": route},
                        trace_id,
                    )
                    send = _status_recorder(recorded, send)
                else:  # not sampled: the span is there for its ids, should anything ask
                    span = UnrecordedSpan(trace_id, NEW_NOT_SAMPLED)
                # ``enter_span``, inline: set and reset in this one coroutine, never refused.
                token = current.set(new_context({**current.get(), span_key: span}))
                await app(scope, receive, send)
            except Exception as exc:
                if recorded is not None:
                    recorded.set_status(
                        trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
                    )
                raise
            finally:
                if token is not None:
                    current.reset(token)
                if recorded is not None:
                    recorded.end()
                reset_correlation_id(correlated)

        return traced

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        parent: context.Context | None = None
        for key, _value in scope.get("headers", ()):
            if key in _WANTED:
                parent = _remote_parent(scope) or _PROPAGATOR.extract(_carrier(scope))
                break
        method = str(scope.get("method", "GET"))
        route = str(scope.get("path_template") or scope.get("path", ""))
        span = self.tracer.start_span(f"{method} {route}", context=parent, kind=_SERVER)
        token = enter_span(span, parent)
        try:
            if not span.is_recording():
                # Unsampled: the span (or the caller's context) is only there to be propagated.
                await next_app(scope, receive, send)
                return
            span.set_attributes({"http.request.method": method, "http.route": route})
            await next_app(scope, receive, _status_recorder(span, send))
        except Exception as exc:
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            leave_span(token)
            span.end()


def _status_recorder(span: trace.Span, send: Send) -> Send:
    # A plain function handing back ``send``'s awaitable: the caller awaits that, and no
    # coroutine of ours is made per message.
    def send_with_status(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(_ERROR)
        return send(message)

    return send_with_status


def _remote_parent(scope: Scope) -> context.Context | None:
    """The caller's span as the propagator would give it, for the common form only: one
    ``traceparent`` of version 00 in lowercase hex, valid ids, no ``tracestate``. Anything
    else is None, and left to the propagator (whitespace, other versions, trace state...)."""
    found: bytes | None = None
    for key, value in scope.get("headers", ()):
        if key in _WANTED:
            if found is not None or key != b"traceparent":
                return None
            found = value
    if (
        found is None
        or len(found) != 55  # 00-<32 hex>-<16 hex>-<2 hex>
        or found[:3] != b"00-"
        or found[35:36] != b"-"
        or found[52:53] != b"-"
        or (found[3:35] + found[36:52] + found[53:]).strip(_LOWER_HEX)
    ):
        return None
    trace_id, span_id = int(found[3:35], 16), int(found[36:52], 16)
    if not trace_id or not span_id:
        return None
    flags = found[53:]
    remote = trace.SpanContext(
        trace_id, span_id, True, _FLAGS.get(flags) or trace.TraceFlags(int(flags, 16))
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(remote))


def _carrier(scope: Scope) -> dict[str, str]:
    return {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in scope.get("headers", ())
        if key in _WANTED
    }
