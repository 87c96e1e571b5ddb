"""ASGI entry for servers that import an app factory (``uvicorn --factory app.asgi:app_from_env``).

Settings are read when the server calls the factory, in each worker, never at import time.
"""

from __future__ import annotations

import gc

from litestar import Litestar

from app.factory import create_app
from app.logs import configure_logging
from app.settings import load_settings

__all__ = ["app_from_env", "freeze_heap"]


def app_from_env() -> Litestar:
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    # Long-lived objects (modules, the app, routes) need no cycle checks: freeze them, and
    # collect the young generation less often. Full collections over a large cache stalled
    # every request in flight (p99 in BENCHMARKS.md before and after).
    freeze_heap()
    gc.set_threshold(50_000, 50, 100)
    # What start-up then builds lives as long as the worker too (clients and their pools,
    # the store's engine, adapters, the modules they import): frozen once built. Left in the
    # young generation, the first collection under load walked all of it, one stall of
    # 10-12 ms for every request in flight in that worker, and again on its way to the old
    # generation (bench/NOTES.md).
    app.on_startup.append(freeze_heap)
    return app


def freeze_heap() -> None:
    """Collect what is garbage now, then exempt everything still alive from later
    collections (``gc.freeze``): only objects made after this are ever scanned again."""
    gc.collect()
    gc.freeze()
