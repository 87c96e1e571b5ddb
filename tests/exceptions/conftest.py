"""Fixtures for the exception queue: a migrated store on both backends, a manual clock, and
orders rejected by the ERP as the worker leaves them (order row, events, failure record)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store import Database
from tests.support.datetime_clock import ManualClock


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = Database(store_url)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
