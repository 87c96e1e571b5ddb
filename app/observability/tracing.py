"""OpenTelemetry tracing: a server span per request, ERP and HTTP client spans beneath it.

Off unless ``observability.tracing`` is set; OTLP export only when an endpoint is configured.
Tests pass their own span exporter to read what was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

__all__ = ["Tracing"]


@dataclass
class Tracing:
    provider: TracerProvider | None = None
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
        provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint))
            )
        return cls(provider=provider)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def tracer(self, name: str) -> trace.Tracer:
        if self.provider is None:
            return trace.NoOpTracer()
        return self.provider.get_tracer(name)

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
