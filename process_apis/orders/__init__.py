"""Orders to the ERP, exactly once: acceptance (idempotent, re-validated) and the worker."""

from process_apis.orders.classify import Classified, classify
from process_apis.orders.clock import Clock, SystemClock
from process_apis.orders.errors import (
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    OrderError,
    OrderExistsError,
    OrderRefusedError,
)
from process_apis.orders.models import OrderSubmission, OrderView
from process_apis.orders.service import SUBMIT_ORDER, OrderPolicy, OrderService, StoredResponse
from process_apis.orders.worker import OrderWorker, WorkerPolicy

__all__ = [
    "SUBMIT_ORDER",
    "Classified",
    "Clock",
    "IdempotencyKeyInFlightError",
    "IdempotencyKeyReusedError",
    "OrderError",
    "OrderExistsError",
    "OrderPolicy",
    "OrderRefusedError",
    "OrderService",
    "OrderSubmission",
    "OrderView",
    "OrderWorker",
    "StoredResponse",
    "SystemClock",
    "WorkerPolicy",
    "classify",
]
