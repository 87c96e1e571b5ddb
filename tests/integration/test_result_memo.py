"""Re-validating an unchanged quote reuses the fresh answer; an invalidation ends that at once."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from app.security import OPS_ADMIN, hash_api_key
from app.settings import ApiKeySetting
from sandbox.infor import Fault as InforFault
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox

OPS_KEY = "isk_test_ops_memo_0b6f2d"
QUOTE = {
    "entity": "US01",
    "accountId": salesforce_account_id(8),
    "currency": "USD",
    "lines": [{"sku": "SKU-0011", "quantity": "3", "uom": "Each", "quotedUnitPrice": "5.00"}],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def _client(sandbox: Sandbox, **env: str) -> TestClient[Litestar]:
    settings = settings_for(**sandbox.env, **env)
    ops = ApiKeySetting(client="tests-ops", key_sha256=hash_api_key(OPS_KEY), scopes=[OPS_ADMIN])
    security = msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, ops]
    )
    return client_for(create_app(msgspec.structs.replace(settings, security=security)))  # type: ignore[return-value]


def _erp_reads(sandbox: Sandbox) -> int:
    return len(sandbox.infor.received)


def test_unchanged_quote_is_answered_from_the_memo(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        first = client.post("/process/v1/validate-quote", json=QUOTE).json()
        # Even with Infor hanging, the same question within the memo window has its answer.
        sandbox.infor.set_fault("*", InforFault(kind="hang"))
        try:
            second = client.post(
                "/process/v1/validate-quote", json=QUOTE, headers={"X-Deadline-Ms": "200"}
            ).json()
        finally:
            sandbox.infor.clear_faults()
        memo_hits = client.app.state.services.process.memo.hits
    assert memo_hits == 1
    assert second["lines"] == first["lines"]
    assert second["priceProvenance"]["degraded"] is False
    assert second["elapsedMs"] < first["elapsedMs"]


def test_invalidation_clears_the_memo(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        client.post("/process/v1/validate-quote", json=QUOTE)
        reads = _erp_reads(sandbox)
        client.post("/process/v1/validate-quote", json=QUOTE)
        assert _erp_reads(sandbox) == reads
        invalidated = client.post(
            "/ops/v1/cache/invalidate",
            json={"entity": "US01", "kind": "price"},
            headers={"X-API-Key": OPS_KEY},
        )
        assert invalidated.status_code == 200
        client.post("/process/v1/validate-quote", json=QUOTE)
        assert _erp_reads(sandbox) > reads  # prices were read from the ERP again


def test_no_memo_when_data_is_never_fresh(sandbox: Sandbox) -> None:
    with _client(
        sandbox, cache__price__fresh_s="0", cache__price__stale_s="0", cache__price__error_s="60"
    ) as client:
        client.post("/process/v1/validate-quote", json=QUOTE)
        reads = _erp_reads(sandbox)
        client.post("/process/v1/validate-quote", json=QUOTE)
        assert _erp_reads(sandbox) > reads
        assert client.app.state.services.process.memo.hits == 0
