"""Process APIs through the HTTP app over an in-memory ERP: verdicts, mapping, deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from process_apis.xref import CrossReference, normalize_salesforce_id
from system_apis.errors import BackendUnavailableError
from tests.support.apps import gateway_over
from tests.support.fake_erp import FakeErp, seeded_fake

ACCOUNT_18 = normalize_salesforce_id("001000000000001", pointer="")
TODAY = date.today()


def _xref() -> CrossReference:
    return CrossReference(
        accounts={ACCOUNT_18: {"US01": "C1"}},
        products={
            "WIDGET": {"infor_m3": "I1"},
            "GADGET": {"infor_m3": "I2"},
            "RETIRED": {"infor_m3": "OLD"},
            "BULK": {"infor_m3": "KG"},
            "GHOST": {"infor_m3": "NOPE"},
        },
        units={"Each": {"infor_m3": "EA"}},
    )


@pytest.fixture
def fake() -> FakeErp:
    return seeded_fake()


@pytest.fixture
def client(fake: FakeErp) -> Iterator[TestClient[Litestar]]:
    with gateway_over({"infor_m3": fake}, _xref()) as c:
        yield c


def _quote(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": "US01",
        "customerNumber": "C1",
        "currency": "USD",
        "lines": [
            {"sku": "WIDGET", "quantity": "2", "uom": "BOX", "quotedUnitPrice": "120.00"},
            {"sku": "GADGET", "quantity": "10", "uom": "EA", "quotedUnitPrice": "5.00"},
        ],
    }
    body.update(overrides)
    return body


def _codes(body: dict[str, Any]) -> set[str]:
    return {r["code"] for r in body["reasons"]}


def test_clean_quote_is_ok_with_prices_in_the_quoted_unit(client: TestClient[Litestar]) -> None:
    response = client.post("/process/v1/validate-quote", json=_quote())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "ok", body["reasons"]
    first = body["lines"][0]
    assert first["netUnitPrice"] == "120.0000"  # 10.00 per EA x 12 per BOX
    assert first["priceStatus"] == "match"
    assert first["availabilityStatus"] == "available"
    assert body["quoteTotal"] == "290.00"
    assert body["credit"]["headroom"] == "7000"
    assert body["creditProvenance"]["status"] == "complete"
    assert body["priceProvenance"]["vendor"] == "infor_m3"


def test_price_below_erp_net_is_a_price_mismatch_warning(client: TestClient[Litestar]) -> None:
    quote = _quote()
    quote["lines"][0]["quotedUnitPrice"] = "99.00"
    body = client.post("/process/v1/validate-quote", json=quote).json()
    assert body["verdict"] == "warn"
    mismatch = [r for r in body["reasons"] if r["code"] == "PRICE_MISMATCH"]
    assert mismatch[0]["lineNo"] == 1
    assert body["lines"][0]["priceDelta"] == "-21.0000"


def test_quantity_beyond_stock_is_insufficient_stock_with_promise_date(
    client: TestClient[Litestar],
) -> None:
    quote = _quote(
        lines=[{"sku": "WIDGET", "quantity": "100", "uom": "EA", "quotedUnitPrice": "9.00"}]
    )
    body = client.post("/process/v1/validate-quote", json=quote).json()
    assert "INSUFFICIENT_STOCK" in _codes(body)
    line = body["lines"][0]
    assert line["availabilityStatus"] == "partial"
    assert line["promiseDate"] == (TODAY + timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("customer", "code"), [("HOLD", "CREDIT_HOLD"), ("GONE", "CUSTOMER_INACTIVE")]
)
def test_customer_problems_block_the_quote(
    client: TestClient[Litestar], customer: str, code: str
) -> None:
    body = client.post("/process/v1/validate-quote", json=_quote(customerNumber=customer)).json()
    assert body["verdict"] == "block"
    assert code in _codes(body)


def test_quote_above_headroom_exceeds_credit_limit(client: TestClient[Litestar]) -> None:
    quote = _quote(
        lines=[{"sku": "GADGET", "quantity": "900", "uom": "EA", "quotedUnitPrice": "9.00"}]
    )
    body = client.post("/process/v1/validate-quote", json=quote).json()
    assert body["verdict"] == "block"
    assert "CREDIT_LIMIT_EXCEEDED" in _codes(body)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"sku": "RETIRED", "quantity": "1", "uom": "EA", "quotedUnitPrice": "1"}, "ITEM_INACTIVE"),
        (
            {"sku": "BULK", "quantity": "1", "uom": "BOX", "quotedUnitPrice": "1"},
            "UOM_NOT_CONVERTIBLE",
        ),
        (
            {"sku": "WIDGET", "quantity": "0.5", "uom": "EA", "quotedUnitPrice": "1"},
            "UOM_NOT_CONVERTIBLE",
        ),
        ({"sku": "GHOST", "quantity": "1", "uom": "EA", "quotedUnitPrice": "1"}, "ITEM_NOT_FOUND"),
    ],
)
def test_item_problems_block_the_line(
    client: TestClient[Litestar], line: dict[str, str], code: str
) -> None:
    body = client.post("/process/v1/validate-quote", json=_quote(lines=[line])).json()
    assert body["verdict"] == "block"
    assert code in _codes(body)
    assert next(r for r in body["reasons"] if r["code"] == code)["lineNo"] == 1


def test_salesforce_account_id_is_cross_referenced(
    client: TestClient[Litestar], fake: FakeErp
) -> None:
    quote = _quote(accountId=ACCOUNT_18[:15])
    del quote["customerNumber"]
    response = client.post("/process/v1/validate-quote", json=quote)
    assert response.status_code == 200
    assert response.json()["customerNumber"] == "C1"
    assert ("get_customer_credit", "C1") in fake.calls


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"entity": "ZZ99"}, "/entity"),
        (
            {"lines": [{"sku": "NOPE", "quantity": "1", "uom": "EA", "quotedUnitPrice": "1"}]},
            "/lines/0/sku",
        ),
        (
            {"lines": [{"sku": "WIDGET", "quantity": "0", "uom": "EA", "quotedUnitPrice": "1"}]},
            "/lines/0/quantity",
        ),
        (
            {
                "lines": [
                    {"sku": "WIDGET", "quantity": "1.1234567", "uom": "EA", "quotedUnitPrice": "1"}
                ]
            },
            "/lines/0/quantity",
        ),
        ({"lines": []}, "/lines"),
        ({"currency": "usd"}, "/currency"),
        ({"colour": "red"}, ""),
    ],
)
def test_bad_input_is_422_with_a_pointer(
    client: TestClient[Litestar], overrides: dict[str, Any], pointer: str
) -> None:
    response = client.post("/process/v1/validate-quote", json=_quote(**overrides))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    pointers = [e["pointer"] for e in response.json().get("errors", [])]
    assert any(p.startswith(pointer) for p in pointers), pointers


def test_account_id_with_bad_checksum_is_422(client: TestClient[Litestar]) -> None:
    quote = _quote(accountId=ACCOUNT_18[:15] + "XXX")
    del quote["customerNumber"]
    response = client.post("/process/v1/validate-quote", json=quote)
    assert response.status_code == 422
    assert "checksum" in response.json()["detail"]


def test_more_than_500_lines_is_refused(client: TestClient[Litestar]) -> None:
    line = {"sku": "WIDGET", "quantity": "1", "uom": "EA", "quotedUnitPrice": "10"}
    response = client.post("/process/v1/validate-quote", json=_quote(lines=[line] * 501))
    assert response.status_code == 422


def test_a_slow_erp_still_gives_a_whole_answer_within_the_budget(fake: FakeErp) -> None:
    # That the reads run concurrently is shown with gates in tests/unit/process.
    fake.delay = {
        "get_customer_credit": 0.05,
        "get_item": 0.05,
        "get_price": 0.05,
        "get_availability": 0.05,
    }
    with gateway_over({"infor_m3": fake}, _xref()) as c:
        response = c.post(
            "/process/v1/validate-quote", json=_quote(), headers={"X-Deadline-Ms": "8000"}
        )
    assert response.json()["verdict"] == "ok"


def test_hanging_backend_answers_within_the_deadline_naming_the_missing_section(
    fake: FakeErp,
) -> None:
    fake.delay = {"get_availability": float("inf")}
    with gateway_over({"infor_m3": fake}, _xref()) as c:
        response = c.post(
            "/process/v1/validate-quote", json=_quote(), headers={"X-Deadline-Ms": "300"}
        )
    body = response.json()
    assert response.status_code == 200  # the ERP never answers: the deadline ended the wait
    assert body["availabilityProvenance"]["status"] == "unavailable"
    assert body["availabilityProvenance"]["reason"] == "DEADLINE_EXCEEDED"
    assert body["priceProvenance"]["status"] == "complete"
    assert "AVAILABILITY_UNAVAILABLE" in _codes(body)
    assert "get_availability" in fake.cancelled


def test_failing_credit_backend_is_a_warning_not_an_error(fake: FakeErp) -> None:
    fake.fail = {"get_customer_credit": BackendUnavailableError("503 from ION", vendor="infor_m3")}
    with gateway_over({"infor_m3": fake}, _xref()) as c:
        body = c.post("/process/v1/validate-quote", json=_quote()).json()
    assert body["verdict"] == "warn"
    assert "CREDIT_UNAVAILABLE" in _codes(body)
    assert body["creditProvenance"]["status"] == "unavailable"


def test_price_check_reports_list_net_and_extended(client: TestClient[Litestar]) -> None:
    body = client.post(
        "/process/v1/price-check",
        json={"entity": "US01", "customerNumber": "C1", "currency": "USD",
              "lines": [{"sku": "WIDGET", "quantity": "100", "uom": "EA"}]},
    ).json()  # fmt: skip
    line = body["lines"][0]
    assert line["status"] == "ok"
    assert (line["listPrice"], line["netPrice"], line["extendedNet"]) == (
        "11.0000",
        "9.0000",
        "900.00",
    )


def test_price_in_another_currency_without_rate_is_a_line_error(
    client: TestClient[Litestar],
) -> None:
    body = client.post(
        "/process/v1/price-check",
        json={"entity": "US01", "customerNumber": "C1", "currency": "EUR",
              "lines": [{"sku": "WIDGET", "quantity": "1", "uom": "EA"}]},
    ).json()  # fmt: skip
    assert body["lines"][0]["reason"] == "CURRENCY_NOT_CONVERTIBLE"


def test_price_in_another_currency_is_converted_with_a_configured_rate(fake: FakeErp) -> None:
    env = {"fx_rates__EUR/USD__rate": "1.25", "fx_rates__EUR/USD__as_of": "2026-11-01"}
    with gateway_over({"infor_m3": fake}, _xref(), **env) as c:
        body = c.post(
            "/process/v1/price-check",
            json={"entity": "US01", "customerNumber": "C1", "currency": "EUR",
                  "lines": [{"sku": "WIDGET", "quantity": "1", "uom": "EA"}]},
        ).json()  # fmt: skip
    line = body["lines"][0]
    assert line["netPrice"] == "8.0000"
    assert line["conversion"] == {
        "fromCurrency": "USD",
        "toCurrency": "EUR",
        "rate": "0.8000000000",
        "asOf": "2026-11-01",
    }


def test_atp_lists_warehouses_in_the_requested_unit(client: TestClient[Litestar]) -> None:
    body = client.post(
        "/process/v1/atp",
        json={"entity": "US01", "lines": [{"sku": "WIDGET", "quantity": "5", "uom": "BOX"}]},
    ).json()
    line = body["lines"][0]
    assert line["status"] == "partial"
    assert {w["warehouse"]: w["availableNow"] for w in line["warehouses"]} == {
        "W1": "4.1667",
        "W2": "0.4167",
    }
    assert line["promiseDate"] == (TODAY + timedelta(days=10)).isoformat()


def test_credit_check_verdicts(client: TestClient[Litestar]) -> None:
    ok = client.post(
        "/process/v1/credit-check", json={"entity": "US01", "customerNumber": "C1", "amount": "100"}
    )
    over = client.post(
        "/process/v1/credit-check",
        json={"entity": "US01", "customerNumber": "C1", "amount": "7000.01"},
    )
    hold = client.post(
        "/process/v1/credit-check", json={"entity": "US01", "customerNumber": "HOLD"}
    )
    assert ok.json()["verdict"] == "ok"
    assert ok.json()["credit"]["exposure"] == "3000"
    assert over.json()["verdict"] == "block"
    assert "CREDIT_LIMIT_EXCEEDED" in _codes(over.json())
    assert hold.json()["verdict"] == "block"


def test_credit_check_for_unknown_customer_is_422(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/process/v1/credit-check", json={"entity": "US01", "customerNumber": "NOBODY"}
    )
    assert response.status_code == 422
    assert "NOBODY" in response.json()["detail"]


def test_entity_without_configured_erp_is_503(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/process/v1/credit-check", json={"entity": "DE01", "customerNumber": "C1"}
    )
    assert response.status_code == 503
    assert response.json()["code"] == "backend_not_configured"


def test_amounts_are_decimal_strings_not_floats(client: TestClient[Litestar]) -> None:
    body = client.post("/process/v1/validate-quote", json=_quote()).json()
    assert isinstance(body["quoteTotal"], str)
    assert Decimal(body["quoteTotal"]) == Decimal("290.00")
