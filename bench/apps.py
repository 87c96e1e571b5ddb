"""Apps the benchmark runs beside the gateway: the hello-world ceiling and the backend-hop probe.

Both are app factories for granian (``--factory``), configured by environment variables.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from litestar import Litestar, get

from app.settings import load_settings
from app.wiring import build_http_client


def hello_app() -> Litestar:
    @get("/", sync_to_thread=False)
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return Litestar([hello], logging_config=None)


def hop_app() -> Litestar:
    """One endpoint per client under test, each making one upstream GET per request."""
    upstream = os.environ["HOP_UPSTREAM"]
    clients: dict[str, Any] = {}

    async def startup() -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        clients["default"] = httpx.AsyncClient(limits=limits)
        clients["aiohttp_transport"] = httpx.AsyncClient(
            transport=AiohttpTransport(), limits=limits
        )
        clients["isthmus"] = build_http_client(load_settings({}))
        clients["raw"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

    async def shutdown() -> None:
        for name in ("default", "aiohttp_transport", "isthmus"):
            await clients[name].aclose()
        await clients["raw"].close()

    async def via_httpx(name: str) -> dict[str, int]:
        response = await clients[name].get(upstream)
        return {"status": response.status_code}

    @get("/hop/httpx-default")
    async def hop_default() -> dict[str, int]:
        return await via_httpx("default")

    @get("/hop/httpx-aiohttp")
    async def hop_aiohttp_transport() -> dict[str, int]:
        return await via_httpx("aiohttp_transport")

    @get("/hop/isthmus")
    async def hop_isthmus() -> dict[str, int]:
        return await via_httpx("isthmus")

    @get("/hop/aiohttp")
    async def hop_raw() -> dict[str, int]:
        async with clients["raw"].get(upstream) as response:
            await response.read()
            return {"status": response.status}

    return Litestar(
        [hop_default, hop_aiohttp_transport, hop_isthmus, hop_raw],
        on_startup=[startup],
        on_shutdown=[shutdown],
        logging_config=None,
    )
