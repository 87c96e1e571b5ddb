"""How flows report to the exception queue: ``capture`` a failure, ``resolve`` on success.

Both run inside the flow's own transaction (the failure record commits with the flow's state
change, or neither does).

``capture`` — one record per (flow, subject, error):
- a repeat of the same error (class, vendor code, field) for the same subject while its record
  is active (``open`` or ``retrying``) folds into that record: ``occurrences`` + 1, the latest
  payload, vendor words and correlation id, ``last_seen_at``;
- a different error for the same subject opens a new record and resolves the older active
  ones as superseded (the old error is gone; the new one is what stands in the way);
- transient classes (connection, timeout, rate limit, lock) are ``retrying``: either the
  flow retries on its own (it says so with ``flow_retries=True``) or the queue retries with
  backoff (``next_retry_at``) until ``max_auto_retries``, then waits for a person (``open``);
- other classes are ``open`` until a person acts.

``resolve`` — a later attempt for the same subject succeeded: its active records resolve.

Every automatic transition writes an audit entry (actor ``system:…``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.exceptions.classes import RetryPolicy, error_key, is_transient
from store import FailureRecord, NewFailure
from store import exceptions as rows
from store.audit import audit

__all__ = ["Captured", "capture", "resolve"]

SUBJECT = "exception"
DEFAULT_POLICY = RetryPolicy()


class Captured(msgspec.Struct, frozen=True, kw_only=True):
    record: FailureRecord
    folded: bool
    """True when the failure was a repeat folded into an existing record."""


def _status(record_retries: int, transient: bool, flow_retries: bool, policy: RetryPolicy,
            now: datetime) -> tuple[str, datetime | None]:  # fmt: skip
    if not transient:
        return "open", None
    if flow_retries:
        return "retrying", None
    if record_retries >= policy.max_auto_retries:
        return "open", None
    return "retrying", now + timedelta(seconds=policy.backoff_s(record_retries + 1))


async def capture(
    conn: AsyncConnection,
    failure: NewFailure,
    *,
    now: datetime,
    policy: RetryPolicy = DEFAULT_POLICY,
    flow_retries: bool = False,
    target: str | None = None,
    erp_document: str | None = None,
    actor: str = "system:capture",
) -> Captured:
    key = error_key(failure)
    transient = is_transient(failure)
    active = await rows.active_for_subject(
        conn, failure.flow, failure.subject_type, failure.subject_id
    )
    same = next((r for r in active if r.error_key == key), None)
    if same is not None:
        status, next_retry = _status(same.auto_retries, transient, flow_retries, policy, now)
        record = await rows.update(
            conn, same.id, now=now,
            occurrences=same.occurrences + 1, last_seen_at=now, status=status,
            next_retry_at=next_retry, attempts=failure.attempts, payload=failure.payload,
            vendor_message=failure.vendor_message, correlation_id=failure.correlation_id,
            retryable=failure.retryable, erp_document=erp_document or same.erp_document,
        )  # fmt: skip
        if status != same.status:
            why = "automatic retries exhausted" if same.status == "retrying" else "failed again"
            await _audit(conn, record, now, actor, "exception.reopened" if status == "open"
                         else "exception.retrying", same.status, status, why)  # fmt: skip
        return Captured(record=record, folded=True)

    status, next_retry = _status(0, transient, flow_retries, policy, now)
    record = await rows.insert(
        conn, failure, now=now, status=status, next_retry_at=next_retry, error_key=key,
        target=target or failure.system, erp_document=erp_document,
    )  # fmt: skip
    await audit(
        conn, now=now, actor=actor, action="exception.captured", subject_type=SUBJECT,
        subject_id=str(record.id), correlation_id=failure.correlation_id,
        detail={"flow": failure.flow, "subject": f"{failure.subject_type}/{failure.subject_id}",
                "category": failure.category, "vendor_code": failure.vendor_code,
                "message": (failure.vendor_message or "")[:500]},
        after={"status": status},
    )  # fmt: skip
    for older in active:
        resolved = await rows.update(
            conn, older.id, now=now, status="resolved", resolved_at=now, next_retry_at=None,
            resolution=f"superseded by #{record.id} ({failure.category})",
        )  # fmt: skip
        await _audit(conn, resolved, now, actor, "exception.superseded", older.status,
                     "resolved", f"the same work now fails differently (#{record.id})")  # fmt: skip
    return Captured(record=record, folded=False)


async def resolve(
    conn: AsyncConnection,
    *,
    flow: str,
    subject_type: str,
    subject_id: str,
    now: datetime,
    cause: str,
    actor: str = "system:capture",
    erp_document: str | None = None,
) -> list[FailureRecord]:
    """The subject's work succeeded: its active records resolve (auto-resolve), naming the
    document the target system made when there is one."""
    done = []
    for record in await rows.active_for_subject(conn, flow, subject_type, subject_id):
        resolved = await rows.update(
            conn, record.id, now=now, status="resolved", resolved_at=now, next_retry_at=None,
            paused=False, resolution=cause[:2000],
            erp_document=erp_document or record.erp_document,
        )  # fmt: skip
        await _audit(conn, resolved, now, actor, "exception.resolved", record.status,
                     "resolved", cause)  # fmt: skip
        done.append(resolved)
    return done


async def _audit(  # noqa: PLR0917 - a private helper read at its call sites
    conn: AsyncConnection,
    record: FailureRecord,
    now: datetime,
    actor: str,
    action: str,
    before: str,
    after: str,
    why: str,
) -> None:
    await audit(
        conn, now=now, actor=actor, action=action, subject_type=SUBJECT,
        subject_id=str(record.id), correlation_id=record.correlation_id,
        detail={"reason": why[:1000]}, before={"status": before}, after={"status": after},
    )  # fmt: skip
