"""Input an attacker or a broken client sends: it is refused with a problem, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.middleware.json_depth import json_too_deep
from tests.support.apps import TEST_PARTNER_KEYS
from tests.support.experience import A1, experience_client

PARTNER_A = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}
JSON_ROUTES = [
    ("/process/v1/validate-quote", {}),
    ("/lightning/v1/quotes/validate", {}),
    (f"/portal/v1/accounts/{A1}/quotes/validate", PARTNER_A),
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with experience_client() as c:
        yield c


def _arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def _objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _inside_a_field(depth: int) -> str:
    return '{"entity": "US01", "lines": ' + _arrays(depth) + "}"


@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("shape", [_arrays, _objects, _inside_a_field])
@pytest.mark.parametrize(("path", "headers"), JSON_ROUTES)
def test_deeply_nested_json_is_a_bad_request(
    client: TestClient[Litestar],
    caplog: pytest.LogCaptureFixture,
    path: str,
    headers: dict[str, str],
    shape: object,
    depth: int,
) -> None:
    body = shape(depth)  # type: ignore[operator]
    with caplog.at_level(logging.INFO):
        response = client.post(
            path, content=body, headers={"content-type": "application/json", **headers}
        )

    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    assert "nested deeper than" in response.json()["detail"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_quote_with_brackets_in_its_text_is_not_refused_as_nested(
    client: TestClient[Litestar],
) -> None:
    lines = [
        {"sku": "WIDGET", "quantity": "2", "uom": "Box", "unitPrice": "120.00"} for _ in range(40)
    ]
    quote = {"entity": "US01", "accountId": A1 + "[" * 40 + '\\"{' * 40, "lines": lines}
    response = client.post("/lightning/v1/quotes/validate", json=quote)

    assert response.status_code == 422  # the odd account id is refused, not the nesting
    assert "/accountId" in [e["pointer"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 33, True),  # unterminated: deep before it is malformed
        (b'{"a": "' + b"[" * 100 + b'"}', False),  # brackets in a string do not nest
        (b'{"a": "\\"' + b"[" * 100 + b'"}', False),  # nor after an escaped quote
        (b"[" + b"[]," * 1000 + b"[]]", False),  # many, but shallow
        (b'["\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", True),  # an escaped backslash ends
    ],
)
def test_json_depth_counts_nesting_not_brackets(body: bytes, too_deep: bool) -> None:
    assert too_deep == json_too_deep(body)


def test_an_unauthenticated_deep_body_is_refused_for_its_credential_first(
    client: TestClient[Litestar],
) -> None:
    response = client.post(
        "/process/v1/validate-quote",
        content=_arrays(1_000),
        headers={"content-type": "application/json", "X-API-Key": "isk_nobody"},
    )

    assert response.status_code == 401


# ---------------------------------------------------------------------------- decimals

ODD_DECIMALS = [
    "2_0",  # Python reads 20
    "\uff12",  # fullwidth 2
    "\u0662",  # Arabic-Indic 2
    "\U0001d7da",  # mathematical double-struck 2
    " 2",
    "2 ",
    "2\n",
    "+2",
    "-2",
    "1E+5",
    "1e5",
    "2.",
    ".5",
    "0x10",
    "NaN",
    "Infinity",
    "2.1234567",  # seven places
    "1,5",
    "",
]
NOT_STRINGS = [2, 2.5, 1e5, True, None, ["2"], {"value": "2"}]


def _quote_with(quantity: object = "2", unit_price: object = "120.00") -> dict[str, object]:
    return {
        "entity": "US01",
        "accountId": A1,
        "currency": "USD",
        "lines": [{"sku": "WIDGET", "quantity": quantity, "uom": "Box", "unitPrice": unit_price}],
    }


def _process_quote_with(quantity: object = "2", price: object = "120.00") -> dict[str, object]:
    return {
        "entity": "US01",
        "accountId": A1,
        "currency": "USD",
        "lines": [{"sku": "WIDGET", "quantity": quantity, "uom": "Box", "quotedUnitPrice": price}],
    }


def _pointers(response: Any) -> list[str]:
    return [e["pointer"] for e in response.json().get("errors") or []]


@pytest.mark.parametrize("odd", [*ODD_DECIMALS, "0", "0.0"])
def test_an_odd_quantity_is_refused_with_a_pointer(client: TestClient[Litestar], odd: str) -> None:
    lightning = client.post("/lightning/v1/quotes/validate", json=_quote_with(quantity=odd))
    process = client.post("/process/v1/validate-quote", json=_process_quote_with(quantity=odd))
    portal = client.post(
        f"/portal/v1/accounts/{A1}/quotes/validate",
        json={k: v for k, v in _quote_with(quantity=odd).items() if k != "accountId"},
        headers=PARTNER_A,
    )

    assert (lightning.status_code, _pointers(lightning)) == (422, ["/lines/0/quantity"])
    assert (process.status_code, _pointers(process)) == (422, ["/lines/0/quantity"])
    assert (portal.status_code, _pointers(portal)) == (422, ["/lines/0/quantity"])


@pytest.mark.parametrize("odd", ODD_DECIMALS)
def test_an_odd_price_is_refused_with_a_pointer(client: TestClient[Litestar], odd: str) -> None:
    lightning = client.post("/lightning/v1/quotes/validate", json=_quote_with(unit_price=odd))
    process = client.post("/process/v1/validate-quote", json=_process_quote_with(price=odd))

    assert (lightning.status_code, _pointers(lightning)) == (422, ["/lines/0/unitPrice"])
    assert (process.status_code, _pointers(process)) == (422, ["/lines/0/quotedUnitPrice"])


@pytest.mark.parametrize("value", NOT_STRINGS, ids=repr)
def test_a_json_number_where_the_schema_says_string_is_refused(
    client: TestClient[Litestar], value: object
) -> None:
    quantity = client.post("/lightning/v1/quotes/validate", json=_quote_with(quantity=value))
    price = client.post("/process/v1/validate-quote", json=_process_quote_with(price=value))
    credit = client.post(
        "/process/v1/credit-check", json={"entity": "US01", "accountId": A1, "amount": value}
    )

    assert (quantity.status_code, _pointers(quantity)) == (422, ["/lines/0/quantity"])
    assert (price.status_code, _pointers(price)) == (422, ["/lines/0/quotedUnitPrice"])
    if value is not None:  # amount is optional: null means "not given"
        assert (credit.status_code, _pointers(credit)) == (422, ["/amount"])


@pytest.mark.parametrize(
    ("quantity", "price"), [("2", "120.00"), ("0.5", "0"), ("000000002", "0.000001")]
)
def test_decimals_in_the_published_pattern_keep_their_meaning(
    client: TestClient[Litestar], quantity: str, price: str
) -> None:
    response = client.post("/process/v1/validate-quote", json=_process_quote_with(quantity, price))

    assert response.status_code == 200, response.text
    assert Decimal(quantity) == Decimal(response.json()["lines"][0]["quantity"])


@pytest.mark.parametrize("odd", ["2\n", "1E+5", "2_0", "\uff12"])
def test_an_odd_quantity_in_a_query_is_refused(client: TestClient[Litestar], odd: str) -> None:
    response = client.get(
        "/lightning/v1/products/WIDGET/availability",
        params={"entity": "US01", "quantity": odd, "uom": "Box"},
    )

    assert (response.status_code, _pointers(response)) == (422, ["query:quantity"])


# ---------------------------------------------------------------------------- the spec says so


def _spec(client: TestClient[Litestar]) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/metrics"),
        ("GET", "/ops/v1/status"),
        ("POST", "/ops/v1/cache/warm"),
        ("POST", "/ops/v1/cache/invalidate"),
    ],
)
def test_ops_refusals_are_what_the_spec_documents(
    client: TestClient[Litestar], method: str, path: str
) -> None:
    documented = _spec(client)["paths"][path][method.lower()]["responses"]
    anonymous = client.request(method, path, json={}, headers={"X-API-Key": ""})
    partner = client.request(method, path, json={}, headers=PARTNER_A)

    assert anonymous.status_code == 401
    assert partner.status_code == 403
    assert {"401", "403"} <= set(documented)


def test_every_operation_needing_a_credential_documents_401_and_403(
    client: TestClient[Litestar],
) -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in _spec(client)["paths"].items()
        for method, operation in item.items()
        if operation.get("security") and not {"401", "403"} <= set(operation["responses"])
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "name", ["PriceCheckRequest", "CreditCheckRequest", "ValidateQuoteRequest"]
)
def test_the_spec_says_exactly_one_of_account_id_and_customer_number(
    client: TestClient[Litestar], name: str
) -> None:
    schema = _spec(client)["components"]["schemas"][name]

    assert [o["required"] for o in schema["oneOf"]] == [["accountId"], ["customerNumber"]]
    assert "exactly one of accountId and customerNumber" in schema["description"]
    both = client.post(
        "/process/v1/credit-check",
        json={"entity": "US01", "accountId": A1, "customerNumber": "C1"},
    )
    neither = client.post("/process/v1/credit-check", json={"entity": "US01"})
    assert (both.status_code, neither.status_code) == (422, 422)
