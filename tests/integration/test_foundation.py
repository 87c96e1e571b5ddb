"""The gateway's behaviour every caller sees: health, problem+json errors, correlation ids."""

from __future__ import annotations

import json
import logging
from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from app.factory import create_app
from tests.support.apps import client_for, gateway, settings_for


class Echo(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str = msgspec.field()
    count: int


def _app_with_test_routes(**env: str) -> Litestar:
    app = create_app(settings_for(**env))

    @post("/test/echo", sync_to_thread=False)
    def echo(data: JSONBody[Echo]) -> Echo:
        return data

    @post("/test/boom", sync_to_thread=False)
    def boom(data: JSONBody[dict[str, Any]]) -> None:
        raise RuntimeError("db password=hunter2 leaked in an exception")

    app.register(echo)
    app.register(boom)
    return app


@pytest.fixture
def client() -> Any:
    with client_for(_app_with_test_routes(max_body_bytes="2048")) as c:
        yield c


def _is_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "/problems/" + code.replace("_", "-")
    assert body["title"]
    assert body["detail"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return body


def test_liveness_answers_ok() -> None:
    with gateway() as c:
        response = c.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_without_backends_is_ready() -> None:
    with gateway() as c:
        response = c.get("/health/ready")
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "ready")
    assert list(body["checks"]) == ["store"]  # the order store is always there
    assert body["checks"]["store"]["status"] == "up"


@pytest.mark.redis
def test_readiness_reports_redis_latency(redis_url: str) -> None:
    with gateway(redis_url=redis_url) as c:
        body = c.get("/health/ready").json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"]["status"] == "up"
    assert body["checks"]["redis"]["latency_ms"] >= 0


def test_readiness_is_degraded_not_failed_when_optional_redis_is_down() -> None:
    with gateway(redis_url="redis://127.0.0.1:1/0") as c:
        response = c.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"]["status"] == "down"


def test_unknown_path_is_404_problem(client: TestClient[Litestar]) -> None:
    _is_problem(client.get("/no/such/thing"), 404, "not_found")


def test_wrong_method_is_405_problem_with_allow(client: TestClient[Litestar]) -> None:
    response = client.delete("/health/live")
    _is_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_400_problem(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/test/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    _is_problem(response, 400, "bad_request")


def test_unknown_field_is_422_with_pointer(client: TestClient[Litestar]) -> None:
    response = client.post("/test/echo", json={"name": "a", "count": 1, "colour": "red"})
    body = _is_problem(response, 422, "validation_error")
    assert any("colour" in e["detail"] for e in body["errors"])


def test_wrong_type_is_422_with_pointer_to_the_field(client: TestClient[Litestar]) -> None:
    response = client.post("/test/echo", json={"name": "a", "count": "many"})
    body = _is_problem(response, 422, "validation_error")
    assert body["errors"][0]["pointer"] == "/count"


def test_wrong_content_type_is_415_problem(client: TestClient[Litestar]) -> None:
    response = client.post("/test/echo", content=b"name=a", headers={"content-type": "text/plain"})
    _is_problem(response, 415, "unsupported_media_type")


def test_oversized_body_is_413_problem(client: TestClient[Litestar]) -> None:
    response = client.post("/test/echo", json={"name": "x" * 5000, "count": 1})
    _is_problem(response, 413, "payload_too_large")


def test_unhandled_exception_is_500_problem_without_trace_or_secret(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="isthmus.errors"):
        response = client.post("/test/boom", json={})
    body = _is_problem(response, 500, "internal_error")
    text = json.dumps(body)
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_caller_correlation_id_is_echoed() -> None:
    with gateway() as c:
        response = c.get("/health/live", headers={"X-Correlation-ID": "sf-req-0042"})
    assert response.headers["x-correlation-id"] == "sf-req-0042"


@pytest.mark.parametrize(
    "bad", ["x" * 200, "a b", "id\r\nX-Evil: 1".replace("\r\n", "%0d%0a"), "<script>"]
)
def test_unsafe_correlation_id_is_replaced(bad: str) -> None:
    with gateway() as c:
        response = c.get("/health/live", headers={"X-Correlation-ID": bad})
    echoed = response.headers["x-correlation-id"]
    assert echoed != bad
    assert len(echoed) == 32


def test_each_request_without_id_gets_a_fresh_one() -> None:
    with gateway() as c:
        first = c.get("/health/live").headers["x-correlation-id"]
        second = c.get("/health/live").headers["x-correlation-id"]
    assert first != second


def test_docs_and_spec_are_served() -> None:
    with gateway() as c:
        docs = c.get("/docs")
        spec = c.get("/openapi.json")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "Isthmus"
