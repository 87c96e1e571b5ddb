"""The composition root: the only place that picks concrete clients and adapters from settings."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from app.correlation import CORRELATION_HEADER, current_correlation_id
from app.services import ReadinessCheck, Services
from app.settings import Settings

__all__ = ["build_services"]


async def _propagate_ids(request: httpx.Request) -> None:
    # Every backend call carries the caller's correlation id, so ERP-side logs can be joined.
    correlation_id = current_correlation_id()
    if correlation_id and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = correlation_id


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30)
    return httpx.AsyncClient(
        limits=limits,
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


async def build_services(settings: Settings) -> Services:
    http = build_http_client(settings)
    services = Services(settings=settings, http=http, redis=build_redis(settings))
    services.exit_stack.push_async_callback(http.aclose)
    if services.redis is not None:
        redis = services.redis
        services.exit_stack.push_async_callback(redis.aclose)
        services.readiness_checks.append(ReadinessCheck("redis", redis.ping, required=False))
    return services
