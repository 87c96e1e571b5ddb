"""People's actions on a held Account: retry lets it through, replay links an existing
customer, a payload without a customer number is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from process_apis.customers.handlers import OnboardingFlow
from process_apis.exceptions.capture import capture
from process_apis.exceptions.errors import ActionRefusedError, InvalidPayloadError
from store import Database, NewFailure
from store import onboarding as claims
from store import xref as links

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ACCOUNT = "001Sbx000000042AAA"


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = Database(store_url)
    try:
        yield database
    finally:
        await database.aclose()


async def _held(db: Database) -> object:
    async with db.transaction() as conn:
        await claims.claim(conn, ACCOUNT, "DE01", erp="sage_intacct", owner="run",
                           now=NOW, until=NOW + timedelta(minutes=1))  # fmt: skip
        captured = await capture(conn, NewFailure(
            flow="customer_onboarding", subject_type="Account", subject_id=ACCOUNT,
            entity="DE01", system="sage_intacct", category="duplicate", retryable=False,
            payload={"entity": "DE01"}, attempts=1, salesforce_id=ACCOUNT,
        ), now=NOW)  # fmt: skip
        await claims.hold(conn, ACCOUNT, "DE01", reason="duplicate", failure_id=captured.record.id,
                          now=NOW)  # fmt: skip
    return captured.record


async def test_replay_links_the_account_to_the_existing_customer(db: Database) -> None:
    record = await _held(db)
    flow = OnboardingFlow()
    with pytest.raises(InvalidPayloadError):
        flow.check_payload(record, {"customer": "CUST-DE-001"})  # type: ignore[arg-type]
    payload = flow.check_payload(record, {"link_to": " CUST-DE-001 "})  # type: ignore[arg-type]
    async with db.transaction() as conn:
        said = await flow.reschedule(conn, record, payload=payload, now=NOW, actor="alice")  # type: ignore[arg-type]
        link = await links.by_salesforce_key(conn, "account", "DE01", ACCOUNT)
        state = await claims.get(conn, ACCOUNT, "DE01")
    assert "CUST-DE-001" in said
    assert link is not None
    assert (link.erp_key, link.origin) == ("CUST-DE-001", "person")
    assert state is not None
    assert (state.state, state.customer_id) == ("created", "CUST-DE-001")
    async with db.transaction() as conn:
        with pytest.raises(ActionRefusedError):
            await flow.reschedule(conn, record, payload=None, now=NOW, actor="bob")  # type: ignore[arg-type]


async def test_retry_lets_the_account_through_without_the_checks(db: Database) -> None:
    record = await _held(db)
    async with db.transaction() as conn:
        await OnboardingFlow().reschedule(conn, record, payload=None, now=NOW, actor="alice")  # type: ignore[arg-type]
        later = NOW + timedelta(minutes=5)
        again = await claims.claim(conn, ACCOUNT, "DE01", erp="sage_intacct", owner="next-run",
                                   now=later, until=later + timedelta(minutes=1))  # fmt: skip
    assert again is not None
    assert again.checks_cleared
