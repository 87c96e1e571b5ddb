"""The standard objects Isthmus touches, with their documented fields.

Field names, types, lengths, createable/updateable, nillability, references and picklist
values follow Salesforce's Object Reference for each object (API 62.0). Fields that need a
feature this org does not have (territories, person accounts, Data.com, contracts, campaigns)
are left out. The org is multi-currency, so every business object carries ``CurrencyIsoCode``.
"""

from __future__ import annotations

from sandbox.salesforce.schema import FieldDef, ObjectDef

__all__ = ["CURRENCIES", "standard_objects"]

CURRENCIES = (
    ("USD", "U.S. Dollar"),
    ("CAD", "Canadian Dollar"),
    ("EUR", "Euro"),
    ("GBP", "British Pound"),
)


def _pick(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


def text(name: str, label: str, length: int, **kw: object) -> FieldDef:
    return FieldDef(name=name, type=kw.pop("type", "string"), label=label, length=length, **kw)


def ro(name: str, label: str, ftype: str, **kw: object) -> FieldDef:
    """A read-only field the system maintains."""
    return FieldDef(name=name, type=ftype, label=label, createable=False, updateable=False, **kw)


def ref(
    name: str, label: str, to: str, rel: str, child: str | None = None, **kw: object
) -> FieldDef:
    return FieldDef(
        name=name, type="reference", label=label, length=18, reference_to=(to,),
        relationship_name=rel, child_relationship=child, **kw,
    )  # fmt: skip


def money(name: str, label: str, precision: int = 18, scale: int = 2, **kw: object) -> FieldDef:
    return FieldDef(name=name, type="currency", label=label, precision=precision, scale=scale, **kw)


def flag(name: str, label: str, default: bool = False, **kw: object) -> FieldDef:
    return FieldDef(
        name=name, type="boolean", label=label, nillable=False, defaulted_on_create=True,
        default_value=default, **kw,
    )  # fmt: skip


def pick(name: str, label: str, values: tuple[tuple[str, str], ...], **kw: object) -> FieldDef:
    kw.setdefault("length", 255)
    return FieldDef(name=name, type="picklist", label=label, picklist=values, **kw)


def system_fields(owner: bool = True) -> list[FieldDef]:
    fields = [
        FieldDef(name="Id", type="id", label="Record ID", length=18, createable=False,
                 updateable=False, nillable=False, id_lookup=True, defaulted_on_create=True),
        ro("IsDeleted", "Deleted", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
    ]  # fmt: skip
    if owner:
        fields.append(
            ref("OwnerId", "Owner ID", "User", "Owner", defaulted_on_create=True, nillable=False)
        )
    fields += [
        pick("CurrencyIsoCode", "Currency ISO Code", CURRENCIES, restricted_picklist=True,
             defaulted_on_create=True, nillable=False, default_picklist="USD", length=3),
        ro("CreatedDate", "Created Date", "datetime", nillable=False, defaulted_on_create=True),
        FieldDef(name="CreatedById", type="reference", label="Created By ID", length=18,
                 reference_to=("User",), relationship_name="CreatedBy", createable=False,
                 updateable=False, nillable=False, defaulted_on_create=True),
        ro("LastModifiedDate", "Last Modified Date", "datetime", nillable=False, defaulted_on_create=True),
        FieldDef(name="LastModifiedById", type="reference", label="Last Modified By ID", length=18,
                 reference_to=("User",), relationship_name="LastModifiedBy", createable=False,
                 updateable=False, nillable=False, defaulted_on_create=True),
        ro("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted_on_create=True),
    ]  # fmt: skip
    return fields


def address(prefix: str, label: str) -> list[FieldDef]:
    return [
        text(f"{prefix}Street", f"{label} Street", 255, type="textarea"),
        text(f"{prefix}City", f"{label} City", 40),
        text(f"{prefix}State", f"{label} State/Province", 80),
        text(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20),
        text(f"{prefix}Country", f"{label} Country", 80),
        FieldDef(name=f"{prefix}Latitude", type="double", label=f"{label} Latitude", precision=18, scale=15),
        FieldDef(name=f"{prefix}Longitude", type="double", label=f"{label} Longitude", precision=18, scale=15),
        pick(f"{prefix}GeocodeAccuracy", f"{label} Geocode Accuracy",
             _pick("Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood",
                   "City", "County", "State", "Unknown"), restricted_picklist=True, length=40),
        ro(f"{prefix}Address", f"{label} Address", "address", filterable=False, sortable=False),
    ]  # fmt: skip


def _obj(
    name: str, label: str, plural: str, prefix: str, fields: list[FieldDef], **kw: object
) -> ObjectDef:
    return ObjectDef(
        name=name, label=label, label_plural=plural, key_prefix=prefix,
        fields={f.name: f for f in fields}, **kw,
    )  # fmt: skip


def _activity() -> list[FieldDef]:
    return [
        ro("LastActivityDate", "Last Activity", "date"),
        ro("LastViewedDate", "Last Viewed Date", "datetime"),
        ro("LastReferencedDate", "Last Referenced Date", "datetime"),
    ]


INDUSTRIES = _pick(
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
LEAD_SOURCES = _pick("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
STAGES = _pick(
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip


def account() -> ObjectDef:
    return _obj("Account", "Account", "Accounts", "001", [
        *system_fields(),
        ro("MasterRecordId", "Master Record ID", "reference", length=18, reference_to=("Account",), relationship_name="MasterRecord"),
        FieldDef(name="Name", type="string", label="Account Name", length=255, nillable=False, required=True, name_field=True),
        pick("Type", "Account Type", _pick("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other")),
        ref("ParentId", "Parent Account ID", "Account", "Parent", "ChildAccounts"),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        text("Phone", "Account Phone", 40, type="phone"),
        text("Fax", "Account Fax", 40, type="phone"),
        text("AccountNumber", "Account Number", 40),
        text("Website", "Website", 255, type="url"),
        ro("PhotoUrl", "Photo URL", "url", length=255),
        text("Sic", "SIC Code", 20),
        pick("Industry", "Industry", INDUSTRIES),
        money("AnnualRevenue", "Annual Revenue", 18, 0),
        FieldDef(name="NumberOfEmployees", type="int", label="Employees", digits=8),
        pick("Ownership", "Ownership", _pick("Public", "Private", "Subsidiary", "Other")),
        text("TickerSymbol", "Ticker Symbol", 20),
        text("Description", "Account Description", 32000, type="textarea"),
        pick("Rating", "Account Rating", _pick("Hot", "Warm", "Cold")),
        text("Site", "Account Site", 80),
        *_activity(),
        text("Jigsaw", "Data.com Key", 20),
        ro("JigsawCompanyId", "Jigsaw Company ID", "string", length=20),
        pick("CleanStatus", "Clean Status", _pick("Matched", "Different", "Acknowledged", "NotFound", "Inactive", "Pending", "SelectMatch", "Skipped"), restricted_picklist=True, length=40),
        pick("AccountSource", "Account Source", LEAD_SOURCES),
        text("SicDesc", "SIC Description", 80),
        text("YearStarted", "Year Started", 4),
    ])  # fmt: skip


def contact() -> ObjectDef:
    return _obj("Contact", "Contact", "Contacts", "003", [
        *system_fields(),
        ro("MasterRecordId", "Master Record ID", "reference", length=18, reference_to=("Contact",), relationship_name="MasterRecord"),
        ref("AccountId", "Account ID", "Account", "Account", "Contacts"),
        FieldDef(name="LastName", type="string", label="Last Name", length=80, nillable=False, required=True),
        text("FirstName", "First Name", 40),
        pick("Salutation", "Salutation", _pick("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")),
        ro("Name", "Full Name", "string", length=121, nillable=False, name_field=True),
        *address("Other", "Other"),
        *address("Mailing", "Mailing"),
        text("Phone", "Business Phone", 40, type="phone"),
        text("Fax", "Business Fax", 40, type="phone"),
        text("MobilePhone", "Mobile Phone", 40, type="phone"),
        text("HomePhone", "Home Phone", 40, type="phone"),
        text("OtherPhone", "Other Phone", 40, type="phone"),
        text("AssistantPhone", "Asst. Phone", 40, type="phone"),
        ref("ReportsToId", "Reports To ID", "Contact", "ReportsTo"),
        text("Email", "Email", 80, type="email", id_lookup=True),
        text("Title", "Title", 128),
        text("Department", "Department", 80),
        text("AssistantName", "Assistant's Name", 40),
        pick("LeadSource", "Lead Source", LEAD_SOURCES),
        FieldDef(name="Birthdate", type="date", label="Birthdate"),
        text("Description", "Contact Description", 32000, type="textarea"),
        flag("HasOptedOutOfEmail", "Email Opt Out"),
        flag("HasOptedOutOfFax", "Fax Opt Out"),
        flag("DoNotCall", "Do Not Call"),
        *_activity(),
        ro("LastCURequestDate", "Last Stay-in-Touch Request Date", "datetime"),
        ro("LastCUUpdateDate", "Last Stay-in-Touch Save Date", "datetime"),
        text("EmailBouncedReason", "Email Bounced Reason", 255),
        FieldDef(name="EmailBouncedDate", type="datetime", label="Email Bounced Date"),
        ro("IsEmailBounced", "Is Email Bounced", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        ro("PhotoUrl", "Photo URL", "url", length=255),
        text("Jigsaw", "Data.com Key", 20),
        ro("JigsawContactId", "Jigsaw Contact ID", "string", length=20),
        pick("CleanStatus", "Clean Status", _pick("Matched", "Different", "Acknowledged", "NotFound", "Inactive", "Pending", "SelectMatch", "Skipped"), restricted_picklist=True, length=40),
    ])  # fmt: skip


def opportunity() -> ObjectDef:
    return _obj("Opportunity", "Opportunity", "Opportunities", "006", [
        *system_fields(),
        ref("AccountId", "Account ID", "Account", "Account", "Opportunities"),
        flag("IsPrivate", "Private"),
        FieldDef(name="Name", type="string", label="Name", length=120, nillable=False, required=True, name_field=True),
        text("Description", "Description", 32000, type="textarea"),
        FieldDef(name="StageName", type="picklist", label="Stage", length=255, picklist=STAGES, nillable=False, required=True),
        money("Amount", "Amount"),
        FieldDef(name="Probability", type="percent", label="Probability (%)", precision=3, scale=0),
        ro("ExpectedRevenue", "Expected Amount", "currency", precision=18, scale=2, calculated=True),
        FieldDef(name="TotalOpportunityQuantity", type="double", label="Quantity", precision=18, scale=2),
        FieldDef(name="CloseDate", type="date", label="Close Date", nillable=False, required=True),
        pick("Type", "Opportunity Type", _pick("Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer")),
        text("NextStep", "Next Step", 255),
        pick("LeadSource", "Lead Source", LEAD_SOURCES),
        ro("IsClosed", "Closed", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        ro("IsWon", "Won", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        FieldDef(name="ForecastCategory", type="picklist", label="Forecast Category", length=40, picklist=_pick("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"), createable=False, updateable=False, nillable=False, defaulted_on_create=True, restricted_picklist=True),
        pick("ForecastCategoryName", "Forecast Category", _pick("Omitted", "Pipeline", "Best Case", "Commit", "Closed"), restricted_picklist=True),
        ro("HasOpportunityLineItem", "Has Line Item", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2", "Opportunities"),
        ref("ContactId", "Contact ID", "Contact", "Contact", "Opportunities"),
        FieldDef(name="SyncedQuoteId", type="reference", label="Quote ID", length=18, reference_to=("Quote",), relationship_name="SyncedQuote", createable=False),
        *_activity(),
        ro("FiscalQuarter", "Fiscal Quarter", "int", digits=11),
        ro("FiscalYear", "Fiscal Year", "int", digits=11),
        ro("Fiscal", "Fiscal Period", "string", length=6),
        ro("LastStageChangeDate", "Last Stage Change Date", "datetime"),
        ro("PushCount", "Push Count", "int", digits=9),
    ])  # fmt: skip


def quote() -> ObjectDef:
    return _obj("Quote", "Quote", "Quotes", "0Q0", [
        *system_fields(owner=False),
        FieldDef(name="Name", type="string", label="Quote Name", length=255, nillable=False, required=True, name_field=True),
        FieldDef(name="OpportunityId", type="reference", label="Opportunity ID", length=18, reference_to=("Opportunity",), relationship_name="Opportunity", child_relationship="Quotes", nillable=False, required=True, updateable=False, cascade_delete=True),
        ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2", "Quotes"),
        ref("ContactId", "Contact ID", "Contact", "Contact", "Quotes"),
        ro("QuoteNumber", "Quote Number", "string", length=30, auto_number=True, nillable=False, defaulted_on_create=True),
        ro("IsSyncing", "Syncing", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        money("ShippingHandling", "Shipping and Handling"),
        money("Tax", "Tax"),
        pick("Status", "Status", _pick("Draft", "Needs Review", "In Review", "Approved", "Rejected", "Presented", "Accepted", "Denied"), default_picklist="Draft", defaulted_on_create=True),
        FieldDef(name="ExpirationDate", type="date", label="Expiration Date"),
        text("Description", "Description", 32000, type="textarea"),
        ro("Subtotal", "Subtotal", "currency", precision=18, scale=2, calculated=True),
        ro("TotalPrice", "Total Price", "currency", precision=18, scale=2, calculated=True),
        ro("LineItemCount", "Line Items", "int", digits=8),
        *address("Billing", "Bill To"),
        *address("Shipping", "Ship To"),
        text("BillingName", "Bill To Name", 255),
        text("ShippingName", "Ship To Name", 255),
        text("Email", "Email", 80, type="email"),
        text("Phone", "Phone", 40, type="phone"),
        text("Fax", "Fax", 40, type="phone"),
        ro("Discount", "Discount", "percent", precision=18, scale=2, calculated=True),
        ro("GrandTotal", "Grand Total", "currency", precision=18, scale=2, calculated=True),
        ro("AccountId", "Account ID", "reference", length=18, reference_to=("Account",), relationship_name="Account"),
        ro("LastViewedDate", "Last Viewed Date", "datetime"),
        ro("LastReferencedDate", "Last Referenced Date", "datetime"),
    ])  # fmt: skip


def order() -> ObjectDef:
    return _obj("Order", "Order", "Orders", "801", [
        *system_fields(),
        FieldDef(name="AccountId", type="reference", label="Account ID", length=18, reference_to=("Account",), relationship_name="Account", child_relationship="Orders"),
        ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2", "Orders"),
        ref("OriginalOrderId", "Original Order ID", "Order", "OriginalOrder"),
        ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity", "Orders"),
        ref("QuoteId", "Quote ID", "Quote", "Quote", "Orders"),
        FieldDef(name="EffectiveDate", type="date", label="Order Start Date", nillable=False, required=True),
        FieldDef(name="EndDate", type="date", label="Order End Date"),
        flag("IsReductionOrder", "Reduction Order", updateable=False),
        FieldDef(name="Status", type="picklist", label="Status", length=40, picklist=_pick("Draft", "Activated"), nillable=False, required=True, restricted_picklist=True),
        text("Description", "Description", 32000, type="textarea"),
        ref("CustomerAuthorizedById", "Customer Authorized By ID", "Contact", "CustomerAuthorizedBy"),
        FieldDef(name="CustomerAuthorizedDate", type="date", label="Customer Authorized Date"),
        ref("CompanyAuthorizedById", "Company Authorized By ID", "User", "CompanyAuthorizedBy"),
        FieldDef(name="CompanyAuthorizedDate", type="date", label="Company Authorized Date"),
        pick("Type", "Order Type", _pick("New", "Renewal", "Add-On")),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        text("Name", "Order Name", 80),
        FieldDef(name="PoDate", type="date", label="PO Date"),
        text("PoNumber", "PO Number", 80),
        text("OrderReferenceNumber", "Order Reference Number", 80),
        ref("BillToContactId", "Bill To Contact ID", "Contact", "BillToContact"),
        ref("ShipToContactId", "Ship To Contact ID", "Contact", "ShipToContact"),
        FieldDef(name="ActivatedDate", type="datetime", label="Activated Date"),
        ref("ActivatedById", "Activated By ID", "User", "ActivatedBy"),
        FieldDef(name="StatusCode", type="picklist", label="Status Category", length=40, picklist=(("Draft", "Draft"), ("Activated", "Activated"), ("Canceled", "Cancelled"), ("Expired", "Expired")), createable=False, updateable=False, nillable=False, defaulted_on_create=True, restricted_picklist=True),
        FieldDef(name="OrderNumber", type="string", label="Order Number", length=30, createable=False, updateable=False, nillable=False, auto_number=True, id_lookup=True, defaulted_on_create=True, name_field=True),
        ro("TotalAmount", "Order Amount", "currency", precision=18, scale=2, calculated=True, nillable=False),
        ro("LastViewedDate", "Last Viewed Date", "datetime"),
        ro("LastReferencedDate", "Last Referenced Date", "datetime"),
    ])  # fmt: skip


def order_item() -> ObjectDef:
    return _obj("OrderItem", "Order Product", "Order Products", "802", [
        *system_fields(owner=False),
        FieldDef(name="Product2Id", type="reference", label="Product ID", length=18, reference_to=("Product2",), relationship_name="Product2", updateable=False),
        FieldDef(name="OrderId", type="reference", label="Order ID", length=18, reference_to=("Order",), relationship_name="Order", child_relationship="OrderItems", nillable=False, required=True, updateable=False, cascade_delete=True),
        FieldDef(name="PricebookEntryId", type="reference", label="Price Book Entry ID", length=18, reference_to=("PricebookEntry",), relationship_name="PricebookEntry", nillable=False, required=True, updateable=False),
        ref("OriginalOrderItemId", "Original Order Item ID", "OrderItem", "OriginalOrderItem", updateable=False),
        ro("AvailableQuantity", "Available Quantity", "double", precision=18, scale=2),
        FieldDef(name="Quantity", type="double", label="Quantity", precision=18, scale=2, nillable=False, required=True),
        FieldDef(name="UnitPrice", type="currency", label="Unit Price", precision=18, scale=2, nillable=False, required=True),
        ro("ListPrice", "List Price", "currency", precision=18, scale=2),
        ro("TotalPrice", "Total Price", "currency", precision=18, scale=2, calculated=True),
        FieldDef(name="ServiceDate", type="date", label="Start Date"),
        FieldDef(name="EndDate", type="date", label="End Date"),
        text("Description", "Line Description", 255),
        FieldDef(name="OrderItemNumber", type="string", label="Order Product Number", length=30, createable=False, updateable=False, nillable=False, auto_number=True, defaulted_on_create=True, name_field=True),
    ])  # fmt: skip


def product2() -> ObjectDef:
    return _obj("Product2", "Product", "Products", "01t", [
        *system_fields(owner=False),
        FieldDef(name="Name", type="string", label="Product Name", length=255, nillable=False, required=True, name_field=True),
        text("ProductCode", "Product Code", 255),
        text("Description", "Product Description", 4000, type="textarea"),
        flag("IsActive", "Active"),
        pick("Family", "Product Family", _pick("None")),
        FieldDef(name="QuantityUnitOfMeasure", type="picklist", label="Quantity Unit Of Measure", length=255, picklist=_pick("Each", "Box", "Pallet", "Case"), default_picklist="Each", defaulted_on_create=True),
        text("StockKeepingUnit", "Product SKU", 180),
        text("DisplayUrl", "Display URL", 1000, type="url"),
        text("ExternalId", "External ID", 255),
        ro("IsArchived", "Archived", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        ro("LastViewedDate", "Last Viewed Date", "datetime"),
        ro("LastReferencedDate", "Last Referenced Date", "datetime"),
    ])  # fmt: skip


def pricebook2() -> ObjectDef:
    return _obj("Pricebook2", "Price Book", "Price Books", "01s", [
        *system_fields(owner=False),
        FieldDef(name="Name", type="string", label="Price Book Name", length=255, nillable=False, required=True, name_field=True),
        flag("IsActive", "Active"),
        ro("IsArchived", "Archived", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        text("Description", "Description", 255),
        ro("IsStandard", "Is Standard Price Book", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
        ro("LastViewedDate", "Last Viewed Date", "datetime"),
        ro("LastReferencedDate", "Last Referenced Date", "datetime"),
    ])  # fmt: skip


def pricebook_entry() -> ObjectDef:
    return _obj("PricebookEntry", "Price Book Entry", "Price Book Entries", "01u", [
        *system_fields(owner=False),
        ro("Name", "Product Name", "string", length=255, name_field=True),
        FieldDef(name="Pricebook2Id", type="reference", label="Price Book ID", length=18, reference_to=("Pricebook2",), relationship_name="Pricebook2", child_relationship="PricebookEntries", nillable=False, required=True, updateable=False),
        FieldDef(name="Product2Id", type="reference", label="Product ID", length=18, reference_to=("Product2",), relationship_name="Product2", child_relationship="PricebookEntries", nillable=False, required=True, updateable=False),
        FieldDef(name="UnitPrice", type="currency", label="List Price", precision=18, scale=2, nillable=False, required=True),
        flag("IsActive", "Active"),
        flag("UseStandardPrice", "Use Standard Price"),
        ro("ProductCode", "Product Code", "string", length=255),
        ro("IsArchived", "Archived", "boolean", nillable=False, defaulted_on_create=True, default_value=False),
    ])  # fmt: skip


def user() -> ObjectDef:
    fields = [f for f in system_fields(owner=False) if f.name != "CurrencyIsoCode"]
    return _obj("User", "User", "Users", "005", [
        *fields,
        FieldDef(name="Username", type="string", label="Username", length=80, nillable=False, required=True, id_lookup=True, unique=True),
        FieldDef(name="LastName", type="string", label="Last Name", length=80, nillable=False, required=True),
        text("FirstName", "First Name", 40),
        ro("Name", "Full Name", "string", length=121, nillable=False, name_field=True),
        FieldDef(name="Alias", type="string", label="Alias", length=8, nillable=False, required=True),
        FieldDef(name="Email", type="email", label="Email", length=128, nillable=False, required=True),
        flag("IsActive", "Active", True),
        pick("DefaultCurrencyIsoCode", "User Currency", CURRENCIES, restricted_picklist=True, length=3),
        FieldDef(name="TimeZoneSidKey", type="picklist", label="Time Zone", length=40, picklist=_pick("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin"), nillable=False, required=True, restricted_picklist=True),
    ], deletable=False)  # fmt: skip


def organization() -> ObjectDef:
    def org_ro(name: str, label: str, ftype: str = "string", **kw: object) -> FieldDef:
        return ro(name, label, ftype, **kw)

    return _obj("Organization", "Organization", "Organizations", "00D", [
        FieldDef(name="Id", type="id", label="Organization ID", length=18, createable=False, updateable=False, nillable=False, id_lookup=True),
        org_ro("Name", "Name", length=80, name_field=True),
        org_ro("IsSandbox", "Is Sandbox", "boolean", nillable=False, default_value=False),
        org_ro("OrganizationType", "Edition", length=40),
        org_ro("InstanceName", "Instance Name", length=5),
        org_ro("DefaultLocaleSidKey", "Locale", length=40),
        org_ro("LanguageLocaleKey", "Language", length=40),
        org_ro("TimeZoneSidKey", "Default Time Zone", length=40),
        org_ro("IsReadOnly", "Is Read Only", "boolean", nillable=False, default_value=False),
        org_ro("CreatedDate", "Created Date", "datetime", nillable=False),
        org_ro("SystemModstamp", "System Modstamp", "datetime", nillable=False),
    ], createable=False, updateable=False, deletable=False)  # fmt: skip


def standard_objects() -> list[ObjectDef]:
    return [
        account(), contact(), opportunity(), quote(), order(), order_item(), product2(),
        pricebook2(), pricebook_entry(), user(), organization(),
    ]  # fmt: skip
