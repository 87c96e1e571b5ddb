"""The reference-data cache: an ``ErpBackend`` that answers from memory and Redis when it can.

- ``backend``: ``CachedBackend``, the wrapper (fresh, stale-while-revalidate, stale-if-error,
  single flight), with its ``CachePolicy`` per data kind; its docstring is the algorithm.
- ``store``: ``TwoLevelCache``, L1 in this process and L2 in Redis shared by every replica,
  with cross-replica invalidation.
- ``keys``: cache keys per data kind, and the patterns that select them for invalidation.
- ``single_flight``: ``SingleFlightBackend``, the single flight alone for a gateway with the
  cache off: identical reads in flight at once share one call.
- ``reads``: each reference read as both wrappers see it (kind, key, call, codec).
- ``passthrough``: what both wrappers leave to the backend they wrap (orders, pings).
"""

from system_apis.cache.backend import (
    CachedBackend,
    CachePolicy,
    CacheSnapshot,
    KindPolicy,
    KindStats,
    WarmReport,
)
from system_apis.cache.keys import KINDS, Kind
from system_apis.cache.single_flight import SingleFlightBackend
from system_apis.cache.store import InvalidationResult, TwoLevelCache, TwoLevelStats

__all__ = [
    "KINDS",
    "CachePolicy",
    "CacheSnapshot",
    "CachedBackend",
    "InvalidationResult",
    "Kind",
    "KindPolicy",
    "KindStats",
    "SingleFlightBackend",
    "TwoLevelCache",
    "TwoLevelStats",
    "WarmReport",
]
