"""Input an attacker or a broken client sends: it is refused with a problem, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator

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
