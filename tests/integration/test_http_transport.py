"""The production backend client: httpx's API over aiohttp, against real loopback servers."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.http_transport import AiohttpPoolTransport, LeanAsyncClient
from system_apis.response_cap import ResponseTooLargeError, send_capped
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
    answer = scope["method"].encode() + b" " + body
    if scope["path"].startswith("/compressed/"):
        # As an ERP's edge answers a client that accepts gzip (httpx and aiohttp both say so).
        coding = scope["path"].rsplit("/", 1)[-1]
        answer = _ANSWER * 50
        answer = gzip.compress(answer) if coding == "gzip" else zlib.compress(answer)
        headers += [(b"content-encoding", coding.encode()), (b"vary", b"Accept-Encoding")]
        headers.append((b"content-length", str(len(answer)).encode()))
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


_ANSWER = b'{"results": [{"transaction": "GetBasicData", "records": []}]}'


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


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_compressed_answer_is_read_once_decoded(base_url: str, coding: str) -> None:
    async with _client() as client:
        plain = await client.get(f"{base_url}/compressed/{coding}")
        capped = await send_capped(
            client, "GET", f"{base_url}/compressed/{coding}", max_bytes=len(_ANSWER) * 50
        )
    for response in (plain, capped):
        assert response.status_code == 201
        assert response.content == _ANSWER * 50
        assert "content-encoding" not in response.headers  # the body is no longer encoded
        assert response.headers["vary"] == "Accept-Encoding"


async def test_the_cap_counts_decoded_bytes(base_url: str) -> None:
    # Compressed, the answer is far under the cap; decoded, it is one byte over.
    async with _client() as client:
        with pytest.raises(ResponseTooLargeError):
            await send_capped(
                client, "GET", f"{base_url}/compressed/gzip", max_bytes=len(_ANSWER) * 50 - 1
            )
