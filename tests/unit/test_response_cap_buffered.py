"""``send_capped`` over a transport that hands back an answer already read (as the gateway's
pooled one does): the same cap, the same stored form, without streaming it again."""

from __future__ import annotations

import httpx
import pytest

from system_apis.response_cap import ResponseTooLargeError, send_capped


def _client(response: httpx.Response) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))


async def test_an_answer_within_the_cap_is_stored_with_headers_for_its_body() -> None:
    wire = httpx.Response(200, headers={"content-encoding": "identity"}, content=b"x" * 10)
    async with _client(wire) as http:
        response = await send_capped(http, "GET", "http://erp.test/", max_bytes=10)
    assert response.content == b"x" * 10
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == "10"
    assert response.request.url == "http://erp.test/"


async def test_an_answer_without_wire_headers_is_handed_back_as_it_came() -> None:
    answer = httpx.Response(200, headers=[(b"content-type", b"application/json")], content=b"{}")
    del answer.headers["content-length"]
    async with _client(answer) as http:
        response = await send_capped(http, "POST", "http://erp.test/x", max_bytes=2, content=b"{}")
    assert response is answer
    assert response.json() == {}


async def test_an_answer_past_the_cap_is_refused() -> None:
    async with _client(httpx.Response(200, content=b"x" * 11)) as http:
        with pytest.raises(ResponseTooLargeError):
            await send_capped(http, "GET", "http://erp.test/", max_bytes=10)


async def test_an_announced_length_past_the_cap_is_refused() -> None:
    answer = httpx.Response(200, headers={"content-length": "5000"}, content=b"abc")
    async with _client(answer) as http:
        with pytest.raises(ResponseTooLargeError):
            await send_capped(http, "GET", "http://erp.test/", max_bytes=100)
