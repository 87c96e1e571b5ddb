"""ATP (available-to-promise): per line, what each warehouse has now, the earliest date the full
quantity can be promised, and how much is available by the requested date.

Reads the ERP's availability records (on hand, allocated, available now, future receipts per
warehouse); quantities are answered in the line's unit. A line's status is ``available`` (the
full quantity by the requested date), ``partial`` (some of it), ``backorder`` (none of it),
or ``unavailable`` / ``error`` with a reason (``ITEM_NOT_FOUND``, ``WAREHOUSE_NOT_FOUND``,
``DEADLINE_EXCEEDED``, …). Partner portals see these as bands (``app/experience/portal``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Literal, NamedTuple

from process_apis import fanout
from process_apis.models import (
    AtpLineResult,
    AtpRequest,
    AtpResult,
    Provenance,
    WarehouseAvailability,
)
from system_apis.resilience import Deadline

__all__ = [
    "Atp",
    "AvailabilityStatus",
    "Promise",
    "fetch_availability",
    "prefetch_availability",
    "promise",
]

AvailabilityStatus = Literal["available", "partial", "backorder"]

_UNIT_PLACES = Decimal("0.0001")


class Atp(fanout.Capability[AtpRequest, AtpResult], name="atp"):
    async def __call__(
        self, request: AtpRequest, deadline: Deadline, correlation_id: str | None = None
    ) -> AtpResult:
        setup = self.setup
        routed = setup.router.resolve(request.entity)
        lookups = fanout.Lookups.open(routed, deadline, correlation_id, hints=setup.hints)
        today = setup.today()
        lines = fanout.new_lines(
            setup,
            routed,
            request.lines,
            requested_date=lambda line: line.requested_date or today,
            warehouse=lambda line: line.warehouse,
        )

        for line in lines:
            prefetch_availability(line, lookups)

        async def check(line: fanout.LineWork) -> None:
            await fetch_availability(line, lookups)

        finished = await fanout.run_lines(deadline, lookups, lines, check)
        for line in lines:
            line.mark_unfinished("item", *(["availability"] if line.base else []))
        answered = sum(1 for line in lines if line.availability is not None)
        return AtpResult(
            entity=request.entity,
            erp=routed.route.erp,
            lines=[_line_result(line, today) for line in lines],
            provenance=fanout.provenance_of(
                [row for line in lines for row in (line.availability or ())],
                expected=answered or len(lines),
                failure=None if finished else fanout.DEADLINE_EXCEEDED,
            ),
        )

    def sections(self, result: AtpResult) -> Iterable[Provenance]:
        return (result.provenance,)


def prefetch_availability(line: fanout.LineWork, lookups: fanout.Lookups) -> None:
    """Start the line's availability read together with its item read (it needs only the
    item id) when an earlier request saw the item active, so that it costs no round of calls
    of its own; ``fetch_availability`` uses it."""
    if lookups.base_unit(line.item_id) is not None:
        lookups.availability(line.item_id, (line.warehouse,) if line.warehouse else ())


async def fetch_availability(line: fanout.LineWork, lookups: fanout.Lookups) -> None:
    """The ERP's availability of a resolved line's item (in the line's warehouse, if it names one)."""
    assert line.item is not None
    warehouses = (line.warehouse,) if line.warehouse else ()
    if line.item.item_id != line.item_id:
        lookups.discard(("availability", line.item_id, warehouses))
    try:
        rows = await lookups.availability(line.item.item_id, warehouses)
    except Exception as exc:
        line.failures["availability"] = fanout.failure_from(exc, "ITEM_NOT_FOUND")
        return
    if warehouses and not rows:
        line.failures["availability"] = fanout.Failure(
            "WAREHOUSE_NOT_FOUND",
            f"Warehouse {line.warehouse} holds no stock record for {line.item.item_id}.",
        )
        return
    line.availability = rows


class Promise(NamedTuple):
    status: AvailabilityStatus
    date: date | None
    """Earliest date one warehouse can ship the full quantity."""
    warehouse: str | None
    by_requested_date: Decimal
    """Best single warehouse's quantity by the requested date, in the line's unit."""


def promise(line: fanout.LineWork, today: date) -> Promise:
    """What can be promised for a line whose availability came back."""
    assert line.base is not None
    assert line.availability is not None
    best_date: date | None = None
    best_wh: str | None = None
    best_by_requested = Decimal(0)
    for row in line.availability:
        promised = row.earliest_date_for(line.base.quantity, today)
        if promised is not None and (best_date is None or promised < best_date):
            best_date, best_wh = promised, row.warehouse_id
        by_requested = row.available_now + sum(
            (r.quantity for r in row.receipts if r.date <= line.requested_date), Decimal(0)
        )
        best_by_requested = max(best_by_requested, by_requested)
    in_uom = (
        (min(best_by_requested, line.base.quantity) / line.base.factor)
        .quantize(_UNIT_PLACES)
        .normalize()
    )
    status: AvailabilityStatus
    if best_date is not None and best_date <= max(line.requested_date, today):
        status = "available"
    elif best_by_requested > 0:
        status = "partial"
    else:
        status = "backorder"
    return Promise(status, best_date, best_wh, in_uom)


def _warehouses(line: fanout.LineWork, today: date) -> list[WarehouseAvailability]:
    assert line.base is not None
    assert line.availability is not None
    factor = line.base.factor
    return [
        WarehouseAvailability(
            warehouse=row.warehouse_id,
            available_now=(row.available_now / factor).quantize(_UNIT_PLACES).normalize(),
            on_hand=(row.on_hand / factor).quantize(_UNIT_PLACES).normalize(),
            promise_date=row.earliest_date_for(line.base.quantity, today),
        )
        for row in line.availability
    ]


_NO_DATA = fanout.Failure("NO_DATA", "No availability was returned.")


def _line_result(line: fanout.LineWork, today: date) -> AtpLineResult:
    failure = line.missing("availability", _NO_DATA)
    if failure is not None:
        return AtpLineResult(
            **line.echo(),
            requested_date=line.requested_date,
            status=fanout.line_status(failure),
            reason=failure.code,
            message=failure.message,
        )
    promised = promise(line, today)
    return AtpLineResult(
        **line.echo(),
        requested_date=line.requested_date,
        status=promised.status,
        reason="INSUFFICIENT_STOCK" if promised.status != "available" else None,
        available_by_requested_date=promised.by_requested_date,
        promise_date=promised.date,
        promise_warehouse=promised.warehouse,
        warehouses=_warehouses(line, today),
    )
