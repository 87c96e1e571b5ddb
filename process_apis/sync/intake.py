"""Salesforce → ERP: Orders that reach the configured status enter the orders path.

The flow ``salesforce.orders.{entity}`` reads, since its watermark (``LastModifiedDate``, with
the overlap), the Orders with ``Status`` = the configured status (e.g. ``Activated``) and
``ERP_Entity__c`` = the entity, with their lines, and hands each to the order service exactly
as an Apex callout would — with the Salesforce Order id as both the external reference and the
idempotency key (client ``salesforce-sync``). An order that already came through a callout,
or in an earlier run, is recognised (same key, or its reference already taken) and left alone;
so every Order reaches the ERP exactly once however it got there.

The Order then shows ``ERP_Sync_Status__c`` = ``Accepted`` (the order flow later writes
``Booked`` and the ERP number), or ``Rejected`` with the reason when the order service refuses
it; refusals are captured in the exception queue (flow ``salesforce_intake``).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from process_apis.decimals import decode_decimal_string, is_decimal_string
from process_apis.errors import ProcessError
from process_apis.exceptions.capture import capture, resolve
from process_apis.orders.errors import (
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    OrderExistsError,
)
from process_apis.orders.models import OrderSubmission, OrderView
from process_apis.orders.service import OrderService, StoredResponse
from process_apis.sync.model import FlowSpec, SalesforceWrite
from process_apis.sync.writer import SalesforceWriter, soql_in
from store import NewFailure
from system_apis.contract import CallContext
from system_apis.resilience import Deadline

if TYPE_CHECKING:
    from process_apis.sync.engine import RunSummary, SyncEngine

__all__ = ["INTAKE_CLIENT", "INTAKE_FLOW", "OrderIntake"]

INTAKE_CLIENT = "salesforce-sync"
INTAKE_FLOW = "salesforce_intake"
_ORDER_FIELDS = (
    "Id, AccountId, Status, EffectiveDate, CurrencyIsoCode, PoNumber, ERP_Entity__c, "
    "ERP_Sync_Status__c, LastModifiedDate"
)
_LINE_FIELDS = (
    "Id, OrderId, Product2.ProductCode, Product2.QuantityUnitOfMeasure, Quantity, UnitPrice"
)


def _soql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    value = text.replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


class OrderIntake:
    def __init__(
        self,
        orders: OrderService,
        *,
        status: str = "Activated",
        units: dict[str, str] | None = None,
        deadline_ms: int = 8000,
    ) -> None:
        self.orders = orders
        self.status = status
        self.default_unit = "Each"
        self.units = units or {}
        self.deadline_ms = deadline_ms

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        window = engine.window(summary.watermark_before)
        assert window.until is not None
        summary.window = (window.since.isoformat(), window.until.isoformat())
        ctx = CallContext(company="salesforce", deadline=time.monotonic() + 120,
                          correlation_id=f"sync-{summary.run_id}")  # fmt: skip
        status = self.status.replace("'", "\\'")
        soql = (
            f"SELECT {_ORDER_FIELDS} FROM Order WHERE Status = '{status}' "  # noqa: S608 - quoted
            f"AND ERP_Entity__c = '{spec.entity}' "
            f"AND LastModifiedDate >= {_soql_time(window.since)} "
            f"AND LastModifiedDate < {_soql_time(window.until)} ORDER BY LastModifiedDate, Id"
        )
        summary.api_calls += 1
        found = [row async for row in engine.crm.query(ctx, soql)]
        summary.read = len(found)
        writer = SalesforceWriter(engine.crm, engine.ownership, context=lambda: ctx)
        for start in range(0, len(found), engine.policy.batch_size):
            batch = found[start : start + engine.policy.batch_size]
            lines = await self._lines(engine, ctx, [r["Id"] for r in batch], summary)
            writes = []
            for row in batch:
                write = await self._accept(engine, spec, summary, row, lines.get(row["Id"], []))
                if write is not None:
                    writes.append(write)
            last = max(_parse_time(r["LastModifiedDate"]) for r in batch)
            await engine.write_batch(spec, summary, writer, writes, advance_to=last)
        await engine._advance(spec, summary, window.until)

    async def _lines(
        self, engine: SyncEngine, ctx: CallContext, ids: list[str], summary: RunSummary
    ) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return out
        summary.api_calls += 1
        soql = f"SELECT {_LINE_FIELDS} FROM OrderItem WHERE {soql_in('OrderId', ids)}"  # noqa: S608
        async for line in engine.crm.query(ctx, soql + " ORDER BY OrderItemNumber"):
            out.setdefault(line["OrderId"], []).append(line)
        return out

    def _submission(
        self, spec: FlowSpec, currency: str, row: dict[str, Any], lines: list[dict[str, Any]]
    ) -> OrderSubmission:
        items = []
        for n, line in enumerate(lines, start=1):
            product = line.get("Product2") or {}
            unit = product.get("QuantityUnitOfMeasure") or self.default_unit
            items.append(
                {
                    "lineNo": n,
                    "sku": str(product.get("ProductCode") or ""),
                    "quantity": _decimal_text(line.get("Quantity")),
                    "uom": self.units.get(unit, unit),
                    "unitPrice": _decimal_text(line.get("UnitPrice")),
                }
            )
        return msgspec.convert(
            {
                "externalRef": row["Id"],
                "entity": spec.entity,
                "accountId": row.get("AccountId"),
                "currency": row.get("CurrencyIsoCode") or currency,
                "orderDate": row.get("EffectiveDate") or date.today().isoformat(),
                "customerPo": row.get("PoNumber") or None,
                "lines": items,
            },
            OrderSubmission,
            dec_hook=_decimal_strings,
        )

    async def _accept(
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        row: dict[str, Any],
        lines: list[dict[str, Any]],
    ) -> SalesforceWrite | None:
        order_id = str(row["Id"])
        modified = _parse_time(row["LastModifiedDate"])
        currency = engine.router.resolve(spec.entity).route.currency
        now = engine.clock.now()

        def ack(status: str, message: str | None) -> SalesforceWrite:
            values: dict[str, Any] = {
                "ERP_Sync_Status__c": status,
                "ERP_Status_Message__c": message,
            }
            system = engine.router.resolve(spec.entity).route.erp
            values["ERP_System__c"] = system
            return SalesforceWrite(
                sobject="Order", key_field="Id", key=order_id, values=values,
                erp_document=f"salesforce:{spec.entity}:{order_id}", entity=spec.entity,
                modified=modified,
            )  # fmt: skip

        try:
            submission = self._submission(spec, currency, row, lines)
        except (ProcessError, msgspec.ValidationError) as exc:
            return await self._refused(engine, spec, summary, row, lines, exc, ack)
        fingerprint = OrderService.fingerprint("POST", "salesforce:orders", submission)
        try:
            replay = await self.orders.reserve(INTAKE_CLIENT, order_id, fingerprint)
        except (IdempotencyKeyInFlightError, IdempotencyKeyReusedError):
            return None  # being taken right now, or taken before with other lines
        if replay is not None:
            return None  # taken in an earlier run: its acknowledgement was written then
        try:
            await self.orders.accept(
                submission, client=INTAKE_CLIENT, key=order_id,
                correlation_id=f"sync-{summary.run_id}",
                deadline=Deadline(at=time.monotonic() + self.deadline_ms / 1000,
                                  budget_ms=self.deadline_ms),
                render=_render,
            )  # fmt: skip
        except OrderExistsError:
            await self.orders.remember(INTAKE_CLIENT, order_id, _render_exists())
            return None  # it came through an Apex callout: the ERP has it already
        except ProcessError as exc:
            if exc.status >= 500:
                await self.orders.forget(INTAKE_CLIENT, order_id, fingerprint)
                raise
            body = msgspec.json.encode({"detail": exc.detail})
            await self.orders.remember(
                INTAKE_CLIENT, order_id, StoredResponse(exc.status, body, {})
            )
            return await self._refused(engine, spec, summary, row, lines, exc, ack)
        except BaseException:
            await self.orders.forget(INTAKE_CLIENT, order_id, fingerprint)
            raise
        async with engine.db.transaction() as conn:
            await resolve(conn, flow=INTAKE_FLOW, subject_type="salesforce_order",
                          subject_id=order_id, now=now, cause="accepted",
                          actor="system:sync")  # fmt: skip
        return ack("Accepted", None)

    async def _refused(  # noqa: PLR0917
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        row: dict[str, Any],
        lines: list[dict[str, Any]],
        exc: Exception,
        ack: Any,
    ) -> SalesforceWrite:
        detail = exc.detail if isinstance(exc, ProcessError) else str(exc)
        order_id = str(row["Id"])
        async with engine.db.transaction() as conn:
            await capture(
                conn,
                NewFailure(
                    flow=INTAKE_FLOW, subject_type="salesforce_order", subject_id=order_id,
                    entity=spec.entity, system="isthmus",
                    category="refused" if isinstance(exc, ProcessError) else "value",
                    retryable=False, vendor_message=detail[:4000],
                    payload={"order": row, "lines": lines}, salesforce_id=order_id,
                    attempts=1, correlation_id=f"sync-{summary.run_id}",
                ),
                now=engine.clock.now(), target="isthmus", actor="system:sync",
            )  # fmt: skip
        summary.failed += 1
        result: SalesforceWrite = ack("Rejected", detail[:255])
        return result


def _decimal_text(value: Any) -> str:
    """A Salesforce number (JSON number) as the decimal string order payloads take."""
    number = Decimal(str(value if value is not None else 0))
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _decimal_strings(target: type, value: Any) -> Any:
    if is_decimal_string(target):
        return decode_decimal_string(target, value)
    raise NotImplementedError(target)


def _render(view: OrderView) -> StoredResponse:
    return StoredResponse(status=202, body=msgspec.json.encode(view),
                          headers={"content-type": "application/json"})  # fmt: skip


def _render_exists() -> StoredResponse:
    return StoredResponse(status=409, body=b'{"code":"order_exists"}', headers={})
