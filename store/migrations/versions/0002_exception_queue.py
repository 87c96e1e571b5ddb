"""The exception queue and the append-only audit log.

- ``failures``: folding of repeats (``error_key``, ``occurrences``, ``last_seen_at``), the
  target system and ERP document, tags, automatic retries (``next_retry_at``,
  ``auto_retries``, ``paused``) and two more statuses, ``retrying`` and ``discarded``.
- ``audit_log``: ``before`` and ``after`` of every change; an index on ``at`` for retention
  and export; triggers that refuse any UPDATE (entries are only ever added, and removed only
  by the retention purge).

Revision ID: 0002_exception_queue
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store._types import JsonDoc, UtcDateTime

revision = "0002_exception_queue"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW = "'open', 'retrying', 'resolved', 'discarded', 'ignored'"
_OLD = "'open', 'resolved', 'ignored'"


def upgrade() -> None:
    with op.batch_alter_table("failures", recreate="auto") as batch:
        batch.add_column(sa.Column("error_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("occurrences", sa.Integer, server_default="1", nullable=False))
        batch.add_column(sa.Column("last_seen_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("target", sa.String(20), nullable=True))
        batch.add_column(sa.Column("erp_document", sa.String(80), nullable=True))
        batch.add_column(sa.Column("tags", JsonDoc, server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("next_retry_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("auto_retries", sa.Integer, server_default="0", nullable=False))
        batch.add_column(sa.Column("paused", sa.Boolean, server_default=sa.false(), nullable=False))
        batch.drop_constraint("ck_failures_status", type_="check")
        batch.create_check_constraint(op.f("ck_failures_status"), f"status IN ({_NEW})")
        batch.create_index("ix_failures_status_next_retry_at", ["status", "next_retry_at"])
        batch.create_index("ix_failures_salesforce_id", ["salesforce_id"])
    op.execute("UPDATE failures SET last_seen_at = updated_at WHERE last_seen_at IS NULL")

    with op.batch_alter_table("audit_log", recreate="auto") as batch:
        batch.add_column(sa.Column("before", JsonDoc, nullable=True))
        batch.add_column(sa.Column("after", JsonDoc, nullable=True))
        batch.create_index("ix_audit_log_at", ["at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    with op.batch_alter_table("audit_log", recreate="auto") as batch:
        batch.drop_index("ix_audit_log_at")
        batch.drop_column("after")
        batch.drop_column("before")
    op.execute("UPDATE failures SET status = 'ignored' WHERE status = 'discarded'")
    op.execute("UPDATE failures SET status = 'open' WHERE status = 'retrying'")
    with op.batch_alter_table("failures", recreate="auto") as batch:
        batch.drop_index("ix_failures_salesforce_id")
        batch.drop_index("ix_failures_status_next_retry_at")
        batch.drop_constraint("ck_failures_status", type_="check")
        batch.create_check_constraint(op.f("ck_failures_status"), f"status IN ({_OLD})")
        for column in (
            "paused", "auto_retries", "next_retry_at", "tags", "erp_document", "target",
            "last_seen_at", "occurrences", "error_key",
        ):  # fmt: skip
            batch.drop_column(column)
