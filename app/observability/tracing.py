"""OpenTelemetry tracing: a server span per request, ERP and HTTP client spans beneath it.

Off unless ``observability.tracing`` is set; OTLP export only when an endpoint is configured.
Tests pass their own span exporter to read what was recorded.

Our own spans (server, lookup, ERP and HTTP client) come from ``LeanTracer``, not the SDK's
tracer. The SDK span locks twice per attribute, validates every value, builds a ``ReadableSpan``
at its end even when nothing exports it, and goes through generator context managers: some
130 Python calls a span, 180,000 CPU instructions for a request's server span alone (a warm
answer from cache is a few million). ``LeanTracer`` keeps the same decisions and output at a quarter of that:

- Sampling is the SDK's ``ParentBased(TraceIdRatioBased(ratio))``: a parent's decision is
  followed; a new trace is kept when its trace id's low 64 bits fall under the ratio's bound.
- A span below an unsampled parent is the parent itself, unrecorded: no ids, no allocation,
  and calls to other systems carry the caller's ``traceparent`` unchanged.
- A recorded span keeps its attributes in a plain dict (we set strings and integers only) and
  becomes an SDK ``ReadableSpan`` only when it ends and a span processor is configured, so
  exporters (OTLP, the tests' in-memory one) receive what the SDK would have given them.

The SDK ``TracerProvider`` remains the owner of the processors, and the provider that the
optional Redis instrumentation (``observability.trace_redis``) records through.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from time import time_ns
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.util import types

__all__ = ["LeanTracer", "Tracing"]

# As the SDK's: our trace ids are random (W3C level 2 flag), and children inherit the flag.
_NEW_SAMPLED = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
_NEW_NOT_SAMPLED = TraceFlags(TraceFlags.RANDOM_TRACE_ID)
_CHILD_SAMPLED = {
    False: TraceFlags(TraceFlags.SAMPLED),
    True: TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID),
}
_LOW_64 = (1 << 64) - 1
_UNSET = Status(StatusCode.UNSET)


def _new_id(bits: int, invalid: int) -> int:
    # The module's generator, as the SDK's: Python reseeds it in each forked worker, where a
    # generator of our own would give every worker the same ids.
    value = random.getrandbits(bits)
    while value == invalid:  # pragma: no cover - one chance in 2**64
        value = random.getrandbits(bits)
    return value


@dataclass(frozen=True)
class _Pipeline:
    """What every recorded span of one ``Tracing`` shares."""

    resource: Resource
    processors: tuple[SpanProcessor, ...]
    bound: int
    """New traces are kept when ``trace_id & (2**64 - 1) < bound`` (``TraceIdRatioBased``)."""


class _LeanSpan(trace.Span):
    __slots__ = (
        "_attributes",
        "_context",
        "_end",
        "_events",
        "_kind",
        "_name",
        "_parent",
        "_pipeline",
        "_scope",
        "_start",
        "_status",
    )

    def __init__(
        self,
        name: str,
        *,
        span_context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, types.AttributeValue],
        pipeline: _Pipeline,
        scope: InstrumentationScope,
        start_time: int | None,
    ) -> None:
        self._name = name
        self._context = span_context
        self._parent = parent
        self._kind = kind
        self._attributes = attributes
        self._pipeline = pipeline
        self._scope = scope
        self._events: list[Event] = []
        self._status = _UNSET
        self._start = start_time if start_time is not None else time_ns()
        self._end: int | None = None

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if self._end is None:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        if self._end is None:
            self._attributes.update(attributes)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end is None:
            self._events.append(Event(name, attributes, timestamp))

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, UNSET never overrides.
        if self._end is not None or self._status.status_code is StatusCode.OK:
            return
        new = status if isinstance(status, Status) else Status(status, description)
        if new.status_code is not StatusCode.UNSET:
            self._status = new

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        event: dict[str, types.AttributeValue] = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        event.update(attributes or {})
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else time_ns()
        processors = self._pipeline.processors
        if not processors:
            return  # nothing would read it: tracing on for logs' trace ids only
        readable = ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=self._pipeline.resource,
            attributes=self._attributes,
            events=tuple(self._events),
            kind=self._kind,
            status=self._status,
            start_time=self._start,
            end_time=self._end,
            instrumentation_scope=self._scope,
        )
        for processor in processors:
            processor.on_end(readable)


class _UnderUnsampled(NonRecordingSpan):
    """A span below an unsampled parent: the parent's own context, nothing to attach."""


class _Activation(AbstractContextManager[trace.Span]):
    """``start_as_current_span`` without a generator: attach on enter, detach and end on exit."""

    __slots__ = ("_context", "_end", "_record", "_set_status", "_span", "_token")

    def __init__(
        self,
        span: trace.Span,
        parent: otel_context.Context | None,
        *,
        end: bool,
        record: bool,
        status: bool,
    ) -> None:
        self._span = span
        self._context = parent
        self._end = end
        self._record = record
        self._set_status = status
        self._token: object = None

    def __enter__(self) -> trace.Span:
        if self._context is not None or type(self._span) is not _UnderUnsampled:
            self._token = otel_context.attach(trace.set_span_in_context(self._span, self._context))
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # As the API's ``use_span``: only ``Exception`` marks the span (not cancellation).
        if isinstance(exc, Exception) and self._span.is_recording():
            if self._record:
                self._span.record_exception(exc)
            if self._set_status:
                self._span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        if self._end:
            self._span.end()


class LeanTracer(trace.Tracer):
    def __init__(self, pipeline: _Pipeline, scope: InstrumentationScope) -> None:
        self._pipeline = pipeline
        self._scope = scope

    def start_span(  # noqa: PLR0917 - the OTel API's signature
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            if not parent.trace_flags.sampled:
                # Unsampled below: nothing recorded, and the parent's context travels on.
                return _UnderUnsampled(parent)
            trace_id = parent.trace_id
            trace_state = parent.trace_state
            flags = _CHILD_SAMPLED[parent.trace_flags.random_trace_id]
        else:
            trace_id = _new_id(128, INVALID_TRACE_ID)
            trace_state = None
            flags = _NEW_SAMPLED
            if (trace_id & _LOW_64) >= self._pipeline.bound:
                return NonRecordingSpan(
                    SpanContext(
                        trace_id,
                        _new_id(64, INVALID_SPAN_ID),
                        False,
                        _NEW_NOT_SAMPLED,
                        trace_state,
                    )
                )
        span_context = SpanContext(
            trace_id, _new_id(64, INVALID_SPAN_ID), False, flags, trace_state
        )
        return _LeanSpan(
            name,
            span_context=span_context,
            parent=parent if parent.is_valid else None,
            kind=kind,
            attributes=dict(attributes) if attributes else {},
            pipeline=self._pipeline,
            scope=self._scope,
            start_time=start_time,
        )

    def start_as_current_span(  # type: ignore[override]  # noqa: PLR0917
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> AbstractContextManager[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        return _Activation(
            span,
            context,
            end=end_on_exit,
            record=record_exception,
            status=set_status_on_exception,
        )


@dataclass
class Tracing:
    provider: TracerProvider | None = None
    _pipeline: _Pipeline | None = None
    _redis_instrumented: bool = False
    _exporters: list[SpanExporter] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        *,
        enabled: bool,
        service_name: str,
        otlp_endpoint: str | None,
        exporter: SpanExporter | None = None,
        sample_ratio: float = 1.0,
    ) -> Tracing:
        if not enabled:
            return cls()
        # A caller's sampling decision (traceparent flags) is kept; our own traces are sampled
        # at ``sample_ratio``, so a busy gateway can trace a share of requests cheaply.
        ratio = TraceIdRatioBased(sample_ratio)
        provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(ratio),
        )
        processors: list[SpanProcessor] = []
        if exporter is not None:
            processors.append(SimpleSpanProcessor(exporter))
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processors.append(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        for processor in processors:
            provider.add_span_processor(processor)
        pipeline = _Pipeline(
            resource=provider.resource, processors=tuple(processors), bound=ratio.bound
        )
        return cls(provider=provider, _pipeline=pipeline)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def tracer(self, name: str) -> trace.Tracer:
        if self._pipeline is None:
            return trace.NoOpTracer()
        return LeanTracer(self._pipeline, InstrumentationScope(name))

    def instrument_redis(self) -> bool:
        """Spans for Redis commands (cache, locks, limits). Process-wide: undone at shutdown."""
        if self.provider is None:
            return False
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        instrumentor = RedisInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            return False
        instrumentor.instrument(tracer_provider=self.provider)
        self._redis_instrumented = True
        return True

    def shutdown(self) -> None:
        if self._redis_instrumented:
            from opentelemetry.instrumentation.redis import RedisInstrumentor

            RedisInstrumentor().uninstrument()
            self._redis_instrumented = False
        if self.provider is not None:
            self.provider.shutdown()
