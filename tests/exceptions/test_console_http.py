"""The console's guards over plain HTTP (no browser): sign-in, session cookie, scopes, CSRF,
open redirects, redaction of sensitive fields, and the Prometheus series."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
import yaml

from app.factory import create_app
from app.security import EXCEPTIONS_VIEW, OPS_ADMIN, hash_api_key
from app.services import Services
from app.settings import ApiKeySetting
from app.wiring import build_process_api
from process_apis.exceptions import MASK, ExceptionQueue, OrderSubmitFlow, capture
from store import Database, NewOrder
from store import orders as order_rows
from store.tables import audit_log
from store.watermarks import advance_watermark
from tests.support.apps import TEST_API_KEY, TEST_PARTNER_KEYS, settings_for
from tests.support.datetime_clock import ManualClock
from tests.support.exceptions import erp_request, failed_order, order_failure
from tests.support.inprocess import running

VIEW_KEY = "isk_test_console_viewer_9e1d"
METRICS_KEY = "isk_test_console_metrics_0c44"
REF = "801Sbx000000001AAA"


@pytest.fixture
async def db(sqlite_store_url: str) -> AsyncIterator[Database]:
    from tests.support.stores import empty

    database = Database(sqlite_store_url)
    await empty(database)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
async def web(db: Database, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(console__session_secret="test-console-secret")
    extra = [
        ApiKeySetting(client="viewer", key_sha256=hash_api_key(VIEW_KEY), scopes=[EXCEPTIONS_VIEW]),
        ApiKeySetting(client="scraper", key_sha256=hash_api_key(METRICS_KEY), scopes=[OPS_ADMIN]),
    ]
    settings = msgspec.structs.replace(settings, security=msgspec.structs.replace(
        settings.security, api_keys=[*settings.security.api_keys, *extra]))  # fmt: skip
    http = httpx.AsyncClient()
    services = Services(
        settings=settings, http=http, process=build_process_api(settings, {}),
        exceptions=ExceptionQueue(db, {"order_submit": OrderSubmitFlow()}, clock=clock),
    )  # fmt: skip
    async with running(create_app(settings, services=services)) as client:
        yield client
    await http.aclose()


async def sign_in(web: httpx.AsyncClient, key: str, next_path: str = "/ops/") -> httpx.Response:
    form = await web.get("/ops/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return await web.post("/ops/login", data={"csrf_token": token[1], "api_key": key,
                                              "next": next_path})  # fmt: skip


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found[1]


async def test_pages_need_a_session_and_sign_in_sets_a_hardened_cookie(
    web: httpx.AsyncClient,
) -> None:
    before = await web.get("/ops/exceptions?status=open")
    assert (before.status_code, before.headers["location"]) == (
        303, "/ops/login?next=%2Fops%2Fexceptions%3Fstatus%3Dopen"
    )  # fmt: skip
    signed = await sign_in(web, TEST_API_KEY, "/ops/exceptions")
    assert (signed.status_code, signed.headers["location"]) == (303, "/ops/exceptions")
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("isthmus_ops="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ops" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is Secure (next test)
    page = await web.get("/ops/exceptions")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_the_cookie_is_secure_over_tls_and_redirects_stay_on_the_console(
    web: httpx.AsyncClient,
) -> None:
    form = await web.get("/ops/login")
    answer = await web.post(
        "/ops/login",
        data={"csrf_token": csrf_of(form.text), "api_key": TEST_API_KEY,
              "next": "https://evil.example/steal"},
        headers={"x-forwarded-proto": "https"},
    )  # fmt: skip
    assert answer.headers["location"] == "/ops/"
    assert "Secure" in next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("isthmus_ops=")
    )


@pytest.mark.parametrize(
    ("key", "status", "says"),
    [
        ("isk_not_a_key_at_all", 401, "not a valid ops credential"),
        (TEST_PARTNER_KEYS["PARTNER-A"], 401, "not a valid ops credential"),
        (METRICS_KEY, 403, "lacks the exceptions:view scope"),
    ],
)
async def test_sign_in_refuses_what_is_not_an_ops_credential(
    web: httpx.AsyncClient, key: str, status: int, says: str
) -> None:
    answer = await sign_in(web, key)
    assert answer.status_code == status
    assert says in answer.text
    assert not any(c.startswith("isthmus_ops=") for c in answer.headers.get_list("set-cookie"))


async def test_a_view_only_operator_sees_no_actions_and_cannot_post_one(
    web: httpx.AsyncClient, db: Database, clock: ManualClock
) -> None:
    failure_id = await failed_order(db, clock, "ord_1", REF)
    await sign_in(web, VIEW_KEY)
    page = await web.get(f"/ops/exceptions/{failure_id}")
    assert "view only" in page.text
    assert 'id="replay"' not in page.text
    assert 'id="retry"' not in page.text
    refused = await web.post(f"/ops/exceptions/{failure_id}/retry",
                             data={"csrf_token": csrf_of(page.text)})  # fmt: skip
    assert refused.status_code == 403
    assert "exceptions:act" in refused.json()["detail"]


async def test_forms_need_the_sessions_csrf_token_and_the_same_origin(
    web: httpx.AsyncClient, db: Database, clock: ManualClock
) -> None:
    failure_id = await failed_order(db, clock, "ord_1", REF)
    await sign_in(web, TEST_API_KEY)
    page = await web.get(f"/ops/exceptions/{failure_id}")
    token = csrf_of(page.text)
    url = f"/ops/exceptions/{failure_id}/comment"
    missing = await web.post(url, data={"text": "x"})
    wrong = await web.post(url, data={"text": "x", "csrf_token": token[:-2] + "zz"})
    cross = await web.post(url, data={"text": "x", "csrf_token": token},
                           headers={"origin": "https://evil.example"})  # fmt: skip
    no_login_token = await web.post("/ops/login", data={"api_key": TEST_API_KEY})
    assert [r.status_code for r in (missing, wrong, cross, no_login_token)] == [403] * 4
    async with db.transaction() as conn:
        comments = await conn.scalar(
            audit_log.select()
            .where(audit_log.c.action == "exception.comment")
            .with_only_columns(audit_log.c.id)
        )
    assert comments is None
    ok = await web.post(url, data={"text": "fine", "csrf_token": token})
    assert ok.status_code == 303
    assert ok.headers["location"].startswith(f"/ops/exceptions/{failure_id}?done=Comment+added.")
    shown = await web.get(ok.headers["location"])
    assert '<p class="flash ok" role="status">Comment added.</p>' in shown.text
    forged = await web.get(f"/ops/exceptions/{failure_id}?done=Call+555-0100+now&sig=x")
    assert "555-0100" not in forged.text
    logout = await web.post("/ops/logout", data={"csrf_token": token})
    assert logout.status_code == 303
    assert (await web.get("/ops/")).status_code == 303


async def test_sensitive_fields_are_masked_in_views_and_kept_on_replay(
    web: httpx.AsyncClient, db: Database, clock: ManualClock
) -> None:
    payload = erp_request(REF)
    secret = {**payload, "lines": [{**payload["lines"][0], "dimensions": {"api_key": "k-123"}}]}
    async with db.transaction() as conn:
        captured = await capture(conn, order_failure("ord_9", REF, payload=secret),
                                 now=clock.now())  # fmt: skip
    await sign_in(web, TEST_API_KEY)
    page = await web.get(f"/ops/exceptions/{captured.record.id}")
    assert "k-123" not in page.text
    assert MASK in page.text
    api = await web.get(f"/ops/v1/exceptions/{captured.record.id}",
                        headers={"X-API-Key": TEST_API_KEY})  # fmt: skip
    assert api.json()["payload"]["lines"][0]["dimensions"] == {"api_key": MASK}


async def test_metrics_show_open_exceptions_oldest_age_and_stuck_orders(
    web: httpx.AsyncClient, db: Database, clock: ManualClock
) -> None:
    await failed_order(db, clock, "ord_1", REF)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)  # the scrape reads the real clock
    async with db.transaction() as conn:
        await order_rows.insert_order(conn, NewOrder(
            id="ord_2", entity="US01", external_ref="801Sbx000000002AAA", erp="infor_m3",
            client="t", account_id=None, customer_id="US0002", request={}, erp_request={},
        ), two_hours_ago)  # fmt: skip
        await advance_watermark(conn, "salesforce", "ack_writeback", "US01", watermark="w1",
                                now=clock.now())  # fmt: skip
    text = (await web.get("/metrics", headers={"X-API-Key": METRICS_KEY})).text
    assert 'isthmus_exceptions_open{category="value",flow="order_submit"} 1.0' in text
    assert "isthmus_exceptions_oldest_open_age_seconds{flow=" in text
    assert "isthmus_orders_stuck 1.0" in text
    assert (
        'isthmus_sync_lag_seconds{entity="US01",kind="ack_writeback",system="salesforce"}' in text
    )
    assert "isthmus_ops_store_up 1.0" in text


async def test_the_example_alert_rules_use_only_series_the_gateway_exports(
    web: httpx.AsyncClient, db: Database, clock: ManualClock
) -> None:
    await failed_order(db, clock, "ord_1", REF)
    async with db.transaction() as conn:
        await advance_watermark(conn, "salesforce", "ack_writeback", "US01", watermark="w1",
                                now=clock.now())  # fmt: skip
    text = (await web.get("/metrics", headers={"X-API-Key": METRICS_KEY})).text
    exported = set(re.findall(r"^# TYPE (isthmus_[a-z_]+) ", text, flags=re.M))
    rules = yaml.safe_load((Path(__file__).parents[2] / "docs/operations/alerts.yml").read_text())
    used = {name for group in rules["groups"] for rule in group["rules"]
            for name in re.findall(r"isthmus_[a-z_]+", rule["expr"])}  # fmt: skip
    assert used
    assert used - exported == set()
