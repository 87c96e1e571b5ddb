"""The System API contract, as every ERP adapter must honour it (see system_apis/contract.py)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest

from system_apis.contract import OrderLine, OrderRequest, PriceQuery
from system_apis.errors import BackendError, NotFoundError
from tests.support.contract_env import ContractEnv

TODAY = date.today()


async def test_customer_credit_reports_limit_exposure_and_headroom(erp: ContractEnv) -> None:
    credit = await erp.backend.get_customer_credit(erp.ctx, erp.active_customer)

    assert credit.customer_id == erp.active_customer
    assert credit.status == "active"
    assert credit.currency == erp.currency
    assert credit.on_hold is False
    assert credit.credit_limit is not None
    assert credit.credit_limit > 0
    assert credit.exposure == credit.open_receivables + credit.open_orders
    assert credit.headroom == credit.credit_limit - credit.exposure
    assert credit.source.vendor == erp.backend.vendor


async def test_customer_on_hold_is_reported(erp: ContractEnv) -> None:
    credit = await erp.backend.get_customer_credit(erp.ctx, erp.on_hold_customer)
    assert credit.on_hold is True


async def test_inactive_customer_is_reported_inactive(erp: ContractEnv) -> None:
    credit = await erp.backend.get_customer_credit(erp.ctx, erp.inactive_customer)
    assert credit.status == "inactive"


async def test_unknown_customer_is_not_found_and_not_retryable(erp: ContractEnv) -> None:
    with pytest.raises(NotFoundError) as caught:
        await erp.backend.get_customer_credit(erp.ctx, erp.unknown_customer)
    assert caught.value.retryable is False
    assert caught.value.vendor == erp.backend.vendor


async def test_item_has_base_unit_and_alternate_unit_factors(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.active_item)

    assert item.item_id == erp.active_item
    assert item.status == "active"
    factors = {conv.uom: conv.factor for conv in item.uoms}
    assert factors[erp.alt_uom] == erp.alt_uom_factor
    assert item.base_uom not in factors or factors[item.base_uom] == 1


async def test_inactive_item_is_reported_inactive(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.inactive_item)
    assert item.status == "inactive"


async def test_unknown_item_is_not_found(erp: ContractEnv) -> None:
    with pytest.raises(NotFoundError):
        await erp.backend.get_item(erp.ctx, erp.unknown_item)


async def test_price_is_in_the_customer_currency_with_net_not_above_list(erp: ContractEnv) -> None:
    query = PriceQuery(
        customer_id=erp.active_customer,
        item_id=erp.active_item,
        quantity=Decimal(1),
        uom=(await erp.backend.get_item(erp.ctx, erp.active_item)).base_uom,
        currency=erp.currency,
        on_date=TODAY,
    )
    price = await erp.backend.get_price(erp.ctx, query)

    assert price.item_id == erp.active_item
    assert price.currency == erp.currency
    assert price.net_price > 0
    assert price.list_price > 0
    assert isinstance(price.net_price, Decimal)
    if price.valid_from is not None:
        assert price.valid_from <= TODAY
    if price.valid_to is not None:
        assert price.valid_to >= TODAY


async def test_quantity_break_lowers_the_unit_price(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.quantity_break_item)
    base = PriceQuery(
        customer_id=erp.active_customer,
        item_id=erp.quantity_break_item,
        quantity=Decimal(1),
        uom=item.base_uom,
        currency=erp.currency,
        on_date=TODAY,
    )
    small = await erp.backend.get_price(erp.ctx, base)
    large = await erp.backend.get_price(
        erp.ctx,
        PriceQuery(
            customer_id=base.customer_id,
            item_id=base.item_id,
            quantity=erp.break_quantity,
            uom=base.uom,
            currency=base.currency,
            on_date=base.on_date,
        ),
    )
    assert large.net_price < small.net_price


async def test_availability_per_warehouse_is_consistent(erp: ContractEnv) -> None:
    rows = await erp.backend.get_availability(erp.ctx, erp.active_item)

    warehouses = {row.warehouse_id for row in rows}
    assert set(erp.warehouse_ids) <= warehouses
    for row in rows:
        assert row.item_id == erp.active_item
        assert row.on_hand >= 0
        assert row.available_now <= row.on_hand
        dates = [r.date for r in row.receipts]
        assert dates == sorted(dates)


async def test_availability_can_be_limited_to_named_warehouses(erp: ContractEnv) -> None:
    wanted = erp.warehouse_ids[:1]
    rows = await erp.backend.get_availability(erp.ctx, erp.active_item, wanted)
    assert [row.warehouse_id for row in rows] == list(wanted)


async def test_future_receipts_make_a_later_promise_date(erp: ContractEnv) -> None:
    rows = await erp.backend.get_availability(erp.ctx, erp.item_with_future_receipts)
    row = next(r for r in rows if r.receipts)
    beyond_now = row.available_now + row.receipts[0].quantity
    promise = row.earliest_date_for(beyond_now, TODAY)
    assert promise is not None
    assert promise > TODAY


def _order(erp: ContractEnv, ref: str, uom: str) -> OrderRequest:
    return OrderRequest(
        external_ref=ref,
        customer_id=erp.active_customer,
        currency=erp.currency,
        order_date=TODAY,
        requested_date=TODAY + timedelta(days=7),
        lines=(
            OrderLine(
                line_no=1,
                item_id=erp.active_item,
                quantity=Decimal(3),
                uom=uom,
                warehouse_id=erp.warehouse_ids[0],
                dimensions=dict(erp.extra.get("line_dimensions", {})),
            ),
        ),
    )


async def test_order_is_created_and_can_be_read_back(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.active_item)
    ack = await erp.backend.create_order(erp.ctx, _order(erp, "801000000000001AAA", item.base_uom))

    assert ack.created is True
    assert ack.order_id
    assert ack.customer_id == erp.active_customer
    read = await erp.backend.get_order(erp.ctx, ack.order_id)
    assert read.order_id == ack.order_id
    assert [(line.item_id, line.quantity) for line in read.lines] == [(erp.active_item, 3)]


async def test_creating_the_same_order_twice_returns_the_first(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.active_item)
    order = _order(erp, "801000000000002BBB", item.base_uom)

    first = await erp.backend.create_order(erp.ctx, order)
    second = await erp.backend.create_order(erp.ctx, order)

    assert second.created is False
    assert second.order_id == first.order_id


async def test_concurrent_duplicate_orders_create_one_order(erp: ContractEnv) -> None:
    item = await erp.backend.get_item(erp.ctx, erp.active_item)
    order = _order(erp, "801000000000003CCC", item.base_uom)

    results = await asyncio.gather(
        *(erp.backend.create_order(erp.ctx, order) for _ in range(3)), return_exceptions=True
    )
    acks = [r for r in results if not isinstance(r, BaseException)]
    assert acks, results
    assert len({ack.order_id for ack in acks}) == 1
    for r in results:
        if isinstance(r, BaseException):
            assert isinstance(r, BackendError), r


async def test_order_for_unknown_item_is_refused_not_found_or_rejected(erp: ContractEnv) -> None:
    order = OrderRequest(
        external_ref="801000000000004DDD",
        customer_id=erp.active_customer,
        currency=erp.currency,
        order_date=TODAY,
        lines=(
            OrderLine(
                line_no=1,
                item_id=erp.unknown_item,
                quantity=Decimal(1),
                uom="EA",
                warehouse_id=erp.warehouse_ids[0],
                dimensions=dict(erp.extra.get("line_dimensions", {})),
            ),
        ),
    )
    with pytest.raises(BackendError) as caught:
        await erp.backend.create_order(erp.ctx, order)
    assert caught.value.kind in {"not_found", "rejected"}
    assert caught.value.retryable is False


async def test_ping_succeeds_with_good_credentials(erp: ContractEnv) -> None:
    await erp.backend.ping(erp.ctx)
