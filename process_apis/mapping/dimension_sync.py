"""``{erp}.dimensions.{entity}``: the ERP's dimension values into the store's reference data.

Everything the ERP lists (Intacct departments, locations, classes, projects; M3 accounting
identities of the mapped dimensions) replaces the entity's rows; values it no longer lists
stay as ``gone``. The process's reference cache is refreshed after a change, so order lines
are checked against the new values at once (other processes within their refresh time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from process_apis.mapping.dimensions import DIMENSION_KINDS
from process_apis.sync.model import FlowSpec
from store import reference
from system_apis.master_data import MasterData

if TYPE_CHECKING:
    from process_apis.sync.engine import RunSummary, SyncEngine

__all__ = ["DimensionsRunner"]


class DimensionsRunner:
    kind = "dimensions"

    def __init__(
        self,
        master_data: Mapping[str, MasterData],
        *,
        on_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.master_data = dict(master_data)
        self.on_change = on_change

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        md = self.master_data.get(spec.system)
        if md is None:
            return
        values = await md.dimensions(engine.context(spec, summary.run_id))
        summary.read = len(values)
        now = engine.clock.now()
        summary.window = ("", now.isoformat())
        changed = 0
        async with engine.db.transaction() as conn:
            for kind in DIMENSION_KINDS:
                rows = [
                    reference.DimensionRow(
                        entity=spec.entity,
                        kind=kind,
                        code=v.code,
                        erp=spec.system,
                        name=v.name[:200],
                        status=v.status,
                        parent=v.parent,
                    )
                    for v in values
                    if v.kind == kind
                ]
                report = await reference.replace_dimensions(
                    conn, entity=spec.entity, kind=kind, erp=spec.system, rows=rows, now=now
                )
                changed += report.added + report.changed + report.gone
                summary.unchanged += report.unchanged
        summary.written = changed
        await engine._advance(spec, summary, now)
        if changed and self.on_change is not None:
            await self.on_change()
