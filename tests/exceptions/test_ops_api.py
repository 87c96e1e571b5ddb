"""``/ops/v1/exceptions`` and ``/ops/v1/audit`` over HTTP (in-process), on both stores: every
filter, every action, the audit entries each writes, and the scopes that guard them."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from app.factory import create_app
from app.security import EXCEPTIONS_VIEW, hash_api_key
from app.services import Services
from app.settings import ApiKeySetting
from app.wiring import build_process_api
from process_apis.exceptions import ExceptionQueue, OrderSubmitFlow, capture
from store import Database
from store import orders as order_rows
from store.outbox import pending_count
from tests.support.apps import TEST_API_KEY, settings_for
from tests.support.datetime_clock import ManualClock
from tests.support.exceptions import erp_request, failed_order, order_failure
from tests.support.inprocess import running

VIEW_KEY = "isk_test_ops_viewer_52c1e0"
REF1, REF2, REF3 = "801Sbx000000001AAA", "801Sbx000000002AAA", "801Sbx000000003AAA"


@pytest.fixture
async def api(db: Database, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in this test's event loop (the store's connections belong to it)."""
    settings = settings_for()
    viewer = ApiKeySetting(client="ops-viewer", key_sha256=hash_api_key(VIEW_KEY),
                           scopes=[EXCEPTIONS_VIEW])  # fmt: skip
    settings = msgspec.structs.replace(
        settings,
        security=msgspec.structs.replace(
            settings.security, api_keys=[*settings.security.api_keys, viewer]
        ),
    )
    http = httpx.AsyncClient()
    services = Services(
        settings=settings, http=http, process=build_process_api(settings, {}),
        exceptions=ExceptionQueue(db, {"order_submit": OrderSubmitFlow()}, clock=clock),
    )  # fmt: skip
    app = create_app(settings, services=services)
    async with running(app, headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client
    await http.aclose()


@pytest.fixture
async def three(db: Database, clock: ManualClock) -> list[int]:
    """An inactive item (infor), a credit stop (intacct, 2 h later), a timeout (infor, later)."""
    a = await failed_order(db, clock, "ord_1", REF1)
    clock.advance(7200)
    b = await failed_order(db, clock, "ord_2", REF2, system="sage_intacct", category="credit",
                           code="BL01001973", message="Customer C-2 is on credit hold",
                           field=None)  # fmt: skip
    clock.advance(600)
    c = await failed_order(db, clock, "ord_3", REF3, status="needs_attention",
                           category="timeout", retryable=True, code=None, field=None,
                           message="no answer within 30 s")  # fmt: skip
    return [a, b, c]


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


FILTERS: list[tuple[dict[str, Any], list[int]]] = [
    ({}, [0, 1, 2]),
    ({"flow": "order_submit"}, [0, 1, 2]),
    ({"flow": "master_data"}, []),
    ({"category": "credit"}, [1]),
    ({"category": ["credit", "timeout"]}, [1, 2]),
    ({"status": "retrying"}, [2]),
    ({"status": "open"}, [0, 1]),
    ({"system": "sage_intacct"}, [1]),
    ({"salesforceId": REF2}, [1]),
    ({"salesforceId": REF2[:15]}, [1]),
    ({"subjectId": "ord_3"}, [2]),
    ({"q": "credit HOLD"}, [1]),
    ({"q": "wit0503"}, [0]),
    ({"q": "A1013"}, [0, 1, 2]),  # in every payload
    ({"olderThanMinutes": 60}, [0]),
    ({"newerThanMinutes": 5}, [2]),
    ({"unassigned": "true"}, [0, 1, 2]),
]
"""Query → which of the three records (by index) it selects."""


async def test_every_filter_selects_the_records_it_names(
    api: httpx.AsyncClient, three: list[int]
) -> None:
    selected = {
        str(query): ids(await api.get("/ops/v1/exceptions", params=query)) for query, _ in FILTERS
    }
    assert selected == {str(q): [three[i] for i in expected] for q, expected in FILTERS}


async def test_filters_by_assignee_tag_and_erp_document(
    api: httpx.AsyncClient, three: list[int], db: Database, clock: ManualClock
) -> None:
    a, b, _ = three
    assert (await api.post(f"/ops/v1/exceptions/{a}/assign", json={"assignee": "dana"})).is_success
    assert (await api.post(f"/ops/v1/exceptions/{b}/tags", json={"add": ["q4-close"]})).is_success
    async with db.transaction() as conn:
        doc = await capture(conn, order_failure("ord_9", "801Sbx000000009AAA"), now=clock.now(),
                            erp_document="SO-0042")  # fmt: skip
    assert ids(await api.get("/ops/v1/exceptions", params={"assignee": "dana"})) == [a]
    assert ids(await api.get("/ops/v1/exceptions", params={"tag": "q4-close"})) == [b]
    assert ids(await api.get("/ops/v1/exceptions", params={"erpDocument": "SO-0042"})) == [
        doc.record.id
    ]
    assert a not in ids(await api.get("/ops/v1/exceptions", params={"unassigned": "true"}))


async def test_a_record_shows_vendor_words_payload_trail_and_the_orders_timeline(
    api: httpx.AsyncClient, three: list[int]
) -> None:
    body = (await api.get(f"/ops/v1/exceptions/{three[0]}")).json()
    assert body["vendor"] == {"code": "WIT0503", "text": "Item A1013 is blocked, status 90",
                              "field": "ITNO"}  # fmt: skip
    assert (body["flow"], body["status"], body["category"]) == ("order_submit", "open", "value")
    assert (body["salesforceId"], body["correlationId"]) == (REF1, "corr-ord_1")
    assert body["payload"]["lines"][0]["item_id"] == "A1013"
    assert [e["action"] for e in body["audit"]] == ["exception.captured"]
    assert [t["status"] for t in body["timeline"]] == ["accepted", "submitting", "rejected"]
    assert body["replayable"] is True


async def test_edit_and_replay_puts_the_same_order_back_on_the_outbox_with_a_diff_in_the_audit(
    api: httpx.AsyncClient, three: list[int], db: Database
) -> None:
    payload = erp_request(REF1, item="A1014")
    response = await api.post(f"/ops/v1/exceptions/{three[0]}/replay",
                              json={"payload": payload, "reason": "SKU superseded"},
                              headers={"X-Correlation-ID": "ops-fix-1"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "retrying"
    async with db.transaction() as conn:
        order = await order_rows.get_order(conn, "ord_1")
        queued = await pending_count(conn, "order.submit")
    assert order is not None
    assert (order.status, order.external_ref) == ("retrying", REF1)
    assert order.erp_request["lines"][0]["item_id"] == "A1014"
    assert queued == 1
    replay = (await api.get(f"/ops/v1/exceptions/{three[0]}")).json()["audit"][-1]
    assert replay["action"] == "exception.replay"
    assert (replay["actor"], replay["correlationId"]) == ("tests-internal", "ops-fix-1")
    assert replay["detail"]["changes"] == [
        {"path": "/lines/0/item_id", "before": "A1013", "after": "A1014"}
    ]
    assert replay["before"]["lines"][0]["item_id"] == "A1013"
    assert replay["after"]["lines"][0]["item_id"] == "A1014"


async def test_a_replay_may_not_change_the_orders_reference_or_be_unchanged_or_malformed(
    api: httpx.AsyncClient, three: list[int]
) -> None:
    url = f"/ops/v1/exceptions/{three[0]}/replay"
    other_ref = await api.post(url, json={"payload": erp_request("801Sbx000000077AAA", "A1014")})
    assert (other_ref.status_code, other_ref.json()["code"]) == (422, "invalid_payload")
    assert "external_ref cannot change" in other_ref.json()["detail"]
    same = await api.post(url, json={"payload": erp_request(REF1)})
    assert (same.status_code, same.json()["code"]) == (422, "invalid_payload")
    broken = await api.post(url, json={"payload": {"external_ref": REF1, "lines": "none"}})
    assert broken.status_code == 422
    unknown = await api.post(url, json={"payload": {}, "extra": 1})
    assert unknown.status_code == 422


async def test_retry_discard_assign_tag_and_comment_each_leave_an_audit_entry(
    api: httpx.AsyncClient, three: list[int], db: Database
) -> None:
    a, b, _ = three
    assert (await api.post(f"/ops/v1/exceptions/{a}/retry", json={"reason": "item reactivated"})
            ).json()["status"] == "retrying"  # fmt: skip
    discarded = await api.post(f"/ops/v1/exceptions/{b}/discard",
                               json={"reason": "customer cancelled"})  # fmt: skip
    assert (discarded.json()["status"], discarded.json()["resolution"]) == (
        "discarded",
        "customer cancelled",
    )
    await api.post(f"/ops/v1/exceptions/{a}/assign", json={"assignee": "dana"})
    await api.post(f"/ops/v1/exceptions/{a}/assign", json={"assignee": None})
    tagged = await api.post(f"/ops/v1/exceptions/{a}/tags",
                            json={"add": ["m3", "blocked-item"], "remove": []})  # fmt: skip
    assert tagged.json()["tags"] == ["m3", "blocked-item"]
    untagged = await api.post(f"/ops/v1/exceptions/{a}/tags", json={"remove": ["m3"]})
    assert untagged.json()["tags"] == ["blocked-item"]
    comment = await api.post(f"/ops/v1/exceptions/{a}/comments", json={"text": "asked the PM"})
    assert comment.status_code == 201
    detail = (await api.get(f"/ops/v1/exceptions/{a}")).json()
    assert [(e["action"], e["before"], e["after"]) for e in detail["audit"]] == [
        ("exception.captured", None, {"status": "open"}),
        ("exception.retry", {"status": "open"}, {"status": "retrying"}),
        ("exception.assign", {"assignee": None}, {"assignee": "dana"}),
        ("exception.assign", {"assignee": "dana"}, {"assignee": None}),
        ("exception.tag", {"tags": []}, {"tags": ["m3", "blocked-item"]}),
        ("exception.tag", {"tags": ["m3", "blocked-item"]}, {"tags": ["blocked-item"]}),
        ("exception.comment", None, None),
    ]
    assert [c["detail"]["text"] for c in detail["comments"]] == ["asked the PM"]
    assert detail["timeline"][-1]["text"] == "retry by tests-internal"
    # a discarded record cannot be retried; an unknown one is a 404
    again = await api.post(f"/ops/v1/exceptions/{b}/retry")
    assert (again.status_code, again.json()["code"]) == (409, "exception_action_refused")
    missing = await api.post("/ops/v1/exceptions/99999/retry")
    assert (missing.status_code, missing.json()["code"]) == (404, "exception_not_found")
    no_reason = await api.post(f"/ops/v1/exceptions/{a}/discard", json={"reason": ""})
    assert no_reason.status_code == 422
    bad_tag = await api.post(f"/ops/v1/exceptions/{a}/tags", json={"add": ["Not A Tag"]})
    assert bad_tag.status_code == 422


async def test_bulk_retry_and_discard_by_filter(
    api: httpx.AsyncClient, three: list[int], db: Database
) -> None:
    a, b, c = three
    retried = await api.post("/ops/v1/exceptions/bulk/retry",
                             json={"filter": {"system": "infor_m3"}})  # fmt: skip
    assert retried.json() == {"matched": 2, "done": [a, c], "skipped": {}}
    async with db.transaction() as conn:
        assert await pending_count(conn, "order.submit") == 2
    refused = await api.post("/ops/v1/exceptions/bulk/discard",
                             json={"filter": {"category": ["credit"]}})  # fmt: skip
    assert refused.status_code == 422
    discarded = await api.post("/ops/v1/exceptions/bulk/discard",
                               json={"filter": {"category": ["credit"]}, "reason": "dup"})  # fmt: skip
    assert discarded.json() == {"matched": 1, "done": [b], "skipped": {}}
    assert ids(await api.get("/ops/v1/exceptions", params={"status": "discarded"})) == [b]
    audit = (await api.get("/ops/v1/audit", params={"action": "exception.bulk_retry"})).json()
    assert [(e["actor"], e["detail"]["done"]) for e in audit["items"]] == [
        ("tests-internal", [a, c])
    ]


async def test_the_audit_log_exports_as_json_lines_and_csv_and_has_no_write_routes(
    api: httpx.AsyncClient, three: list[int]
) -> None:
    await api.post(f"/ops/v1/exceptions/{three[0]}/comments", json={"text": 'a, "quoted" note'})
    jsonl = await api.get("/ops/v1/audit/export.jsonl")
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    lines = [msgspec.json.decode(line) for line in jsonl.text.splitlines()]
    assert [e["action"] for e in lines] == ["exception.captured"] * 3 + ["exception.comment"]
    exported = await api.get("/ops/v1/audit/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in table] == [e["action"] for e in lines]
    assert msgspec.json.decode(table[-1]["detail"]) == {"text": 'a, "quoted" note'}
    for method in ("PUT", "PATCH", "DELETE"):
        answer = await api.request(method, "/ops/v1/audit")
        assert answer.status_code == 405


async def test_view_scope_reads_but_cannot_act_and_no_credential_is_refused(
    api: httpx.AsyncClient, three: list[int]
) -> None:
    viewer = {"X-API-Key": VIEW_KEY}
    assert (await api.get("/ops/v1/exceptions", headers=viewer)).status_code == 200
    assert (await api.get("/ops/v1/audit", headers=viewer)).status_code == 200
    acted = await api.post(f"/ops/v1/exceptions/{three[0]}/retry", headers=viewer)
    assert acted.status_code == 403
    assert "exceptions:act" in acted.json()["detail"]
    del api.headers["X-API-Key"]
    assert (await api.get("/ops/v1/exceptions")).status_code == 401
