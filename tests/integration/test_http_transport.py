"""The production backend client: httpx's API over aiohttp, against real loopback servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.http_transport import AiohttpPoolTransport, LeanAsyncClient
from tests.support.servers import free_port, serve

Scope = dict[str, Any]


async def _echo_app(scope: Scope, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(2)
    headers = [
        (b"content-type", b"text/plain"),
        (b"x-seen-correlation", dict(scope["headers"]).get(b"x-correlation-id", b"")),
    ]
    if scope["path"] == "/cookie":
        headers.append((b"set-cookie", b"session=abc; Path=/"))
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": scope["method"].encode() + b" " + body})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(_echo_app) as url:
        yield url


def _client(**kwargs: Any) -> LeanAsyncClient:
    return LeanAsyncClient(transport=AiohttpPoolTransport(), **kwargs)


async def test_request_and_response_round_trip(base_url: str) -> None:
    async with _client() as client:
        response = await client.post(
            f"{base_url}/echo", content=b"<request/>", headers={"x-correlation-id": "c-1"}
        )
    assert response.status_code == 201
    assert response.text == "POST <request/>"
    assert response.headers["x-seen-correlation"] == "c-1"


async def test_request_hooks_run(base_url: str) -> None:
    async def tag(request: httpx.Request) -> None:
        request.headers["x-correlation-id"] = "from-hook"

    async with _client(event_hooks={"request": [tag]}) as client:
        response = await client.get(f"{base_url}/echo")
    assert response.headers["x-seen-correlation"] == "from-hook"


async def test_cookies_are_never_kept(base_url: str) -> None:
    async with _client() as client:
        await client.get(f"{base_url}/cookie")
        assert len(client.cookies) == 0


async def test_read_timeout_is_an_httpx_timeout(base_url: str) -> None:
    async with _client() as client:
        with pytest.raises(httpx.TimeoutException):
            await client.get(f"{base_url}/slow", timeout=0.2)


async def test_refused_connection_is_an_httpx_connect_error() -> None:
    port = free_port()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", port))  # bound, not listening: connections are refused
        async with _client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")


async def test_concurrent_requests_share_one_pool(base_url: str) -> None:
    async with _client() as client:
        responses = await asyncio.gather(*(client.get(f"{base_url}/echo") for _ in range(50)))
    assert {r.status_code for r in responses} == {201}
