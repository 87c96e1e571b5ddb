"""Field ownership, as a specification: who masters a field decides what a write does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from process_apis.sync import OwnershipError, OwnershipTable
from process_apis.sync.ownership import FieldRule
from process_apis.sync.writeback import Links, WriteBack
from process_apis.xref import CrossReference
from system_apis.changes import (
    CreditChange,
    InvoiceChange,
    OrderChange,
    OrderLineState,
    PaymentApplication,
    PaymentChange,
    ShipmentChange,
    ShipmentLine,
)
from tests.unit.test_salesforce_metadata import OBJECTS, STANDARD, deployed_fields

TABLE = OwnershipTable(
    {
        "Order": {
            "ERP_Status__c": FieldRule(master="erp"),
            "Note__c": FieldRule(master="erp", on_conflict="keep"),
            "PoNumber": FieldRule(master="salesforce"),
            "Region__c": FieldRule(master="salesforce", on_conflict="ignore"),
            "Carrier__c": FieldRule(master="first_writer"),
        }
    }
)


def plan(proposed: dict[str, object], current: dict[str, object] | None,
         last: dict[str, object] | None = None):  # type: ignore[no-untyped-def]  # fmt: skip
    return TABLE.plan("Order", proposed, target="salesforce", current=current, last_written=last)


def test_the_erp_masters_its_fields_and_a_salesforce_edit_is_restored_and_recorded() -> None:
    result = plan(
        {"ERP_Status__c": "33"}, {"ERP_Status__c": "typed by hand"}, {"ERP_Status__c": "22"}
    )
    assert result.values == {"ERP_Status__c": "33"}
    (conflict,) = result.conflicts
    assert (conflict.outcome, conflict.target_value, conflict.proposed_value) == (
        "restored", "typed by hand", "33"
    )  # fmt: skip


def test_an_unread_erp_field_is_written_without_a_record() -> None:
    assert plan({"ERP_Status__c": "33"}, None, {"ERP_Status__c": "22"}).values == {
        "ERP_Status__c": "33"
    }


def test_a_keep_rule_leaves_the_salesforce_edit_and_records_it() -> None:
    result = plan({"Note__c": "from the ERP"}, {"Note__c": "mine"}, {"Note__c": "old ERP"})
    assert result.values == {}
    assert [(c.field, c.outcome) for c in result.conflicts] == [("Note__c", "kept")]


def test_a_salesforce_mastered_field_is_never_written_and_a_difference_is_recorded() -> None:
    result = plan(
        {"PoNumber": "PO-ERP", "Region__c": "EU"}, {"PoNumber": "PO-SF", "Region__c": "US"}
    )
    assert result.values == {}
    assert [(c.field, c.master, c.outcome) for c in result.conflicts] == [
        ("PoNumber", "salesforce", "kept")
    ]  # fmt: skip
    assert plan({"PoNumber": "PO-1"}, {"PoNumber": "PO-1"}).conflicts == ()


def test_first_writer_fills_a_blank_keeps_its_own_and_yields_to_another_writer() -> None:
    assert plan({"Carrier__c": "UPS"}, {"Carrier__c": None}).values == {"Carrier__c": "UPS"}
    ours = plan({"Carrier__c": "DHL"}, {"Carrier__c": "UPS"}, {"Carrier__c": "UPS"})
    assert ours.values == {"Carrier__c": "DHL"}
    theirs = plan({"Carrier__c": "DHL"}, {"Carrier__c": "FedEx"}, {"Carrier__c": "UPS"})
    assert theirs.values == {}
    assert [c.outcome for c in theirs.conflicts] == ["kept"]


def test_numbers_and_dates_compare_by_value() -> None:
    result = plan({"ERP_Status__c": "10.50"}, {"ERP_Status__c": 10.5}, {"ERP_Status__c": "10.5"})
    assert result.conflicts == ()


def test_a_field_nobody_decided_is_refused() -> None:
    with pytest.raises(OwnershipError, match=r"Order\.Unknown__c"):
        plan({"Unknown__c": 1}, None)


@pytest.mark.parametrize("rule", [
    {"master": "salesforce", "on_conflict": "overwrite"},
    {"master": "first_writer", "on_conflict": "overwrite"},
])  # fmt: skip
def test_the_table_refuses_rules_that_would_overwrite_salesforce(
    tmp_path: Path, rule: dict[str, str]
) -> None:
    path = tmp_path / "ownership.toml"
    path.write_text(
        f'[Order]\nPoNumber = {{ master = "{rule["master"]}", on_conflict = "{rule["on_conflict"]}" }}\n'
    )
    with pytest.raises(OwnershipError):
        OwnershipTable.from_file(path)


def test_the_shipped_table_names_only_deployed_fields() -> None:
    for sobject, fields in OwnershipTable.from_file().objects().items():
        assert (OBJECTS / sobject).is_dir() or sobject in STANDARD, sobject
        assert set(fields) - deployed_fields(sobject) == set(), sobject


def test_every_field_the_write_back_writes_is_in_the_table() -> None:
    table = OwnershipTable.from_file()
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    xref = CrossReference({"001Sbx000000001IAA": {"DE01": "C1"}}, {})
    mapper = WriteBack(system="sage_intacct", company="DE01", entity="DE01", now=at, events=True,
                       links=Links(xref, "DE01", {"SO1": "801Sbx000000001AAA"}))  # fmt: skip
    writes = [
        *mapper.orders([OrderChange(
            order_id="SO1", external_ref=None, customer_id="C1", status="Pending", phase="booked",
            customer_po="PO-1", modified=at,
            lines=(OrderLineState(line_no=1, item_id="I", uom="EA", ordered=Decimal(1),
                                  confirmed=Decimal(0), status="Pending"),))]),
        *mapper.shipments([ShipmentChange(
            shipment_id="SH1", order_id="SO1", customer_id="C1", modified=at,
            lines=(ShipmentLine(line_no=1, item_id="I", quantity=Decimal(1), uom="EA"),))]),
        *mapper.invoices([InvoiceChange(
            invoice_id="INV1", customer_id="C1", currency="EUR", net_amount=Decimal(1),
            total=Decimal(1), due=Decimal(1), status="Open", invoice_date=date(2026, 12, 1),
            modified=at)]),
        *mapper.payments([PaymentChange(
            payment_id="P1", customer_id="C1", currency="EUR", amount=Decimal(1), modified=at,
            applications=(PaymentApplication(invoice_id="INV1", amount=Decimal(1)),))]),
        *mapper.credit([CreditChange(
            customer_id="C1", currency="EUR", credit_limit=None, exposure=Decimal(0),
            on_hold=True, modified=at)]),
    ]  # fmt: skip
    assert {w.sobject for w in writes} == {
        "Order", "ERP_Order_Line__c", "ERP_Shipment__c", "ERP_Invoice__c", "ERP_Payment__c",
        "Account",
    }  # fmt: skip
    for w in writes:
        for name in [*w.values, *w.stamps]:
            table.rule(w.sobject, name)
        for name in w.event or {}:
            table.rule("ERP_Status_Event__e", name)
    order = next(w for w in writes if w.sobject == "Order")
    assert order.key == "801Sbx000000001AAA"
    invoice = next(w for w in writes if w.sobject == "ERP_Invoice__c")
    assert invoice.values["Account__c"] == "001Sbx000000001IAA"
    assert invoice.key == "sage_intacct:DE01:INV1"
