"""The read routes' usual requests, answered inside the request gate: the same answers the
routes give, kept as bytes while the memo holds them, and every unusual request left to the
route, which answers it as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.examples import ATP_EXAMPLE, CREDIT_EXAMPLE, PRICE_CHECK_EXAMPLE, VALIDATE_QUOTE_EXAMPLE
from app.factory import create_app
from sandbox.infor import Fault as InforFault
from tests.support.apps import TEST_API_KEY, client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox

ROUTES = {
    "/process/v1/price-check": PRICE_CHECK_EXAMPLE.value,
    "/process/v1/atp": ATP_EXAMPLE.value,
    "/process/v1/credit-check": CREDIT_EXAMPLE.value,
    "/process/v1/validate-quote": VALIDATE_QUOTE_EXAMPLE.value,
}
QUOTE_URL = "/process/v1/validate-quote"
QUOTE = json.dumps(VALIDATE_QUOTE_EXAMPLE.value).encode()
JSON = {"content-type": "application/json"}
PER_REQUEST = {"x-correlation-id", "ratelimit-remaining", "ratelimit-reset", "content-length"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[TestClient[Litestar]]:
    sandbox.infor.clear_faults()
    with client_for(create_app(settings_for(**sandbox.env))) as c:  # type: ignore[arg-type]
        yield c


def _memo(client: TestClient[Litestar]) -> Any:
    return client.app.state.services.process.memo


def _chunked(body: bytes) -> Iterator[bytes]:
    """A body without a Content-Length: the lane leaves such a request to the route."""
    yield body


def _without_elapsed(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "elapsedMs"}


@pytest.mark.parametrize("url", list(ROUTES))
def test_the_lane_answers_what_the_route_answers(client: TestClient[Litestar], url: str) -> None:
    body = json.dumps(ROUTES[url]).encode()
    by_lane = client.post(url, content=body, headers=JSON)
    assert _memo(client).encoded_entries == 1  # the lane answered, and kept the bytes
    by_route = client.post(url, content=_chunked(body), headers=JSON)

    assert (by_route.status_code, by_lane.status_code) == (200, 200)
    assert _memo(client).hits == 1  # the route found the remembered answer
    assert _without_elapsed(by_lane.json()) == _without_elapsed(by_route.json())
    assert {k: v for k, v in by_lane.headers.items() if k not in PER_REQUEST} == {
        k: v for k, v in by_route.headers.items() if k not in PER_REQUEST
    }
    assert by_lane.headers["content-type"] == "application/json"
    assert int(by_lane.headers["content-length"]) == len(by_lane.content)
    assert by_lane.headers["x-correlation-id"] != by_route.headers["x-correlation-id"]


def test_a_repeated_quote_is_sent_from_its_kept_bytes_with_its_own_elapsed_time(
    client: TestClient[Litestar], sandbox: Sandbox
) -> None:
    first = client.post(QUOTE_URL, content=QUOTE, headers=JSON)
    reads = len(sandbox.infor.received)
    # Infor hangs: only the kept answer can answer within 200 ms.
    sandbox.infor.set_fault("*", InforFault(kind="hang"))
    repeats = [
        client.post(QUOTE_URL, content=QUOTE, headers={**JSON, "X-Deadline-Ms": "200"})
        for _ in range(3)
    ]

    assert len(sandbox.infor.received) == reads
    assert _memo(client).hits == 3
    for repeat in repeats:
        assert repeat.status_code == 200
        assert int(repeat.headers["content-length"]) == len(repeat.content)
        answer = repeat.json()  # whole JSON: the time was spliced into its place
        assert _without_elapsed(answer) == _without_elapsed(first.json())
        assert isinstance(answer["elapsedMs"], float)
        assert answer["elapsedMs"] < first.json()["elapsedMs"]
    assert list(repeats[0].json())[-1] == "elapsedMs"


def test_bytes_are_kept_only_for_an_answer_just_built(client: TestClient[Litestar]) -> None:
    """The same quote spelt differently finds the remembered answer, but keeps no bytes for
    it: kept then, they would outlive the answer they encode."""
    first = client.post(QUOTE_URL, content=QUOTE, headers=JSON)
    spaced = client.post(QUOTE_URL, content=QUOTE.replace(b", ", b" ,  "), headers=JSON)

    assert (first.status_code, spaced.status_code) == (200, 200)
    assert _without_elapsed(spaced.json()) == _without_elapsed(first.json())
    assert _memo(client).hits == 1  # the struct memo answered the second
    assert _memo(client).encoded_entries == 1  # bytes kept for the first body only


def test_a_cache_invalidation_drops_the_kept_bytes(client: TestClient[Litestar]) -> None:
    client.post(QUOTE_URL, content=QUOTE, headers=JSON)
    assert _memo(client).encoded_entries == 1
    _memo(client).clear()  # what every invalidation, here or on a replica, does
    assert _memo(client).encoded_entries == 0

    again = client.post(QUOTE_URL, content=QUOTE, headers=JSON)

    assert again.status_code == 200
    assert _memo(client).hits == 0  # built again, not sent from the bytes kept before
    assert _memo(client).encoded_entries == 1


def test_an_answer_built_without_all_its_data_is_not_kept(
    client: TestClient[Litestar], sandbox: Sandbox
) -> None:
    sandbox.infor.set_fault("OIS320MI/GetPriceLine", InforFault(kind="http", status=500))
    degraded = client.post(QUOTE_URL, content=QUOTE, headers=JSON)

    assert degraded.status_code == 200
    assert degraded.json()["priceProvenance"]["status"] != "complete"
    assert _memo(client).encoded_entries == 0


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (QUOTE, {**JSON, "X-Deadline-Ms": "0"}, 422),
        (QUOTE, {**JSON, "X-Deadline-Ms": "soon"}, 422),
        (QUOTE, {"content-type": "text/plain"}, 415),
        (b'{"entity": "US01", "lines": [', JSON, 400),
        (b'{"entity": "US01"}', JSON, 422),
        (b"[" * 40 + b"]" * 40, JSON, 400),
    ],
    ids=["deadline-zero", "deadline-word", "not-json", "truncated", "schema", "too-deep"],
)
def test_unusual_requests_get_the_routes_refusals(
    client: TestClient[Litestar], content: bytes, headers: dict[str, str], status: int
) -> None:
    response = client.post(QUOTE_URL, content=content, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert _memo(client).encoded_entries == 0


def test_a_charset_and_a_deadline_stay_in_the_lane(client: TestClient[Litestar]) -> None:
    response = client.post(
        QUOTE_URL,
        content=QUOTE,
        headers={"content-type": "application/json; charset=utf-8", "X-Deadline-Ms": "2500"},
    )

    assert response.status_code == 200
    assert msgspec.json.decode(response.content)["verdict"] in {"ok", "warn", "block"}
    assert _memo(client).encoded_entries == 1


async def _post_raw(
    app: Any, body: bytes, chunks: list[bytes], asked: list[str]
) -> tuple[int, bytes]:
    """POST the quote straight into the ASGI app, its body arriving as ``chunks``, each with
    ``more_body`` set as granian sends it (a closing empty message only if asked for again)."""
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        message = pending.pop(0)
        asked.append("empty" if not message["body"] else "chunk")
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": QUOTE_URL, "raw_path": QUOTE_URL.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-api-key", TEST_API_KEY.encode()),
        ],
    }  # fmt: skip
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("parts", [1, 3])
def test_the_lane_stops_reading_once_the_content_length_is_in(
    client: TestClient[Litestar], parts: int
) -> None:
    """Asking for the closing empty message would cost a round trip to granian's I/O thread
    for nothing: the lane answers once it holds Content-Length bytes."""
    size = -(-len(QUOTE) // parts)
    chunks = [QUOTE[i : i + size] for i in range(0, len(QUOTE), size)]
    asked: list[str] = []

    status, content = client.blocking_portal.call(_post_raw, client.app, QUOTE, chunks, asked)

    assert status == 200
    assert msgspec.json.decode(content)["verdict"] in {"ok", "warn", "block"}
    assert asked == ["chunk"] * parts  # never the closing empty message
    assert _memo(client).encoded_entries == 1  # the lane answered, not the route
