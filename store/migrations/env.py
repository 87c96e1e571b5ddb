"""Alembic environment: runs on the connection ``store.migrate`` hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `isthmus db upgrade` (store.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
