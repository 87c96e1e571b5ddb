"""A cold Intacct quote through the whole gateway: its reads reach the XML gateway as a few
multi-function requests, and the answer is the one the single-function requests give."""

from __future__ import annotations

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


def test_a_cold_quote_reads_intacct_in_a_few_requests_with_the_same_answer(
    sandbox: Sandbox,
) -> None:
    alone_requests, alone = _cold_quote(sandbox, intacct__batch_window_ms="0")
    alone_functions = sorted(
        f.name for r in sandbox.intacct.received for f in r.functions if f.name != "getAPISession"
    )

    batched_requests, batched = _cold_quote(sandbox)
    received = list(sandbox.intacct.received)

    assert _stable(batched) == _stable(alone)
    assert {line["lineNo"] for line in batched["lines"]} == set(range(1, 11))
    # Every read was still made, and answered, each under its own control id.
    batched_functions = sorted(
        f.name for r in received for f in r.functions if f.name != "getAPISession"
    )
    assert batched_functions == alone_functions
    assert all(r.outcome == "success" for r in received)
    assert all(len({f.controlid for f in r.functions}) == len(r.functions) for r in received)
    assert all(not r.transaction for r in received)
    # Each distinct read is made once (the customer for credit and for every price, an item
    # for its item, price and availability): about forty-five single-function requests, which
    # become a handful.
    reads = [
        (f.inputs.get("object"), f.inputs.get("query"))
        for r in received
        for f in r.functions
        if f.name == "readByQuery"
    ]
    assert len(reads) == len(set(reads))
    assert alone_requests >= 40
    assert batched_requests <= alone_requests // 5


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
