"""Payloads of ``/ops/v1/exceptions`` and ``/ops/v1/audit`` (camelCase, strict in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from app.problems import PROBLEM_JSON, Problem
from process_apis.exceptions import Detail, ExceptionFilter, Redactor
from store import AuditEntry, FailureRecord

__all__ = [
    "AssignRequest",
    "AuditEntryView",
    "AuditPage",
    "BulkRequest",
    "BulkResultView",
    "CommentRequest",
    "DiscardRequest",
    "ExceptionDetailView",
    "ExceptionPage",
    "ExceptionView",
    "FilterBody",
    "ReplayRequest",
    "RetryRequest",
    "TagRequest",
    "TimelineView",
    "audit_view",
    "detail_view",
    "exception_view",
    "ops_problems",
]

Status = Literal["open", "retrying", "resolved", "discarded", "ignored"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Tag = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,39}$")]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    pass


class _Out(msgspec.Struct, kw_only=True, rename="camel"):
    pass


class FilterBody(_In, kw_only=True):
    """Which records: every given field narrows the selection."""

    flow: list[Name] = []
    category: list[Name] = []
    status: list[Status] = []
    system: Name | None = None
    salesforce_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{15,18}$")] | None = None
    erp_document: Name | None = None
    subject_id: Name | None = None
    assignee: Name | None = None
    unassigned: bool = False
    tag: Tag | None = None
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    """Text: the vendor's code or message, ids, or the payload."""
    older_than_minutes: Annotated[int, msgspec.Meta(ge=0, le=5_256_000)] | None = None
    newer_than_minutes: Annotated[int, msgspec.Meta(ge=0, le=5_256_000)] | None = None
    ids: Annotated[list[Annotated[int, msgspec.Meta(ge=1)]], msgspec.Meta(max_length=1000)] = []

    def to_filter(self, now: datetime | None = None) -> ExceptionFilter:
        now = now or datetime.now(UTC)
        return ExceptionFilter(
            flows=tuple(self.flow),
            categories=tuple(self.category),
            statuses=tuple(self.status),
            system=self.system,
            salesforce_id=self.salesforce_id,
            erp_document=self.erp_document,
            subject_id=self.subject_id,
            assignee=self.assignee,
            unassigned=self.unassigned,
            tag=self.tag,
            text=self.q,
            created_before=None
            if self.older_than_minutes is None
            else now - timedelta(minutes=self.older_than_minutes),
            created_after=None
            if self.newer_than_minutes is None
            else now - timedelta(minutes=self.newer_than_minutes),
            ids=tuple(self.ids),
        )


class RetryRequest(_In, kw_only=True):
    reason: Reason | None = None


class ReplayRequest(_In, kw_only=True):
    payload: dict[str, Any]
    """The payload to send instead (fields shown masked may stay masked: they keep their value)."""
    reason: Reason | None = None


class DiscardRequest(_In, kw_only=True):
    reason: Reason


class AssignRequest(_In, kw_only=True):
    assignee: Name | None
    """Who works the record; null to unassign."""


class TagRequest(_In, kw_only=True):
    add: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    remove: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []


class CommentRequest(_In, kw_only=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class BulkRequest(_In, kw_only=True):
    filter: FilterBody
    reason: Reason | None = None
    """Required to discard."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1000


class VendorMessage(_Out, kw_only=True):
    code: str | None
    text: str | None
    field: str | None


class ExceptionView(_Out, kw_only=True):
    id: int
    flow: str
    status: Status
    category: str
    """The error class: connection, timeout, rate_limit, lock (retried automatically) or a
    refusal (value, missing_reference, duplicate, credit, …) that needs a person."""
    subject_type: str
    subject_id: str
    entity: str | None
    source_system: str
    """The system that refused or failed."""
    target: str | None
    salesforce_id: str | None
    erp_document: str | None
    vendor: VendorMessage
    payload: Any
    """As sent; sensitive fields masked."""
    attempts: int
    occurrences: int
    """How many times this same error was seen for this record."""
    auto_retries: int
    next_retry_at: datetime | None
    paused: bool
    assignee: str | None
    tags: list[str]
    resolution: str | None
    correlation_id: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    updated_at: datetime


class AuditEntryView(_Out, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any] | None
    before: Any
    after: Any
    correlation_id: str | None


class TimelineView(_Out, kw_only=True):
    at: datetime
    status: str
    text: str


class ExceptionDetailView(ExceptionView, kw_only=True):
    audit: list[AuditEntryView]
    comments: list[AuditEntryView]
    timeline: list[TimelineView]
    subject_audit: list[AuditEntryView]
    replayable: bool


class ExceptionPage(_Out, kw_only=True):
    items: list[ExceptionView]
    total: int
    limit: int
    offset: int


class BulkResultView(_Out, kw_only=True):
    matched: int
    done: list[int]
    skipped: dict[str, str]


class AuditPage(_Out, kw_only=True):
    items: list[AuditEntryView]
    next_before_id: int | None


def exception_view(record: FailureRecord, redactor: Redactor) -> ExceptionView:
    return ExceptionView(**_fields(record, redactor))


def _fields(r: FailureRecord, redactor: Redactor) -> dict[str, Any]:
    return {
        "id": r.id, "flow": r.flow, "status": r.status, "category": r.category,
        "subject_type": r.subject_type, "subject_id": r.subject_id, "entity": r.entity,
        "source_system": r.system, "target": r.target, "salesforce_id": r.salesforce_id,
        "erp_document": r.erp_document,
        "vendor": VendorMessage(code=r.vendor_code, text=r.vendor_message, field=r.vendor_field),
        "payload": redactor.redact(r.payload), "attempts": r.attempts,
        "occurrences": r.occurrences, "auto_retries": r.auto_retries,
        "next_retry_at": r.next_retry_at, "paused": r.paused, "assignee": r.assignee,
        "tags": list(r.tags), "resolution": r.resolution, "correlation_id": r.correlation_id,
        "first_seen": r.created_at, "last_seen": r.last_seen_at or r.updated_at,
        "resolved_at": r.resolved_at, "updated_at": r.updated_at,
    }  # fmt: skip


def audit_view(e: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        id=e.id, at=e.at, actor=e.actor, action=e.action, subject_type=e.subject_type,
        subject_id=e.subject_id, detail=e.detail, before=e.before, after=e.after,
        correlation_id=e.correlation_id,
    )  # fmt: skip


def detail_view(d: Detail, redactor: Redactor) -> ExceptionDetailView:
    return ExceptionDetailView(
        **_fields(d.record, redactor),
        audit=[audit_view(e) for e in d.audit],
        comments=[audit_view(e) for e in d.audit if e.action == "exception.comment"],
        timeline=[TimelineView(at=t.at, status=t.status, text=t.text) for t in d.timeline],
        subject_audit=[audit_view(e) for e in d.subject_audit],
        replayable=d.replayable,
    )


_PROBLEMS = {
    400: "Malformed JSON or query",
    401: "Missing or invalid credential (see WWW-Authenticate)",
    403: "The credential lacks the scope (exceptions:view to read, exceptions:act to act)",
    404: "No such exception record",
    409: "The record's state does not allow the action (e.g. it is already resolved)",
    413: "Body larger than the configured maximum",
    415: "Body is not JSON",
    422: "Invalid input, or an edited payload the flow cannot send (with pointers)",
    429: "Rate limit for this client exhausted (Retry-After, RateLimit-* headers)",
    431: "Request headers too large",
    503: "This gateway runs without the durable store",
}


def ops_problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Documented problem+json answers of the ops API."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_PROBLEMS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }
