"""The reconciler: what the ERP holds against what Salesforce shows, for an entity and dates.

For orders, invoices and payments of one entity whose date (order accepted, invoice date,
payment date) lies in ``[date_from, date_to]`` it reads both sides — the ERP through its change
feed (every document modified since ``date_from``, so everything created in the range), the
order store, and Salesforce by SOQL — and reports drift:

- ``missing_in_erp`` — Salesforce (or the order store) names an ERP document the ERP does not
  have: reported, never repaired (nothing is created in an ERP behind people's backs);
- ``ack_missing`` — the ERP booked an order whose Salesforce Order does not show it;
- ``missing_in_salesforce`` — an ERP invoice or payment Salesforce has no record of;
- ``status_differs`` / ``amount_differs`` — a field the ERP masters differs.

The last three are safe to repair: the ERP's values are pushed again through the write-back
(the same mapping and field ownership, so Salesforce-mastered fields stay untouched). The
report is returned as JSON, stored (its summary is in ops) and, from the CLI, written to a file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import msgspec

from process_apis.sync.engine import SyncEngine
from process_apis.sync.model import FlowSpec, SalesforceWrite
from process_apis.sync.ownership import normalize
from process_apis.sync.writeback import Links, WriteBack
from process_apis.sync.writer import SalesforceWriter, soql_in
from store import sync as rows
from system_apis.changes import ChangeWindow, InvoiceChange, OrderChange, PaymentChange
from system_apis.contract import CallContext
from system_apis.errors import NotFoundError

__all__ = ["Drift", "ReconcileReport", "Reconciler"]

_ORDER_COMPARE = ("ERP_Order_Number__c", "ERP_Status__c", "ERP_Phase__c")
_INVOICE_COMPARE = ("Total_Amount__c", "Amount_Due__c", "Status__c", "Order__c", "Account__c")
_PAYMENT_COMPARE = ("Amount__c", "Account__c")
_AMOUNT_FIELDS = frozenset({"Total_Amount__c", "Amount_Due__c", "Amount__c"})


class Drift(msgspec.Struct, kw_only=True):
    kind: str
    sobject: str
    key: str
    erp_document: str | None = None
    salesforce_id: str | None = None
    fields: dict[str, dict[str, Any]] = {}
    """Field → ``{"salesforce": …, "erp": …}`` where they differ."""
    repaired: bool = False
    note: str | None = None


class ReconcileReport(msgspec.Struct, kw_only=True):
    id: int | None = None
    entity: str
    erp: str
    date_from: date
    date_to: date
    generated_at: datetime
    drift: list[Drift] = []
    summary: dict[str, dict[str, int]] = {}
    api_calls: int = 0


@dataclass
class _Plan:
    drift: list[Drift] = field(default_factory=list)
    repairs: list[tuple[Drift, list[SalesforceWrite]]] = field(default_factory=list)

    def add(self, item: Drift, repair: list[SalesforceWrite] | None = None) -> None:
        self.drift.append(item)
        if repair:
            self.repairs.append((item, repair))


def _differs(
    salesforce: dict[str, Any], proposed: dict[str, Any], names: Iterable[str]
) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        if name not in proposed:
            continue
        if normalize(salesforce.get(name)) != normalize(proposed.get(name)):
            out[name] = {"salesforce": salesforce.get(name), "erp": proposed.get(name)}
    return out


class Reconciler:
    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    async def run(
        self, entity: str, date_from: date, date_to: date, *, repair: bool = True
    ) -> ReconcileReport:
        engine = self.engine
        route = engine.router.resolve(entity).route
        system, company = route.erp, route.company
        feed = engine.feeds[system]
        since = datetime.combine(date_from, dtime.min, tzinfo=UTC)
        ctx = CallContext(company=company, division=route.division,
                          deadline=time.monotonic() + 300, correlation_id="reconcile")  # fmt: skip
        window = ChangeWindow(since=since, until=None)
        orders = await feed.orders(ctx, window)
        invoices = [
            i for i in await feed.invoices(ctx, window)
            if i.invoice_date is None or date_from <= i.invoice_date <= date_to
        ]  # fmt: skip
        payments = [
            p for p in await feed.payments(ctx, window)
            if p.paid_on is None or date_from <= p.paid_on <= date_to
        ]  # fmt: skip
        end = datetime.combine(date_to + timedelta(days=1), dtime.min, tzinfo=UTC)
        async with engine.db.transaction() as conn:
            accepted = await rows.orders_accepted_between(conn, entity, since, end)
            refs = await rows.external_refs_by_erp_order(
                conn, entity, [o.order_id for o in orders] + [i.order_id or "" for i in invoices]
            )
        mapper = WriteBack(
            system=system, company=company, entity=entity,
            links=Links(engine.xref, entity, refs), now=engine.clock.now(),
        )  # fmt: skip
        report = ReconcileReport(entity=entity, erp=system, date_from=date_from, date_to=date_to,
                                 generated_at=engine.clock.now())  # fmt: skip
        sf_ctx = CallContext(company="salesforce", deadline=time.monotonic() + 300,
                             correlation_id="reconcile")  # fmt: skip
        plan = _Plan()
        await self._orders(plan, report, sf_ctx, ctx, mapper, orders, accepted)
        await self._documents(plan, report, sf_ctx, mapper, invoices, payments, date_from, date_to)
        if repair and plan.repairs:
            await self._repair(plan, report, FlowSpec(system, "reconcile", entity))
        report.drift = plan.drift
        summary: dict[str, dict[str, int]] = {}
        for item in plan.drift:
            entry = summary.setdefault(item.kind, {"found": 0, "repaired": 0})
            entry["found"] += 1
            entry["repaired"] += int(item.repaired)
        report.summary = summary
        async with engine.db.transaction() as conn:
            report.id = await rows.save_report(
                conn, entity=entity, erp=system, date_from=date_from, date_to=date_to,
                now=engine.clock.now(), drift=len(plan.drift),
                repaired=sum(1 for d in plan.drift if d.repaired), summary=summary,
                report=msgspec.to_builtins(report),
            )  # fmt: skip
        return report

    async def _query(
        self, report: ReconcileReport, ctx: CallContext, soql: str
    ) -> list[dict[str, Any]]:
        report.api_calls += 1
        return [row async for row in self.engine.crm.query(ctx, soql)]

    async def _orders(  # noqa: PLR0917
        self,
        plan: _Plan,
        report: ReconcileReport,
        sf_ctx: CallContext,
        erp_ctx: CallContext,
        mapper: WriteBack,
        orders: list[OrderChange],
        accepted: list[tuple[str, str, str | None, str]],
    ) -> None:
        engine = self.engine
        by_number = {o.order_id: o for o in orders}
        salesforce_ids: dict[str, OrderChange] = {}
        for change in orders:
            sf_id = mapper.links.order(change.order_id, change.external_ref)
            if sf_id is not None:
                salesforce_ids[sf_id] = change
        expected = {ref: number for _, ref, number, status in accepted if status == "booked"}
        ids = sorted(set(salesforce_ids) | {r for r in expected if r.startswith("801")})
        shown: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            for row in await self._query(
                report, sf_ctx,
                f"SELECT Id, {', '.join(_ORDER_COMPARE)} FROM Order WHERE {soql_in('Id', chunk)}",  # noqa: S608
            ):  # fmt: skip
                shown[str(row["Id"])] = row
        for sf_id, change in salesforce_ids.items():
            found = shown.get(sf_id)
            if found is None:
                continue  # no such Order in Salesforce (deleted): nothing to show it on
            writes = mapper.orders([change])
            order_write = next(w for w in writes if w.sobject == "Order")
            differs = _differs(found, order_write.values, _ORDER_COMPARE)
            if not differs:
                continue
            kind = "ack_missing" if not found.get("ERP_Order_Number__c") else "status_differs"
            plan.add(
                Drift(kind=kind, sobject="Order", key=sf_id, salesforce_id=sf_id,
                      erp_document=order_write.erp_document, fields=differs),
                writes,
            )  # fmt: skip
        # Orders Salesforce (or the store) says the ERP booked, that the ERP does not know.
        claimed = {sf_id: str(row.get("ERP_Order_Number__c") or "") for sf_id, row in shown.items()}
        for row in await self._query(
            report, sf_ctx,
            f"SELECT Id, ERP_Order_Number__c FROM Order WHERE ERP_System__c = '{mapper.system}' "  # noqa: S608
            f"AND ERP_Entity__c = '{mapper.entity}' AND ERP_Order_Number__c != null",
        ):  # fmt: skip
            claimed.setdefault(str(row["Id"]), str(row.get("ERP_Order_Number__c") or ""))
        for ref, number in expected.items():
            claimed.setdefault(ref, number or "")
        for sf_id, number in sorted(claimed.items()):
            if not number or number in by_number:
                continue
            backend = engine.router.resolve(mapper.entity).backend
            try:
                await backend.get_order(erp_ctx, number)
            except NotFoundError:
                plan.add(Drift(kind="missing_in_erp", sobject="Order", key=sf_id,
                               salesforce_id=sf_id, erp_document=mapper.key(number),
                               note=f"Salesforce shows ERP order {number}; {mapper.system} "
                                    "has no such order"))  # fmt: skip

    async def _documents(  # noqa: PLR0917
        self,
        plan: _Plan,
        report: ReconcileReport,
        ctx: CallContext,
        mapper: WriteBack,
        invoices: list[InvoiceChange],
        payments: list[PaymentChange],
        date_from: date,
        date_to: date,
    ) -> None:
        prefix = mapper.key("").replace("'", "")
        kinds: tuple[tuple[str, str, str, list[SalesforceWrite], tuple[str, ...]], ...] = (
            ("ERP_Invoice__c", "ERP_Invoice_Id__c", "Invoice_Date__c",
             mapper.invoices(invoices), _INVOICE_COMPARE),
            ("ERP_Payment__c", "ERP_Payment_Id__c", "Payment_Date__c",
             mapper.payments(payments), _PAYMENT_COMPARE),
        )  # fmt: skip
        for sobject, key_field, date_field, writes, compare in kinds:
            soql = (
                f"SELECT Id, {key_field}, {', '.join(compare)} FROM {sobject} "  # noqa: S608
                f"WHERE {key_field} LIKE '{prefix}%' AND {date_field} >= {date_from.isoformat()} "
                f"AND {date_field} <= {date_to.isoformat()}"
            )
            shown = {str(r[key_field]): r for r in await self._query(report, ctx, soql)}
            proposed = {w.key: w for w in writes}
            missing = [k for k in proposed if k not in shown]
            if missing:  # outside the date range in Salesforce, or not there at all
                for start in range(0, len(missing), 200):
                    chunk = missing[start : start + 200]
                    for row in await self._query(
                        report, ctx,
                        f"SELECT Id, {key_field}, {', '.join(compare)} FROM {sobject} "  # noqa: S608
                        f"WHERE {soql_in(key_field, chunk)}",
                    ):  # fmt: skip
                        shown[str(row[key_field])] = row
            for key, w in proposed.items():
                seen = shown.get(key)
                if seen is None:
                    plan.add(Drift(kind="missing_in_salesforce", sobject=sobject, key=key,
                                   erp_document=w.erp_document), [w])  # fmt: skip
                    continue
                differs = _differs(seen, w.values, compare)
                if differs:
                    kind = "amount_differs" if set(differs) & _AMOUNT_FIELDS else "status_differs"
                    plan.add(Drift(kind=kind, sobject=sobject, key=key, salesforce_id=seen["Id"],
                                   erp_document=w.erp_document, fields=differs), [w])  # fmt: skip
            for key, row in shown.items():
                if key not in proposed:
                    plan.add(Drift(kind="missing_in_erp", sobject=sobject, key=key,
                                   salesforce_id=str(row["Id"]),
                                   note=f"{mapper.system} has no such document"))  # fmt: skip

    async def _repair(self, plan: _Plan, report: ReconcileReport, spec: FlowSpec) -> None:
        """Push the ERP's values again: the write-back path, ownership included, no shortcut
        through what was written before (Salesforce may have been changed behind it)."""
        engine = self.engine
        writer = SalesforceWriter(
            engine.crm, engine.ownership,
            context=lambda: CallContext(company="salesforce", deadline=time.monotonic() + 120,
                                        correlation_id="reconcile"),
        )  # fmt: skip
        writes: list[SalesforceWrite] = []
        owners: dict[int, Drift] = {}
        for item, repair in plan.repairs:
            for w in repair:
                owners[id(w)] = item
                writes.append(w)
        result = await writer.write(writes, {})
        report.api_calls += result.api_calls
        ok = {id(p.write) for p, _ in result.written}
        failed = {id(f.write) for f in result.failed} | {id(w) for w in result.not_attempted}
        for item, repair in plan.repairs:
            item.repaired = any(id(w) in ok for w in repair) and not any(
                id(w) in failed for w in repair
            )
        async with engine.db.transaction() as conn:
            written = [
                rows.WrittenRecord(
                    sobject=p.write.sobject, key=p.write.key,
                    salesforce_id=sf_id or (p.write.key if p.write.key_field == "Id" else None),
                    flow=f"{spec.system}.reconcile.{spec.entity}", entity=p.write.entity,
                    erp_document=p.write.erp_document,
                    values={"proposed": p.write.values,
                            "written": {k: v for k, v in p.values.items() if k in p.write.values}},
                    source_modified=p.write.modified, written_at=engine.clock.now(), run_id=None,
                )
                for p, sf_id in result.written
            ]  # fmt: skip
            await rows.remember_written(conn, written)
