"""A short-lived memo of whole answers, for the quote a rep re-validates while editing.

Lightning components ask the same question many times a minute. When an answer was built
entirely from fresh data (every section complete, nothing degraded), the same request within
``ttl_s`` gets the same answer without re-reading the cache per line. Any cache invalidation,
here or on a replica, clears the memo, so an invalidated price is never served from it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import cachetools
import msgspec

from process_apis.fanout import Capability
from system_apis.resilience import Deadline

__all__ = ["Remembered", "ResultMemo"]

Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)


class ResultMemo:
    def __init__(self, ttl_s: float, max_entries: int = 20_000) -> None:
        self._entries: cachetools.TTLCache[bytes, Any] | None = (
            cachetools.TTLCache(maxsize=max_entries, ttl=ttl_s) if ttl_s > 0 else None
        )
        self.hits = 0

    @staticmethod
    def key(capability: str, request: msgspec.Struct) -> bytes:
        return capability.encode() + b"\0" + msgspec.msgpack.encode(request)

    def get(self, key: bytes) -> Any | None:
        if self._entries is None:
            return None
        value = self._entries.get(key)
        if value is not None:
            self.hits += 1
        return value

    def put(self, key: bytes, value: Any) -> None:
        if self._entries is not None:
            self._entries[key] = value

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()


class Remembered(Generic[Req, Res]):
    """A capability behind the memo: an identical request within the memo's lifetime gets the
    answer built before, provided every section of it was complete and not degraded."""

    def __init__(self, capability: Capability[Req, Res], memo: ResultMemo) -> None:
        self._capability = capability
        self._memo = memo

    async def __call__(
        self, request: Req, deadline: Deadline, correlation_id: str | None = None
    ) -> Res:
        key = ResultMemo.key(self._capability.name, request)
        remembered: Res | None = self._memo.get(key)
        if remembered is not None:
            return remembered
        result = await self._capability(request, deadline, correlation_id)
        if all(
            section.status == "complete" and not section.degraded
            for section in self._capability.sections(result)
        ):
            self._memo.put(key, result)
        return result
