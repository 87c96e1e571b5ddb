"""A vendor answer past its size cap is refused with a protocol error, never parsed."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.wiring import build_http_client
from sandbox.infor import InforEmulator
from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as CRED
from system_apis.contract import CallContext
from system_apis.errors import BackendProtocolError
from system_apis.infor_m3 import IonApiCredentials, M3Adapter
from system_apis.sage_intacct import IntacctAdapter
from tests.support.apps import settings_for
from tests.support.servers import serve

CAP = 256 * 1024
THIRTY_MB = 30 * 1024 * 1024
ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _oversized(body: bytes, content_type: bytes, *, how: str) -> ASGI:
    """Answers ``body`` announced with a length, chunked without one, or gzip-compressed."""
    wire = gzip.compress(body, compresslevel=1) if how == "gzip" else body
    headers = [(b"content-type", content_type)]
    if how == "gzip":
        headers.append((b"content-encoding", b"gzip"))
    if how != "chunked":
        headers.append((b"content-length", str(len(wire)).encode()))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if how == "chunked":
            step = 1024 * 1024
            for start in range(0, len(wire), step):
                await send({"type": "http.response.body", "body": wire[start : start + step], "more_body": True})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": wire})

    return app


_INTACCT_XML = b'<?xml version="1.0"?><response>' + b" " * THIRTY_MB + b"</response>"


def _intacct(http: httpx.AsyncClient, url: str) -> IntacctAdapter:
    return IntacctAdapter(
        http,
        endpoint_url=url,
        sender_id=CRED.sender_id,
        sender_password=CRED.sender_password,
        user_id=CRED.user_id,
        company_id=CRED.company_id,
        user_password=CRED.user_password,
        max_response_bytes=CAP,
    )


@pytest.mark.parametrize("how", ["length", "chunked", "gzip"])
async def test_a_30_mb_intacct_answer_is_refused_past_the_cap(how: str) -> None:
    app = _oversized(_INTACCT_XML, b"application/xml", how=how)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        adapter = _intacct(http, "http://intacct.test/ia/xml/xmlgw.phtml")
        with pytest.raises(BackendProtocolError) as refused:
            await adapter.get_item(CallContext(company=CRED.company_id), "WIDGET")

    assert f"larger than the {CAP}-byte cap" in refused.value.message
    assert refused.value.vendor == "sage_intacct"


@pytest.fixture
async def infor_behind_an_oversized_mi(tmp_path: Path) -> AsyncIterator[M3Adapter]:
    emulator = InforEmulator(public_url="http://infor.test")
    huge = _oversized(b'{"results": [' + b" " * THIRTY_MB + b"]}", b"application/json", how="gzip")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        target = huge if "/m3api-rest/" in scope.get("path", "") else emulator.app
        await target(scope, receive, send)

    ionapi = IonApiCredentials.from_file(emulator.write_ionapi(tmp_path / "t.ionapi"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield M3Adapter(http, ionapi=ionapi, max_response_bytes=CAP)


async def test_a_30_mb_infor_answer_is_refused_past_the_cap(
    infor_behind_an_oversized_mi: M3Adapter,
) -> None:
    with pytest.raises(BackendProtocolError) as refused:
        await infor_behind_an_oversized_mi.get_item(
            CallContext(company="100", division="US1"), "A1001"
        )

    assert f"larger than the {CAP}-byte cap" in refused.value.message
    assert refused.value.vendor == "infor_m3"


@pytest.mark.parametrize("how", ["length", "chunked"])
async def test_the_gateways_pooled_client_stops_reading_at_the_cap(how: str) -> None:
    app = _oversized(_INTACCT_XML, b"application/xml", how=how)
    with serve(app) as base:
        http = build_http_client(settings_for())
        try:
            adapter = _intacct(http, f"{base}/ia/xml/xmlgw.phtml")
            with pytest.raises(BackendProtocolError) as refused:
                await adapter.get_item(CallContext(company=CRED.company_id), "WIDGET")
        finally:
            await http.aclose()

    assert f"larger than the {CAP}-byte cap" in refused.value.message
