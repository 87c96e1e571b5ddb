"""Infor M3 adapter behaviour beyond the shared contract: tokens, MI parsing, error mapping."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import pytest

from sandbox.infor import Fault
from system_apis.contract import (
    CallContext,
    OrderLine,
    OrderParty,
    OrderRequest,
    PostalAddress,
    PriceQuery,
)
from system_apis.errors import (
    BackendAuthError,
    BackendProtocolError,
    BackendRateLimitedError,
    BackendRejectedError,
    BackendTimeoutError,
    BackendUnavailableError,
    NotFoundError,
)
from system_apis.infor_m3 import IonApiCredentials, M3Adapter, M3Error, cuor_for
from system_apis.infor_m3.adapter import text_lines
from tests.support.clock import ManualClock
from tests.support.infor_env import infor_contract_env, infor_emulator_served

TODAY = date.today()


def _token_requests(emulator: object) -> list[str]:
    return [r.inputs["grant_type"] for r in emulator.received if r.kind == "token"]  # type: ignore[attr-defined]


# -- credentials ------------------------------------------------------------------------------
def test_ionapi_file_loads_and_repr_hides_the_secrets(tmp_path: Path) -> None:
    path = tmp_path / "a.ionapi"
    path.write_text(
        '{"ti":"T","cn":"c","ci":"T~id","cs":"CLIENT-SECRET","iu":"https://ion.example",'
        '"pu":"https://sso.example/T/as/","oa":"authorization.oauth2","ot":"token.oauth2",'
        '"or":"revoke_token.oauth2","ev":"U1","v":"1.0","saak":"T#ACCESS-KEY","sask":"SECRET-KEY"}'
    )
    creds = IonApiCredentials.from_file(path)

    assert creds.token_url == "https://sso.example/T/as/token.oauth2"
    assert creds.revoke_url == "https://sso.example/T/as/revoke_token.oauth2"
    assert creds.api_base == "https://ion.example/T"
    for secret in ("CLIENT-SECRET", "ACCESS-KEY", "SECRET-KEY"):
        assert secret not in repr(creds)
        assert secret not in str(creds)


def test_ionapi_without_required_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid"):
        IonApiCredentials.from_dict({"ti": "T"})


def test_long_external_refs_get_a_stable_20_character_cuor() -> None:
    long_ref = "a3f1c7e2-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert cuor_for("801000000000001AAA") == "801000000000001AAA"
    assert len(cuor_for(long_ref)) == 20
    assert cuor_for(long_ref) == cuor_for(long_ref)
    assert cuor_for(long_ref) != cuor_for(long_ref + "x")


# -- tokens -----------------------------------------------------------------------------------
async def test_token_is_fetched_once_and_reused() -> None:
    async with infor_contract_env() as env:
        await asyncio.gather(*(env.backend.ping(env.ctx) for _ in range(5)))
        await env.backend.ping(env.ctx)
        assert _token_requests(env.emulator) == ["password"]


async def test_token_is_refreshed_before_expiry_with_the_refresh_grant() -> None:
    clock = ManualClock()
    async with infor_contract_env(token_lifetime=60, token_clock=clock) as env:
        await env.backend.ping(env.ctx)
        clock.advance(50)  # inside the last fifth of the lifetime
        await asyncio.gather(*(env.backend.ping(env.ctx) for _ in range(4)))
        assert _token_requests(env.emulator) == ["password", "refresh_token"]


async def test_without_refresh_tokens_an_expiring_token_is_replaced_by_a_new_sign_in() -> None:
    async with infor_contract_env(token_lifetime=0.5, issue_refresh_token=False) as env:
        await env.backend.ping(env.ctx)
        await asyncio.sleep(0.45)  # inside the last fifth of the lifetime
        await env.backend.ping(env.ctx)
        assert _token_requests(env.emulator) == ["password", "password"]


async def test_an_expired_token_refused_by_the_gateway_is_replaced_and_the_call_succeeds() -> None:
    async with infor_contract_env(token_lifetime=0.2, issue_refresh_token=False) as env:
        await env.backend.ping(env.ctx)
        for token in env.emulator._access_tokens.values():
            token.expires_at = 0.0
        await env.backend.ping(env.ctx)
        refused = [
            r for r in env.emulator.received if r.kind == "mi" and r.name == "MNS150MI/GetUserData"
        ]
        assert len(refused) == 3  # accepted, refused (401), repeated with a new token
        assert _token_requests(env.emulator) == ["password", "password"]


async def test_sign_ins_beyond_the_per_minute_entitlement_are_throttled() -> None:
    async with infor_contract_env(token_requests_per_minute=1) as env:
        await env.backend.ping(env.ctx)
        env.emulator.revoke_all_tokens()
        with pytest.raises(BackendRateLimitedError) as caught:
            await env.backend.ping(env.ctx)
        assert caught.value.status_code == 429


async def test_revoked_token_leads_to_a_new_sign_in_and_the_call_succeeds() -> None:
    async with infor_contract_env() as env:
        await env.backend.ping(env.ctx)
        env.emulator.revoke_all_tokens()
        credit = await env.backend.get_customer_credit(env.ctx, env.active_customer)
        assert credit.customer_id == env.active_customer
        assert _token_requests(env.emulator) == ["password", "password"]


async def test_wrong_secret_is_an_auth_error_that_retrying_cannot_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with infor_emulator_served() as (_emulator, path):
        good = IonApiCredentials.from_file(path)
        bad = msgspec.structs.replace(good, cs="WRONG-SECRET-VALUE")
        async with httpx.AsyncClient() as client:
            adapter = M3Adapter(client, ionapi=bad, request_timeout=2)
            with pytest.raises(BackendAuthError) as caught:
                await adapter.ping(CallContext(company="100"))

    assert caught.value.retryable is False
    assert caught.value.code == "invalid_client"
    for secret in ("WRONG-SECRET-VALUE", good.sask, good.saak):
        assert secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


async def test_secrets_and_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with infor_contract_env() as env:
        await env.backend.get_customer_credit(env.ctx, env.active_customer)
        token = env.backend.tokens._token  # type: ignore[attr-defined]
        creds = env.extra["credentials"]
    assert token is not None
    for secret in (creds.cs, creds.sask, token.access_token, token.refresh_token):
        assert secret not in caplog.text


# -- MI REST requests and parsing -------------------------------------------------------------
async def test_requests_carry_company_division_and_matrix_parameters() -> None:
    async with infor_contract_env() as env:
        await env.backend.get_customer_credit(env.ctx, env.active_customer)
        received = {r.name: r for r in env.emulator.received if r.kind == "mi"}

    financial = received["CRS610MI/GetFinancial"]
    assert financial.matrix == {
        "metadata": "false",
        "maxrecs": "1",
        "excludempty": "false",
        "cono": "100",
        "divi": "US1",
        # Only the columns the credit answer reads (M3 would otherwise send all 51).
        "returncols": "CRL3,BLCD,CUCD,TOIN,TBLG,TDIN,ODUE",
    }
    assert financial.inputs == {"CUNO": "US0001", "DIVI": "US1"}
    assert financial.authorization == "bearer"


async def test_customer_credit_maps_m3_financial_fields() -> None:
    async with infor_contract_env() as env:
        seeded = env.emulator.state.data.customers["US0004"]
        credit = await env.backend.get_customer_credit(env.ctx, "US0004")

    assert credit.customer_id == "US0004"  # trimmed from "US0004    "
    assert credit.name == seeded.name
    assert credit.credit_limit == seeded.credit_limit_3
    assert credit.open_receivables == seeded.outstanding_invoices
    assert credit.open_orders == seeded.open_orders
    assert credit.on_hold is True
    assert credit.hold_reason == "M3 customer stop 1"
    assert credit.source.system == "ISTHMUS_TST/100"


async def test_item_units_come_from_mms015_with_factors_in_base_units() -> None:
    async with infor_contract_env() as env:
        item = await env.backend.get_item(env.ctx, "A1003")
    assert item.base_uom == "EA"
    assert {u.uom: u.factor for u in item.uoms} == {
        "BOX": Decimal(12),
        "PAL": Decimal(480),
        "CS": Decimal(6),
    }
    assert item.item_type == "FG"


async def test_price_reports_list_net_and_percent_discounts() -> None:
    async with infor_contract_env() as env:
        price = await env.backend.get_price(
            env.ctx,
            PriceQuery(
                customer_id="US0001",
                item_id="A1001",
                quantity=Decimal(2),
                uom="BOX",
                currency="USD",
                on_date=TODAY,
            ),
        )
        received = env.emulator.received_named("OIS320MI/GetPriceLine")[-1]

    assert received.inputs["ORQA"] == "2"
    assert received.inputs["ALUN"] == "BOX"
    assert price.uom == "BOX"
    assert [(d.kind, d.value) for d in price.discounts] == [("percent", Decimal(5))]
    assert price.net_price == (price.list_price * Decimal("0.95")).quantize(Decimal("0.0001"))
    assert price.price_list == "LUSD"


async def test_availability_receipts_are_the_increases_of_the_atp_series() -> None:
    async with infor_contract_env() as env:
        (row,) = await env.backend.get_availability(env.ctx, "A1001", ("WUS",))
        balance = env.emulator.state.data.balances[("WUS", "A1001")]

    assert row.on_hand == balance.on_hand
    assert row.allocated == balance.allocated
    assert row.available_now == balance.on_hand - balance.allocated
    assert [(r.date, r.quantity) for r in row.receipts] == [
        (r.when, r.quantity) for r in balance.receipts
    ]


async def test_order_with_a_long_reference_is_idempotent_through_its_cuor() -> None:
    ref = "0a3f1c7e2-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    order = OrderRequest(
        external_ref=ref,
        customer_id="US0001",
        currency="USD",
        order_date=TODAY,
        lines=(
            OrderLine(line_no=1, item_id="A1002", quantity=Decimal(2), uom="BOX"),
            OrderLine(line_no=2, item_id="A1004", quantity=Decimal(5), uom="EA"),
        ),
    )
    async with infor_contract_env() as env:
        first = await env.backend.create_order(env.ctx, order)
        second = await env.backend.create_order(env.ctx, order)
        heads = env.emulator.received_named("OIS100MI/AddBatchHead")

    assert (first.created, second.created) == (True, False)
    assert second.order_id == first.order_id
    assert first.external_ref == ref
    assert len(heads) == 1
    assert heads[0].inputs["CUOR"] == cuor_for(ref)
    assert [(ln.line_no, ln.item_id, ln.quantity, ln.uom) for ln in first.lines] == [
        (1, "A1002", Decimal(2), "BOX"),
        (2, "A1004", Decimal(5), "EA"),
    ]
    assert first.status == "20"
    assert first.total is not None
    assert first.total > 0


def _addressed(ref: str, ship_to: OrderParty, bill_to: OrderParty | None = None) -> OrderRequest:
    return OrderRequest(
        external_ref=ref,
        customer_id="US0001",
        currency="USD",
        order_date=TODAY,
        customer_po="PO-4711",
        notes="Deliver to the rear entrance between 8 and 11, ask for Pat at the gate house "
        "desk.\nNo pallets over 1.2 m.",
        ship_to=ship_to,
        bill_to=bill_to,
        lines=(
            OrderLine(line_no=1, item_id="A1002", quantity=Decimal(2), uom="BOX",
                      tax_amount=Decimal("1.50")),
        ),
    )  # fmt: skip


async def test_an_order_carries_its_addresses_reference_and_notes_into_m3() -> None:
    dock = PostalAddress(
        name="Acme Industrial Dock 7",
        lines=("Gate 3", "1200 Pier Road"),
        city="Milwaukee",
        region="WI",
        postal_code="53202",
        country="US",
    )
    request = _addressed("SF-M3-ADDR", OrderParty(address=dock), OrderParty(address_id="AP"))
    async with infor_contract_env() as env:
        ack = await env.backend.create_order(env.ctx, request)
        held = env.emulator.state.data.orders[ack.order_id]
        customer = env.emulator.state.data.customers["US0001"]
        head = await env.backend.mi.execute(env.ctx, "OIS100MI", "GetHead", {"ORNO": ack.order_id})  # type: ignore[attr-defined]

    assert held.yref == "PO-4711"
    assert held.addresses["1"].fields() == {
        "ADID": "", "CUNM": "Acme Industrial Dock 7", "CUA1": "Gate 3", "CUA2": "1200 Pier Road",
        "CUA3": "", "CUA4": "", "TOWN": "Milwaukee", "ECAR": "WI", "PONO": "53202", "CSCD": "US",
    }  # fmt: skip
    assert held.addresses["3"] == customer.addresses[("3", "AP")]
    assert held.texts == [("1", line) for line in text_lines(request.notes)]
    assert [len(t) <= 60 for _, t in held.texts] == [True] * len(held.texts)
    assert " ".join(t for _, t in held.texts) == " ".join(request.notes.split())  # type: ignore[union-attr]
    assert (head[0]["YREF"], head[0]["PRT2"] != "0") == ("PO-4711", True)


async def test_a_known_delivery_address_goes_on_the_head_and_an_unknown_one_is_refused() -> None:
    async with infor_contract_env() as env:
        ack = await env.backend.create_order(
            env.ctx, _addressed("SF-M3-ADID", OrderParty(address_id="DOCK1"))
        )
        held = env.emulator.state.data.orders[ack.order_id]
        with pytest.raises(NotFoundError) as caught:
            await env.backend.create_order(
                env.ctx, _addressed("SF-M3-NOADID", OrderParty(address_id="NOPE"))
            )
    assert (held.adid, held.addresses["1"].name) == ("DOCK1", "Acme Industrial Inc")
    assert caught.value.field == "ADID"


def test_notes_become_text_lines_of_at_most_60_characters() -> None:
    assert text_lines("short\n\nsecond paragraph\n\n") == ["short", "", "second paragraph"]
    assert text_lines("x" * 130) == ["x" * 60, "x" * 60, "x" * 10]
    assert text_lines(None) == []


async def test_order_for_a_stopped_customer_is_rejected_with_the_m3_message() -> None:
    async with infor_contract_env() as env:
        with pytest.raises(BackendRejectedError) as caught:
            await env.backend.create_order(
                env.ctx,
                OrderRequest(
                    external_ref="SF-STOPPED-1",
                    customer_id="US0004",
                    currency="USD",
                    order_date=TODAY,
                    lines=(OrderLine(line_no=1, item_id="A1001", quantity=Decimal(1), uom="EA"),),
                ),
            )
    error = caught.value
    assert isinstance(error, M3Error)
    assert (error.code, error.field, error.transaction) == (
        "WCU0504",
        "CUNO",
        "OIS100MI/AddBatchHead",
    )
    assert error.message == "Customer US0004 has customer stop 1"  # no padding
    assert error.retryable is False


@pytest.mark.parametrize("nok_status", [400, 200])
async def test_unknown_customer_maps_to_not_found_with_m3_code_and_field(nok_status: int) -> None:
    async with infor_contract_env(nok_status=nok_status) as env:
        with pytest.raises(NotFoundError) as caught:
            await env.backend.get_customer_credit(env.ctx, "NOSUCH")
    assert (caught.value.code, caught.value.field) == ("WCU0203", "CUNO")
    assert caught.value.message == "Customer number NOSUCH does not exist"


async def test_unknown_order_is_not_found() -> None:
    async with infor_contract_env() as env:
        with pytest.raises(NotFoundError):
            await env.backend.get_order(env.ctx, "0000000000")


# -- gateway faults ---------------------------------------------------------------------------
async def test_throttled_call_waits_retry_after_and_succeeds_within_the_deadline() -> None:
    async with infor_contract_env() as env:
        await env.backend.ping(env.ctx)
        env.emulator.set_fault("MNS150MI", Fault(kind="status", status=429, retry_after=1, times=1))
        ctx = CallContext(company="100", division="US1", deadline=time.monotonic() + 3)
        started = time.monotonic()
        await env.backend.ping(ctx)
    assert 1.0 <= time.monotonic() - started < 2.5


async def test_throttling_beyond_the_deadline_is_a_rate_limit_error_with_retry_after() -> None:
    async with infor_contract_env() as env:
        await env.backend.ping(env.ctx)
        env.emulator.set_fault("MNS150MI", Fault(kind="status", status=429, retry_after=5))
        ctx = CallContext(company="100", deadline=time.monotonic() + 1)
        with pytest.raises(BackendRateLimitedError) as caught:
            await env.backend.ping(ctx)
    assert caught.value.retry_after == 5
    assert caught.value.retryable is True


async def test_gateway_throttling_by_rate_is_honoured() -> None:
    async with infor_contract_env(requests_per_second=3) as env:
        ctx = CallContext(company="100", division="US1", deadline=time.monotonic() + 5)
        for _ in range(4):
            await env.backend.ping(ctx)
        sent = env.emulator.received_named("MNS150MI/GetUserData")
    assert len(sent) == 5  # the fourth call was throttled once, waited, and went through


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind="status", status=503), BackendUnavailableError),
        (Fault(kind="status", status=504), BackendTimeoutError),
        (Fault(kind="html"), BackendProtocolError),
        (Fault(kind="malformed"), BackendProtocolError),
        (Fault(kind="truncated"), BackendProtocolError),
        (Fault(kind="reset"), BackendUnavailableError),
    ],
)
async def test_gateway_failures_map_to_retryable_backend_errors(
    fault: Fault, error: type[Exception]
) -> None:
    async with infor_contract_env() as env:
        env.emulator.set_fault("CRS610MI/GetBasicData", fault)
        with pytest.raises(error) as caught:
            await env.backend.get_customer_credit(env.ctx, env.active_customer)
    assert caught.value.retryable is True  # type: ignore[attr-defined]


async def test_hanging_m3_fails_at_the_callers_deadline() -> None:
    async with infor_contract_env() as env:
        await env.backend.ping(env.ctx)
        env.emulator.set_fault("CRS610MI", Fault(kind="hang"))
        ctx = CallContext(company="100", division="US1", deadline=time.monotonic() + 0.3)
        with pytest.raises(BackendTimeoutError):  # the hang never ends: the deadline did
            await env.backend.get_customer_credit(ctx, env.active_customer)


async def test_token_endpoint_down_is_unavailable() -> None:
    async with infor_contract_env() as env:
        env.emulator.set_fault("token", Fault(kind="status", status=503))
        with pytest.raises(BackendUnavailableError):
            await env.backend.ping(env.ctx)
