"""Delta sync and reconciliation: flow leases, runs, written records, pending writes,
ownership conflicts and drift reports (see ``store/sync_tables.py``).

Revision ID: 0003_sync
Revises: 0002_exception_queue
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store._types import JsonDoc, UtcDateTime

revision = "0003_sync"
down_revision = "0002_exception_queue"
branch_labels = None
depends_on = None

_RUN_STATUSES = "'running', 'ok', 'partial', 'stopped', 'failed'"


def upgrade() -> None:
    op.create_table(
        "sync_flows",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("lease_owner", sa.String(120), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=True),
        sa.Column("last_run_id", sa.Integer, nullable=True),
        sa.Column("last_started_at", UtcDateTime, nullable=True),
        sa.Column("last_finished_at", UtcDateTime, nullable=True),
        sa.Column("last_status", sa.String(20), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sync_flows"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(80), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("window_from", sa.String(80), nullable=True),
        sa.Column("window_to", sa.String(80), nullable=True),
        sa.Column("watermark_before", sa.String(80), nullable=True),
        sa.Column("watermark_after", sa.String(80), nullable=True),
        sa.Column("read", sa.Integer, server_default="0", nullable=False),
        sa.Column("written", sa.Integer, server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer, server_default="0", nullable=False),
        sa.Column("failed", sa.Integer, server_default="0", nullable=False),
        sa.Column("conflicts", sa.Integer, server_default="0", nullable=False),
        sa.Column("api_calls", sa.Integer, server_default="0", nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.CheckConstraint(f"status IN ({_RUN_STATUSES})", name="ck_sync_runs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_flow_id", "sync_runs", ["flow", "id"])
    op.create_table(
        "sync_records",
        sa.Column("sobject", sa.String(40), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("salesforce_id", sa.String(18), nullable=True),
        sa.Column("flow", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(20), nullable=True),
        sa.Column("erp_document", sa.String(80), nullable=True),
        sa.Column("values", JsonDoc, nullable=False),
        sa.Column("source_modified", UtcDateTime, nullable=True),
        sa.Column("written_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("sobject", "key", name="pk_sync_records"),
    )
    op.create_index("ix_sync_records_flow_written_at", "sync_records", ["flow", "written_at"])
    op.create_index("ix_sync_records_erp_document", "sync_records", ["erp_document"])
    op.create_table(
        "sync_pending",
        sa.Column("flow", sa.String(80), nullable=False),
        sa.Column("sobject", sa.String(40), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("entity", sa.String(20), nullable=True),
        sa.Column("erp_document", sa.String(80), nullable=True),
        sa.Column("write", JsonDoc, nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failure_id", sa.Integer, nullable=True),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow", "sobject", "key", name="pk_sync_pending"),
    )
    op.create_index(
        "ix_sync_pending_flow_next_attempt_at", "sync_pending", ["flow", "next_attempt_at"]
    )
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(80), nullable=False),
        sa.Column("sobject", sa.String(40), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("salesforce_id", sa.String(18), nullable=True),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("master", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("salesforce_value", JsonDoc, nullable=True),
        sa.Column("erp_value", JsonDoc, nullable=True),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("detected_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("status IN ('open', 'acknowledged')", name="ck_sync_conflicts_status"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_conflicts"),
    )
    op.create_index("ix_sync_conflicts_status_id", "sync_conflicts", ["status", "id"])
    op.create_index("ix_sync_conflicts_sobject_key", "sync_conflicts", ["sobject", "key"])
    op.create_table(
        "reconcile_reports",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("erp", sa.String(20), nullable=False),
        sa.Column("date_from", sa.Date, nullable=False),
        sa.Column("date_to", sa.Date, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("drift", sa.Integer, nullable=False),
        sa.Column("repaired", sa.Integer, nullable=False),
        sa.Column("summary", JsonDoc, nullable=False),
        sa.Column("report", JsonDoc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reconcile_reports"),
    )
    op.create_index("ix_reconcile_reports_entity_id", "reconcile_reports", ["entity", "id"])


def downgrade() -> None:
    op.drop_index("ix_reconcile_reports_entity_id", "reconcile_reports")
    op.drop_table("reconcile_reports")
    op.drop_index("ix_sync_conflicts_sobject_key", "sync_conflicts")
    op.drop_index("ix_sync_conflicts_status_id", "sync_conflicts")
    op.drop_table("sync_conflicts")
    op.drop_index("ix_sync_pending_flow_next_attempt_at", "sync_pending")
    op.drop_table("sync_pending")
    op.drop_index("ix_sync_records_erp_document", "sync_records")
    op.drop_index("ix_sync_records_flow_written_at", "sync_records")
    op.drop_table("sync_records")
    op.drop_index("ix_sync_runs_flow_id", "sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("sync_flows")
