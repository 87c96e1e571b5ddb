"""What the repositories read and write: plain, frozen records (no ORM objects escape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import msgspec
import sqlalchemy as sa

__all__ = [
    "AuditEntry",
    "Claimed",
    "FailureRecord",
    "IdempotencyRecord",
    "NewFailure",
    "NewOrder",
    "OrderEvent",
    "OrderStatus",
    "StoredOrder",
    "from_row",
]

R = TypeVar("R", bound=msgspec.Struct)


def from_row(row: sa.Row[Any] | Any, record: type[R]) -> R:
    """A row as a record (column names are ``quoted_name``; msgspec wants plain ``str`` keys)."""
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, record)


OrderStatus = Literal["accepted", "submitting", "booked", "rejected", "retrying", "needs_attention"]
FINAL_STATUSES: frozenset[str] = frozenset({"booked", "rejected", "needs_attention"})


class NewOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    entity: str
    external_ref: str
    erp: str
    client: str
    account_id: str | None
    customer_id: str
    request: dict[str, Any]
    erp_request: dict[str, Any]
    warnings: list[dict[str, Any]] = []
    correlation_id: str | None = None


class StoredOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    entity: str
    external_ref: str
    erp: str
    client: str
    account_id: str | None
    customer_id: str
    status: OrderStatus
    request: dict[str, Any]
    erp_request: dict[str, Any]
    warnings: list[dict[str, Any]]
    erp_order_id: str | None
    erp_status: str | None
    erp_lines: list[dict[str, Any]] | None
    attempts: int
    maybe_sent: bool
    correlation_id: str | None
    created_at: datetime
    updated_at: datetime
    booked_at: datetime | None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class OrderEvent(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    status: str
    cause: str
    detail: dict[str, Any] | None = None


class IdempotencyRecord(msgspec.Struct, frozen=True, kw_only=True):
    client: str
    key: str
    fingerprint: str
    state: Literal["in_flight", "done"]
    locked_until: datetime
    response_status: int | None
    response_body: bytes | None
    response_headers: dict[str, str] | None
    order_id: str | None
    created_at: datetime
    expires_at: datetime


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """An outbox entry leased to one worker until ``lease_until``."""

    id: int
    kind: str
    subject_id: str
    owner: str
    lease_until: datetime


class NewFailure(msgspec.Struct, frozen=True, kw_only=True):
    flow: str
    subject_type: str
    subject_id: str
    system: str
    category: str
    retryable: bool
    payload: dict[str, Any]
    attempts: int
    entity: str | None = None
    vendor_code: str | None = None
    vendor_message: str | None = None
    vendor_field: str | None = None
    salesforce_id: str | None = None
    correlation_id: str | None = None


class FailureRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    flow: str
    subject_type: str
    subject_id: str
    entity: str | None
    system: str
    category: str
    retryable: bool
    vendor_code: str | None
    vendor_message: str | None
    vendor_field: str | None
    payload: dict[str, Any]
    salesforce_id: str | None
    correlation_id: str | None
    attempts: int
    status: Literal["open", "resolved", "ignored"]
    assignee: str | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any] | None
    correlation_id: str | None
