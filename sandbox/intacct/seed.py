"""Deterministic seed data for the Intacct emulator: one company, two entities (EUR, GBP).

Everything is computed from indices (no randomness), so ids and amounts are the same on every
run. Dates that must stay "in the future" or "overdue" (purchase receipts, invoice due dates)
are relative to the ``today`` the emulator is built with; price list windows are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sandbox.intacct.objects import OBJECTS

__all__ = ["ENTITIES", "Seed", "build_seed", "fmt_date", "fmt_datetime", "fmt_num"]

Record = dict[str, str]

ENTITIES: dict[str, str] = {"DE01": "EUR", "UK01": "GBP"}
"""Entity (``locationid``) → base currency."""

ENTITY_DEFAULT_PRICE_LIST = {"DE01": "EUR Standard", "UK01": "GBP Standard"}
CUSTOMERS_PER_ENTITY = 22
ITEM_COUNT = 160
WAREHOUSES = (
    ("WH-BER", "Berlin DC", "BER", "DE01"),
    ("WH-MUC", "Munich DC", "MUC", "DE01"),
    ("WH-LON", "London DC", "LON", "UK01"),
)
UOM_GROUPS = (
    # name, [(unit, factor)], base first
    ("EA-BOX12-PAL480", (("EA", 1), ("BOX", 12), ("PAL", 480))),
    ("EA-CASE6", (("EA", 1), ("CASE", 6))),
    ("EA-BOX24-PAL960", (("EA", 1), ("BOX", 24), ("PAL", 960))),
    ("EA-CASE6-BOX12", (("EA", 1), ("CASE", 6), ("BOX", 12))),
)
PRODUCT_LINES = ("PL-FAST", "PL-TOOL", "PL-SAFE", "PL-SERV")
TERMS = ("N30", "N60", "2/10 N30", "N14", "Due on receipt")
CLOSED_STATES = {"Closed", "Converted"}
_CENT = Decimal("0.01")
_NAMES = (
    "Alpen",
    "Brück",
    "Cedar",
    "Delta",
    "Elbe",
    "Fjord",
    "Granit",
    "Harbour",
    "Isar",
    "Jura",
    "Kessel",
    "Lynx",
    "Moor",
    "Nordic",
    "Oak",
    "Pilot",
    "Quarz",
    "Rhein",
    "Stahl",
    "Thames",
    "Ufer",
    "Vale",
)
_NOUNS = (
    "Hex Bolt",
    "Wing Nut",
    "Torque Wrench",
    "Safety Glove",
    "Drill Bit",
    "Rivet",
    "Cable Tie",
    "Hinge",
    "Anchor",
    "Spanner",
    "Helmet",
    "Service Kit",
)


def fmt_date(d: date | None) -> str:
    return "" if d is None else d.strftime("%m/%d/%Y")


def fmt_datetime(d: date) -> str:
    """``MM/DD/YYYY HH:MM:SS``; a plain date is stamped 09:00:00."""
    if isinstance(d, datetime):
        return d.strftime("%m/%d/%Y %H:%M:%S")
    return d.strftime("%m/%d/%Y") + " 09:00:00"


def fmt_num(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


def _changed(today: date, days_ago: int, minutes: int) -> str:
    """A last-modified timestamp ``days_ago`` days before ``today``, spread over the day."""
    moment = datetime.combine(today - timedelta(days=days_ago), time(6)) + timedelta(
        minutes=minutes % 720
    )
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _blank(obj: str) -> Record:
    return dict.fromkeys(OBJECTS[obj], "")


@dataclass
class Seed:
    tables: dict[str, list[Record]] = field(default_factory=dict)

    def add(self, obj: str, **values: str) -> Record:
        rows = self.tables.setdefault(obj, [])
        record = _blank(obj)
        record["RECORDNO"] = str(len(rows) + 1)
        for key, value in values.items():
            name = key.replace("__", ".")
            if name not in record:
                raise KeyError(f"{obj} has no field {name}")
            record[name] = value
        rows.append(record)
        return record


def _item_base_price(i: int) -> Decimal:
    return _money(Decimal(4) + Decimal((i * 37) % 190) + Decimal((i * 13) % 100) / 100)


def build_seed(today: date) -> Seed:
    seed = Seed()
    created = fmt_datetime(date(2024, 1, 15))
    audit = {
        "WHENCREATED": created,
        "WHENMODIFIED": created,
        "CREATEDBY": "1",
        "MODIFIEDBY": "1",
        "CREATEDBYLOGINID": "Admin",
        "MODIFIEDBYLOGINID": "Admin",
    }

    for entity, currency in ENTITIES.items():
        seed.add(
            "LOCATION",
            LOCATIONID=entity,
            NAME=f"Isthmus {entity}",
            STATUS="active",
            CURRENCY=currency,
            **audit,
        )
    for _wh, name, loc, entity in WAREHOUSES:
        seed.add(
            "LOCATION",
            LOCATIONID=loc,
            NAME=name,
            PARENTID=entity,
            STATUS="active",
            CURRENCY=ENTITIES[entity],
            ENTITY=entity,
            **audit,
        )
    for dept, title in (("SALES", "Sales"), ("SERVICE", "Service"), ("MKT", "Marketing")):
        seed.add("DEPARTMENT", DEPARTMENTID=dept, TITLE=title, STATUS="active", **audit)
    for cls, name in (("RETAIL", "Retail"), ("WHOLESALE", "Wholesale"), ("OEM", "OEM")):
        seed.add("CLASS", CLASSID=cls, NAME=name, STATUS="active", **audit)
    seed.add("PROJECT", PROJECTID="PRJ-001", NAME="Rollout 2026", STATUS="active", **audit)
    seed.add("PROJECT", PROJECTID="PRJ-002", NAME="Closed pilot", STATUS="inactive", **audit)

    # Units of measure: groups and their details (base unit first).
    group_keys: dict[str, int] = {}
    for name, units in UOM_GROUPS:
        grp = seed.add(
            "UOM", NAME=name, ISSYSTEM="false", INVUOM="EA", POUOM=units[-1][0], OEUOM="EA", **audit
        )
        group_keys[name] = int(grp["RECORDNO"])
        for unit, factor in units:
            seed.add(
                "UOMDETAIL",
                UNIT=unit,
                ABBREVIATION=unit,
                GRPKEY=grp["RECORDNO"],
                CONVFACTOR=str(factor),
                NUMDECIMALS="0",
                ISBASE="true" if factor == 1 else "false",
            )

    # Items: shared across entities.
    items: list[Record] = []
    for i in range(1, ITEM_COUNT + 1):
        group_name, units = UOM_GROUPS[(i - 1) % len(UOM_GROUPS)]
        line = PRODUCT_LINES[(i - 1) % len(PRODUCT_LINES)]
        stocked = line != "PL-SERV" or i % 8 != 0
        base_price = _item_base_price(i)
        so_unit, so_factor = units[1]
        items.append(
            seed.add(
                "ITEM",
                ITEMID=f"ITM-{i:04d}",
                NAME=f"{_NAMES[i % len(_NAMES)]} {_NOUNS[i % len(_NOUNS)]} {i:03d}",
                STATUS="inactive" if i % 20 == 7 else "active",
                ITEMTYPE="Inventory" if stocked else "Non-Inventory",
                PRODUCTLINEID=line,
                GLGROUP="Goods",
                BASEPRICE=fmt_num(base_price),
                STANDARD_COST=fmt_num(_money(base_price * Decimal("0.58"))),
                TAXABLE="true",
                MRR="false",
                UOMGRP=group_name,
                UOMGRPKEY=str(group_keys[group_name]),
                BASEUOM="EA",
                UOM__INVUOMDETAIL__UNIT="EA",
                UOM__SOUOMDETAIL__UNIT=so_unit,
                UOM__SOUOMDETAIL__CONVFACTOR=str(so_factor),
                UOM__POUOMDETAIL__UNIT=units[-1][0],
                UOM__POUOMDETAIL__CONVFACTOR=str(units[-1][1]),
                **audit,
            )
        )

    _seed_stock(seed, items, today, audit)
    _seed_price_lists(seed, items, audit)
    _seed_customers(seed, items, today, audit)
    return seed


def _seed_stock(seed: Seed, items: list[Record], today: date, audit: Record) -> None:
    for wh_id, name, loc, entity in WAREHOUSES:
        seed.add(
            "WAREHOUSE",
            WAREHOUSEID=wh_id,
            NAME=name,
            LOCATIONID=wh_id,
            LOC__LOCATIONID=loc,
            STATUS="active",
            USEDINGL="true",
            MEGAENTITYID=entity,
            **audit,
        )
    po_no = 0
    totals: dict[str, dict[str, int]] = {}
    for n, item in enumerate(items, start=1):
        if item["ITEMTYPE"] != "Inventory":
            continue
        for w, (wh_id, _name, _loc, entity) in enumerate(WAREHOUSES):
            if wh_id == "WH-MUC" and n % 9 == 0:
                continue  # not every item is stocked everywhere
            on_hand = (n * 53 + w * 97) % 900 + (0 if n % 13 == 0 else 40)
            if n % 17 == 0:
                on_hand = 0
            reserved = (n * 7 + w * 5) % 30
            allocated = min(on_hand, (n * 3 + w) % 25)
            reserved = min(reserved, on_hand - allocated)
            on_hold = (n + w) % 4
            on_order = 0
            if n % 2 == 0 or n % 17 == 0:
                for k in range(1 + (n % 3 == 0)):
                    po_no += 1
                    qty = 120 + ((n + k * 31 + w * 11) % 10) * 60
                    received = 0 if k else (n % 5) * 10
                    on_order += qty - received
                    seed.add(
                        "PODOCUMENTENTRY",
                        DOCHDRID=f"Purchase Order-PO{po_no:05d}",
                        DOCPARID="Purchase Order",
                        LINE_NO="1",
                        ITEMID=item["ITEMID"],
                        ITEMNAME=item["NAME"],
                        WAREHOUSE__LOCATION_NO=wh_id,
                        QUANTITY=str(qty),
                        QTY_REMAINING=str(qty - received),
                        QTY_CONVERTED=str(received),
                        UNIT="EA",
                        PRICE=item["STANDARD_COST"],
                        STATE="Pending" if received == 0 else "Partially Converted",
                        WHENDUE=fmt_date(today + timedelta(days=7 + 14 * k + (n % 10))),
                        MEGAENTITYID=entity,
                        **audit,
                    )
            seed.add(
                "ITEMWAREHOUSEINFO",
                ITEMID=item["ITEMID"],
                WAREHOUSEID=wh_id,
                WONHAND=str(on_hand),
                WONORDER=str(on_order),
                WONHOLD=str(on_hold),
                WRESERVED=str(reserved),
                WALLOCATED=str(allocated),
                WINTRANSIT="0",
                AVERAGE_COST=item["STANDARD_COST"],
                LAST_COST=item["STANDARD_COST"],
                MEGAENTITYID=entity,
                **audit,
            )
            agg = totals.setdefault(
                item["ITEMID"],
                {"on_hand": 0, "on_order": 0, "reserved": 0, "allocated": 0, "on_hold": 0},
            )
            agg["on_hand"] += on_hand
            agg["on_order"] += on_order
            agg["reserved"] += reserved
            agg["allocated"] += allocated
            agg["on_hold"] += on_hold
    for item in items:
        agg = totals.get(
            item["ITEMID"],
            dict.fromkeys(("on_hand", "on_order", "reserved", "allocated", "on_hold"), 0),
        )
        item.update(
            IONHAND=str(agg["on_hand"]),
            IONORDER=str(agg["on_order"]),
            IRESERVED=str(agg["reserved"]),
            IALLOCATED=str(agg["allocated"]),
            IONHOLD=str(agg["on_hold"]),
            IINTRANSIT="0",
            IUNCOMMITTED=str(agg["on_hand"] - agg["reserved"] - agg["allocated"]),
        )


def _seed_price_lists(seed: Seed, items: list[Record], audit: Record) -> None:
    old_from, old_to = date(2000, 1, 1), date(2025, 12, 31)
    new_from, new_to = date(2026, 1, 1), date(2099, 12, 31)
    for name in ("EUR Standard", "GBP Standard", "Key Accounts", "Service Uplift"):
        seed.add(
            "SOPRICELIST",
            NAME=name,
            DATEFROM=fmt_date(old_from),
            DATETO=fmt_date(new_to),
            SALEPURCHASE="Sales",
            STATUS="active",
            **audit,
        )

    def entry(
        plist: str,
        currency: str,
        value: Decimal,
        vtype: str,
        *,
        item: Record | None = None,
        line: str = "",
        start: date = new_from,
        end: date = new_to,
        qmin: int = 0,
        qmax: int | None = None,
    ) -> None:
        seed.add(
            "SOPRICELISTENTRY",
            PRICELISTID=plist,
            ITEMID=item["ITEMID"] if item else "",
            ITEMNAME=item["NAME"] if item else "",
            PRODUCTLINEID=line,
            DATEFROM=fmt_date(start),
            DATETO=fmt_date(end),
            QTYLIMITMIN=str(qmin),
            QTYLIMITMAX="" if qmax is None else str(qmax),
            VALUE=fmt_num(value),
            VALUETYPE=vtype,
            QTY_OR_VALUE="Q",
            FIXED="false",
            CURRENCY=currency,
            STATUS="active",
            **audit,
        )

    for n, item in enumerate(items, start=1):
        base = Decimal(item["BASEPRICE"])
        for plist, currency, rate in (
            ("EUR Standard", "EUR", Decimal(1)),
            ("GBP Standard", "GBP", Decimal("0.86")),
        ):
            price = _money(base * rate)
            # The previous year's price: effective dating must pick the right one.
            entry(
                plist,
                currency,
                _money(price * Decimal("0.95")),
                "Actual",
                item=item,
                start=old_from,
                end=old_to,
            )
            if n % 5 == 0:  # quantity breaks (in the item's base unit)
                entry(plist, currency, price, "Actual", item=item, qmin=0, qmax=99)
                entry(
                    plist,
                    currency,
                    _money(price * Decimal("0.92")),
                    "Actual",
                    item=item,
                    qmin=100,
                    qmax=999,
                )
                entry(
                    plist, currency, _money(price * Decimal("0.85")), "Actual", item=item, qmin=1000
                )
            else:
                entry(plist, currency, price, "Actual", item=item)
    # Key Accounts (EUR): percentage discount per product line, item overrides on top.
    for pct, line in (
        (Decimal(10), "PL-FAST"),
        (Decimal(12), "PL-TOOL"),
        (Decimal(8), "PL-SAFE"),
        (Decimal(5), "PL-SERV"),
    ):
        entry("Key Accounts", "EUR", pct, "% Discount", line=line)
    for n, item in enumerate(items, start=1):
        if n % 10 == 3:
            entry("Key Accounts", "EUR", Decimal("1.50"), "Dollar Discount", item=item)
        elif n % 10 == 6:
            entry(
                "Key Accounts",
                "EUR",
                _money(Decimal(item["BASEPRICE"]) * Decimal("0.8")),
                "Actual",
                item=item,
            )
    # Service Uplift (EUR): markups for service-heavy customers.
    entry("Service Uplift", "EUR", Decimal(15), "% Markup", line="PL-SERV")
    for n, item in enumerate(items, start=1):
        if n % 4 == 1:
            entry("Service Uplift", "EUR", Decimal("2.00"), "Dollar Markup", item=item)


def _mail_address(entity: str, i: int) -> dict[str, str]:
    """A customer's mail address (its display contact's), as ``MAILADDRESS__*`` seed fields."""
    de = entity == "DE01"
    return {
        "MAILADDRESS__ADDRESS1": f"{10 + i} {'Hafenstrasse' if de else 'Dock Road'}",
        "MAILADDRESS__CITY": "Hamburg" if de else "Bristol",
        "MAILADDRESS__ZIP": f"20{457 + i}" if de else f"BS1 {i}AA",
        "MAILADDRESS__COUNTRY": "Germany" if de else "United Kingdom",
        "MAILADDRESS__COUNTRYCODE": "DE" if de else "GB",
    }


def _seed_customers(seed: Seed, items: list[Record], today: date, audit: Record) -> None:
    so_no = 0
    inv_no = 0
    pay_no = 0
    for e, (entity, currency) in enumerate(ENTITIES.items()):
        prefix = "CUST-DE" if entity == "DE01" else "CUST-UK"
        for i in range(1, CUSTOMERS_PER_ENTITY + 1):
            cust_id = f"{prefix}-{i:03d}"
            name = f"{_NAMES[(i + e * 5) % len(_NAMES)]} {('GmbH', 'Ltd')[e]} {i:02d}"
            mail = _mail_address(entity, i)
            status = "inactive" if i in (20, 21) else "active"
            on_hold = i in (5, 12, 19)
            limit = "" if i % 11 == 0 else str(5000 + (i * 2500) % 60000)
            plist = ""
            if entity == "DE01" and i in (3, 7, 9):
                plist = "Key Accounts"
            elif entity == "DE01" and i == 15:
                plist = "Service Uplift"
            customer = seed.add(
                "CUSTOMER",
                CUSTOMERID=cust_id,
                NAME=name,
                STATUS=status,
                TERMNAME=TERMS[i % len(TERMS)],
                CREDITLIMIT=limit,
                TOTALDUE="0",
                ONHOLD="true" if on_hold else "false",
                CURRENCY=currency,
                CUSTTYPE="Key Account" if plist == "Key Accounts" else "Trade",
                TAXID=f"{entity[:2]}{100000000 + i * 7919}",
                ONETIME="false",
                DISPLAYCONTACT__PRINTAS=name,
                DISPLAYCONTACT__COMPANYNAME=name,
                **{f"DISPLAYCONTACT__{k}": v for k, v in mail.items()},
                PRICELIST=plist,
                OBJECTRESTRICTION="Unrestricted",
                MEGAENTITYID=entity,
                MEGAENTITYNAME=f"Isthmus {entity}",
                **{**audit, "WHENMODIFIED": _changed(today, i * 3 + e, i * 37)},
            )
            seed.add(
                "CONTACT",
                CONTACTNAME=f"{name} ({cust_id})",
                PRINTAS=name,
                COMPANYNAME=name,
                EMAIL1=f"ap@{cust_id.lower()}.example",
                **mail,
                STATUS="active",
                MEGAENTITYID=entity,
                **audit,
            )
            customer["DISPLAYCONTACT.CONTACTNAME"] = f"{name} ({cust_id})"
            if status == "inactive":
                continue
            # Invoices: paid, partially paid and open, some overdue.
            total_due = Decimal(0)
            for k in range(i % 4):
                inv_no += 1
                amount = _money(Decimal(200 + ((i * 131 + k * 977) % 4800)) + Decimal(i) / 4)
                paid = (
                    amount
                    if k == 0 and i % 3 == 0
                    else (_money(amount / 2) if k == 1 else Decimal(0))
                )
                due = amount - paid
                issued = today - timedelta(days=10 + 25 * k + i)
                when_due = issued + timedelta(days=30)
                state = "Paid" if due == 0 else ("Partially Paid" if paid else "Posted")
                invoice = seed.add(
                    "ARINVOICE",
                    RECORDID=f"INV-{entity[:2]}-{inv_no:05d}",
                    STATE=state,
                    CUSTOMERID=cust_id,
                    CUSTOMERNAME=name,
                    TERMNAME=customer["TERMNAME"],
                    WHENCREATED=fmt_date(issued),
                    WHENDUE=fmt_date(when_due),
                    WHENPAID=fmt_date(when_due - timedelta(days=3)) if due == 0 else "",
                    CURRENCY=currency,
                    TOTALENTERED=fmt_num(amount),
                    TOTALPAID=fmt_num(paid),
                    TOTALDUE=fmt_num(due),
                    WHENMODIFIED=_changed(today, 10 + 25 * k + i - 1, inv_no * 29),
                    AUWHENCREATED=fmt_datetime(issued),
                    DOCNUMBER=f"INV-{entity[:2]}-{inv_no:05d}",
                    MEGAENTITYID=entity,
                    MEGAENTITYNAME=f"Isthmus {entity}",
                )
                seed.add(
                    "ARINVOICEITEM",
                    RECORDKEY=invoice["RECORDNO"],
                    LINE_NO="1",
                    ENTRY_DATE=fmt_date(issued),
                    AMOUNT=fmt_num(amount),
                    TRX_AMOUNT=fmt_num(amount),
                    TOTALPAID=fmt_num(paid),
                    TRX_TOTALPAID=fmt_num(paid),
                    ACCOUNTNO="4000",
                    ENTRYDESCRIPTION=f"Goods delivered ({invoice['RECORDID']})",
                    LOCATIONID=entity,
                    CURRENCY=currency,
                    BASECURR=currency,
                    STATE=state,
                    RECORDTYPE="ri",
                    CUSTOMERID=cust_id,
                    CUSTOMERNAME=name,
                    WHENCREATED=fmt_datetime(issued),
                    WHENMODIFIED=fmt_datetime(issued),
                    CREATEDBY="1",
                    MODIFIEDBY="1",
                )
                total_due += due
                if paid:
                    pay_no += 1
                    payment = seed.add(
                        "ARPYMT",
                        STATE="Posted",
                        PAYMENTMETHOD="EFT",
                        CUSTOMERID=cust_id,
                        CUSTOMERNAME=name,
                        DOCNUMBER=f"PAY-{pay_no:05d}",
                        RECEIPTDATE=fmt_date(when_due - timedelta(days=3)),
                        WHENPAID=fmt_date(when_due - timedelta(days=3)),
                        CURRENCY=currency,
                        TOTALENTERED=fmt_num(paid),
                        TOTALPAID=fmt_num(paid),
                        WHENCREATED=fmt_date(when_due - timedelta(days=3)),
                        AUWHENCREATED=fmt_datetime(when_due - timedelta(days=3)),
                        WHENMODIFIED=_changed(
                            today, max(0, (today - when_due).days + 3), pay_no * 31
                        ),
                        CREATEDBY="1",
                        MODIFIEDBY="1",
                        MEGAENTITYID=entity,
                    )
                    seed.add(  # how the payment was applied: to this invoice
                        "ARPYMTDETAIL",
                        PAYMENTKEY=payment["RECORDNO"],
                        PAYMENTDATE=payment["RECEIPTDATE"],
                        RECORDKEY=invoice["RECORDNO"],
                        CURRENCY=currency,
                        PAYMENTAMOUNT=fmt_num(paid),
                        TRX_PAYMENTAMOUNT=fmt_num(paid),
                        STATE="Posted",
                        WHENCREATED=payment["AUWHENCREATED"],
                        WHENMODIFIED=payment["WHENMODIFIED"],
                        CREATEDBY="1",
                        MODIFIEDBY="1",
                        MEGAENTITYID=entity,
                    )
            customer["TOTALDUE"] = fmt_num(total_due)
            # Sales orders: open ones make up exposure, closed/converted ones do not.
            states = ("Pending", "Partially Converted", "Converted", "Closed")
            for k in range((i + e) % 3):
                so_no += 1
                state = states[(i + k) % len(states)]
                docno = f"SO{so_no:04d}"
                item = items[(i * 7 + k * 3) % len(items)]
                if item["STATUS"] != "active":
                    item = items[0]
                qty = 5 + (i + k) % 20
                price = _money(Decimal(item["BASEPRICE"]) * (Decimal("0.86") if e else 1))
                total = _money(price * qty)
                header = seed.add(
                    "SODOCUMENT",
                    DOCNO=docno,
                    DOCID=f"Sales Order-{docno}",
                    DOCPARID="Sales Order",
                    STATE=state,
                    CLOSED="true" if state in CLOSED_STATES else "false",
                    STATUS="active",
                    PONUMBER=f"LEGACY-{so_no:04d}",
                    CUSTVENDID=cust_id,
                    CUSTVENDNAME=name,
                    WHENDUE=fmt_date(today + timedelta(days=14)),
                    TERM__NAME=customer["TERMNAME"],
                    CURRENCY=currency,
                    SUBTOTAL=fmt_num(total),
                    TOTAL=fmt_num(total),
                    MEGAENTITYID=entity,
                    MEGAENTITYNAME=f"Isthmus {entity}",
                    **{
                        **audit,
                        "WHENCREATED": fmt_date(date(2024, 1, 15)),
                        "WHENMODIFIED": _changed(today, i + k * 7, so_no * 13),
                    },
                    AUWHENCREATED=audit["WHENCREATED"],
                )
                seed.add(  # free shipping: the order's total stays the lines' total
                    "SODOCUMENTSUBTOTALS",
                    DOCHDRNO=header["RECORDNO"],
                    DESCRIPTION="Shipping",
                    ABSVAL="0",
                    TOTAL="0",
                    TRX_ABSVAL="0",
                    TRX_TOTAL="0",
                    STATUS="active",
                    LOCATION=entity,
                    MEGAENTITYID=entity,
                )
                seed.add(
                    "SODOCUMENTENTRY",
                    DOCHDRID=f"Sales Order-{docno}",
                    DOCHDRNO=header["RECORDNO"],
                    DOCPARID="Sales Order",
                    LINE_NO="1",
                    ITEMID=item["ITEMID"],
                    ITEMNAME=item["NAME"],
                    QUANTITY=str(qty),
                    UNIT="EA",
                    PRICE=fmt_num(price),
                    TOTAL=fmt_num(total),
                    STATE=state,
                    WAREHOUSE__LOCATION_NO="WH-BER" if entity == "DE01" else "WH-LON",
                    LOCATIONID=entity,
                    DEPARTMENTID="SALES",
                    MEGAENTITYID=entity,
                    **audit,
                )
    seed.tables.setdefault("SODOCUMENT", [])
    seed.tables.setdefault("SODOCUMENTENTRY", [])
    seed.tables.setdefault("SODOCUMENTSUBTOTALS", [])
