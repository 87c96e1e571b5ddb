"""OpenTelemetry tracing: a server span per request, ERP and HTTP client spans beneath it.

Off unless ``observability.tracing`` is set; OTLP export only when an endpoint is configured.
Tests pass their own span exporter to read what was recorded.

Our own spans (server, lookup, ERP and HTTP client) come from ``LeanTracer``, not the SDK's
tracer. The SDK span locks twice per attribute, validates every value, builds a ``ReadableSpan``
at its end even when nothing exports it, and goes through generator context managers: some
130 Python calls a span, 180,000 CPU instructions for a request's server span alone (a warm
answer from cache is a few million). ``LeanTracer`` keeps the same decisions and output:

- Sampling is the SDK's ``ParentBased(TraceIdRatioBased(ratio))``: a parent's decision is
  followed; a new trace is kept when its trace id's low 64 bits fall under the ratio's bound.
- A span below an unsampled parent is the parent itself, unrecorded: no ids, no allocation,
  and calls to other systems carry the caller's ``traceparent`` unchanged.
- A span outside the sample (a new trace the ratio leaves out) is an ``UnrecordedSpan``: its
  trace id and flags, its span id and ``SpanContext`` made only if something asks. An
  unsampled request that logs nothing and calls no ERP never does. A sampled span is recorded
  whether or not an exporter is configured, as the SDK records it.
- A recorded span keeps its attributes in a plain dict (we set strings and integers only) and
  is itself an SDK ``ReadableSpan``, handed to the processors when it ends (as the SDK's own
  span is), so exporters (OTLP, the tests' in-memory one) receive what the SDK would give them.
- Spans become current by setting the API's context variable directly (``enter_span``,
  ``leave_span``), not through its three layers of calls each way.

The SDK ``TracerProvider`` remains the owner of the processors, and the provider that the
optional Redis instrumentation (``observability.trace_redis``) records through.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
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

__all__ = [
    "CURRENT_CONTEXT",
    "LOW_64",
    "NEW_NOT_SAMPLED",
    "NEW_SAMPLED",
    "SPAN_KEY",
    "LeanTracer",
    "Tracing",
    "UnrecordedSpan",
    "enter_span",
    "leave_span",
    "new_trace_id",
]

_log = logging.getLogger("isthmus.tracing")

# As the SDK's: our trace ids are random (W3C level 2 flag), and children inherit the flag.
NEW_SAMPLED = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
NEW_NOT_SAMPLED = TraceFlags(TraceFlags.RANDOM_TRACE_ID)
_CHILD_SAMPLED = {
    False: TraceFlags(TraceFlags.SAMPLED),
    True: TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID),
}
LOW_64 = (1 << 64) - 1
_UNSET = Status(StatusCode.UNSET)
_getrandbits = random.getrandbits  # the module's generator, see ``_new_id``

# The key under which the API keeps the current span in a ``Context`` (made at import with a
# random suffix), and the ``ContextVar`` holding the current ``Context`` when the runtime
# context is the default one. Setting that variable directly spares the API's three layers of
# calls per attach and per detach; with another runtime context, the API is used.
SPAN_KEY = next(iter(trace.set_span_in_context(trace.INVALID_SPAN, otel_context.Context())))
_runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
_var = getattr(_runtime, "_current_context", None)
CURRENT_CONTEXT: ContextVar[otel_context.Context] | None = (
    _var if isinstance(_var, ContextVar) and isinstance(_var.get(), otel_context.Context) else None
)


# The fields the SDK's ``ReadableSpan`` reads, all set by its constructor. Our recorded span
# is a ``ReadableSpan`` holding these itself (as the SDK's own ``Span`` is), so it is handed to
# the processors as it is when it ends, instead of copied into a new one. A later SDK whose
# ``ReadableSpan`` keeps other fields gets a copy made by its own constructor.
_READABLE_FIELDS = (
    "_attributes",
    "_context",
    "_end_time",
    "_events",
    "_instrumentation_info",
    "_instrumentation_scope",
    "_kind",
    "_links",
    "_name",
    "_parent",
    "_resource",
    "_start_time",
    "_status",
)
_SPAN_IS_ITS_OWN_RECORD = set(vars(ReadableSpan(name="probe"))) == set(_READABLE_FIELDS)


def _span_context_layout_is_known() -> bool:
    """Whether ``SpanContext`` is the tuple ``(trace_id, span_id, is_remote, flags, state,
    is_valid)`` its constructor makes, as in the API versions we know."""
    flags, state = TraceFlags(1), trace.TraceState()
    made = SpanContext(3, 5, False, flags, state)
    return type(made) is SpanContext and tuple(made) == (3, 5, False, flags, state, True)


_DIRECT_SPAN_CONTEXT = _span_context_layout_is_known()
_DEFAULT_TRACE_STATE = trace.DEFAULT_TRACE_STATE
_new_tuple = tuple.__new__


def _local_span_context(
    trace_id: int, span_id: int, flags: TraceFlags, state: trace.TraceState | None
) -> SpanContext:
    """The ``SpanContext`` of a span of ours. Its ids are valid by construction (random, in
    range, never 0), so when the layout is the known one the tuple is made directly: the
    constructor's checks cost as much as the rest of a span's end."""
    if _DIRECT_SPAN_CONTEXT:
        return _new_tuple(
            SpanContext, (trace_id, span_id, False, flags, state or _DEFAULT_TRACE_STATE, True)
        )
    return SpanContext(trace_id, span_id, False, flags, state)  # pragma: no cover - other API


def enter_span(span: trace.Span, parent: otel_context.Context | None = None) -> object:
    """``attach(set_span_in_context(span, parent))``: the span becomes current; returns the
    token for ``leave_span``."""
    if CURRENT_CONTEXT is None:  # pragma: no cover - another runtime context than the default
        return otel_context.attach(trace.set_span_in_context(span, parent))
    base = CURRENT_CONTEXT.get() if parent is None else parent
    return CURRENT_CONTEXT.set(otel_context.Context({**base, SPAN_KEY: span}))


def leave_span(token: object) -> None:
    """``detach(token)``: what was current before ``enter_span`` is current again."""
    if CURRENT_CONTEXT is None:  # pragma: no cover - another runtime context than the default
        otel_context.detach(token)  # type: ignore[arg-type]
        return
    try:
        CURRENT_CONTEXT.reset(token)  # type: ignore[arg-type]
    except ValueError:  # as the API: a token from another context is logged, not raised
        _log.exception("Failed to detach context")


def _current_span(context: otel_context.Context | None) -> object:
    if context is None:
        context = (
            CURRENT_CONTEXT.get() if CURRENT_CONTEXT is not None else otel_context.get_current()
        )
    return context.get(SPAN_KEY)


def new_trace_id() -> int:
    """A random trace id (``LOW_64`` bits of it decide sampling); see ``_new_id``."""
    return _getrandbits(128) or _new_id(128, INVALID_TRACE_ID)


def _new_id(bits: int, invalid: int) -> int:
    # The module's generator, as the SDK's: Python reseeds it in each forked worker, where a
    # generator of our own would give every worker the same ids.
    value = _getrandbits(bits)
    while value == invalid:  # pragma: no cover - one chance in 2**64
        value = _getrandbits(bits)
    return value


@dataclass(frozen=True)
class _Pipeline:
    """What every recorded span of one ``Tracing`` shares."""

    resource: Resource
    processors: tuple[SpanProcessor, ...]
    bound: int
    """New traces are kept when ``trace_id & (2**64 - 1) < bound`` (``TraceIdRatioBased``)."""


class UnrecordedSpan(NonRecordingSpan):
    """A span of which nothing is read but, perhaps, its ids (logs, ``traceparent``).

    An unsampled new trace. Its span id is drawn, and its ``SpanContext`` made, the first time
    something asks: a request that logs nothing and calls no ERP never does.
    """

    __slots__ = ("_flags", "_span_context", "_trace_id", "_trace_state")

    def __init__(
        self, trace_id: int, flags: TraceFlags, trace_state: trace.TraceState | None = None
    ) -> None:
        self._trace_id = trace_id
        self._flags = flags
        self._trace_state = trace_state
        self._span_context: SpanContext | None = None

    def get_span_context(self) -> SpanContext:
        span_context = self._span_context
        if span_context is None:
            span_context = self._span_context = _local_span_context(
                self._trace_id, _new_id(64, INVALID_SPAN_ID), self._flags, self._trace_state
            )
        return span_context

    def __repr__(self) -> str:
        return f"UnrecordedSpan({self.get_span_context()!r})"


class _LeanSpan(trace.Span, ReadableSpan):
    """A recorded span, and (once ended) the record the processors receive.

    Nothing changes it after ``end``: every setter checks ``_end_time`` first.
    """

    __slots__ = (
        *_READABLE_FIELDS,
        "_flags",
        "_processors",
        "_span_id",
        "_trace_id",
        "_trace_state",
    )

    def __init__(  # noqa: PLR0917 - positional on the hot path
        self,
        name: str,
        trace_id: int,
        flags: TraceFlags,
        trace_state: trace.TraceState | None,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, types.AttributeValue],
        pipeline: _Pipeline,
        scope: InstrumentationScope,
        start_time: int | None,
    ) -> None:
        self._name = name
        self._trace_id = trace_id
        self._span_id = _getrandbits(64) or _new_id(64, INVALID_SPAN_ID)
        self._flags = flags
        self._trace_state = trace_state
        self._context: SpanContext | None = None  # made when first asked for
        self._parent = parent
        self._kind = kind
        self._attributes = attributes
        self._events: tuple[Event, ...] | list[Event] = ()
        self._links: tuple[trace.Link, ...] = ()
        self._resource = pipeline.resource
        self._processors = pipeline.processors
        self._instrumentation_info = None
        self._instrumentation_scope = scope
        self._status = _UNSET
        self._start_time = start_time if start_time is not None else time_ns()
        self._end_time: int | None = None

    def get_span_context(self) -> SpanContext:
        span_context = self._context
        if span_context is None:
            span_context = self._context = _local_span_context(
                self._trace_id, self._span_id, self._flags, self._trace_state
            )
        return span_context

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if self._end_time is None:
            # Always the dict given to ``__init__``; the SDK types the field as any mapping.
            self._attributes[key] = value  # type: ignore[index]

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        if self._end_time is None:
            self._attributes.update(attributes)  # type: ignore[union-attr]

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end_time is None:
            if not isinstance(self._events, list):
                self._events = []
            self._events.append(Event(name, attributes, timestamp))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, UNSET never overrides.
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
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
        if self._end_time is not None:
            return
        self._end_time = end_time if end_time is not None else time_ns()
        self.get_span_context()
        if self._events:
            self._events = tuple(self._events)  # as the SDK's record: fixed once ended
        record: ReadableSpan = self if _SPAN_IS_ITS_OWN_RECORD else self._copy()
        for processor in self._processors:
            processor.on_end(record)

    def _copy(self) -> ReadableSpan:  # pragma: no cover - an SDK with other record fields
        return ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=self._resource,
            attributes=self._attributes,
            events=self._events,
            kind=self._kind,
            status=self._status,
            start_time=self._start_time,
            end_time=self._end_time,
            instrumentation_scope=self._instrumentation_scope,
        )


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
            self._token = enter_span(self._span, self._context)
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
            leave_span(self._token)
        if self._end:
            self._span.end()


class LeanTracer(trace.Tracer):
    def __init__(self, pipeline: _Pipeline, scope: InstrumentationScope) -> None:
        self._pipeline = pipeline
        self._scope = scope
        self.bound = pipeline.bound
        """New traces are sampled when ``trace_id & LOW_64 < bound``."""

    def start_root_span(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, types.AttributeValue],
        trace_id: int | None = None,
    ) -> trace.Span:
        """A span starting a new trace whatever is current (a request without ``traceparent``).

        ``attributes`` becomes the span's own (not copied); ``trace_id``, when given, is one
        from ``new_trace_id``. Unsampled, the span is an
        ``UnrecordedSpan``: a random number, a comparison and one small object.
        """
        if trace_id is None:
            trace_id = _getrandbits(128) or _new_id(128, INVALID_TRACE_ID)
        if (trace_id & LOW_64) >= self.bound:
            return UnrecordedSpan(trace_id, NEW_NOT_SAMPLED)
        return _LeanSpan(
            name, trace_id, NEW_SAMPLED, None, None, kind, attributes,
            self._pipeline, self._scope, None,
        )  # fmt: skip

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
        current = _current_span(context)
        parent = (
            current.get_span_context()
            if isinstance(current, trace.Span)
            else trace.INVALID_SPAN_CONTEXT
        )
        if not parent.is_valid:
            if start_time is None and not attributes:
                return self.start_root_span(name, kind, {})
            trace_id = _new_id(128, INVALID_TRACE_ID)
            if (trace_id & LOW_64) >= self.bound:
                return UnrecordedSpan(trace_id, NEW_NOT_SAMPLED)
            return _LeanSpan(
                name, trace_id, NEW_SAMPLED, None, None, kind,
                dict(attributes) if attributes else {}, self._pipeline, self._scope, start_time,
            )  # fmt: skip
        flags = parent.trace_flags
        if not flags.sampled:
            # Unsampled below: nothing recorded, and the parent's context travels on.
            return _UnderUnsampled(parent)
        child_flags = _CHILD_SAMPLED[flags.random_trace_id]
        return _LeanSpan(
            name, parent.trace_id, child_flags, parent.trace_state, parent, kind,
            dict(attributes) if attributes else {}, self._pipeline, self._scope, start_time,
        )  # fmt: skip

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
