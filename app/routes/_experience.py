"""What the experience routes share: deadlines, documented error responses, reason titles."""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from app.problems import PROBLEM_JSON, Problem
from app.services import Services
from system_apis.resilience import Deadline

__all__ = ["DeadlineHeader", "deadline_for", "problem_responses", "title_for"]

DeadlineHeader = Annotated[
    int | None,
    HeaderParameter(
        name="X-Deadline-Ms",
        ge=1,
        le=120_000,
        required=False,
        description="Time budget in ms, clamped to the configured range (default 2500).",
    ),
]


def deadline_for(services: Services, requested_ms: int | None) -> Deadline:
    s = services.settings
    return Deadline.within(
        requested_ms,
        default_ms=s.deadline_default_ms,
        min_ms=s.deadline_min_ms,
        max_ms=s.deadline_max_ms,
    )


_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or invalid credential (see WWW-Authenticate)",
    403: "The credential lacks the scope, or is the wrong kind for this API",
    404: "No such account for this partner",
    413: "Body larger than the configured maximum",
    415: "Body is not JSON",
    422: "Invalid input, unknown entity, account or product (with pointers)",
    429: "Rate limit for this client exhausted (Retry-After, RateLimit-* headers)",
    431: "Request headers too large",
    503: "The entity's ERP is not configured, or token keys are unavailable",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


_TITLES = {
    "PRICE_MISMATCH": "Price differs from the ERP",
    "PRICE_NOT_FOUND": "No price in the ERP",
    "PRICE_UNAVAILABLE": "Price could not be checked",
    "INSUFFICIENT_STOCK": "Not enough stock by the requested date",
    "AVAILABILITY_UNAVAILABLE": "Availability could not be checked",
    "CREDIT_HOLD": "Account on credit hold",
    "CREDIT_LIMIT_EXCEEDED": "Credit limit exceeded",
    "CREDIT_OVERDUE": "Account has overdue invoices",
    "CREDIT_UNAVAILABLE": "Credit could not be checked",
    "CUSTOMER_INACTIVE": "Account inactive in the ERP",
    "CUSTOMER_NOT_FOUND": "Account not found in the ERP",
    "CURRENCY_NOT_CONVERTIBLE": "Currency cannot be converted",
    "ITEM_INACTIVE": "Product is inactive",
    "ITEM_NOT_FOUND": "Product not found in the ERP",
    "ITEM_UNAVAILABLE": "Product could not be checked",
    "UOM_NOT_CONVERTIBLE": "Unit not available for this product",
    "DEADLINE_EXCEEDED": "The ERP did not answer in time",
}


def title_for(code: str) -> str:
    """A short display title per reason code (falls back to the code in words)."""
    return _TITLES.get(code) or code.replace("_", " ").capitalize()
