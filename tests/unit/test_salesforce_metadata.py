"""What the adapter writes exists in the metadata a customer deploys (salesforce/)."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from sandbox.salesforce.standard import standard_objects
from system_apis.salesforce.fields import WRITTEN_FIELDS

PROJECT = Path(__file__).resolve().parents[2] / "salesforce"
OBJECTS = PROJECT / "force-app" / "main" / "default" / "objects"
NS = "{http://soap.sforce.com/2006/04/metadata}"
STANDARD = {o.name: o for o in standard_objects()}


def deployed_fields(sobject: str) -> set[str]:
    folder = OBJECTS / sobject
    custom = {p.name.split(".")[0] for p in (folder / "fields").glob("*.field-meta.xml")}
    if sobject in STANDARD:
        return custom | set(STANDARD[sobject].fields)
    if sobject.endswith("__c"):
        return custom | {"Name", "OwnerId", "CurrencyIsoCode"}
    return custom


def test_the_project_is_an_sfdx_source_project() -> None:
    import json

    project = json.loads((PROJECT / "sfdx-project.json").read_text())
    assert project["packageDirectories"] == [{"path": "force-app", "default": True}]
    assert project["sourceApiVersion"] == "62.0"
    for path in OBJECTS.rglob("*-meta.xml"):
        root = SafeET.parse(path).getroot()
        assert root.tag.startswith(NS), path


@pytest.mark.parametrize("sobject", sorted(WRITTEN_FIELDS))
def test_every_field_the_adapter_writes_is_deployed(sobject: str) -> None:
    assert (OBJECTS / sobject).is_dir() or sobject in STANDARD
    missing = WRITTEN_FIELDS[sobject] - deployed_fields(sobject)
    assert missing == set()


def test_upsert_keys_are_unique_external_ids() -> None:
    for sobject, key in [("ERP_Shipment__c", "ERP_Shipment_Id__c"), ("ERP_Invoice__c", "ERP_Invoice_Id__c"),
                         ("ERP_Payment__c", "ERP_Payment_Id__c"), ("Order", "ERP_Order_Number__c")]:  # fmt: skip
        root = SafeET.parse(OBJECTS / sobject / "fields" / f"{key}.field-meta.xml").getroot()
        assert root.findtext(f"{NS}externalId") == "true"
        assert root.findtext(f"{NS}unique") == "true"
