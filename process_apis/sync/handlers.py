"""The exception queue's handlers for the sync's failures (``process_apis.exceptions``).

- ``salesforce_writeback``: a record the write-back could not write. Retry (or replay with
  edited values) puts the kept write up for the flow's next run.
- ``sync_run``: a run that failed as a whole; the schedule runs the flow again by itself.
- ``salesforce_intake``: a Salesforce Order the order service refused; fixing the Order in
  Salesforce and saving it again brings it back through the intake flow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.exceptions.errors import ActionRefusedError, InvalidPayloadError
from process_apis.exceptions.flows import FlowHandler, TimelineItem
from process_apis.sync.engine import RUN_FLOW, WRITEBACK_FLOW
from process_apis.sync.intake import INTAKE_FLOW
from process_apis.sync.model import SalesforceWrite
from store import FailureRecord
from store import sync as rows

__all__ = ["IntakeFlow", "SyncRunFlow", "WriteBackFlow", "sync_flow_handlers"]


class WriteBackFlow:
    flow = WRITEBACK_FLOW

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        try:
            write = msgspec.convert((payload or {}).get("write"), SalesforceWrite)
        except (msgspec.ValidationError, AttributeError) as exc:
            raise InvalidPayloadError(f"The write is not valid: {exc}") from None
        original = (record.payload or {}).get("write") or {}
        for name in ("sobject", "key_field", "key"):
            if original.get(name) is not None and getattr(write, name) != original.get(name):
                raise InvalidPayloadError(
                    f"{name} cannot change: it names the Salesforce record this write keeps "
                    "up to date.",
                    pointer=f"/write/{name}",
                )
        normalised: dict[str, Any] = {**record.payload, "write": msgspec.to_builtins(write)}
        return normalised

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        flow = str((record.payload or {}).get("flow", ""))
        pending = [
            p for p in await rows.pending_for(conn, flow or None)
            if p.sobject == record.subject_type and p.key[:80] == record.subject_id
        ]  # fmt: skip
        if not pending:
            raise ActionRefusedError(
                f"{record.subject_type} {record.subject_id} has no pending write: it was "
                "written since, or the flow no longer exists."
            )
        current = pending[0]
        write = payload.get("write") if payload else current.write
        await rows.keep_pending(
            conn,
            msgspec.structs.replace(
                current, write=write or current.write, next_attempt_at=now, updated_at=now
            ),
        )
        return f"queued for the next run of {current.flow}"

    async def timeline(self, conn: AsyncConnection, record: FailureRecord) -> list[TimelineItem]:
        flow = str((record.payload or {}).get("flow", ""))
        runs = await rows.list_runs(conn, flow=flow, limit=10) if flow else []
        return [
            TimelineItem(
                at=r.started_at,
                status=r.status,
                text=f"run {r.id}: {r.written} written, {r.failed} failed",
            )
            for r in runs
        ]


class SyncRunFlow:
    flow = RUN_FLOW

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        raise InvalidPayloadError("A failed run has no payload to edit: retry it instead.")

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        return f"{record.subject_id} runs again on its schedule (or POST /ops/v1/sync/{record.subject_id}/run)"

    async def timeline(self, conn: AsyncConnection, record: FailureRecord) -> list[TimelineItem]:
        runs = await rows.list_runs(conn, flow=record.subject_id, limit=10)
        return [TimelineItem(at=r.started_at, status=r.status, text=r.message or r.status)
                for r in runs]  # fmt: skip


class IntakeFlow:
    flow = INTAKE_FLOW

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        raise InvalidPayloadError(
            "Fix the Order in Salesforce and save it: the intake flow takes it again."
        )

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        raise ActionRefusedError(
            "The order service refused this Order; change it in Salesforce and save it to "
            "send it again."
        )

    async def timeline(self, conn: AsyncConnection, record: FailureRecord) -> list[TimelineItem]:
        return []


def sync_flow_handlers() -> dict[str, FlowHandler]:
    """Flow name → handler, for ``ExceptionQueue``/``ExceptionSweeper``'s ``flows``."""
    handlers: list[FlowHandler] = [WriteBackFlow(), SyncRunFlow(), IntakeFlow()]
    return {h.flow: h for h in handlers}
