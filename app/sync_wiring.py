"""Building the delta sync from settings: change feeds over the ERP adapters, the engine over
the store and the Salesforce org, the flows (one per record kind and entity, plus the order
intake), and the schedule the worker runs. Part of the composition root (``app/wiring.py``)."""

from __future__ import annotations

import logging
from datetime import time

from app.services import Services
from app.settings import Settings
from process_apis.sync import (
    ERP_KINDS,
    FlowSpec,
    OrderIntake,
    OwnershipTable,
    Schedule,
    SyncEngine,
    SyncPolicy,
)
from system_apis.changes import ChangeFeed
from system_apis.contract import ErpBackend, Vendor

__all__ = ["attach_sync", "build_feeds", "flows_for", "schedule_for", "sync_policy"]

log = logging.getLogger("isthmus.sync")


def build_feeds(adapters: dict[Vendor, ErpBackend]) -> dict[str, ChangeFeed]:
    """A change feed per ERP, over the raw adapter (its client, sessions and tokens)."""
    feeds: dict[str, ChangeFeed] = {}
    intacct = adapters.get("sage_intacct")
    if intacct is not None:
        from system_apis.sage_intacct import IntacctAdapter, IntacctChangeFeed

        if isinstance(intacct, IntacctAdapter):
            feeds["sage_intacct"] = IntacctChangeFeed(intacct)
    infor = adapters.get("infor_m3")
    if infor is not None:
        from system_apis.infor_m3 import M3Adapter, M3ChangeFeed

        if isinstance(infor, M3Adapter):
            feeds["infor_m3"] = M3ChangeFeed(infor)
    return feeds


def flows_for(settings: Settings, feeds: dict[str, ChangeFeed]) -> list[FlowSpec]:
    cfg = settings.sync
    entities = cfg.entities or sorted(settings.entities)
    flows: list[FlowSpec] = []
    for entity in entities:
        route = settings.entities.get(entity)
        if route is None or route.erp not in feeds:
            continue
        flows.extend(FlowSpec(route.erp, kind, entity) for kind in ERP_KINDS if kind in cfg.kinds)
    if cfg.intake_status:
        for entity in cfg.intake_entities or entities:
            if entity in settings.entities:
                flows.append(FlowSpec("salesforce", "orders", entity))
    return flows


def sync_policy(settings: Settings) -> SyncPolicy:
    cfg = settings.sync
    return SyncPolicy(
        batch_size=cfg.batch_size,
        overlap_s=cfg.overlap_s,
        settle_s=cfg.settle_s,
        initial_lookback_s=cfg.initial_lookback_s,
        lease_s=cfg.lease_s,
        max_record_attempts=cfg.max_record_attempts,
        publish_events=cfg.publish_events,
    )


def schedule_for(settings: Settings, engine: SyncEngine) -> Schedule:
    cfg = settings.sync
    at = None
    if cfg.reconcile_at:
        hour, minute = cfg.reconcile_at.split(":")
        at = time(int(hour), int(minute))
    entities = tuple(sorted({f.entity for f in engine.flows if f.system != "salesforce"}))
    return Schedule(
        intervals=dict(cfg.intervals),
        default_interval_s=cfg.interval_s,
        poll_s=cfg.poll_s,
        reconcile_at=at,
        reconcile_days=cfg.reconcile_days,
        reconcile_entities=entities,
    )


def attach_sync(services: Services, adapters: dict[Vendor, ErpBackend]) -> None:
    """``services.sync`` when Salesforce and the store are there and sync is enabled."""
    settings = services.settings
    crm, db = services.salesforce, services.store
    if not settings.sync.enabled or crm is None or db is None:
        return
    ownership = (
        OwnershipTable.from_file(settings.sync.ownership_file)
        if settings.sync.ownership_file
        else OwnershipTable.from_file()
    )
    feeds = build_feeds(adapters)
    intake = (
        OrderIntake(services.orders, status=settings.sync.intake_status)
        if settings.sync.intake_status and services.orders is not None
        else None
    )
    services.sync = SyncEngine(
        db, crm, feeds, services.process.router, services.process.xref, ownership,
        flows=flows_for(settings, feeds), policy=sync_policy(settings), intake=intake,
    )  # fmt: skip
    log.info("sync flows: %s", ", ".join(f.name for f in services.sync.flows) or "none")
    if settings.worker.embedded:
        from app.worker import start_embedded_sync

        start_embedded_sync(services)
