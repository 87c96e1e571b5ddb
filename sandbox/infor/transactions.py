"""The M3 API transactions the emulator answers, over the seed data (the "M3 business engine").

Each transaction declares its input fields, which are mandatory, and a handler that returns a
list of output records (plain ``str`` values, not yet padded) or raises ``MiError`` the way M3
refuses: a message id (``WCU0203``), the offending field, and a message text.
Message ids follow M3's pattern (``W`` + field prefix + ``0102`` "must be entered",
``0203`` "does not exist"); the exact ids other than ``WCU0203`` are UNVERIFIED.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sandbox.infor import seed as S
from sandbox.infor.programs import MiTransaction, programs

__all__ = [
    "FIELD_LABELS",
    "MESSAGE_WIDTH",
    "M3State",
    "MiError",
    "Session",
    "TxSpec",
]

FIELD_LABELS = {
    "CUNO": "Customer number",
    "ITNO": "Item number",
    "WHLO": "Warehouse",
    "ORNO": "Order number",
    "ORQT": "Quantity",
    "AUTP": "Alternate U/M type",
    "ALUN": "Alternate U/M",
    "SQRY": "Search query",
    "CONO": "Company",
    "DIVI": "Division",
    "ORTP": "Order type",
    "CUCD": "Currency",
    "FACI": "Facility",
    "ADRT": "Address type",
    "ADID": "Address number",
    "CUNM": "Name",
    "CSCD": "Country",
    "TYTR": "Text type",
    "TX60": "Text",
    "YREF": "Your reference",
}
MESSAGE_WIDTH = 60  # M3 messages come back space-padded


class MiError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def _missing(name: str) -> MiError:
    return MiError(f"W{name[:2]}0102", f"{FIELD_LABELS.get(name, name)} must be entered", name)


def _unknown(name: str, value: str) -> MiError:
    return MiError(
        f"W{name[:2]}0203", f"{FIELD_LABELS.get(name, name)} {value} does not exist", name
    )


@dataclass
class Session:
    """Who is calling and in which company/division (from matrix parameters or user defaults)."""

    cono: str
    divi: str
    user: str


Handler = Callable[["M3State", Session, dict[str, str]], list[dict[str, str]]]


@dataclass(frozen=True)
class TxSpec:
    definition: MiTransaction
    handler: Handler

    @property
    def is_list(self) -> bool:
        return self.definition.multiple


def _num(value: Decimal | int) -> str:
    """M3 numbers: no thousands separator, no needless trailing zeros."""
    if isinstance(value, int):
        return str(value)
    return _plain(str(value))


@functools.lru_cache(maxsize=4096)
def _plain(text: str) -> str:
    # Keyed by the Decimal's own text (so 0 and -0, 1.0 and 1.00 stay apart): a quote's
    # answers write the same quantities and prices over and over.
    return format(Decimal(text).normalize(), "f")


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


@functools.lru_cache(maxsize=4096)
def _ymd(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _parse_date(inputs: dict[str, str], name: str, default: date) -> date:
    raw = inputs.get(name, "").strip()
    if not raw:
        return default
    try:
        if len(raw) != 8 or not raw.isdigit():  # YYYYMMDD, as strptime would insist
            raise ValueError(raw)
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise MiError(f"W{name[:2]}0303", f"Date {raw} is invalid", name) from None


def _parse_qty(inputs: dict[str, str], name: str, default: Decimal | None = None) -> Decimal:
    raw = inputs.get(name, "").strip()
    if not raw:
        if default is None:
            raise _missing(name)
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MiError(
            f"W{name[:2]}0303", f"{FIELD_LABELS.get(name, name)} {raw} is invalid", name
        ) from None
    if not value.is_finite() or value <= 0:
        raise MiError(f"W{name[:2]}0303", f"{FIELD_LABELS.get(name, name)} {raw} is invalid", name)
    return value


class M3State:
    """Mutable M3 data of one emulator: seed plus orders created through the API."""

    def __init__(self, data: S.SeedData, clock: Callable[[], datetime] | None = None) -> None:
        self.data = data
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        """M3's clock for change stamps (LMDT/LMTS), in the company's time zone (UTC here)."""
        self._next_batch = 9000000001
        self._next_order = 1000000101
        self._balance_index: tuple[int, dict[str, list[tuple[str, str]]]] = (-1, {})
        self._price_index: tuple[int, dict[str, list[S.PriceLine]]] = (-1, {})

    def balance_keys(self, itno: str) -> list[tuple[str, str]]:
        """The ``(WHLO, ITNO)`` keys of an item's balances, in warehouse order. Indexed once
        per set of balances (a new balance, e.g. a warehouse added, rebuilds it) instead of a
        scan of every balance for every item listed."""
        size, index = self._balance_index
        if size != len(self.data.balances):
            index = {}
            for key in sorted(self.data.balances):
                index.setdefault(key[1], []).append(key)
            self._balance_index = (len(self.data.balances), index)
        return index.get(itno, [])

    def price_lines_of(self, itno: str) -> list[S.PriceLine]:
        """An item's price lines, in seed order. Indexed once per set of lines (a line added
        rebuilds it): a quote prices every line, and a scan of every item's lines for each
        was a fifth of the emulator's time per quote."""
        size, index = self._price_index
        if size != len(self.data.price_lines):
            index = {}
            for line in self.data.price_lines:
                index.setdefault(line.itno, []).append(line)
            self._price_index = (len(self.data.price_lines), index)
        return index.get(itno, [])

    @property
    def today(self) -> date:
        return self.data.today

    def now(self) -> datetime:
        """The clock as M3 stamps changes: naive, to the millisecond."""
        now = self.clock()
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    # -- lookups that refuse the M3 way --------------------------------------------------
    def check_company(self, session: Session, inputs: dict[str, str]) -> None:
        cono = inputs.get("CONO", "").strip() or session.cono
        if cono != S.COMPANY:
            raise _unknown("CONO", cono)

    def customer(self, inputs: dict[str, str]) -> S.Customer:
        cuno = inputs.get("CUNO", "").strip()
        if not cuno:
            raise _missing("CUNO")
        found = self.data.customers.get(cuno)
        if found is None:
            raise MiError("WCU0203", f"Customer number {cuno} does not exist", "CUNO")
        return found

    def item(self, inputs: dict[str, str]) -> S.Item:
        itno = inputs.get("ITNO", "").strip()
        if not itno:
            raise _missing("ITNO")
        found = self.data.items.get(itno)
        if found is None:
            raise _unknown("ITNO", itno)
        return found

    def warehouse(self, inputs: dict[str, str], *, required: bool = True) -> str | None:
        whlo = inputs.get("WHLO", "").strip()
        if not whlo:
            if required:
                raise _missing("WHLO")
            return None
        if whlo not in S.WAREHOUSES:
            raise _unknown("WHLO", whlo)
        return whlo

    def balance(self, whlo: str, item: S.Item) -> S.Balance:
        found = self.data.balances.get((whlo, item.itno))
        if found is None:
            raise MiError("WMB0203", f"Item {item.itno} does not exist in warehouse {whlo}", "ITNO")
        return found

    def alternate(self, item: S.Item, alun: str) -> Decimal:
        """Basic units per one ``alun`` (DMCF 1: multiply by COFA)."""
        if not alun or alun == item.basic_uom:
            return Decimal(1)
        for alt in item.alternates:
            if alt.alun == alun:
                return alt.cofa if alt.dmcf == 1 else 1 / alt.cofa
        raise MiError(
            "WAL0203", f"Alternate U/M {alun} does not exist for item {item.itno}", "ALUN"
        )

    def currency(self, inputs: dict[str, str], customer: S.Customer) -> str:
        cucd = inputs.get("CUCD", "").strip() or customer.currency
        if cucd not in S.CURRENCIES:
            raise _unknown("CUCD", cucd)
        return cucd

    def order(self, inputs: dict[str, str], *, batch: bool) -> S.Order:
        orno = inputs.get("ORNO", "").strip()
        if not orno:
            raise _missing("ORNO")
        found = self.data.orders.get(orno)
        if found is None or found.batch != batch:
            raise MiError("WOR0203", f"Order number {orno} does not exist", "ORNO")
        return found

    # -- pricing --------------------------------------------------------------------------
    def price(
        self,
        customer: S.Customer,
        item: S.Item,
        *,
        currency: str,
        on: date,
        quantity: Decimal,
        alun: str,
        prrf: str = "",
    ) -> tuple[S.PriceLine, Decimal, Decimal]:
        """(price line, break minimum in basic U/M, unit price per ``alun``)."""
        per_alun = self.alternate(item, alun)
        basic_qty = quantity * per_alun
        candidates = [
            line
            for line in self.price_lines_of(item.itno)
            if line.currency == currency
            and line.valid_from <= on <= line.valid_to
            and (not prrf or line.prrf == prrf)
        ]
        if not candidates:
            raise MiError("OPR0203", f"Price for item {item.itno} does not exist", "ITNO")
        # The most recently started valid line wins (promotions over the standard list).
        line = max(candidates, key=lambda ln: ln.valid_from)
        minimum, unit = line.breaks[0]
        for brk_min, brk_price in line.breaks:
            if basic_qty >= brk_min:
                minimum, unit = brk_min, brk_price
        return line, minimum, (unit * per_alun).quantize(Decimal("0.0001"))

    def new_batch_number(self) -> str:
        self._next_batch += 1
        return str(self._next_batch - 1)

    def new_order_number(self) -> str:
        self._next_order += 1
        return str(self._next_order - 1)


# -- handlers ------------------------------------------------------------------------------
def _get_user_data(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    return [
        {
            "USID": ses.user,
            "CONO": S.COMPANY,
            "DIVI": ses.divi,
            "LANC": "GB",
            "DTFM": "YMD",
            "FACI": "U01" if ses.divi == "US1" else "C01",
            "WHLO": "WUS" if ses.divi == "US1" else "WCA",
        }
    ]


def _get_basic_data(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    c = st.customer(inp)
    return [
        {
            "CONO": S.COMPANY,
            "CUNO": c.cuno,
            "CUNM": c.name,
            **{f"CUA{i}": line for i, line in enumerate(c.street[:4], start=1)},
            "PONO": c.postal_code,
            "TOWN": c.town,
            "ECAR": c.state,
            "CSCD": c.country,
            "PHNO": c.phone,
            "MAIL": c.email,
            "YREF": c.your_ref,
            "STAT": c.stat,
            "CUTP": c.customer_type,
            "CUCD": c.currency,
            "LNCD": "GB",
            "TEPY": c.terms,
            "LMDT": c.changed_at.strftime("%Y%m%d"),
            "RGDT": c.registered.strftime("%Y%m%d") if c.registered else "",
        }
    ]


def _get_financial(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    c = st.customer(inp)
    divi = inp.get("DIVI", "").strip() or ses.divi
    if divi not in S.DIVISIONS:
        raise _unknown("DIVI", divi)
    return [
        {
            "CUNO": c.cuno,
            "DIVI": c.division,
            "CUCD": c.currency,
            "TEPY": c.terms,
            "VRNO": c.vat_number,
            "CRLM": _money(c.credit_limit_1),
            "CRL2": _money(c.credit_limit_2),
            "CRL3": _money(c.credit_limit_3),
            "ODUD": _num(c.max_overdue_days),
            "BLCD": _num(c.blcd),
            "TDIN": _money(c.overdue_amount),
            "TOIN": _money(c.outstanding_invoices),
            "TBLG": _money(c.open_orders),
            "ODUE": _num(c.overdue_days),
            "CRTP": "1",
        }
    ]


def _item_record(it: S.Item) -> dict[str, str]:
    return {
        "CONO": S.COMPANY,
        "ITNO": it.itno,
        "ITDS": it.description,
        "FUDS": it.description,
        "STAT": it.stat,
        "UNMS": it.basic_uom,
        "ITTY": it.item_type,
        "ITGR": it.item_group,
        "ITCL": "",
        "SPUN": it.basic_uom,
        "PUUN": it.basic_uom,
        "STCD": "1" if it.stocked else "0",
    }


def _get_itm_basic(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    return [_item_record(st.item(inp))]


def _balance_record(bal: S.Balance, it: S.Item) -> dict[str, str]:
    planned = sum((r.quantity for r in bal.receipts), Decimal(0))
    return {
        "CONO": S.COMPANY,
        "WHLO": bal.whlo,
        "ITNO": bal.itno,
        "STAT": it.stat,
        "STQT": _num(bal.on_hand),
        "ALQT": _num(bal.allocated),
        "PLQT": "0",
        "AV01": _num(bal.on_hand - bal.allocated),
        "ORQT": _num(planned),
    }


def _get_itm_whs_bal(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    whlo = st.warehouse(inp)
    it = st.item(inp)
    assert whlo is not None
    return [_balance_record(st.balance(whlo, it), it)]


def _lst_itm_whs_by_itm(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    it = st.item(inp)
    # The item's balances in warehouse order (filtered before sorting: not every balance).
    balances = st.data.balances
    return [_balance_record(balances[key], it) for key in st.balance_keys(it.itno)]


def _alt_record(it: S.Item, alt: S.AltUom) -> dict[str, str]:
    return {
        "ITNO": it.itno,
        "AUTP": _num(alt.autp),
        "ALUN": alt.alun,
        "COFA": _num(alt.cofa),
        "DMCF": _num(alt.dmcf),
        "DCCD": "0",
        "PCOF": "1",
    }


def _lst_alt_uom(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    it = st.item(inp)
    autp = inp.get("AUTP", "").strip()
    return [_alt_record(it, a) for a in it.alternates if not autp or _num(a.autp) == autp]


def _get_alt_uom(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    it = st.item(inp)
    alun, autp = inp.get("ALUN", "").strip(), inp.get("AUTP", "").strip()
    for alt in it.alternates:
        if alt.alun == alun and _num(alt.autp) == autp:
            return [_alt_record(it, alt)]
    raise MiError("WAL0203", f"Alternate U/M {alun} does not exist for item {it.itno}", "ALUN")


def _get_price_line(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    cust = st.customer(inp)
    it = st.item(inp)
    st.warehouse(inp, required=False)
    currency = st.currency(inp, cust)
    on = _parse_date(inp, "ORDT", st.today)
    qty = _parse_qty(inp, "ORQA", Decimal(1))
    alun = inp.get("ALUN", "").strip() or it.basic_uom
    line, _minimum, sapr = st.price(
        cust,
        it,
        currency=currency,
        on=on,
        quantity=qty,
        alun=alun,
        prrf=inp.get("PRRF", "").strip(),
    )
    netp = (sapr * (1 - cust.discount_percent / 100)).quantize(Decimal("0.0001"))
    return [
        {
            "WHLO": inp.get("WHLO", "").strip(),
            "SAPR": _num(sapr),
            "LNAM": _money(netp * qty),
            "ORDT": _ymd(on),
            "ORQA": _num(qty),
            "PRRF": line.prrf,
            "CUCD": currency,
            "ALUN": alun,
            "SPUN": alun,
            "DIP1": _num(cust.discount_percent),
            "DIP2": "0",
            "DIP3": "0",
            "DIP4": "0",
            "DIP5": "0",
            "DIP6": "0",
            "NETP": _num(netp),
        }
    ]


def _get_atp(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    it = st.item(inp)
    whlo = st.warehouse(inp)
    assert whlo is not None
    bal = st.balance(whlo, it)
    start = max(_parse_date(inp, "DWDT", st.today), st.today)
    running = bal.on_hand - bal.allocated
    later = []
    for rec in sorted(bal.receipts, key=lambda r: r.when):
        if rec.when <= start:
            running += rec.quantity
        else:
            later.append(rec)
    base = {"ITNO": it.itno, "WHLO": whlo, "UNMS": it.basic_uom}
    records = [{**base, "AVTD": _ymd(start), "AVTQ": _num(running)}]
    for rec in later:
        running += rec.quantity
        records.append({**base, "AVTD": _ymd(rec.when), "AVTQ": _num(running)})
    return records


def _check_can_order(cust: S.Customer) -> None:
    if cust.stat == "90":
        raise MiError("WCU0503", f"Customer {cust.cuno} is blocked, status 90", "CUNO")
    if cust.blcd != 0:
        raise MiError("WCU0504", f"Customer {cust.cuno} has customer stop {cust.blcd}", "CUNO")


def _add_batch_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    cust = st.customer(inp)
    _check_can_order(cust)
    ortp = inp.get("ORTP", "").strip() or "SO1"
    if ortp not in S.ORDER_TYPES:
        raise _unknown("ORTP", ortp)
    whlo = st.warehouse(inp, required=False) or ("WUS" if cust.division == "US1" else "WCA")
    currency = st.currency(inp, cust)
    cuor = inp.get("CUOR", "").strip()
    cuor_field = programs()["OIS100MI"].transactions["AddBatchHead"].input("CUOR")
    if cuor_field is not None and len(cuor) > cuor_field.length:
        raise MiError("WCU0703", "Customer's order number is too long", "CUOR")
    order_date = _parse_date(inp, "ORDT", st.today)
    _check_lengths("AddBatchHead", inp, "YREF")
    adid = inp.get("ADID", "").strip()
    if adid and ("1", adid) not in cust.addresses:
        raise _unknown("ADID", adid)
    orno = st.new_batch_number()
    st.data.orders[orno] = S.Order(
        orno=orno,
        cuno=cust.cuno,
        cuor=cuor,
        ortp=ortp,
        currency=currency,
        division=S.WAREHOUSES[whlo][0],
        facility=S.WAREHOUSES[whlo][1],
        whlo=whlo,
        order_date=order_date,
        requested_date=_parse_date(inp, "RLDT", order_date),
        status="00",
        batch=True,
        yref=inp.get("YREF", "").strip(),
        adid=adid,
    )
    if adid:
        st.data.orders[orno].addresses["1"] = cust.addresses[("1", adid)]
    return [{"ORNO": orno}]


def _check_lengths(transaction: str, inp: dict[str, str], *names: str) -> None:
    """Inputs longer than their OIS100MI field are refused (message id UNVERIFIED)."""
    definition = programs()["OIS100MI"].transactions[transaction]
    for name in names or tuple(inp):
        field = definition.input(name)
        value = inp.get(name, "").strip()
        if field is not None and len(value) > field.length:
            raise MiError(
                f"W{name[:2]}0703",
                f"{FIELD_LABELS.get(name, name)} is too long, at most {field.length} characters",
                name,
            )


_ADDRESS_TYPES = ("1", "3")  # delivery, invoice (customer order processing)


def _add_batch_address(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    """An order's delivery (1) or invoice (3) address: a customer address by ``ADID``, or one
    given field by field (a one-time address, which needs a name, a city and a country)."""
    st.check_company(ses, inp)
    order = st.order(inp, batch=True)
    adrt = inp.get("ADRT", "").strip().lstrip("0")
    if adrt not in _ADDRESS_TYPES:
        raise MiError("WAD0303", f"Address type {inp.get('ADRT', '').strip()} is invalid", "ADRT")
    if adrt in order.addresses:
        raise MiError("WAD0202", f"Address type {adrt} already exists for the order", "ADRT")
    _check_lengths("AddBatchAddress", inp)
    cust = st.data.customers[order.cuno]
    adid = inp.get("ADID", "").strip()
    if adid:
        found = cust.addresses.get((adrt, adid))
        if found is None:
            raise _unknown("ADID", adid)
        order.addresses[adrt] = found
        if adrt == "1":
            order.adid = adid
        return [{}]
    given = {k: inp.get(k, "").strip() for k in ("CUNM", "TOWN", "CSCD")}
    for name, value in given.items():
        if not value:
            raise _missing(name)
    if not given["CSCD"].isalpha() or not given["CSCD"].isupper() or len(given["CSCD"]) != 2:
        raise _unknown("CSCD", given["CSCD"])
    order.addresses[adrt] = S.Address(
        adid="",
        name=given["CUNM"],
        lines=tuple(v for v in (inp.get(f"CUA{n}", "").strip() for n in range(1, 5)) if v),
        town=given["TOWN"],
        state=inp.get("ECAR", "").strip(),
        postal_code=inp.get("PONO", "").strip(),
        country=given["CSCD"],
    )
    return [{}]


def _add_batch_text(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    """One text line of the order head (pre-text 1, post-text 2); a line's text is refused
    here (the sandbox keeps head texts only)."""
    st.check_company(ses, inp)
    order = st.order(inp, batch=True)
    tytr = inp.get("TYTR", "").strip()
    if tytr not in ("1", "2"):
        raise MiError("WTY0303", f"Text type {tytr} is invalid", "TYTR")
    if inp.get("PONR", "").strip() not in ("", "0"):
        raise MiError("WPO0303", "Line texts are not kept by this sandbox", "PONR")
    _check_lengths("AddBatchText", inp, "TX60")
    order.texts.append((tytr, inp.get("TX60", "").rstrip()))
    return [{}]


def _add_batch_line(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    order = st.order(inp, batch=True)
    it = st.item(inp)
    if it.stat == "90":
        raise MiError("WIT0503", f"Item {it.itno} is blocked, status 90", "ITNO")
    qty = _parse_qty(inp, "ORQT")
    alun = inp.get("ALUN", "").strip() or it.basic_uom
    per_alun = st.alternate(it, alun)
    whlo = st.warehouse(inp, required=False) or order.whlo
    if it.stocked:
        st.balance(whlo, it)
    ponr_raw = inp.get("PONR", "").strip()
    ponr = (
        int(ponr_raw) if ponr_raw.isdigit() else max((ln.ponr for ln in order.lines), default=0) + 1
    )
    if any(ln.ponr == ponr for ln in order.lines):
        raise MiError("WPO0202", f"Line number {ponr} already exists", "PONR")
    cust = st.data.customers[order.cuno]
    if inp.get("SAPR", "").strip():
        sapr = _parse_qty(inp, "SAPR")
        nepr = sapr
    else:
        _, _, sapr = st.price(
            cust, it, currency=order.currency, on=order.order_date, quantity=qty, alun=alun
        )
        nepr = (sapr * (1 - cust.discount_percent / 100)).quantize(Decimal("0.0001"))
    order.lines.append(
        S.OrderLine(
            ponr=ponr,
            itno=it.itno,
            quantity=qty * per_alun,
            alun=alun,
            alt_quantity=qty,
            unit_price=sapr,
            net_price=nepr,
            whlo=whlo,
            delivery_date=_parse_date(inp, "DWDT", order.requested_date),
        )
    )
    return [{"ORNO": order.orno, "PONR": _num(ponr), "POSX": "0"}]


def _confirm(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    batch = st.order(inp, batch=True)
    if not batch.lines:
        raise MiError("WOR0401", f"Order {batch.orno} has no lines", "ORNO")
    del st.data.orders[batch.orno]
    batch.orno, batch.batch, batch.status = st.new_order_number(), False, "20"
    batch.changed_at = st.now()
    st.data.orders[batch.orno] = batch
    st.data.customers[batch.cuno].open_orders += batch.net_amount
    return [{"ORNO": batch.orno, "STAT": batch.status}]


def _head_record(o: S.Order) -> dict[str, str]:
    statuses = sorted(ln.status for ln in o.lines) or ["00"]
    return {
        "ORNO": o.orno,
        "CUNO": o.cuno,
        "CUOR": o.cuor,
        "ORTP": o.ortp,
        "FACI": o.facility,
        "WHLO": o.whlo,
        "DIVI": o.division,
        "STAT": o.status,
        "ORSL": statuses[0],
        "ORST": statuses[-1],
        "ORDT": _ymd(o.order_date),
        "RLDT": _ymd(o.requested_date),
        "CUCD": o.currency,
        "NTAM": _money(o.net_amount),
        "OBLC": "0",
        "YREF": o.yref,
        "ADID": o.adid,
        # Text indicators: a text id when the order has such texts, else 0.
        "PRT2": o.orno if any(t == "1" for t, _ in o.texts) else "0",
        "POTX": o.orno if any(t == "2" for t, _ in o.texts) else "0",
    }


def _get_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    return [_head_record(st.order(inp, batch=False))]


def _lst_line(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    o = st.order(inp, batch=False)
    return [
        {
            "PONR": _num(ln.ponr),
            "POSX": "0",
            "ITNO": ln.itno,
            "ITDS": st.data.items[ln.itno].description,
            "ORQT": _num(ln.quantity),
            "ORQA": _num(ln.alt_quantity),
            "ALUN": ln.alun,
            "SAPR": _num(ln.unit_price),
            "NEPR": _num(ln.net_price),
            "NLAM": _money(ln.net_price * ln.alt_quantity),
            "ORST": ln.status,
            "ALQT": _num(ln.allocated),
            "DLQT": _num(ln.delivered),
            "IVQT": _num(ln.invoiced),
            "WHLO": ln.whlo,
            "DWDT": _ymd(ln.delivery_date),
        }
        for ln in o.lines
    ]


def _lst_by_number(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    """Customers from CUNO on, in number order; with LMTS only those changed since then."""
    st.check_company(ses, inp)
    start = inp.get("CUNO", "").strip()
    since = inp.get("LMTS", "").strip()
    if since and not since.isdigit():
        raise MiError("WLM0303", f"Timestamp {since} is invalid", "LMTS")
    records = []
    for cuno in sorted(st.data.customers):
        c = st.data.customers[cuno]
        stamp = c.changed_at.strftime("%Y%m%d%H%M%S") + "000"
        if cuno < start or (since and int(stamp) < int(since)):
            continue
        basic = _get_basic_data(st, ses, {"CUNO": cuno})[0]
        financial = _get_financial(st, ses, {"CUNO": cuno})[0]
        records.append({**basic, **financial, "DIVI": c.division, "STAT": c.stat})
    return records


def _lst_itm_by_chg_date(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    """Items whose change date (LMDT) lies between FLMD and TLMD (either may be absent)."""
    st.check_company(ses, inp)
    low = _parse_date(inp, "FLMD", date.min)
    high = _parse_date(inp, "TLMD", date.max)
    return [
        {**_item_record(it), "LMDT": _ymd(it.changed_on)}
        for it in sorted(st.data.items.values(), key=lambda i: (i.changed_on, i.itno))
        if low <= it.changed_on <= high
    ]


def _lst_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    cust = st.customer(inp)
    return [
        _head_record(o)
        for o in sorted(st.data.orders.values(), key=lambda o: o.orno)
        if o.cuno == cust.cuno and not o.batch
    ]


def _search_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    """``SQRY`` terms ``FIELD:value`` joined by spaces or ``AND`` (a subset of M3 search)."""
    st.check_company(ses, inp)
    query = inp.get("SQRY", "").strip()
    if not query:
        raise _missing("SQRY")
    wanted: dict[str, str] = {}
    for term in query.replace(" AND ", " ").split():
        name, sep, value = term.partition(":")
        if not sep or name.upper() not in {"CUOR", "CUNO", "ORNO"}:
            raise MiError("WSQ0303", f"Search query {query} is invalid", "SQRY")
        wanted[name.upper()] = value.strip('"')
    records = []
    for o in sorted(st.data.orders.values(), key=lambda o: o.orno):
        rec = _head_record(o)
        if not o.batch and all(rec[k] == v for k, v in wanted.items()):
            records.append(rec)
    return records
