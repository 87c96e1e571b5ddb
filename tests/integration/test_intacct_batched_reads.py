"""A cold Intacct quote through the whole gateway: its reads reach the XML gateway as a few
multi-function requests, and the answer is the one the single-function requests give."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.factory import create_app
from sandbox.intacct import IntacctEmulator
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox

QUOTE: dict[str, Any] = {
    "entity": "DE01",
    "accountId": salesforce_account_id(1),
    "currency": "EUR",
    "quoteId": "0Q0Sbx000000001",
    "lines": [
        {"sku": f"SKU-{n:04d}", "quantity": str(n), "uom": "Each", "quotedUnitPrice": "10.00"}
        for n in range(1, 11)
    ],
}
# What differs between two answers to the same quote: when and for which request it was made.
_VOLATILE = {
    "asOf",
    "correlationId",
    "requestId",
    "validatedAt",
    "generatedAt",
    "ageS",
    "elapsedMs",
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _cold_quote(sandbox: Sandbox, **env: str) -> tuple[int, dict[str, Any]]:
    """A new gateway (nothing cached, no session) answers QUOTE; what Intacct received."""
    emulator: IntacctEmulator = sandbox.intacct
    emulator.received.clear()
    with client_for(create_app(settings_for(**sandbox.env, **env))) as client:
        response = client.post("/process/v1/validate-quote", json=QUOTE)
    assert response.status_code == 200, response.text
    return len(emulator.received), response.json()


_ITEM_IDS = re.compile(r"'ITM-\d{4}'")


def _reads(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [
        (f.inputs.get("object", ""), f.inputs.get("query", ""))
        for r in sandbox.intacct.received
        for f in r.functions
        if f.name == "readByQuery"
    ]


def test_a_cold_quote_reads_intacct_in_a_few_requests_with_the_same_answer(
    sandbox: Sandbox,
) -> None:
    alone_requests, alone = _cold_quote(sandbox, intacct__batch_window_ms="0")
    alone_reads = _reads(sandbox)

    batched_requests, batched = _cold_quote(sandbox)
    received = list(sandbox.intacct.received)
    batched_reads = _reads(sandbox)

    assert _stable(batched) == _stable(alone)
    assert {line["lineNo"] for line in batched["lines"]} == set(range(1, 11))
    # Each function answered under its own control id, none in a transaction.
    assert all(r.outcome == "success" for r in received)
    assert all(len({f.controlid for f in r.functions}) == len(r.functions) for r in received)
    assert all(not r.transaction for r in received)
    # Alone, every read is its own request: an item's, its stock's, its purchase lines'...
    # about forty-five single-function requests.
    assert alone_requests >= 40
    assert all(" IN (" not in query.split(" AND ")[0] for _, query in alone_reads)
    # Batched, the same objects are read, each distinct read once, and the ten items' reads of
    # one object are one query by ITEMID IN (...): a handful of requests, a few functions.
    assert {obj for obj, _ in batched_reads} == {obj for obj, _ in alone_reads}
    assert len(batched_reads) == len(set(batched_reads))
    assert batched_requests <= alone_requests // 5
    assert len(batched_reads) <= len(alone_reads) // 4
    for obj in ("ITEM", "ITEMWAREHOUSEINFO", "PODOCUMENTENTRY", "SOPRICELISTENTRY"):
        # The items read alone (an inactive item's stock and prices are not asked for).
        items = sorted({m for o, q in alone_reads if o == obj for m in _ITEM_IDS.findall(q)})
        assert len(items) >= 9
        queries = [query for o, query in batched_reads if o == obj]
        assert len(queries) == 1, (obj, queries)
        assert "ITEMID IN (" + ", ".join(items) + ")" in queries[0]


def test_a_quote_of_a_customer_and_items_seen_before_reads_intacct_in_one_request(
    sandbox: Sandbox,
) -> None:
    with client_for(create_app(settings_for(**sandbox.env, cache__enabled="false"))) as client:
        first = client.post("/process/v1/validate-quote", json=QUOTE)
        sandbox.intacct.received.clear()
        again = client.post("/process/v1/validate-quote", json=QUOTE)

    assert again.status_code == 200, again.text
    assert _stable(again.json()) == _stable(first.json())
    # Item, unit group, price list entries, stock and credit: one request, each read once.
    requests = [r for r in sandbox.intacct.received if r.function_names != ("getAPISession",)]
    assert len(requests) == 1
    objects = {f.inputs.get("object") for f in requests[0].functions}
    assert objects == {
        "CUSTOMER",
        "ARINVOICE",
        "SODOCUMENT",
        "ITEM",
        "UOMDETAIL",
        "SOPRICELISTENTRY",
        "ITEMWAREHOUSEINFO",
        "PODOCUMENTENTRY",
    }
    # Complete: no section is missing data for want of an answer.
    body = again.json()
    for section in ("creditProvenance", "priceProvenance", "availabilityProvenance"):
        assert body[section].get("reason") is None, body[section]
