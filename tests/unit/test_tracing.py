"""Our spans as an exporter receives them: the OTLP encoding, sampling, errors."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.observability import Tracing


def _tracing(exporter: InMemorySpanExporter, ratio: float = 1.0) -> Tracing:
    return Tracing.build(
        enabled=True, service_name="isthmus-test", otlp_endpoint=None, exporter=exporter,
        sample_ratio=ratio,
    )  # fmt: skip


def test_a_failing_child_is_exported_with_its_parent_status_and_exception() -> None:
    exporter = InMemorySpanExporter()
    tracer = _tracing(exporter).tracer("isthmus.test")

    def fail() -> None:
        with (
            tracer.start_as_current_span(
                "outer", kind=trace.SpanKind.SERVER, attributes={"a": "1"}
            ),
            tracer.start_as_current_span("inner", kind=trace.SpanKind.CLIENT) as inner,
        ):
            inner.set_attribute("n", 3)
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fail()
    inner_span, outer_span = exporter.get_finished_spans()
    assert (inner_span.name, outer_span.name) == ("inner", "outer")
    assert inner_span.parent is not None
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert inner_span.context.trace_id == outer_span.context.trace_id
    assert dict(inner_span.attributes or {}) == {"n": 3}
    assert inner_span.status.status_code is trace.StatusCode.ERROR
    assert [e.name for e in inner_span.events] == ["exception"]
    assert inner_span.resource.attributes["service.name"] == "isthmus-test"
    assert inner_span.instrumentation_scope is not None
    assert inner_span.instrumentation_scope.name == "isthmus.test"
    request = encode_spans(exporter.get_finished_spans())  # what the OTLP exporter sends
    (resource_spans,) = request.resource_spans
    assert sorted(s.name for s in resource_spans.scope_spans[0].spans) == ["inner", "outer"]


@pytest.mark.parametrize(("ratio", "expected"), [(0.0, 0), (1.0, 20)])
def test_the_ratio_decides_new_traces_and_children_follow_their_parent(
    ratio: float, expected: int
) -> None:
    exporter = InMemorySpanExporter()
    tracer = _tracing(exporter, ratio).tracer("isthmus.test")
    for _ in range(10):
        with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
            pass
    assert len(exporter.get_finished_spans()) == expected


def test_tracing_off_hands_out_no_op_spans() -> None:
    tracer = Tracing.build(enabled=False, service_name="s", otlp_endpoint=None).tracer("x")
    with tracer.start_as_current_span("root") as span:
        assert not span.is_recording()


def test_forked_workers_start_different_traces() -> None:
    # granian forks its workers after the app module is imported: each must make its own ids.
    import os

    exporter = InMemorySpanExporter()
    tracer = _tracing(exporter).tracer("isthmus.test")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first trace id and leave without pytest's teardown
        with tracer.start_as_current_span("child") as span:
            os.write(write_end, f"{span.get_span_context().trace_id:032x}".encode())
        os._exit(0)
    os.close(write_end)
    with tracer.start_as_current_span("parent") as span:
        ours = f"{span.get_span_context().trace_id:032x}"
    theirs = os.read(read_end, 64).decode()
    os.waitpid(pid, 0)
    os.close(read_end)
    assert len(theirs) == 32
    assert theirs != ours


def test_without_an_exporter_sampled_spans_record_and_keep_ids_and_decisions() -> None:
    # As the SDK: sampled spans record whether or not an exporter is configured.
    tracer = Tracing.build(enabled=True, service_name="s", otlp_endpoint=None).tracer("x")
    with tracer.start_as_current_span("root") as root, tracer.start_as_current_span("c") as child:
        assert root.is_recording()
        assert child.is_recording()
        root_context, child_context = root.get_span_context(), child.get_span_context()
        assert trace.get_current_span().get_span_context() == child_context
    assert root_context.is_valid
    assert child_context.is_valid
    assert root_context.trace_flags.sampled
    assert child_context.trace_id == root_context.trace_id
    assert child_context.span_id != root_context.span_id
    assert not trace.get_current_span().get_span_context().is_valid


def test_our_span_contexts_equal_the_apis_own() -> None:
    # Our spans' contexts are made without the constructor's checks; an exporter, a log line
    # or a propagator must not be able to tell them from the API's.
    exporter = InMemorySpanExporter()
    tracer = _tracing(exporter).tracer("x")
    with tracer.start_as_current_span("root") as root, tracer.start_as_current_span("c") as child:
        for made in (root.get_span_context(), child.get_span_context()):
            rebuilt = trace.SpanContext(
                made.trace_id, made.span_id, made.is_remote, made.trace_flags, made.trace_state
            )
            assert type(made) is trace.SpanContext
            assert tuple(made) == tuple(rebuilt)
            assert made.is_valid
            assert made.trace_state == trace.DEFAULT_TRACE_STATE
    assert [tuple(s.context) for s in exporter.get_finished_spans()] == [
        tuple(child.get_span_context()),
        tuple(root.get_span_context()),
    ]


def test_an_ended_span_is_what_the_exporter_received_whatever_is_called_later() -> None:
    exporter = InMemorySpanExporter()
    tracer = _tracing(exporter).tracer("x")
    with tracer.start_as_current_span("root", attributes={"a": 1}) as span:
        span.add_event("seen", {"n": 2})
    span.set_attribute("a", 99)
    span.set_attribute("b", 3)
    span.add_event("late")
    span.update_name("renamed")
    span.set_status(trace.Status(trace.StatusCode.ERROR, "late"))
    span.end()
    (exported,) = exporter.get_finished_spans()
    assert exported.name == "root"
    assert dict(exported.attributes or {}) == {"a": 1}
    assert [(e.name, dict(e.attributes or {})) for e in exported.events] == [("seen", {"n": 2})]
    assert exported.status.status_code is trace.StatusCode.UNSET
    assert exported.end_time is not None
    assert exported.start_time is not None
    assert exported.end_time >= exported.start_time
    assert exported.resource.attributes["service.name"] == "isthmus-test"
    assert exported.context == span.get_span_context()
