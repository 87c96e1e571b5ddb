"""Traces, metrics and ops endpoints, read the way an operator's tools read them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from app.correlation import (
    CorrelationMiddleware,
    reset_correlation_id,
    reset_traceparent,
    set_correlation_id,
    set_traceparent,
)
from app.factory import create_app
from app.observability import Tracing
from app.observability.server_spans import ServerSpanMiddleware
from app.security import OPS_ADMIN, hash_api_key
from app.settings import ApiKeySetting, Settings, load_settings
from app.wiring import build_http_client
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox
from tests.support.servers import serve

OPS_KEY = "isk_test_ops_51e0a7c3d9"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
QUOTE = {
    "entity": "US01",
    "accountId": salesforce_account_id(6),
    "currency": "USD",
    "lines": [{"sku": "SKU-0006", "quantity": "1", "uom": "Each", "quotedUnitPrice": "1.00"}],
}


def _requoted(quote: dict[str, Any], price: str) -> dict[str, Any]:
    """The same quote at another price: same ERP lookups, a different question."""
    return {**quote, "lines": [{**line, "quotedUnitPrice": price} for line in quote["lines"]]}


def _with_ops_key(settings: Settings) -> Settings:
    ops = ApiKeySetting(client="tests-ops", key_sha256=hash_api_key(OPS_KEY), scopes=[OPS_ADMIN])
    security = msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, ops]
    )
    return msgspec.structs.replace(settings, security=security)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(sandbox: Sandbox, spans: InMemorySpanExporter) -> Iterator[TestClient[Litestar]]:
    settings = _with_ops_key(settings_for(**sandbox.env, observability__tracing="true"))
    with client_for(create_app(settings, span_exporter=spans)) as c:
        yield c


def _metrics(client: TestClient[Litestar]) -> dict[str, list[Any]]:
    response = client.get("/metrics", headers={"X-API-Key": OPS_KEY})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        families.setdefault(family.name, []).extend(family.samples)
    return families


def test_request_has_server_erp_and_http_spans_in_the_callers_trace(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    response = client.post(
        "/process/v1/validate-quote", json=QUOTE, headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 200
    recorded = spans.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in recorded} == {TRACE_ID}
    server = [s for s in recorded if s.kind.name == "SERVER"]
    assert server
    erp = [
        s
        for s in recorded
        if s.kind.name == "CLIENT" and s.attributes.get("isthmus.vendor") == "infor_m3"
    ]
    operations = {s.attributes["isthmus.operation"] for s in erp}
    assert {"get_customer_credit", "get_item", "get_price", "get_availability"} <= operations
    for span in erp:
        assert span.attributes["isthmus.entity"] == "100/US1"
        assert span.attributes["isthmus.outcome"] == "ok"
    http = [s for s in recorded if s.name.startswith("HTTP ")]
    assert http
    assert all(s.attributes["http.response.status_code"] == 200 for s in http)
    lookups = [s for s in recorded if s.name.startswith("lookup ")]
    assert {s.attributes["isthmus.cache"] for s in lookups} <= {"miss", "hit", "stale", "degraded"}


def test_second_lookup_is_a_cache_hit_in_its_span(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    client.post("/process/v1/validate-quote", json=QUOTE)
    spans.clear()
    client.post("/process/v1/validate-quote", json=_requoted(QUOTE, "2.00"))
    lookups = [s for s in spans.get_finished_spans() if s.name.startswith("lookup ")]
    assert lookups
    assert {s.attributes["isthmus.cache"] for s in lookups} == {"hit"}
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("HTTP ")]


async def _headers_seen_by_upstream(client: Any) -> dict[bytes, bytes]:
    seen: dict[bytes, bytes] = {}

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        seen.update(dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve(upstream) as url:
        await client.get(url)
    return seen


async def test_backend_calls_carry_our_span_as_traceparent() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build(enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter)
    client = build_http_client(load_settings({}), tracing)
    try:
        seen = await _headers_seen_by_upstream(client)
    finally:
        await client.aclose()
    (span,) = exporter.get_finished_spans()
    version, trace_id, parent_id, _flags = seen[b"traceparent"].decode().split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{span.context.trace_id:032x}",
        f"{span.context.span_id:016x}",
    )


async def test_without_tracing_the_callers_traceparent_and_correlation_id_are_forwarded() -> None:
    client = build_http_client(load_settings({}))
    tokens = (set_traceparent(TRACEPARENT), set_correlation_id("corr-77"))
    try:
        seen = await _headers_seen_by_upstream(client)
    finally:
        reset_traceparent(tokens[0])
        reset_correlation_id(tokens[1])
        await client.aclose()
    assert seen[b"traceparent"].decode() == TRACEPARENT
    assert seen[b"x-correlation-id"] == b"corr-77"


def test_metrics_are_prometheus_text_with_the_gateway_series(client: TestClient[Litestar]) -> None:
    client.post("/process/v1/validate-quote", json=QUOTE)
    client.post("/process/v1/validate-quote", json=_requoted(QUOTE, "3.00"))
    families = _metrics(client)
    requests = [
        s for s in families["isthmus_http_request_duration_seconds"]
        if s.name.endswith("_count") and s.labels["route"] == "/process/v1/validate-quote"
    ]  # fmt: skip
    assert requests[0].labels["status"] == "200"
    assert requests[0].value == 2
    backend = [
        s for s in families["isthmus_backend_call_duration_seconds"] if s.name.endswith("_count")
    ]
    assert {s.labels["operation"] for s in backend} >= {"get_price", "get_item"}
    lookups = {
        (s.labels["kind"], s.labels["result"]): s.value
        for s in families["isthmus_cache_lookups"]
        if s.labels["vendor"] == "infor_m3"
    }
    assert lookups[("price", "hit")] >= 1
    assert lookups[("price", "miss")] >= 1
    breakers = [s for s in families["isthmus_breaker_state"] if s.labels["vendor"] == "infor_m3"]
    assert [s.value for s in breakers] == [0.0]


def test_metrics_and_ops_need_the_ops_scope(client: TestClient[Litestar]) -> None:
    assert client.get("/metrics", headers={"X-API-Key": ""}).status_code == 401
    assert client.get("/metrics").status_code == 403  # the default test key lacks ops:admin
    assert client.get("/ops/v1/status").status_code == 403


def test_invalidating_a_customer_makes_the_next_credit_check_go_to_the_erp(
    client: TestClient[Litestar], sandbox: Sandbox
) -> None:
    body = {"entity": "CA01", "customerNumber": "CA0007"}
    client.post("/process/v1/credit-check", json=body)
    before = len(sandbox.infor.received_named("CRS610MI/GetBasicData"))
    client.post("/process/v1/credit-check", json=body)
    assert len(sandbox.infor.received_named("CRS610MI/GetBasicData")) == before  # served from cache
    response = client.post(
        "/ops/v1/cache/invalidate",
        json={"entity": "CA01", "kind": "credit", "customerNumber": "CA0007"},
        headers={"X-API-Key": OPS_KEY},
    )
    assert response.status_code == 200
    assert response.json()["removedLocal"] >= 1
    client.post("/process/v1/credit-check", json=body)
    assert len(sandbox.infor.received_named("CRS610MI/GetBasicData")) == before + 1


def test_warming_loads_data_before_the_first_quote(
    client: TestClient[Litestar], sandbox: Sandbox
) -> None:
    response = client.post(
        "/ops/v1/cache/warm",
        json={
            "entity": "DE01",
            "customerNumbers": ["CUST-DE-009"],
            "skus": ["SKU-0009", "SKU-0010"],
        },
        headers={"X-API-Key": OPS_KEY},
    )
    assert response.status_code == 200
    assert response.json()["loaded"] == 5
    assert response.json()["failed"] == {}
    status = client.get("/ops/v1/status", headers={"X-API-Key": OPS_KEY}).json()
    vendors = {b["vendor"]: b for b in status["backends"]}
    assert vendors["sage_intacct"]["breakers"]["DE01"]["state"] == "closed"


def test_readiness_shows_breakers_and_cache_counts(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    client.post("/process/v1/validate-quote", json=_requoted(QUOTE, "4.00"))
    spans.clear()
    body = client.get("/health/ready").json()
    assert not [s for s in spans.get_finished_spans() if s.kind.name == "SERVER"]  # probes untraced
    assert body["status"] == "ready"
    assert body["breakers"]["infor_m3/100"] == "closed"
    counts = body["cache"]["infor_m3"]
    assert counts["hits"] + counts["misses"] > 0


async def test_redis_commands_get_spans_when_tracing(redis_url: str) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build(enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter)
    assert tracing.instrument_redis()
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await client.set("isthmus:test:span", "1")
    finally:
        await client.aclose()
        tracing.shutdown()
    assert [s.name for s in exporter.get_finished_spans()] == ["SET"]


# ---------------------------------------------------------------- sampling and what travels on

UNSAMPLED_TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-00"


def _gateway_hop(tracing: Tracing, upstream_url: str) -> Litestar:
    """The gateway's tracing layers around a handler that makes one backend call."""
    http = build_http_client(load_settings({}), tracing)

    @get("/hop")
    async def hop() -> str:
        response = await http.get(upstream_url)
        return response.text

    return Litestar(
        [hop],
        middleware=[
            ServerSpanMiddleware(tracing.tracer("isthmus.server")),
            CorrelationMiddleware(),
        ],
        on_shutdown=[http.aclose],
    )


def _hop(tracing: Tracing, headers: dict[str, str]) -> dict[bytes, bytes]:
    seen: dict[bytes, bytes] = {}

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        seen.update(dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve(upstream) as url, TestClient(_gateway_hop(tracing, url)) as client:
        assert client.get("/hop", headers=headers).status_code == 200
    return seen


def test_a_callers_unsampled_request_records_nothing_and_passes_its_traceparent_on() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build(enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter)
    seen = _hop(tracing, {"traceparent": UNSAMPLED_TRACEPARENT})
    assert exporter.get_finished_spans() == ()
    assert seen[b"traceparent"].decode() == UNSAMPLED_TRACEPARENT


def test_a_new_trace_outside_the_sample_records_nothing_and_says_so_downstream() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build(
        enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter, sample_ratio=0.0
    )
    seen = _hop(tracing, {})
    assert exporter.get_finished_spans() == ()
    version, _trace_id, _parent_id, flags = seen[b"traceparent"].decode().split("-")
    assert (version, int(flags, 16) & 0x01) == ("00", 0)  # not sampled


def test_a_callers_sampled_trace_is_followed_whatever_the_ratio() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build(
        enabled=True, service_name="t", otlp_endpoint=None, exporter=exporter, sample_ratio=0.0
    )
    seen = _hop(tracing, {"traceparent": TRACEPARENT})
    spans = {s.kind.name: s for s in exporter.get_finished_spans()}
    assert sorted(spans) == ["CLIENT", "SERVER"]
    server, http = spans["SERVER"], spans["CLIENT"]
    assert {format(s.context.trace_id, "032x") for s in spans.values()} == {TRACE_ID}
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert http.parent is not None
    assert http.parent.span_id == server.context.span_id
    assert dict(server.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/hop",
        "http.response.status_code": 200,
    }
    assert seen[b"traceparent"].decode() == (f"00-{TRACE_ID}-{http.context.span_id:016x}-01")


@pytest.mark.parametrize("trace_redis", [False, True])
def test_redis_commands_are_traced_only_when_asked(
    sandbox: Sandbox, redis_url: str, trace_redis: bool
) -> None:
    spans = InMemorySpanExporter()
    settings = settings_for(
        **sandbox.env,
        redis_url=redis_url,
        observability__tracing="true",
        observability__trace_redis=str(trace_redis).lower(),
    )
    with client_for(create_app(settings, span_exporter=spans)) as client:
        assert client.post("/process/v1/validate-quote", json=QUOTE).status_code == 200
    recorded = spans.get_finished_spans()
    assert [s for s in recorded if s.kind.name == "SERVER"]
    redis_spans = [s for s in recorded if (s.attributes or {}).get("db.system") == "redis"]
    assert bool(redis_spans) == trace_redis
