"""The composition root: the only place that picks concrete clients and adapters from settings."""

from __future__ import annotations

import time

import httpx
from redis.asyncio import Redis

from app.correlation import CORRELATION_HEADER, current_correlation_id
from app.http_transport import AiohttpPoolTransport, LeanAsyncClient
from app.services import ReadinessCheck, Services
from app.settings import Settings
from process_apis.capabilities import ProcessApi
from process_apis.money import FxRate, FxTable
from process_apis.routing import EntityRouter, Route
from process_apis.xref import CrossReference
from system_apis.contract import CallContext, ErpBackend, Vendor

__all__ = ["build_backends", "build_http_client", "build_process_api", "build_services"]


async def _propagate_ids(request: httpx.Request) -> None:
    # Every backend call carries the caller's correlation id, so ERP-side logs can be joined.
    correlation_id = current_correlation_id()
    if correlation_id and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = correlation_id


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The one client every adapter shares: httpx's API over an aiohttp connection pool.

    httpx keeps adapters testable (its transports are our seam); aiohttp's pool is what makes
    the backend hop fast under concurrency (see BENCHMARKS.md, "backend hop").
    """
    return LeanAsyncClient(
        transport=AiohttpPoolTransport(max_connections=200, keepalive_expiry=30),
        timeout=httpx.Timeout(30.0, connect=5.0),
        event_hooks={"request": [_propagate_ids]},
        follow_redirects=False,
    )


def build_redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    # Short timeouts: a dying Redis must cost tens of milliseconds, not a request's budget.
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=0.05,
        socket_connect_timeout=0.05,
        health_check_interval=5,
        retry_on_timeout=False,
    )


def build_backends(settings: Settings, http: httpx.AsyncClient) -> dict[Vendor, ErpBackend]:
    backends: dict[Vendor, ErpBackend] = {}
    if settings.intacct is not None:
        from system_apis.sage_intacct import IntacctAdapter

        cfg = settings.intacct
        backends["sage_intacct"] = IntacctAdapter(
            http,
            endpoint_url=cfg.endpoint_url,
            sender_id=cfg.sender_id,
            sender_password=cfg.sender_password,
            user_id=cfg.user_id,
            company_id=cfg.company_id,
            user_password=cfg.user_password,
            max_in_flight=cfg.max_in_flight,
            request_timeout=cfg.timeout_s,
        )
    if settings.infor is not None:
        from system_apis.infor_m3 import IonApiCredentials, M3Adapter

        backends["infor_m3"] = M3Adapter(
            http,
            ionapi=IonApiCredentials.from_file(settings.infor.ionapi_file),
            request_timeout=settings.infor.timeout_s,
        )
    return backends


def build_process_api(settings: Settings, backends: dict[Vendor, ErpBackend]) -> ProcessApi:
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
        EntityRouter(routes, backends), xref, fx, price_tolerance=settings.price_tolerance
    )


def _ping_probe(backend: ErpBackend, ctx: CallContext) -> ReadinessCheck:
    async def probe() -> None:
        await backend.ping(
            CallContext(company=ctx.company, division=ctx.division, deadline=time.monotonic() + 2)
        )

    return ReadinessCheck(backend.vendor, probe, required=True)


async def build_services(settings: Settings) -> Services:
    http = build_http_client(settings)
    backends = build_backends(settings, http)
    services = Services(
        settings=settings,
        http=http,
        process=build_process_api(settings, backends),
        backends=backends,
        redis=build_redis(settings),
    )
    services.exit_stack.push_async_callback(http.aclose)
    for vendor, backend in backends.items():
        # Probe each ERP through the first entity it serves: that checks credentials too.
        route = next((r for r in settings.entities.values() if r.erp == vendor), None)
        if route is not None:
            services.readiness_checks.append(
                _ping_probe(backend, CallContext(company=route.company, division=route.division))
            )
    if services.redis is not None:
        redis = services.redis
        services.exit_stack.push_async_callback(redis.aclose)
        services.readiness_checks.append(ReadinessCheck("redis", redis.ping, required=False))
    return services
