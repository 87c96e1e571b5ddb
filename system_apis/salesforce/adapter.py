"""The Salesforce system API: ``CrmBackend`` over the REST API, through simple-salesforce."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec
from simple_salesforce.api import Salesforce

from system_apis.contract import CallContext, Vendor
from system_apis.crm import (
    AccountCredit,
    ApiUsage,
    ErpInvoice,
    ErpPayment,
    ErpShipment,
    FieldInfo,
    ObjectInfo,
    OrderAckUpdate,
    RecordError,
    SalesforceOrder,
    SalesforceOrderLine,
    SaveResult,
    StatusEvent,
)
from system_apis.errors import BackendProtocolError, NotFoundError
from system_apis.salesforce import fields as F
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.errors import VENDOR

__all__ = ["BATCH_SIZE", "SalesforceAdapter", "soql_quote"]

BATCH_SIZE = 200
"""sObject Collections take at most 200 records per call."""
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_ORDER_FIELDS = (
    "Id, OrderNumber, AccountId, Status, EffectiveDate, CurrencyIsoCode, Pricebook2Id, PoNumber, "
    "TotalAmount, ERP_Order_Number__c, ERP_Status__c, ERP_Sync_Status__c, LastModifiedDate"
)
_LINE_FIELDS = (
    "Id, OrderId, Product2Id, Product2.ProductCode, Quantity, UnitPrice, TotalPrice, Description"
)


def soql_quote(value: str) -> str:
    """A SOQL string literal (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(value: datetime) -> str:
    return (
        value.strftime("%Y-%m-%dT%H:%M:%SZ") if value.utcoffset() is not None else value.isoformat()
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (_strip(v) if isinstance(v, dict) else v) for k, v in row.items() if k != "attributes"
    }


class SalesforceAdapter:
    """Implements ``system_apis.crm.CrmBackend`` for one org.

    ``describe_ttl_s``: how long describe results are reused (they change only on deploys).
    """

    def __init__(
        self,
        client: SalesforceClient,
        *,
        describe_ttl_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.describe_ttl_s = describe_ttl_s
        self._monotonic = monotonic
        self._describes: dict[str, tuple[float, ObjectInfo]] = {}

    @property
    def vendor(self) -> Vendor:
        return "salesforce"

    def api_usage(self) -> ApiUsage | None:
        return self.client.usage

    def close(self) -> None:
        """Stop the client's threads (calls in flight finish on their own)."""
        self.client.close()

    async def ping(self, ctx: CallContext) -> None:
        await self.client.call(ctx, lambda sf, t: sf.restful("limits/", timeout=t))

    # -- reads ----------------------------------------------------------------------------------
    async def describe(self, ctx: CallContext, sobject: str) -> ObjectInfo:
        cached = self._describes.get(sobject.lower())
        if cached is not None and self._monotonic() - cached[0] < self.describe_ttl_s:
            return cached[1]
        raw = await self.client.call(
            ctx, lambda sf, t: sf.restful(f"sobjects/{quote(sobject)}/describe/", timeout=t)
        )
        if not isinstance(raw, dict) or "fields" not in raw:
            raise BackendProtocolError("describe answered without fields", vendor=VENDOR)
        info = ObjectInfo(
            name=str(raw["name"]),
            label=str(raw.get("label", raw["name"])),
            key_prefix=raw.get("keyPrefix"),
            custom=bool(raw.get("custom", False)),
            fields=tuple(
                FieldInfo(
                    name=f["name"],
                    type=f["type"],
                    label=f.get("label", f["name"]),
                    length=int(f.get("length") or 0),
                    createable=bool(f.get("createable")),
                    updateable=bool(f.get("updateable")),
                    nillable=bool(f.get("nillable", True)),
                    external_id=bool(f.get("externalId")),
                    unique=bool(f.get("unique")),
                    reference_to=tuple(f.get("referenceTo") or ()),
                    picklist_values=tuple(
                        p["value"] for p in f.get("picklistValues") or () if p.get("active", True)
                    ),
                )
                for f in raw["fields"]
            ),
        )
        self._describes[sobject.lower()] = (self._monotonic(), info)
        return info

    async def query(self, ctx: CallContext, soql: str) -> AsyncIterator[dict[str, Any]]:
        page: dict[str, Any] = await self.client.call(ctx, lambda sf, t: sf.query(soql, timeout=t))
        while True:
            for row in page.get("records", ()):
                yield _strip(row)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = await self.client.call(
                ctx,
                functools.partial(_query_more, next_url),
            )

    async def _rows(self, ctx: CallContext, soql: str) -> list[dict[str, Any]]:
        return [row async for row in self.query(ctx, soql)]

    async def get_order(self, ctx: CallContext, order_id: str) -> SalesforceOrder:
        rows = await self._rows(
            ctx,
            f"SELECT {_ORDER_FIELDS} FROM Order WHERE Id = {soql_quote(order_id)}",  # noqa: S608 - SOQL, quoted
        )
        if not rows:
            raise NotFoundError(f"no Salesforce Order {order_id}", vendor=VENDOR, code="NOT_FOUND")
        return (await self._with_lines(ctx, rows))[0]

    async def list_orders(
        self, ctx: CallContext, *, status: str | None = None,
        modified_since: datetime | None = None, limit: int = 200,
    ) -> tuple[SalesforceOrder, ...]:  # fmt: skip
        where = []
        if status is not None:
            where.append(f"Status = {soql_quote(status)}")
        if modified_since is not None:
            where.append(f"LastModifiedDate >= {_iso(modified_since)}")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._rows(
            ctx,
            f"SELECT {_ORDER_FIELDS} FROM Order{clause} ORDER BY LastModifiedDate, Id LIMIT {int(limit)}",  # noqa: S608
        )
        return tuple(await self._with_lines(ctx, rows)) if rows else ()

    async def _with_lines(
        self, ctx: CallContext, rows: list[dict[str, Any]]
    ) -> list[SalesforceOrder]:
        ids = ", ".join(soql_quote(r["Id"]) for r in rows)
        lines: dict[str, list[SalesforceOrderLine]] = {}
        async for line in self.query(
            ctx,
            f"SELECT {_LINE_FIELDS} FROM OrderItem WHERE OrderId IN ({ids}) ORDER BY OrderItemNumber",  # noqa: S608
        ):
            product = line.get("Product2") or {}
            lines.setdefault(line["OrderId"], []).append(
                SalesforceOrderLine(
                    id=line["Id"],
                    product_id=line.get("Product2Id"),
                    product_code=product.get("ProductCode"),
                    quantity=_decimal(line.get("Quantity")) or Decimal(0),
                    unit_price=_decimal(line.get("UnitPrice")) or Decimal(0),
                    total_price=_decimal(line.get("TotalPrice")),
                    description=line.get("Description"),
                )
            )
        return [
            SalesforceOrder(
                id=r["Id"],
                order_number=r.get("OrderNumber") or "",
                account_id=r.get("AccountId"),
                status=r.get("Status") or "",
                effective_date=_date(r.get("EffectiveDate")),
                currency=r.get("CurrencyIsoCode"),
                pricebook_id=r.get("Pricebook2Id"),
                po_number=r.get("PoNumber"),
                total=_decimal(r.get("TotalAmount")),
                erp_order_number=r.get("ERP_Order_Number__c"),
                erp_status=r.get("ERP_Status__c"),
                sync_status=r.get("ERP_Sync_Status__c"),
                last_modified=_datetime(r.get("LastModifiedDate")),
                lines=tuple(lines.get(r["Id"], ())),
            )
            for r in rows
        ]

    # -- writes -----------------------------------------------------------------------------------
    async def record_order_acks(
        self, ctx: CallContext, acks: Sequence[OrderAckUpdate]
    ) -> tuple[SaveResult, ...]:
        return await self.update(ctx, "Order", [F.order_ack_fields(a) for a in acks])

    async def record_credit(
        self, ctx: CallContext, credits: Sequence[AccountCredit]
    ) -> tuple[SaveResult, ...]:
        return await self.update(ctx, "Account", [F.credit_fields(c) for c in credits])

    async def upsert_shipments(
        self, ctx: CallContext, shipments: Sequence[ErpShipment]
    ) -> tuple[SaveResult, ...]:
        return await self.upsert(
            ctx, F.SHIPMENT_OBJECT, F.SHIPMENT_KEY, [F.shipment_fields(s) for s in shipments]
        )

    async def upsert_invoices(
        self, ctx: CallContext, invoices: Sequence[ErpInvoice]
    ) -> tuple[SaveResult, ...]:
        return await self.upsert(
            ctx, F.INVOICE_OBJECT, F.INVOICE_KEY, [F.invoice_fields(i) for i in invoices]
        )

    async def upsert_payments(
        self, ctx: CallContext, payments: Sequence[ErpPayment]
    ) -> tuple[SaveResult, ...]:
        return await self.upsert(
            ctx, F.PAYMENT_OBJECT, F.PAYMENT_KEY, [F.payment_fields(p) for p in payments]
        )

    async def publish_events(
        self, ctx: CallContext, events: Sequence[StatusEvent]
    ) -> tuple[SaveResult, ...]:
        return await self.create(ctx, F.EVENT_OBJECT, [F.event_fields(e) for e in events])

    async def create(
        self, ctx: CallContext, sobject: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[SaveResult, ...]:
        keys = [str(i) for i in range(len(records))]
        return await self._batches(
            ctx,
            method="POST",
            path="composite/sobjects",
            sobject=sobject,
            records=records,
            keys=keys,
        )

    async def update(
        self, ctx: CallContext, sobject: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[SaveResult, ...]:
        keys = [str(r.get("Id", "")) for r in records]
        return await self._batches(
            ctx,
            method="PATCH",
            path="composite/sobjects",
            sobject=sobject,
            records=records,
            keys=keys,
        )

    async def upsert(
        self,
        ctx: CallContext,
        sobject: str,
        external_id_field: str,
        records: Sequence[Mapping[str, Any]],
    ) -> tuple[SaveResult, ...]:
        keys = [str(r.get(external_id_field, "")) for r in records]
        path = f"composite/sobjects/{quote(sobject)}/{quote(external_id_field)}"
        return await self._batches(
            ctx, method="PATCH", path=path, sobject=sobject, records=records, keys=keys
        )

    async def _batches(
        self, ctx: CallContext, *, method: str, path: str, sobject: str,
        records: Sequence[Mapping[str, Any]], keys: list[str],
    ) -> tuple[SaveResult, ...]:  # fmt: skip
        results: list[SaveResult] = []
        for start in range(0, len(records), BATCH_SIZE):
            chunk = records[start : start + BATCH_SIZE]
            body = _ENCODER.encode(
                {
                    "allOrNone": False,
                    "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
                }
            )
            raw = await self.client.call(
                ctx, functools.partial(_restful, path=path, method=method, body=body)
            )
            if not isinstance(raw, list) or len(raw) != len(chunk):
                raise BackendProtocolError(
                    "collections answered a result count that does not match", vendor=VENDOR
                )
            for key, item in zip(keys[start : start + BATCH_SIZE], raw, strict=True):
                errors = tuple(
                    RecordError(
                        code=str(e.get("statusCode", "")),
                        message=str(e.get("message", "")),
                        fields=tuple(e.get("fields") or ()),
                    )
                    for e in item.get("errors") or ()
                    if e.get("statusCode") != "OPERATION_ENQUEUED"
                )
                results.append(
                    SaveResult(
                        key=key,
                        success=bool(item.get("success")),
                        id=item.get("id"),
                        created=item.get("created"),
                        errors=errors,
                    )
                )
        return tuple(results)


def _restful(sf: Salesforce, timeout: float, *, path: str, method: str, body: bytes) -> Any:
    return sf.restful(path, method=method, data=body, timeout=timeout)


def _query_more(url: str, sf: Salesforce, timeout: float) -> Any:
    return sf.query_more(url, identifier_is_url=True, timeout=timeout)
