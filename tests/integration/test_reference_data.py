"""The cross-reference and dimension values live in the store: the seed file imports into it,
the process APIs answer from a cached snapshot of it, and order lines naming dimension values
the ERP does not have (or has made inactive) are refused before anything reaches the ERP."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.xref import build_xref, salesforce_account_id
from store import reference
from store import xref as links
from store.xref import NewLink
from tests.support.orders_env import (
    GatewayClient,
    OrderSandbox,
    gateway_client,
    order_sandbox,
    services_of,
)

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OrderSandbox]:
    with order_sandbox() as running:
        yield running


@pytest.fixture
async def client(sandbox: OrderSandbox, store_url: str) -> AsyncIterator[GatewayClient]:
    async with gateway_client(sandbox, store_url) as c:
        yield c


async def test_the_seed_file_is_imported_into_the_store_and_answers_follow_the_store(
    client: GatewayClient,
) -> None:
    services = services_of(client)
    assert services.store is not None
    assert services.reference is not None
    seed = build_xref()
    expected = sum(len(v) for part in seed.values() for v in part.values())  # type: ignore[attr-defined]
    async with services.store.transaction() as conn:
        stored = await links.all_links(conn)
        assert len(stored) == expected
        assert {x.origin for x in stored} == {"seed"}
        # A flow links account 1 to another customer in US01, after the seed was imported
        # (on the gateway's clock, as it started): the link's change is the newest.
        await links.link(
            conn,
            NewLink(kind="account", scope="US01", salesforce_key=salesforce_account_id(1),
                    erp_key="US0002"),
            origin="flow", now=datetime.now(UTC),
        )  # fmt: skip

    def credit() -> dict[str, object]:
        return {"entity": "US01", "accountId": salesforce_account_id(1)}

    before = (await client.post("/process/v1/credit-check", json=credit())).json()
    assert before["credit"]["customerNumber"] == "US0001"  # the snapshot, until refreshed
    assert await services.reference.refresh() is True
    assert await services.reference.refresh() is False  # nothing changed since
    after = (await client.post("/process/v1/credit-check", json=credit())).json()
    assert after["credit"]["customerNumber"] == "US0002"


def _order(**dims: str) -> dict[str, object]:
    line = {"sku": "SKU-0002", "quantity": "1", "uom": "Each", "unitPrice": "90.00", **dims}
    return {
        "externalRef": f"801Sbx{uuid.uuid4().hex[:12]}",
        "entity": "DE01",
        "accountId": salesforce_account_id(2),
        "currency": "EUR",
        "lines": [line],
    }


async def test_an_order_line_naming_an_unknown_or_inactive_dimension_is_refused_by_name(
    client: GatewayClient, sandbox: OrderSandbox
) -> None:
    services = services_of(client)
    assert services.store is not None
    assert services.reference is not None

    def dim(kind: str, code: str, status: str) -> reference.DimensionRow:
        return reference.DimensionRow(
            entity="DE01", kind=kind, code=code, erp="sage_intacct", name=code.title(),
            status=status,  # type: ignore[arg-type]
        )  # fmt: skip

    async with services.store.transaction() as conn:
        for kind, rows in {
            "department": [
                dim("department", "SALES", "active"),
                dim("department", "MKT", "inactive"),
            ],
            "project": [dim("project", "PRJ-001", "active")],
        }.items():
            await reference.replace_dimensions(
                conn, entity="DE01", kind=kind, erp="sage_intacct", rows=rows, now=NOW
            )
    await services.reference.refresh()
    sent_before = len(sandbox.intacct.received)

    unknown = await client.post(
        "/process/v1/orders", json=_order(department="NOPE"), headers={"Idempotency-Key": "k1"}
    )
    assert unknown.status_code == 422, unknown.text
    problem = unknown.json()
    assert problem["code"] == "unknown_reference"
    assert problem["detail"] == "Department 'NOPE' does not exist in entity DE01."
    assert problem["errors"][0]["pointer"] == "/lines/0/department"

    inactive = await client.post(
        "/process/v1/orders",
        json=_order(department="SALES", project="PRJ-001", **{"class": "RETAIL"}, location="X1")
        | {"lines": [_order(department="MKT")["lines"][0]]},  # type: ignore[index]
        headers={"Idempotency-Key": "k2"},
    )
    assert inactive.status_code == 422, inactive.text
    assert inactive.json()["detail"] == "Department 'MKT' (Mkt) is inactive in entity DE01."
    assert len(sandbox.intacct.received) == sent_before  # nothing reached the ERP

    # Class and location have no reference data yet: not checked here, the ERP decides.
    fine = await client.post(
        "/process/v1/orders",
        json=_order(department="SALES", project="PRJ-001", **{"class": "RETAIL"}),
        headers={"Idempotency-Key": "k3"},
    )
    assert fine.status_code == 202, fine.text


def test_the_cli_imports_a_seed_and_exports_the_same_links(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main
    from sandbox.xref import XREF_PATH

    out = tmp_path / "exported.json"
    monkeypatch.setenv("ISTHMUS_STORE__URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    assert main(["xref", "import", str(XREF_PATH)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "added": 414, "changed": 0, "unchanged": 0, "kept": 0,
    }  # fmt: skip
    assert main(["xref", "import", str(XREF_PATH)]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 414
    assert main(["xref", "export", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == build_xref()


async def test_a_failed_refresh_keeps_the_last_snapshot(tmp_path: Path) -> None:
    from process_apis.mapping import ReferenceCache
    from store import Database

    installed: list[object] = []
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/never-migrated.db")
    try:
        cache = ReferenceCache(db, on_xref=installed.append)
        assert await cache.refresh() is False  # no tables: the store cannot answer
        assert (cache.failures, installed) == (1, [])
        assert not cache.catalog.known("DE01", "department")
    finally:
        await db.aclose()
