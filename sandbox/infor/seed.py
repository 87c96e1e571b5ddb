"""Deterministic seed data for the M3 emulator: one company, two divisions, customers, items.

Everything is computed from the item/customer index and ``today`` (so planned receipts and
price validity always lie around the day the emulator starts); nothing is random.

Ids (see ``sandbox/infor/README.md``):
- tenant ``ISTHMUS_TST``, company (CONO) ``100``, divisions ``US1`` (USD) and ``CA1`` (CAD);
- customers ``US0001``…``US0022`` (USD) and ``CA0001``…``CA0020`` (CAD);
- items ``A1001``…``A1160``, basic U/M ``EA``, alternates ``BOX`` (12), ``PAL`` (480),
  ``CS`` (6) on every third item; ``STAT 90`` (blocked) on the 8 items listed in
  ``BLOCKED_ITEMS``; two non-stocked service items;
- warehouses ``WUS``, ``WUE`` (division US1) and ``WCA`` (division CA1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

TENANT = "ISTHMUS_TST"
COMPANY = "100"
DIVISIONS: dict[str, str] = {"US1": "USD", "CA1": "CAD"}
CURRENCIES = ("USD", "CAD")
WAREHOUSES: dict[str, tuple[str, str, str]] = {
    # WHLO: (division, facility, name)
    "WUS": ("US1", "U01", "US Central"),
    "WUE": ("US1", "U02", "US East"),
    "WCA": ("CA1", "C01", "Canada Toronto"),
}
ORDER_TYPES = ("SO1", "SO2")
CAD_PER_USD = Decimal("1.35")

# Customer stop (BLCD): 1, 2, 3 on a few customers; STAT 90 on two (terminated/blocked).
CUSTOMER_STOPS: dict[str, int] = {"US0004": 1, "US0009": 2, "CA0005": 3, "CA0012": 1}
INACTIVE_CUSTOMERS = frozenset({"US0021", "CA0019"})
BLOCKED_ITEMS = frozenset(f"A{1000 + n}" for n in (13, 33, 53, 73, 93, 113, 133, 153))
SERVICE_ITEMS = frozenset({"A1158", "A1159"})

_NAMES = (
    "Acme Industrial",
    "Birch Supply",
    "Cobalt Tools",
    "Delta Fasteners",
    "Evergreen Parts",
    "Falcon Hydraulics",
    "Granite Works",
    "Harbor Marine",
    "Iron Ridge",
    "Juniper Electric",
    "Keystone Pumps",
    "Lakeside Farm",
    "Maple Fabrication",
    "Northwind Traders",
    "Orion Valves",
    "Pioneer Bearings",
    "Quarry Equipment",
    "Redwood Motors",
    "Summit Controls",
    "Tundra Air",
    "Union Castings",
    "Vertex Plastics",
)
_NOUNS = (
    "Hex bolt",
    "Flange nut",
    "Ball valve",
    "Pipe elbow",
    "Pressure gauge",
    "Bearing",
    "Drive belt",
    "Filter cartridge",
    "Hose clamp",
    "Gasket kit",
    "Relay",
    "Coupling",
    "Seal ring",
    "Shaft key",
    "Pulley",
)


@dataclass
class Address:
    """An address as M3 keeps it (a customer's in OCUSAD, an order's in OOADRE)."""

    adid: str
    name: str  # CUNM
    lines: tuple[str, ...]  # CUA1-CUA4
    town: str  # TOWN
    state: str  # ECAR
    postal_code: str  # PONO
    country: str  # CSCD
    phone: str = ""  # PHNO
    vat_number: str = ""  # VRNO
    changed_at: datetime = datetime(2024, 1, 1, 8, 0)  # LMTS (customer addresses)

    def fields(self) -> dict[str, str]:
        street = [*self.lines, "", "", "", ""]
        return {
            "ADID": self.adid,
            "CUNM": self.name,
            "CUA1": street[0],
            "CUA2": street[1],
            "CUA3": street[2],
            "CUA4": street[3],
            "TOWN": self.town,
            "ECAR": self.state,
            "PONO": self.postal_code,
            "CSCD": self.country,
        }


@dataclass
class Customer:
    cuno: str
    name: str
    division: str
    currency: str
    stat: str  # 20 definite, 90 blocked/terminated
    blcd: int
    credit_limit_1: Decimal  # CRLM
    credit_limit_2: Decimal  # CRL2
    credit_limit_3: Decimal  # CRL3: outstanding invoices + orders
    outstanding_invoices: Decimal  # TOIN
    open_orders: Decimal  # TBLG
    overdue_amount: Decimal  # TDIN
    overdue_days: int  # ODUE
    max_overdue_days: int  # ODUD
    terms: str  # TEPY
    discount_percent: Decimal  # DIP1 in price lines
    customer_type: str = "1"
    country: str = "US"
    changed_at: datetime = datetime(2024, 1, 1, 8, 0)  # LMDT / LMTS
    addresses: dict[tuple[str, str], Address] = field(default_factory=dict)  # (ADRT, ADID)
    # Basic data (CRS610 E panel) and order info, changeable through CRS610MI.
    street: list[str] = field(default_factory=list)  # CUA1..CUA4
    town: str = ""  # TOWN
    postal_code: str = ""  # PONO
    state: str = ""  # ECAR
    phone: str = ""  # PHNO
    email: str = ""  # MAIL
    vat_number: str = ""  # VRNO
    price_list: str = ""  # PLTB
    your_ref: str = ""  # YREF
    template: str = ""  # CUTM it was created from
    registered: date | None = None  # RGDT


@dataclass
class ContactPerson:
    """CRS618 contact person; ``ERTP`` 1 with ``EMRE`` = the customer number it works for."""

    cnpe: str
    name: str  # TX50
    status: str = "20"
    first_name: str = ""
    last_name: str = ""
    title: str = ""  # JTIT
    email: str = ""
    phone: str = ""
    contact_type: str = ""  # RFTP
    employer_type: int = 0  # ERTP
    employer: str = ""  # EMRE
    registered: date | None = None
    changed_at: datetime = datetime(2024, 1, 1, 8, 0)


@dataclass
class Connection:
    """CMS055: a contact person connected to a customer (and optionally one of its addresses)."""

    cuno: str
    cnpe: str
    adrt: int = 0
    adid: str = ""
    contact_type: str = ""


@dataclass
class AccountingId:
    """FCHACC: an accounting identity of one accounting dimension (AITP 2-7), per division."""

    division: str
    dimension: int  # AITP
    code: str  # AITM
    name: str  # TX40
    blocked: bool = False  # LCCD
    changed_at: datetime = datetime(2024, 1, 1, 8, 0)


@dataclass
class AltUom:
    alun: str
    cofa: Decimal
    dmcf: int = 1  # 1 multiply by COFA to get basic U/M, 2 divide
    autp: int = 1


@dataclass
class PlannedReceipt:
    when: date
    quantity: Decimal


@dataclass
class Balance:
    whlo: str
    itno: str
    on_hand: Decimal
    allocated: Decimal
    receipts: list[PlannedReceipt] = field(default_factory=list)


@dataclass
class PriceLine:
    prrf: str
    currency: str
    itno: str
    valid_from: date
    valid_to: date
    breaks: tuple[tuple[Decimal, Decimal], ...]  # (minimum basic quantity, unit price)


@dataclass
class Item:
    itno: str
    description: str
    stat: str
    basic_uom: str
    item_type: str
    item_group: str
    stocked: bool
    alternates: list[AltUom]
    base_price_usd: Decimal
    changed_on: date = date(2024, 1, 1)  # LMDT


@dataclass
class OrderLine:
    ponr: int
    itno: str
    quantity: Decimal  # ORQT in basic U/M
    alun: str
    alt_quantity: Decimal  # ORQA in ALUN
    unit_price: Decimal  # SAPR per ALUN
    net_price: Decimal  # NEPR per ALUN
    whlo: str
    delivery_date: date
    status: str = "22"
    # Progress in basic U/M (OOLINE ALQT, DLQT, IVQT) and the confirmed date (CODT).
    allocated: Decimal = Decimal(0)
    delivered: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)
    confirmed_date: date | None = None


@dataclass
class Order:
    orno: str
    cuno: str
    cuor: str
    ortp: str
    currency: str
    division: str
    facility: str
    whlo: str
    order_date: date
    requested_date: date
    status: str = "20"
    lines: list[OrderLine] = field(default_factory=list)
    batch: bool = False  # still an AddBatchHead order, not yet confirmed
    yref: str = ""  # YREF, the customer's reference (their PO)
    adid: str = ""  # ADID, the delivery address number on the head
    addresses: dict[str, Address] = field(default_factory=dict)  # ADRT "1" delivery, "3" invoice
    texts: list[tuple[str, str]] = field(default_factory=list)  # (TYTR, text line) of the head
    changed_at: datetime | None = None  # LMDT / LMTS of the head (None: the order date)

    @property
    def net_amount(self) -> Decimal:
        return sum((ln.net_price * ln.alt_quantity for ln in self.lines), Decimal(0))


@dataclass
class DeliveryLine:
    ponr: int
    itno: str
    alun: str
    quantity: Decimal  # basic U/M
    alt_quantity: Decimal  # in ALUN


@dataclass
class Delivery:
    dlix: int
    orno: str
    whlo: str
    delivered: date
    lines: list[DeliveryLine]
    carrier: str = ""  # forwarding agent (MHDISH FWNO)
    tracking: str = ""  # carrier's tracking number (UNVERIFIED field, see README)
    changed_at: datetime | None = None


@dataclass
class Invoice:
    yea4: int
    ivno: int
    orno: str
    dlix: int
    whlo: str
    cuno: str
    invoiced: date
    due: date
    currency: str
    amount: Decimal  # net (AMT1)
    tax: Decimal = Decimal(0)  # VTAM
    paid: Decimal = Decimal(0)  # amount paid; RAFC = amount + tax - paid
    changed_at: datetime | None = None


@dataclass
class PaymentApplication:
    yea4: int
    ivno: int
    amount: Decimal


@dataclass
class Payment:
    """A customer payment as the customer ledger (FSLEDG) holds it, applied to invoices."""

    pyno: str  # payment (voucher) number
    cuno: str
    division: str
    paid: date
    currency: str
    amount: Decimal
    method: str  # PYCD payment method
    applications: list[PaymentApplication]
    changed_at: datetime


@dataclass
class SeedData:
    today: date
    customers: dict[str, Customer]
    items: dict[str, Item]
    balances: dict[tuple[str, str], Balance]  # (WHLO, ITNO)
    price_lines: list[PriceLine]
    orders: dict[str, Order]
    deliveries: list[Delivery] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    templates: dict[str, Customer] = field(default_factory=dict)  # CUTM for CRS610MI/Add
    contacts: dict[str, ContactPerson] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    accounting_ids: list[AccountingId] = field(default_factory=list)


def _customer(prefix: str, n: int) -> Customer:
    cuno = f"{prefix}{n:04d}"
    division, currency, country = ("US1", "USD", "US") if prefix == "US" else ("CA1", "CAD", "CA")
    limit3 = Decimal(20000 + (n * 7919) % 80 * 1000)
    invoices = Decimal((n * 3571) % 9000 + 500) + Decimal("0.25") * (n % 4)
    orders = Decimal((n * 1327) % 6000)
    overdue = Decimal(0) if n % 3 else (invoices / 4).quantize(Decimal("0.01"))
    return Customer(
        cuno=cuno,
        name=f"{_NAMES[(n - 1) % len(_NAMES)]} {'Inc' if prefix == 'US' else 'Ltd'}",
        division=division,
        currency=currency,
        stat="90" if cuno in INACTIVE_CUSTOMERS else "20",
        blcd=CUSTOMER_STOPS.get(cuno, 0),
        credit_limit_1=(limit3 / 10).quantize(Decimal(1)),
        credit_limit_2=(limit3 * Decimal("0.8")).quantize(Decimal(1)),
        credit_limit_3=limit3,
        outstanding_invoices=invoices,
        open_orders=orders,
        overdue_amount=overdue,
        overdue_days=0 if n % 3 else 10 + n % 40,
        max_overdue_days=30,
        terms="30" if n % 2 else "60",
        discount_percent=Decimal(5) if n % 4 == 1 else Decimal(0) if n % 4 else Decimal("2.5"),
        country=country,
        changed_at=datetime(2024, 1, 1, 8, 0) + timedelta(days=n * 11, minutes=n * 7),
        street=[f"{cuno[2:]} Main Street"],
        town="Chicago" if country == "US" else "Toronto",
        postal_code=f"606{n:02d}" if country == "US" else f"M5V {n % 10}A{n % 10}",
        state="IL" if country == "US" else "ON",
        phone=f"+1 555 01{cuno[-2:]}",
        email=f"orders@{cuno.lower()}.example.com",
        vat_number=f"{country}{n:09d}",
        price_list=f"L{currency}",
        registered=date(2023, 1, 1) + timedelta(days=n),
        addresses=_addresses(prefix, n),
    )


def _addresses(prefix: str, n: int) -> dict[tuple[str, str], Address]:
    """Each customer's delivery address ``DOCK1`` (type 1) and invoice address ``AP`` (type 3)."""
    name = f"{_NAMES[(n - 1) % len(_NAMES)]} {'Inc' if prefix == 'US' else 'Ltd'}"
    town, state, country = ("Chicago", "IL", "US") if prefix == "US" else ("Toronto", "ON", "CA")
    dock = Address("DOCK1", name, (f"Dock {n}", f"{100 + n} Harbor Road"), town, state,
                   f"{60600 + n}" if prefix == "US" else f"M5V {n}A1", country)  # fmt: skip
    ap = Address("AP", name, ("Accounts Payable", f"{n} Main Street"), town, state,
                 f"{60600 + n}" if prefix == "US" else f"M5V {n}A2", country)  # fmt: skip
    return {("1", dock.adid): dock, ("3", ap.adid): ap}


def _item(n: int) -> Item:
    itno = f"A{1000 + n}"
    alternates = [AltUom("BOX", Decimal(12))]
    if itno not in SERVICE_ITEMS:
        alternates.append(AltUom("PAL", Decimal(480)))
    if n % 3 == 0:
        alternates.append(AltUom("CS", Decimal(6)))
    service = itno in SERVICE_ITEMS
    return Item(
        itno=itno,
        description=f"{_NOUNS[n % len(_NOUNS)]} {n:03d}"[:30],
        stat="90" if itno in BLOCKED_ITEMS else "20",
        basic_uom="EA",
        item_type="SRV" if service else "FG",
        item_group=f"G{n % 7:02d}",
        stocked=not service,
        alternates=alternates,
        base_price_usd=Decimal(5 + (n * 37) % 200) + Decimal((n * 13) % 100) / 100,
        changed_on=date(2024, 1, 1) + timedelta(days=(n * 5) % 700),
    )


def _balances(item: Item, n: int, today: date) -> list[Balance]:
    if not item.stocked:
        return []
    homes = ["WUS", "WUE"] + (["WCA"] if n % 2 == 0 else [])
    result = []
    for k, whlo in enumerate(homes):
        on_hand = Decimal((n * 37 + k * 101) % 500 + 20)
        allocated = Decimal((n * 13 + k * 7) % 20)
        receipts = []
        # Every item gets planned receipts somewhere; most in its first warehouse.
        if k == 0 or (n + k) % 3 == 0:
            receipts = [
                PlannedReceipt(today + timedelta(days=7 + (n + k) % 5), Decimal(100 + n % 50)),
                PlannedReceipt(today + timedelta(days=21 + (n + k) % 7), Decimal(240)),
            ]
        result.append(Balance(whlo, item.itno, on_hand, allocated, receipts))
    return result


def _price_lines(item: Item, n: int, today: date) -> list[PriceLine]:
    """List prices with quantity breaks (basic U/M) per currency, plus a promotion on some."""
    lines = []
    for currency, prrf in (("USD", "LUSD"), ("CAD", "LCAD")):
        base = item.base_price_usd if currency == "USD" else item.base_price_usd * CAD_PER_USD
        base = base.quantize(Decimal("0.01"))
        breaks = (
            (Decimal(1), base),
            (Decimal(100), (base * Decimal("0.95")).quantize(Decimal("0.01"))),
            (Decimal(500), (base * Decimal("0.90")).quantize(Decimal("0.01"))),
        )
        lines.append(
            PriceLine(prrf, currency, item.itno, date(2020, 1, 1), date(2099, 12, 31), breaks)
        )
        if n % 10 == 7:  # a promotion, valid around today only
            promo = (base * Decimal("0.85")).quantize(Decimal("0.01"))
            lines.append(
                PriceLine(
                    f"P{currency}",
                    currency,
                    item.itno,
                    today - timedelta(days=10),
                    today + timedelta(days=20),
                    ((Decimal(1), promo),),
                )
            )
    return lines


def build_seed(today: date) -> SeedData:
    customers = {c.cuno: c for c in [_customer("US", n) for n in range(1, 23)]}
    customers.update({c.cuno: c for c in [_customer("CA", n) for n in range(1, 21)]})
    items: dict[str, Item] = {}
    balances: dict[tuple[str, str], Balance] = {}
    price_lines: list[PriceLine] = []
    for n in range(1, 161):
        item = _item(n)
        items[item.itno] = item
        for bal in _balances(item, n, today):
            balances[(bal.whlo, bal.itno)] = bal
        price_lines.extend(_price_lines(item, n, today))
    orders: dict[str, Order] = {}
    for k, cuno in enumerate(("US0002", "US0003", "CA0002", "US0002")):
        cust = customers[cuno]
        whlo = "WUS" if cust.division == "US1" else "WCA"
        orno = f"{1000000001 + k}"
        itno = f"A{1002 + k}"
        price = items[itno].base_price_usd
        orders[orno] = Order(
            orno=orno,
            cuno=cuno,
            cuor=f"SEED-PO-{k + 1:04d}",
            ortp="SO1",
            currency=cust.currency,
            division=cust.division,
            facility=WAREHOUSES[whlo][1],
            whlo=whlo,
            order_date=today - timedelta(days=3 + k),
            requested_date=today,
            lines=[
                OrderLine(
                    1,
                    itno,
                    Decimal(24),
                    "BOX",
                    Decimal(2),
                    price * 12,
                    price * 12,
                    whlo,
                    today + timedelta(days=2),
                )
            ],
        )
    data = SeedData(today, customers, items, balances, price_lines, orders)
    _deliver_and_invoice(data)
    _master_data(data)
    return data


def _master_data(data: SeedData) -> None:
    """Templates, customer addresses and contacts, and accounting identities."""
    for cuno, (division, currency, country) in (
        ("TUSD", ("US1", "USD", "US")),
        ("TCAD", ("CA1", "CAD", "CA")),
    ):
        data.templates[cuno] = Customer(
            cuno=cuno, name=f"Template {currency}", division=division, currency=currency,
            stat="20", blcd=0, credit_limit_1=Decimal(0), credit_limit_2=Decimal(0),
            credit_limit_3=Decimal(5000), outstanding_invoices=Decimal(0),
            open_orders=Decimal(0), overdue_amount=Decimal(0), overdue_days=0,
            max_overdue_days=30, terms="30", discount_percent=Decimal(0), country=country,
            price_list=f"L{currency}",
        )  # fmt: skip
    for n, cust in enumerate(sorted(data.customers.values(), key=lambda c: c.cuno), start=1):
        if n % 3 == 0:
            cnpe = f"{cust.cuno}-C1"
            data.contacts[cnpe] = ContactPerson(
                cnpe=cnpe, name=f"Buyer {cust.cuno}", first_name="Pat", last_name=f"Buyer{n}",
                title="Buyer", email=f"buyer{n}@{cust.cuno.lower()}.example.com",
                employer_type=1, employer=cust.cuno, registered=date(2024, 1, 1),
                changed_at=cust.changed_at,
            )  # fmt: skip
            data.connections.append(Connection(cuno=cust.cuno, cnpe=cnpe))
    dimensions = {
        2: (("CC100", "Sales"), ("CC200", "Service"), ("CC300", "Marketing")),
        3: (("RETAIL", "Retail"), ("WHOLESALE", "Wholesale"), ("OEM", "OEM")),
        4: (("P1000", "Rollout 2026"), ("P2000", "Legacy migration")),
        5: (("CHI", "Chicago"), ("TOR", "Toronto"), ("NYC", "New York")),
    }
    for division in DIVISIONS:
        for dimension, values in dimensions.items():
            for code, name in values:
                data.accounting_ids.append(
                    AccountingId(
                        division=division,
                        dimension=dimension,
                        code=code,
                        name=name,
                        blocked=code in ("CC300", "P2000"),
                    )
                )


def _deliver_and_invoice(data: SeedData) -> None:
    """Seed order 1 delivered and invoiced, seed order 3 delivered (not yet invoiced)."""
    for k, orno in enumerate(("1000000001", "1000000003")):
        order = data.orders[orno]
        dlix = 2000000001 + k
        delivered = order.order_date + timedelta(days=1)
        data.deliveries.append(
            Delivery(
                dlix,
                orno,
                order.whlo,
                delivered,
                [
                    DeliveryLine(ln.ponr, ln.itno, ln.alun, ln.quantity, ln.alt_quantity)
                    for ln in order.lines
                ],
            )
        )
        for ln in order.lines:
            ln.status = "66"
            ln.allocated = ln.delivered = ln.quantity
        if k == 0:
            for ln in order.lines:
                ln.status = "77"
                ln.invoiced = ln.quantity
            data.invoices.append(
                Invoice(
                    yea4=delivered.year,
                    ivno=300001,
                    orno=orno,
                    dlix=dlix,
                    whlo=order.whlo,
                    cuno=order.cuno,
                    invoiced=delivered,
                    due=delivered + timedelta(days=30),
                    currency=order.currency,
                    amount=order.net_amount,
                )
            )
