"""The store's repositories, each test on both SQLite and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import Database, NewFailure, NewOrder, current_revision, head_revision, upgrade
from store.audit import audit, audit_trail
from store.failures import failures_for, list_failures, record_failure
from store.idempotency import Existing, Reserved, begin, finish, purge_expired, release
from store.orders import (
    DuplicateExternalRefError,
    events_of,
    find_by_external_ref,
    get_order,
    insert_order,
    transition,
)
from store.outbox import claim, complete, enqueue, extend, pending_count
from store.outbox import release as release_entry
from store.tables import metadata
from store.watermarks import advance_watermark, get_watermark

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = Database(store_url)
    try:
        yield database
    finally:
        await database.aclose()


def new_order(order_id: str = "ord_1", ref: str = "801Sbx000000001AAA", entity: str = "US01"):
    return NewOrder(
        id=order_id,
        entity=entity,
        external_ref=ref,
        erp="infor_m3",
        client="sf-prod",
        account_id="001Sbx000000001IAA",
        customer_id="US0001",
        request={"entity": entity, "lines": [{"sku": "SKU-0001", "quantity": "2"}]},
        erp_request={"customer_id": "US0001", "lines": [{"item_id": "A100", "quantity": "2"}]},
        warnings=[{"code": "PRICE_MISMATCH"}],
        correlation_id="corr-1",
    )


async def test_migrations_build_exactly_the_declared_schema(db: Database) -> None:
    await upgrade(db)  # a second upgrade is a no-op
    assert await current_revision(db) == head_revision()

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(sync_conn), metadata)

    async with db.transaction() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_an_order_is_stored_with_its_timeline_and_read_back_in_utc(db: Database) -> None:
    async with db.transaction() as conn:
        await insert_order(conn, new_order(), T0)
        await transition(
            conn, "ord_1", "submitting", T0 + timedelta(seconds=1), cause="attempt 1",
            attempts=1, maybe_sent=True,
        )  # fmt: skip
    async with db.transaction() as conn:
        order = await get_order(conn, "ord_1")
        events = await events_of(conn, "ord_1")
    assert order is not None
    assert (order.status, order.attempts, order.maybe_sent) == ("submitting", 1, True)
    assert order.created_at == T0
    assert order.created_at.tzinfo is not None
    assert order.request["lines"][0]["sku"] == "SKU-0001"
    assert order.warnings == [{"code": "PRICE_MISMATCH"}]
    assert [(e.status, e.cause) for e in events] == [
        ("accepted", "accepted"),
        ("submitting", "attempt 1"),
    ]
    assert events[1].at == T0 + timedelta(seconds=1)


async def test_an_external_reference_is_unique_per_entity(db: Database) -> None:
    async with db.transaction() as conn:
        await insert_order(conn, new_order("ord_1"), T0)
        await insert_order(conn, new_order("ord_2", entity="CA01"), T0)  # other entity: fine
    with pytest.raises(DuplicateExternalRefError) as raised:
        async with db.transaction() as conn:
            await insert_order(conn, new_order("ord_3"), T0)
    assert raised.value.existing_id == "ord_1"
    async with db.transaction() as conn:
        found = await find_by_external_ref(conn, "801Sbx000000001AAA")
        only_us = await find_by_external_ref(conn, "801Sbx000000001AAA", entity="US01")
        assert await get_order(conn, "ord_3") is None
    assert sorted(o.id for o in found) == ["ord_1", "ord_2"]
    assert [o.id for o in only_us] == ["ord_1"]


async def test_racing_inserts_of_one_reference_leave_one_order(db: Database) -> None:
    async def attempt(i: int) -> str:
        try:
            async with db.transaction() as conn:
                await insert_order(conn, new_order(f"ord_{i}"), T0)
        except DuplicateExternalRefError as exc:
            return f"dup:{exc.existing_id}"
        return "inserted"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert outcomes.count("inserted") == 1
    async with db.transaction() as conn:
        stored = await find_by_external_ref(conn, "801Sbx000000001AAA")
    assert len(stored) == 1
    assert all(o == f"dup:{stored[0].id}" for o in outcomes if o != "inserted")


async def test_a_claimed_entry_is_leased_to_one_worker_until_its_lease_runs_out(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await enqueue(conn, "order.submit", "ord_1", T0)
    async with db.transaction() as conn:
        first = await claim(conn, owner="w1", now=T0, lease=LEASE, limit=10)
    async with db.transaction() as conn:
        second = await claim(
            conn, owner="w2", now=T0 + timedelta(seconds=29), lease=LEASE, limit=10
        )
    async with db.transaction() as conn:
        held = await extend(conn, [first[0].id], owner="w2", until=T0 + timedelta(minutes=5))
    async with db.transaction() as conn:
        after = await claim(conn, owner="w2", now=T0 + timedelta(seconds=31), lease=LEASE, limit=10)
    assert [(c.subject_id, c.owner) for c in first] == [("ord_1", "w1")]
    assert second == []
    assert held == 0  # w2 holds no lease on it yet
    assert [(c.subject_id, c.owner) for c in after] == [("ord_1", "w2")]
    async with db.transaction() as conn:
        await complete(conn, after[0].id)
        assert await pending_count(conn) == 0


async def test_a_released_entry_is_due_again_only_after_its_backoff(db: Database) -> None:
    async with db.transaction() as conn:
        await enqueue(conn, "order.submit", "ord_1", T0)
    async with db.transaction() as conn:
        (entry,) = await claim(conn, owner="w1", now=T0, lease=LEASE, limit=1)
        await release_entry(conn, entry.id, available_at=T0 + timedelta(seconds=10))
    async with db.transaction() as conn:
        early = await claim(conn, owner="w1", now=T0 + timedelta(seconds=9), lease=LEASE, limit=1)
    async with db.transaction() as conn:
        due = await claim(conn, owner="w1", now=T0 + timedelta(seconds=10), lease=LEASE, limit=1)
    assert early == []
    assert [c.subject_id for c in due] == ["ord_1"]


async def test_concurrent_claims_never_hand_out_one_entry_twice(db: Database) -> None:
    async with db.transaction() as conn:
        for i in range(40):
            await enqueue(conn, "order.submit", f"ord_{i}", T0)

    async def worker(name: str) -> list[str]:
        taken: list[str] = []
        while True:
            async with db.transaction() as conn:
                got = await claim(conn, owner=name, now=T0, lease=LEASE, limit=3)
            if not got:
                return taken
            taken.extend(c.subject_id for c in got)

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    everything = [s for taken in results for s in taken]
    assert sorted(everything) == sorted(f"ord_{i}" for i in range(40))
    assert len(set(everything)) == len(everything)


async def test_an_idempotency_key_is_reserved_then_replayed_then_expires(db: Database) -> None:
    args = {"client": "sf", "key": "k-1", "lock_for": LEASE, "retention": timedelta(hours=24)}
    async with db.transaction() as conn:
        first = await begin(conn, fingerprint="f1", now=T0, **args)
    async with db.transaction() as conn:
        while_in_flight = await begin(conn, fingerprint="f1", now=T0, **args)
    async with db.transaction() as conn:
        await finish(
            conn, client="sf", key="k-1", status=202, body=b'{"id":"ord_1"}',
            headers={"location": "/process/v1/orders/ord_1"}, order_id="ord_1",
            now=T0, retention=timedelta(hours=24),
        )  # fmt: skip
    async with db.transaction() as conn:
        replay = await begin(conn, fingerprint="f1", now=T0 + timedelta(hours=23), **args)
    async with db.transaction() as conn:
        other_client = await begin(conn, fingerprint="f9", now=T0, **{**args, "client": "other"})
    async with db.transaction() as conn:
        expired = await begin(conn, fingerprint="f2", now=T0 + timedelta(hours=25), **args)
    assert isinstance(first, Reserved)
    assert isinstance(while_in_flight, Existing)
    assert while_in_flight.record.state == "in_flight"
    assert isinstance(replay, Existing)
    assert (replay.record.state, replay.record.response_status) == ("done", 202)
    assert replay.record.response_body == b'{"id":"ord_1"}'
    assert replay.record.response_headers == {"location": "/process/v1/orders/ord_1"}
    assert isinstance(other_client, Reserved)  # keys are scoped per client
    assert isinstance(expired, Reserved)


async def test_an_abandoned_reservation_is_taken_over_and_a_released_one_forgotten(
    db: Database,
) -> None:
    args = {"client": "sf", "lock_for": LEASE, "retention": timedelta(hours=24)}
    async with db.transaction() as conn:
        await begin(conn, key="k-1", fingerprint="f1", now=T0, **args)
        await begin(conn, key="k-2", fingerprint="f1", now=T0, **args)
    async with db.transaction() as conn:
        taken_over = await begin(conn, key="k-1", fingerprint="f1", now=T0 + LEASE * 2, **args)
        await release(conn, client="sf", key="k-2", fingerprint="f1")
        again = await begin(conn, key="k-2", fingerprint="f3", now=T0, **args)
        purged = await purge_expired(conn, now=T0 + timedelta(days=2))
    assert isinstance(taken_over, Reserved)
    assert isinstance(again, Reserved)
    assert purged == 2


async def test_one_open_failure_per_subject_keeps_the_latest_words(db: Database) -> None:
    failure = NewFailure(
        flow="order_submit", subject_type="order", subject_id="ord_1", system="sage_intacct",
        category="timeout", retryable=True, payload={"referenceno": "801"}, attempts=1,
        entity="DE01", salesforce_id="801Sbx000000001AAA", correlation_id="c-1",
    )  # fmt: skip
    async with db.transaction() as conn:
        first = await record_failure(conn, failure, T0)
        second = await record_failure(
            conn,
            NewFailure(**{**_fields(failure), "category": "closed_period", "retryable": False,
                          "vendor_code": "BL01001973", "vendor_message": "Periods are closed.",
                          "attempts": 3}),
            T0 + timedelta(minutes=1),
        )  # fmt: skip
    async with db.transaction() as conn:
        stored = await failures_for(conn, "order", "ord_1")
        listed = await list_failures(conn)
    assert first == second
    assert len(stored) == 1
    record = stored[0]
    assert (record.category, record.vendor_code, record.attempts, record.status) == (
        "closed_period", "BL01001973", 3, "open",
    )  # fmt: skip
    assert record.payload == {"referenceno": "801"}
    assert record.salesforce_id == "801Sbx000000001AAA"
    assert [f.id for f in listed] == [first]


async def test_audit_entries_and_watermarks_round_trip(db: Database) -> None:
    async with db.transaction() as conn:
        await audit(
            conn, now=T0, actor="sf-prod", action="order.accepted", subject_type="order",
            subject_id="ord_1", detail={"key": "k-1"}, correlation_id="c-1",
        )  # fmt: skip
        await advance_watermark(conn, "infor_m3", "invoice", "US01", watermark="20261124", now=T0)
        await advance_watermark(conn, "infor_m3", "invoice", "US01", watermark="20261125", now=T0)
    async with db.transaction() as conn:
        trail = await audit_trail(conn, "order", "ord_1")
        mark = await get_watermark(conn, "infor_m3", "invoice", "US01")
        none = await get_watermark(conn, "infor_m3", "invoice", "CA01")
    assert [(a.actor, a.action, a.detail) for a in trail] == [
        ("sf-prod", "order.accepted", {"key": "k-1"})
    ]
    assert (mark, none) == ("20261125", None)


def _fields(failure: NewFailure) -> dict[str, object]:
    import msgspec

    return msgspec.structs.asdict(failure)
