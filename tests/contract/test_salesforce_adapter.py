"""The Salesforce system API against the org emulator over real HTTPS (trusting its CA)."""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import requests

from sandbox.salesforce import Fault
from system_apis.contract import CallContext
from system_apis.crm import (
    AccountCredit,
    CrmBackend,
    ErpInvoice,
    ErpPayment,
    ErpShipment,
    OrderAckUpdate,
    StatusEvent,
)
from system_apis.errors import (
    BackendProtocolError,
    BackendRateLimitedError,
    BackendRejectedError,
    BackendTimeoutError,
    BackendUnavailableError,
    NotFoundError,
)
from system_apis.salesforce import (
    ClientCredentials,
    SalesforceAdapter,
    SalesforceBudgetError,
    SalesforceClient,
    SalesforceLoginError,
)
from tests.support.salesforce_env import OrgEnv, running_org

CTX = CallContext(company="salesforce")
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ACCOUNT = "001Sbx000000001IAA"


@pytest.fixture(scope="module")
def env() -> Iterator[OrgEnv]:
    with running_org() as org_env:
        yield org_env


@pytest.fixture
def org(env: OrgEnv) -> OrgEnv:
    env.org.clear_faults()
    env.org.set_api_usage(used=0, limit=15_000)
    env.org.received.clear()
    return env


@pytest.fixture
def adapter(org: OrgEnv) -> Iterator[SalesforceAdapter]:
    backend = org.adapter()
    yield backend
    backend.close()


def _collect_dropped_sockets() -> None:
    """urllib3 leaves the socket of a failed TLS handshake or read timeout to the collector."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_the_adapter_is_a_crm_backend(adapter: SalesforceAdapter) -> None:
    assert isinstance(adapter, CrmBackend)


async def test_jwt_bearer_login_then_calls_carry_the_token(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    await adapter.ping(CTX)
    tokens = org.org.received_op("token")
    assert [t.body["grant_type"] for t in tokens] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert org.org.received_op("limits")[-1].authorization == "bearer"


async def test_client_credentials_login(org: OrgEnv) -> None:
    backend = org.adapter(credentials=org.client_credentials())
    try:
        await backend.ping(CTX)
    finally:
        backend.close()
    assert org.org.received_op("token")[-1].authorization == "basic"


async def test_wrong_secret_is_a_login_error_without_the_secret(org: OrgEnv) -> None:
    backend = org.adapter(
        credentials=ClientCredentials(
            client_id="3MVG9Isthmus.Sandbox.ConnectedApp.Consumer.Key0001", client_secret="not-it"
        )
    )
    try:
        with pytest.raises(SalesforceLoginError) as caught:
            await backend.ping(CTX)
    finally:
        backend.close()
    assert caught.value.code == "invalid_client"
    assert "not-it" not in str(caught.value)


async def test_an_expired_session_logs_in_again_once(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    await adapter.ping(CTX)
    org.org.expire_sessions()
    await adapter.ping(CTX)
    assert len(org.org.received_op("token")) == 2
    assert adapter.client.logins == 2


async def test_an_untrusted_certificate_is_refused(org: OrgEnv) -> None:
    client = SalesforceClient(requests.Session(), login_url=org.url, credentials=org.jwt())
    backend = SalesforceAdapter(client)
    try:
        with pytest.raises(BackendUnavailableError, match="TLS verification"):
            await backend.ping(CTX)
    finally:
        backend.close()
        _collect_dropped_sockets()


async def test_query_follows_next_records_url(org: OrgEnv, adapter: SalesforceAdapter) -> None:
    rows = [
        r async for r in adapter.query(CTX, "SELECT Id, Product2.ProductCode FROM PricebookEntry")
    ]
    assert len(rows) == 1280
    assert "attributes" not in rows[0]
    assert "attributes" not in rows[0]["Product2"]


async def test_orders_are_read_with_their_lines(adapter: SalesforceAdapter) -> None:
    orders = await adapter.list_orders(CTX, status="Activated", limit=3)
    assert len(orders) == 3
    assert all(o.status == "Activated" and len(o.lines) == 2 for o in orders)
    order = await adapter.get_order(CTX, orders[0].id)
    assert order.total == sum(line.total_price or 0 for line in order.lines)
    assert order.lines[0].product_code is not None
    assert order.lines[0].product_code.startswith("SKU-")
    with pytest.raises(NotFoundError):
        await adapter.get_order(CTX, "801Sbx000000999IAA")


async def test_order_acks_are_written_in_collections_of_200(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    orders = await adapter.list_orders(CTX, limit=2)
    acks = [
        OrderAckUpdate(
            order_id=o.id,
            erp_system="infor_m3",
            sync_status="Booked",
            erp_order_number=f"M3-{i}",
            erp_status="20",
            synced_at=NOW,
        )
        for i, o in enumerate(orders)
    ] * 130  # 260 updates: two calls
    results = await adapter.record_order_acks(CTX, acks)
    assert len(results) == 260
    assert all(r.success for r in results)
    assert len(org.org.received_op("collections.update")) == 2
    stored = org.org.record("Order", orders[0].id)
    assert stored is not None
    assert (stored["ERP_Order_Number__c"], stored["ERP_Sync_Status__c"]) == (
        "M3-0",
        "Booked",
    )


async def test_refusals_come_back_per_record(adapter: SalesforceAdapter) -> None:
    credits = [
        AccountCredit(account_id=ACCOUNT, currency="USD", credit_limit=Decimal("50000.00"), exposure=Decimal("1200.50"), as_of=NOW),
        AccountCredit(account_id="001Sbx000000002IAA", currency="USD", credit_limit=Decimal(-1), exposure=Decimal(0), as_of=NOW),
        AccountCredit(account_id="001Sbx000000003IAA", currency="USD", credit_limit=None, exposure=Decimal(0), on_hold=True, as_of=NOW),
    ]  # fmt: skip
    results = await adapter.record_credit(CTX, credits)
    assert [r.success for r in results] == [True, False, False]
    assert results[1].errors[0].code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[1].errors[0].fields == ("Credit_Limit__c",)
    assert results[2].errors[0].message == "A credit hold needs a reason."
    assert results[0].key == ACCOUNT


async def test_documents_are_upserted_by_external_id(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    order = (await adapter.list_orders(CTX, limit=1))[0]
    invoice = ErpInvoice(erp_system="sage_intacct", invoice_id="DE01-INV-9", account_id=ACCOUNT, order_id=order.id,
                         invoice_date=date(2026, 5, 1), due_date=date(2026, 5, 31), currency="EUR",
                         total=Decimal("100.00"), amount_due=Decimal("100.00"))  # fmt: skip
    shipment = ErpShipment(erp_system="infor_m3", shipment_id="100-DLV-7", order_id=order.id, account_id=ACCOUNT,
                           carrier="UPS", tracking_number="1Z999", shipped_on=date(2026, 5, 2))  # fmt: skip
    payment = ErpPayment(erp_system="sage_intacct", payment_id="DE01-PAY-3", invoice_id="DE01-INV-9",
                         account_id=ACCOUNT, amount=Decimal("40.00"), currency="EUR", paid_on=date(2026, 5, 3))  # fmt: skip
    first = [*await adapter.upsert_invoices(CTX, [invoice]), *await adapter.upsert_shipments(CTX, [shipment]),
             *await adapter.upsert_payments(CTX, [payment])]  # fmt: skip
    assert [(r.success, r.created) for r in first] == [(True, True)] * 3
    again = await adapter.upsert_invoices(CTX, [invoice])
    assert (again[0].created, again[0].id) == (False, first[0].id)
    stored_payment = org.org.find("ERP_Payment__c", "ERP_Payment_Id__c", "DE01-PAY-3")[0]
    assert stored_payment["Invoice__c"] == first[0].id
    assert stored_payment["Amount__c"] == Decimal("40.00")


async def test_status_events_are_published(org: OrgEnv, adapter: SalesforceAdapter) -> None:
    results = await adapter.publish_events(
        CTX, [StatusEvent(kind="order", status="Booked", record_id=ACCOUNT, correlation_id="c-1")]
    )
    assert results[0].success
    assert results[0].errors == ()
    assert org.org.events[-1]["Correlation_Id__c"] == "c-1"


async def test_describe_is_cached(org: OrgEnv, adapter: SalesforceAdapter) -> None:
    first = await adapter.describe(CTX, "Order")
    second = await adapter.describe(CTX, "Order")
    assert first is second
    assert len(org.org.received_op("describe")) == 1
    field = first.field("ERP_Order_Number__c")
    assert field is not None
    assert field.external_id
    assert field.unique
    with pytest.raises(NotFoundError):
        await adapter.describe(CTX, "Nope__c")


async def test_usage_is_read_and_the_reserve_stops_calls(org: OrgEnv) -> None:
    now = [1000.0]
    client = SalesforceClient(org.session(), login_url=org.url, credentials=org.jwt(), api_reserve=100,
                              budget_recheck_s=60, monotonic=lambda: now[0])  # fmt: skip
    backend = SalesforceAdapter(client)
    try:
        org.org.set_api_usage(used=14_800, limit=15_000)
        await backend.ping(CTX)
        usage = backend.api_usage()
        assert usage is not None
        assert (usage.used, usage.limit, usage.remaining) == (
            14_801,
            15_000,
            199,
        )
        org.org.set_api_usage(used=14_950)
        await backend.ping(CTX)
        calls = len(org.org.received_op("limits"))
        with pytest.raises(SalesforceBudgetError) as caught:
            await backend.ping(CTX)
        assert caught.value.retryable
        assert caught.value.code == "API_RESERVE_REACHED"
        assert len(org.org.received_op("limits")) == calls  # nothing was sent
        now[0] += 61  # one call may refresh the figure
        await backend.ping(CTX)
        assert len(org.org.received_op("limits")) == calls + 1
    finally:
        backend.close()


async def test_salesforce_errors_map_to_ours(org: OrgEnv, adapter: SalesforceAdapter) -> None:
    org.org.set_api_usage(used=15_000, limit=15_000)
    with pytest.raises(BackendRateLimitedError) as limited:
        await adapter.ping(CTX)
    assert limited.value.code == "REQUEST_LIMIT_EXCEEDED"
    org.org.set_api_usage(used=0)
    adapter.close()
    adapter = org.adapter()  # the last one heard "limit reached" and keeps its reserve
    with pytest.raises(BackendRejectedError) as bad:
        [r async for r in adapter.query(CTX, "SELECT Nope FROM Account")]
    assert bad.value.code == "INVALID_FIELD"
    assert bad.value.status_code == 400
    org.org.set_fault("query", Fault(kind="status", status=503, times=1))
    with pytest.raises(BackendUnavailableError):
        [r async for r in adapter.query(CTX, "SELECT Id FROM Account")]
    org.org.set_fault("query", Fault(kind="malformed", times=1))
    try:
        with pytest.raises(BackendProtocolError):
            [r async for r in adapter.query(CTX, "SELECT Id FROM Account")]
    finally:
        adapter.close()


async def test_a_hung_org_costs_no_more_than_the_deadline(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    await adapter.ping(CTX)
    org.org.set_fault("limits", Fault(kind="hang"))
    started = time.monotonic()
    try:
        with pytest.raises(BackendTimeoutError):
            await adapter.ping(CallContext(company="salesforce", deadline=time.monotonic() + 0.3))
    finally:
        org.org.clear_faults()
        adapter.client._executor.shutdown(wait=True)  # the abandoned call ends on its own timeout
        _collect_dropped_sockets()
    assert time.monotonic() - started < 5


async def test_everything_the_adapter_sent_is_in_the_deployed_schema(
    org: OrgEnv, adapter: SalesforceAdapter
) -> None:
    """Field names as they went over the wire, checked against the emulator's metadata schema."""
    order = (await adapter.list_orders(CTX, limit=1))[0]
    await adapter.record_order_acks(
        CTX,
        [
            OrderAckUpdate(
                order_id=order.id,
                erp_system="infor_m3",
                sync_status="Accepted",
                erp_order_number="M3-W-1",
                erp_status="10",
                message="ok",
                synced_at=NOW,
            )
        ],
    )
    await adapter.record_credit(
        CTX,
        [
            AccountCredit(
                account_id=ACCOUNT,
                currency="USD",
                credit_limit=Decimal(1),
                exposure=Decimal(0),
                on_hold=True,
                hold_reason="late",
                as_of=NOW,
            )
        ],
    )
    await adapter.upsert_invoices(
        CTX,
        [
            ErpInvoice(
                erp_system="infor_m3",
                invoice_id="W-INV",
                currency="USD",
                total=Decimal(1),
                amount_due=Decimal(1),
            )
        ],
    )
    await adapter.upsert_shipments(CTX, [ErpShipment(erp_system="infor_m3", shipment_id="W-SHP")])
    await adapter.upsert_payments(
        CTX,
        [
            ErpPayment(
                erp_system="infor_m3",
                payment_id="W-PAY",
                invoice_id="W-INV",
                amount=Decimal(1),
                currency="USD",
            )
        ],
    )
    await adapter.publish_events(CTX, [StatusEvent(kind="credit", status="Hold")])
    sent = [r for r in org.org.received if r.op.startswith("collections.")]
    assert len(sent) == 6
    for request in sent:
        for record in request.body["records"]:
            schema = org.org.schema.objects[record["attributes"]["type"]]
            for name in record:
                if name in ("attributes", "Id"):  # Id names the record to update
                    continue
                field = schema.field_ci(name) or schema.relationship_ci(name)
                assert field is not None, f"{schema.name}.{name}"
                assert field.updateable or field.createable, f"{schema.name}.{name}"
