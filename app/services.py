"""What a running gateway holds: clients, adapters and readiness probes, with their lifecycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis

from app.observability import GatewayMetrics, Tracing
from app.settings import Settings
from process_apis import ProcessApi
from process_apis.exceptions import ExceptionQueue
from process_apis.mapping import ReferenceCache
from process_apis.orders import OrderService
from process_apis.sync import SyncEngine
from store import Database
from system_apis.cache import CachedBackend, SingleFlightBackend, TwoLevelCache
from system_apis.contract import ErpBackend, Vendor
from system_apis.crm import CrmBackend
from system_apis.master_data import MasterData
from system_apis.resilience import ResilientBackend

__all__ = ["ReadinessCheck", "Services"]


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    probe: Callable[[], Awaitable[object]]
    required: bool


@dataclass
class Services:
    """Built by ``app.wiring.build_services``; closed when the app shuts down."""

    settings: Settings
    http: httpx.AsyncClient
    process: ProcessApi
    backends: dict[Vendor, ErpBackend] = field(default_factory=dict)
    redis: Redis | None = None
    cache: TwoLevelCache | None = None
    resilient: list[ResilientBackend] = field(default_factory=list)
    cached: list[CachedBackend] = field(default_factory=list)
    shared_reads: list[SingleFlightBackend] = field(default_factory=list)
    """With the cache off: per ERP, the reads in flight that identical reads share."""
    exceptions: ExceptionQueue | None = None
    """The exception queue (its ``db`` is the store); None without a store."""
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    tracing: Tracing = field(default_factory=Tracing)
    readiness_checks: list[ReadinessCheck] = field(default_factory=list)
    store: Database | None = None
    orders: OrderService | None = None
    """Order acceptance over the store; None when the gateway runs without one (tests)."""
    salesforce: CrmBackend | None = None
    """The Salesforce org (write-back, master data), when configured."""
    master_data: dict[str, MasterData] = field(default_factory=dict)
    """Each ERP's master data (customers, items, prices, dimensions), over the raw adapters."""
    reference: ReferenceCache | None = None
    """Cross-reference and dimension values from the store, refreshed in the background."""
    sync: SyncEngine | None = None
    """The delta sync's flows (``app/sync_wiring.py``), when Salesforce and the store are."""
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def aclose(self) -> None:
        await self.exit_stack.aclose()
