"""Gateway metrics in Prometheus text format.

Two arrangements, chosen when the gateway is built:

- In one process (tests, the benchmark's in-process apps, ``granian`` without a metrics
  directory): one registry per app (not the library's global one), so several gateways in one
  process never mix their figures. Cache and breaker figures are read at scrape time, so the
  hot path pays nothing for them.
- Under ``isthmus serve`` (``PROMETHEUS_MULTIPROC_DIR`` set for its workers): every series is
  summed over all worker processes, whichever worker answers the scrape; see
  ``app.observability.multiprocess`` for how.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.observability.multiprocess import SharedSeries, configured_dir, use_multiprocess_values
from app.problems import ProblemError
from system_apis.cache import CachedBackend, SingleFlightBackend
from system_apis.resilience import ResilientBackend

__all__ = ["CONTENT_TYPE", "GatewayMetrics", "MetricsMiddleware", "Watched"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
_PUBLISH_INTERVAL_S = 1.0
"""How stale another worker's cache, breaker and in-flight figures may be in a scrape."""


class Watched(NamedTuple):
    """What the gateway's figures are read from, besides the events the hot path records."""

    cached: Sequence[CachedBackend] = ()
    resilient: Sequence[ResilientBackend] = ()
    shared: Sequence[SingleFlightBackend] = ()
    """With the cache off: the reads in flight that identical reads share."""


Sources = Callable[[], Watched]

_LOOKUPS = ("isthmus_cache_lookups", "Cache answers by data kind and result")
_BREAKER = (
    "isthmus_breaker_state",
    "Circuit breaker per ERP company: 0 closed, 1 half-open, 2 open",
)
_SHARED = (
    "isthmus_reads_shared",
    "Reads answered by an identical read's ERP call in flight (cache off), by data kind",
)
_IN_FLIGHT = ("isthmus_backend_in_flight", "ERP calls in flight")
_WORKERS = ("isthmus_worker_processes", "Worker processes whose figures this scrape includes")


def _lookup_counts(cached: Iterable[CachedBackend]) -> dict[tuple[str, str, str], int]:
    counts: dict[tuple[str, str, str], int] = {}
    for backend in cached:
        for kind, stats in backend.snapshot().kinds.items():
            for result, value in (
                ("hit", stats.hits),
                ("stale", stats.stale),
                ("miss", stats.misses),
                ("degraded", stats.degraded),
            ):
                key = (backend.vendor, kind, result)
                counts[key] = counts.get(key, 0) + value
    return counts


def _shared_counts(shared: Iterable[SingleFlightBackend]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for backend in shared:
        for kind, value in backend.shared.items():
            key = (backend.vendor, kind)
            counts[key] = counts.get(key, 0) + value
    return counts


def _guard_figures(
    resilient: Iterable[ResilientBackend],
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Calls in flight per vendor, and breaker state per (vendor, company)."""
    in_flight: dict[str, int] = {}
    states: dict[tuple[str, str], int] = {}
    for guard in resilient:
        rsnap = guard.snapshot()
        in_flight[rsnap.vendor] = in_flight.get(rsnap.vendor, 0) + rsnap.in_flight
        for company, breaker in rsnap.breakers.items():
            key = (rsnap.vendor, company)
            states[key] = max(states.get(key, 0), _BREAKER_STATES.get(breaker.state, 2))
    return in_flight, states


class _SnapshotCollector(Collector):
    """Reads the cache and breaker counters at scrape time, so the hot path pays nothing."""

    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        cached, resilient, shared = self._sources()
        lookups = CounterMetricFamily(*_LOOKUPS, labels=["vendor", "kind", "result"])
        for key, value in _lookup_counts(cached).items():
            lookups.add_metric(list(key), value)
        yield lookups
        shared_reads = CounterMetricFamily(*_SHARED, labels=["vendor", "kind"])
        for (vendor, kind), value in _shared_counts(shared).items():
            shared_reads.add_metric([vendor, kind], value)
        yield shared_reads
        in_flight, states = _guard_figures(resilient)
        state = GaugeMetricFamily(*_BREAKER, labels=["vendor", "company"])
        for (vendor, company), value in states.items():
            state.add_metric([vendor, company], value)
        yield state
        flight = GaugeMetricFamily(*_IN_FLIGHT, labels=["vendor"])
        for vendor, count in in_flight.items():
            flight.add_metric([vendor], count)
        yield flight
        yield GaugeMetricFamily(*_WORKERS, value=1)


class _EventSeries:
    """The series the hot path records into, event by event."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Histogram(
            "isthmus_http_request_duration_seconds",
            "Time to answer a request, by route template, method and status",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.backend_calls = Histogram(
            "isthmus_backend_call_duration_seconds",
            "Time of each real ERP call, by vendor, operation and outcome",
            ["vendor", "operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.degraded_answers = Counter(
            "isthmus_degraded_answers",
            "Answers with a section served degraded (last known-good) or unavailable",
            ["endpoint", "section", "status"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "isthmus_rate_limit_refusals",
            "Requests refused with 429, by route",
            ["route"],
            registry=registry,
        )


class _WorkerSeries:
    """Multiprocess mode: this worker's share of the figures other code keeps in memory."""

    def __init__(self) -> None:
        # Counters sum over all workers, exited ones included (their lookups happened);
        # the gauges count live workers only: in flight summed, breaker state the worst one.
        self.lookups = Counter(*_LOOKUPS, ["vendor", "kind", "result"], registry=None)
        self.shared_reads = Counter(*_SHARED, ["vendor", "kind"], registry=None)
        self.breaker_state = Gauge(
            *_BREAKER, ["vendor", "company"], registry=None, multiprocess_mode="livemax"
        )
        self.in_flight = Gauge(*_IN_FLIGHT, ["vendor"], registry=None, multiprocess_mode="livesum")
        self.workers = Gauge(*_WORKERS, registry=None, multiprocess_mode="livesum")
        self.workers.set(1)


_SHARED_NAMES = frozenset(
    {
        "isthmus_http_request_duration_seconds",
        "isthmus_backend_call_duration_seconds",
        "isthmus_degraded_answers",
        "isthmus_rate_limit_refusals",
        _LOOKUPS[0],
        _SHARED[0],
        _BREAKER[0],
        _IN_FLIGHT[0],
        _WORKERS[0],
    }
)
# Multiprocess mode: one set per process. Two sets writing the same keys to this process's
# files would overwrite each other's counts.
_process_series: tuple[_EventSeries, _WorkerSeries] | None = None


def _series_of_this_process() -> tuple[_EventSeries, _WorkerSeries]:
    global _process_series
    if _process_series is None:
        use_multiprocess_values()
        _process_series = (_EventSeries(None), _WorkerSeries())
    return _process_series


class GatewayMetrics:
    """The gateway's series; multiprocess when this process was started with a metrics
    directory (``isthmus serve`` sets one for its workers), else in memory for this app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._sources: list[Sources] = []
        self.multiprocess_dir = configured_dir()
        self._worker: _WorkerSeries | None = None
        self._published: dict[tuple[str, ...], int] = {}
        """Per published counter and labels: the count written to this worker's files."""
        self._ticking = False
        if self.multiprocess_dir is None:
            events = _EventSeries(self.registry)
            self.registry.register(_SnapshotCollector(self._all_sources))
        else:
            events, self._worker = _series_of_this_process()
            self.registry.register(SharedSeries(self.multiprocess_dir, _SHARED_NAMES))
        self.requests = events.requests
        self.backend_calls = events.backend_calls
        self.degraded_answers = events.degraded_answers
        self.rate_limited = events.rate_limited
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._call_children: dict[tuple[str, str, str], Any] = {}

    def _all_sources(self) -> Watched:
        cached: list[CachedBackend] = []
        resilient: list[ResilientBackend] = []
        shared: list[SingleFlightBackend] = []
        for source in self._sources:
            watched = source()
            cached.extend(watched.cached)
            resilient.extend(watched.resilient)
            shared.extend(watched.shared)
        return Watched(cached, resilient, shared)

    def watch(self, source: Sources) -> None:
        self._sources.append(source)
        if self._worker is not None and not self._ticking:
            # Called while the app starts, on the worker's loop: publish from there on.
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a script): published at each scrape only
            self._ticking = True
            loop.call_later(_PUBLISH_INTERVAL_S, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        # Re-armed first, so a failing publish cannot stop the schedule; ends with the loop.
        loop.call_later(_PUBLISH_INTERVAL_S, self._tick, loop)
        self.publish()

    def publish(self) -> None:
        """Multiprocess mode: write this worker's cache, breaker and in-flight figures to its
        files, where other workers' scrapes read them. Nothing to do in one process."""
        worker = self._worker
        if worker is None:
            return
        cached, resilient, shared = self._all_sources()
        self._publish_counts(worker.lookups, _LOOKUPS[0], _lookup_counts(cached).items())
        self._publish_counts(worker.shared_reads, _SHARED[0], _shared_counts(shared).items())
        in_flight, states = _guard_figures(resilient)
        for vendor, count in in_flight.items():
            worker.in_flight.labels(vendor).set(count)
        for (vendor, company), state in states.items():
            worker.breaker_state.labels(vendor, company).set(state)

    def _publish_counts(
        self, counter: Counter, name: str, counts: Iterable[tuple[tuple[str, ...], int]]
    ) -> None:
        """Add to ``counter`` what each count (by its labels) grew by since the last publish."""
        for labels, value in counts:
            key = (name, *labels)
            before = self._published.get(key, 0)
            if value != before:
                # The counts only grow; a smaller one means its backend was rebuilt.
                counter.labels(*labels).inc(value - before if value > before else value)
                self._published[key] = value

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
        # Once per ERP call, dozens per quote: the labelled child is kept, as for requests.
        key = (vendor, operation, outcome)
        child = self._call_children.get(key)
        if child is None:
            child = self._call_children[key] = self.backend_calls.labels(*key)
        child.observe(seconds)

    def record_sections(self, endpoint: str, sections: Iterable[tuple[str, str, bool]]) -> None:
        """``(section, status, degraded)`` per answered section; counts the ones not clean."""
        for section, status, degraded in sections:
            if degraded or status != "complete":
                self.degraded_answers.labels(
                    endpoint, section, "degraded" if degraded else status
                ).inc()

    def render(self) -> bytes:
        self.publish()  # this worker's own figures are current, whatever the schedule
        return generate_latest(self.registry)

    def middleware(self) -> MetricsMiddleware:
        return MetricsMiddleware(self)


def _refusal_status(exc: Exception) -> int:
    """The status the caller gets for an exception raised below this middleware.

    Middlewares under it (header limit, authentication, rate limit) refuse by raising; the
    app's exception handlers turn that into a response outside this middleware, so the answer
    never passes through it. The status is the one those handlers use: an HTTPException's
    ``status_code``, a ProblemError's ``status``; anything else is answered 500.
    """
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, ProblemError):
        return exc.status
    return 500


class MetricsMiddleware:
    """Times and counts every HTTP request by route, method and status.

    A plain middleware factory (``app -> ASGI app``), as the correlation layer is: Litestar adds
    no per-request bookkeeping of its own around it (scope and exclusion checks)."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def __call__(self, app: ASGIApp) -> ASGIApp:
        metrics = self.metrics
        http = ScopeType.HTTP

        # One coroutine per request; the status is read by a plain function handing back
        # ``send``'s awaitable, so no coroutine of ours is made per message either.
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != http:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 0  # no response started yet

            def capture(message: Message) -> Awaitable[None]:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                return send(message)

            try:
                await app(scope, receive, capture)
            except Exception as exc:
                if not status:
                    status = _refusal_status(exc)
                raise
            finally:
                status = status or 500  # cancelled before answering
                route = scope.get("path_template") or "unmatched"
                method = str(scope.get("method", "WEBSOCKET"))
                metrics.observe_request(route, method, status, time.perf_counter() - started)
                if status == 429:
                    metrics.rate_limited.labels(route).inc()

        return measured
