"""The gateway in the test's own event loop: its lifespan held open by a task of its own
(entered and left in one task, as anyio requires), requests through ``ASGITransport``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

__all__ = ["running"]


@asynccontextmanager
async def running(app: Litestar, **client: object) -> AsyncIterator[httpx.AsyncClient]:
    started = asyncio.Event()
    stop = asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://ops.test",
            **client,  # type: ignore[arg-type]
        ) as http:
            yield http
    finally:
        stop.set()
        await task
