"""Shared fixtures: a real Redis per test session (and one a test may kill), app factories."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from app.logs import JsonFormatter, RedactingFilter
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.stores import database_name, empty_url, migrate


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server for the whole session; each test gets it flushed."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def killable_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may ``stop()`` and ``start()`` again."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the whole session (its own initdb, free port, temp dir)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def postgresql_store_url(
    postgres_server: PostgresServer, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh, migrated database per test module on the private server."""
    name = database_name(request.module.__name__)
    url = postgres_server.create_database(name)
    migrate(url)
    try:
        yield url
    finally:
        if postgres_server.running:
            postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def sqlite_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file per test module."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('store') / 'isthmus.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on both backends, starting from empty tables."""
    url: str = request.getfixturevalue(f"{request.param}_store_url")
    empty_url(url)
    return url


def _suite_secrets() -> list[str]:
    from sandbox.infor.emulator import InforEmulator
    from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as intacct
    from sandbox.issuer import DEMO_API_KEYS, DEMO_CLIENTS
    from sandbox.salesforce import SANDBOX_CONSUMER_SECRET
    from tests.support.apps import TEST_SECRETS
    from tests.support.sync_env import SYNC_SECRETS

    infor = InforEmulator(public_url="http://127.0.0.1:1")
    return [
        *TEST_SECRETS,
        intacct.sender_password,
        intacct.user_password,
        infor.client_secret,
        infor.secret_key,
        *DEMO_API_KEYS,
        *(client.client_secret for client in DEMO_CLIENTS),
        SANDBOX_CONSUMER_SECRET,
        *SYNC_SECRETS,
    ]


@pytest.fixture(scope="session", autouse=True)
def logs_never_show_secrets() -> Iterator[None]:
    """Every log line of the whole suite, as the gateway's handler writes it, holds no secret.

    The handler is the production one (JSON, with the redaction filter); the suite's tests log
    in with these secrets thousands of times, so a leak anywhere fails the run.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    text = stream.getvalue()
    leaked = [secret for secret in _suite_secrets() if secret in text]
    assert not leaked, (
        f"secrets found in the suite's logs: {len(leaked)} (first at offset {text.find(leaked[0])})"
    )
