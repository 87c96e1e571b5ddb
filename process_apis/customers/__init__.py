"""Salesforce Accounts and Contacts ↔ ERP customers, their addresses and contact persons:
which entity, the checks first, duplicates held for people, creation exactly once, and field
ownership in both directions (``sync``, ``fields``, ``rules``)."""

from process_apis.customers.fields import ACCOUNT_FIELDS, CONTACT_FIELDS, Merge, merge
from process_apis.customers.rules import (
    AccountCheck,
    CustomerRules,
    EntityRule,
    Numbering,
    normalize_name,
    normalize_postcode,
    normalize_tax_id,
)
from process_apis.customers.sync import (
    ONBOARDING_FLOW,
    AccountsRunner,
    CustomersRunner,
    CustomerSync,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "CONTACT_FIELDS",
    "ONBOARDING_FLOW",
    "AccountCheck",
    "AccountsRunner",
    "CustomerRules",
    "CustomerSync",
    "CustomersRunner",
    "EntityRule",
    "Merge",
    "Numbering",
    "merge",
    "normalize_name",
    "normalize_postcode",
    "normalize_tax_id",
]
