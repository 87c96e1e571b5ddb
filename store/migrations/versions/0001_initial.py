"""The first schema: orders and their timeline, idempotency keys, the outbox, failures,
the audit log and sync watermarks.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store._types import JsonDoc, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_STATUSES = "'accepted', 'submitting', 'booked', 'rejected', 'retrying', 'needs_attention'"


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("external_ref", sa.String(80), nullable=False),
        sa.Column("erp", sa.String(20), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(18), nullable=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("request", JsonDoc, nullable=False),
        sa.Column("erp_request", JsonDoc, nullable=False),
        sa.Column("warnings", JsonDoc, nullable=False),
        sa.Column("erp_order_id", sa.String(40), nullable=True),
        sa.Column("erp_status", sa.String(40), nullable=True),
        sa.Column("erp_lines", JsonDoc, nullable=True),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("maybe_sent", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("booked_at", UtcDateTime, nullable=True),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_orders_status"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("entity", "external_ref", name="uq_orders_entity_external_ref"),
    )
    op.create_index("ix_orders_status_updated_at", "orders", ["status", "updated_at"])

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("detail", JsonDoc, nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_events_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
    )
    op.create_index("ix_order_events_order_id_id", "order_events", ["order_id", "id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("locked_until", UtcDateTime, nullable=False),
        sa.Column("response_status", sa.Integer, nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("response_headers", JsonDoc, nullable=True),
        sa.Column("order_id", sa.String(40), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name="ck_idempotency_keys_state"),
        sa.PrimaryKeyConstraint("client", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=False),
        sa.Column("available_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("kind", "subject_id", name="uq_outbox_kind_subject_id"),
    )
    op.create_index("ix_outbox_available_at", "outbox", ["available_at"])

    op.create_table(
        "failures",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("flow", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(20), nullable=True),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("retryable", sa.Boolean, nullable=False),
        sa.Column("vendor_code", sa.String(80), nullable=True),
        sa.Column("vendor_message", sa.Text, nullable=True),
        sa.Column("vendor_field", sa.String(80), nullable=True),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("salesforce_id", sa.String(18), nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("assignee", sa.String(80), nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved', 'ignored')", name="ck_failures_status"),
        sa.PrimaryKeyConstraint("id", name="pk_failures"),
    )
    op.create_index("ix_failures_status_created_at", "failures", ["status", "created_at"])
    op.create_index(
        "ix_failures_subject_type_subject_id", "failures", ["subject_type", "subject_id"]
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("detail", JsonDoc, nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index(
        "ix_audit_log_subject_type_subject_id", "audit_log", ["subject_type", "subject_id"]
    )

    op.create_table(
        "sync_watermarks",
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("watermark", sa.String(80), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("system", "kind", "entity", name="pk_sync_watermarks"),
    )


def downgrade() -> None:
    for table in (
        "sync_watermarks", "audit_log", "failures", "outbox", "idempotency_keys",
        "order_events", "orders",
    ):  # fmt: skip
        op.drop_table(table)
