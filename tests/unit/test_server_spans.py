"""The server span layer as an exporter and the request's handler see it."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.correlation import current_correlation_id
from app.observability import Tracing
from app.observability.server_spans import (
    _PROPAGATOR,
    ServerSpanMiddleware,
    _carrier,
    _remote_parent,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _tracing(exporter: InMemorySpanExporter | None, ratio: float = 1.0) -> Tracing:
    return Tracing.build(
        enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter, sample_ratio=ratio
    )


async def _call(
    tracing: Tracing, path: str = "/items/7", status: int = 200, headers: list[Any] | None = None
) -> dict[str, Any]:
    """One request through the layer; what the handler saw of the current span."""
    seen: dict[str, Any] = {}

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        span = trace.get_current_span()
        seen["span_context"] = span.get_span_context()
        seen["again"] = trace.get_current_span().get_span_context()  # asked twice: the same
        seen["recording"] = span.is_recording()
        seen["outer_value"] = context.get_value("outer")
        seen["correlation_id"] = current_correlation_id()
        if status == 0:
            raise RuntimeError("handler broke")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = ServerSpanMiddleware(tracing.tracer("isthmus.server"))(handler)
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "path_template": "/items/{item_id:int}",
        "headers": [(b"host", b"gw.test"), *(headers or [])],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        seen.setdefault("statuses", []).append(message.get("status"))

    await app(scope, receive, send)
    return seen


async def test_a_new_trace_is_recorded_with_route_method_and_status() -> None:
    exporter = InMemorySpanExporter()
    seen = await _call(_tracing(exporter), status=503)
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /items/{item_id:int}"
    assert span.kind is trace.SpanKind.SERVER
    assert span.parent is None
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/items/{item_id:int}",
        "http.response.status_code": 503,
    }
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.start_time is not None
    assert span.end_time is not None
    assert 0 < span.start_time <= span.end_time
    assert span.resource.attributes["service.name"] == "t"
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "isthmus.server"
    assert span.events == ()
    assert span.links == ()
    assert seen["recording"]
    assert seen["span_context"] == span.context
    assert span.context.trace_flags.sampled


async def test_a_failing_handler_marks_the_span() -> None:
    exporter = InMemorySpanExporter()
    with pytest.raises(RuntimeError, match="handler broke"):
        await _call(_tracing(exporter), status=0)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.status.description == "RuntimeError: handler broke"


@pytest.mark.parametrize(
    ("path", "ratio"), [("/items/7", 0.0), ("/items/7", 1.0), ("/health/live", 1.0)]
)
async def test_the_layer_makes_the_callers_correlation_id_current_for_the_request(
    path: str, ratio: float
) -> None:
    # With tracing on, this layer stands in for the correlation one: traced or not, sampled
    # or not, the handler sees the caller's id, and nothing is left current afterwards.
    seen = await _call(
        _tracing(InMemorySpanExporter(), ratio=ratio),
        path=path,
        headers=[(b"x-correlation-id", b"sf-req-42")],
    )
    assert seen["correlation_id"] == "sf-req-42"
    assert current_correlation_id() is None


async def test_a_request_without_a_correlation_id_gets_one_made() -> None:
    seen = await _call(_tracing(InMemorySpanExporter(), ratio=0.0))
    assert seen["correlation_id"]
    assert current_correlation_id() is None


async def test_probes_are_not_traced() -> None:
    exporter = InMemorySpanExporter()
    seen = await _call(_tracing(exporter), path="/health/live")
    assert exporter.get_finished_spans() == ()
    assert not seen["span_context"].is_valid


async def test_an_unsampled_request_still_has_one_trace_id_for_logs_and_calls() -> None:
    # Outside the sample: nothing is recorded, but the handler (its log lines, its ERP calls)
    # sees one valid trace and the sampling decision.
    exporter = InMemorySpanExporter()
    seen = await _call(_tracing(exporter, ratio=0.0))
    span_context = seen["span_context"]
    assert span_context.is_valid
    assert span_context == seen["again"]
    assert span_context.trace_flags.sampled is False
    assert not seen["recording"]
    assert exporter.get_finished_spans() == ()
    assert not trace.get_current_span().get_span_context().is_valid  # detached afterwards


async def test_a_sampled_request_is_recorded_without_an_exporter_too() -> None:
    # As the SDK does: a sampled span records its attributes whether or not anything exports.
    seen = await _call(_tracing(None, ratio=1.0))
    assert seen["span_context"].trace_flags.sampled is True
    assert seen["recording"]


async def test_what_was_current_before_the_request_stays_visible_inside_it() -> None:
    exporter = InMemorySpanExporter()
    token = context.attach(context.set_value("outer", "kept"))
    try:
        seen = await _call(_tracing(exporter, ratio=0.0))
        assert context.get_value("outer") == "kept"
    finally:
        context.detach(token)
    assert seen["outer_value"] == "kept"
    assert seen["span_context"].is_valid


async def test_a_callers_sampled_traceparent_is_continued() -> None:
    exporter = InMemorySpanExporter()
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode()
    await _call(_tracing(exporter, ratio=0.0), headers=[(b"traceparent", traceparent)])
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"


_CANONICAL = f"00-{TRACE_ID}-00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("headers", "fast"),
    [
        ([(b"traceparent", f"{_CANONICAL}-01".encode())], True),
        ([(b"traceparent", f"{_CANONICAL}-00".encode())], True),
        ([(b"traceparent", f"{_CANONICAL}-ff".encode())], True),
        ([(b"traceparent", f"{_CANONICAL.upper()}-01".encode())], False),
        ([(b"traceparent", f"00-{'0' * 32}-00f067aa0ba902b7-01".encode())], False),
        ([(b"traceparent", f"00-{TRACE_ID}-{'0' * 16}-01".encode())], False),
        ([(b"traceparent", f"01-{TRACE_ID}-00f067aa0ba902b7-01".encode())], False),
        ([(b"traceparent", f" {_CANONICAL}-01".encode())], False),
        ([(b"traceparent", f"{_CANONICAL}-01-extra".encode())], False),
        ([(b"traceparent", f"{_CANONICAL}-01".encode()), (b"tracestate", b"k=v")], False),
        ([(b"traceparent", f"{_CANONICAL[:-1]}x-01".encode())], False),
    ],
)
def test_the_common_traceparent_is_read_as_the_propagator_reads_it(
    headers: list[tuple[bytes, bytes]], fast: bool
) -> None:
    scope: Any = {"type": "http", "headers": [(b"host", b"gw.test"), *headers]}
    ours = _remote_parent(scope)
    theirs = _PROPAGATOR.extract(_carrier(scope))
    assert (ours is not None) is fast
    if ours is not None:
        assert trace.get_current_span(ours).get_span_context() == (
            trace.get_current_span(theirs).get_span_context()
        )
        assert trace.get_current_span(ours).get_span_context().is_remote
