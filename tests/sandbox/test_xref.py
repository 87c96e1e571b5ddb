"""The sandbox cross-reference is current and names only ids the emulators' seeds hold."""

from __future__ import annotations

from datetime import date

from process_apis.xref import CrossReference, normalize_salesforce_id
from sandbox.infor.seed import build_seed as build_infor_seed
from sandbox.intacct.seed import build_seed as build_intacct_seed
from sandbox.xref import XREF_PATH, build_xref, render


def test_committed_xref_is_current() -> None:
    assert XREF_PATH.read_text(encoding="utf-8") == render(), "run `python -m sandbox.xref`"


def test_account_ids_are_valid_salesforce_ids() -> None:
    accounts = build_xref()["accounts"]
    assert isinstance(accounts, dict)
    for account_id in accounts:
        assert normalize_salesforce_id(account_id[:15], pointer="") == account_id


def test_every_mapped_id_exists_in_the_seeds() -> None:
    today = date(2026, 11, 23)
    infor = build_infor_seed(today)
    intacct = build_intacct_seed(today)
    intacct_customers = {r["CUSTOMERID"] for r in intacct.tables["CUSTOMER"]}
    intacct_items = {r["ITEMID"] for r in intacct.tables["ITEM"]}
    xref = build_xref()
    accounts = xref["accounts"]
    products = xref["products"]
    assert isinstance(accounts, dict)
    assert isinstance(products, dict)
    for per_entity in accounts.values():
        assert per_entity["US01"] in infor.customers
        assert per_entity.get("CA01", "CA0001") in infor.customers
        assert per_entity["DE01"] in intacct_customers
        assert per_entity["UK01"] in intacct_customers
    for per_vendor in products.values():
        assert per_vendor["infor_m3"] in infor.items
        assert per_vendor["sage_intacct"] in intacct_items
    assert (
        CrossReference.from_file(XREF_PATH).item_for_sku("SKU-0001", "infor_m3", pointer="")
        == "A1001"
    )
