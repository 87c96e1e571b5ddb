"""Per-client rate limits (shared through Redis, local when Redis is down), 431, CORS, no-store,
bearer tokens from the sandbox issuer over real HTTP, and logs free of secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from app.logs import JsonFormatter, RedactingFilter
from app.settings import IssuerSetting, RateLimitSettings, Settings
from sandbox.issuer import DEMO_AUDIENCE, Fault, TokenIssuer
from tests.support.apps import TEST_API_KEY, TEST_PARTNER_KEYS, TEST_SECRETS
from tests.support.experience import A1, experience_client, experience_settings
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port, serve

CREDIT = f"/lightning/v1/accounts/{A1}/credit?entity=US01"
PORTAL_CREDIT = f"/portal/v1/accounts/{A1}/credit?entity=US01"
PORTAL_ORIGIN = "https://portal.partner-a.example"


@pytest.fixture(scope="module", autouse=True)
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of this module, formatted as in production; checked for secrets at the end."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _limited(requests: int, **env: str) -> Settings:
    settings = experience_settings(**env)
    security = msgspec.structs.replace(
        settings.security, rate_limit=RateLimitSettings(requests=requests, window_s=60)
    )
    return msgspec.structs.replace(settings, security=security)


def test_budget_is_per_client_with_ratelimit_headers_and_429() -> None:
    with experience_client(_limited(3)) as client:
        statuses = [client.get(CREDIT).status_code for _ in range(4)]
        refused = client.get(CREDIT)
        other_client = client.get(
            PORTAL_CREDIT, headers={"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}
        )
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == "3"
    assert other_client.status_code == 200  # another client has its own budget


@pytest.mark.redis
def test_two_instances_share_one_budget_through_redis(redis_url: str) -> None:
    settings = _limited(4, redis_url=redis_url)
    with experience_client(settings) as first, experience_client(settings) as second:
        statuses = [c.get(CREDIT).status_code for c in (first, second, first, second, first)]
        remaining = second.get("/lightning/v1/accounts/{A1}/credit", params={"entity": "US01"})
    assert statuses == [200, 200, 200, 200, 429]
    assert remaining.status_code in {404, 422, 429}


@pytest.mark.redis
def test_when_redis_dies_each_instance_falls_back_to_its_own_limit(
    killable_redis: RedisServer,
) -> None:
    settings = _limited(3, redis_url=killable_redis.url)
    with experience_client(settings) as client:
        assert client.get(CREDIT).status_code == 200  # counted in Redis
        killable_redis.stop()
        statuses = [client.get(CREDIT).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # a fresh local budget, still enforced


def test_oversized_headers_are_431() -> None:
    with experience_client() as client:
        response = client.get(CREDIT, headers={"X-Padding": "x" * 9000})
    assert response.status_code == 431
    assert response.json()["code"] == "headers_too_large"


def test_portal_answers_cors_for_configured_origins_only_and_is_never_cached() -> None:
    key = {"X-API-Key": TEST_PARTNER_KEYS["PARTNER-A"]}
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-api-key",
    }
    with experience_client(api_key=None) as client:
        allowed = client.options(PORTAL_CREDIT, headers={"Origin": PORTAL_ORIGIN, **preflight})
        refused = client.options(
            PORTAL_CREDIT, headers={"Origin": "https://evil.example", **preflight}
        )
        data = client.get(PORTAL_CREDIT, headers={"Origin": PORTAL_ORIGIN, **key})
        foreign = client.get(PORTAL_CREDIT, headers={"Origin": "https://evil.example", **key})
        error = client.get(PORTAL_CREDIT, headers={"Origin": PORTAL_ORIGIN})
        lightning = client.get(CREDIT, headers={"Origin": PORTAL_ORIGIN, "X-API-Key": TEST_API_KEY})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert "x-api-key" in allowed.headers["access-control-allow-headers"]
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert data.status_code == 200
    assert data.headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert data.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in foreign.headers
    assert error.status_code == 401
    assert error.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in lightning.headers


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    port = free_port()
    issuer = TokenIssuer(public_url=f"http://127.0.0.1:{port}")
    with serve(issuer.app, port=port):
        yield issuer


def _with_issuer(issuer: TokenIssuer) -> Settings:
    settings = experience_settings()
    security = msgspec.structs.replace(
        settings.security,
        issuers=[
            IssuerSetting(issuer=issuer.issuer, jwks_url=issuer.jwks_url, audience=DEMO_AUDIENCE)
        ],
    )
    return msgspec.structs.replace(settings, security=security)


def _token(issuer: TokenIssuer, client_id: str, secret: str) -> str:
    response = httpx.post(
        issuer.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_tokens_from_the_sandbox_issuer_authenticate_over_real_http(issuer: TokenIssuer) -> None:
    internal = _token(issuer, "salesforce-demo", "demo-salesforce-secret")
    partner = _token(issuer, "portal-partner-a", "demo-partner-a-secret")
    with experience_client(_with_issuer(issuer), api_key=None) as client:
        ok = client.get(CREDIT, headers={"Authorization": f"Bearer {internal}"})
        portal = client.get(PORTAL_CREDIT, headers={"Authorization": f"Bearer {partner}"})
        partner_on_lightning = client.get(CREDIT, headers={"Authorization": f"Bearer {partner}"})
        tampered = client.get(CREDIT, headers={"Authorization": f"Bearer {internal[:-4]}AAAA"})
    assert ok.status_code == 200, ok.text
    assert portal.json()["status"] == "ok"
    assert partner_on_lightning.status_code == 403
    assert tampered.status_code == 401
    assert 'error="invalid_token"' in tampered.headers["www-authenticate"]


def test_wrong_client_secret_gets_no_token(issuer: TokenIssuer) -> None:
    response = httpx.post(
        issuer.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "salesforce-demo",
            "client_secret": "x",
        },
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_issuer_down_before_first_use_is_503_not_401(issuer: TokenIssuer) -> None:
    token = _token(issuer, "salesforce-demo", "demo-salesforce-secret")
    issuer.set_fault("jwks", Fault(kind="status", status=503))
    try:
        with experience_client(_with_issuer(issuer), api_key=None) as client:
            response = client.get(CREDIT, headers={"Authorization": f"Bearer {token}"})
    finally:
        issuer.clear_faults()
    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"


def test_zz_logs_of_this_module_hold_no_test_secret(captured_logs: io.StringIO) -> None:
    with experience_client(api_key=None) as client:
        client.get(CREDIT, headers={"X-API-Key": TEST_API_KEY + "-revoked"})
        client.get(CREDIT, headers={"Authorization": f"Bearer {TEST_API_KEY}"})
        client.get(CREDIT, headers={"X-API-Key": TEST_PARTNER_KEYS["PARTNER-B"]})
    text = captured_logs.getvalue()
    assert "refused API key" in text  # the refusals above were logged...
    for secret in (*TEST_SECRETS, "demo-salesforce-secret", "demo-partner-a-secret"):
        assert secret not in text  # ...without the credentials
    for line in text.splitlines():
        json.loads(line)
