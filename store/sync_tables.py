"""The delta sync's tables (migration ``0003_sync``), on the same metadata as the rest.

- ``sync_flows`` — one row per flow: who holds its lease (so several workers never run one
  flow at once) and how its last run went. Watermarks stay in ``sync_watermarks``.
- ``sync_runs`` — every run: window read, counts, Salesforce API calls, outcome.
- ``sync_records`` — per Salesforce record written (object + key): the values last written,
  the Salesforce id and the ERP document it came from. Lets a replay skip what is already
  there, detects edits made in Salesforce, and traces each record back to its ERP document.
- ``sync_pending`` — records whose write failed, kept with their values until a later run
  (or a person, through the exception queue) gets them written: nothing is lost.
- ``sync_conflicts`` — a field where Salesforce and the ERP disagree and the ownership table
  says what happened (kept, restored, filled), visible in ops.
- ``reconcile_reports`` — the reconciler's drift reports, a summary per run.
"""

from __future__ import annotations

import sqlalchemy as sa

from store._types import JsonDoc, UtcDateTime
from store.tables import metadata

__all__ = [
    "reconcile_reports",
    "sync_conflicts",
    "sync_flows",
    "sync_pending",
    "sync_records",
    "sync_runs",
]

RUN_STATUSES = ("running", "ok", "partial", "stopped", "failed")

sync_flows = sa.Table(
    "sync_flows",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("lease_owner", sa.String(120)),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("last_run_id", sa.Integer),
    sa.Column("last_started_at", UtcDateTime),
    sa.Column("last_finished_at", UtcDateTime),
    sa.Column("last_status", sa.String(20)),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(80), nullable=False),
    sa.Column("trigger", sa.String(20), nullable=False),
    # ``schedule``, ``manual`` (ops API), ``cli``, ``reconcile``.
    sa.Column("owner", sa.String(120), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("window_from", sa.String(80)),
    sa.Column("window_to", sa.String(80)),
    sa.Column("watermark_before", sa.String(80)),
    sa.Column("watermark_after", sa.String(80)),
    sa.Column("read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("written", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("conflicts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("api_calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text),
    sa.CheckConstraint(sa.column("status").in_(RUN_STATUSES), name="status"),
)
sa.Index(None, sync_runs.c.flow, sync_runs.c.id)

sync_records = sa.Table(
    "sync_records",
    metadata,
    sa.Column("sobject", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(120), primary_key=True),
    # The external id (or the Salesforce record id for Orders and Accounts).
    sa.Column("salesforce_id", sa.String(18)),
    sa.Column("flow", sa.String(80), nullable=False),
    sa.Column("entity", sa.String(20)),
    sa.Column("erp_document", sa.String(80)),
    sa.Column("values", JsonDoc, nullable=False),
    # What was last written (Salesforce field → value, as sent).
    sa.Column("source_modified", UtcDateTime),
    sa.Column("written_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.Integer),
)
sa.Index(None, sync_records.c.flow, sync_records.c.written_at)
sa.Index(None, sync_records.c.erp_document)

sync_pending = sa.Table(
    "sync_pending",
    metadata,
    sa.Column("flow", sa.String(80), primary_key=True),
    sa.Column("sobject", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(120), primary_key=True),
    sa.Column("entity", sa.String(20)),
    sa.Column("erp_document", sa.String(80)),
    sa.Column("write", JsonDoc, nullable=False),
    # The planned write (values, ownership context) as the writer would send it again.
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("failure_id", sa.Integer),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
sa.Index(None, sync_pending.c.flow, sync_pending.c.next_attempt_at)

sync_conflicts = sa.Table(
    "sync_conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(80), nullable=False),
    sa.Column("sobject", sa.String(40), nullable=False),
    sa.Column("key", sa.String(120), nullable=False),
    sa.Column("salesforce_id", sa.String(18)),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("master", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    # ``kept`` (Salesforce's value stays), ``restored`` (the master's value was written back).
    sa.Column("salesforce_value", JsonDoc),
    sa.Column("erp_value", JsonDoc),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("run_id", sa.Integer),
    sa.Column("detected_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(sa.column("status").in_(("open", "acknowledged")), name="status"),
)
sa.Index(None, sync_conflicts.c.status, sync_conflicts.c.id)
sa.Index(None, sync_conflicts.c.sobject, sync_conflicts.c.key)

reconcile_reports = sa.Table(
    "reconcile_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("erp", sa.String(20), nullable=False),
    sa.Column("date_from", sa.Date, nullable=False),
    sa.Column("date_to", sa.Date, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("drift", sa.Integer, nullable=False),
    sa.Column("repaired", sa.Integer, nullable=False),
    sa.Column("summary", JsonDoc, nullable=False),
    # Counts per drift kind, repaired or left for people.
    sa.Column("report", JsonDoc, nullable=False),
)
sa.Index(None, reconcile_reports.c.entity, reconcile_reports.c.id)
