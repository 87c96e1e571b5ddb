"""Gateway metrics in Prometheus text format.

One registry per app (not the library's global one), so several gateways in one process —
tests, or the benchmark — never mix their figures. Each worker process reports its own
series; scrape every worker, or run one worker per container.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from system_apis.cache import CachedBackend
from system_apis.resilience import ResilientBackend

__all__ = ["CONTENT_TYPE", "GatewayMetrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class _SnapshotCollector(Collector):
    """Reads the cache and breaker counters at scrape time, so the hot path pays nothing."""

    def __init__(
        self, sources: Callable[[], tuple[list[CachedBackend], list[ResilientBackend]]]
    ) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        cached, resilient = self._sources()
        lookups = CounterMetricFamily(
            "isthmus_cache_lookups",
            "Cache answers by data kind and result",
            labels=["vendor", "kind", "result"],
        )
        for backend in cached:
            snap = backend.snapshot()
            for kind, stats in snap.kinds.items():
                for result, value in (
                    ("hit", stats.hits),
                    ("stale", stats.stale),
                    ("miss", stats.misses),
                    ("degraded", stats.degraded),
                ):
                    lookups.add_metric([backend.vendor, kind, result], value)
        yield lookups
        state = GaugeMetricFamily(
            "isthmus_breaker_state", "Circuit breaker per ERP company: 0 closed, 1 half-open, 2 open",
            labels=["vendor", "company"],
        )  # fmt: skip
        in_flight = GaugeMetricFamily(
            "isthmus_backend_in_flight", "ERP calls in flight", labels=["vendor"]
        )
        for guard in resilient:
            rsnap = guard.snapshot()
            in_flight.add_metric([rsnap.vendor], rsnap.in_flight)
            for company, breaker in rsnap.breakers.items():
                state.add_metric([rsnap.vendor, company], _BREAKER_STATES.get(breaker.state, 2))
        yield state
        yield in_flight


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "isthmus_http_request_duration_seconds",
            "Time to answer a request, by route template, method and status",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.backend_calls = Histogram(
            "isthmus_backend_call_duration_seconds",
            "Time of each real ERP call, by vendor, operation and outcome",
            ["vendor", "operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.degraded_answers = Counter(
            "isthmus_degraded_answers",
            "Answers with a section served degraded (last known-good) or unavailable",
            ["endpoint", "section", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "isthmus_rate_limit_refusals",
            "Requests refused with 429, by route",
            ["route"],
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._sources: list[Callable[[], tuple[list[CachedBackend], list[ResilientBackend]]]] = []
        self.registry.register(_SnapshotCollector(self._all_sources))

    def _all_sources(self) -> tuple[list[CachedBackend], list[ResilientBackend]]:
        cached: list[CachedBackend] = []
        resilient: list[ResilientBackend] = []
        for source in self._sources:
            c, r = source()
            cached.extend(c)
            resilient.extend(r)
        return cached, resilient

    def watch(
        self, source: Callable[[], tuple[list[CachedBackend], list[ResilientBackend]]]
    ) -> None:
        self._sources.append(source)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # labels() hashes and locks on every call; the children are kept per label set.
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self.requests.labels(route, method, str(status))
            self._request_children[key] = child
        child.observe(seconds)

    def record_backend_call(
        self, vendor: str, operation: str, outcome: str, seconds: float
    ) -> None:
        self.backend_calls.labels(vendor, operation, outcome).observe(seconds)

    def record_sections(self, endpoint: str, sections: Iterable[tuple[str, str, bool]]) -> None:
        """``(section, status, degraded)`` per answered section; counts the ones not clean."""
        for section, status, degraded in sections:
            if degraded or status != "complete":
                self.degraded_answers.labels(
                    endpoint, section, "degraded" if degraded else status
                ).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self) -> MetricsMiddleware:
        return MetricsMiddleware(self)


class MetricsMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, capture)
        finally:
            route = scope.get("path_template") or "unmatched"
            method = str(scope.get("method", "WEBSOCKET"))
            self.metrics.observe_request(route, method, status, time.perf_counter() - started)
            if status == 429:
                self.metrics.rate_limited.labels(route).inc()
