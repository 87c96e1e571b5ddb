"""The exception queue: every failure of every flow as one workable record.

Flows report through ``capture`` (and ``resolve`` when a later attempt succeeds), inside their
own transaction. People work the queue through ``ExceptionQueue``; ``ExceptionSweeper`` does
the automatic part (retries with backoff, pause/resume with the backend's breaker, audit
retention). Each flow that can be retried from the queue registers a ``FlowHandler``.
"""

from process_apis.exceptions.capture import Captured, capture, resolve
from process_apis.exceptions.classes import TRANSIENT_CLASSES, RetryPolicy, error_key
from process_apis.exceptions.diff import json_diff
from process_apis.exceptions.errors import (
    ActionRefusedError,
    ExceptionNotFoundError,
    InvalidPayloadError,
)
from process_apis.exceptions.flows import ORDER_SUBMIT, FlowHandler, OrderSubmitFlow, TimelineItem
from process_apis.exceptions.queue import BulkResult, Detail, ExceptionQueue, Page
from process_apis.exceptions.redact import MASK, Redactor
from process_apis.exceptions.sweeper import BreakerProbe, ExceptionSweeper, SweepReport
from store.exceptions import ExceptionFilter

__all__ = [
    "MASK",
    "ORDER_SUBMIT",
    "TRANSIENT_CLASSES",
    "ActionRefusedError",
    "BreakerProbe",
    "BulkResult",
    "Captured",
    "Detail",
    "ExceptionFilter",
    "ExceptionNotFoundError",
    "ExceptionQueue",
    "ExceptionSweeper",
    "FlowHandler",
    "InvalidPayloadError",
    "OrderSubmitFlow",
    "Page",
    "Redactor",
    "RetryPolicy",
    "SweepReport",
    "TimelineItem",
    "capture",
    "error_key",
    "json_diff",
    "resolve",
]
