"""Error classes and how the queue treats them.

The class is the ``category`` a flow gives its failure. Transient classes — the backend was
unreachable, slow, rate-limited or locked — are retried automatically with backoff; every
other class waits for a person (fix the data, edit the payload and replay, or discard).
"""

from __future__ import annotations

from dataclasses import dataclass

from store import NewFailure

__all__ = ["TRANSIENT_CLASSES", "RetryPolicy", "error_key", "is_transient"]

TRANSIENT_CLASSES = frozenset({"connection", "timeout", "rate_limit", "lock"})


def is_transient(failure: NewFailure) -> bool:
    return failure.retryable and failure.category in TRANSIENT_CLASSES


def error_key(failure: NewFailure) -> str:
    """What makes two failures of one record "the same error": class, vendor code and field."""
    parts = (failure.category, (failure.vendor_code or "").strip(), (failure.vendor_field or ""))
    return "|".join(parts)[:200]


@dataclass(frozen=True)
class RetryPolicy:
    """Automatic retries of transient failures: ``base_s · 2^(n-1)``, capped at ``max_s``."""

    base_s: float = 60.0
    max_s: float = 3600.0
    max_auto_retries: int = 8
    """After this many automatic retries the record waits for a person (status ``open``)."""
    batch: int = 100
    """Records one sweep retries at most."""

    def backoff_s(self, retry: int) -> float:
        return float(min(self.max_s, self.base_s * 2 ** max(0, retry - 1)))
