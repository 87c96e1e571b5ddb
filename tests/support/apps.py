"""Build the gateway for tests: real settings object, the app factory, Litestar's test client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from app.settings import Settings, load_settings


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
