"""The composition root: the only place that picks concrete clients and adapters from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
from redis.asyncio import Redis

from app.correlation import CORRELATION_HEADER, current_correlation_id, current_traceparent
from app.http_transport import AiohttpPoolTransport, LeanAsyncClient
from app.observability import GatewayMetrics, Tracing
from app.observability.metrics import Watched
from app.observability.salesforce_usage import SalesforceUsageCollector
from app.services import ReadinessCheck, Services
from app.settings import CacheKindSetting, Settings
from process_apis import ProcessApi
from process_apis.exceptions import FlowHandler
from process_apis.mapping import ReferenceCache, import_document, read_document
from process_apis.memo import ResultMemo
from process_apis.money import FxRate, FxTable
from process_apis.orders import OrderPolicy, OrderService
from process_apis.routing import EntityRouter, Route
from process_apis.xref import CrossReference
from store import Database, upgrade
from system_apis.cache import (
    CachedBackend,
    CachePolicy,
    KindPolicy,
    SingleFlightBackend,
    TwoLevelCache,
)
from system_apis.contract import CallContext, ErpBackend, Vendor
from system_apis.crm import CrmBackend
from system_apis.observability import ObservedBackend
from system_apis.resilience import (
    BreakerPolicy,
    RequestRate,
    ResiliencePolicy,
    ResilientBackend,
    RetryPolicy,
    SharedSlots,
)

__all__ = [
    "build_backends",
    "build_http_client",
    "build_process_api",
    "build_salesforce",
    "build_services",
]

log = logging.getLogger("isthmus.wiring")


async def _propagate_ids(request: httpx.Request) -> None:
    # Every backend call carries the caller's correlation id, so ERP-side logs can be joined,
    # and the caller's traceparent when we record no trace of our own (else the span's).
    correlation_id = current_correlation_id()
    if correlation_id and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = correlation_id
    traceparent = current_traceparent()
    if traceparent and "traceparent" not in request.headers:
        request.headers["traceparent"] = traceparent


def build_http_client(settings: Settings, tracing: Tracing | None = None) -> httpx.AsyncClient:
    """The one client every adapter shares: httpx's API over an aiohttp connection pool.

    httpx keeps adapters testable (its transports are our seam); aiohttp's pool is what makes
    the backend hop fast under concurrency (see BENCHMARKS.md, "backend hop").
    """
    return LeanAsyncClient(
        transport=AiohttpPoolTransport(max_connections=200, keepalive_expiry=30),
        timeout=httpx.Timeout(30.0, connect=5.0),
        event_hooks={"request": [_propagate_ids]},
        follow_redirects=False,
        tracer=tracing.tracer("isthmus.http") if tracing and tracing.enabled else None,
    )


def build_redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    # Short timeouts: a dying Redis must cost tens of milliseconds, not a request's budget.
    timeout = settings.redis_timeout_ms / 1000
    return Redis.from_url(
        settings.redis_url,
        max_connections=64,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=5,
        retry_on_timeout=False,
    )


def build_backends(
    settings: Settings, http: httpx.AsyncClient, redis: Redis | None = None
) -> dict[Vendor, ErpBackend]:
    backends: dict[Vendor, ErpBackend] = {}
    if settings.intacct is not None:
        from system_apis.sage_intacct import IntacctAdapter

        cfg = settings.intacct
        # Intacct's cap is per company, whoever sends: each worker process takes its share
        # (at least one), and with Redis the processes and replicas share the whole of it.
        share = max(1, cfg.max_in_flight // settings.workers)
        backends["sage_intacct"] = IntacctAdapter(
            http,
            endpoint_url=cfg.endpoint_url,
            sender_id=cfg.sender_id,
            sender_password=cfg.sender_password,
            user_id=cfg.user_id,
            company_id=cfg.company_id,
            user_password=cfg.user_password,
            max_in_flight=share,
            request_timeout=cfg.timeout_s,
            default_price_lists=cfg.default_price_lists,
            max_response_bytes=cfg.max_response_bytes,
            tax_subtotal=cfg.tax_subtotal,
            batch_window=cfg.batch_window_ms / 1000 or None,
            batch_max_functions=cfg.batch_max_functions,
            # Intacct's concurrency limit is per company: with Redis, all replicas share it.
            slots=SharedSlots(
                redis,
                key=f"isthmus:slots:sage_intacct:{cfg.company_id}",
                limit=cfg.max_in_flight,
                lease_s=cfg.timeout_s + 5,
                local_limit=share,
            )
            if redis is not None
            else None,
        )
    if settings.infor is not None:
        from system_apis.infor_m3 import IonApiCredentials, M3Adapter

        backends["infor_m3"] = M3Adapter(
            http,
            ionapi=IonApiCredentials.from_file(settings.infor.ionapi_file),
            request_timeout=settings.infor.timeout_s,
            max_response_bytes=settings.infor.max_response_bytes,
            # The gateway's rate split between the worker processes: no shared state on the
            # hot path, and the sum over the processes stays at or under the rate.
            rate=RequestRate.per_second(rps, share_of=settings.workers)
            if (rps := settings.infor.max_requests_per_second) is not None
            else None,
            batch_window=settings.infor.batch_window_ms / 1000 or None,
        )
    return backends


def build_salesforce(settings: Settings) -> CrmBackend | None:
    """The org adapter: simple-salesforce over a requests session that trusts ``ca_file``."""
    cfg = settings.salesforce
    if cfg is None:
        return None
    from system_apis.salesforce import (
        ClientCredentials,
        JwtBearer,
        SalesforceAdapter,
        SalesforceClient,
        build_session,
    )

    session = build_session(ca_file=cfg.ca_file, pool_size=cfg.max_in_flight)
    credentials: JwtBearer | ClientCredentials
    if cfg.consumer_key and cfg.username and cfg.private_key_file:
        credentials = JwtBearer(
            consumer_key=cfg.consumer_key,
            username=cfg.username,
            private_key_file=Path(cfg.private_key_file),
            audience=cfg.audience,
        )
    else:
        credentials = ClientCredentials(
            client_id=cfg.client_id or "", client_secret=cfg.client_secret or ""
        )
    client = SalesforceClient(
        session,
        login_url=cfg.login_url,
        credentials=credentials,
        api_version=cfg.api_version,
        timeout_s=cfg.timeout_s,
        max_in_flight=cfg.max_in_flight,
        api_reserve=cfg.api_reserve,
        budget_recheck_s=cfg.budget_recheck_s,
    )
    return SalesforceAdapter(client, describe_ttl_s=cfg.describe_ttl_s)


def _kind(setting: CacheKindSetting | None, default: KindPolicy) -> KindPolicy:
    if setting is None:
        return default
    return KindPolicy(
        fresh_seconds=setting.fresh_s, stale_seconds=setting.stale_s, error_seconds=setting.error_s
    )


def cache_policy(settings: Settings) -> CachePolicy:
    defaults = CachePolicy()
    c = settings.cache
    return CachePolicy(
        credit=_kind(c.credit, defaults.credit),
        item=_kind(c.item, defaults.item),
        price=_kind(c.price, defaults.price),
        availability=_kind(c.availability or c.stock, defaults.availability),
        refresh_timeout=c.refresh_timeout_s,
    )


def resilience_policy(settings: Settings) -> ResiliencePolicy:
    r = settings.resilience
    return ResiliencePolicy(
        retry=RetryPolicy(max_attempts=r.retry_max_attempts),
        breaker=BreakerPolicy(
            consecutive_failures=r.breaker_consecutive_failures, open_seconds=r.breaker_open_s
        ),
        max_in_flight=r.max_in_flight,
    )


def protect(
    adapters: dict[Vendor, ErpBackend],
    settings: Settings,
    cache: TwoLevelCache | None,
    *,
    metrics: GatewayMetrics | None = None,
    tracing: Tracing | None = None,
) -> tuple[
    dict[Vendor, ErpBackend],
    list[ResilientBackend],
    list[CachedBackend],
    list[SingleFlightBackend],
]:
    """Wrap each adapter: observed lookup → cache → breaker/retries/bulkhead → observed call.

    The cache sits outside the breaker so an open breaker still answers from cache. With the
    cache off, identical reads in flight at once still share one call (single flight).
    """
    tracer = (tracing or Tracing()).tracer("isthmus.erp")
    record = metrics.record_backend_call if metrics is not None else None
    wrapped: dict[Vendor, ErpBackend] = {}
    resilient: list[ResilientBackend] = []
    cached: list[CachedBackend] = []
    shared: list[SingleFlightBackend] = []
    for vendor, adapter in adapters.items():
        observed_call = ObservedBackend(adapter, layer="backend", tracer=tracer, record=record)
        guarded = ResilientBackend(observed_call, policy=resilience_policy(settings))
        resilient.append(guarded)
        front: ErpBackend = guarded
        if cache is not None:
            cached_front = CachedBackend(guarded, cache=cache, policy=cache_policy(settings))
            cached.append(cached_front)
            front = cached_front
        elif settings.resilience.share_reads_in_flight:
            # The cache's single flight without the cache: identical reads at once, one call.
            single_flight = SingleFlightBackend(guarded)
            shared.append(single_flight)
            front = single_flight
        wrapped[vendor] = ObservedBackend(front, layer="lookup", tracer=tracer)
    return wrapped, resilient, cached, shared


def result_memo(settings: Settings) -> ResultMemo:
    """Whole-answer memo; never outlives the freshest data kind, off without the cache (where
    identical requests in flight at once may still share one build)."""
    if not settings.cache.enabled:
        return ResultMemo(ttl_s=0, share_builds=settings.resilience.share_reads_in_flight)
    policy = cache_policy(settings)
    shortest = min(
        k.fresh_seconds for k in (policy.credit, policy.item, policy.price, policy.availability)
    )
    return ResultMemo(ttl_s=min(settings.cache.result_memo_s, shortest))


def build_process_api(
    settings: Settings, backends: dict[Vendor, ErpBackend], memo: ResultMemo | None = None
) -> ProcessApi:
    routes = {
        name: Route(erp=r.erp, company=r.company, division=r.division, currency=r.currency)
        for name, r in settings.entities.items()
    }
    xref = (
        CrossReference.from_file(settings.xref_file)
        if settings.xref_file
        else CrossReference.empty()
    )
    fx = FxTable(
        {pair: FxRate(rate=r.rate, as_of=r.as_of) for pair, r in settings.fx_rates.items()}
    )
    return ProcessApi(
        EntityRouter(routes, backends),
        xref,
        fx,
        price_tolerance=settings.price_tolerance,
        memo=memo,
    )


def _ping_probe(backend: ErpBackend, ctx: CallContext) -> ReadinessCheck:
    async def probe() -> None:
        await backend.ping(
            CallContext(company=ctx.company, division=ctx.division, deadline=time.monotonic() + 2)
        )

    return ReadinessCheck(backend.vendor, probe, required=True)


async def build_services(
    settings: Settings, *, metrics: GatewayMetrics | None = None, tracing: Tracing | None = None
) -> Services:
    obs = settings.observability
    tracing = tracing or Tracing.build(
        enabled=obs.tracing,
        service_name=obs.service_name,
        otlp_endpoint=obs.otlp_endpoint,
        sample_ratio=obs.trace_sample_ratio,
    )
    metrics = metrics or GatewayMetrics()
    http = build_http_client(settings, tracing)
    redis = build_redis(settings)
    cache = (
        TwoLevelCache(
            redis,
            l1_max_entries=settings.cache.l1_max_entries,
            l2_timeout=settings.redis_timeout_ms / 1000,
        )
        if settings.cache.enabled
        else None
    )
    adapters = build_backends(settings, http, redis)
    backends, resilient, cached, shared = protect(
        adapters, settings, cache, metrics=metrics, tracing=tracing
    )
    services = Services(
        settings=settings,
        http=http,
        process=build_process_api(settings, backends, result_memo(settings)),
        backends=backends,
        redis=redis,
        cache=cache,
        resilient=resilient,
        cached=cached,
        shared_reads=shared,
        metrics=metrics,
        tracing=tracing,
    )
    metrics.watch(lambda: Watched(services.cached, services.resilient, services.shared_reads))
    services.exit_stack.callback(tracing.shutdown)
    # Closed in reverse: refreshes and the cache's listener stop before Redis and HTTP close.
    services.exit_stack.push_async_callback(http.aclose)
    if redis is not None:
        services.exit_stack.push_async_callback(redis.aclose)
    if cache is not None:
        cache.on_invalidate(services.process.memo.clear)
        await cache.start()
        services.exit_stack.push_async_callback(cache.aclose)
    for front in cached:
        services.exit_stack.push_async_callback(front.aclose)
    for vendor, backend in backends.items():
        # Probe each ERP through the first entity it serves: that checks credentials too.
        route = next((r for r in settings.entities.values() if r.erp == vendor), None)
        if route is not None:
            services.readiness_checks.append(
                _ping_probe(backend, CallContext(company=route.company, division=route.division))
            )
    salesforce = build_salesforce(settings)
    if salesforce is not None:
        services.salesforce = salesforce
        services.exit_stack.callback(getattr(salesforce, "close", lambda: None))
        reserve = settings.salesforce.api_reserve if settings.salesforce else 0
        metrics.registry.register(SalesforceUsageCollector(salesforce, reserve))
        services.readiness_checks.append(
            ReadinessCheck(
                "salesforce",
                lambda: salesforce.ping(
                    CallContext(company="salesforce", deadline=time.monotonic() + 2)
                ),
                required=False,
            )
        )
    if redis is not None:
        services.readiness_checks.append(ReadinessCheck("redis", redis.ping, required=False))
        if obs.trace_redis:
            tracing.instrument_redis()
    await attach_store(services)
    from app.sync_wiring import attach_sync

    attach_sync(services, adapters)
    from app.master_data_wiring import attach_master_data

    attach_master_data(services, adapters)
    attach_exception_queue(services)
    return services


def order_policy(settings: Settings) -> OrderPolicy:
    o = settings.orders
    return OrderPolicy(
        idempotency_retention_s=o.idempotency_retention_s,
        idempotency_lock_s=o.idempotency_lock_s,
        validation_default=o.validation_default,
        validation=dict(o.validation),
    )


async def attach_store(services: Services) -> None:
    """Open the order store (migrating it when configured to), and the embedded worker."""
    settings = services.settings
    db = Database(settings.store.url, pool_size=settings.store.pool_size)
    services.exit_stack.push_async_callback(db.aclose)
    if settings.store.migrate_on_start:
        await upgrade(db)
    services.store = db
    reference = await attach_reference_data(services, db)
    services.orders = OrderService(
        db, services.process, order_policy(settings), dimensions=lambda: reference.catalog
    )

    async def store_ping() -> None:
        async with db.transaction() as conn:
            await conn.exec_driver_sql("SELECT 1")

    services.readiness_checks.append(ReadinessCheck("store", store_ping, required=True))
    if settings.worker.embedded:
        from app.worker import start_embedded_worker

        start_embedded_worker(services)


async def attach_reference_data(services: Services, db: Database) -> ReferenceCache:
    """The cross-reference and dimension values from the store (the ``xref_file`` seeds it),
    kept current in this process by a refresher task."""
    settings = services.settings
    if settings.xref_file:
        report = await import_document(db, read_document(settings.xref_file), now=datetime.now(UTC))
        log.info("cross-reference seed %s: %s", settings.xref_file, msgspec.to_builtins(report))
    process = services.process

    def install(xref: CrossReference) -> None:
        process.xref = xref
        process.memo.clear()  # remembered answers were mapped with the old links
        if services.sync is not None:
            services.sync.xref = xref

    cache = ReferenceCache(db, on_xref=install, refresh_s=settings.master_data.reference_refresh_s)
    await cache.refresh()
    services.reference = cache
    task = asyncio.create_task(cache.run(), name="isthmus-reference-refresh")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    services.exit_stack.push_async_callback(stop)
    return cache


def breaker_probe(services: Services) -> Callable[[str], bool]:
    """``system`` → is any of its circuit breakers open (calls refused right now)?"""

    def is_open(system: str) -> bool:
        for guard in services.resilient:
            if guard.vendor == system:
                return any(b.state == "open" for b in guard.snapshot().breakers.values())
        return False

    return is_open


def attach_exception_queue(services: Services) -> None:
    """The exception queue over the store, and (``exceptions.sweep``) its automatic retries
    in this process: the gateway and every worker process build services through here."""
    from process_apis.exceptions import (
        ORDER_SUBMIT,
        ExceptionQueue,
        ExceptionSweeper,
        OrderSubmitFlow,
        Redactor,
    )
    from process_apis.exceptions.redact import DEFAULT_SENSITIVE

    if services.store is None:
        return
    cfg = services.settings.exceptions
    from app.master_data_wiring import master_data_handlers
    from process_apis.sync import sync_flow_handlers

    flows: dict[str, FlowHandler] = {
        ORDER_SUBMIT: OrderSubmitFlow(),
        **sync_flow_handlers(),
        **master_data_handlers(),
    }
    redactor = Redactor([*DEFAULT_SENSITIVE, *cfg.sensitive_fields])
    services.exceptions = ExceptionQueue(services.store, flows, redactor=redactor)
    if not cfg.sweep:
        return
    sweeper = ExceptionSweeper(
        services.store,
        flows,
        breaker_open=breaker_probe(services),
        audit_retention=timedelta(days=cfg.audit_retention_days)
        if cfg.audit_retention_days
        else None,
        interval_s=cfg.sweep_interval_s,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sweeper.run(stop), name="isthmus-exception-sweeper")

    async def shutdown() -> None:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    services.exit_stack.push_async_callback(shutdown)
