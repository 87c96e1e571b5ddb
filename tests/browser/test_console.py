"""The operations console in a real browser (headless Chromium) over the ERP emulators:
what an operator sees and does, and what the ERP ends up holding."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from sandbox.infor.faults import Fault
from tests.browser.conftest import shot
from tests.support.apps import TEST_API_KEY
from tests.support.console_env import ConsoleWorld, readme_rejected_order

pytestmark = pytest.mark.browser


def new_ref(tag: str) -> str:
    """An 18-character alphanumeric reference, as a Salesforce Order id would be."""
    return f"801Sbx{tag}{uuid.uuid4().hex}"[:18]


def sign_in(page: Page, target: str = "/ops/") -> None:
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/ops/login"))
    page.fill("input[name=api_key]", TEST_API_KEY)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text("tests-internal")


def test_an_operator_fixes_the_sku_of_a_rejected_order_and_it_is_booked(
    page: Page, world: ConsoleWorld
) -> None:
    ref = new_ref("SKU")
    # README's walkthrough order: CA01, SKU-0013 = item A1013, blocked in M3 (status 90)
    order_id = world.post_order(readme_rejected_order(ref))
    world.run_worker()

    sign_in(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "isthmus_ops")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ops")
    expect(page.locator(".tiles")).to_contain_text("Rejected by the ERP")
    shot(page, "overview")

    page.goto("/ops/exceptions")
    page.fill("input[name=q]", ref)
    page.click("form.filters button[type=submit]")
    row = page.locator("table.queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("WIT0503")
    expect(row).to_contain_text("open")
    row.locator("a").first.click()

    expect(page.locator("#vendor-message")).to_contain_text("A1013")
    shot(page, "exception-open")
    payload = page.locator("#payload")
    payload.fill(payload.input_value().replace('"A1013"', '"A1014"'))
    page.fill("#replay-form input[name=reason]", "A1013 is blocked; A1014 supersedes it")
    page.click("#replay")
    expect(page.locator(".flash.ok")).to_contain_text("Replayed")
    expect(page.locator("#record-status")).to_contain_text("retrying")

    world.run_worker()
    page.reload()
    expect(page.locator("#record-status")).to_contain_text("resolved")
    audit = page.locator("#audit")
    expect(audit).to_contain_text("exception.replay")
    expect(audit.locator("ul.diff")).to_contain_text("/lines/0/item_id")
    expect(audit.locator("ul.diff del")).to_have_text("A1013")
    expect(audit.locator("ul.diff ins")).to_have_text("A1014")
    expect(audit).to_contain_text("exception.resolved")
    expect(audit).to_contain_text("order.booked")
    expect(page.locator("#timeline")).to_contain_text("replayed by tests-internal")
    shot(page, "exception-resolved")

    page.goto(f"/ops/orders/{order_id}")
    expect(page.locator("#order-status")).to_have_text("booked")
    booked = world.sandbox.orders_for("infor_m3", ref)
    assert len(booked) == 1
    expect(page.locator("#erp-order")).to_contain_text(booked[0])
    lines = world.sandbox.infor.state.data.orders[booked[0]].lines
    assert [ln.itno for ln in lines] == ["A1014"]


def test_a_bulk_retry_after_an_erp_outage_books_the_whole_batch(
    page: Page, world: ConsoleWorld
) -> None:
    refs = [new_ref("OUT") for _ in range(3)]
    for ref in refs:
        world.submit(ref, "SKU-0001")
    world.sandbox.infor.set_fault("OIS100MI/AddBatchHead", Fault(kind="status", status=503))
    try:
        world.run_worker(max_attempts=1)  # gives up at once: the queue holds them
    finally:
        world.sandbox.infor.clear_faults()
    assert all(world.sandbox.orders_for("infor_m3", ref) == [] for ref in refs)

    sign_in(page, "/ops/exceptions")
    page.select_option("select[name=category]", "connection")
    page.fill("input[name=q]", "801SbxOUT")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.queue tbody tr")).to_have_count(3)
    shot(page, "queue")
    page.click("#bulk-retry")
    expect(page.locator(".flash.ok")).to_contain_text("Retried 3 of 3 matching records.")

    world.run_worker()
    page.reload()
    expect(page.locator(".empty")).to_contain_text("Nothing matches")
    assert all(len(world.sandbox.orders_for("infor_m3", ref)) == 1 for ref in refs)
    page.goto("/ops/audit?action=exception.bulk_retry")
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    expect(page.locator("table.audit")).to_contain_text("tests-internal")


def test_a_post_without_the_csrf_token_is_refused(page: Page, world: ConsoleWorld) -> None:
    world.submit(new_ref("CSR"), "SKU-0033")  # A1033: blocked too
    world.run_worker()
    sign_in(page, "/ops/exceptions")
    page.locator("table.queue tbody tr a").first.click()
    record = page.url
    no_token = page.request.post(f"{record}/comment", form={"text": "forged"})
    wrong = page.request.post(f"{record}/comment", form={"text": "forged", "csrf_token": "x"})
    login = page.request.post("/ops/login", form={"api_key": TEST_API_KEY})
    assert (no_token.status, wrong.status, login.status) == (403, 403, 403)
    assert "CSRF" in no_token.json()["detail"]
    page.reload()
    expect(page.locator("#audit")).not_to_contain_text("forged")
    # the page's own form carries the token and goes through
    page.fill("form.block textarea[name=text]", "checked with the item master team")
    page.click("form.block button[type=submit]")
    expect(page.locator("#audit blockquote")).to_have_text("checked with the item master team")


def test_health_and_audit_pages_draw_charts_and_offer_exports(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, "/ops/health")
    expect(page.locator("#charts svg.chart")).to_have_count(4)
    expect(page.locator("table").first).to_contain_text("store")
    page.wait_for_timeout(5500)  # the charts refresh themselves (htmx) with a second sample
    expect(page.locator("#charts polyline").first).to_be_attached()
    shot(page, "health")
    page.goto("/ops/audit")
    expect(page.locator("a", has_text="Export CSV")).to_be_visible()
    shot(page, "audit")
