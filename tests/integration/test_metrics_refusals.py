"""Requests the security layer refuses are counted at /metrics with the status the caller got."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.security import OPS_ADMIN, hash_api_key
from app.settings import ApiKeySetting, RateLimitSettings, Settings
from tests.support.experience import A1, experience_client, experience_settings

OPS_KEY = "isk_test_ops_refusals_5b1e9c"
CREDIT = f"/lightning/v1/accounts/{A1}/credit?entity=US01"


def _settings(requests_per_window: int = 100) -> Settings:
    settings = experience_settings()
    ops = ApiKeySetting(client="tests-ops", key_sha256=hash_api_key(OPS_KEY), scopes=[OPS_ADMIN])
    security = msgspec.structs.replace(
        settings.security,
        api_keys=[*settings.security.api_keys, ops],
        rate_limit=RateLimitSettings(requests=requests_per_window, window_s=60),
    )
    return msgspec.structs.replace(settings, security=security)


def _scrape(client: TestClient[Litestar]) -> dict[str, list[Any]]:
    response = client.get("/metrics", headers={"X-API-Key": OPS_KEY})
    assert response.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def _answers_by_status(families: dict[str, list[Any]], route_prefix: str) -> dict[str, float]:
    """Request counts per status label for the routes starting with ``route_prefix``."""
    counts: dict[str, float] = {}
    for s in families["isthmus_http_request_duration_seconds"]:
        if s.name.endswith("_count") and s.labels["route"].startswith(route_prefix):
            counts[s.labels["status"]] = counts.get(s.labels["status"], 0) + s.value
    return counts


def test_a_request_without_credentials_is_counted_as_401() -> None:
    with experience_client(_settings()) as client:
        assert client.get(CREDIT, headers={"X-API-Key": ""}).status_code == 401
        families = _scrape(client)
    assert _answers_by_status(families, "/lightning/v1/accounts/") == {"401": 1}


def test_a_credential_without_the_scope_is_counted_as_403() -> None:
    with experience_client(_settings()) as client:
        assert client.get("/metrics").status_code == 403  # the test key lacks ops:admin
        families = _scrape(client)
    # The scrape itself is being answered: only the refusal is counted so far.
    assert _answers_by_status(families, "/metrics") == {"403": 1}


def test_a_request_over_the_budget_is_counted_as_429_and_as_a_refusal() -> None:
    with experience_client(_settings(requests_per_window=2)) as client:
        statuses = [client.get(CREDIT).status_code for _ in range(3)]
        families = _scrape(client)  # the ops client has a budget of its own
    assert statuses == [200, 200, 429]
    assert _answers_by_status(families, "/lightning/v1/accounts/") == {"200": 2, "429": 1}
    refusals = [
        (s.labels["route"], s.value)
        for s in families["isthmus_rate_limit_refusals"]
        if s.name.endswith("_total")
    ]
    assert [(route, value) for route, value in refusals if route.startswith("/lightning/")] == [
        ("/lightning/v1/accounts/{accountId}/credit", 1.0)
    ]


def test_oversized_headers_are_counted_as_431() -> None:
    with experience_client(_settings()) as client:
        assert client.get(CREDIT, headers={"X-Padding": "x" * 9000}).status_code == 431
        families = _scrape(client)
    assert _answers_by_status(families, "/lightning/v1/accounts/") == {"431": 1}
