"""Schema migrations (Alembic, shipped in this package): ``isthmus db upgrade`` runs them.

Migrations run on a connection of the application's own engine. On PostgreSQL a transaction
advisory lock makes concurrent upgrades (several replicas starting at once) run one at a time;
on SQLite the write lock does the same.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.engine import Database

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x1574_0001  # pg_advisory_xact_lock key for migrations


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: sa.Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
    command.upgrade(_config(connection), revision)


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    async with db.transaction() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(db: Database) -> str | None:
    async with db.transaction() as conn:
        return await conn.run_sync(_current)
