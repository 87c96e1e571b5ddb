"""Every protected route refuses missing or bad credentials, wrong scopes and other partners' ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.security import hash_api_key
from app.settings import ApiKeySetting
from tests.support.apps import TEST_API_KEY, TEST_PARTNER_KEYS
from tests.support.experience import A1, B1, experience_client, experience_settings

LINE = {"sku": "WIDGET", "quantity": "2", "uom": "Each"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str
    body: dict[str, Any] | None = None

    def url(self, account: str = A1) -> str:
        return self.path.replace("{account}", account)


PROCESS = [
    Route("POST", "/process/v1/price-check", "process:invoke",
          {"entity": "US01", "accountId": A1, "currency": "USD", "lines": [LINE]}),
    Route("POST", "/process/v1/atp", "process:invoke", {"entity": "US01", "lines": [LINE]}),
    Route("POST", "/process/v1/credit-check", "process:invoke", {"entity": "US01", "accountId": A1}),
    Route("POST", "/process/v1/validate-quote", "process:invoke",
          {"entity": "US01", "accountId": A1, "currency": "USD",
           "lines": [{**LINE, "quotedUnitPrice": "10.00"}]}),
]  # fmt: skip
LIGHTNING = [
    Route("POST", "/lightning/v1/quotes/validate", "quotes:validate",
          {"entity": "US01", "accountId": A1, "currency": "USD",
           "lines": [{**LINE, "unitPrice": "10.00"}]}),
    Route("POST", "/lightning/v1/prices/check", "prices:read",
          {"entity": "US01", "accountId": A1, "currency": "USD", "lines": [LINE]}),
    Route("GET", f"/lightning/v1/accounts/{A1}/prices/WIDGET?entity=US01&currency=USD&quantity=2&uom=Each",
          "prices:read"),
    Route("POST", "/lightning/v1/availability/check", "inventory:read",
          {"entity": "US01", "lines": [LINE]}),
    Route("GET", "/lightning/v1/products/WIDGET/availability?entity=US01&quantity=2&uom=Each",
          "inventory:read"),
    Route("GET", f"/lightning/v1/accounts/{A1}/credit?entity=US01", "credit:read"),
]  # fmt: skip
PORTAL = [
    Route("GET", "/portal/v1/accounts", "accounts:read"),
    Route("GET", "/portal/v1/accounts/{account}/credit?entity=US01", "credit:read"),
    Route("POST", "/portal/v1/accounts/{account}/prices", "prices:read",
          {"entity": "US01", "currency": "USD", "lines": [LINE]}),
    Route("POST", "/portal/v1/availability", "inventory:read", {"entity": "US01", "lines": [LINE]}),
    Route("POST", "/portal/v1/accounts/{account}/quotes/validate", "quotes:validate",
          {"entity": "US01", "currency": "USD", "lines": [{**LINE, "unitPrice": "10.00"}]}),
]  # fmt: skip
PORTAL_WITH_ACCOUNT = [r for r in PORTAL if "{account}" in r.path]
ALL = PROCESS + LIGHTNING + PORTAL

# One key per scope, internal and partner, each lacking every other scope.
NARROW_KEYS = {
    (scope, partner): f"isk_test_narrow_{scope.replace(':', '_')}_{partner or 'internal'}"
    for scope in {r.scope for r in ALL}
    for partner in (None, "PARTNER-A")
}
OTHER_SCOPE = {"process:invoke": "credit:read"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    settings = experience_settings()
    narrow = [
        ApiKeySetting(
            client=f"narrow-{i}",
            key_sha256=hash_api_key(key),
            scopes=[OTHER_SCOPE.get(scope, "process:invoke")],
            partner_id=partner,
        )
        for i, ((scope, partner), key) in enumerate(NARROW_KEYS.items())
    ]
    security = msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, *narrow]
    )
    with experience_client(msgspec.structs.replace(settings, security=security)) as c:
        yield c


def _call(
    client: TestClient[Litestar], route: Route, headers: dict[str, str], account: str = A1
) -> Any:
    if route.method == "GET":
        return client.get(route.url(account), headers=headers)
    return client.post(route.url(account), json=route.body, headers=headers)


def _key_for(route: Route) -> str:
    return TEST_PARTNER_KEYS["PARTNER-A"] if route in PORTAL else TEST_API_KEY


def _ids(routes: list[Route]) -> list[str]:
    return [f"{r.method} {r.path.split('?')[0]}" for r in routes]


@pytest.mark.parametrize("route", ALL, ids=_ids(ALL))
def test_route_answers_with_its_credential(client: TestClient[Litestar], route: Route) -> None:
    response = _call(client, route, {"X-API-Key": _key_for(route)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": ""},
        {"X-API-Key": "isk_not_a_key"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "isk_not_a_key", "Authorization": "Bearer x"},
    ],
    ids=["empty-key", "unknown-key", "garbage-token", "basic-auth", "both"],
)
@pytest.mark.parametrize("route", ALL, ids=_ids(ALL))
def test_missing_or_invalid_credentials_are_401_with_a_challenge(
    client: TestClient[Litestar], route: Route, headers: dict[str, str]
) -> None:
    response = _call(client, route, headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("route", ALL, ids=_ids(ALL))
def test_no_credential_at_all_is_401(client: TestClient[Litestar], route: Route) -> None:
    client.headers.pop("X-API-Key", None)
    try:
        response = _call(client, route, {})
    finally:
        client.headers["X-API-Key"] = TEST_API_KEY
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", ALL, ids=_ids(ALL))
def test_credential_without_the_scope_is_403(client: TestClient[Litestar], route: Route) -> None:
    partner = "PARTNER-A" if route in PORTAL else None
    response = _call(client, route, {"X-API-Key": NARROW_KEYS[(route.scope, partner)]})
    assert response.status_code == 403, response.text
    assert route.scope in response.json()["detail"]


@pytest.mark.parametrize("route", PROCESS + LIGHTNING, ids=_ids(PROCESS + LIGHTNING))
def test_partner_credentials_cannot_call_internal_apis(
    client: TestClient[Litestar], route: Route
) -> None:
    response = _call(client, route, {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]})
    assert response.status_code == 403


@pytest.mark.parametrize("route", PORTAL, ids=_ids(PORTAL))
def test_internal_credentials_cannot_call_the_portal(
    client: TestClient[Litestar], route: Route
) -> None:
    assert _call(client, route, {"X-API-Key": TEST_API_KEY}).status_code == 403


@pytest.mark.parametrize(
    "account", [B1, "001Sbx000000099AAA", "not-an-id"], ids=["other-partner", "unknown", "junk"]
)
@pytest.mark.parametrize("route", PORTAL_WITH_ACCOUNT, ids=_ids(PORTAL_WITH_ACCOUNT))
def test_another_partners_account_is_404_never_the_data(
    client: TestClient[Litestar], route: Route, account: str
) -> None:
    response = _call(client, route, {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}, account)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    assert B1 not in response.text or account == B1
    # ...and the owner sees it.
    owner = _call(client, route, {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-B"]}, B1)
    assert owner.status_code == 200, owner.text


def test_partner_lists_only_its_own_accounts(client: TestClient[Litestar]) -> None:
    body = client.get(
        "/portal/v1/accounts", headers={"X-API-Key": TEST_PARTNER_KEYS["PARTNER-B"]}
    ).json()
    assert body == {"partnerId": "PARTNER-B", "accounts": [{"accountId": B1}]}


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/openapi.json", "/docs"])
def test_health_and_docs_stay_open(client: TestClient[Litestar], path: str) -> None:
    client.headers.pop("X-API-Key", None)
    try:
        assert client.get(path).status_code == 200
    finally:
        client.headers["X-API-Key"] = TEST_API_KEY
