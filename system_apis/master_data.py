"""Master data in the System API contract: customers with their addresses and contacts, items,
price lists and dimension values, read from and written to an ERP in canonical records.

Each ERP adapter package offers a ``MasterData`` over its own client (``sage_intacct`` over
CUSTOMER/CONTACT/ITEM/SOPRICELISTENTRY and the dimension objects, ``infor_m3`` over CRS610MI,
CRS618MI, CMS055MI, MMS200MI, OIS017MI and CRS630MI). The master data flows depend on these
records only.

Writes are keyed so that repeating them is harmless: a customer is created under a number the
caller chose (``NewCustomer.customer_id``) and the create answers ``CustomerExistsError`` when
that number is taken, addresses and contacts are saved under their own ids (created when new,
changed when present).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import msgspec

from system_apis.contract import CallContext, Source, UomConversion, Vendor
from system_apis.errors import BackendRejectedError

__all__ = [
    "AddressRole",
    "ContactPerson",
    "CustomerExistsError",
    "CustomerMaster",
    "CustomerUpdate",
    "DimensionValue",
    "ItemMaster",
    "MasterData",
    "NewCustomer",
    "PartyAddress",
    "PostalAddress",
    "PriceListEntry",
]

AddressRole = Literal["bill_to", "ship_to"]
Status = Literal["active", "inactive"]


class CustomerExistsError(BackendRejectedError):
    """The ERP already holds a customer under the number a create asked for."""


class PostalAddress(msgspec.Struct, frozen=True, kw_only=True):
    street: tuple[str, ...] = ()
    """Address lines (at most three are kept)."""
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2."""


class PartyAddress(msgspec.Struct, frozen=True, kw_only=True):
    """A bill-to or ship-to address of a customer, as the ERP models it (M3: an address of
    type 03 or 01; Intacct: the contact named in the customer's BILLTO / SHIPTO)."""

    role: AddressRole
    address_id: str | None = None
    """The ERP's id of the address (M3 ``ADID``, Intacct ``CONTACTNAME``); None before it exists."""
    name: str | None = None
    address: PostalAddress = PostalAddress()
    modified: datetime | None = None


class ContactPerson(msgspec.Struct, frozen=True, kw_only=True):
    contact_id: str | None = None
    """The ERP's id (M3 ``CNPE``, Intacct ``CONTACTNAME``); None before it exists."""
    first_name: str | None = None
    last_name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    status: Status = "active"
    modified: datetime | None = None


class CustomerMaster(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    name: str
    status: Status
    currency: str | None = None
    tax_id: str | None = None
    terms: str | None = None
    price_list: str | None = None
    phone: str | None = None
    email: str | None = None
    address: PostalAddress = PostalAddress()
    """The customer's own (main) address."""
    addresses: tuple[PartyAddress, ...] = ()
    contacts: tuple[ContactPerson, ...] = ()
    credit_limit: Decimal | None = None
    on_hold: bool = False
    modified: datetime | None = None
    source: Source
    as_of: datetime

    def address_for(self, role: AddressRole) -> PartyAddress | None:
        return next((a for a in self.addresses if a.role == role), None)


class NewCustomer(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    """The number to create the customer under (chosen by the caller: creates are keyed)."""
    name: str
    currency: str
    tax_id: str | None = None
    terms: str | None = None
    price_list: str | None = None
    phone: str | None = None
    email: str | None = None
    address: PostalAddress = PostalAddress()
    addresses: tuple[PartyAddress, ...] = ()
    contacts: tuple[ContactPerson, ...] = ()
    external_ref: str | None = None
    """The Salesforce Account id, kept on the ERP record where the ERP has a place for it."""


class CustomerUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change on an existing customer; None leaves a field as it is."""

    name: str | None = None
    status: Status | None = None
    tax_id: str | None = None
    terms: str | None = None
    price_list: str | None = None
    phone: str | None = None
    email: str | None = None
    address: PostalAddress | None = None


class ItemMaster(msgspec.Struct, frozen=True, kw_only=True):
    """An item with what quoting and ordering need."""

    item_id: str
    name: str
    description: str | None = None
    status: Status
    base_uom: str
    sales_uom: str | None = None
    uoms: tuple[UomConversion, ...] = ()
    product_line: str | None = None
    item_type: str | None = None
    modified: datetime | None = None
    source: Source
    as_of: datetime


class PriceListEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One list price: an item's unit price in a currency, per unit, valid for dates and, with
    quantity breaks, for a band of quantities (in ``uom``)."""

    price_list: str
    item_id: str
    currency: str
    uom: str
    unit_price: Decimal
    valid_from: date | None = None
    valid_to: date | None = None
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    """Exclusive upper bound of the band; None: no upper bound."""

    @property
    def key(self) -> str:
        """Stable identity of the entry within its ERP."""
        start = self.valid_from.isoformat() if self.valid_from else "-"
        band = format(self.min_quantity.normalize(), "f") if self.min_quantity else "0"
        return f"{self.price_list}|{self.item_id}|{self.currency}|{start}|{band}"


class DimensionValue(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["department", "location", "class", "project"]
    code: str
    name: str
    status: Status
    parent: str | None = None


@runtime_checkable
class MasterData(Protocol):
    """Master data of one ERP connection; ``ctx.company`` is the entity / company."""

    @property
    def vendor(self) -> Vendor: ...

    async def find_customers(
        self,
        ctx: CallContext,
        *,
        tax_id: str | None = None,
        postal_code: str | None = None,
    ) -> tuple[CustomerMaster, ...]:
        """Customers carrying this tax id, or with their main address in this postal code
        (candidates for a duplicate check; addresses and contacts are not filled in)."""
        ...

    async def get_customer(self, ctx: CallContext, customer_id: str) -> CustomerMaster:
        """With addresses and contacts. Unknown → ``NotFoundError``."""
        ...

    async def create_customer(self, ctx: CallContext, customer: NewCustomer) -> CustomerMaster:
        """Create the customer with its addresses and contacts. The number is taken →
        ``CustomerExistsError`` (nothing is written)."""
        ...

    async def update_customer(
        self, ctx: CallContext, customer_id: str, update: CustomerUpdate
    ) -> None: ...

    async def save_address(
        self, ctx: CallContext, customer_id: str, address: PartyAddress
    ) -> PartyAddress:
        """Create (no ``address_id``, or one the ERP does not have) or change an address."""
        ...

    async def save_contact(
        self, ctx: CallContext, customer_id: str, contact: ContactPerson
    ) -> ContactPerson:
        """Create or change a contact person of the customer."""
        ...

    async def customers_changed(
        self, ctx: CallContext, since: datetime
    ) -> tuple[CustomerMaster, ...]:
        """Customers whose record, addresses or contacts changed at or after ``since``."""
        ...

    async def items_changed(
        self, ctx: CallContext, since: datetime | None
    ) -> tuple[ItemMaster, ...]:
        """Items changed at or after ``since`` (every item when None)."""
        ...

    async def price_list(
        self, ctx: CallContext, price_list: str, currency: str
    ) -> tuple[PriceListEntry, ...]:
        """Every entry of the price list in the currency, past, current and future."""
        ...

    async def dimensions(self, ctx: CallContext) -> tuple[DimensionValue, ...]:
        """The values order lines may name (active and inactive)."""
        ...
