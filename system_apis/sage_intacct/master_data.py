"""``MasterData`` over the Intacct XML gateway: CUSTOMER with its contacts, ITEM, the sales
price lists' entries and the dimension objects.

- A customer's own address, phone and e-mail are its ``DISPLAYCONTACT``; its bill-to and
  ship-to addresses are the contacts its ``BILLTO`` / ``SHIPTO`` name (Intacct has no other
  place for them). Contacts Isthmus creates are named ``"{CUSTOMERID} Bill-to"``,
  ``"{CUSTOMERID} Ship-to"`` and ``"{First Last} ({CUSTOMERID})"`` — contact names are unique
  company-wide — and a customer's contact persons are the contacts named ``"… ({CUSTOMERID})"``
  besides those (the convention the seed data follows too).
- A new customer and all its contacts go in one request with ``transaction="true"``: all or
  nothing. A customer id that is taken answers ``CustomerExistsError``.
- Tax id ``TAXID``, terms ``TERMNAME``, price list ``PRICELIST``.
- Items: ``ITEM`` by ``WHENMODIFIED`` with the units of their unit group (``UOMDETAIL``); the
  sales unit is ``UOM.SOUOMDETAIL.UNIT``.
- Prices: the list's ``SOPRICELISTENTRY`` records of value type ``Actual`` for items (the
  others adjust a price rather than state one), with ``DATEFROM``/``DATETO`` and quantity
  bands ``QTYLIMITMIN``/``QTYLIMITMAX`` in the item's base unit.
- Dimensions: ``DEPARTMENT``, ``LOCATION``, ``CLASS``, ``PROJECT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement

import msgspec

from system_apis.contract import CallContext, UomConversion, Vendor
from system_apis.errors import NotFoundError
from system_apis.master_data import (
    ContactPerson,
    CustomerExistsError,
    CustomerMaster,
    CustomerUpdate,
    DimensionValue,
    ItemMaster,
    NewCustomer,
    PartyAddress,
    PostalAddress,
    PriceListEntry,
)
from system_apis.sage_intacct.adapter import IntacctAdapter
from system_apis.sage_intacct.changes import intacct_timestamp, parse_timestamp
from system_apis.sage_intacct.errors import IntacctError, IntacctNotFoundError
from system_apis.sage_intacct.pricing import parse_date, parse_decimal
from system_apis.sage_intacct.wire import Record, quote

__all__ = ["IntacctMasterData"]

_CUSTOMER = (
    "CUSTOMERID", "NAME", "STATUS", "CURRENCY", "TAXID", "TERMNAME", "PRICELIST", "CREDITLIMIT",
    "ONHOLD", "WHENMODIFIED", "DISPLAYCONTACT.CONTACTNAME", "DISPLAYCONTACT.PHONE1",
    "DISPLAYCONTACT.EMAIL1", "BILLTO.CONTACTNAME", "SHIPTO.CONTACTNAME",
    *(f"DISPLAYCONTACT.MAILADDRESS.{f}" for f in ("ADDRESS1", "ADDRESS2", "ADDRESS3", "CITY",
                                                  "STATE", "ZIP", "COUNTRYCODE")),
)  # fmt: skip
_CONTACT = (
    "CONTACTNAME", "PRINTAS", "COMPANYNAME", "FIRSTNAME", "LASTNAME", "PHONE1", "EMAIL1",
    "STATUS", "WHENMODIFIED", "MAILADDRESS.ADDRESS1", "MAILADDRESS.ADDRESS2",
    "MAILADDRESS.ADDRESS3", "MAILADDRESS.CITY", "MAILADDRESS.STATE", "MAILADDRESS.ZIP",
    "MAILADDRESS.COUNTRYCODE",
)  # fmt: skip
_ITEM = (
    "ITEMID", "NAME", "STATUS", "ITEMTYPE", "PRODUCTLINEID", "EXTENDED_DESCRIPTION",
    "UOMGRPKEY", "BASEUOM", "UOM.SOUOMDETAIL.UNIT", "WHENMODIFIED",
)  # fmt: skip
_ENTRY = ("PRICELISTID", "ITEMID", "DATEFROM", "DATETO", "QTYLIMITMIN", "QTYLIMITMAX", "VALUE",
          "VALUETYPE", "CURRENCY", "STATUS")  # fmt: skip
_DIMENSIONS = (
    ("department", "DEPARTMENT", "DEPARTMENTID", "TITLE"),
    ("location", "LOCATION", "LOCATIONID", "NAME"),
    ("class", "CLASS", "CLASSID", "NAME"),
    ("project", "PROJECT", "PROJECTID", "NAME"),
)
_BILL_TO, _SHIP_TO = "Bill-to", "Ship-to"


def _add(parent: Element, tag: str, text: str | None) -> None:
    if text is not None and text != "":
        SubElement(parent, tag).text = text


def _mail(parent: Element, address: PostalAddress) -> None:
    mail = SubElement(parent, "MAILADDRESS")
    for i, line in enumerate(address.street[:3], start=1):
        _add(mail, f"ADDRESS{i}", line)
    _add(mail, "CITY", address.city)
    _add(mail, "STATE", address.state)
    _add(mail, "ZIP", address.postal_code)
    _add(mail, "COUNTRYCODE", address.country)


def _address_of(record: Record, prefix: str) -> PostalAddress:
    street = tuple(v for i in (1, 2, 3) if (v := record.get(f"{prefix}MAILADDRESS.ADDRESS{i}", "")))
    return PostalAddress(
        street=street,
        city=record.get(f"{prefix}MAILADDRESS.CITY") or None,
        state=record.get(f"{prefix}MAILADDRESS.STATE") or None,
        postal_code=record.get(f"{prefix}MAILADDRESS.ZIP") or None,
        country=record.get(f"{prefix}MAILADDRESS.COUNTRYCODE") or None,
    )


def _address_contact_name(customer_id: str, role: str) -> str:
    return f"{customer_id} {_BILL_TO if role == 'bill_to' else _SHIP_TO}"


def _person_contact_name(customer_id: str, contact: ContactPerson) -> str:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return f"{name} ({customer_id})"


def _contact_fn(verb: str, name: str, *, print_as: str, company: str | None,
                first: str | None = None, last: str | None = None, phone: str | None = None,
                email: str | None = None, status: str | None = None,
                address: PostalAddress | None = None) -> Element:  # fmt: skip
    fn = Element(verb)
    body = SubElement(fn, "CONTACT")
    _add(body, "CONTACTNAME", name)
    _add(body, "PRINTAS", print_as)
    _add(body, "COMPANYNAME", company)
    _add(body, "FIRSTNAME", first)
    _add(body, "LASTNAME", last)
    _add(body, "PHONE1", phone)
    _add(body, "EMAIL1", email)
    _add(body, "STATUS", status)
    if address is not None:
        _mail(body, address)
    return fn


class IntacctMasterData:
    """``system_apis.master_data.MasterData`` for one Intacct company (``ctx.company`` =
    the entity)."""

    def __init__(self, adapter: IntacctAdapter) -> None:
        self.adapter = adapter
        self.client = adapter.client

    @property
    def vendor(self) -> Vendor:
        return "sage_intacct"

    async def _read(
        self, ctx: CallContext, obj: str, fields: tuple[str, ...], query: str
    ) -> list[Record]:
        return await self.client.read_by_query(ctx, obj, fields, query, pagesize=1000)

    # -- customers -----------------------------------------------------------------------

    def _customer(
        self,
        record: Record,
        contacts: Iterable[Record] = (),
        parties: dict[str, Record] | None = None,
    ) -> CustomerMaster:
        parties = parties or {}
        addresses = []
        for role, field in (("bill_to", "BILLTO.CONTACTNAME"), ("ship_to", "SHIPTO.CONTACTNAME")):
            name = record.get(field, "")
            party = parties.get(name)
            if name and party is not None and name != record.get("DISPLAYCONTACT.CONTACTNAME"):
                addresses.append(
                    PartyAddress(
                        role=role,  # type: ignore[arg-type]
                        address_id=name,
                        name=party.get("PRINTAS") or None,
                        address=_address_of(party, ""),
                        modified=parse_timestamp(party.get("WHENMODIFIED", "")),
                    )
                )
        return CustomerMaster(
            customer_id=record["CUSTOMERID"],
            name=record.get("NAME", ""),
            status="inactive" if record.get("STATUS") == "inactive" else "active",
            currency=record.get("CURRENCY") or None,
            tax_id=record.get("TAXID") or None,
            terms=record.get("TERMNAME") or None,
            price_list=record.get("PRICELIST") or None,
            phone=record.get("DISPLAYCONTACT.PHONE1") or None,
            email=record.get("DISPLAYCONTACT.EMAIL1") or None,
            address=_address_of(record, "DISPLAYCONTACT."),
            addresses=tuple(addresses),
            contacts=tuple(_person(c) for c in contacts),
            credit_limit=parse_decimal(record.get("CREDITLIMIT", "")),
            on_hold=record.get("ONHOLD", "").lower() == "true",
            modified=parse_timestamp(record.get("WHENMODIFIED", "")),
            source=self.adapter._source,
            as_of=datetime.now(UTC),
        )

    async def find_customers(
        self, ctx: CallContext, *, tax_id: str | None = None, postal_code: str | None = None
    ) -> tuple[CustomerMaster, ...]:
        conditions = []
        if tax_id:
            conditions.append(f"TAXID = {quote(tax_id)}")
        if postal_code:
            conditions.append(f"DISPLAYCONTACT.MAILADDRESS.ZIP = {quote(postal_code)}")
        if not conditions:
            return ()
        rows = await self._read(ctx, "CUSTOMER", _CUSTOMER, " OR ".join(conditions))
        return tuple(self._customer(r) for r in rows)

    async def get_customer(self, ctx: CallContext, customer_id: str) -> CustomerMaster:
        rows = await self._read(ctx, "CUSTOMER", _CUSTOMER, f"CUSTOMERID = {quote(customer_id)}")
        if not rows:
            raise IntacctNotFoundError(f"customer {customer_id!r} not found in Intacct")
        record = rows[0]
        contacts = await self._read(
            ctx, "CONTACT", _CONTACT, f"CONTACTNAME LIKE {quote(f'%({customer_id})')}"
        )
        names = [record.get(f) for f in ("BILLTO.CONTACTNAME", "SHIPTO.CONTACTNAME")]
        wanted = sorted({n for n in names if n})
        parties = (
            await self._read(
                ctx,
                "CONTACT",
                _CONTACT,
                "CONTACTNAME IN (" + ", ".join(quote(n) for n in wanted) + ")",
            )
            if wanted
            else []
        )
        skip = {record.get("DISPLAYCONTACT.CONTACTNAME"), *wanted}
        persons = [c for c in contacts if c.get("CONTACTNAME") not in skip]
        return self._customer(record, persons, {p["CONTACTNAME"]: p for p in parties})

    async def create_customer(self, ctx: CallContext, customer: NewCustomer) -> CustomerMaster:
        try:
            await self.get_customer(ctx, customer.customer_id)
        except NotFoundError:
            pass
        else:
            raise CustomerExistsError(
                f"customer {customer.customer_id!r} already exists in Intacct",
                vendor="sage_intacct", code="BL34000061", field="CUSTOMERID",
            )  # fmt: skip
        fns: list[Element] = []
        roles: dict[str, str] = {}
        for address in customer.addresses:
            name = address.address_id or _address_contact_name(customer.customer_id, address.role)
            roles["BILLTO" if address.role == "bill_to" else "SHIPTO"] = name
            fns.append(
                _contact_fn(
                    "create",
                    name,
                    print_as=address.name or customer.name,
                    company=address.name or customer.name,
                    address=address.address,
                )
            )
        persons = []
        for contact in customer.contacts:
            name = contact.contact_id or _person_contact_name(customer.customer_id, contact)
            persons.append(name)
            fns.append(self._person_fn("create", name, contact, company=customer.name))
        fn = Element("create")
        body = SubElement(fn, "CUSTOMER")
        _add(body, "CUSTOMERID", customer.customer_id)
        _add(body, "NAME", customer.name)
        display = SubElement(body, "DISPLAYCONTACT")
        _add(display, "PRINTAS", customer.name)
        _add(display, "COMPANYNAME", customer.name)
        _add(display, "PHONE1", customer.phone)
        _add(display, "EMAIL1", customer.email)
        _mail(display, customer.address)
        _add(body, "STATUS", "active")
        _add(body, "TERMNAME", customer.terms)
        _add(body, "TAXID", customer.tax_id)
        _add(body, "CURRENCY", customer.currency)
        for tag in ("BILLTO", "SHIPTO"):
            if tag in roles:
                _add(SubElement(body, tag), "CONTACTNAME", roles[tag])
        listed = [("Billing Contact", roles["BILLTO"])] if "BILLTO" in roles else []
        listed += [("Shipping Contact", roles["SHIPTO"])] if "SHIPTO" in roles else []
        listed += [("Contact", name) for name in persons]
        for category, name in listed:
            entry = SubElement(body, "CONTACT_LIST_INFO")
            _add(entry, "CATEGORYNAME", category)
            _add(SubElement(entry, "CONTACT"), "NAME", name)
        _add(body, "PRICELIST", customer.price_list)
        fns.append(fn)
        try:
            await self.client.call_all(ctx, fns, transaction=True)
        except IntacctError as exc:
            if "already exists" in exc.message:
                raise CustomerExistsError(
                    exc.message, vendor="sage_intacct", code=exc.code, field="CUSTOMERID"
                ) from exc
            raise
        return await self.get_customer(ctx, customer.customer_id)

    def _person_fn(
        self, verb: str, name: str, contact: ContactPerson, *, company: str | None
    ) -> Element:
        print_as = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        return _contact_fn(
            verb, name, print_as=print_as or contact.last_name, company=company,
            first=contact.first_name, last=contact.last_name, phone=contact.phone,
            email=contact.email, status=contact.status,
        )  # fmt: skip

    async def update_customer(
        self, ctx: CallContext, customer_id: str, update: CustomerUpdate
    ) -> None:
        fn = Element("update")
        body = SubElement(fn, "CUSTOMER")
        _add(body, "CUSTOMERID", customer_id)
        _add(body, "NAME", update.name)
        if update.phone or update.email or update.address or update.name:
            display = SubElement(body, "DISPLAYCONTACT")
            _add(display, "PRINTAS", update.name)
            _add(display, "COMPANYNAME", update.name)
            _add(display, "PHONE1", update.phone)
            _add(display, "EMAIL1", update.email)
            if update.address is not None:
                _mail(display, update.address)
        _add(body, "STATUS", update.status)
        _add(body, "TERMNAME", update.terms)
        _add(body, "TAXID", update.tax_id)
        _add(body, "PRICELIST", update.price_list)
        await self.client.call(ctx, fn)

    async def _contact_exists(self, ctx: CallContext, name: str) -> bool:
        rows = await self._read(ctx, "CONTACT", ("CONTACTNAME",), f"CONTACTNAME = {quote(name)}")
        return bool(rows)

    async def save_address(
        self, ctx: CallContext, customer_id: str, address: PartyAddress
    ) -> PartyAddress:
        name = address.address_id or _address_contact_name(customer_id, address.role)
        verb = "update" if await self._contact_exists(ctx, name) else "create"
        fns = [
            _contact_fn(
                verb,
                name,
                print_as=address.name or name,
                company=address.name,
                address=address.address,
            )
        ]
        link = Element("update")
        body = SubElement(link, "CUSTOMER")
        _add(body, "CUSTOMERID", customer_id)
        _add(SubElement(body, "BILLTO" if address.role == "bill_to" else "SHIPTO"), "CONTACTNAME",
             name)  # fmt: skip
        fns.append(link)
        await self.client.call_all(ctx, fns, transaction=True)
        return msgspec.structs.replace(address, address_id=name)

    async def save_contact(
        self, ctx: CallContext, customer_id: str, contact: ContactPerson
    ) -> ContactPerson:
        name = contact.contact_id or _person_contact_name(customer_id, contact)
        verb = "update" if await self._contact_exists(ctx, name) else "create"
        await self.client.call(ctx, self._person_fn(verb, name, contact, company=None))
        return msgspec.structs.replace(contact, contact_id=name)

    async def customers_changed(
        self, ctx: CallContext, since: datetime
    ) -> tuple[CustomerMaster, ...]:
        window = f"WHENMODIFIED >= {quote(intacct_timestamp(since))}"
        customers, contacts = await asyncio.gather(
            self._read(
                ctx, "CUSTOMER", ("CUSTOMERID", "BILLTO.CONTACTNAME", "SHIPTO.CONTACTNAME"), window
            ),
            self._read(ctx, "CONTACT", ("CONTACTNAME",), window),
        )
        ids = {c["CUSTOMERID"] for c in customers}
        for contact in contacts:
            name = contact.get("CONTACTNAME", "")
            if name.endswith(")") and " (" in name:
                ids.add(name.rsplit(" (", 1)[1][:-1])
            elif name.endswith((f" {_BILL_TO}", f" {_SHIP_TO}")):
                ids.add(name.rsplit(" ", 1)[0])
        found = []
        for customer_id in sorted(ids):
            try:
                found.append(await self.get_customer(ctx, customer_id))
            except NotFoundError:
                continue  # a contact named like a customer that this entity cannot see
        return tuple(found)

    # -- items and prices ----------------------------------------------------------------

    async def items_changed(
        self, ctx: CallContext, since: datetime | None
    ) -> tuple[ItemMaster, ...]:
        query = f"WHENMODIFIED >= {quote(intacct_timestamp(since))}" if since else ""
        items, details = await asyncio.gather(
            self._read(ctx, "ITEM", _ITEM, query),
            self._read(ctx, "UOMDETAIL", ("GRPKEY", "UNIT", "CONVFACTOR", "ISBASE"), ""),
        )
        groups: dict[str, list[Record]] = {}
        for detail in details:
            groups.setdefault(detail.get("GRPKEY", ""), []).append(detail)
        now = datetime.now(UTC)
        out = []
        for item in items:
            units = groups.get(item.get("UOMGRPKEY", ""), [])
            base = item.get("BASEUOM") or next(
                (u["UNIT"] for u in units if u.get("ISBASE", "").lower() == "true"), "EA"
            )
            conversions = sorted(
                (
                    UomConversion(
                        uom=u["UNIT"],
                        factor=(parse_decimal(u.get("CONVFACTOR", "")) or Decimal(1)).normalize(),
                    )
                    for u in units
                    if u.get("UNIT")
                ),
                key=lambda c: c.factor,
            )
            out.append(
                ItemMaster(
                    item_id=item["ITEMID"],
                    name=item.get("NAME") or item["ITEMID"],
                    description=item.get("EXTENDED_DESCRIPTION") or None,
                    status="inactive" if item.get("STATUS") == "inactive" else "active",
                    base_uom=base,
                    sales_uom=item.get("UOM.SOUOMDETAIL.UNIT") or None,
                    uoms=tuple(conversions),
                    product_line=item.get("PRODUCTLINEID") or None,
                    item_type=item.get("ITEMTYPE") or None,
                    modified=parse_timestamp(item.get("WHENMODIFIED", "")),
                    source=self.adapter._source,
                    as_of=now,
                )
            )
        return tuple(out)

    async def price_list(
        self, ctx: CallContext, price_list: str, currency: str
    ) -> tuple[PriceListEntry, ...]:
        rows, items = await asyncio.gather(
            self._read(ctx, "SOPRICELISTENTRY", _ENTRY, f"PRICELISTID = {quote(price_list)}"),
            self._read(ctx, "ITEM", ("ITEMID", "BASEUOM"), ""),
        )
        base = {i["ITEMID"]: i.get("BASEUOM") or "EA" for i in items}
        entries = []
        for row in rows:
            if (
                row.get("VALUETYPE") != "Actual"
                or not row.get("ITEMID")
                or row.get("STATUS") == "inactive"
                or (row.get("CURRENCY") or currency) != currency
            ):
                continue
            low = parse_decimal(row.get("QTYLIMITMIN", ""))
            high = parse_decimal(row.get("QTYLIMITMAX", ""))
            entries.append(
                PriceListEntry(
                    price_list=price_list,
                    item_id=row["ITEMID"],
                    currency=currency,
                    uom=base.get(row["ITEMID"], "EA"),
                    unit_price=parse_decimal(row.get("VALUE", "")) or Decimal(0),
                    valid_from=parse_date(row.get("DATEFROM", "")),
                    valid_to=parse_date(row.get("DATETO", "")),
                    min_quantity=low if low or high else None,
                    max_quantity=high + 1 if high is not None else None,
                )
            )
        return tuple(entries)

    # -- dimensions ----------------------------------------------------------------------

    async def dimensions(self, ctx: CallContext) -> tuple[DimensionValue, ...]:
        listed = await asyncio.gather(
            *(
                self._read(ctx, obj, (key, name, "STATUS", "PARENTID"), "")
                for _, obj, key, name in _DIMENSIONS
            )
        )
        return tuple(
            DimensionValue(
                kind=kind,  # type: ignore[arg-type]
                code=row[key],
                name=row.get(name) or row[key],
                status="inactive" if row.get("STATUS") == "inactive" else "active",
                parent=row.get("PARENTID") or None,
            )
            for (kind, _, key, name), rows in zip(_DIMENSIONS, listed, strict=True)
            for row in rows
            if row.get(key)
        )


def _person(record: Record) -> ContactPerson:
    return ContactPerson(
        contact_id=record["CONTACTNAME"],
        first_name=record.get("FIRSTNAME") or None,
        last_name=record.get("LASTNAME") or record.get("PRINTAS") or record["CONTACTNAME"],
        email=record.get("EMAIL1") or None,
        phone=record.get("PHONE1") or None,
        status="inactive" if record.get("STATUS") == "inactive" else "active",
        modified=parse_timestamp(record.get("WHENMODIFIED", "")),
    )
