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
    # Long-lived objects (modules, the app, routes) need no cycle checks: freeze them, and
    # collect the young generation less often. Full collections over a large cache stalled
    # every request in flight (p99 in BENCHMARKS.md before and after).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    return app
