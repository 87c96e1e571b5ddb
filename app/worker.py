"""``isthmus worker``: the order worker and the sync schedule as a process (and, for the demo,
inside the gateway).

Builds the same services as the gateway (ERP adapters with their cache and guards, the store)
and runs ``process_apis.orders.OrderWorker`` until SIGTERM or SIGINT; orders in flight finish
first. Run as many as you like, on as many machines: claims never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from app.services import Services
from app.settings import Settings
from process_apis.orders import OrderWorker, WorkerPolicy
from process_apis.sync import SyncScheduler

__all__ = [
    "build_sync_scheduler",
    "build_worker",
    "run_worker",
    "start_embedded_sync",
    "start_embedded_worker",
]

log = logging.getLogger("isthmus.worker")


def build_worker(services: Services) -> OrderWorker:
    if services.store is None:
        raise RuntimeError("the worker needs the order store")
    w = services.settings.worker
    policy = WorkerPolicy(
        concurrency=w.concurrency,
        lease_s=w.lease_s,
        idle_poll_s=w.idle_poll_s,
        max_attempts=w.max_attempts,
        backoff_base_s=w.backoff_base_s,
        backoff_max_s=w.backoff_max_s,
        submit_timeout_s=w.submit_timeout_s,
    )
    return OrderWorker(services.store, services.process.router, policy)


def build_sync_scheduler(services: Services) -> SyncScheduler | None:
    """The sync flows on their intervals and the nightly reconciler, when sync is configured."""
    if services.sync is None:
        return None
    from app.sync_wiring import schedule_for

    return SyncScheduler(services.sync, schedule_for(services.settings, services.sync))


def start_embedded_sync(services: Services) -> None:
    """Run the sync schedule as a task of this process until the services close."""
    scheduler = build_sync_scheduler(services)
    if scheduler is None:
        return
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop), name="isthmus-sync-schedule")

    async def shutdown() -> None:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    services.exit_stack.push_async_callback(shutdown)


def start_embedded_worker(services: Services) -> None:
    """Run a worker as a task of this process until the services close."""
    worker = build_worker(services)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="isthmus-order-worker")

    async def shutdown() -> None:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    services.exit_stack.push_async_callback(shutdown)
    log.info("order worker %s started inside the gateway", worker.name)


async def _run(settings: Settings) -> None:
    from app.wiring import build_services

    services = await build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        worker = build_worker(services)
        log.info("order worker %s started", worker.name)
        jobs = [worker.run(stop)]
        scheduler = build_sync_scheduler(services)
        if scheduler is not None:
            log.info("sync schedule started: %d flows", len(scheduler.engine.flows))
            jobs.append(scheduler.run(stop))
        await asyncio.gather(*jobs)
    finally:
        await services.aclose()


def run_worker(settings: Settings) -> int:
    asyncio.run(_run(settings))
    return 0
