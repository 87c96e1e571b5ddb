"""The resilience policy around every ERP call: deadlines, retries, breakers and bulkheads.

- ``deadline``: a request's time budget (``Deadline``, on a ``Clock``) and the guard that turns
  it into each call's timeout (``remaining_seconds``).
- ``retry``: what a read is retried on, the backoff, and the retry budget.
- ``breaker``: the circuit breaker per ERP company.
- ``bulkhead``: caps on calls in flight, per process (``LocalSlots``) or across replicas
  through Redis (``SharedSlots``).
- ``ratelimit``: a client-side request rate (``RequestRate``) for gateways that refuse
  requests beyond one, refusing at once a wait that would outlast the caller's deadline.
- ``backend``: ``ResilientBackend``, which wraps an adapter with all of the above.
"""

from system_apis.resilience.backend import (
    BulkheadFullError,
    CircuitOpenError,
    ResiliencePolicy,
    ResilienceSnapshot,
    ResilientBackend,
)
from system_apis.resilience.breaker import (
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
)
from system_apis.resilience.bulkhead import ConcurrencySlots, LocalSlots, SharedSlots
from system_apis.resilience.deadline import MONOTONIC, Clock, Deadline, remaining_seconds
from system_apis.resilience.ratelimit import RateWaitTooLong, RequestRate
from system_apis.resilience.retry import RetryPolicy

__all__ = [
    "MONOTONIC",
    "BreakerPolicy",
    "BreakerSnapshot",
    "BreakerState",
    "BulkheadFullError",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "ConcurrencySlots",
    "Deadline",
    "LocalSlots",
    "RateWaitTooLong",
    "RequestRate",
    "ResiliencePolicy",
    "ResilienceSnapshot",
    "ResilientBackend",
    "RetryPolicy",
    "SharedSlots",
    "remaining_seconds",
]
