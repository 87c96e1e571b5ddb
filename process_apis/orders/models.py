"""Order payloads: the canonical order a caller submits, and the order resource it reads back.

Strict in (unknown fields refused, bounded sizes), camelCase on the wire, decimals as strings.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

import msgspec

from process_apis.decimals import DecimalString, plain_decimals
from process_apis.models import (
    AccountId,
    Amount,
    Currency,
    CustomerNumber,
    Entity,
    Quantity,
    Reason,
    Sku,
    Unit,
    WarehouseId,
)

__all__ = [
    "MAX_ORDER_LINES",
    "Address",
    "FailureView",
    "LineConfirmation",
    "OrderLineIn",
    "OrderStatus",
    "OrderSubmission",
    "OrderView",
    "Party",
    "TimelineEntry",
]

MAX_ORDER_LINES = 500
OrderStatus = Literal["accepted", "submitting", "booked", "rejected", "retrying", "needs_attention"]
ExternalRef = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Your order reference: the Salesforce Order (or Opportunity) id. Unique per entity.",
        examples=["801Sbx000000001AAA"],
    ),
]
Dimension = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
PERCENT_PATTERN = r"^(100(\.0{1,6})?|[0-9]{1,2}(\.[0-9]{1,6})?)$"

if TYPE_CHECKING:
    PercentString: TypeAlias = Decimal
else:

    class PercentString(DecimalString):
        """A percentage as a decimal string, 0 to 100 (``process_apis.decimals``)."""

        PATTERN = PERCENT_PATTERN
        SHAPE = 'a string of digits from 0 to 100, at most 6 places after a ".", e.g. "5"'
        _EXACT = re.compile(PERCENT_PATTERN.removesuffix("$") + r"\Z", re.ASCII)


Percent = Annotated[
    PercentString,
    msgspec.Meta(
        extra_json_schema={
            "description": "0 to 100",
            "examples": ["5"],
            "extra": {"pattern": PERCENT_PATTERN},
        }
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=200)]
AddressId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The ERP's own id: an Intacct contact name, an M3 customer address number",
    ),
]


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    def __post_init__(self) -> None:
        plain_decimals(self)


class _Response(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    pass


class Address(_Request, kw_only=True):
    name: Text | None = None
    street: Annotated[list[Text], msgspec.Meta(max_length=4)] = []
    """Street lines (Intacct holds 3, M3 4 of 36 characters)."""
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    region: Text | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class Party(_Request, kw_only=True):
    """Exactly one of: an address the ERP already holds (``addressId``) or one given in full
    (``address``; Intacct keeps it as a contact, M3 on the order)."""

    address_id: AddressId | None = None
    address: Address | None = None


class OrderLineIn(_Request, kw_only=True):
    line_no: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    sku: Sku
    quantity: Quantity
    uom: Unit
    unit_price: Amount
    """Per ``uom``, in the order currency, before ``discountPercent``."""
    discount_percent: Percent | None = None
    tax_amount: Amount | None = None
    """Tax for the line in the order currency, when Salesforce computed it. Intacct receives
    the lines' tax as the order's tax subtotal (``intacct.tax_subtotal``) and each such line
    marked taxable; M3 computes tax from its own tax codes (its order API takes no amount)."""
    requested_date: dt.date | None = None
    warehouse: WarehouseId | None = None
    department: Dimension | None = None
    location: Dimension | None = None
    class_: Dimension | None = msgspec.field(default=None, name="class")
    project: Dimension | None = None
    """Intacct dimensions: department, location, class and project per line."""
    description: Annotated[str, msgspec.Meta(max_length=400)] | None = None


class OrderSubmission(_Request, kw_only=True):
    external_ref: ExternalRef
    entity: Entity
    account_id: AccountId | None = None
    """Salesforce Account id (15 or 18 characters); or give ``customerNumber``."""
    customer_number: CustomerNumber | None = None
    currency: Currency
    order_date: dt.date | None = None
    """Today when omitted."""
    requested_date: dt.date | None = None
    customer_po: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    """Intacct: the first line of the order message; M3: ``YREF`` (at most 30 characters)."""
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    """Intacct: the order message; M3: the order's pre-text."""
    bill_to: Party | None = None
    ship_to: Party | None = None
    lines: Annotated[list[OrderLineIn], msgspec.Meta(min_length=1, max_length=MAX_ORDER_LINES)]


class LineConfirmation(_Response, kw_only=True):
    line_no: int
    item_id: str
    quantity: Decimal
    uom: str
    unit_price: Decimal | None = None
    status: str
    """The ERP's own line status."""


class TimelineEntry(_Response, kw_only=True):
    at: dt.datetime
    status: OrderStatus
    cause: str


class FailureView(_Response, kw_only=True):
    category: str
    """``value``, ``missing_reference``, ``duplicate``, ``closed_period``,
    ``required_dimension``, ``credit``, ``connection``, ``timeout``, ``rate_limit``, ``auth``."""
    system: str
    retryable: bool
    vendor_code: str | None = None
    vendor_message: str | None = None
    vendor_field: str | None = None
    attempts: int
    status: str
    at: dt.datetime


class OrderView(_Response, kw_only=True):
    id: str
    external_ref: str
    entity: str
    erp: str
    status: OrderStatus
    """accepted → submitting → booked | rejected | retrying | needs_attention."""
    erp_order_number: str | None = None
    erp_status: str | None = None
    account_id: str | None = None
    customer_number: str
    currency: str
    warnings: list[Reason] = []
    """What re-validation against the ERP found when the order was accepted."""
    lines: list[LineConfirmation] = []
    """Per-line confirmation from the ERP once booked."""
    attempts: int = 0
    timeline: list[TimelineEntry] = []
    failures: list[FailureView] = []
    created_at: dt.datetime
    updated_at: dt.datetime
    booked_at: dt.datetime | None = None
