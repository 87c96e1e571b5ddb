"""What every request meets before its route runs, as one layer and one typed body decoder:
the same answers the separate middlewares and Litestar's generic body path gave."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.apps import TEST_PARTNER_KEYS
from tests.support.experience import A1, experience_client

QUOTE = {
    "entity": "US01",
    "accountId": A1,
    "currency": "USD",
    "lines": [{"sku": "WIDGET", "quantity": "2", "uom": "Each", "quotedUnitPrice": "10.00"}],
}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with experience_client() as c:
        yield c


def test_a_truncated_body_is_malformed_even_when_its_start_breaks_the_schema(
    client: TestClient[Litestar],
) -> None:
    response = client.post(
        "/process/v1/validate-quote", content=b'{"entity": 1, "lines": [', headers=JSON
    )

    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    assert response.json()["detail"] == "Input data was truncated"


def test_a_schema_error_deep_in_the_body_points_at_its_field(
    client: TestClient[Litestar],
) -> None:
    line = {**QUOTE["lines"][0], "quantity": "2_0"}  # type: ignore[index]
    response = client.post("/process/v1/validate-quote", json={**QUOTE, "lines": [line, line]})

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/lines/0/quantity"]


def test_protected_routes_are_metered_and_open_ones_are_not(
    client: TestClient[Litestar],
) -> None:
    first = client.post("/process/v1/validate-quote", json=QUOTE)
    second = client.post(
        "/process/v1/credit-check", json={"entity": "US01", "accountId": A1, "amount": "5"}
    )
    open_route = client.get("/health/live")

    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == second.headers["ratelimit-limit"]
    assert int(second.headers["ratelimit-remaining"]) < int(first.headers["ratelimit-remaining"])
    assert "ratelimit-limit" not in open_route.headers
    assert {"x-correlation-id"} <= set(open_route.headers)


def test_a_partner_key_is_refused_on_the_process_api_but_served_on_its_portal(
    client: TestClient[Litestar],
) -> None:
    partner = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}
    internal = client.post("/process/v1/validate-quote", json=QUOTE, headers=partner)
    portal = client.post(
        f"/portal/v1/accounts/{A1}/quotes/validate",
        json=QUOTE,
        headers={**partner, "Origin": "https://portal.partner-a.example"},
    )

    assert (internal.status_code, internal.json()["code"]) == (403, "forbidden")
    assert portal.headers["cache-control"] == "no-store"
    assert portal.headers["access-control-allow-origin"] == "https://portal.partner-a.example"
    assert "ratelimit-remaining" in portal.headers


def test_the_callers_correlation_id_is_kept_and_a_forged_one_replaced(
    client: TestClient[Litestar],
) -> None:
    kept = client.post("/process/v1/validate-quote", json={}, headers={"X-Correlation-ID": "r-1"})
    replaced = client.get("/health/live", headers={"X-Correlation-ID": "bad id\n"})

    assert kept.headers["x-correlation-id"] == kept.json()["correlation_id"] == "r-1"
    assert replaced.headers["x-correlation-id"] != "bad id\n"
    assert len(replaced.headers["x-correlation-id"]) == 32
