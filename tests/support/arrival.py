"""Requests that arrived earlier than they are handled, for the emulators' latency tests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.arrival import ARRIVED
from sandbox.latency import DueTimes


def client_arrived_at(app: Any, at: float, **client: Any) -> httpx.AsyncClient:
    """A client of ``app`` whose every request carries the arrival stamp ``at``, as the
    sandbox's HTTP protocol stamps it (``time.monotonic``)."""

    async def stamped(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "extensions": {ARRIVED: {"at": at}}}, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=stamped), **client)


def record_work_times(
    due_times: DueTimes, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[float, float]]:
    """``(arrived, due)`` of every delayed request from now on; each is worked out at once."""
    waits: list[tuple[float, float]] = []

    async def until_work(arrived_at: float, due: float) -> None:
        waits.append((arrived_at, due))

    monkeypatch.setattr(due_times, "until_work", until_work)
    return waits
