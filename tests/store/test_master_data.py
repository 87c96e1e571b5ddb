"""Master data's repositories (cross-reference, dimensions, onboarding claims) on both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from store import Database, reference
from store import onboarding as ob
from store import xref as links
from store.xref import NewLink

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ACCOUNT = "001Sbx000000001IAA"


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = Database(store_url)
    try:
        yield database
    finally:
        await database.aclose()


async def test_a_seed_import_adds_links_and_leaves_flow_made_links_alone(db: Database) -> None:
    async with db.transaction() as conn:
        await links.link(
            conn, NewLink(kind="account", scope="US01", salesforce_key=ACCOUNT, erp_key="US9999"),
            origin="flow", now=T0,
        )  # fmt: skip
        report = await links.import_links(
            conn,
            [
                NewLink(kind="account", scope="US01", salesforce_key=ACCOUNT, erp_key="US0001"),
                NewLink(kind="account", scope="DE01", salesforce_key=ACCOUNT, erp_key="CUST-1"),
                NewLink(kind="product", scope="infor_m3", salesforce_key="SKU-1", erp_key="A1"),
            ],
            now=T0 + timedelta(seconds=1),
        )
        assert report == links.ImportReport(added=2, changed=0, unchanged=0, kept=1)
        kept = await links.by_salesforce_key(conn, "account", "US01", ACCOUNT)
        assert kept is not None
        assert (kept.erp_key, kept.origin) == ("US9999", "flow")
        again = await links.import_links(
            conn,
            [NewLink(kind="account", scope="US01", salesforce_key=ACCOUNT, erp_key="US0001")],
            now=T0 + timedelta(seconds=2),
            overwrite=True,
        )
        assert again == links.ImportReport(added=0, changed=1, unchanged=0, kept=0)
        assert [x.salesforce_key for x in await links.by_erp_key(conn, "product", "infor_m3", "A1")] == ["SKU-1"]  # fmt: skip
        assert (await links.version(conn))[0] == 3


async def test_a_link_keeps_its_synced_values_until_it_is_pointed_elsewhere(db: Database) -> None:
    new = NewLink(kind="contact", scope="DE01", salesforce_key="003Sbx000000001AAA", erp_key="C1")
    async with db.transaction() as conn:
        made, created = await links.link(conn, new, origin="flow", now=T0)
        assert created
        await links.record_synced(conn, made.id, {"email": "a@example.com"}, now=T0)
        same, changed = await links.link(conn, new, origin="flow", now=T0)
        assert not changed
        assert same.synced == {"email": "a@example.com"}
        count, newest = await links.version(conn)
        moved, changed = await links.link(
            conn, NewLink(kind="contact", scope="DE01", salesforce_key=new.salesforce_key,
                          erp_key="C2"), origin="person", now=T0 + timedelta(minutes=1),
        )  # fmt: skip
        assert changed
        assert moved.erp_key == "C2"
        assert moved.synced is None
        assert await links.version(conn) == (count, T0 + timedelta(minutes=1))
        assert newest == T0


async def test_racing_links_of_one_key_leave_one_row(db: Database) -> None:
    new = NewLink(kind="account", scope="UK01", salesforce_key=ACCOUNT, erp_key="CUST-UK-900")

    async def one() -> bool:
        async with db.transaction() as conn:
            _, created = await links.link(conn, new, origin="flow", now=T0)
            return created

    results = await asyncio.gather(*(one() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    async with db.transaction() as conn:
        assert len(await links.all_links(conn, ["account"])) == 1


async def test_dimensions_are_replaced_with_what_the_erp_lists_and_vanished_ones_kept_gone(
    db: Database,
) -> None:
    def row(code: str, status: str = "active") -> reference.DimensionRow:
        return reference.DimensionRow(
            entity="DE01", kind="department", code=code, erp="sage_intacct", name=code.title(),
            status=status,  # type: ignore[arg-type]
        )  # fmt: skip

    async with db.transaction() as conn:
        first = await reference.replace_dimensions(
            conn, entity="DE01", kind="department", erp="sage_intacct",
            rows=[row("SALES"), row("MKT")], now=T0,
        )  # fmt: skip
        second = await reference.replace_dimensions(
            conn, entity="DE01", kind="department", erp="sage_intacct",
            rows=[row("SALES", "inactive"), row("SERVICE")], now=T0 + timedelta(hours=1),
        )  # fmt: skip
        listed = {(d.code, d.status) for d in await reference.dimensions_for(conn, "DE01")}
    assert first == reference.ReplaceReport(added=2, changed=0, unchanged=0, gone=0)
    assert second == reference.ReplaceReport(added=1, changed=1, unchanged=0, gone=1)
    assert listed == {("SALES", "inactive"), ("MKT", "gone"), ("SERVICE", "active")}


async def test_one_of_many_racing_runs_claims_an_account_and_the_number_it_chose_stands(
    db: Database,
) -> None:
    async def attempt(owner: str) -> ob.Onboarding | None:
        async with db.transaction() as conn:
            return await ob.claim(
                conn, ACCOUNT, "US01", erp="infor_m3", owner=owner, now=T0, until=T0 + LEASE
            )

    claims = await asyncio.gather(*(attempt(f"run-{n}") for n in range(4)))
    holders = [c for c in claims if c is not None]
    assert len(holders) == 1
    holder = holders[0].lease_owner
    assert holder is not None
    async with db.transaction() as conn:
        assert (
            await ob.choose_customer_id(conn, ACCOUNT, "US01", "US0101", owner=holder) == "US0101"
        )
        # The lease runs out: another run takes over and keeps the first run's number.
        later = T0 + LEASE + timedelta(seconds=1)
        taken = await ob.claim(
            conn, ACCOUNT, "US01", erp="infor_m3", owner="run-late", now=later, until=later + LEASE
        )
        assert taken is not None
        assert taken.attempts == 2
        assert (
            await ob.choose_customer_id(conn, ACCOUNT, "US01", "US0102", owner="run-late")
            == "US0101"
        )
        await ob.mark_created(conn, ACCOUNT, "US01", customer_id="US0101", now=later)
        done = await ob.claim(
            conn, ACCOUNT, "US01", erp="infor_m3", owner="run-x", now=later, until=later + LEASE
        )
        assert done is None
        stored = await ob.get(conn, ACCOUNT, "US01")
    assert stored is not None
    assert (stored.state, stored.customer_id) == ("created", "US0101")


async def test_a_held_account_waits_for_a_person(db: Database) -> None:
    async with db.transaction() as conn:
        assert await ob.claim(
            conn, ACCOUNT, "DE01", erp="sage_intacct", owner="a", now=T0, until=T0 + LEASE
        )
        await ob.hold(
            conn, ACCOUNT, "DE01", reason="duplicate of CUST-DE-001", failure_id=7, now=T0
        )
        later = T0 + 2 * LEASE
        assert (
            await ob.claim(
                conn, ACCOUNT, "DE01", erp="sage_intacct", owner="b", now=later, until=later + LEASE
            )
            is None
        )
        assert [o.reason for o in await ob.list_onboarding(conn, state="held")] == [
            "duplicate of CUST-DE-001"
        ]
        assert await ob.reopen(conn, ACCOUNT, "DE01", now=later, clear_checks=True)
        assert await ob.claim(
            conn, ACCOUNT, "DE01", erp="sage_intacct", owner="b", now=later, until=later + LEASE
        )


async def test_racing_callers_each_get_their_own_number(db: Database) -> None:
    async def one() -> int:
        async with db.transaction() as conn:
            return await ob.next_number(conn, "customer:US01", start=1, now=T0)

    numbers = await asyncio.gather(*(one() for _ in range(6)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    async with db.transaction() as conn:
        assert await ob.next_number(conn, "customer:DE01", start=500, now=T0) == 500
