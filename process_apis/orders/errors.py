"""Refusals of order submission: problem+json via ``app/errors.py`` like every ProcessError."""

from __future__ import annotations

from process_apis.errors import ProcessError
from process_apis.models import Reason

__all__ = [
    "IdempotencyKeyInFlightError",
    "IdempotencyKeyReusedError",
    "OrderError",
    "OrderExistsError",
    "OrderRefusedError",
]


class OrderError(ProcessError):
    """An order refusal; ``order_id`` names the order it concerns, when there is one."""

    order_id: str | None = None
    reasons: tuple[Reason, ...] = ()


class IdempotencyKeyReusedError(OrderError):
    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency-Key already used for a different request"


class IdempotencyKeyInFlightError(OrderError):
    status = 409
    code = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed"


class OrderExistsError(OrderError):
    status = 409
    code = "order_exists"
    title = "An order with this external reference already exists"

    def __init__(self, detail: str, *, order_id: str) -> None:
        super().__init__(detail, pointer="/externalRef")
        self.order_id = order_id


class OrderRefusedError(OrderError):
    """Re-validation against the ERP found blocking problems (the entity's policy is block)."""

    status = 422
    code = "order_refused"
    title = "The order does not pass validation against the ERP"

    def __init__(self, detail: str, *, reasons: tuple[Reason, ...]) -> None:
        super().__init__(detail)
        self.reasons = reasons
