"""Settings of the master data flows (``[master_data]``): reference data refresh, which
Salesforce Accounts become ERP customers and where, the checks that come first, customer
numbering, and the items and price lists that feed Salesforce products and prices."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "AccountCheckSetting",
    "CustomerNumbering",
    "CustomerSettings",
    "EntityRuleSetting",
    "MasterDataSettings",
    "ProductSettings",
]

Entity = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
FieldName = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
]


class EntityRuleSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An Account field whose value names the entity (``values``: field value → entity)."""

    field: FieldName
    values: dict[str, Entity]


class AccountCheckSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A check an Account must pass before it becomes an ERP customer."""

    field: FieldName
    rule: Literal["present", "matches", "equals"] = "present"
    value: str | None = None
    """``equals``: the value the field must hold (e.g. a credit review field = Approved)."""
    pattern: str | None = None
    """``matches``: a regular expression the whole value must match (tax id formats)."""
    countries: list[str] = []
    """Only for accounts billed in these countries (ISO codes); empty: every account."""
    entities: list[Entity] = []
    """Only for these entities; empty: every entity."""
    message: str | None = None


class CustomerNumbering(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """New customer numbers of an entity: ``prefix`` + the next number, zero-padded."""

    prefix: Annotated[str, msgspec.Meta(max_length=8)] = "SF"
    width: Annotated[int, msgspec.Meta(ge=1, le=12)] = 6
    start: Annotated[int, msgspec.Meta(ge=0)] = 1


def _by_country() -> dict[str, str]:
    return {"US": "US01", "CA": "CA01", "DE": "DE01", "GB": "UK01"}


class CustomerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Salesforce Accounts → ERP customers (flows ``salesforce.accounts.{entity}``)."""

    enabled: bool = True
    status_field: FieldName = "ERP_Customer_Status__c"
    request_values: list[str] = msgspec.field(default_factory=lambda: ["Requested"])
    """Accounts whose ``status_field`` holds one of these are to become customers."""
    record_types: list[str] = []
    """If set, only Accounts of these record types (``RecordType.DeveloperName``)."""
    entity_field: FieldName | None = "ERP_Legal_Entity__c"
    """An explicit entity on the Account wins over the rules."""
    entity_rules: list[EntityRuleSetting] = []
    """Then these, in order (a field's value → entity)."""
    entity_by_country: dict[str, Entity] = msgspec.field(default_factory=_by_country)
    """Then the billing country (ISO code) → entity."""
    default_entity: Entity | None = None
    checks: list[AccountCheckSetting] = msgspec.field(
        default_factory=lambda: [
            AccountCheckSetting(
                field="Tax_Id__c",
                countries=["DE", "GB", "FR", "NL", "IT", "ES"],
                message="A VAT registration number is required for customers in Europe",
            ),
            AccountCheckSetting(field="BillingPostalCode"),
        ]
    )
    duplicate_checks: list[Literal["cross_reference", "tax_id", "name_postcode"]] = msgspec.field(
        default_factory=lambda: ["cross_reference", "tax_id", "name_postcode"]
    )
    numbering: dict[Entity, CustomerNumbering] = {}
    """Per entity; entities not listed number ``SF000001``…"""
    m3_templates: dict[str, str] = {}
    """M3 division → template customer (``CUTM``) new customers copy; unset: the sandbox's."""
    lease_s: Annotated[float, msgspec.Meta(ge=5, le=3600)] = 120.0
    """How long a run holds an account it is creating before another may take over."""


class ProductSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """ERP items → Product2 (``{erp}.items.{entity}``) and list prices → price book entries
    and ERP prices (``{erp}.prices.{entity}``)."""

    enabled: bool = True
    item_entities: list[Entity] = msgspec.field(default_factory=lambda: ["US01", "DE01"])
    """One items flow per ERP company is enough: the entities whose items are read."""
    master_order: list[Literal["infor_m3", "sage_intacct"]] = msgspec.field(
        default_factory=lambda: ["infor_m3", "sage_intacct"]
    )
    """A product code cross-referenced in several ERPs takes its attributes from the first."""
    price_lists: dict[Entity, str] = msgspec.field(
        default_factory=lambda: {
            "US01": "LUSD",
            "CA01": "LCAD",
            "DE01": "EUR Standard",
            "UK01": "GBP Standard",
        }
    )
    """Entity → the ERP price list whose prices Salesforce shows (in the entity's currency)."""


class MasterDataSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reference_refresh_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 30.0
    """How often each process re-reads the cross-reference and dimension values from the store
    (only what changed is reloaded): the longest a link made elsewhere takes to be seen."""
    customers: CustomerSettings = msgspec.field(default_factory=CustomerSettings)
    products: ProductSettings = msgspec.field(default_factory=ProductSettings)
    dimensions: bool = True
    """Dimension values flows (``{erp}.dimensions.{entity}``): order lines are checked."""
    m3_dimensions: dict[str, Annotated[int, msgspec.Meta(ge=2, le=7)]] = {}
    """Order-line dimension → M3 accounting dimension; unset: department 2, class 3,
    project 4, location 5."""
