"""The database handle: an async SQLAlchemy engine for PostgreSQL (asyncpg) or SQLite (aiosqlite).

One code path for both. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (it takes
the write lock up front, so two writers queue on ``busy_timeout`` instead of failing half way)
and the database runs in WAL mode so readers never wait for a writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

__all__ = ["DEFAULT_SQLITE_URL", "Database", "normalize_url"]

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///.isthmus/isthmus.db"

_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def normalize_url(url: str) -> URL:
    """``postgresql://`` and ``sqlite://`` URLs get their async driver; others are refused."""
    parsed = make_url(url)
    name = parsed.drivername
    if name in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[name])
    elif name == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(
            f"unsupported database URL scheme {name!r}: use postgresql:// or sqlite:///path"
        )
    return parsed


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class Database:
    """Owns the engine; ``transaction()`` is the unit of work every repository call runs in."""

    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, null_pool: bool = False
    ) -> None:
        """``null_pool``: a new connection per transaction (for use from several event loops)."""
        self.url = normalize_url(url)
        self.dialect: Literal["postgresql", "sqlite"] = (
            "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"
        )
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_dumps,
            "json_deserializer": msgspec.json.decode,
        }
        if null_pool:
            kwargs["poolclass"] = NullPool
        elif self.dialect == "postgresql":
            # pre-ping: a server restart leaves dead pooled connections; they are replaced.
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        else:
            database = self.url.database or ""
            if database in ("", ":memory:") and not null_pool:
                kwargs |= {"poolclass": StaticPool}
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        async with self.engine.begin() as conn:
            yield conn

    async def aclose(self) -> None:
        await self.engine.dispose()


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions on its own: we send BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
