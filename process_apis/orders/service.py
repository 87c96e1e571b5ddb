"""Accepting orders: strict checks, re-validation against the ERP, then the order, its outbox
entry and the idempotency record's response in one transaction.

The HTTP side (``app``) owns the ``Idempotency-Key`` header and renders responses; this
module decides and stores. Times come from an injected clock.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.api import ProcessApi
from process_apis.errors import InvalidInputError
from process_apis.mapping.dimensions import DimensionCatalog
from process_apis.models import QuoteLine, Reason, ValidateQuoteRequest
from process_apis.orders.clock import Clock, SystemClock
from process_apis.orders.erp_limits import check_customer_po, limits_for, order_party
from process_apis.orders.errors import (
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    OrderExistsError,
    OrderRefusedError,
)
from process_apis.orders.models import (
    FailureView,
    LineConfirmation,
    OrderSubmission,
    OrderView,
    TimelineEntry,
)
from process_apis.routing import RoutedEntity
from process_apis.validation import check_money, check_quantity
from store import Database, NewOrder, StoredOrder
from store import idempotency as keys
from store import orders as order_rows
from store import outbox as work
from store.audit import audit
from store.failures import failures_for
from system_apis.contract import OrderLine, OrderRequest
from system_apis.resilience import Deadline

__all__ = ["SUBMIT_ORDER", "OrderPolicy", "OrderService", "StoredResponse"]

SUBMIT_ORDER = "order.submit"
"""The outbox kind the worker claims."""
_ALWAYS_BLOCKING = frozenset({"CUSTOMER_NOT_FOUND", "ITEM_NOT_FOUND"})
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OrderPolicy:
    idempotency_retention_s: int = 86_400
    idempotency_lock_s: float = 30.0
    validation_default: Literal["block", "warn"] = "block"
    validation: dict[str, Literal["block", "warn"]] = field(default_factory=dict)

    def mode(self, entity: str) -> Literal["block", "warn"]:
        return self.validation.get(entity, self.validation_default)


@dataclass(frozen=True)
class StoredResponse:
    """A response as the idempotency record keeps it, to be replayed byte for byte."""

    status: int
    body: bytes
    headers: dict[str, str]


def new_order_id(now_ms: int) -> str:
    """Sortable by creation time: ``ord_`` + 11 hex digits of ms + 16 random hex digits."""
    return f"ord_{now_ms:011x}{secrets.token_hex(8)}"


class OrderService:
    def __init__(
        self,
        db: Database,
        process: ProcessApi,
        policy: OrderPolicy | None = None,
        clock: Clock | None = None,
        dimensions: Callable[[], DimensionCatalog] | None = None,
    ) -> None:
        self.db = db
        self.process = process
        self.policy = policy or OrderPolicy()
        self.clock: Clock = clock or SystemClock()
        self.dimensions = dimensions
        """The current dimension reference data: lines naming unknown values are refused."""

    # ------------------------------------------------------------------ idempotency

    @staticmethod
    def fingerprint(method: str, path: str, submission: msgspec.Struct) -> str:
        digest = hashlib.sha256(f"{method} {path}\n".encode())
        digest.update(msgspec.json.encode(submission))
        return digest.hexdigest()

    async def reserve(self, client: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None: the key is ours now. A stored response: replay it. Else 422 or 409."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            outcome = await keys.begin(
                conn, client=client, key=key, fingerprint=fingerprint, now=now,
                lock_for=timedelta(seconds=self.policy.idempotency_lock_s),
                retention=timedelta(seconds=self.policy.idempotency_retention_s),
            )  # fmt: skip
        if isinstance(outcome, keys.Reserved):
            return None
        record = outcome.record
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was used for a different request; use a new key for a "
                "new request.",
                pointer="header:Idempotency-Key",
            )
        if record.state == "in_flight":
            raise IdempotencyKeyInFlightError(
                "The first request with this Idempotency-Key has not finished; retry shortly.",
                pointer="header:Idempotency-Key",
            )
        assert record.response_status is not None
        return StoredResponse(
            status=record.response_status,
            body=record.response_body or b"",
            headers=dict(record.response_headers or {}),
        )

    async def remember(self, client: str, key: str, response: StoredResponse) -> None:
        """Keep a refusal (4xx) for replay."""
        async with self.db.transaction() as conn:
            await keys.finish(
                conn, client=client, key=key, status=response.status, body=response.body,
                headers=response.headers, order_id=None, now=self.clock.now(),
                retention=timedelta(seconds=self.policy.idempotency_retention_s),
            )  # fmt: skip

    async def answered(
        self, client: str, key: str, order_id: str, response: StoredResponse
    ) -> None:
        """Keep what the caller was finally sent (after ``Prefer: wait``) as the answer to
        replay, in place of the 202 stored at acceptance."""
        async with self.db.transaction() as conn:
            await keys.finish(
                conn, client=client, key=key, status=response.status, body=response.body,
                headers=response.headers, order_id=order_id, now=self.clock.now(),
                retention=timedelta(seconds=self.policy.idempotency_retention_s),
            )  # fmt: skip

    async def forget(self, client: str, key: str, fingerprint: str) -> None:
        """Drop a reservation after a failure worth retrying with the same key (5xx)."""
        async with self.db.transaction() as conn:
            await keys.release(conn, client=client, key=key, fingerprint=fingerprint)

    # ------------------------------------------------------------------ accept

    async def accept(
        self,
        submission: OrderSubmission,
        *,
        client: str,
        key: str,
        correlation_id: str | None,
        deadline: Deadline,
        render: Callable[[OrderView], StoredResponse],
    ) -> tuple[OrderView, StoredResponse]:
        routed = self.process.router.resolve(submission.entity)
        customer_id = self._customer(submission)
        existing = await self._existing(submission.entity, submission.external_ref)
        if existing is not None:
            raise self._exists(existing, submission)
        order_date = submission.order_date or self.clock.now().date()
        request = self._erp_request(submission, routed, customer_id, order_date)
        warnings = await self._revalidate(submission, order_date, deadline, correlation_id)

        now = self.clock.now()
        order = NewOrder(
            id=new_order_id(int(now.timestamp() * 1000)),
            entity=submission.entity,
            external_ref=submission.external_ref,
            erp=routed.route.erp,
            client=client,
            account_id=submission.account_id,
            customer_id=customer_id,
            request=msgspec.to_builtins(submission),
            erp_request=msgspec.to_builtins(request),
            warnings=msgspec.to_builtins(warnings),
            correlation_id=correlation_id,
        )
        view = OrderView(
            id=order.id,
            external_ref=order.external_ref,
            entity=order.entity,
            erp=order.erp,
            status="accepted",
            account_id=order.account_id,
            customer_number=customer_id,
            currency=submission.currency,
            warnings=list(warnings),
            timeline=[TimelineEntry(at=now, status="accepted", cause="accepted")],
            created_at=now,
            updated_at=now,
        )
        response = render(view)
        try:
            async with self.db.transaction() as conn:
                await order_rows.insert_order(conn, order, now)
                await work.enqueue(conn, SUBMIT_ORDER, order.id, now)
                await audit(
                    conn, now=now, actor=client, action="order.accepted", subject_type="order",
                    subject_id=order.id, correlation_id=correlation_id,
                    detail={"idempotency_key": key, "external_ref": order.external_ref},
                )  # fmt: skip
                await keys.finish(
                    conn, client=client, key=key, status=response.status, body=response.body,
                    headers=response.headers, order_id=order.id, now=now,
                    retention=timedelta(seconds=self.policy.idempotency_retention_s),
                )  # fmt: skip
        except order_rows.DuplicateExternalRefError as exc:
            raise self._exists(exc.existing_id, submission) from None
        return view, response

    def _customer(self, submission: OrderSubmission) -> str:
        if (submission.account_id is None) == (submission.customer_number is None):
            raise InvalidInputError(
                "Give exactly one of accountId and customerNumber.", pointer="/accountId"
            )
        if submission.account_id is not None:
            return self.process.xref.customer_for_account(
                submission.account_id, submission.entity, pointer="/accountId"
            )
        assert submission.customer_number is not None
        return submission.customer_number

    async def _existing(self, entity: str, external_ref: str) -> str | None:
        async with self.db.transaction() as conn:
            found = await order_rows.find_by_external_ref(conn, external_ref, entity)
        return found[0].id if found else None

    @staticmethod
    def _exists(order_id: str, submission: OrderSubmission) -> OrderExistsError:
        return OrderExistsError(
            f"Order {order_id} already carries external reference "
            f"'{submission.external_ref}' in entity {submission.entity}.",
            order_id=order_id,
        )

    def _erp_request(
        self,
        submission: OrderSubmission,
        routed: RoutedEntity,
        customer_id: str,
        order_date: date,
    ) -> OrderRequest:
        vendor = routed.route.erp
        xref = self.process.xref
        limits = limits_for(vendor)
        check_customer_po(submission.customer_po, limits, "/customerPo")
        ship_to = order_party(submission.ship_to, limits, "/shipTo")
        bill_to = order_party(submission.bill_to, limits, "/billTo")
        lines = []
        seen: set[int] = set()
        for i, line in enumerate(submission.lines):
            at = f"/lines/{i}"
            check_quantity(line.quantity, f"{at}/quantity")
            check_money(line.unit_price, f"{at}/unitPrice")
            if line.tax_amount is not None:
                check_money(line.tax_amount, f"{at}/taxAmount")
            discount = line.discount_percent or Decimal(0)
            if not discount.is_finite() or not Decimal(0) <= discount <= _HUNDRED:
                raise InvalidInputError(
                    "discountPercent must lie between 0 and 100.", pointer=f"{at}/discountPercent"
                )
            line_no = line.line_no or i + 1
            if line_no in seen:
                raise InvalidInputError(f"lineNo {line_no} is repeated.", pointer=f"{at}/lineNo")
            seen.add(line_no)
            dims = {
                name: value
                for name, value in (
                    ("department", line.department),
                    ("location", line.location),
                    ("class", line.class_),
                    ("project", line.project),
                )
                if value
            }
            if self.dimensions is not None:
                self.dimensions().check(submission.entity, dims, pointer=at)
            lines.append(
                OrderLine(
                    line_no=line_no,
                    item_id=xref.item_for_sku(line.sku, vendor, pointer=f"{at}/sku"),
                    quantity=line.quantity,
                    uom=xref.erp_unit(line.uom, vendor),
                    unit_price=_net(line.unit_price, discount),
                    warehouse_id=line.warehouse,
                    requested_date=line.requested_date,
                    dimensions=dims,
                    memo=line.description,
                    tax_amount=line.tax_amount,
                )
            )
        return OrderRequest(
            external_ref=submission.external_ref,
            customer_id=customer_id,
            currency=submission.currency,
            order_date=order_date,
            requested_date=submission.requested_date,
            customer_po=submission.customer_po,
            ship_to=ship_to,
            bill_to=bill_to,
            notes=submission.notes or None,
            lines=tuple(lines),
        )

    async def _revalidate(
        self,
        submission: OrderSubmission,
        order_date: date,
        deadline: Deadline,
        correlation_id: str | None,
    ) -> tuple[Reason, ...]:
        """The quote checks against fresh ERP data; block or warn per the entity's policy."""
        quote = ValidateQuoteRequest(
            quote_id=submission.external_ref[:40],
            entity=submission.entity,
            account_id=submission.account_id,
            customer_number=submission.customer_number,
            currency=submission.currency,
            date=order_date,
            requested_date=submission.requested_date,
            lines=[
                QuoteLine(
                    line_no=line.line_no or i + 1,
                    sku=line.sku,
                    quantity=line.quantity,
                    uom=line.uom,
                    quoted_unit_price=_net(line.unit_price, line.discount_percent or Decimal(0)),
                    requested_date=line.requested_date,
                    warehouse=line.warehouse,
                )
                for i, line in enumerate(submission.lines)
            ],
        )
        result = await self.process.validate_quote(quote, deadline, correlation_id)
        blocking = tuple(
            r
            for r in result.reasons
            if r.severity == "block"
            and (r.code in _ALWAYS_BLOCKING or self.policy.mode(submission.entity) == "block")
        )
        if blocking:
            raise OrderRefusedError("; ".join(r.message for r in blocking)[:1000], reasons=blocking)
        return tuple(result.reasons)

    # ------------------------------------------------------------------ read

    async def view(self, order_id: str) -> OrderView | None:
        async with self.db.transaction() as conn:
            order = await order_rows.get_order(conn, order_id)
            if order is None:
                return None
            return await self._view(conn, order)

    async def by_external_ref(self, external_ref: str, entity: str | None) -> list[OrderView]:
        async with self.db.transaction() as conn:
            found = await order_rows.find_by_external_ref(conn, external_ref, entity)
            return [await self._view(conn, order) for order in found]

    async def _view(self, conn: AsyncConnection, order: StoredOrder) -> OrderView:
        events = await order_rows.events_of(conn, order.id)
        failed = await failures_for(conn, "order", order.id)
        return OrderView(
            id=order.id,
            external_ref=order.external_ref,
            entity=order.entity,
            erp=order.erp,
            status=order.status,
            erp_order_number=order.erp_order_id,
            erp_status=order.erp_status,
            account_id=order.account_id,
            customer_number=order.customer_id,
            currency=str(order.request.get("currency", "")),
            warnings=msgspec.convert(order.warnings, list[Reason]),
            lines=[
                LineConfirmation(
                    line_no=int(ln["line_no"]),
                    item_id=str(ln["item_id"]),
                    quantity=Decimal(ln["quantity"]),
                    uom=str(ln["uom"]),
                    unit_price=None if ln["unit_price"] is None else Decimal(ln["unit_price"]),
                    status=str(ln["status"]),
                )
                for ln in order.erp_lines or []
            ],
            attempts=order.attempts,
            timeline=[
                TimelineEntry(at=e.at, status=msgspec.convert(e.status, _Status), cause=e.cause)
                for e in events
            ],
            failures=[
                FailureView(
                    category=f.category,
                    system=f.system,
                    retryable=f.retryable,
                    vendor_code=f.vendor_code,
                    vendor_message=f.vendor_message,
                    vendor_field=f.vendor_field,
                    attempts=f.attempts,
                    status=f.status,
                    at=f.updated_at,
                )
                for f in failed
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            booked_at=order.booked_at,
        )

    async def wait_for_final(self, order_id: str, timeout_s: float) -> OrderView | None:
        """The order once booked, rejected or needing attention, or as it is after ``timeout_s``."""
        end = time.monotonic() + timeout_s
        pause = 0.02
        while True:
            current = await self.view(order_id)
            if current is None or current.status in ("booked", "rejected", "needs_attention"):
                return current
            left = end - time.monotonic()
            if left <= 0:
                return current
            await self.clock.sleep(min(pause, left))
            pause = min(pause * 2, 0.2)


_Status = Literal["accepted", "submitting", "booked", "rejected", "retrying", "needs_attention"]


def _net(unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    if not discount_percent:
        return unit_price
    return (unit_price * (_HUNDRED - discount_percent) / _HUNDRED).quantize(Decimal("0.000001"))
