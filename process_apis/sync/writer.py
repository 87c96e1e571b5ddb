"""Writing a batch to Salesforce: skip what is already there, apply field ownership, send in
sObject collections, and say per record what happened.

For each write of a batch:

1. unchanged — the proposal equals what Isthmus last wrote for that record (the store's
   ``sync_records``): nothing is sent. Replaying a window therefore costs no API call;
2. ownership — when the table makes the target's current value matter (Salesforce- or
   first-writer-mastered fields, ``keep`` rules), those fields are read first, one SOQL query
   per object and batch, and ``OwnershipTable.plan`` decides what is written and which
   conflicts to record;
3. send — updates by ``Id`` (``PATCH composite/sobjects``) or upserts by external id
   (``PATCH composite/sobjects/{object}/{field}``), 200 records a call, one object at a time;
4. results — per record: written (with the Salesforce id), or a failure classified from
   Salesforce's ``statusCode`` (``failures.py``).

A call that fails as a whole (connection, timeout, the org's API budget) stops the batch: what
was written before it is reported, the rest is reported as not attempted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from process_apis.sync.failures import RecordFailure, classify_record
from process_apis.sync.model import SalesforceWrite
from process_apis.sync.ownership import FieldConflict, OwnershipTable, normalize
from system_apis.contract import CallContext
from system_apis.crm import CrmBackend, SaveResult
from system_apis.errors import BackendError

__all__ = ["BATCH", "BatchResult", "Planned", "SalesforceWriter", "soql_in"]

log = logging.getLogger("isthmus.sync")

BATCH = 200
"""sObject collections take at most 200 records per call."""
_READ_CHUNK = 200


@dataclass(frozen=True)
class Planned:
    write: SalesforceWrite
    values: dict[str, Any]
    """What is sent (ownership applied), stamps and key included."""
    conflicts: tuple[FieldConflict, ...]


@dataclass
class BatchResult:
    written: list[tuple[Planned, str | None]] = field(default_factory=list)
    """Each written record with its Salesforce id."""
    unchanged: list[SalesforceWrite] = field(default_factory=list)
    conflicts_only: list[Planned] = field(default_factory=list)
    """Records where ownership left nothing to write, but conflicts to record."""
    failed: list[RecordFailure] = field(default_factory=list)
    not_attempted: list[SalesforceWrite] = field(default_factory=list)
    events: int = 0
    api_calls: int = 0
    error: BackendError | None = None
    """A failure of a whole call: the batch stopped there."""


def soql_in(field_name: str, values: Sequence[str]) -> str:
    quoted = ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return f"{field_name} IN ({quoted})"


def proposal_unchanged(write: SalesforceWrite, shadow: dict[str, Any] | None) -> bool:
    if not shadow or write.current:
        return False
    return bool(normalize(write.values) == normalize(shadow.get("proposed")))


class SalesforceWriter:
    def __init__(
        self,
        crm: CrmBackend,
        ownership: OwnershipTable,
        *,
        context: Callable[[], CallContext],
    ) -> None:
        self.crm = crm
        self.ownership = ownership
        self.context = context

    async def write(
        self,
        writes: Sequence[SalesforceWrite],
        shadows: dict[tuple[str, str], dict[str, Any]],
    ) -> BatchResult:
        """Write a batch; ``shadows`` holds what was last written per (object, key)."""
        result = BatchResult()
        pending: list[SalesforceWrite] = []
        for w in writes:
            if proposal_unchanged(w, shadows.get((w.sobject, w.key))):
                result.unchanged.append(w)
            else:
                pending.append(w)
        by_object: dict[str, list[SalesforceWrite]] = {}
        for w in pending:
            by_object.setdefault(w.sobject, []).append(w)
        groups = list(by_object.items())
        for index, (sobject, group) in enumerate(groups):
            try:
                planned = await self._plan(sobject, group, shadows, result)
                await self._send(sobject, planned, result)
            except BackendError as exc:
                result.error = exc
                done = {id(p.write) for p, _ in result.written} | {
                    id(f.write) for f in result.failed
                } | {id(p.write) for p in result.conflicts_only}  # fmt: skip
                result.not_attempted.extend(w for w in group if id(w) not in done)
                for _, rest in groups[index + 1 :]:
                    result.not_attempted.extend(rest)
                return result
        return result

    async def _plan(
        self,
        sobject: str,
        group: list[SalesforceWrite],
        shadows: dict[tuple[str, str], dict[str, Any]],
        result: BatchResult,
    ) -> list[Planned]:
        fields = set().union(*(w.values.keys() for w in group))
        wanted = self.ownership.needs_target_values(sobject, fields, target="salesforce")
        current: dict[str, dict[str, Any]] | None = None
        if wanted:
            # Read anyway: read every proposed field, so an edit of an ERP-mastered field is
            # seen (and recorded as restored) too.
            names = wanted | {self.ownership.field_name(f) for f in fields}
            keys = [w.key for w in group]
            current = await self._read(sobject, group[0].key_field, keys, names, result)
        planned = []
        for w in group:
            shadow = shadows.get((w.sobject, w.key)) or {}
            plan = self.ownership.plan(
                sobject, w.values, target="salesforce",
                current=None if current is None else current.get(w.key, {}),
                last_written=shadow.get("written") if shadow else None,
            )  # fmt: skip
            values = {**plan.values}
            if not values and plan.conflicts:
                result.conflicts_only.append(Planned(w, {}, plan.conflicts))
                continue
            values.update(w.stamps)
            values[w.key_field] = w.key
            planned.append(Planned(w, values, plan.conflicts))
        return planned

    async def _read(
        self,
        sobject: str,
        key_field: str,
        keys: list[str],
        fields: set[str],
        result: BatchResult,
    ) -> dict[str, dict[str, Any]]:
        names = sorted(fields | {"Id", key_field})
        found: dict[str, dict[str, Any]] = {}
        ctx = self.context()
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            soql = f"SELECT {', '.join(names)} FROM {sobject} WHERE {soql_in(key_field, chunk)}"  # noqa: S608 - values quoted
            result.api_calls += 1
            async for row in self.crm.query(ctx, soql):
                found[str(row.get(key_field))] = row
        return found

    async def _send(self, sobject: str, planned: list[Planned], result: BatchResult) -> None:
        if not planned:
            return
        ctx = self.context()
        key_field = planned[0].write.key_field
        records = [p.values for p in planned]
        result.api_calls += math.ceil(len(records) / BATCH)
        saved: Sequence[SaveResult]
        if key_field == "Id":
            saved = await self.crm.update(ctx, sobject, records)
        else:
            saved = await self.crm.upsert(ctx, sobject, key_field, records)
        events = []
        for p, outcome in zip(planned, saved, strict=True):
            if outcome.success:
                result.written.append((p, outcome.id))
                if p.write.event is not None:
                    events.append(p.write.event)
            else:
                result.failed.append(classify_record(p.write, outcome))
        if events:
            result.api_calls += math.ceil(len(events) / BATCH)
            try:  # live updates are a courtesy: the records are written either way
                published = await self.crm.create(ctx, "ERP_Status_Event__e", events)
            except BackendError as exc:
                log.warning("status events not published: %s", exc)
                return
            result.events += sum(1 for e in published if e.success)
