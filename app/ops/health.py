"""Liveness and readiness: is the process up; can it reach what it needs."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from app.services import ReadinessCheck, Services

__all__ = ["CheckResult", "HealthController", "Readiness"]

_CHECK_TIMEOUT_S = 2.0


class Liveness(msgspec.Struct, frozen=True):
    status: Literal["ok"] = "ok"


class CheckResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["up", "down"]
    required: bool
    latency_ms: float
    detail: str | None = None


class CacheCounts(msgspec.Struct, frozen=True, kw_only=True):
    hits: int
    stale: int
    misses: int
    degraded: int


class Readiness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["ready", "degraded", "not_ready"]
    checks: dict[str, CheckResult]
    breakers: dict[str, str] = {}
    """Circuit breaker per ERP company (``vendor/company``): closed, half_open or open."""
    cache: dict[str, CacheCounts] = {}
    """Cache answers per ERP since start."""


async def _run(check: ReadinessCheck) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check.probe(), timeout=_CHECK_TIMEOUT_S)
    except TimeoutError:
        detail: str | None = f"no answer within {_CHECK_TIMEOUT_S:g} s"
    except Exception as exc:  # a readiness probe reports every failure, whatever its kind
        detail = f"{type(exc).__name__}: {exc}"[:300]
    else:
        detail = None
    return CheckResult(
        status="up" if detail is None else "down",
        required=check.required,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        detail=detail,
    )


class HealthController(Controller):
    path = "/health"
    tags = ["ops"]

    @get("/live", summary="Liveness", description="200 while the process serves requests.")
    async def live(self) -> Liveness:
        return Liveness()

    @get(
        "/ready",
        summary="Readiness",
        description=(
            "Probes each configured backend and Redis concurrently, with status and latency. "
            "503 when a required dependency is down; `degraded` when only an optional one is."
        ),
        responses={
            503: ResponseSpec(
                data_container=Readiness,
                description="A required dependency is down",
                generate_examples=False,
            )
        },
    )
    async def ready(self, services: NamedDependency[Services]) -> Response[Readiness]:
        results = await asyncio.gather(*(_run(c) for c in services.readiness_checks))
        checks = {c.name: r for c, r in zip(services.readiness_checks, results, strict=True)}
        down_required = any(r.status == "down" and r.required for r in results)
        down_optional = any(r.status == "down" and not r.required for r in results)
        status: Literal["ready", "degraded", "not_ready"] = (
            "not_ready" if down_required else "degraded" if down_optional else "ready"
        )
        breakers: dict[str, str] = {
            f"{snap.vendor}/{company}": breaker.state
            for snap in (r.snapshot() for r in services.resilient)
            for company, breaker in snap.breakers.items()
        }
        cache: dict[str, CacheCounts] = {}
        for cached in services.cached:
            kinds = cached.snapshot().kinds.values()
            cache[cached.vendor] = CacheCounts(
                hits=sum(k.hits for k in kinds),
                stale=sum(k.stale for k in kinds),
                misses=sum(k.misses for k in kinds),
                degraded=sum(k.degraded for k in kinds),
            )
        return Response(
            Readiness(status=status, checks=checks, breakers=breakers, cache=cache),
            status_code=503 if down_required else 200,
        )
