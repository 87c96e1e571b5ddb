"""ASGI entry for servers that import an app factory (``uvicorn --factory app.asgi:app_from_env``).

Settings are read when the server calls the factory, in each worker, never at import time.
"""

from __future__ import annotations

import gc

from litestar import Litestar

from app.factory import create_app
from app.logs import configure_logging
from app.settings import load_settings

__all__ = ["app_from_env"]


def app_from_env() -> Litestar:
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    # Long-lived objects (modules, the app, routes, and what start-up builds: clients and
    # their pools, the store's engine, adapters, the modules they import) need no cycle
    # checks: frozen once start-up is done, and the young generation collected less often.
    # Full collections over a large cache stalled every request in flight (p99 in
    # BENCHMARKS.md before and after); start-up's objects left young were walked by the first
    # collection under load, a 10-12 ms stall in that worker (bench/NOTES.md).
    gc.set_threshold(50_000, 50, 100)
    app.on_startup.append(_freeze_heap)
    return app


def _freeze_heap() -> None:
    """Collect what is garbage now, then exempt everything still alive from later
    collections (``gc.freeze``): only objects made after this are ever scanned again."""
    gc.collect()
    gc.freeze()
