"""``/ops/v1/sync`` and ``/ops/v1/reconcile``: the delta sync's flows, runs, conflicts and
pending writes, runs on demand, and the reconciler's drift reports (scope ``ops:admin``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter, QueryParameter

from app.problems import PROBLEM_JSON, Problem, ProblemError
from app.security import OPS_ADMIN, security_requirements
from app.services import Services
from process_apis.models import Entity
from process_apis.sync import (
    FlowBusyError,
    FlowNotFoundError,
    Reconciler,
    RunSummary,
    SyncEngine,
)
from store import sync as rows
from store.watermarks import get_watermark

__all__ = ["ReconcileController", "SyncController"]

_PROBLEMS = {
    400: "Malformed JSON, path or query",
    401: "Missing or invalid credential (see WWW-Authenticate)",
    403: "The credential lacks the scope ops:admin",
    404: "No such flow, conflict, report or entity",
    409: "The flow is running in another worker right now (Retry-After)",
    413: "Body larger than the configured maximum",
    415: "Body is not JSON",
    422: "Invalid input (with pointers)",
    429: "Rate limit for this client exhausted (Retry-After, RateLimit-* headers)",
    431: "Request headers too large",
    502: "The ERP or Salesforce answered badly",
    503: "Sync is not configured here (no Salesforce org or store), or a backend is unavailable",
    504: "The ERP or Salesforce did not answer in time",
}


def _problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_PROBLEMS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


_READ = _problems(400, 401, 403, 429, 431, 503)

FlowPath = Annotated[
    str,
    PathParameter(
        pattern=r"^[a-z_0-9]+\.[a-z_]+\.[A-Za-z0-9_\-]+$",
        max_length=80,
        description="system.kind.entity, e.g. sage_intacct.invoices.DE01",
    ),
]


class _Out(msgspec.Struct, kw_only=True, rename="camel"):
    pass


class FlowView(_Out, kw_only=True):
    name: str
    system: str
    kind: str
    entity: str
    watermark: str | None = None
    running_on: str | None = None
    """The worker holding the flow's lease, while a run is under way."""
    last_run_id: int | None = None
    last_status: str | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    pending: int = 0
    """Records of this flow whose write failed and is kept for a later run."""


class FlowList(_Out, kw_only=True):
    flows: list[FlowView]
    open_conflicts: int


class RunView(_Out, kw_only=True):
    id: int
    flow: str
    trigger: str
    owner: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    window_from: str | None = None
    window_to: str | None = None
    watermark_before: str | None = None
    watermark_after: str | None = None
    read: int
    written: int
    unchanged: int
    failed: int
    conflicts: int
    api_calls: int
    """Salesforce API calls the run made."""
    message: str | None = None


class RunList(_Out, kw_only=True):
    runs: list[RunView]


class ConflictView(_Out, kw_only=True):
    id: int
    flow: str
    sobject: str
    key: str
    salesforce_id: str | None = None
    field: str
    master: str
    outcome: str
    """``kept``: Salesforce's value stays; ``restored``: the master's value was written back."""
    salesforce_value: Any = None
    erp_value: Any = None
    status: str
    detected_at: datetime


class ConflictList(_Out, kw_only=True):
    conflicts: list[ConflictView]


class PendingView(_Out, kw_only=True):
    flow: str
    sobject: str
    key: str
    erp_document: str | None = None
    category: str
    message: str | None = None
    attempts: int
    failure_id: int | None = None
    next_attempt_at: datetime


class PendingList(_Out, kw_only=True):
    pending: list[PendingView]


class ReconcileRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    entity: Entity
    date_from: date
    date_to: date
    repair: bool = True
    """Push the ERP's values again where that is safe (else: report only)."""


class ReportSummary(_Out, kw_only=True):
    id: int
    entity: str
    erp: str
    date_from: date
    date_to: date
    created_at: datetime
    drift: int
    repaired: int
    summary: dict[str, dict[str, int]]


class ReportList(_Out, kw_only=True):
    reports: list[ReportSummary]


def _engine(services: Services) -> SyncEngine:
    if services.sync is None:
        raise ProblemError(
            503, "sync_not_configured", "Sync is not configured",
            "The delta sync needs the Salesforce org and the store (settings `salesforce`, "
            "`store`) and `sync.enabled`.",
        )  # fmt: skip
    return services.sync


def _run_view(r: rows.RunRecord) -> RunView:
    return RunView(**msgspec.structs.asdict(r))


class SyncController(Controller):
    path = "/ops/v1/sync"
    tags = ["ops"]
    security = security_requirements(OPS_ADMIN)

    @get("", summary="The sync flows: watermark, lease, last run, pending writes",
         operation_id="opsSyncFlows", responses=_READ)  # fmt: skip
    async def flows(self, services: NamedDependency[Services]) -> FlowList:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            states = await rows.flow_states(conn)
            pending = await rows.pending_for(conn)
            conflicts = await rows.list_conflicts(conn, status="open", limit=10_000)
            views = []
            for spec in engine.flows:
                state = states.get(spec.name)
                views.append(
                    FlowView(
                        name=spec.name,
                        system=spec.system,
                        kind=spec.kind,
                        entity=spec.entity,
                        watermark=await get_watermark(conn, spec.system, spec.kind, spec.entity),
                        running_on=state.lease_owner if state else None,
                        last_run_id=state.last_run_id if state else None,
                        last_status=state.last_status if state else None,
                        last_started_at=state.last_started_at if state else None,
                        last_finished_at=state.last_finished_at if state else None,
                        pending=sum(1 for p in pending if p.flow == spec.name),
                    )
                )
        return FlowList(flows=views, open_conflicts=len(conflicts))

    @post("/{flow:str}/run", status_code=200, operation_id="opsSyncRun",
          summary="Run a flow now (409 while another worker runs it)",
          responses=_problems(400, 401, 403, 404, 409, 429, 431, 502, 503, 504))  # fmt: skip
    async def run(self, services: NamedDependency[Services], flow: FlowPath) -> RunView:
        engine = _engine(services)
        try:
            summary: RunSummary = await engine.run(flow, trigger="manual")
        except FlowNotFoundError as exc:
            raise ProblemError(404, "flow_not_found", "No such flow", str(exc)) from None
        except FlowBusyError as exc:
            raise ProblemError(409, "flow_running", "The flow is running", str(exc),
                               headers={"retry-after": "5"}) from None  # fmt: skip
        async with engine.db.transaction() as conn:
            record = await rows.get_run(conn, summary.run_id)
        assert record is not None
        return _run_view(record)

    @get("/runs", summary="Recent runs, newest first", operation_id="opsSyncRuns", responses=_READ)
    async def runs(
        self,
        services: NamedDependency[Services],
        flow: Annotated[str | None, QueryParameter(max_length=80, required=False)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> RunList:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            found = await rows.list_runs(conn, flow=flow, limit=limit)
        return RunList(runs=[_run_view(r) for r in found])

    @get("/conflicts", operation_id="opsSyncConflicts",
         summary="Field ownership conflicts: kept Salesforce edits and restored ERP values",
         responses=_READ)  # fmt: skip
    async def conflicts(
        self,
        services: NamedDependency[Services],
        status: Annotated[
            str | None, QueryParameter(pattern="^(open|acknowledged|all)$", required=False)
        ] = "open",
        sobject: Annotated[str | None, QueryParameter(max_length=40, required=False)] = None,
        key: Annotated[str | None, QueryParameter(max_length=120, required=False)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> ConflictList:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            found = await rows.list_conflicts(
                conn, status=status if status != "all" else None, sobject=sobject, key=key,
                limit=limit,
            )  # fmt: skip
        return ConflictList(
            conflicts=[
                ConflictView(
                    **{
                        k: v
                        for k, v in msgspec.structs.asdict(c).items()
                        if k in ConflictView.__struct_fields__
                    }
                )
                for c in found
            ]
        )

    @post("/conflicts/{conflict_id:int}/acknowledge", status_code=204,
          operation_id="opsSyncAcknowledgeConflict", summary="Mark a conflict as seen",
          responses=_problems(400, 401, 403, 404, 429, 431, 503))  # fmt: skip
    async def acknowledge(
        self, services: NamedDependency[Services], conflict_id: Annotated[int, PathParameter(ge=1)]
    ) -> None:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            if not await rows.acknowledge_conflict(conn, conflict_id):
                raise ProblemError(404, "not_found", "Not found", f"No conflict {conflict_id}.")

    @get("/pending", operation_id="opsSyncPending",
         summary="Records whose write failed, kept until a run (or a person) gets them written",
         responses=_READ)  # fmt: skip
    async def pending(
        self,
        services: NamedDependency[Services],
        flow: Annotated[str | None, QueryParameter(max_length=80, required=False)] = None,
    ) -> PendingList:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            found = await rows.pending_for(conn, flow)
        return PendingList(
            pending=[
                PendingView(
                    **{
                        k: v
                        for k, v in msgspec.structs.asdict(p).items()
                        if k in PendingView.__struct_fields__
                    }
                )
                for p in found
            ]
        )


class ReconcileController(Controller):
    path = "/ops/v1/reconcile"
    tags = ["ops"]
    security = security_requirements(OPS_ADMIN)

    @post("", status_code=200, operation_id="opsReconcile",
          summary="Reconcile an entity's orders, invoices and payments for a date range",
          responses=_problems(400, 401, 403, 404, 413, 415, 422, 429, 431, 502, 503, 504))  # fmt: skip
    async def reconcile(
        self, services: NamedDependency[Services], data: Annotated[ReconcileRequest, Body()]
    ) -> dict[str, Any]:
        engine = _engine(services)
        if data.date_to < data.date_from:
            raise ProblemError(422, "validation_error", "Request failed validation",
                               "dateTo lies before dateFrom.")  # fmt: skip
        if data.entity not in {f.entity for f in engine.flows}:
            raise ProblemError(404, "unknown_entity", "Unknown entity",
                               f"No sync flows for entity {data.entity}.")  # fmt: skip
        report = await Reconciler(engine).run(
            data.entity, data.date_from, data.date_to, repair=data.repair
        )
        result: dict[str, Any] = msgspec.to_builtins(report)
        return result

    @get("/reports", summary="Drift report summaries, newest first",
         operation_id="opsReconcileReports", responses=_READ)  # fmt: skip
    async def reports(
        self,
        services: NamedDependency[Services],
        entity: Annotated[str | None, QueryParameter(max_length=20, required=False)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
    ) -> ReportList:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            found = await rows.list_reports(conn, entity=entity, limit=limit)
        return ReportList(
            reports=[
                ReportSummary(
                    id=r.id,
                    entity=r.entity,
                    erp=r.erp,
                    date_from=r.date_from,
                    date_to=r.date_to,
                    created_at=r.created_at,
                    drift=r.drift,
                    repaired=r.repaired,
                    summary=r.summary,
                )
                for r in found
            ]
        )

    @get("/reports/{report_id:int}", summary="One drift report in full",
         operation_id="opsReconcileReport",
         responses=_problems(400, 401, 403, 404, 429, 431, 503))  # fmt: skip
    async def report(
        self, services: NamedDependency[Services], report_id: Annotated[int, PathParameter(ge=1)]
    ) -> dict[str, Any]:
        engine = _engine(services)
        async with engine.db.transaction() as conn:
            found = await rows.get_report(conn, report_id)
        if found is None:
            raise ProblemError(404, "not_found", "Not found", f"No report {report_id}.")
        return found.report
