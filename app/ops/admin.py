"""``/ops/v1``: cache warming and invalidation, breaker and cache state (scope ``ops:admin``)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import Body

from app.routes.shared import problem_responses
from app.security import OPS_ADMIN, security_requirements
from app.services import Services
from process_apis.models import CustomerNumber, Entity, Sku
from system_apis.cache import CachedBackend
from system_apis.contract import CallContext

__all__ = ["OpsController"]

Kind = Literal["credit", "item", "price", "availability", "stock"]
"""``stock`` is the deprecated name of ``availability``."""


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    pass


class InvalidateRequest(_Request, kw_only=True):
    entity: Entity | None = None
    """Only this legal entity's data (its ERP and company); every ERP when omitted."""
    kind: Kind | None = None
    customer_number: CustomerNumber | None = None
    sku: Sku | None = None


class InvalidateResult(msgspec.Struct, kw_only=True, rename="camel"):
    removed_local: int
    removed_shared: int
    replicas_told: bool
    """False when Redis was unreachable: other replicas keep their copies until they expire."""


class WarmRequest(_Request, kw_only=True):
    entity: Entity
    customer_numbers: Annotated[list[CustomerNumber], msgspec.Meta(max_length=500)] = []
    skus: Annotated[list[Sku], msgspec.Meta(max_length=2000)] = []
    """Item master and availability for these products."""


class WarmResult(msgspec.Struct, kw_only=True, rename="camel"):
    loaded: int
    failed: dict[str, str]
    elapsed_ms: float


class OpsStatus(msgspec.Struct, kw_only=True):
    cache: list[Any]
    backends: list[Any]


def _cached_for(services: Services, vendor: str) -> list[CachedBackend]:
    return [c for c in services.cached if c.vendor == vendor]


class OpsController(Controller):
    path = "/ops/v1"
    tags = ["ops"]
    security = security_requirements(OPS_ADMIN)

    @get(
        "/status",
        summary="Cache counters and circuit breaker states",
        operation_id="opsStatus",
        responses=problem_responses(401, 403, 429, 431),
    )
    async def status(self, services: NamedDependency[Services]) -> OpsStatus:
        return OpsStatus(
            cache=[c.snapshot() for c in services.cached],
            backends=[r.snapshot() for r in services.resilient],
        )

    @post(
        "/cache/invalidate",
        status_code=200,
        operation_id="opsInvalidateCache",
        summary="Drop cached reference data here, in Redis and on every replica",
        responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 431, 503),
    )
    async def invalidate(
        self, data: Annotated[InvalidateRequest, Body()], services: NamedDependency[Services]
    ) -> InvalidateResult:
        targets: list[tuple[CachedBackend, str | None, str | None]] = []
        item_id: str | None = None
        if data.entity is not None:
            routed = services.process.router.resolve(data.entity)
            if data.sku is not None:
                item_id = services.process.xref.item_for_sku(
                    data.sku, routed.route.erp, pointer="/sku"
                )
            targets = [
                (c, routed.route.company, routed.route.division)
                for c in _cached_for(services, routed.route.erp)
            ]
        else:
            targets = [(c, None, None) for c in services.cached]
        local = shared = 0
        told = True
        for cached, company, division in targets:
            result = await cached.invalidate(
                kind="availability" if data.kind == "stock" else data.kind,
                company=company,
                division=division,
                customer_id=data.customer_number,
                item_id=item_id,
            )
            local += result.l1_removed
            shared += result.l2_removed
            told = told and result.propagated
        return InvalidateResult(removed_local=local, removed_shared=shared, replicas_told=told)

    @post(
        "/cache/warm",
        status_code=200,
        operation_id="opsWarmCache",
        summary="Load reference data ahead of demand",
        responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 431, 503),
    )
    async def warm(
        self, data: Annotated[WarmRequest, Body()], services: NamedDependency[Services]
    ) -> WarmResult:
        started = time.perf_counter()
        routed = services.process.router.resolve(data.entity)
        items = [
            services.process.xref.item_for_sku(sku, routed.route.erp, pointer=f"/skus/{i}")
            for i, sku in enumerate(data.skus)
        ]
        ctx = CallContext(company=routed.route.company, division=routed.route.division)
        loaded = 0
        failed: dict[str, str] = {}
        for cached in _cached_for(services, routed.route.erp):
            report = await cached.warm(
                ctx,
                customers=data.customer_numbers,
                items=items,
                availability=[(item, ()) for item in items],
            )
            loaded += report.loaded
            failed.update(report.failed)
        return WarmResult(
            loaded=loaded,
            failed=failed,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )
