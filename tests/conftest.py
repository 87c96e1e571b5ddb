"""Shared fixtures: a real Redis per test session (and one a test may kill), app factories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_server import RedisServer


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
