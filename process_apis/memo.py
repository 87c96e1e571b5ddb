"""A short-lived memo of whole answers, for the quote a rep re-validates while editing.

Lightning components ask the same question many times a minute. When an answer was built
entirely from fresh data (every section complete, nothing degraded), the same request within
``ttl_s`` gets the same answer without re-reading the cache per line. Any cache invalidation,
here or on a replica, clears the memo, so an invalidated price is never served from it.

While the memo is on, identical requests that arrive while the answer is being built wait for
that one build instead of each starting their own: when a remembered answer expires under load,
every request in flight would otherwise rebuild it at once (a line's reads times the requests
in flight), and the slowest of them set the tail latency.
"""

from __future__ import annotations

import asyncio
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
        self.generation = 0
        """Counts clears: an answer whose build began before one is neither kept nor shared."""

    @staticmethod
    def key(capability: str, request: msgspec.Struct) -> bytes:
        return capability.encode() + b"\0" + msgspec.msgpack.encode(request)

    @property
    def enabled(self) -> bool:
        return self._entries is not None

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
        self.generation += 1
        if self._entries is not None:
            self._entries.clear()


class Remembered(Generic[Req, Res]):
    """A capability behind the memo: an identical request within the memo's lifetime gets the
    answer built before, provided every section of it was complete and not degraded; one that
    arrives while that answer is being built waits for it (see the module's docstring)."""

    def __init__(self, capability: Capability[Req, Res], memo: ResultMemo) -> None:
        self._capability = capability
        self._memo = memo
        self._building: dict[bytes, tuple[asyncio.Task[Res], float, int]] = {}
        """Answers being built: the task, its deadline instant and the memo's generation."""

    async def __call__(
        self, request: Req, deadline: Deadline, correlation_id: str | None = None
    ) -> Res:
        key = ResultMemo.key(self._capability.name, request)
        remembered: Res | None = self._memo.get(key)
        if remembered is not None:
            return remembered
        if not self._memo.enabled:
            return await self._capability(request, deadline, correlation_id)
        building = self._building.get(key)
        generation = self._memo.generation
        if building is not None and building[1] <= deadline.at and building[2] == generation:
            # That build ends by its own deadline, which is no later than ours.
            return await asyncio.shield(building[0])
        task = asyncio.ensure_future(
            self._build(key, request, deadline, correlation_id, generation)
        )
        task.add_done_callback(_retrieve)
        if building is None or building[2] != generation:
            self._building[key] = (task, deadline.at, generation)
        # Shielded: a caller that leaves (a closed connection) does not cancel the build that
        # other callers wait for.
        return await asyncio.shield(task)

    async def _build(
        self,
        key: bytes,
        request: Req,
        deadline: Deadline,
        correlation_id: str | None,
        generation: int,
    ) -> Res:
        try:
            result = await self._capability(request, deadline, correlation_id)
            if self._memo.generation == generation and all(
                section.status == "complete" and not section.degraded
                for section in self._capability.sections(result)
            ):
                self._memo.put(key, result)
            return result
        finally:
            building = self._building.get(key)
            if building is not None and building[0] is asyncio.current_task():
                del self._building[key]


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a build's failure as seen even when every caller waiting for it has left."""
    if not task.cancelled():
        task.exception()
