"""The CRM side of the System API contract: what Isthmus reads from and writes to Salesforce.

The write-back and master-data flows depend on this Protocol and these records only, never
on simple-salesforce or the REST wire shapes. Writes are batched (sObject collections of up
to 200) and keyed so that repeating them is harmless: updates by record id, documents upserted
by their ERP external id. Every result comes back per input record, in input order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from system_apis.contract import CallContext, Vendor

__all__ = [
    "AccountCredit",
    "ApiUsage",
    "CrmBackend",
    "ErpInvoice",
    "ErpPayment",
    "ErpShipment",
    "ErpSystem",
    "FieldInfo",
    "ObjectInfo",
    "OrderAckUpdate",
    "RecordError",
    "SalesforceOrder",
    "SalesforceOrderLine",
    "SaveResult",
    "StatusEvent",
    "SyncStatus",
]

ErpSystem = Literal["infor_m3", "sage_intacct"]
SyncStatus = Literal["Not_Sent", "Accepted", "Booked", "Failed", "Rejected", "Cancelled"]


class RecordError(msgspec.Struct, frozen=True, kw_only=True):
    """One Salesforce error on one record (``statusCode``/``errorCode``, message, fields)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


class SaveResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome for one record of a write, in the order the records were given."""

    key: str
    """What identified the input: the record id for updates, the external id for upserts."""
    success: bool
    id: str | None = None
    created: bool | None = None
    """Upserts: whether the record was new."""
    errors: tuple[RecordError, ...] = ()


class ApiUsage(msgspec.Struct, frozen=True, kw_only=True):
    """The org's daily API budget as the last response's ``Sforce-Limit-Info`` reported it."""

    used: int
    limit: int
    as_of: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class FieldInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str
    label: str
    length: int = 0
    createable: bool = False
    updateable: bool = False
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    picklist_values: tuple[str, ...] = ()


class ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An object's describe result, the parts Isthmus uses."""

    name: str
    label: str
    key_prefix: str | None
    custom: bool
    fields: tuple[FieldInfo, ...]

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)


class SalesforceOrderLine(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    product_code: str | None
    product_id: str | None
    quantity: Decimal
    unit_price: Decimal
    total_price: Decimal | None = None
    description: str | None = None


class SalesforceOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An Order as Salesforce holds it, with its lines (OrderItems)."""

    id: str
    order_number: str
    account_id: str | None
    status: str
    effective_date: date | None
    currency: str | None
    pricebook_id: str | None = None
    po_number: str | None = None
    total: Decimal | None = None
    erp_order_number: str | None = None
    erp_status: str | None = None
    sync_status: str | None = None
    last_modified: datetime | None = None
    lines: tuple[SalesforceOrderLine, ...] = ()


class OrderAckUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """What the ERP said about an order, written onto the Salesforce Order."""

    order_id: str
    erp_system: ErpSystem
    sync_status: SyncStatus
    erp_order_number: str | None = None
    erp_status: str | None = None
    message: str | None = None
    synced_at: datetime


class AccountCredit(msgspec.Struct, frozen=True, kw_only=True):
    """ERP credit figures written onto the Salesforce Account."""

    account_id: str
    currency: str
    credit_limit: Decimal | None
    exposure: Decimal
    overdue: Decimal = Decimal(0)
    on_hold: bool = False
    hold_reason: str | None = None
    as_of: datetime


class ErpShipment(msgspec.Struct, frozen=True, kw_only=True):
    erp_system: ErpSystem
    shipment_id: str
    """Unique across ERPs (prefix it with the ERP company): the upsert key."""
    order_id: str | None = None
    account_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_on: date | None = None
    status: Literal["Shipped", "In_Transit", "Delivered", "Returned"] = "Shipped"


class ErpInvoice(msgspec.Struct, frozen=True, kw_only=True):
    erp_system: ErpSystem
    invoice_id: str
    account_id: str | None = None
    order_id: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str
    total: Decimal
    amount_due: Decimal
    status: Literal["Open", "Partially_Paid", "Paid", "Void"] = "Open"


class ErpPayment(msgspec.Struct, frozen=True, kw_only=True):
    erp_system: ErpSystem
    payment_id: str
    invoice_id: str | None = None
    """The ERP invoice id: the payment is linked through the invoice's external id."""
    account_id: str | None = None
    amount: Decimal
    currency: str
    paid_on: date | None = None
    method: str | None = None


class StatusEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A platform event telling Salesforce users something changed in an ERP."""

    kind: Literal["order", "credit", "shipment", "invoice", "payment"]
    status: str
    record_id: str | None = None
    message: str | None = None
    erp_reference: str | None = None
    correlation_id: str | None = None


@runtime_checkable
class CrmBackend(Protocol):
    """Everything the flows need from one Salesforce org.

    Errors are raised as ``system_apis.errors.BackendError`` subclasses. Per-record refusals
    in batch writes are not raised: they come back in the ``SaveResult`` of that record.
    """

    @property
    def vendor(self) -> Vendor: ...

    def api_usage(self) -> ApiUsage | None:
        """The last reported daily API usage (None before the first call)."""
        ...

    async def ping(self, ctx: CallContext) -> None: ...

    async def describe(self, ctx: CallContext, sobject: str) -> ObjectInfo:
        """The object's fields; cached. Unknown object → ``NotFoundError``."""
        ...

    def query(self, ctx: CallContext, soql: str) -> AsyncIterator[dict[str, Any]]:
        """Every row of a SOQL query, page by page (``attributes`` removed)."""
        ...

    async def get_order(self, ctx: CallContext, order_id: str) -> SalesforceOrder: ...

    async def list_orders(
        self, ctx: CallContext, *, status: str | None = None,
        modified_since: datetime | None = None, limit: int = 200,
    ) -> tuple[SalesforceOrder, ...]: ...  # fmt: skip

    async def record_order_acks(
        self, ctx: CallContext, acks: Sequence[OrderAckUpdate]
    ) -> tuple[SaveResult, ...]: ...

    async def record_credit(
        self, ctx: CallContext, credits: Sequence[AccountCredit]
    ) -> tuple[SaveResult, ...]: ...

    async def upsert_shipments(
        self, ctx: CallContext, shipments: Sequence[ErpShipment]
    ) -> tuple[SaveResult, ...]: ...

    async def upsert_invoices(
        self, ctx: CallContext, invoices: Sequence[ErpInvoice]
    ) -> tuple[SaveResult, ...]: ...

    async def upsert_payments(
        self, ctx: CallContext, payments: Sequence[ErpPayment]
    ) -> tuple[SaveResult, ...]: ...

    async def publish_events(
        self, ctx: CallContext, events: Sequence[StatusEvent]
    ) -> tuple[SaveResult, ...]: ...

    async def create(
        self, ctx: CallContext, sobject: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[SaveResult, ...]:
        """Generic insert (master data)."""
        ...

    async def update(
        self, ctx: CallContext, sobject: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[SaveResult, ...]:
        """Generic update; every record carries its ``Id``."""
        ...

    async def upsert(
        self,
        ctx: CallContext,
        sobject: str,
        external_id_field: str,
        records: Sequence[Mapping[str, Any]],
    ) -> tuple[SaveResult, ...]:
        """Generic upsert by an external-id field every record carries."""
        ...  # fmt: skip
