"""The schema: one definition for PostgreSQL and SQLite (migrations in ``store/migrations``).

- ``orders`` and ``order_events`` — every order accepted for an ERP and its timeline.
- ``idempotency_keys`` — the first response per (client, key), replayed on repeats.
- ``outbox`` — work to do, committed with the change that caused it; claimed by workers.
- ``failures`` — what could not be done, with the payload and the ERP's words: the
  exception queue's items (any flow: ``subject_type`` says what failed).
- ``audit_log`` — who did what to which record (people and the system).
- ``sync_watermarks`` — how far each delta sync has read, per (system, kind, entity).
"""

from __future__ import annotations

import sqlalchemy as sa

from store._types import JsonDoc, UtcDateTime

__all__ = [
    "audit_log",
    "failures",
    "idempotency_keys",
    "metadata",
    "order_events",
    "orders",
    "outbox",
    "sync_watermarks",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ORDER_STATUSES = ("accepted", "submitting", "booked", "rejected", "retrying", "needs_attention")

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("external_ref", sa.String(80), nullable=False),
    sa.Column("erp", sa.String(20), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("account_id", sa.String(18)),
    sa.Column("customer_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("request", JsonDoc, nullable=False),
    # The canonical order as accepted (the caller's payload, normalised).
    sa.Column("erp_request", JsonDoc, nullable=False),
    # What is sent to the ERP (customer, items and units already mapped).
    sa.Column("warnings", JsonDoc, nullable=False),
    sa.Column("erp_order_id", sa.String(40)),
    sa.Column("erp_status", sa.String(40)),
    sa.Column("erp_lines", JsonDoc),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("maybe_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    # A previous attempt may have reached the ERP: look the order up before sending again.
    sa.Column("correlation_id", sa.String(128)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("booked_at", UtcDateTime),
    sa.UniqueConstraint("entity", "external_ref"),
    sa.CheckConstraint(sa.column("status").in_(ORDER_STATUSES), name="status"),
)
sa.Index(None, orders.c.status, orders.c.updated_at)

order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("detail", JsonDoc),
)
sa.Index(None, order_events.c.order_id, order_events.c.id)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("client", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # SHA-256 of the method, path and decoded body: the same key with another body is a 422.
    sa.Column("state", sa.String(12), nullable=False),
    # ``in_flight`` until the first request answers, then ``done``.
    sa.Column("locked_until", UtcDateTime, nullable=False),
    # An ``in_flight`` record past this instant was abandoned (its holder died).
    sa.Column("response_status", sa.Integer),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("response_headers", JsonDoc),
    sa.Column("order_id", sa.String(40)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(sa.column("state").in_(("in_flight", "done")), name="state"),
)
sa.Index(None, idempotency_keys.c.expires_at)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("subject_id", sa.String(40), nullable=False),
    sa.Column("available_at", UtcDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(80)),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("kind", "subject_id"),
)
sa.Index(None, outbox.c.available_at)

failures = sa.Table(
    "failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(40), nullable=False),
    # What was being done: ``order_submit`` (later: sync flows, acknowledgements …).
    sa.Column("subject_type", sa.String(40), nullable=False),
    sa.Column("subject_id", sa.String(80), nullable=False),
    sa.Column("entity", sa.String(20)),
    sa.Column("system", sa.String(20), nullable=False),
    # The system that refused or failed (``sage_intacct``, ``infor_m3``, ``salesforce``).
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("retryable", sa.Boolean, nullable=False),
    sa.Column("vendor_code", sa.String(80)),
    sa.Column("vendor_message", sa.Text),
    sa.Column("vendor_field", sa.String(80)),
    sa.Column("payload", JsonDoc, nullable=False),
    # The request as sent (or as it would have been sent).
    sa.Column("salesforce_id", sa.String(18)),
    sa.Column("correlation_id", sa.String(128)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    # ``open`` → ``resolved`` / ``ignored`` (worked by people in the exception queue).
    sa.Column("assignee", sa.String(80)),
    sa.Column("resolution", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime),
    sa.CheckConstraint(sa.column("status").in_(("open", "resolved", "ignored")), name="status"),
)
sa.Index(None, failures.c.status, failures.c.created_at)
sa.Index(None, failures.c.subject_type, failures.c.subject_id)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    # A client or person, or ``system:worker`` for automatic actions.
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject_type", sa.String(40), nullable=False),
    sa.Column("subject_id", sa.String(80), nullable=False),
    sa.Column("detail", JsonDoc),
    sa.Column("correlation_id", sa.String(128)),
)
sa.Index(None, audit_log.c.subject_type, audit_log.c.subject_id)

sync_watermarks = sa.Table(
    "sync_watermarks",
    metadata,
    sa.Column("system", sa.String(20), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(20), primary_key=True),
    sa.Column("watermark", sa.String(80), nullable=False),
    # Opaque to the store: an ERP timestamp or cursor, compared by the flow that reads it.
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
