"""Build the gateway for tests: real settings object, the app factory, Litestar's test client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from app.services import Services
from app.settings import Settings, load_settings
from app.wiring import build_process_api
from process_apis.xref import CrossReference
from system_apis.contract import ErpBackend, Vendor


def settings_for(**env: str) -> Settings:
    return load_settings({f"ISTHMUS_{k.upper()}": v for k, v in env.items()})


@contextmanager
def client_for(app: Litestar, **kwargs: Any) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, raise_server_exceptions=False, **kwargs) as client:
        yield client


@contextmanager
def gateway(**env: str) -> Iterator[TestClient[Litestar]]:
    with client_for(create_app(settings_for(**env))) as client:
        yield client


@contextmanager
def gateway_over(
    backends: dict[Vendor, ErpBackend], xref: CrossReference, **env: str
) -> Iterator[TestClient[Litestar]]:
    """The real app, with these backends in place of the configured ERPs."""
    settings = settings_for(**env)
    http = httpx.AsyncClient()
    services = Services(
        settings=settings,
        http=http,
        process=build_process_api(settings, backends),
        backends=backends,
    )
    services.process.xref = xref
    try:
        with client_for(create_app(settings, services=services)) as client:
            yield client
    finally:
        asyncio.run(http.aclose())
