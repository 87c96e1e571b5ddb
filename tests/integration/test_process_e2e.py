"""The process APIs end to end: HTTP app → adapters → both emulators over loopback HTTP.

One parametrized suite, run for an Infor entity (US01) and an Intacct entity (DE01).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.factory import create_app
from sandbox.infor import Fault as InforFault
from sandbox.intacct import Fault as IntacctFault
from sandbox.xref import salesforce_account_id
from tests.support.apps import client_for, settings_for
from tests.support.sandbox_gateway import Sandbox, running_sandbox


@dataclass(frozen=True)
class Erp:
    name: str
    entity: str
    currency: str
    hold_account: int
    inactive_account: int
    inactive_sku: str
    hang_target: str


ERPS = [
    Erp("infor_m3", "US01", "USD", 4, 21, "SKU-0013", "MMS200MI"),
    Erp("sage_intacct", "DE01", "EUR", 5, 20, "SKU-0007", "readByQuery"),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[TestClient[Litestar]]:
    with client_for(create_app(settings_for(**sandbox.env))) as c:
        yield c


@pytest.fixture(params=ERPS, ids=[e.name for e in ERPS])
def erp(request: pytest.FixtureRequest) -> Erp:
    return request.param  # type: ignore[no-any-return]


def _quote(
    erp: Erp, *, account: int = 1, lines: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "entity": erp.entity,
        "accountId": salesforce_account_id(account),
        "currency": erp.currency,
        "quoteId": "0Q0Sbx000000001",
        "lines": lines
        or [{"sku": "SKU-0001", "quantity": "2", "uom": "Box", "quotedUnitPrice": "1.00"}],
    }


def _codes(body: dict[str, Any]) -> set[str]:
    return {r["code"] for r in body["reasons"]}


def _net_price(client: TestClient[Litestar], erp: Erp, sku: str, quantity: str, uom: str) -> str:
    body = client.post(
        "/process/v1/price-check",
        json={"entity": erp.entity, "accountId": salesforce_account_id(1), "currency": erp.currency,
              "lines": [{"sku": sku, "quantity": quantity, "uom": uom}]},
    ).json()  # fmt: skip
    line = body["lines"][0]
    assert line["status"] == "ok", line
    return str(line["netPrice"])


def test_price_check_answers_from_the_erp(client: TestClient[Litestar], erp: Erp) -> None:
    response = client.post(
        "/process/v1/price-check",
        json={"entity": erp.entity, "accountId": salesforce_account_id(1), "currency": erp.currency,
              "lines": [{"sku": "SKU-0001", "quantity": "1", "uom": "Each"},
                        {"sku": "SKU-0001", "quantity": "1", "uom": "Box"}]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["erp"] == erp.name
    each, box = body["lines"]
    assert each["status"] == box["status"] == "ok"
    assert each["currency"] == erp.currency
    assert Decimal(box["netPrice"]) == Decimal(each["netPrice"]) * 12
    assert body["provenance"]["vendor"] == erp.name


def test_quantity_break_lowers_the_unit_price(client: TestClient[Litestar], erp: Erp) -> None:
    one = Decimal(
        _net_price(
            client, erp, "SKU-0005" if erp.name == "sage_intacct" else "SKU-0001", "1", "Each"
        )
    )
    many = Decimal(
        _net_price(
            client, erp, "SKU-0005" if erp.name == "sage_intacct" else "SKU-0001", "100", "Each"
        )
    )
    assert many < one


def test_quote_at_the_erp_price_has_no_price_mismatch(
    client: TestClient[Litestar], erp: Erp
) -> None:
    net = _net_price(client, erp, "SKU-0001", "2", "Box")
    line = {"sku": "SKU-0001", "quantity": "2", "uom": "Box", "quotedUnitPrice": net}
    body = client.post("/process/v1/validate-quote", json=_quote(erp, lines=[line])).json()
    assert body["lines"][0]["priceStatus"] == "match"
    assert "PRICE_MISMATCH" not in _codes(body)
    assert body["creditProvenance"]["status"] == "complete"
    assert body["availabilityProvenance"]["vendor"] == erp.name


@pytest.mark.parametrize(
    ("case", "code", "verdict"),
    [
        ("price", "PRICE_MISMATCH", "warn"),
        ("stock", "INSUFFICIENT_STOCK", None),
        ("hold", "CREDIT_HOLD", "block"),
        ("limit", "CREDIT_LIMIT_EXCEEDED", "block"),
        ("inactive_item", "ITEM_INACTIVE", "block"),
        ("inactive_customer", "CUSTOMER_INACTIVE", "block"),
        ("uom", "UOM_NOT_CONVERTIBLE", "block"),
    ],
)
def test_each_verdict_reason(
    client: TestClient[Litestar], erp: Erp, case: str, code: str, verdict: str | None
) -> None:
    line = {"sku": "SKU-0001", "quantity": "1", "uom": "Each", "quotedUnitPrice": "0.01"}
    account = 1
    if case == "stock":
        line = {**line, "quantity": "900000"}
    elif case == "hold":
        account = erp.hold_account
    elif case == "limit":
        line = {**line, "quotedUnitPrice": "99999999"}
    elif case == "inactive_item":
        line = {**line, "sku": erp.inactive_sku}
    elif case == "inactive_customer":
        account = erp.inactive_account
    elif case == "uom":
        line = {**line, "quantity": "0.5"}
    response = client.post(
        "/process/v1/validate-quote", json=_quote(erp, account=account, lines=[line])
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert code in _codes(body), body["reasons"]
    if verdict:
        assert body["verdict"] == verdict


def test_atp_reports_warehouses_and_promise_dates(client: TestClient[Litestar], erp: Erp) -> None:
    response = client.post(
        "/process/v1/atp",
        json={"entity": erp.entity, "lines": [{"sku": "SKU-0002", "quantity": "1", "uom": "Each"},
                                              {"sku": "SKU-0002", "quantity": "900000", "uom": "Each"}]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    small, huge = response.json()["lines"]
    assert small["status"] == "available"
    assert small["warehouses"]
    assert huge["status"] in {"partial", "backorder"}
    assert huge["reason"] == "INSUFFICIENT_STOCK"


def test_credit_check_by_account(client: TestClient[Litestar], erp: Erp) -> None:
    response = client.post(
        "/process/v1/credit-check",
        json={
            "entity": erp.entity,
            "accountId": salesforce_account_id(1),
            "amount": "10",
            "currency": erp.currency,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    credit = body["credit"]
    assert Decimal(credit["exposure"]) == Decimal(credit["openReceivables"]) + Decimal(
        credit["openOrders"]
    )
    assert body["verdict"] in {"ok", "warn"}
    hold = client.post(
        "/process/v1/credit-check",
        json={"entity": erp.entity, "accountId": salesforce_account_id(erp.hold_account)},
    ).json()
    assert hold["verdict"] == "block"
    assert "CREDIT_HOLD" in _codes(hold)


def test_unknown_customer_number_is_422(client: TestClient[Litestar], erp: Erp) -> None:
    response = client.post(
        "/process/v1/credit-check", json={"entity": erp.entity, "customerNumber": "NOSUCH"}
    )
    assert response.status_code == 422
    assert "NOSUCH" in response.json()["detail"]


def test_hanging_erp_is_answered_within_the_deadline(
    sandbox: Sandbox, client: TestClient[Litestar], erp: Erp
) -> None:
    if erp.name == "infor_m3":
        sandbox.infor.set_fault(erp.hang_target, InforFault(kind="hang"))
    else:
        sandbox.intacct.set_fault(erp.hang_target, IntacctFault(kind="hang"))
    try:
        # Items nobody has asked for yet, so nothing is cached and the ERP must answer.
        cold = [
            {"sku": f"SKU-01{n}", "quantity": "1", "uom": "Each", "quotedUnitPrice": "1"}
            for n in (41, 42)
        ]
        response = client.post(
            "/process/v1/validate-quote",
            json=_quote(erp, account=2, lines=cold),
            headers={"X-Deadline-Ms": "400"},
        )
    finally:
        sandbox.infor.clear_faults()
        sandbox.intacct.clear_faults()
    assert response.status_code == 200, response.text  # the ERP hangs: the deadline answered
    body = response.json()
    unavailable = [
        name for name in ("creditProvenance", "priceProvenance", "availabilityProvenance")
        if body[name]["status"] != "complete"
    ]  # fmt: skip
    assert unavailable, json.dumps(body)
    assert body["verdict"] in {"warn", "block"}
