"""Customer master, contact persons, accounting identities and price lists: ``CRS610MI``
(create and change customers and their addresses, search), ``CRS618MI`` (contact persons),
``CMS055MI`` (contacts connected to customers), ``CRS630MI`` (accounting identities) and
``OIS017MI`` (price lists, base prices, quantity breaks), over the seed.

Changes stamp ``LMDT``/``LMTS`` with the emulator's clock. Change transactions (``Chg…``,
``Upd``) change the fields they are given and leave blank ones as they are (UNVERIFIED: how M3
treats a blank input on a change is our reading). Message ids are M3-shaped (``W`` + field
prefix + ``0201`` "already exists", ``0203`` "does not exist"); all but ``WCU0203`` UNVERIFIED.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sandbox.infor import seed as S
from sandbox.infor.transactions import Handler, M3State, MiError, Session

__all__ = ["MASTER_DATA_HANDLERS"]

Record = dict[str, str]
_SEARCHABLE = {"CUNO", "CUNM", "PONO", "VRNO", "TOWN", "CSCD", "STAT"}


def _ymd(value: date | datetime | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _lmts(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S") + f"{value.microsecond // 1000:03d}"


def _text(inp: dict[str, str], name: str) -> str:
    return inp.get(name, "").strip()


def _required(inp: dict[str, str], name: str, label: str) -> str:
    value = _text(inp, name)
    if not value:
        raise MiError(f"W{name[:2]}0102", f"{label} must be entered", name)
    return value


def _int(inp: dict[str, str], name: str, default: int | None = None) -> int:
    raw = _text(inp, name)
    if not raw and default is not None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise MiError(f"W{name[:2]}0303", f"{name} {raw} is invalid", name) from None


def _customer(st: M3State, inp: dict[str, str]) -> S.Customer:
    cuno = _required(inp, "CUNO", "Customer number")
    found = st.data.customers.get(cuno)
    if found is None:
        raise MiError("WCU0203", f"Customer number {cuno} does not exist", "CUNO")
    return found


def _set(target: object, inp: dict[str, str], fields: dict[str, str]) -> bool:
    """Set each attribute whose input field is given (non-blank); True when any changed."""
    changed = False
    for name, attr in fields.items():
        value = _text(inp, name)
        if value and getattr(target, attr) != value:
            setattr(target, attr, value)
            changed = True
    return changed


def _set_street(target: S.Customer, inp: dict[str, str]) -> bool:
    given = {i: _text(inp, f"CUA{i}") for i in range(1, 5)}
    if not any(given.values()):
        return False
    lines = list(target.street) + [""] * (4 - len(target.street))
    for i, value in given.items():
        if value:
            lines[i - 1] = value
    while lines and not lines[-1]:
        lines.pop()
    changed = lines != target.street
    target.street = lines
    return changed


def _street(lines: list[str]) -> Record:
    return {f"CUA{i}": line for i, line in enumerate(lines[:4], start=1)}


# --- customers -----------------------------------------------------------------------------

_BASIC = {
    "CUNM": "name", "PONO": "postal_code", "TOWN": "town", "ECAR": "state", "CSCD": "country",
    "PHNO": "phone", "MAIL": "email", "YREF": "your_ref", "STAT": "stat",
}  # fmt: skip


def _add(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    cutm = _required(inp, "CUTM", "Customer template")
    template = st.data.templates.get(cutm)
    if template is None:
        raise MiError("WCU0203", f"Customer template {cutm} does not exist", "CUTM")
    cuno = _text(inp, "CUNO")
    if not cuno:
        cuno = f"C{len(st.data.customers) + 1:06d}"
    if cuno in st.data.customers or cuno in st.data.templates:
        raise MiError("WCU0201", f"Customer number {cuno} already exists", "CUNO")
    stat = _text(inp, "STAT") or "10"
    if stat not in ("10", "20", "90"):
        raise MiError("WST0203", f"Status {stat} is invalid", "STAT")
    now = st.now()
    customer = S.Customer(
        cuno=cuno, name=_required(inp, "CUNM", "Customer name"), division=template.division,
        currency=template.currency, stat=stat, blcd=0,
        credit_limit_1=template.credit_limit_1, credit_limit_2=template.credit_limit_2,
        credit_limit_3=template.credit_limit_3, outstanding_invoices=Decimal(0),
        open_orders=Decimal(0), overdue_amount=Decimal(0), overdue_days=0,
        max_overdue_days=template.max_overdue_days, terms=template.terms,
        discount_percent=Decimal(0), country=template.country, changed_at=now,
        price_list=template.price_list, template=cutm, registered=now.date(),
    )  # fmt: skip
    _set(customer, inp, _BASIC)
    _set_street(customer, inp)
    if not customer.street:
        raise MiError("WCU0102", "Customer address 1 must be entered", "CUA1")
    st.data.customers[cuno] = customer
    return [{"CUNO": cuno}]


def _chg_basic_data(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    stat = _text(inp, "STAT")
    if stat and stat not in ("10", "20", "90"):
        raise MiError("WST0203", f"Status {stat} is invalid", "STAT")
    if _set(customer, inp, _BASIC) | _set_street(customer, inp):
        customer.changed_at = st.now()
    return [{"CUNO": customer.cuno}]


def _chg_financial(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    cucd = _text(inp, "CUCD")
    if cucd and cucd not in S.CURRENCIES:
        raise MiError("WCU0203", f"Currency {cucd} does not exist", "CUCD")
    changed = _set(customer, inp, {"VRNO": "vat_number", "CUCD": "currency"})
    for name, attr in (("CRLM", "credit_limit_1"), ("CRL2", "credit_limit_2"),
                       ("CRL3", "credit_limit_3")):  # fmt: skip
        raw = _text(inp, name)
        if raw:
            setattr(customer, attr, Decimal(raw))
            changed = True
    blcd = _text(inp, "BLCD")
    if blcd:
        customer.blcd = _int(inp, "BLCD")
        changed = True
    if changed:
        customer.changed_at = st.now()
    return []


def _get_order_info(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    c = _customer(st, inp)
    return [{"CONO": S.COMPANY, "DIVI": c.division, "CUNO": c.cuno, "CUNM": c.name,
             "TEPY": c.terms, "PLTB": c.price_list, "CUCD": c.currency}]  # fmt: skip


def _chg_order_info(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    if _set(customer, inp, {"TEPY": "terms", "PLTB": "price_list"}):
        customer.changed_at = st.now()
    return []


def _search_customer(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    """``SQRY``: ``FIELD:value`` terms AND-ed (``*`` at the end of a value: starts with;
    quotes around values with spaces), over CUNO, CUNM, PONO, VRNO, TOWN, CSCD, STAT."""
    st.check_company(ses, inp)
    query = _required(inp, "SQRY", "Search query")
    terms: list[tuple[str, str]] = []
    for match in re.finditer(r'(\w+):("([^"]*)"|\S+)', query.replace(" AND ", " ")):
        name = match.group(1).upper()
        value = match.group(3) if match.group(3) is not None else match.group(2)
        if name not in _SEARCHABLE:
            raise MiError("WSQ0303", f"Search query {query} is invalid", "SQRY")
        terms.append((name, value.casefold()))
    if not terms:
        raise MiError("WSQ0303", f"Search query {query} is invalid", "SQRY")
    records = []
    for cuno in sorted(st.data.customers):
        c = st.data.customers[cuno]
        values = {"CUNO": c.cuno, "CUNM": c.name, "PONO": c.postal_code, "VRNO": c.vat_number,
                  "TOWN": c.town, "CSCD": c.country, "STAT": c.stat}  # fmt: skip
        if all(_matches(values[name].casefold(), want) for name, want in terms):
            records.append(
                {
                    "CUNO": c.cuno,
                    "CUNM": c.name,
                    "STAT": c.stat,
                    "CUTP": c.customer_type,
                    "BLCD": str(c.blcd),
                    "CSCD": c.country,
                    "ECAR": c.state,
                    "RGDT": _ymd(c.registered),
                }
            )
    return records


def _matches(value: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return value.startswith(wanted[:-1])
    return value == wanted


# --- addresses -----------------------------------------------------------------------------
# A customer's addresses (OCUSAD) are ``Customer.addresses`` keyed (ADRT, ADID): the same ones
# orders name by ADID.


def _address_key(inp: dict[str, str]) -> tuple[str, str]:
    adrt = _int(inp, "ADRT")
    if adrt not in (1, 2, 3, 4):
        raise MiError("WAD0203", f"Address type {adrt} is invalid", "ADRT")
    return str(adrt), _required(inp, "ADID", "Address number")


def _address_record(adrt: str, a: S.Address, c: S.Customer) -> Record:
    return {
        "CONO": S.COMPANY, "DIVI": c.division, "CUNO": c.cuno, "CUNM": a.name, "ADRT": adrt,
        "ADID": a.adid, **_street(list(a.lines)), "PONO": a.postal_code, "ECAR": a.state,
        "PHNO": a.phone, "CSCD": a.country, "VRNO": a.vat_number, "TOWN": a.town,
    }  # fmt: skip


_ADDRESS = {"CUNM": "name", "PONO": "postal_code", "TOWN": "town", "CSCD": "country",
            "ECAR": "state", "PHNO": "phone", "VRNO": "vat_number"}  # fmt: skip


def _set_lines(address: S.Address, inp: dict[str, str]) -> bool:
    given = {i: _text(inp, f"CUA{i}") for i in range(1, 5)}
    if not any(given.values()):
        return False
    lines = [*address.lines, "", "", "", ""][:4]
    for i, value in given.items():
        if value:
            lines[i - 1] = value
    while lines and not lines[-1]:
        lines.pop()
    changed = tuple(lines) != address.lines
    address.lines = tuple(lines)
    return changed


def _add_address(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    adrt, adid = _address_key(inp)
    if (adrt, adid) in customer.addresses:
        raise MiError("WAD0201", f"Address number {adid} already exists", "ADID")
    address = S.Address(
        adid=adid, name=_text(inp, "CUNM") or customer.name, lines=(),
        town=_required(inp, "TOWN", "City"), state="",
        postal_code=_required(inp, "PONO", "Postal code"),
        country=_required(inp, "CSCD", "Country"), changed_at=st.now(),
    )  # fmt: skip
    _set(address, inp, _ADDRESS)
    _set_lines(address, inp)
    if not address.lines:
        raise MiError("WCU0102", "Customer address 1 must be entered", "CUA1")
    customer.addresses[(adrt, adid)] = address
    return [{"CONO": S.COMPANY, "CUNO": customer.cuno, "ADRT": adrt, "ADID": adid}]


def _existing_address(st: M3State, inp: dict[str, str]) -> tuple[S.Customer, str, S.Address]:
    customer = _customer(st, inp)
    adrt, adid = _address_key(inp)
    address = customer.addresses.get((adrt, adid))
    if address is None:
        raise MiError("WAD0203", f"Address number {adid} does not exist", "ADID")
    return customer, adrt, address


def _chg_address(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    _, _, address = _existing_address(st, inp)
    if _set(address, inp, _ADDRESS) | _set_lines(address, inp):
        address.changed_at = st.now()
    return []


def _get_address(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer, adrt, address = _existing_address(st, inp)
    return [_address_record(adrt, address, customer)]


def _lst_addresses(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    wanted = _int(inp, "ADRT", 0)
    since = _text(inp, "LMTS")
    return [
        _address_record(adrt, a, customer)
        for (adrt, _), a in sorted(customer.addresses.items())
        if (not wanted or int(adrt) == wanted)
        and (not since or int(_lmts(a.changed_at)) >= int(since))
    ]


# --- contact persons -----------------------------------------------------------------------

_CONTACT = {"TX50": "name", "STAT": "status", "NAMF": "first_name", "NAMS": "last_name",
            "JTIT": "title", "EMAL": "email", "PHNO": "phone", "RFTP": "contact_type",
            "EMRE": "employer"}  # fmt: skip


def _contact(st: M3State, inp: dict[str, str]) -> S.ContactPerson:
    cnpe = _required(inp, "CNPE", "Contact")
    found = st.data.contacts.get(cnpe)
    if found is None:
        raise MiError("WCN0203", f"Contact {cnpe} does not exist", "CNPE")
    return found


def _contact_record(c: S.ContactPerson) -> Record:
    return {
        "CNPE": c.cnpe, "STAT": c.status, "TX50": c.name, "NAMF": c.first_name,
        "NAMS": c.last_name, "JTIT": c.title, "RFTP": c.contact_type,
        "ERTP": str(c.employer_type), "EMRE": c.employer, "EMAL": c.email, "PHNO": c.phone,
        "RGDT": _ymd(c.registered), "LMDT": _ymd(c.changed_at), "CHID": "ISTHMUS",
    }  # fmt: skip


def _check_employer(st: M3State, contact: S.ContactPerson) -> None:
    if contact.employer_type == 1 and contact.employer not in st.data.customers:
        raise MiError("WCU0203", f"Customer number {contact.employer} does not exist", "EMRE")


def _add_contact(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    cnpe = _required(inp, "CNPE", "Contact")
    if cnpe in st.data.contacts:
        raise MiError("WCN0201", f"Contact {cnpe} already exists", "CNPE")
    now = st.now()
    contact = S.ContactPerson(
        cnpe=cnpe, name=_required(inp, "TX50", "Name"),
        status=_required(inp, "STAT", "Status"), employer_type=_int(inp, "ERTP", 0),
        registered=now.date(), changed_at=now,
    )  # fmt: skip
    _set(contact, inp, _CONTACT)
    _check_employer(st, contact)
    st.data.contacts[cnpe] = contact
    return [{"CNPE": cnpe}]


def _upd_contact(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    contact = _contact(st, inp)
    changed = _set(contact, inp, _CONTACT)
    if _text(inp, "ERTP"):
        contact.employer_type = _int(inp, "ERTP")
        changed = True
    _check_employer(st, contact)
    if changed:
        contact.changed_at = st.now()
    return []


def _get_contact(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    return [_contact_record(_contact(st, inp))]


def _lst_contacts(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    start = _text(inp, "CNPE")
    rftp = _text(inp, "RFTP")
    return [
        _contact_record(c)
        for cnpe, c in sorted(st.data.contacts.items())
        if cnpe >= start and (not rftp or c.contact_type == rftp)
    ]


def _add_connection(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    contact = _contact(st, inp)
    connection = S.Connection(
        cuno=customer.cuno, cnpe=contact.cnpe, adrt=_int(inp, "ADRT", 0),
        adid=_text(inp, "ADID"), contact_type=_text(inp, "RFTP"),
    )  # fmt: skip
    if any(
        (c.cuno, c.cnpe, c.adrt, c.adid)
        == (connection.cuno, connection.cnpe, connection.adrt, connection.adid)
        for c in st.data.connections
    ):
        raise MiError("WCN0201", f"Contact {contact.cnpe} is already connected", "CNPE")
    st.data.connections.append(connection)
    return []


def _lst_by_customer(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    customer = _customer(st, inp)
    return [
        {
            "CUNO": c.cuno,
            "ADRT": str(c.adrt) if c.adrt else "",
            "ADID": c.adid,
            "RFTP": c.contact_type,
            "CNPE": c.cnpe,
        }
        for c in st.data.connections
        if c.cuno == customer.cuno
    ]


# --- accounting identities -----------------------------------------------------------------


def _lst_account_id(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    aitp = _int(inp, "AITP")
    if not 1 <= aitp <= 7:
        raise MiError("WAI0203", f"Accounting dimension {aitp} is invalid", "AITP")
    divi = _text(inp, "DIVI") or ses.divi
    if divi not in S.DIVISIONS:
        raise MiError("WDI0203", f"Division {divi} does not exist", "DIVI")
    start = _text(inp, "AITM")
    return [
        {
            "CONO": S.COMPANY,
            "DIVI": a.division,
            "AITP": str(a.dimension),
            "AITM": a.code,
            "TX40": a.name,
            "TX15": a.name[:15],
            "LCCD": "1" if a.blocked else "0",
            "LMDT": _ymd(a.changed_at),
            "LMTS": _lmts(a.changed_at),
        }
        for a in sorted(st.data.accounting_ids, key=lambda a: a.code)
        if a.division == divi and a.dimension == aitp and a.code >= start
    ]


# --- price lists ---------------------------------------------------------------------------


def _price_heads(st: M3State) -> dict[tuple[str, str, date], date]:
    heads: dict[tuple[str, str, date], date] = {}
    for line in st.data.price_lines:
        heads[(line.prrf, line.currency, line.valid_from)] = line.valid_to
    return heads


def _lst_price_list(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    prrf, cucd = _text(inp, "PRRF"), _text(inp, "CUCD")
    start = _text(inp, "FVDT")
    return [
        {
            "CONO": S.COMPANY,
            "PRRF": p,
            "CUCD": c,
            "FVDT": _ymd(f),
            "LVDT": _ymd(to),
            "TX15": f"{p} {c}",
        }
        for (p, c, f), to in sorted(_price_heads(st).items())
        if (not prrf or p == prrf) and (not cucd or c == cucd) and (not start or _ymd(f) >= start)
    ]


def _price_head(st: M3State, inp: dict[str, str]) -> tuple[str, str, date, date]:
    prrf = _required(inp, "PRRF", "Price list")
    cucd = _required(inp, "CUCD", "Currency")
    fvdt = _required(inp, "FVDT", "Valid from")
    for (p, c, f), to in _price_heads(st).items():
        if (p, c, _ymd(f)) == (prrf, cucd, fvdt):
            return p, c, f, to
    raise MiError("WPR0203", f"Price list {prrf} does not exist", "PRRF")


def _lst_base_price(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    prrf, cucd, fvdt, lvdt = _price_head(st, inp)
    records = []
    for line in sorted(st.data.price_lines, key=lambda ln: ln.itno):
        if (line.prrf, line.currency, line.valid_from) != (prrf, cucd, fvdt):
            continue
        item = st.data.items[line.itno]
        records.append(
            {
                "CONO": S.COMPANY,
                "PRRF": prrf,
                "CUCD": cucd,
                "FVDT": _ymd(fvdt),
                "LVDT": _ymd(lvdt),
                "ITNO": line.itno,
                "SAPR": format(line.breaks[0][1], "f"),
                "SACD": "1",
                "SPUN": item.basic_uom,
                "NTCD": "0",
            }
        )
    return records


def _lst_grad_sls_prc(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    prrf, cucd, fvdt, _ = _price_head(st, inp)
    item = st.item(inp)
    for line in st.data.price_lines:
        if (line.prrf, line.currency, line.valid_from, line.itno) == (prrf, cucd, fvdt, item.itno):
            return [
                {
                    "CONO": S.COMPANY,
                    "PRRF": prrf,
                    "CUCD": cucd,
                    "FVDT": _ymd(fvdt),
                    "ITNO": item.itno,
                    "QTYL": format(minimum, "f"),
                    "SAPR": format(price, "f"),
                }
                for minimum, price in line.breaks[1:]
            ]
    raise MiError("WIT0203", f"Item {item.itno} is not in price list {prrf}", "ITNO")


MASTER_DATA_HANDLERS: dict[str, dict[str, Handler]] = {
    "CRS610MI": {
        "Add": _add,
        "ChgBasicData": _chg_basic_data,
        "ChgFinancial": _chg_financial,
        "GetOrderInfo": _get_order_info,
        "ChgOrderInfo": _chg_order_info,
        "SearchCustomer": _search_customer,
        "AddAddress": _add_address,
        "ChgAddress": _chg_address,
        "GetAddress": _get_address,
        "LstAddresses": _lst_addresses,
    },
    "CRS618MI": {
        "Add": _add_contact,
        "Upd": _upd_contact,
        "Get": _get_contact,
        "Lst": _lst_contacts,
    },
    "CMS055MI": {"AddConnection": _add_connection, "LstByCustomer": _lst_by_customer},
    "CRS630MI": {"LstAccountID": _lst_account_id},
    "OIS017MI": {
        "LstPriceList": _lst_price_list,
        "LstBasePrice": _lst_base_price,
        "LstGradSlsPrc": _lst_grad_sls_prc,
    },
}
