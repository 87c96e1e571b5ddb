"""The sandbox org's deterministic data, matching ``sandbox/data/xref.json``.

- Accounts 1-22 with the ids in the cross-reference (``001Sbx000000001IAA`` …), each with its
  US01 customer number in ``ERP_Customer_Number__c``, two Contacts and an Opportunity.
- Product2 per product code of the cross-reference (``SKU-0001`` … ``SKU-0160``), active except
  ``SKU-0007`` and ``SKU-0013`` (inactive in the ERPs).
- The standard price book with an entry per product in each currency, and one price book per
  legal entity (``US01 Price Book`` in USD, ``CA01`` CAD, ``DE01`` EUR, ``UK01`` GBP).
- A Quote on each of the first ten Opportunities; for Accounts 1-10 a Draft Order and an
  Activated Order (two lines each) on the US01 price book.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.salesforce.org import Org

__all__ = ["ENTITY_PRICEBOOKS", "INTEGRATION_USERNAME", "seed_org"]

XREF_FILE = Path(__file__).resolve().parents[1] / "data" / "xref.json"
INTEGRATION_USERNAME = "isthmus.integration@sandbox.example.com"
ENTITY_PRICEBOOKS = {"US01": "USD", "CA01": "CAD", "DE01": "EUR", "UK01": "GBP"}
_RATES = {"USD": Decimal(1), "CAD": Decimal("1.35"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
_NAMES = (
    "Acme Industrial", "Birch Supply", "Cobalt Tools", "Delta Fasteners", "Evergreen Parts",
    "Falcon Hydraulics", "Granite Works", "Harbor Marine", "Iron Ridge", "Juniper Electric",
    "Keystone Pumps", "Lakeside Farm", "Maple Fabrication", "Northwind Traders", "Orion Valves",
    "Pioneer Bearings", "Quarry Equipment", "Redwood Motors", "Summit Controls", "Tundra Air",
    "Union Castings", "Vertex Plastics",
)  # fmt: skip
_FIRST = ("Alex", "Sam", "Robin", "Jordan", "Casey", "Morgan", "Taylor", "Jamie")
_LAST = ("Nguyen", "Schmidt", "Okafor", "Larsen", "Moreau", "Silva", "Kowalski", "Tanaka")
_NOUNS = (
    "Hex bolt",
    "Flange nut",
    "Ball valve",
    "Pipe elbow",
    "Pressure gauge",
    "Bearing",
    "Gasket",
    "Coupling",
)
INACTIVE_PRODUCTS = frozenset({"SKU-0007", "SKU-0013"})


def _put(
    org: Org, obj: str, prefix: str, counter: int, values: dict[str, Any], *, when: datetime
) -> str:
    """Insert a seed record with a chosen id, through the org's own derivations."""
    definition = org.schema.objects[obj]
    record: dict[str, Any] = dict.fromkeys(definition.fields)
    for fdef in definition.fields.values():
        if fdef.type == "boolean" and fdef.default_value is not None:
            record[fdef.name] = bool(fdef.default_value)
        elif fdef.default_picklist is not None:
            record[fdef.name] = fdef.default_picklist
    record.update(values)
    record_id = org.ids.reserve(prefix, counter)
    record.update(
        Id=record_id, IsDeleted=False, CreatedDate=when, LastModifiedDate=when, SystemModstamp=when,
        CreatedById=org.user_id, LastModifiedById=org.user_id,
    )  # fmt: skip
    if "OwnerId" in definition.fields:
        record["OwnerId"] = org.user_id
    record.setdefault("CurrencyIsoCode", "USD")
    if record.get("CurrencyIsoCode") is None and "CurrencyIsoCode" in definition.fields:
        record["CurrencyIsoCode"] = "USD"
    org._derive(definition, record, creating=True)
    org.records[obj][record_id] = record
    org._after_write(definition, record)
    return record_id


def seed_org(org: Org, *, today: date, xref_file: Path = XREF_FILE) -> None:
    xref = json.loads(xref_file.read_text(encoding="utf-8"))
    when = datetime.combine(today - timedelta(days=45), datetime.min.time()).replace(
        tzinfo=org.clock().tzinfo
    )
    org.records["Organization"][org.org_id] = {
        "Id": org.org_id, "Name": "Isthmus Sandbox Org", "IsSandbox": True,
        "OrganizationType": "Developer Edition", "InstanceName": "SBX1",
        "DefaultLocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles", "IsReadOnly": False,
        "CreatedDate": when, "SystemModstamp": when,
    }  # fmt: skip
    org.records["User"][org.user_id] = {
        "Id": org.user_id, "IsDeleted": False, "Username": INTEGRATION_USERNAME,
        "FirstName": "Isthmus", "LastName": "Integration", "Name": "Isthmus Integration",
        "Alias": "isthmus", "Email": INTEGRATION_USERNAME, "IsActive": True,
        "DefaultCurrencyIsoCode": "USD", "TimeZoneSidKey": "America/Los_Angeles",
        "CreatedDate": when, "CreatedById": org.user_id, "LastModifiedDate": when,
        "LastModifiedById": org.user_id, "SystemModstamp": when,
    }  # fmt: skip

    products: dict[str, str] = {}
    for n, sku in enumerate(sorted(xref["products"]), start=1):
        products[sku] = _put(org, "Product2", "01t", n, {
            "Name": f"{_NOUNS[n % len(_NOUNS)]} {n:03d}", "ProductCode": sku,
            "IsActive": sku not in INACTIVE_PRODUCTS, "QuantityUnitOfMeasure": "Each",
            "StockKeepingUnit": sku, "Family": "None",
        }, when=when)  # fmt: skip
    standard = _put(
        org,
        "Pricebook2",
        "01s",
        1,
        {
            "Name": "Standard Price Book",
            "IsActive": True,
            "IsStandard": True,
            "Description": "Standard Price Book",
        },
        when=when,
    )
    books = {
        entity: _put(org, "Pricebook2", "01s", i, {"Name": f"{entity} Price Book", "IsActive": True, "Description": f"List prices of {entity} in {currency}"}, when=when)
        for i, (entity, currency) in enumerate(ENTITY_PRICEBOOKS.items(), start=2)
    }  # fmt: skip
    entries: dict[tuple[str, str], str] = {}
    counter = 1
    for n, (sku, product_id) in enumerate(products.items(), start=1):
        base = Decimal(5 + (n * 37) % 200) + Decimal((n * 13) % 100) / 100
        for currency, rate in _RATES.items():
            price = (base * rate).quantize(Decimal("0.01"))
            _put(org, "PricebookEntry", "01u", counter, {
                "Pricebook2Id": standard, "Product2Id": product_id, "UnitPrice": price,
                "IsActive": True, "CurrencyIsoCode": currency,
            }, when=when)  # fmt: skip
            counter += 1
        for entity, currency in ENTITY_PRICEBOOKS.items():
            price = (base * _RATES[currency]).quantize(Decimal("0.01"))
            entries[(entity, sku)] = _put(org, "PricebookEntry", "01u", counter, {
                "Pricebook2Id": books[entity], "Product2Id": product_id, "UnitPrice": price,
                "IsActive": True, "CurrencyIsoCode": currency,
            }, when=when)  # fmt: skip
            counter += 1

    order_counter = quote_counter = item_counter = 1
    skus = sorted(xref["products"])
    for n, account_id in enumerate(sorted(xref["accounts"]), start=1):
        ids = xref["accounts"][account_id]
        counter_of_id = int(account_id[6:15])
        name = _NAMES[(counter_of_id - 1) % len(_NAMES)]
        _put(org, "Account", "001", counter_of_id, {
            "Name": name, "Type": "Customer - Direct", "Industry": "Manufacturing",
            "AccountNumber": ids.get("US01"), "ERP_Customer_Number__c": ids.get("US01"),
            "BillingCity": "Springfield", "BillingCountry": "United States",
            "Phone": f"+1 555 01{counter_of_id:02d}", "CurrencyIsoCode": "USD",
        }, when=when)  # fmt: skip
        assert org.records["Account"].get(account_id), account_id
        contacts = []
        for c in range(2):
            first, last = _FIRST[(n + c) % len(_FIRST)], _LAST[(n * 3 + c) % len(_LAST)]
            contacts.append(_put(org, "Contact", "003", n * 2 - 1 + c, {
                "AccountId": account_id, "FirstName": first, "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}@{name.split()[0].lower()}.example.com",
                "Title": "Purchasing Manager" if c == 0 else "Accounts Payable",
            }, when=when))  # fmt: skip
        opportunity = _put(org, "Opportunity", "006", n, {
            "AccountId": account_id, "Name": f"{name} - Annual supply", "StageName": "Proposal/Price Quote",
            "CloseDate": today + timedelta(days=30 + n), "Amount": Decimal(1000 * n),
            "Pricebook2Id": books["US01"], "ContactId": contacts[0],
        }, when=when)  # fmt: skip
        if n <= 10:
            _put(org, "Quote", "0Q0", quote_counter, {
                "Name": f"{name} - Q{n:03d}", "OpportunityId": opportunity, "Pricebook2Id": books["US01"],
                "ContactId": contacts[0], "Status": "Draft", "ExpirationDate": today + timedelta(days=30),
            }, when=when)  # fmt: skip
            quote_counter += 1
            for status in ("Draft", "Activated"):
                order_id = _put(org, "Order", "801", order_counter, {
                    "AccountId": account_id, "Pricebook2Id": books["US01"], "OpportunityId": opportunity,
                    "EffectiveDate": today - timedelta(days=n), "Status": "Draft",
                    "PoNumber": f"PO-{n:03d}-{order_counter:02d}", "CurrencyIsoCode": "USD",
                    "Name": f"{name} order {order_counter}",
                }, when=when)  # fmt: skip
                order_counter += 1
                for line in range(2):
                    sku = skus[(n * 7 + line * 11 + order_counter) % len(skus)]
                    if sku in INACTIVE_PRODUCTS:
                        sku = skus[0]
                    entry = org.records["PricebookEntry"][entries[("US01", sku)]]
                    _put(org, "OrderItem", "802", item_counter, {
                        "OrderId": order_id, "PricebookEntryId": entry["Id"], "Product2Id": entry["Product2Id"],
                        "Quantity": Decimal(2 + line), "UnitPrice": entry["UnitPrice"],
                    }, when=when)  # fmt: skip
                    item_counter += 1
                if status == "Activated":
                    order = org.records["Order"][order_id]
                    order["Status"] = "Activated"
                    org._derive(org.schema.objects["Order"], order, creating=False)
