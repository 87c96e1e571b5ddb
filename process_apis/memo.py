"""A short-lived memo of whole answers, for the quote a rep re-validates while editing.

Lightning components ask the same question many times a minute. When an answer was built
entirely from fresh data (every section complete, nothing degraded), the same request within
``ttl_s`` gets the same answer without re-reading the cache per line. Any cache invalidation,
here or on a replica, clears the memo, so an invalidated price is never served from it.

While the memo is on, identical requests that arrive while the answer is being built wait for
that one build instead of each starting their own: when a remembered answer expires under load,
every request in flight would otherwise rebuild it at once (a line's reads times the requests
in flight), and the slowest of them set the tail latency. With the cache off the memo keeps
nothing, but may still share builds in flight (``share_builds``): the answer is as live as a
build of one's own, made of ERP answers given after the request arrived.

A remembered answer can also be kept as the bytes it was sent as, keyed by the exact body that
asked for it (``encoded``/``keep_encoded``): the gateway then answers a repeated request without
decoding it or encoding the answer again. Those bytes live exactly as long as the answer they
encode (same lifetime, cleared together): they are kept only for an answer the memo has just
taken in, never for one it held already.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, NamedTuple, TypeVar

import cachetools
import msgspec

from process_apis.fanout import Capability
from system_apis.resilience import Deadline

__all__ = ["EncodedAnswer", "Remembered", "ResultMemo"]

Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)


class EncodedAnswer(NamedTuple):
    """An answer as sent: ``head`` alone, or ``head``, the time this request took, ``tail``
    (an answer that reports its own elapsed time differs per request in that one value)."""

    head: bytes
    tail: bytes | None = None


def _encoded_size(answer: EncodedAnswer) -> int:
    return len(answer.head) + len(answer.tail or b"")


class ResultMemo:
    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 20_000,
        max_encoded_bytes: int = 32 * 2**20,
        *,
        share_builds: bool = False,
    ) -> None:
        """``max_encoded_bytes`` bounds the encoded answers (bodies of any size may key them).

        ``share_builds``: with no lifetime (``ttl_s`` 0, the cache off), identical requests in
        flight at once still wait for one build of the answer, which is live; nothing is kept.
        """
        self._entries: cachetools.TTLCache[bytes, Any] | None = (
            cachetools.TTLCache(maxsize=max_entries, ttl=ttl_s) if ttl_s > 0 else None
        )
        self._encoded: cachetools.TTLCache[bytes, EncodedAnswer] | None = (
            cachetools.TTLCache(maxsize=max_encoded_bytes, ttl=ttl_s, getsizeof=_encoded_size)
            if ttl_s > 0
            else None
        )
        self._max_encoded_bytes = max_encoded_bytes
        self._share_builds = share_builds or ttl_s > 0
        self.hits = 0
        self.waiting = 0
        """Callers waiting now for an identical request's build."""
        self.generation = 0
        """Counts clears: an answer whose build began before one is neither kept nor shared."""

    @staticmethod
    def key(capability: str, request: msgspec.Struct) -> bytes:
        return capability.encode() + b"\0" + msgspec.msgpack.encode(request)

    @property
    def enabled(self) -> bool:
        """Answers are remembered for a while."""
        return self._entries is not None

    @property
    def shares_builds(self) -> bool:
        """Identical requests in flight at once wait for one build."""
        return self._share_builds

    def get(self, key: bytes) -> Any | None:
        if self._entries is None:
            return None
        value = self._entries.get(key)
        if value is not None:
            self.hits += 1
        return value

    def holds(self, key: bytes, value: Any) -> bool:
        """Is ``value`` the answer remembered for ``key`` (not merely an equal one)?"""
        return self._entries is not None and self._entries.get(key) is value

    def put(self, key: bytes, value: Any) -> None:
        if self._entries is not None:
            self._entries[key] = value

    @property
    def encoded_entries(self) -> int:
        """How many answers are kept as bytes (for operators and tests)."""
        return 0 if self._encoded is None else len(self._encoded)

    @staticmethod
    def encoded_key(capability: str, body: bytes) -> bytes:
        return capability.encode() + b"\0" + body

    def encoded(self, key: bytes) -> EncodedAnswer | None:
        """The bytes of an answer kept for this exact request body, if still remembered."""
        if self._encoded is None:
            return None
        value = self._encoded.get(key)
        if value is not None:
            self.hits += 1
        return value

    def keep_encoded(self, key: bytes, answer: EncodedAnswer) -> None:
        """Keep an answer's bytes; call only for an answer the memo took in just now
        (``Remembered.answer``), with no ``await`` in between (so no clear can fall between
        the check and this, and the bytes expire with the answer). No single
        answer takes more than a 64th of the budget: a few huge ones never evict the rest."""
        if self._encoded is not None and len(key) + _encoded_size(answer) <= (
            self._max_encoded_bytes // 64
        ):
            self._encoded[key] = answer

    def clear(self) -> None:
        self.generation += 1
        if self._entries is not None:
            self._entries.clear()
        if self._encoded is not None:
            self._encoded.clear()


class Remembered(Generic[Req, Res]):
    """A capability behind the memo: an identical request within the memo's lifetime gets the
    answer built before, provided every section of it was complete and not degraded; one that
    arrives while that answer is being built waits for it (see the module's docstring)."""

    def __init__(self, capability: Capability[Req, Res], memo: ResultMemo) -> None:
        self._capability = capability
        self._memo = memo
        self._building: dict[bytes, tuple[asyncio.Task[Res], float, int]] = {}
        """Answers being built: the task, its deadline instant and the memo's generation."""

    @property
    def name(self) -> str:
        return self._capability.name

    async def __call__(
        self, request: Req, deadline: Deadline, correlation_id: str | None = None
    ) -> Res:
        return (await self.answer(request, deadline, correlation_id))[0]

    async def answer(
        self, request: Req, deadline: Deadline, correlation_id: str | None = None
    ) -> tuple[Res, bool]:
        """The answer, and whether the memo took it in just now, from the build this call ran
        or waited for (so its bytes may be kept as well, for the same lifetime). An answer
        the memo already held says ``False``: bytes kept now would outlive it."""
        key = ResultMemo.key(self._capability.name, request)
        remembered: Res | None = self._memo.get(key)
        if remembered is not None:
            return remembered, False
        if not self._memo.shares_builds:
            return await self._capability(request, deadline, correlation_id), False
        building = self._building.get(key)
        generation = self._memo.generation
        if building is not None and building[1] <= deadline.at and building[2] == generation:
            # That build ends by its own deadline, which is no later than ours.
            self._memo.waiting += 1
            try:
                shared = await asyncio.shield(building[0])
            finally:
                self._memo.waiting -= 1
            return shared, self._memo.holds(key, shared)
        task = asyncio.ensure_future(
            self._build(key, request, deadline, correlation_id, generation)
        )
        task.add_done_callback(_retrieve)
        if building is None or building[2] != generation:
            self._building[key] = (task, deadline.at, generation)
        # Shielded: a caller that leaves (a closed connection) does not cancel the build that
        # other callers wait for.
        result = await asyncio.shield(task)
        return result, self._memo.holds(key, result)

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
