"""Customer rules (entity, checks, duplicate matching) and the three-way merge, no I/O."""

from __future__ import annotations

import pytest

from process_apis.customers import (
    AccountCheck,
    CustomerRules,
    EntityRule,
    merge,
    normalize_name,
    normalize_postcode,
    normalize_tax_id,
)
from process_apis.sync import OwnershipTable

RULES = CustomerRules(
    entity_rules=(EntityRule(field="Sales_Org__c", values={"EMEA-DE": "DE01"}),),
    entity_by_country={"US": "US01", "GB": "UK01"},
    default_entity=None,
    checks=(
        AccountCheck(field="Tax_Id__c", countries=("DE", "GB"), message="VAT number required"),
        AccountCheck(field="Tax_Id__c", rule="matches", pattern=r"GB\d{9}", countries=("GB",)),
        AccountCheck(field="Credit_Review__c", rule="equals", value="Approved", entities=("US01",)),
    ),
)


@pytest.mark.parametrize(
    ("account", "entity"),
    [
        ({"ERP_Legal_Entity__c": "CA01", "BillingCountry": "US"}, "CA01"),
        ({"Sales_Org__c": "EMEA-DE", "BillingCountry": "US"}, "DE01"),
        ({"BillingCountry": "United Kingdom"}, "UK01"),
        ({"BillingCountry": "us"}, "US01"),
        ({"BillingCountry": "France"}, None),
    ],
)
def test_the_entity_comes_from_the_explicit_field_then_rules_then_country(
    account: dict[str, str], entity: str | None
) -> None:
    assert RULES.entity_for(account) == entity


def test_every_failed_check_is_reported_by_its_message() -> None:
    assert RULES.failed_checks({"BillingCountry": "GB", "Tax_Id__c": ""}, "UK01") == [
        "VAT number required",
        "Tax_Id__c '' is not in the expected format",
    ]
    assert RULES.failed_checks({"BillingCountry": "GB", "Tax_Id__c": "GB123456789"}, "UK01") == []
    assert RULES.failed_checks({"BillingCountry": "US", "Credit_Review__c": "Pending"}, "US01") == [
        "Credit_Review__c must be 'Approved' (is 'Pending')"
    ]
    assert RULES.failed_checks({"BillingCountry": "US"}, "CA01") == []


def test_names_postcodes_and_tax_ids_compare_normalised() -> None:
    assert normalize_name("ACME Industrial, Inc.") == normalize_name("Acme  Industrial Inc")
    assert normalize_name("Müller GmbH & Co. KG") == "muller"
    assert normalize_name("Acme Industrial") != normalize_name("Acme Industries")
    assert normalize_postcode("ec1a 1bb") == normalize_postcode("EC1A1BB")
    assert normalize_tax_id("DE 100-007-919") == "DE100007919"


def test_requested_accounts_need_the_state_and_the_record_type_when_configured() -> None:
    typed = CustomerRules(record_types=("Customer",))
    assert typed.requested({"ERP_Customer_Status__c": "Requested",
                            "RecordType": {"DeveloperName": "Customer"}})  # fmt: skip
    assert not typed.requested({"ERP_Customer_Status__c": "Requested",
                                "RecordType": {"DeveloperName": "Partner"}})  # fmt: skip
    assert not RULES.requested({"ERP_Customer_Status__c": "Created"})


TABLE = OwnershipTable.from_file()
FIELDS = ("Name", "Payment_Terms__c", "Tax_Id__c", "Title")


def test_without_a_base_each_master_wins_and_a_blank_first_writer_field_is_filled() -> None:
    result = merge(
        TABLE, "Account",
        salesforce={"Name": "Acme", "Payment_Terms__c": None, "Tax_Id__c": None},
        erp={"Name": "ACME INC", "Payment_Terms__c": "N30", "Tax_Id__c": "DE1"},
        base=None, fields=FIELDS[:3],
    )  # fmt: skip
    assert result.to_erp == {"Name": "Acme"}
    assert result.to_salesforce == {"Payment_Terms__c": "N30", "Tax_Id__c": "DE1"}
    assert result.conflicts == []


def test_an_edit_to_a_field_the_other_side_masters_is_restored_or_kept_by_its_rule() -> None:
    base = {"Name": "Acme", "Payment_Terms__c": "N30", "Tax_Id__c": "DE1"}
    result = merge(
        TABLE, "Account",
        salesforce={"Name": "Acme", "Payment_Terms__c": "N90", "Tax_Id__c": "DE1"},
        erp={"Name": "Acme Renamed", "Payment_Terms__c": "N30", "Tax_Id__c": "DE2"},
        base=base, fields=FIELDS[:3],
    )  # fmt: skip
    assert result.to_erp == {}  # the ERP's edit of Salesforce's field stays (keep)
    assert result.to_salesforce == {"Payment_Terms__c": "N30"}  # Salesforce's edit: restored
    assert {(c.field, c.outcome) for c in result.conflicts} == {
        ("Name", "kept"), ("Payment_Terms__c", "restored"), ("Tax_Id__c", "kept"),
    }  # fmt: skip
    assert result.agreed == {"Name": "Acme", "Payment_Terms__c": "N30", "Tax_Id__c": "DE1"}


def test_a_change_by_the_master_flows_to_the_other_side_without_a_conflict() -> None:
    result = merge(
        TABLE, "Contact",
        salesforce={"Title": "CFO"}, erp={"Title": "Buyer"}, base={"Title": "Buyer"},
        fields=("Title",),
    )  # fmt: skip
    assert (result.to_erp, result.conflicts) == ({"Title": "CFO"}, [])
    kept = merge(
        TABLE, "Contact",
        salesforce={"Title": "CFO"}, erp={"Title": "Director"}, base={"Title": "CFO"},
        fields=("Title",),
    )  # fmt: skip
    assert kept.to_erp == {}
    assert [(c.field, c.outcome) for c in kept.conflicts] == [("Title", "kept")]
