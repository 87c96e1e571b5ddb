"""Schema migrations (Alembic, shipped in this package): ``isthmus db upgrade`` runs them.

Migrations run on a connection of the application's own engine. On PostgreSQL a transaction
advisory lock makes concurrent upgrades (several replicas starting at once) run one at a time;
on SQLite the write lock does the same.

Alembic (and Mako, which it loads) is imported only when a migration runs: a store already at
the newest revision is told by one query of ``alembic_version``, so a gateway worker starting
on a migrated store (``isthmus serve`` migrates before it starts its workers) never loads it,
about 11 MB of each worker's memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from store.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "current_revision", "head_revision", "upgrade"]

HEAD_REVISION = "0004_master_data"
"""The newest migration's revision, known without loading Alembic (a test checks it against
Alembic's own view of ``store/migrations``): raise it with every new migration."""

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x1574_0001  # pg_advisory_xact_lock key for migrations
_VERSION_TABLE = "alembic_version"


def _config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: sa.Connection, revision: str) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
    command.upgrade(_config(connection), revision)


def _current(connection: sa.Connection) -> str | None:
    """The revision the store is at (None: never migrated), read as Alembic records it."""
    if not sa.inspect(connection).has_table(_VERSION_TABLE):
        return None
    table = sa.table(_VERSION_TABLE, sa.column("version_num"))
    revisions = list(connection.execute(sa.select(table.c.version_num)).scalars())
    return revisions[0] if len(revisions) == 1 else None


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    async with db.transaction() as conn:
        if revision in ("head", HEAD_REVISION) and await conn.run_sync(_current) == HEAD_REVISION:
            return  # already there: nothing to load Alembic for
        await conn.run_sync(_upgrade, revision)


async def current_revision(db: Database) -> str | None:
    async with db.transaction() as conn:
        return await conn.run_sync(_current)
