"""With the cache off, quotes asked at once for the same customer and items share the ERP's
reads in flight, and the same quote sent twice at once is built once: Infor receives each of
those reads once, and every quote its live answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.factory import create_app
from app.security import OPS_ADMIN, hash_api_key
from app.settings import ApiKeySetting, Settings
from sandbox.infor import Fault as InforFault
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox
from tests.support.waiting import until

QUOTE: dict[str, Any] = {
    "entity": "US01",
    "accountId": salesforce_account_id(3),
    "currency": "USD",
    "lines": [
        {"sku": f"SKU-{n:04d}", "quantity": "2", "uom": "Each", "quotedUnitPrice": "10.00"}
        for n in (21, 22)
    ],
}
PRICE = "OIS320MI/GetPriceLine"
OPS_KEY = "isk_test_ops_shared_reads_5e1c"
QUOTES = 3


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _concurrent_quotes(
    sandbox: Sandbox,
    client: TestClient[Litestar],
    quotes: list[dict[str, Any]],
    all_in: Callable[[], bool],
) -> list[httpx.Response]:
    """``quotes`` at once while Infor holds every price read; Infor answers once ``all_in``
    says the gateway holds them all."""
    sandbox.infor.received.clear()
    sandbox.infor.set_fault(PRICE, InforFault(kind="hold"))
    with ThreadPoolExecutor(len(quotes)) as pool:
        try:
            answers = [
                pool.submit(
                    client.post,
                    "/process/v1/validate-quote",
                    json=quote,
                    headers={"X-Deadline-Ms": "8000"},
                )
                for quote in quotes
            ]
            assert until(all_in)
        finally:
            sandbox.infor.clear_faults()
        return [a.result() for a in answers]


def _numbered(n: int) -> dict[str, Any]:
    """QUOTE as a different quote (its own id): the same customer and items."""
    return {**QUOTE, "quoteId": f"0Q0Sbx00000000{n}"}


def _prices(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["priceProvenance"]["status"] == "complete", (
        body["priceProvenance"],
        body["reasons"],
    )
    return [(line["sku"], line["netUnitPrice"]) for line in body["lines"]]


def _price_reads(sandbox: Sandbox) -> int:
    """Price reads Infor received (a bulk request's transactions are recorded one by one)."""
    return len(sandbox.infor.received_named(PRICE))


def _with_ops_key(settings: Settings) -> Settings:
    ops = ApiKeySetting(client="tests-ops", key_sha256=hash_api_key(OPS_KEY), scopes=[OPS_ADMIN])
    security = msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, ops]
    )
    return msgspec.structs.replace(settings, security=security)


def _shared_reads_metric(client: TestClient[Litestar]) -> dict[tuple[str, str], float]:
    scrape = client.get("/metrics", headers={"X-API-Key": OPS_KEY})
    assert scrape.status_code == 200
    return {
        (sample.labels["vendor"], sample.labels["kind"]): sample.value
        for family in text_string_to_metric_families(scrape.text)
        if family.name == "isthmus_reads_shared"
        for sample in family.samples
        if sample.name == "isthmus_reads_shared_total"
    }


def test_quotes_at_once_for_the_same_items_share_infors_reads(sandbox: Sandbox) -> None:
    settings = _with_ops_key(settings_for(**sandbox.env, cache__enabled="false"))
    with client_for(create_app(settings)) as client:
        shared = client.app.state.services.shared_reads
        # Infor holds the price reads: the second and third quote's wait on the first's.
        waiting = (QUOTES - 1) * len(QUOTE["lines"])
        answers = _concurrent_quotes(
            sandbox,
            client,
            [_numbered(n) for n in range(QUOTES)],
            lambda: sum(s.waiting for s in shared) == waiting,
        )
        joined = sum(s.joined for s in shared)
        metric = _shared_reads_metric(client)

    prices = [_prices(a) for a in answers]
    assert prices[0] == prices[1] == prices[2]
    assert all(net is not None for _, net in prices[0])
    # Operators see it too: the price reads that waited on another's call, per kind.
    assert metric[("infor_m3", "price")] == waiting
    assert sum(metric.values()) == joined
    assert [a.json()["quoteId"] for a in answers] == [f"0Q0Sbx00000000{n}" for n in range(QUOTES)]
    assert _price_reads(sandbox) == len(QUOTE["lines"])  # once, for all three quotes
    assert joined >= waiting  # and any other read that happened to be in flight at once


def test_the_same_quote_twice_at_once_is_built_once(sandbox: Sandbox) -> None:
    settings = settings_for(**sandbox.env, cache__enabled="false")
    with client_for(create_app(settings)) as client:
        memo = client.app.state.services.process.memo
        answers = _concurrent_quotes(
            sandbox, client, [QUOTE] * QUOTES, lambda: memo.waiting == QUOTES - 1
        )
        joined = sum(s.joined for s in client.app.state.services.shared_reads)
        shared_reads = _price_reads(sandbox)
        later = client.post("/process/v1/validate-quote", json=QUOTE)

    prices = [_prices(a) for a in answers]
    assert prices[0] == prices[1] == prices[2]
    # One answer, sent to each as the same bytes but for the time each request took.
    bodies = {re.sub(rb'"elapsedMs":[0-9.]+', b"", a.content) for a in answers}
    assert len(bodies) == 1
    assert all(isinstance(a.json()["elapsedMs"], int | float) for a in answers)
    assert shared_reads == len(QUOTE["lines"])
    assert joined == 0  # one build: no read of it had a twin
    # Nothing was kept: the same quote afterwards is read from Infor again.
    assert _prices(later) == prices[0]
    assert _price_reads(sandbox) == 2 * len(QUOTE["lines"])


def test_sharing_can_be_turned_off(sandbox: Sandbox) -> None:
    settings = settings_for(
        **sandbox.env, cache__enabled="false", resilience__share_reads_in_flight="false"
    )
    with client_for(create_app(settings)) as client:
        assert client.app.state.services.shared_reads == []
        answers = _concurrent_quotes(
            sandbox,
            client,
            [QUOTE] * QUOTES,
            lambda: len(sandbox.infor.received_named(PRICE)) == QUOTES * len(QUOTE["lines"]),
        )

    prices = [_prices(a) for a in answers]
    assert prices[0] == prices[1] == prices[2]
    assert _price_reads(sandbox) == QUOTES * len(QUOTE["lines"])
