"""Build the gateway for tests: real settings object, the app factory, Litestar's test client."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import schemathesis
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from app.security import ALL_SCOPES, OPS_ADMIN, hash_api_key
from app.services import Services
from app.settings import ApiKeySetting, Settings, load_settings
from app.wiring import build_process_api
from process_apis.xref import CrossReference
from system_apis.contract import ErpBackend, Vendor
from tests.support.stores import migrate

# Test credentials. They are secrets as far as the gateway knows: no log line may show them.
TEST_API_KEY = "isk_test_internal_7d1f0c9a2b5e"
"""Internal caller with every scope: what the tests' clients send unless told otherwise."""
TEST_PARTNER_KEYS = {
    "PARTNER-A": "isk_test_partner_a_3c8e51f07a",
    "PARTNER-B": "isk_test_partner_b_96d2ab4e1c",
}
TEST_SECRETS = (TEST_API_KEY, *TEST_PARTNER_KEYS.values())
PORTAL_SCOPES = [
    "accounts:read", "credit:read", "prices:read", "inventory:read", "quotes:validate",
    "orders:submit", "orders:read",
]  # fmt: skip


def test_api_keys() -> list[ApiKeySetting]:
    internal = ApiKeySetting(
        client="tests-internal",
        key_sha256=hash_api_key(TEST_API_KEY),
        scopes=[s for s in ALL_SCOPES if s != OPS_ADMIN],
    )
    partners = [
        ApiKeySetting(
            client=f"tests-{partner.lower()}",
            key_sha256=hash_api_key(key),
            scopes=PORTAL_SCOPES,
            partner_id=partner,
        )
        for partner, key in TEST_PARTNER_KEYS.items()
    ]
    return [internal, *partners]


def with_test_credentials(settings: Settings) -> Settings:
    """``settings`` plus the test API keys (kept: whatever keys the settings already had)."""
    security = msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, *test_api_keys()]
    )
    return msgspec.structs.replace(settings, security=security)


_STORE_DIR: tempfile.TemporaryDirectory[str] | None = None
_TEMPLATE = "template.db"


def scratch_store_url() -> str:
    """A SQLite file of its own, in a directory removed when the test run ends: a copy of one
    migrated once per run (so an app's start finds its schema current instead of building it)."""
    global _STORE_DIR
    if _STORE_DIR is None:
        _STORE_DIR = tempfile.TemporaryDirectory(prefix="isthmus-stores-")
        atexit.register(_STORE_DIR.cleanup)
        template = Path(_STORE_DIR.name) / _TEMPLATE
        # In a thread of its own: the caller may be inside a running event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(migrate, f"sqlite+aiosqlite:///{template}").result()
    target = Path(_STORE_DIR.name) / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(Path(_STORE_DIR.name) / _TEMPLATE, target)
    return f"sqlite+aiosqlite:///{target}"


def settings_for(**env: str) -> Settings:
    """Settings from ``env`` (``key__sub=value``); the order store is a scratch SQLite file
    unless ``store__url`` says otherwise (never the working directory's)."""
    env.setdefault("store__url", scratch_store_url())
    return with_test_credentials(load_settings({f"ISTHMUS_{k.upper()}": v for k, v in env.items()}))


@contextmanager
def client_for(
    app: Litestar, *, api_key: str | None = TEST_API_KEY, **kwargs: Any
) -> Iterator[TestClient[Litestar]]:
    """A test client that sends ``api_key`` in ``X-API-Key`` (``None``: no credential)."""
    with TestClient(app, raise_server_exceptions=False, **kwargs) as client:
        if api_key is not None:
            client.headers["X-API-Key"] = api_key
        yield client


@schemathesis.auth(refresh_interval=None)
class _TestCredentials:
    """Every schemathesis case carries a test credential: a partner key on the portal API."""

    def get(self, case: schemathesis.Case, ctx: Any) -> str:
        if case.path.startswith("/portal/"):
            return TEST_PARTNER_KEYS["PARTNER-A"]
        return TEST_API_KEY

    def set(self, case: schemathesis.Case, data: str, ctx: Any) -> None:
        # Replaces whatever credential schemathesis generated from the security schemes.
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        headers["X-API-Key"] = data
        case.headers = headers


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
