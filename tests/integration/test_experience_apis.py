"""What Lightning components and partner portals see, over an in-memory ERP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.experience.portal.views import band_of
from app.factory import create_app
from tests.support.apps import TEST_PARTNER_KEYS
from tests.support.experience import (
    A1,
    A_HOLD,
    experience_app,
    experience_client,
    experience_settings,
)

TODAY = date.today()
PARTNER_A = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with experience_client() as c:
        yield c


def _quote(account: str = A1, **line: Any) -> dict[str, Any]:
    return {
        "entity": "US01",
        "accountId": account,
        "currency": "USD",
        "lines": [{"sku": "WIDGET", "quantity": "2", "uom": "Box", "unitPrice": "120.00", **line}],
    }


def test_lightning_quote_is_ready_with_display_labels(client: TestClient[Litestar]) -> None:
    body = client.post("/lightning/v1/quotes/validate", json=_quote()).json()
    assert (body["status"], body["label"], body["variant"]) == (
        "READY", "Ready to submit", "success",
    )  # fmt: skip
    line = body["lines"][0]
    assert (line["priceStatus"], line["availabilityStatus"]) == ("MATCH", "AVAILABLE")
    assert body["credit"]["status"] == "OK"
    assert body["credit"]["headroom"] == "7000"  # full detail for internal users


def test_lightning_reasons_carry_titles_and_messages(client: TestClient[Litestar]) -> None:
    body = client.post(
        "/lightning/v1/quotes/validate", json=_quote(A_HOLD, unitPrice="99.00")
    ).json()
    assert body["status"] == "BLOCKED"
    titles = {m["code"]: (m["severity"], m["title"]) for m in body["messages"]}
    assert titles["CREDIT_HOLD"] == ("ERROR", "Account on credit hold")
    assert titles["PRICE_MISMATCH"] == ("WARNING", "Price differs from the ERP")
    assert body["credit"]["holdReason"] == "Customer stop 2"


def test_lightning_get_forms_read_by_id(client: TestClient[Litestar]) -> None:
    credit = client.get(
        f"/lightning/v1/accounts/{A1}/credit", params={"entity": "US01", "amount": "9000"}
    ).json()
    price = client.get(
        f"/lightning/v1/accounts/{A1}/prices/WIDGET",
        params={"entity": "US01", "currency": "USD", "quantity": "1", "uom": "Box"},
    ).json()
    stock = client.get(
        "/lightning/v1/products/WIDGET/availability",
        params={"entity": "US01", "quantity": "100", "uom": "Each"},
    ).json()
    assert (credit["credit"]["status"], credit["messages"][0]["code"]) == (
        "BLOCKED", "CREDIT_LIMIT_EXCEEDED",
    )  # fmt: skip
    assert (price["status"], price["netPrice"], price["discountPercent"]) == (
        "PRICED", "120.0000", "9.09",
    )  # fmt: skip
    assert (stock["status"], stock["label"]) == ("PARTIAL", "Partly available")
    assert {w["warehouse"] for w in stock["warehouses"]} == {"W1", "W2"}


def test_portal_prices_are_contract_prices_only(client: TestClient[Litestar]) -> None:
    body = client.post(
        f"/portal/v1/accounts/{A1}/prices",
        json={
            "entity": "US01",
            "currency": "USD",
            "lines": [{"sku": "WIDGET", "quantity": "2", "uom": "Box"}],
        },
        headers=PARTNER_A,
    ).json()
    line = body["lines"][0]
    assert (line["status"], line["contractPrice"], line["extendedPrice"]) == (
        "priced", "120.0000", "240.00",
    )  # fmt: skip
    assert "listPrice" not in line
    assert "discounts" not in line


@pytest.mark.parametrize(
    ("quantity", "band", "days"),
    [("10", "in_stock", 0), ("100", "limited", 10), ("10000", "limited", None)],
)
def test_portal_availability_is_a_band_without_quantities(
    client: TestClient[Litestar], quantity: str, band: str, days: int | None
) -> None:
    body = client.post(
        "/portal/v1/availability",
        json={"entity": "US01", "lines": [{"sku": "WIDGET", "quantity": quantity, "uom": "Each"}]},
        headers=PARTNER_A,
    ).json()
    line = body["lines"][0]
    assert line["band"] == band
    expected = None if days is None else (TODAY + timedelta(days=days)).isoformat()
    assert line["availableDate"] == expected
    assert set(line) == {"lineNo", "sku", "quantity", "uom", "band", "availableDate"}


def test_backorder_band_has_a_date() -> None:
    assert band_of("backorder", None) == "backorder"
    assert band_of("partial", 0) == "backorder"


def test_portal_credit_says_only_ok_or_contact_account_manager(
    client: TestClient[Litestar],
) -> None:
    ok = client.get(f"/portal/v1/accounts/{A1}/credit?entity=US01", headers=PARTNER_A).json()
    hold = client.get(f"/portal/v1/accounts/{A_HOLD}/credit?entity=US01", headers=PARTNER_A)
    assert ok["status"] == "ok"
    assert hold.json()["status"] == "contact_account_manager"
    assert "stop" not in hold.text.lower()  # the ERP's hold reason stays internal
    assert hold.headers["cache-control"] == "no-store"


def test_portal_quote_hides_credit_detail(client: TestClient[Litestar]) -> None:
    quote = _quote(A_HOLD, unitPrice="99.00")
    del quote["accountId"]
    body = client.post(
        f"/portal/v1/accounts/{A_HOLD}/quotes/validate", json=quote, headers=PARTNER_A
    ).json()
    assert (body["status"], body["credit"]) == ("blocked", "contact_account_manager")
    codes = [m["code"] for m in body["messages"]]
    assert codes == ["CONTACT_ACCOUNT_MANAGER", "PRICE_MISMATCH"]
    assert "headroom" not in str(body).lower()


# ---------------------------------------------------------------- schemathesis, every operation


@pytest.fixture(scope="module")
def schema() -> Iterator[Any]:
    app, services = experience_app()
    yield schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex="^/(lightning/|portal/|process/|ops/|metrics$)"
    )
    asyncio.run(services.http.aclose())  # it made no connection: any loop may close it


def _operations() -> list[tuple[str, str]]:
    spec = create_app(experience_settings()).openapi_schema.to_schema()
    return sorted(
        (path, method.upper())
        for path, item in spec["paths"].items()
        if path.startswith(("/lightning/", "/portal/", "/process/", "/ops/", "/metrics"))
        for method in item
    )


@pytest.mark.parametrize(("path", "method"), _operations())
def test_every_operation_honours_its_schema(schema: Any, path: str, method: str) -> None:
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(
        max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    def positive(case: schemathesis.Case) -> None:
        # Valid-looking input may name an unknown entity, account or product: a documented 4xx.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    def negative(case: schemathesis.Case) -> None:
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    positive()
    negative()
