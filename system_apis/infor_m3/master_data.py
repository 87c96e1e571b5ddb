"""``MasterData`` over M3 MI: the customer master with its addresses and contact persons,
items, price lists and accounting identities.

- Customers: ``CRS610MI`` — ``Add`` (from a template customer, ``CUTM``, per division),
  ``GetBasicData`` / ``GetFinancial`` (``VRNO``) / ``GetOrderInfo`` (``TEPY``, ``PLTB``), the
  matching ``Chg…`` transactions, ``SearchCustomer`` (``VRNO:…``, ``PONO:…``) for duplicate
  candidates, ``LstByNumber`` with ``LMTS`` for changes.
- Addresses: M3's own customer addresses (``OIS002``, through ``CRS610MI`` ``AddAddress`` /
  ``ChgAddress`` / ``LstAddresses``): address type ``03`` is the invoice (bill-to) address,
  ``01`` the delivery (ship-to) address; the customer's main address stays on the customer.
- Contacts: ``CRS618MI`` contact persons working for the customer (``ERTP`` 1, ``EMRE`` = the
  customer number), connected to it with ``CMS055MI/AddConnection``; listed by ``Lst``
  (``LMDT``: changes are seen per day, so a day's changes are read again — harmless).
- Items: ``MMS200MI/LstItmByChgDate`` + ``MMS015MI/Lst`` (alternate units, ``DMCF`` 1 multiply).
- Prices: ``OIS017MI`` — ``LstPriceList`` (the list's validity periods), ``LstBasePrice``
  (per item, per ``SPUN``) and ``LstGradSlsPrc`` (quantity breaks, ``QTYL``).
- Dimensions: ``CRS630MI/LstAccountID`` per accounting dimension (``AITP``) mapped to the
  names order lines use (``department`` → 2 by default); ``LCCD`` 1 is blocked (inactive).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from system_apis.contract import CallContext, Source, Vendor
from system_apis.infor_m3.adapter import M3Adapter
from system_apis.infor_m3.client import Record
from system_apis.infor_m3.errors import M3NotFoundError, M3RejectedError
from system_apis.master_data import (
    AddressRole,
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

__all__ = ["DEFAULT_DIMENSIONS", "M3MasterData"]

DEFAULT_DIMENSIONS: dict[str, int] = {"department": 2, "class": 3, "project": 4, "location": 5}
"""Order-line dimension → M3 accounting dimension (``AITP``)."""
_ADRT: dict[AddressRole, str] = {"bill_to": "3", "ship_to": "1"}
_ROLE = {"3": "bill_to", "1": "ship_to"}
_INACTIVE = frozenset({"90"})


def _dec(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _ymd(text: str | None) -> date | None:
    if not text or not text.strip() or text.strip() == "0":
        return None
    try:
        return datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError:
        return None


def _lmts(value: datetime) -> str:
    at = value.astimezone(UTC)
    return at.strftime("%Y%m%d%H%M%S") + f"{at.microsecond // 1000:03d}"


def _street(rec: Record) -> tuple[str, ...]:
    return tuple(rec[f"CUA{i}"] for i in range(1, 5) if rec.get(f"CUA{i}"))


def _address_inputs(address: PostalAddress) -> dict[str, str | None]:
    lines = list(address.street[:4])
    return {
        **{f"CUA{i}": line for i, line in enumerate(lines, start=1)},
        "TOWN": address.city,
        "ECAR": address.state,
        "PONO": address.postal_code,
        "CSCD": address.country,
    }


def _address_id(role: AddressRole) -> str:
    """A new address's number (``ADID``, 6 characters): one bill-to and one ship-to each."""
    return "BILL" if role == "bill_to" else "SHIP"


class M3MasterData:
    """``system_apis.master_data.MasterData`` for one M3 tenant; ``ctx.company`` is the CONO
    and ``ctx.division`` the DIVI."""

    def __init__(
        self,
        adapter: M3Adapter,
        *,
        templates: Mapping[str, str] | None = None,
        dimensions: Mapping[str, int] | None = None,
    ) -> None:
        self.adapter = adapter
        self.mi = adapter.mi
        self.templates = dict(templates or {"US1": "TUSD", "CA1": "TCAD"})
        """Division → template customer (``CUTM``) new customers are created from."""
        self.dimension_map = dict(dimensions or DEFAULT_DIMENSIONS)

    @property
    def vendor(self) -> Vendor:
        return "infor_m3"

    def _source(self, ctx: CallContext) -> Source:
        return Source(vendor="infor_m3", system=f"{self.adapter._ionapi.ti}/{ctx.company}")

    async def _list(
        self, ctx: CallContext, program: str, transaction: str, inputs: dict[str, str | None]
    ) -> list[Record]:
        try:
            return await self.mi.execute(ctx, program, transaction, inputs, maxrecs=0)
        except M3NotFoundError:
            return []

    # -- customers -----------------------------------------------------------------------

    async def find_customers(
        self, ctx: CallContext, *, tax_id: str | None = None, postal_code: str | None = None
    ) -> tuple[CustomerMaster, ...]:
        terms = []
        if tax_id:
            terms.append(f'VRNO:"{tax_id}"')
        if postal_code:
            terms.append(f'PONO:"{postal_code}"')
        found: dict[str, Record] = {}
        for term in terms:
            for rec in await self._list(ctx, "CRS610MI", "SearchCustomer", {"SQRY": term}):
                found.setdefault(rec["CUNO"], rec)
        customers = await asyncio.gather(
            *(self._customer(ctx, cuno, with_parties=False) for cuno in sorted(found))
        )
        return tuple(customers)

    async def get_customer(self, ctx: CallContext, customer_id: str) -> CustomerMaster:
        return await self._customer(ctx, customer_id, with_parties=True)

    async def _customer(
        self, ctx: CallContext, customer_id: str, *, with_parties: bool
    ) -> CustomerMaster:
        key: dict[str, str | None] = {"CUNO": customer_id}
        basic, financial, order_info = await asyncio.gather(
            self.adapter._one(ctx, "CRS610MI", "GetBasicData", key),
            self.adapter._one(ctx, "CRS610MI", "GetFinancial", {**key, "DIVI": ctx.division}),
            self.adapter._one(ctx, "CRS610MI", "GetOrderInfo", key),
        )
        addresses: tuple[PartyAddress, ...] = ()
        contacts: tuple[ContactPerson, ...] = ()
        if with_parties:
            addresses, contacts = await asyncio.gather(
                self._addresses(ctx, customer_id), self._contacts(ctx, customer_id)
            )
        limit = _dec(financial.get("CRL3"))
        return CustomerMaster(
            customer_id=basic.get("CUNO") or customer_id,
            name=basic.get("CUNM", ""),
            status="inactive" if basic.get("STAT") in _INACTIVE else "active",
            currency=financial.get("CUCD") or None,
            tax_id=financial.get("VRNO") or None,
            terms=order_info.get("TEPY") or None,
            price_list=order_info.get("PLTB") or None,
            phone=basic.get("PHNO") or None,
            email=basic.get("MAIL") or None,
            address=PostalAddress(
                street=_street(basic),
                city=basic.get("TOWN") or None,
                state=basic.get("ECAR") or None,
                postal_code=basic.get("PONO") or None,
                country=basic.get("CSCD") or None,
            ),
            addresses=addresses,
            contacts=contacts,
            credit_limit=limit,
            on_hold=(financial.get("BLCD") or "0") != "0",
            modified=_changed(basic.get("LMDT")),
            source=self._source(ctx),
            as_of=datetime.now(UTC),
        )

    async def _addresses(self, ctx: CallContext, customer_id: str) -> tuple[PartyAddress, ...]:
        records = await self._list(ctx, "CRS610MI", "LstAddresses", {"CUNO": customer_id})
        out = []
        for rec in records:
            role = _ROLE.get((rec.get("ADRT") or "").lstrip("0"))
            if role is None:
                continue
            out.append(
                PartyAddress(
                    role=role,  # type: ignore[arg-type]
                    address_id=rec.get("ADID") or None,
                    name=rec.get("CUNM") or None,
                    address=PostalAddress(
                        street=_street(rec),
                        city=rec.get("TOWN") or None,
                        state=rec.get("ECAR") or None,
                        postal_code=rec.get("PONO") or None,
                        country=rec.get("CSCD") or None,
                    ),
                )
            )
        return tuple(out)

    async def _contacts(self, ctx: CallContext, customer_id: str) -> tuple[ContactPerson, ...]:
        connected = await self._list(ctx, "CMS055MI", "LstByCustomer", {"CUNO": customer_id})
        names = sorted({rec["CNPE"] for rec in connected if rec.get("CNPE")})
        found = await asyncio.gather(*(self._contact(ctx, cnpe) for cnpe in names))
        return tuple(c for c in found if c is not None)

    async def _contact(self, ctx: CallContext, cnpe: str) -> ContactPerson | None:
        try:
            rec = await self.adapter._one(ctx, "CRS618MI", "Get", {"CNPE": cnpe})
        except M3NotFoundError:
            return None
        return _contact_of(rec)

    async def create_customer(self, ctx: CallContext, customer: NewCustomer) -> CustomerMaster:
        template = self.templates.get(ctx.division or "")
        if template is None:
            raise M3RejectedError(
                f"No customer template is configured for division {ctx.division}",
                code="CONFIG", field="CUTM",
            )  # fmt: skip
        inputs: dict[str, str | None] = {
            "CUTM": template,
            "CUNO": customer.customer_id,
            "CUNM": customer.name,
            "PHNO": customer.phone,
            "MAIL": customer.email,
            "YRE2": customer.external_ref,
            "STAT": "20",
            **_address_inputs(customer.address),
        }
        try:
            await self.mi.execute(ctx, "CRS610MI", "Add", inputs, maxrecs=1)
        except M3RejectedError as exc:
            if exc.code and exc.code.endswith("0201") and exc.field == "CUNO":
                raise CustomerExistsError(
                    exc.message, vendor="infor_m3", code=exc.code, field="CUNO"
                ) from exc
            raise
        key: dict[str, str | None] = {"CUNO": customer.customer_id}
        await self.mi.execute(
            ctx, "CRS610MI", "ChgFinancial",
            {**key, "DIVI": ctx.division, "VRNO": customer.tax_id, "CUCD": customer.currency},
        )  # fmt: skip
        if customer.terms or customer.price_list:
            await self.mi.execute(
                ctx, "CRS610MI", "ChgOrderInfo",
                {**key, "TEPY": customer.terms, "PLTB": customer.price_list},
            )  # fmt: skip
        for address in customer.addresses:
            await self.save_address(ctx, customer.customer_id, address)
        for contact in customer.contacts:
            await self.save_contact(ctx, customer.customer_id, contact)
        return await self.get_customer(ctx, customer.customer_id)

    async def update_customer(
        self, ctx: CallContext, customer_id: str, update: CustomerUpdate
    ) -> None:
        key: dict[str, str | None] = {"CUNO": customer_id}
        basic: dict[str, str | None] = {
            "CUNM": update.name,
            "PHNO": update.phone,
            "MAIL": update.email,
            "STAT": {"active": "20", "inactive": "90"}.get(update.status or ""),
            **(_address_inputs(update.address) if update.address else {}),
        }
        if any(basic.values()):
            await self.mi.execute(ctx, "CRS610MI", "ChgBasicData", {**key, **basic})
        if update.tax_id:
            await self.mi.execute(
                ctx, "CRS610MI", "ChgFinancial",
                {**key, "DIVI": ctx.division, "VRNO": update.tax_id},
            )  # fmt: skip
        if update.terms or update.price_list:
            await self.mi.execute(
                ctx, "CRS610MI", "ChgOrderInfo",
                {**key, "TEPY": update.terms, "PLTB": update.price_list},
            )  # fmt: skip

    async def save_address(
        self, ctx: CallContext, customer_id: str, address: PartyAddress
    ) -> PartyAddress:
        adrt = _ADRT[address.role]
        adid = address.address_id or _address_id(address.role)
        inputs: dict[str, str | None] = {
            "CUNO": customer_id, "ADRT": adrt, "ADID": adid, "CUNM": address.name,
            **_address_inputs(address.address),
        }  # fmt: skip
        try:
            await self.adapter._one(
                ctx, "CRS610MI", "GetAddress", {"CUNO": customer_id, "ADRT": adrt, "ADID": adid}
            )
        except M3NotFoundError:
            await self.mi.execute(ctx, "CRS610MI", "AddAddress", inputs)
        else:
            await self.mi.execute(ctx, "CRS610MI", "ChgAddress", inputs)
        return msgspec.structs.replace(address, address_id=adid)

    async def save_contact(
        self, ctx: CallContext, customer_id: str, contact: ContactPerson
    ) -> ContactPerson:
        cnpe = contact.contact_id or _contact_id(customer_id, contact)
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        inputs: dict[str, str | None] = {
            "CNPE": cnpe,
            "TX50": name[:50],
            "NAMF": contact.first_name,
            "NAMS": contact.last_name,
            "JTIT": contact.title,
            "EMAL": contact.email,
            "PHNO": contact.phone,
            "STAT": "20" if contact.status == "active" else "90",
            "ERTP": "1",
            "EMRE": customer_id,
        }
        existing = await self._contact(ctx, cnpe)
        if existing is None:
            await self.mi.execute(ctx, "CRS618MI", "Add", inputs)
            await self.mi.execute(
                ctx, "CMS055MI", "AddConnection", {"CUNO": customer_id, "CNPE": cnpe}
            )
        else:
            await self.mi.execute(ctx, "CRS618MI", "Upd", inputs)
        return msgspec.structs.replace(contact, contact_id=cnpe)

    async def customers_changed(
        self, ctx: CallContext, since: datetime
    ) -> tuple[CustomerMaster, ...]:
        changed = {
            rec["CUNO"]
            for rec in await self._list(ctx, "CRS610MI", "LstByNumber", {"LMTS": _lmts(since)})
            if rec.get("CUNO")
        }
        day = since.astimezone(UTC).date()
        for rec in await self._list(ctx, "CRS618MI", "Lst", {}):
            changed_on = _ymd(rec.get("LMDT"))
            if rec.get("ERTP") == "1" and rec.get("EMRE") and changed_on and changed_on >= day:
                changed.add(rec["EMRE"])
        customers = await asyncio.gather(*(self.get_customer(ctx, c) for c in sorted(changed)))
        return tuple(customers)

    # -- items and prices ----------------------------------------------------------------

    async def items_changed(
        self, ctx: CallContext, since: datetime | None
    ) -> tuple[ItemMaster, ...]:
        inputs: dict[str, str | None] = {}
        if since is not None:
            inputs["FLMD"] = since.astimezone(UTC).strftime("%Y%m%d")
        records = await self._list(ctx, "MMS200MI", "LstItmByChgDate", inputs)
        units = await asyncio.gather(
            *(self.adapter._alternates(ctx, rec["ITNO"]) for rec in records)
        )
        now = datetime.now(UTC)
        return tuple(
            ItemMaster(
                item_id=rec["ITNO"],
                name=rec.get("ITDS") or rec["ITNO"],
                description=rec.get("FUDS") or None,
                status="active" if "20" <= rec.get("STAT", "") < "90" else "inactive",
                base_uom=rec.get("UNMS", ""),
                sales_uom=rec.get("SPUN") or None,
                uoms=alternates,
                product_line=rec.get("ITGR") or None,
                item_type=rec.get("ITTY") or None,
                modified=_changed(rec.get("LMDT")),
                source=self._source(ctx),
                as_of=now,
            )
            for rec, alternates in zip(records, units, strict=True)
        )

    async def price_list(
        self, ctx: CallContext, price_list: str, currency: str
    ) -> tuple[PriceListEntry, ...]:
        heads = await self._list(
            ctx, "OIS017MI", "LstPriceList", {"PRRF": price_list, "CUCD": currency}
        )
        entries: list[PriceListEntry] = []
        for head in heads:
            key: dict[str, str | None] = {
                "PRRF": price_list, "CUCD": currency, "FVDT": head.get("FVDT"),
            }  # fmt: skip
            valid_from, valid_to = _ymd(head.get("FVDT")), _ymd(head.get("LVDT"))
            bases = await self._list(ctx, "OIS017MI", "LstBasePrice", key)
            breaks = await asyncio.gather(
                *(
                    self._list(ctx, "OIS017MI", "LstGradSlsPrc", {**key, "ITNO": b["ITNO"]})
                    for b in bases
                )
            )
            for base, grads in zip(bases, breaks, strict=True):
                per = _dec(base.get("SACD")) or Decimal(1)
                bands = [(Decimal(0), (_dec(base.get("SAPR")) or Decimal(0)) / per)]
                bands += [
                    (_dec(g.get("QTYL")) or Decimal(0), (_dec(g.get("SAPR")) or Decimal(0)) / per)
                    for g in grads
                ]
                bands.sort()
                for i, (low, price) in enumerate(bands):
                    high = bands[i + 1][0] if i + 1 < len(bands) else None
                    entries.append(
                        PriceListEntry(
                            price_list=price_list,
                            item_id=base["ITNO"],
                            currency=currency,
                            uom=base.get("SPUN") or "",
                            unit_price=price,
                            valid_from=valid_from,
                            valid_to=valid_to,
                            min_quantity=low if len(bands) > 1 else None,
                            max_quantity=high,
                        )
                    )
        return tuple(entries)

    # -- dimensions ----------------------------------------------------------------------

    async def dimensions(self, ctx: CallContext) -> tuple[DimensionValue, ...]:
        kinds = sorted(self.dimension_map.items(), key=lambda kv: kv[1])
        listed = await asyncio.gather(
            *(
                self._list(
                    ctx, "CRS630MI", "LstAccountID", {"AITP": str(aitp), "DIVI": ctx.division}
                )
                for _, aitp in kinds
            )
        )
        values: list[DimensionValue] = []
        for (kind, _), records in zip(kinds, listed, strict=True):
            for rec in records:
                values.append(
                    DimensionValue(
                        kind=kind,  # type: ignore[arg-type]
                        code=rec["AITM"],
                        name=rec.get("TX40") or rec["AITM"],
                        status="inactive" if rec.get("LCCD", "0") not in ("0", "") else "active",
                    )
                )
        return tuple(values)


def _changed(ymd: str | None) -> datetime | None:
    day = _ymd(ymd)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _contact_id(customer_id: str, contact: ContactPerson) -> str:
    """A new contact person's id: the customer number and the person's name, as M3 keys
    contacts company-wide (``CNPE``, 36 characters)."""
    base = f"{customer_id}-{(contact.last_name or 'CONTACT').upper()}"
    if contact.first_name:
        base += f"-{contact.first_name[:1].upper()}"
    return base.replace(" ", "")[:36]


def _contact_of(rec: Record) -> ContactPerson:
    return ContactPerson(
        contact_id=rec.get("CNPE"),
        first_name=rec.get("NAMF") or None,
        last_name=rec.get("NAMS") or rec.get("TX50") or rec.get("CNPE", ""),
        email=rec.get("EMAL") or None,
        phone=rec.get("PHNO") or None,
        title=rec.get("JTIT") or None,
        status="inactive" if rec.get("STAT") in _INACTIVE else "active",
        modified=_changed(rec.get("LMDT")),
    )
