"""People's work on the exception queue: find, retry, edit and replay, discard, assign, tag,
comment, and the same in bulk by filter. Every action is one transaction with its audit entry
(who, when, what, before and after, correlation id).

Retry and replay hand the record to its flow (``FlowHandler.reschedule``), which puts the
work up again through the flow's own idempotent path; the record then waits (``retrying``)
for the outcome: success resolves it, a failure folds into it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.exceptions.capture import SUBJECT
from process_apis.exceptions.diff import json_diff
from process_apis.exceptions.errors import (
    ActionRefusedError,
    ExceptionNotFoundError,
    InvalidPayloadError,
)
from process_apis.exceptions.flows import FlowHandler, TimelineItem
from process_apis.exceptions.redact import Redactor
from process_apis.orders.clock import Clock, SystemClock
from store import AuditEntry, Database, FailureRecord
from store import exceptions as rows
from store.audit import audit, audit_trail
from store.exceptions import ExceptionFilter

__all__ = ["BulkResult", "Detail", "ExceptionQueue", "Page"]

BulkAction = Literal["retry", "discard"]
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
MAX_BULK = 1000


class Page(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FailureRecord]
    total: int


class Detail(msgspec.Struct, frozen=True, kw_only=True):
    record: FailureRecord
    audit: list[AuditEntry]
    """This record's trail, oldest first (comments included)."""
    timeline: list[TimelineItem]
    """The business record's own timeline (an order's events), when the flow has one."""
    subject_audit: list[AuditEntry]
    """The audit trail of the business record itself (e.g. the order)."""
    replayable: bool


class BulkResult(msgspec.Struct, frozen=True, kw_only=True):
    matched: int
    done: list[int]
    skipped: dict[str, str]
    """Record id → why it was left alone."""


class ExceptionQueue:
    def __init__(
        self,
        db: Database,
        flows: Mapping[str, FlowHandler] | None = None,
        *,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.db = db
        self.flows: dict[str, FlowHandler] = dict(flows or {})
        self.clock: Clock = clock or SystemClock()
        self.redactor = redactor or Redactor()

    # ------------------------------------------------------------------ reading

    async def search(self, f: ExceptionFilter, *, limit: int = 50, offset: int = 0) -> Page:
        async with self.db.transaction() as conn:
            items = await rows.search(conn, f, limit=limit, offset=offset)
            total = await rows.count(conn, f)
        return Page(items=items, total=total)

    async def get(self, failure_id: int) -> FailureRecord:
        async with self.db.transaction() as conn:
            return await self._get(conn, failure_id)

    async def detail(self, failure_id: int) -> Detail:
        async with self.db.transaction() as conn:
            record = await self._get(conn, failure_id)
            trail = await audit_trail(conn, SUBJECT, str(record.id))
            handler = self.flows.get(record.flow)
            timeline = await handler.timeline(conn, record) if handler else []
            subject_audit = await audit_trail(conn, record.subject_type, record.subject_id)
        return Detail(
            record=record, audit=trail, timeline=timeline, subject_audit=subject_audit,
            replayable=handler is not None,
        )  # fmt: skip

    async def choices(self) -> dict[str, list[str]]:
        async with self.db.transaction() as conn:
            return await rows.choices(conn, ("flow", "category", "system", "assignee"))

    async def _get(
        self, conn: AsyncConnection, failure_id: int, *, lock: bool = False
    ) -> FailureRecord:
        record = await rows.get(conn, failure_id, lock=lock)
        if record is None:
            raise ExceptionNotFoundError(f"There is no exception record {failure_id}.")
        return record

    def _handler(self, record: FailureRecord) -> FlowHandler:
        handler = self.flows.get(record.flow)
        if handler is None:
            raise ActionRefusedError(
                f"Records of flow {record.flow!r} cannot be retried from the queue yet."
            )
        return handler

    @staticmethod
    def _require_active(record: FailureRecord, action: str) -> None:
        if not record.active:
            raise ActionRefusedError(
                f"Record {record.id} is {record.status}: it cannot be {action}."
            )

    # ------------------------------------------------------------------ actions

    async def retry(self, failure_id: int, *, actor: str, correlation_id: str | None = None,
                    reason: str | None = None) -> FailureRecord:  # fmt: skip
        async with self.db.transaction() as conn:
            return await self._retry(conn, await self._get(conn, failure_id, lock=True),
                                     actor=actor, correlation_id=correlation_id, reason=reason)  # fmt: skip

    async def _retry(self, conn: AsyncConnection, record: FailureRecord, *, actor: str,
                     correlation_id: str | None, reason: str | None) -> FailureRecord:  # fmt: skip
        self._require_active(record, "retried")
        handler = self._handler(record)
        now = self.clock.now()
        outcome = await handler.reschedule(conn, record, payload=None, now=now, actor=actor)
        updated = await rows.update(conn, record.id, now=now, status="retrying",
                                    next_retry_at=None, paused=False)  # fmt: skip
        await audit(
            conn, now=now, actor=actor, action="exception.retry", subject_type=SUBJECT,
            subject_id=str(record.id), correlation_id=correlation_id,
            detail={"outcome": outcome, **({"reason": reason} if reason else {})},
            before={"status": record.status}, after={"status": "retrying"},
        )  # fmt: skip
        return updated

    def view_payload(self, record: FailureRecord) -> Any:
        """The payload as people see it: sensitive fields masked."""
        return self.redactor.redact(record.payload)

    async def replay(
        self,
        failure_id: int,
        payload: Any,
        *,
        actor: str,
        correlation_id: str | None = None,
        reason: str | None = None,
    ) -> FailureRecord:
        """Replace the payload (masked fields keep their values) and send it again."""
        async with self.db.transaction() as conn:
            record = await self._get(conn, failure_id, lock=True)
            self._require_active(record, "replayed")
            handler = self._handler(record)
            if not isinstance(payload, dict):
                raise InvalidPayloadError("The payload must be a JSON object.", pointer="/payload")
            edited = handler.check_payload(record, self.redactor.restore(payload, record.payload))
            changes = json_diff(record.payload, edited)
            if not changes:
                raise InvalidPayloadError(
                    "The payload is unchanged: use retry to send it again as it is.",
                    pointer="/payload",
                )
            now = self.clock.now()
            outcome = await handler.reschedule(conn, record, payload=edited, now=now, actor=actor)
            updated = await rows.update(conn, record.id, now=now, status="retrying",
                                        next_retry_at=None, paused=False, payload=edited)  # fmt: skip
            await audit(
                conn, now=now, actor=actor, action="exception.replay", subject_type=SUBJECT,
                subject_id=str(record.id), correlation_id=correlation_id,
                detail={"outcome": outcome, "changes": self.redactor.redact(changes),
                        "status_before": record.status,
                        **({"reason": reason} if reason else {})},
                before=self.redactor.redact(record.payload), after=self.redactor.redact(edited),
            )  # fmt: skip
            return updated

    async def discard(self, failure_id: int, *, reason: str, actor: str,
                      correlation_id: str | None = None) -> FailureRecord:  # fmt: skip
        async with self.db.transaction() as conn:
            return await self._discard(conn, await self._get(conn, failure_id, lock=True),
                                       reason=reason, actor=actor, correlation_id=correlation_id)  # fmt: skip

    async def _discard(self, conn: AsyncConnection, record: FailureRecord, *, reason: str,
                       actor: str, correlation_id: str | None) -> FailureRecord:  # fmt: skip
        self._require_active(record, "discarded")
        reason = reason.strip()
        if not reason:
            raise InvalidPayloadError("Say why the record is discarded.", pointer="/reason")
        now = self.clock.now()
        updated = await rows.update(conn, record.id, now=now, status="discarded",
                                    resolution=reason, resolved_at=now, next_retry_at=None,
                                    paused=False)  # fmt: skip
        await audit(
            conn, now=now, actor=actor, action="exception.discard", subject_type=SUBJECT,
            subject_id=str(record.id), correlation_id=correlation_id, detail={"reason": reason},
            before={"status": record.status}, after={"status": "discarded"},
        )  # fmt: skip
        return updated

    async def assign(self, failure_id: int, assignee: str | None, *, actor: str,
                     correlation_id: str | None = None) -> FailureRecord:  # fmt: skip
        assignee = (assignee or "").strip() or None
        async with self.db.transaction() as conn:
            record = await self._get(conn, failure_id, lock=True)
            now = self.clock.now()
            updated = await rows.update(conn, record.id, now=now, assignee=assignee)
            await audit(
                conn, now=now, actor=actor, action="exception.assign", subject_type=SUBJECT,
                subject_id=str(record.id), correlation_id=correlation_id,
                before={"assignee": record.assignee}, after={"assignee": assignee},
            )  # fmt: skip
            return updated

    async def tag(self, failure_id: int, *, add: list[str], remove: list[str], actor: str,
                  correlation_id: str | None = None) -> FailureRecord:  # fmt: skip
        for i, tag in enumerate(add):
            if not _TAG.match(tag):
                raise InvalidPayloadError(
                    "Tags are 1-40 lower-case letters, digits and . _ : - .", pointer=f"/add/{i}"
                )
        async with self.db.transaction() as conn:
            record = await self._get(conn, failure_id, lock=True)
            tags = [t for t in record.tags if t not in remove]
            tags += [t for t in dict.fromkeys(add) if t not in tags]
            if len(tags) > 20:
                raise InvalidPayloadError("A record carries at most 20 tags.", pointer="/add")
            now = self.clock.now()
            updated = await rows.update(conn, record.id, now=now, tags=tags)
            await audit(
                conn, now=now, actor=actor, action="exception.tag", subject_type=SUBJECT,
                subject_id=str(record.id), correlation_id=correlation_id,
                before={"tags": record.tags}, after={"tags": tags},
            )  # fmt: skip
            return updated

    async def comment(self, failure_id: int, text: str, *, actor: str,
                      correlation_id: str | None = None) -> AuditEntry:  # fmt: skip
        text = text.strip()
        if not text:
            raise InvalidPayloadError("A comment needs some text.", pointer="/text")
        async with self.db.transaction() as conn:
            record = await self._get(conn, failure_id, lock=True)
            now = self.clock.now()
            await rows.update(conn, record.id, now=now)
            await audit(
                conn, now=now, actor=actor, action="exception.comment", subject_type=SUBJECT,
                subject_id=str(record.id), correlation_id=correlation_id,
                detail={"text": text[:4000]},
            )  # fmt: skip
            trail = await audit_trail(conn, SUBJECT, str(record.id))
        return trail[-1]

    async def bulk(
        self,
        action: BulkAction,
        f: ExceptionFilter,
        *,
        actor: str,
        reason: str | None = None,
        correlation_id: str | None = None,
        limit: int = MAX_BULK,
    ) -> BulkResult:
        """Retry or discard every active record matching ``f`` (at most ``limit``)."""
        if action == "discard" and not (reason or "").strip():
            raise InvalidPayloadError("Say why the records are discarded.", pointer="/reason")
        active = msgspec.structs.replace(
            f, statuses=tuple(s for s in (f.statuses or rows.ACTIVE) if s in rows.ACTIVE)
        )
        done: list[int] = []
        skipped: dict[str, str] = {}
        async with self.db.transaction() as conn:
            ids = await rows.matching_ids(conn, active, limit=min(limit, MAX_BULK))
        for failure_id in ids:
            try:
                async with self.db.transaction() as conn:
                    record = await self._get(conn, failure_id, lock=True)
                    if action == "retry":
                        await self._retry(conn, record, actor=actor,
                                          correlation_id=correlation_id, reason=reason)  # fmt: skip
                    else:
                        await self._discard(conn, record, reason=reason or "", actor=actor,
                                            correlation_id=correlation_id)  # fmt: skip
                done.append(failure_id)
            except (ActionRefusedError, ExceptionNotFoundError) as exc:
                skipped[str(failure_id)] = exc.detail
        if ids:
            now = self.clock.now()
            async with self.db.transaction() as conn:
                await audit(
                    conn, now=now, actor=actor, action=f"exception.bulk_{action}",
                    subject_type="exception_bulk", subject_id=now.isoformat(),
                    correlation_id=correlation_id,
                    detail={"filter": msgspec.to_builtins(f), "done": done, "skipped": skipped,
                            **({"reason": reason} if reason else {})},
                )  # fmt: skip
        return BulkResult(matched=len(ids), done=done, skipped=skipped)
