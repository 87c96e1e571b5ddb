"""Store fixtures' helpers: migrated databases on both backends, emptied between tests."""

from __future__ import annotations

import asyncio
import re
import uuid

import sqlalchemy as sa

from store import Database, upgrade
from store.tables import metadata

_TABLES = [t.name for t in reversed(metadata.sorted_tables)]


def database_name(hint: str) -> str:
    """A unique, valid database name for a test module."""
    slug = re.sub(r"[^a-z0-9]+", "_", hint.lower())[-30:].strip("_")
    return f"isthmus_{slug}_{uuid.uuid4().hex[:8]}"


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.aclose()


def migrate(url: str) -> None:
    asyncio.run(_migrate(url))


async def empty(db: Database) -> None:
    async with db.transaction() as conn:
        if db.dialect == "postgresql":
            await conn.execute(sa.text(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in _TABLES:
                await conn.execute(sa.text(f"DELETE FROM {table}"))


async def _empty_url(url: str) -> None:
    db = Database(url)
    try:
        await empty(db)
    finally:
        await db.aclose()


def empty_url(url: str) -> None:
    asyncio.run(_empty_url(url))
