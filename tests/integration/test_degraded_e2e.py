"""When an ERP hangs or Redis dies, quotes still get answers in time (HTTP app + emulators)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from app.services import Services
from sandbox.infor import Fault as InforFault
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.redis_server import RedisServer
from tests.support.sandbox_gateway import Sandbox, running_sandbox

# Every read goes live (nothing is ever fresh), but an hour-old answer may be served, degraded.
ALWAYS_LIVE = {
    f"cache__{kind}__{age}": value
    for kind in ("credit", "item", "price", "availability")
    for age, value in (("fresh_s", "0"), ("stale_s", "0"), ("error_s", "3600"))
} | {"cache__refresh_timeout_s": "0.5"}

QUOTE = {
    "entity": "US01",
    "accountId": salesforce_account_id(3),
    "currency": "USD",
    "lines": [
        {"sku": "SKU-0003", "quantity": "2", "uom": "Each", "quotedUnitPrice": "10.00"},
        {"sku": "SKU-0004", "quantity": "1", "uom": "Box", "quotedUnitPrice": "90.00"},
    ],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _services(client: TestClient[Litestar]) -> Services:
    services: Services = client.app.state.services
    return services


def _essentials(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(ln["sku"], ln["netUnitPrice"], ln["availabilityStatus"]) for ln in body["lines"]]


def test_hanging_infor_is_answered_in_time_from_last_known_good_data(sandbox: Sandbox) -> None:
    with client_for(create_app(settings_for(**sandbox.env, **ALWAYS_LIVE))) as client:
        first = client.post("/process/v1/validate-quote", json=QUOTE)
        assert first.status_code == 200
        assert first.json()["priceProvenance"]["degraded"] is False

        sandbox.infor.set_fault("*", InforFault(kind="hang"))
        try:
            second = client.post(
                "/process/v1/validate-quote", json=QUOTE, headers={"X-Deadline-Ms": "400"}
            )
            body = second.json()
            assert second.status_code == 200  # Infor hangs: the deadline answered, degraded
            for section in ("creditProvenance", "priceProvenance", "availabilityProvenance"):
                assert body[section]["degraded"] is True, section
                assert body[section]["maxAgeSeconds"] > 0
            assert _essentials(body) == _essentials(first.json())
            assert body["credit"] == first.json()["credit"]

            # The hung backend calls are given up (refresh bound 0.5 s), not left in flight.
            deadline = time.monotonic() + 30  # only stops a broken build hanging
            while time.monotonic() < deadline and any(
                r.snapshot().in_flight for r in _services(client).resilient
            ):
                time.sleep(0.05)
            assert [r.snapshot().in_flight for r in _services(client).resilient] == [0, 0]
        finally:
            sandbox.infor.clear_faults()


def test_quotes_keep_succeeding_while_redis_is_down_and_use_it_again_after(
    sandbox: Sandbox, killable_redis: RedisServer
) -> None:
    direct = redis.Redis.from_url(killable_redis.url)
    try:
        with client_for(
            create_app(
                # A patient Redis client: a busy machine must not make Redis look down here.
                settings_for(**sandbox.env, redis_url=killable_redis.url, redis_timeout_ms="5000")
            )
        ) as client:
            assert client.post("/process/v1/validate-quote", json=QUOTE).status_code == 200
            assert direct.dbsize() > 0

            killable_redis.stop()
            for _ in range(5):
                response = client.post(
                    "/process/v1/credit-check",
                    json={"entity": "UK01", "customerNumber": "CUST-UK-002"},
                )
                assert response.status_code == 200
                assert response.json()["credit"]["customerNumber"] == "CUST-UK-002"
            ready = client.get("/health/ready").json()
            assert ready["checks"]["redis"]["status"] == "down"

            killable_redis.start()
            time.sleep(1.2)  # the L2 guard retries Redis after its back-off
            client.post(
                "/process/v1/credit-check", json={"entity": "UK01", "customerNumber": "CUST-UK-003"}
            )
            assert any(b"CUST-UK-003" in key for key in direct.keys("*"))
    finally:
        direct.close()
