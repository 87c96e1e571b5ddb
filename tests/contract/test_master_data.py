"""One master data contract, run against the Intacct and M3 adapters over their emulators:
customers with bill-to / ship-to addresses and contacts, duplicate candidates, changes, items
with their units, price lists with dates and quantity bands, and dimension values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from system_apis.contract import CallContext
from system_apis.errors import NotFoundError
from system_apis.master_data import (
    ContactPerson,
    CustomerExistsError,
    CustomerUpdate,
    MasterData,
    NewCustomer,
    PartyAddress,
    PostalAddress,
)


@dataclass(frozen=True)
class Env:
    data: MasterData
    ctx: CallContext
    emulator: Any
    currency: str
    terms: str
    price_list: str
    seeded_customer: str
    seeded_tax_id: str
    seeded_postal_code: str
    country: str
    inactive_item: str
    item_with_breaks: str
    inactive_dimension: tuple[str, str]
    active_dimension: tuple[str, str]


@pytest.fixture(params=["sage_intacct", "infor_m3"])
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    if request.param == "sage_intacct":
        from system_apis.sage_intacct.master_data import IntacctMasterData
        from tests.support.intacct_env import intacct_contract_env

        async with intacct_contract_env() as erp:
            yield Env(
                data=IntacctMasterData(erp.backend),  # type: ignore[arg-type]
                ctx=erp.ctx, emulator=erp.emulator, currency="EUR", terms="N30",
                price_list="EUR Standard", seeded_customer="CUST-DE-001",
                seeded_tax_id="DE100007919", seeded_postal_code="20458", country="DE",
                inactive_item="ITM-0007", item_with_breaks="ITM-0005",
                inactive_dimension=("project", "PRJ-002"),
                active_dimension=("department", "SALES"),
            )  # fmt: skip
    else:
        from system_apis.infor_m3.master_data import M3MasterData
        from tests.support.infor_env import infor_contract_env

        async with infor_contract_env() as erp:
            yield Env(
                data=M3MasterData(erp.backend),  # type: ignore[arg-type]
                ctx=erp.ctx, emulator=erp.emulator, currency="USD", terms="30",
                price_list="LUSD", seeded_customer="US0001", seeded_tax_id="US000000001",
                seeded_postal_code="60601", country="US", inactive_item="A1013",
                item_with_breaks="A1001", inactive_dimension=("department", "CC300"),
                active_dimension=("department", "CC100"),
            )  # fmt: skip


def _new(env: Env, number: str) -> NewCustomer:
    return NewCustomer(
        customer_id=number,
        name="Quokka Robotics",
        currency=env.currency,
        tax_id=f"{env.country}777000111",
        terms=env.terms,
        price_list=env.price_list,
        phone="+1 555 0100",
        email="ap@quokka.example.com",
        address=PostalAddress(
            street=("1 Quokka Way",), city="Springfield", postal_code="99001", country=env.country
        ),
        addresses=(
            PartyAddress(
                role="bill_to",
                name="Quokka Accounts",
                address=PostalAddress(
                    street=("PO Box 9",),
                    city="Springfield",
                    postal_code="99002",
                    country=env.country,
                ),
            ),
            PartyAddress(
                role="ship_to",
                name="Quokka Dock 4",
                address=PostalAddress(
                    street=("4 Harbour Rd",),
                    city="Shelbyville",
                    postal_code="99003",
                    country=env.country,
                ),
            ),
        ),
        contacts=(
            ContactPerson(first_name="Ada", last_name="Quokka", email="ada@quokka.example.com"),
        ),
        external_ref="001Sbx000000099AAA",
    )


async def test_a_customer_is_created_once_with_its_addresses_and_contacts(env: Env) -> None:
    created = await env.data.create_customer(env.ctx, _new(env, "SF000001"))
    assert (created.customer_id, created.name, created.status) == ("SF000001", "Quokka Robotics", "active")  # fmt: skip
    assert (created.tax_id, created.terms, created.price_list) == (
        f"{env.country}777000111",
        env.terms,
        env.price_list,
    )
    assert created.address.postal_code == "99001"
    bill, ship = created.address_for("bill_to"), created.address_for("ship_to")
    assert bill is not None
    assert ship is not None
    assert (bill.address.street, bill.address.postal_code) == (("PO Box 9",), "99002")
    assert (ship.address.city, ship.address.postal_code) == ("Shelbyville", "99003")
    assert [(c.first_name, c.last_name, c.email) for c in created.contacts] == [
        ("Ada", "Quokka", "ada@quokka.example.com")
    ]
    with pytest.raises(CustomerExistsError):
        await env.data.create_customer(env.ctx, _new(env, "SF000001"))
    again = await env.data.get_customer(env.ctx, "SF000001")
    assert again.contacts == created.contacts
    assert again.addresses == created.addresses


async def test_duplicate_candidates_are_found_by_tax_id_and_by_postal_code(env: Env) -> None:
    by_tax = await env.data.find_customers(env.ctx, tax_id=env.seeded_tax_id)
    assert [c.customer_id for c in by_tax] == [env.seeded_customer]
    by_postcode = await env.data.find_customers(env.ctx, postal_code=env.seeded_postal_code)
    assert env.seeded_customer in [c.customer_id for c in by_postcode]
    assert await env.data.find_customers(env.ctx, tax_id="XX000") == ()
    with pytest.raises(NotFoundError):
        await env.data.get_customer(env.ctx, "NOSUCHCUST")


async def test_changes_to_a_customer_its_addresses_and_contacts_are_written_and_listed(
    env: Env,
) -> None:
    created = await env.data.create_customer(env.ctx, _new(env, "SF000002"))
    before = datetime.now(UTC) - timedelta(seconds=2)
    await env.data.update_customer(
        env.ctx, "SF000002", CustomerUpdate(phone="+1 555 0199", tax_id=f"{env.country}888")
    )
    ship = created.address_for("ship_to")
    assert ship is not None
    moved = PartyAddress(role="ship_to", address_id=ship.address_id, name=ship.name,
                         address=PostalAddress(street=("9 New Quay",), city="Capital City",
                                               postal_code="99009", country=env.country))  # fmt: skip
    await env.data.save_address(env.ctx, "SF000002", moved)
    ada = created.contacts[0]
    await env.data.save_contact(
        env.ctx, "SF000002",
        ContactPerson(contact_id=ada.contact_id, first_name="Ada", last_name="Quokka",
                      email="ada@new.example.com"),
    )  # fmt: skip
    added = await env.data.save_contact(
        env.ctx, "SF000002", ContactPerson(first_name="Bo", last_name="Wombat")
    )
    now = await env.data.get_customer(env.ctx, "SF000002")
    assert (now.phone, now.tax_id) == ("+1 555 0199", f"{env.country}888")
    new_ship = now.address_for("ship_to")
    assert new_ship is not None
    assert (new_ship.address_id, new_ship.address.city) == (ship.address_id, "Capital City")
    assert sorted((c.last_name, c.email) for c in now.contacts) == [
        ("Quokka", "ada@new.example.com"), ("Wombat", None),
    ]  # fmt: skip
    assert added.contact_id in {c.contact_id for c in now.contacts}
    changed = await env.data.customers_changed(env.ctx, before)
    assert "SF000002" in [c.customer_id for c in changed]


async def test_items_come_with_their_units_product_line_and_status(env: Env) -> None:
    items = {i.item_id: i for i in await env.data.items_changed(env.ctx, None)}
    assert len(items) == 160
    inactive = items[env.inactive_item]
    assert inactive.status == "inactive"
    item = items[env.item_with_breaks]
    assert item.status == "active"
    assert item.base_uom == "EA"
    assert item.product_line
    assert {u.uom: u.factor for u in item.uoms}["BOX"] == Decimal(12)
    recent = await env.data.items_changed(env.ctx, datetime.now(UTC) + timedelta(days=400))
    assert recent == ()


async def test_a_price_list_answers_dated_entries_and_quantity_bands(env: Env) -> None:
    entries = await env.data.price_list(env.ctx, env.price_list, env.currency)
    mine = sorted(
        (e for e in entries if e.item_id == env.item_with_breaks),
        key=lambda e: (e.valid_from or datetime.min.date(), e.min_quantity or 0),
    )
    assert mine
    assert {e.currency for e in mine} == {env.currency}
    assert all(e.valid_from is not None and e.valid_to is not None for e in mine)
    banded = [e for e in mine if e.min_quantity is not None]
    assert len(banded) >= 3
    current = [e for e in banded if e.valid_from and e.valid_from <= datetime.now(UTC).date() <= (e.valid_to or datetime.max.date())]  # fmt: skip
    prices = [e.unit_price for e in sorted(current, key=lambda e: e.min_quantity or 0)]
    assert prices == sorted(prices, reverse=True)  # more for less: a lower price per band
    assert len({e.key for e in entries}) == len(entries)


async def test_dimension_values_come_with_their_status(env: Env) -> None:
    values = {(d.kind, d.code): d.status for d in await env.data.dimensions(env.ctx)}
    assert values[env.active_dimension] == "active"
    assert values[env.inactive_dimension] == "inactive"
    assert {kind for kind, _ in values} == {"department", "location", "class", "project"}
