"""The durable store: orders, idempotency records, the outbox, failures, audit, watermarks.

PostgreSQL (asyncpg) in production, SQLite (aiosqlite) embedded; one schema and one code path.
Repositories are functions over an ``AsyncConnection`` so that a caller can put several of
them in one transaction (``Database.transaction()``). The store knows nothing of ERPs or HTTP.
"""

import store.master_tables
import store.sync_tables  # noqa: F401 - registers the sync tables on the shared metadata
from store.engine import DEFAULT_SQLITE_URL, Database, normalize_url
from store.migrate import current_revision, head_revision, upgrade
from store.records import (
    FINAL_STATUSES,
    AuditEntry,
    Claimed,
    FailureRecord,
    IdempotencyRecord,
    NewFailure,
    NewOrder,
    OrderEvent,
    OrderStatus,
    StoredOrder,
)

__all__ = [
    "DEFAULT_SQLITE_URL",
    "FINAL_STATUSES",
    "AuditEntry",
    "Claimed",
    "Database",
    "FailureRecord",
    "IdempotencyRecord",
    "NewFailure",
    "NewOrder",
    "OrderEvent",
    "OrderStatus",
    "StoredOrder",
    "current_revision",
    "head_revision",
    "normalize_url",
    "upgrade",
]
