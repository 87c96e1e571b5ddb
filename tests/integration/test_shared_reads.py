"""With the cache off, quotes asked at once for the same customer and items share the ERP's
reads in flight: Infor receives each of those reads once, and every quote its live answer."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
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
QUOTES = 3


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _concurrent_quotes(
    sandbox: Sandbox, client: TestClient[Litestar], waiting_reads: int | None
) -> list[httpx.Response]:
    """QUOTES identical quotes at once while Infor holds every price read; Infor answers once
    the gateway holds them all (with ``waiting_reads``: once that many reads wait on others)."""
    sandbox.infor.received.clear()
    sandbox.infor.set_fault(PRICE, InforFault(kind="hold"))
    shared = client.app.state.services.shared_reads
    with ThreadPoolExecutor(QUOTES) as pool:
        try:
            answers = [
                pool.submit(
                    client.post,
                    "/process/v1/validate-quote",
                    json=QUOTE,
                    headers={"X-Deadline-Ms": "8000"},
                )
                for _ in range(QUOTES)
            ]
            if waiting_reads is None:
                assert until(lambda: len(sandbox.infor.received_named(PRICE)) >= QUOTES)
            else:
                assert until(lambda: sum(s.waiting for s in shared) == waiting_reads)
        finally:
            sandbox.infor.clear_faults()
        return [a.result() for a in answers]


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


def test_identical_quotes_at_once_share_infors_reads(sandbox: Sandbox) -> None:
    settings = settings_for(**sandbox.env, cache__enabled="false")
    with client_for(create_app(settings)) as client:
        # Infor holds the price reads: the second and third quote's wait on the first's.
        waiting = (QUOTES - 1) * len(QUOTE["lines"])
        answers = _concurrent_quotes(sandbox, client, waiting_reads=waiting)
        joined = sum(s.joined for s in client.app.state.services.shared_reads)

    prices = [_prices(a) for a in answers]
    assert prices[0] == prices[1] == prices[2]
    assert all(net is not None for _, net in prices[0])
    assert _price_reads(sandbox) == len(QUOTE["lines"])  # once, for all three quotes
    assert joined >= waiting  # and any other read that happened to be in flight at once


def test_sharing_can_be_turned_off(sandbox: Sandbox) -> None:
    settings = settings_for(
        **sandbox.env, cache__enabled="false", resilience__share_reads_in_flight="false"
    )
    with client_for(create_app(settings)) as client:
        assert client.app.state.services.shared_reads == []
        answers = _concurrent_quotes(sandbox, client, waiting_reads=None)

    prices = [_prices(a) for a in answers]
    assert prices[0] == prices[1] == prices[2]
    assert _price_reads(sandbox) == QUOTES * len(QUOTE["lines"])
