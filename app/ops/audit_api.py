"""``/ops/v1/audit``: read and export the audit log (scope ``exceptions:view``).

There is deliberately no route that changes or removes an entry: the log is append-only
(the database refuses updates) and shrinks only by the retention setting
(``[exceptions] audit_retention_days``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from app.ops.exception_models import AuditPage, audit_view, ops_problems
from app.ops.exceptions_api import queue_of
from app.security import EXCEPTIONS_VIEW, requires, security_requirements
from app.services import Services
from process_apis.errors import InvalidInputError
from store import AuditEntry, Database
from store.audit_log import AuditQuery, entries, stream

__all__ = ["AuditController", "audit_csv_rows", "audit_jsonl", "export_stream"]

_CSV_COLUMNS = ("id", "at", "actor", "action", "subject_type", "subject_id", "correlation_id",
                "detail", "before", "after")  # fmt: skip


def _query(**kw: object) -> AuditQuery:
    return AuditQuery(**{k: v for k, v in kw.items() if v is not None})  # type: ignore[arg-type]


def audit_jsonl(entry: AuditEntry) -> bytes:
    return msgspec.json.encode(audit_view(entry)) + b"\n"


def _json(value: object) -> str:
    return "" if value is None else msgspec.json.encode(value).decode()


def audit_csv_rows(entry: AuditEntry) -> list[str]:
    return [
        str(entry.id), entry.at.isoformat(), entry.actor, entry.action, entry.subject_type,
        entry.subject_id, entry.correlation_id or "", _json(entry.detail), _json(entry.before),
        _json(entry.after),
    ]  # fmt: skip


async def export_stream(db: Database, q: AuditQuery, fmt: str) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if fmt == "csv":
        writer.writerow(_CSV_COLUMNS)
    async with db.transaction() as conn:
        async for entry in stream(conn, q):
            if fmt == "jsonl":
                yield audit_jsonl(entry)
                continue
            writer.writerow(audit_csv_rows(entry))
            if buffer.tell() > 64_000:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    if fmt == "csv":
        yield buffer.getvalue().encode()


Since = Annotated[
    str | None,
    QueryParameter(format="date-time", max_length=40, description="from this instant (inclusive)"),
]
Until = Annotated[
    str | None, QueryParameter(format="date-time", max_length=40, description="before this instant")
]


def _instant(value: str | None, name: str) -> datetime | None:
    """An RFC 3339 instant (``Z`` or an offset; none given: UTC), else 422 naming the parameter."""
    if value is None:
        return None
    try:
        parsed = msgspec.json.decode(msgspec.json.encode(value), type=datetime)
    except msgspec.ValidationError:
        raise InvalidInputError(
            f"{name} must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z.",
            pointer=f"query:{name}",
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


Text = Annotated[str | None, QueryParameter(max_length=128)]
SubjectType = Annotated[str | None, QueryParameter(name="subjectType", max_length=40)]
SubjectId = Annotated[str | None, QueryParameter(name="subjectId", max_length=80)]


class AuditController(Controller):
    path = "/ops/v1/audit"
    tags = ["ops: audit"]

    @get(
        "/",
        summary="Audit entries, newest first (page back with beforeId)",
        operation_id="opsListAudit",
        opt=requires(EXCEPTIONS_VIEW),
        security=security_requirements(EXCEPTIONS_VIEW),
        responses=ops_problems(400, 401, 403, 422, 429, 431, 503),
    )
    async def list_audit(  # noqa: PLR0917 - one parameter per filter
        self,
        services: NamedDependency[Services],
        since: Since = None,
        until: Until = None,
        subject_type: Annotated[
            str | None, QueryParameter(name="subjectType", max_length=40)
        ] = None,
        subject_id: Annotated[str | None, QueryParameter(name="subjectId", max_length=80)] = None,
        actor: Text = None,
        action: Text = None,
        correlation_id: Annotated[
            str | None, QueryParameter(name="correlationId", max_length=128)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        before_id: Annotated[int | None, QueryParameter(name="beforeId", ge=1)] = None,
    ) -> AuditPage:
        db = queue_of(services).db
        q = _query(since=_instant(since, "since"), until=_instant(until, "until"),
                   subject_type=subject_type, subject_id=subject_id,
                   actor=actor, action=action, correlation_id=correlation_id)  # fmt: skip
        async with db.transaction() as conn:
            found = await entries(conn, q, limit=limit, before_id=before_id)
        return AuditPage(
            items=[audit_view(e) for e in found],
            next_before_id=found[-1].id if len(found) == limit else None,
        )

    @get(
        "/export.jsonl",
        summary="Export the audit log as JSON lines (oldest first, streamed)",
        operation_id="opsExportAuditJsonLines",
        opt=requires(EXCEPTIONS_VIEW),
        security=security_requirements(EXCEPTIONS_VIEW),
        media_type="application/x-ndjson",
        responses=ops_problems(400, 401, 403, 422, 429, 431, 503),
    )
    async def export_jsonl(  # noqa: PLR0917 - one parameter per filter
        self,
        services: NamedDependency[Services],
        since: Since = None,
        until: Until = None,
        subject_type: SubjectType = None,
        subject_id: SubjectId = None,
        actor: Text = None,
        action: Text = None,
    ) -> Stream:
        q = _query(since=_instant(since, "since"), until=_instant(until, "until"),
                   subject_type=subject_type, subject_id=subject_id,
                   actor=actor, action=action)  # fmt: skip
        return _download(queue_of(services).db, q, "jsonl")

    @get(
        "/export.csv",
        summary="Export the audit log as CSV (oldest first, streamed)",
        operation_id="opsExportAuditCsv",
        opt=requires(EXCEPTIONS_VIEW),
        security=security_requirements(EXCEPTIONS_VIEW),
        media_type="text/csv; charset=utf-8",
        responses=ops_problems(400, 401, 403, 422, 429, 431, 503),
    )
    async def export_csv(  # noqa: PLR0917 - one parameter per filter
        self,
        services: NamedDependency[Services],
        since: Since = None,
        until: Until = None,
        subject_type: SubjectType = None,
        subject_id: SubjectId = None,
        actor: Text = None,
        action: Text = None,
    ) -> Stream:
        q = _query(since=_instant(since, "since"), until=_instant(until, "until"),
                   subject_type=subject_type, subject_id=subject_id,
                   actor=actor, action=action)  # fmt: skip
        return _download(queue_of(services).db, q, "csv")


def _download(db: Database, q: AuditQuery, fmt: str) -> Stream:
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return Stream(
        export_stream(db, q, fmt),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="isthmus-audit.{fmt}"'},
    )
