"""Order to cash in the emulated Intacct company, moved by control calls (or a tick).

Each step writes the records Intacct itself would hold after it, with fresh ``WHENMODIFIED``
stamps (UTC, whole seconds) on everything it touches, so that readers find the change by
time window exactly as they would in a real company:

- ``allocate``: the sales order (and its lines) move to ``In Progress``.
- ``ship``: a ``Shipper`` document converted from the order (``CREATEDFROM`` = the order's
  ``DOCID``), ship date as its ``WHENCREATED``, carrier in ``SHIPVIA``, tracking number in the
  company's custom field ``TRACKINGNUMBER``, a line per order line shipped (``LINE_NO`` of the
  order line) with the quantity; the order lines' ``QTY_CONVERTED``/``QTY_REMAINING`` and the
  order's state (``Partially Converted`` → ``Converted``) follow. Partial shipments allowed.
- ``invoice``: a ``Sales Invoice`` document for everything shipped and not yet invoiced
  (``CREATEDFROM`` = the order), its shippers marked ``Converted``, and the posted
  ``ARINVOICE`` (``DOCHDRKEY`` = the Sales Invoice's ``RECORDNO``; net + tax in
  ``TOTALENTERED``, ``WHENDUE`` from the due days) with one ``ARINVOICEITEM`` per line and
  one for the tax; the customer's ``TOTALDUE`` grows.
- ``pay``: an ``ARPYMT`` and one ``ARPYMTDETAIL`` per invoice it pays (partial payments
  allowed); the invoices' ``TOTALPAID``/``TOTALDUE``/``STATE``/``WHENPAID`` and the customer's
  ``TOTALDUE`` follow.
- ``credit``: the customer's ``CREDITLIMIT`` and ``ONHOLD``.

Touching the sales order on ship and invoice, and the customer on invoice and payment, is our
reading of when Intacct bumps their ``WHENMODIFIED`` (UNVERIFIED; see the README).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.intacct.functions import USER_RECORDNO, Store
from sandbox.intacct.objects import OBJECTS
from sandbox.intacct.seed import fmt_date, fmt_datetime, fmt_num

__all__ = ["IntacctLifecycle", "LifecycleError"]

Record = dict[str, str]
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
DEFAULT_TAX_RATES = {"DE01": Decimal("0.19"), "UK01": Decimal("0.20")}


class LifecycleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text) if text else _ZERO
    except InvalidOperation:
        return _ZERO


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


class IntacctLifecycle:
    """Moves orders of ``store`` through their life; ``clock`` gives naive UTC instants."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._autopilot: asyncio.Task[None] | None = None

    # --- lookups ------------------------------------------------------------------------------

    def _rows(self, obj: str) -> list[Record]:
        return self.store.tables[obj]

    def order(self, ref: str) -> Record:
        """A sales order by its number (``SO1001``), ``DOCID`` or reference (``PONUMBER``)."""
        for row in self._rows("SODOCUMENT"):
            if row["DOCPARID"] == "Sales Order" and ref in (row["DOCNO"], row["DOCID"]):
                return row
        found = [
            r
            for r in self._rows("SODOCUMENT")
            if r["DOCPARID"] == "Sales Order" and r["PONUMBER"] == ref
        ]
        if not found:
            raise LifecycleError(404, f"no sales order {ref!r}")
        return found[-1]

    def lines(self, docid: str) -> list[Record]:
        rows = [r for r in self._rows("SODOCUMENTENTRY") if r["DOCHDRID"] == docid]
        return sorted(rows, key=lambda r: int(r["LINE_NO"] or 0))

    def children(self, order: Record, docpar: str) -> list[Record]:
        return [
            r
            for r in self._rows("SODOCUMENT")
            if r["DOCPARID"] == docpar and r["CREATEDFROM"] == order["DOCID"]
        ]

    def _customer(self, customer_id: str) -> Record:
        for row in self._rows("CUSTOMER"):
            if row["CUSTOMERID"] == customer_id:
                return row
        raise LifecycleError(404, f"no customer {customer_id!r}")

    def _invoice(self, ref: str) -> Record:
        for row in self._rows("ARINVOICE"):
            if ref in (row["RECORDID"], row["RECORDNO"]):
                return row
        raise LifecycleError(404, f"no invoice {ref!r}")

    # --- writing helpers ----------------------------------------------------------------------

    def _stamp(self) -> str:
        return fmt_datetime(self.clock())

    @staticmethod
    def _touch(record: Record, stamp: str) -> None:
        record["WHENMODIFIED"] = stamp
        if "MODIFIEDBY" in record:
            record["MODIFIEDBY"] = USER_RECORDNO

    def _add(self, obj: str, stamp: str, **values: str) -> Record:
        record = dict.fromkeys(OBJECTS[obj], "")
        record["RECORDNO"] = self.store.next_recordno(obj)
        for key, value in values.items():
            name = key.replace("__", ".")
            if name not in record:
                raise KeyError(f"{obj} has no field {name}")
            record[name] = value
        for name, value in (("WHENMODIFIED", stamp), ("CREATEDBY", USER_RECORDNO),
                            ("MODIFIEDBY", USER_RECORDNO)):  # fmt: skip
            if name in record and not record[name]:
                record[name] = value
        if "AUWHENCREATED" in record and not record["AUWHENCREATED"]:
            record["AUWHENCREATED"] = stamp
        self._rows(obj).append(record)
        return record

    def _next_docno(self, docpar: str, prefix: str) -> str:
        count = sum(1 for r in self._rows("SODOCUMENT") if r["DOCPARID"] == docpar)
        return f"{prefix}{count + 1001:04d}"

    # --- steps --------------------------------------------------------------------------------

    def allocate(self, ref: str) -> dict[str, Any]:
        order = self.order(ref)
        if order["STATE"] not in ("Pending", "Draft"):
            raise LifecycleError(409, f"order {order['DOCNO']} is {order['STATE']}: not open")
        stamp = self._stamp()
        order["STATE"] = "In Progress"
        self._touch(order, stamp)
        for line in self.lines(order["DOCID"]):
            line["STATE"] = "In Progress"
            self._touch(line, stamp)
        return {"order": order["DOCNO"], "state": order["STATE"], "modified": stamp}

    def ship(
        self,
        ref: str,
        *,
        quantities: dict[int, Decimal] | None = None,
        carrier: str = "DHL",
        tracking: str | None = None,
        shipped_on: date | None = None,
    ) -> dict[str, Any]:
        """Ship ``quantities`` (order line number → quantity; default: all that remains)."""
        order = self.order(ref)
        if order["STATE"] in ("Converted", "Closed", "Draft"):
            raise LifecycleError(
                409, f"order {order['DOCNO']} is {order['STATE']}: nothing to ship"
            )
        lines = {int(ln["LINE_NO"]): ln for ln in self.lines(order["DOCID"])}
        wanted = quantities or {
            n: _dec(ln["QUANTITY"]) - _dec(ln["QTY_CONVERTED"]) for n, ln in lines.items()
        }
        shipping: list[tuple[Record, Decimal]] = []
        for n, qty in sorted(wanted.items()):
            line = lines.get(n)
            if line is None:
                raise LifecycleError(422, f"order {order['DOCNO']} has no line {n}")
            remaining = _dec(line["QUANTITY"]) - _dec(line["QTY_CONVERTED"])
            if qty <= 0 or qty > remaining:
                raise LifecycleError(422, f"line {n}: {qty} is more than the {remaining} left")
            shipping.append((line, qty))
        if not shipping:
            raise LifecycleError(409, f"order {order['DOCNO']} has nothing left to ship")
        stamp = self._stamp()
        day = shipped_on or self.clock().date()
        docno = self._next_docno("Shipper", "SH")
        docid = f"Shipper-{docno}"
        subtotal = sum((_money(_dec(ln["PRICE"]) * q) for ln, q in shipping), _ZERO)
        shipper = self._add(
            "SODOCUMENT", stamp, DOCNO=docno, DOCID=docid, DOCPARID="Shipper", STATE="Pending",
            CLOSED="false", STATUS="active", CREATEDFROM=order["DOCID"],
            PONUMBER=order["PONUMBER"], CUSTVENDID=order["CUSTVENDID"],
            CUSTVENDNAME=order["CUSTVENDNAME"], CURRENCY=order["CURRENCY"],
            SUBTOTAL=fmt_num(subtotal), TOTAL=fmt_num(subtotal), SHIPVIA=carrier,
            TRACKINGNUMBER=tracking or f"1Z{docno}{order['DOCNO']}", WHENCREATED=fmt_date(day),
            MEGAENTITYID=order["MEGAENTITYID"], MEGAENTITYNAME=order["MEGAENTITYNAME"],
        )  # fmt: skip
        for line, qty in shipping:
            self._add(
                "SODOCUMENTENTRY", stamp, DOCHDRID=docid, DOCHDRNO=shipper["RECORDNO"],
                DOCPARID="Shipper", LINE_NO=line["LINE_NO"], ITEMID=line["ITEMID"],
                ITEMNAME=line["ITEMNAME"], QUANTITY=fmt_num(qty), UNIT=line["UNIT"],
                PRICE=line["PRICE"], TOTAL=fmt_num(_money(_dec(line["PRICE"]) * qty)),
                STATE="Pending", LOCATIONID=line["LOCATIONID"], SOURCE_DOCID=order["DOCID"],
                SOURCE_DOCLINEKEY=line["RECORDNO"], WHENCREATED=stamp,
                MEGAENTITYID=line["MEGAENTITYID"],
                WAREHOUSE__LOCATION_NO=line["WAREHOUSE.LOCATION_NO"],
            )  # fmt: skip
            converted = _dec(line["QTY_CONVERTED"]) + qty
            line["QTY_CONVERTED"] = fmt_num(converted)
            line["QTY_REMAINING"] = fmt_num(_dec(line["QUANTITY"]) - converted)
            line["STATE"] = "Converted" if converted >= _dec(line["QUANTITY"]) else (
                "Partially Converted"
            )  # fmt: skip
            self._touch(line, stamp)
        done = all(_dec(ln["QTY_CONVERTED"]) >= _dec(ln["QUANTITY"]) for ln in lines.values())
        order["STATE"] = "Converted" if done else "Partially Converted"
        order["CLOSED"] = "false"
        self._touch(order, stamp)
        return {"order": order["DOCNO"], "shipment": docno, "state": order["STATE"],
                "lines": {ln["LINE_NO"]: fmt_num(q) for ln, q in shipping}, "modified": stamp}  # fmt: skip

    def invoice(
        self,
        ref: str,
        *,
        tax_rate: Decimal | None = None,
        invoiced_on: date | None = None,
        due_days: int = 30,
    ) -> dict[str, Any]:
        """Invoice every shipped, not yet invoiced quantity of the order."""
        order = self.order(ref)
        shippers = [s for s in self.children(order, "Shipper") if s["STATE"] != "Converted"]
        if not shippers:
            raise LifecycleError(409, f"order {order['DOCNO']} has no shipment to invoice")
        stamp = self._stamp()
        day = invoiced_on or self.clock().date()
        entity = order["MEGAENTITYID"]
        rate = DEFAULT_TAX_RATES.get(entity, Decimal("0.10")) if tax_rate is None else tax_rate
        order_lines = {ln["LINE_NO"]: ln for ln in self.lines(order["DOCID"])}
        per_line: dict[str, Decimal] = {}
        for shipper in shippers:
            for sline in self.lines(shipper["DOCID"]):
                per_line[sline["LINE_NO"]] = per_line.get(sline["LINE_NO"], _ZERO) + _dec(
                    sline["QUANTITY"]
                )
            shipper["STATE"] = "Converted"
            self._touch(shipper, stamp)
        net = sum((_money(_dec(order_lines[n]["PRICE"]) * q) for n, q in per_line.items()), _ZERO)
        tax = _money(net * rate)
        total = net + tax
        docno = self._next_docno("Sales Invoice", "SI")
        docid = f"Sales Invoice-{docno}"
        document = self._add(
            "SODOCUMENT", stamp, DOCNO=docno, DOCID=docid, DOCPARID="Sales Invoice",
            STATE="Closed", CLOSED="true", STATUS="active", CREATEDFROM=order["DOCID"],
            PONUMBER=order["PONUMBER"], CUSTVENDID=order["CUSTVENDID"],
            CUSTVENDNAME=order["CUSTVENDNAME"], CURRENCY=order["CURRENCY"],
            SUBTOTAL=fmt_num(net), TOTAL=fmt_num(total), WHENCREATED=fmt_date(day),
            WHENDUE=fmt_date(day + timedelta(days=due_days)), MEGAENTITYID=entity,
            MEGAENTITYNAME=order["MEGAENTITYNAME"],
        )  # fmt: skip
        for n, qty in sorted(per_line.items(), key=lambda kv: int(kv[0])):
            line = order_lines[n]
            self._add(
                "SODOCUMENTENTRY", stamp, DOCHDRID=docid, DOCHDRNO=document["RECORDNO"],
                DOCPARID="Sales Invoice", LINE_NO=n, ITEMID=line["ITEMID"],
                ITEMNAME=line["ITEMNAME"], QUANTITY=fmt_num(qty), UNIT=line["UNIT"],
                PRICE=line["PRICE"], TOTAL=fmt_num(_money(_dec(line["PRICE"]) * qty)),
                STATE="Closed", LOCATIONID=line["LOCATIONID"], SOURCE_DOCID=order["DOCID"],
                SOURCE_DOCLINEKEY=line["RECORDNO"], WHENCREATED=stamp, MEGAENTITYID=entity,
            )  # fmt: skip
        customer = self._customer(order["CUSTVENDID"])
        number = sum(1 for r in self._rows("ARINVOICE") if r["MEGAENTITYID"] == entity) + 1
        invoice_id = f"INV-{entity[:2]}-{number + 1000:05d}"
        invoice = self._add(
            "ARINVOICE", stamp, RECORDTYPE="ri", RECORDID=invoice_id, STATE="Posted",
            RAWSTATE="A", CUSTOMERID=customer["CUSTOMERID"], CUSTOMERNAME=customer["NAME"],
            DOCNUMBER=order["PONUMBER"], DESCRIPTION=f"Sales Invoice {docno} for {order['DOCID']}",
            TERMNAME=customer["TERMNAME"], WHENCREATED=fmt_date(day), WHENPOSTED=fmt_date(day),
            WHENDUE=fmt_date(day + timedelta(days=due_days)), CURRENCY=order["CURRENCY"],
            BASECURR=order["CURRENCY"], TOTALENTERED=fmt_num(total), TOTALPAID="0",
            TOTALDUE=fmt_num(total), TRX_TOTALENTERED=fmt_num(total), TRX_TOTALPAID="0",
            TRX_TOTALDUE=fmt_num(total), DOCHDRKEY=document["RECORDNO"], MEGAENTITYID=entity,
            MEGAENTITYNAME=order["MEGAENTITYNAME"],
        )  # fmt: skip
        for k, (n, qty) in enumerate(sorted(per_line.items(), key=lambda kv: int(kv[0])), 1):
            amount = _money(_dec(order_lines[n]["PRICE"]) * qty)
            self._invoice_item(
                invoice,
                stamp,
                k,
                account="4000",
                amount=amount,
                text=f"{order_lines[n]['ITEMID']} x {qty}",
            )
        self._invoice_item(
            invoice, stamp, len(per_line) + 1, account="2200", amount=tax, text=f"Tax {rate * 100}%"
        )
        customer["TOTALDUE"] = fmt_num(_dec(customer["TOTALDUE"]) + total)
        self._touch(customer, stamp)
        self._touch(order, stamp)
        return {"order": order["DOCNO"], "invoice": invoice_id, "document": docno,
                "net": fmt_num(net), "tax": fmt_num(tax), "total": fmt_num(total),
                "modified": stamp}  # fmt: skip

    def _invoice_item(
        self, invoice: Record, stamp: str, n: int, *, account: str, amount: Decimal, text: str
    ) -> None:
        self._add(
            "ARINVOICEITEM", stamp, RECORDKEY=invoice["RECORDNO"], LINE_NO=str(n),
            ENTRY_DATE=invoice["WHENCREATED"], AMOUNT=fmt_num(amount), TRX_AMOUNT=fmt_num(amount),
            TOTALPAID="0", TRX_TOTALPAID="0", ACCOUNTNO=account, ENTRYDESCRIPTION=text,
            LOCATIONID=invoice["MEGAENTITYID"], CURRENCY=invoice["CURRENCY"],
            BASECURR=invoice["CURRENCY"], STATE="Posted", RECORDTYPE="ri",
            CUSTOMERID=invoice["CUSTOMERID"], CUSTOMERNAME=invoice["CUSTOMERNAME"],
            WHENCREATED=stamp,
        )  # fmt: skip

    def pay(
        self,
        invoices: list[str],
        *,
        amount: Decimal | None = None,
        method: str = "EFT",
        paid_on: date | None = None,
    ) -> dict[str, Any]:
        """Receive ``amount`` (default: all that is due) and apply it to ``invoices`` in order."""
        targets = [self._invoice(ref) for ref in invoices]
        if not targets:
            raise LifecycleError(422, "name at least one invoice")
        customers = {t["CUSTOMERID"] for t in targets}
        if len(customers) != 1:
            raise LifecycleError(422, "a payment pays invoices of one customer")
        due = sum((_dec(t["TOTALDUE"]) for t in targets), _ZERO)
        if due <= 0:
            raise LifecycleError(409, "nothing is due on these invoices")
        left = due if amount is None else amount
        if left <= 0 or left > due:
            raise LifecycleError(422, f"amount must lie between 0 and the {due} due")
        stamp = self._stamp()
        day = paid_on or self.clock().date()
        customer = self._customer(customers.pop())
        number = len(self._rows("ARPYMT")) + 1
        payment = self._add(
            "ARPYMT", stamp, RECORDTYPE="rp", STATE="Applied", RAWSTATE="C",
            PAYMENTMETHOD=method, CUSTOMERID=customer["CUSTOMERID"],
            CUSTOMERNAME=customer["NAME"], DOCNUMBER=f"PAY-{number + 1000:05d}",
            RECEIPTDATE=fmt_date(day), PAYMENTDATE=fmt_date(day), WHENCREATED=fmt_date(day),
            WHENPAID=fmt_date(day), CURRENCY=targets[0]["CURRENCY"],
            BASECURR=targets[0]["CURRENCY"], TOTALENTERED=fmt_num(left), TOTALPAID=fmt_num(left),
            TRX_TOTALENTERED=fmt_num(left), TRX_TOTALPAID=fmt_num(left),
            MEGAENTITYID=targets[0]["MEGAENTITYID"],
        )  # fmt: skip
        applied: dict[str, str] = {}
        for invoice in targets:
            if left <= 0:
                break
            part = min(left, _dec(invoice["TOTALDUE"]))
            if part <= 0:
                continue
            left -= part
            self._add(
                "ARPYMTDETAIL", stamp, PAYMENTKEY=payment["RECORDNO"], PAYMENTDATE=fmt_date(day),
                RECORDKEY=invoice["RECORDNO"], CURRENCY=invoice["CURRENCY"],
                PAYMENTAMOUNT=fmt_num(part), TRX_PAYMENTAMOUNT=fmt_num(part), STATE="Posted",
                WHENCREATED=stamp, MEGAENTITYID=invoice["MEGAENTITYID"],
            )  # fmt: skip
            paid = _dec(invoice["TOTALPAID"]) + part
            remaining = _dec(invoice["TOTALENTERED"]) - paid
            invoice.update(
                TOTALPAID=fmt_num(paid), TOTALDUE=fmt_num(remaining),
                TRX_TOTALPAID=fmt_num(paid), TRX_TOTALDUE=fmt_num(remaining),
                STATE="Paid" if remaining <= 0 else "Partially Paid",
                WHENPAID=fmt_date(day) if remaining <= 0 else "",
            )  # fmt: skip
            self._touch(invoice, stamp)
            applied[invoice["RECORDID"]] = fmt_num(part)
        received = sum((Decimal(v) for v in applied.values()), _ZERO)
        customer["TOTALDUE"] = fmt_num(_dec(customer["TOTALDUE"]) - received)
        self._touch(customer, stamp)
        return {"payment": payment["DOCNUMBER"], "applied": applied, "modified": stamp}

    def credit(
        self,
        customer_id: str,
        *,
        limit: Decimal | None = None,
        clear_limit: bool = False,
        on_hold: bool | None = None,
    ) -> dict[str, Any]:
        customer = self._customer(customer_id)
        if limit is not None and limit < 0:
            raise LifecycleError(422, "a credit limit cannot be negative")
        if limit is not None:
            customer["CREDITLIMIT"] = fmt_num(limit)
        elif clear_limit:
            customer["CREDITLIMIT"] = ""
        if on_hold is not None:
            customer["ONHOLD"] = "true" if on_hold else "false"
        stamp = self._stamp()
        self._touch(customer, stamp)
        return {"customer": customer_id, "creditlimit": customer["CREDITLIMIT"],
                "onhold": customer["ONHOLD"], "modified": stamp}  # fmt: skip

    def bulk_invoices(
        self, count: int, *, entity: str = "DE01", amount: Decimal = Decimal("100.00")
    ) -> dict[str, Any]:
        """``count`` posted invoices (no sales documents) spread over the entity's active
        customers, all modified now: a backlog of changes for load tests and benchmarks."""
        if not 0 < count <= 100_000:
            raise LifecycleError(422, "count must lie between 1 and 100000")
        customers = [
            c for c in self._rows("CUSTOMER")
            if c["MEGAENTITYID"] == entity and c["STATUS"] == "active"
        ]  # fmt: skip
        if not customers:
            raise LifecycleError(404, f"no active customers in entity {entity!r}")
        stamp = self._stamp()
        day = self.clock().date()
        first = sum(1 for r in self._rows("ARINVOICE") if r["MEGAENTITYID"] == entity) + 1
        rows = self._rows("ARINVOICE")
        recordno = int(self.store.next_recordno("ARINVOICE"))
        for n in range(count):
            customer = customers[n % len(customers)]
            total = fmt_num(amount + Decimal(n % 100) / 100)
            record = dict.fromkeys(OBJECTS["ARINVOICE"], "")
            record.update(
                RECORDNO=str(recordno + n), RECORDTYPE="ri",
                RECORDID=f"INV-{entity[:2]}-B{first + n:06d}", STATE="Posted", RAWSTATE="A",
                CUSTOMERID=customer["CUSTOMERID"], CUSTOMERNAME=customer["NAME"],
                TERMNAME=customer["TERMNAME"], WHENCREATED=fmt_date(day),
                WHENPOSTED=fmt_date(day), WHENDUE=fmt_date(day + timedelta(days=30)),
                CURRENCY=customer["CURRENCY"], BASECURR=customer["CURRENCY"],
                TOTALENTERED=total, TOTALPAID="0", TOTALDUE=total, TRX_TOTALENTERED=total,
                TRX_TOTALPAID="0", TRX_TOTALDUE=total, WHENMODIFIED=stamp, AUWHENCREATED=stamp,
                CREATEDBY=USER_RECORDNO, MODIFIEDBY=USER_RECORDNO, MEGAENTITYID=entity,
                MEGAENTITYNAME=customer["MEGAENTITYNAME"],
            )  # fmt: skip
            rows.append(record)
        return {"created": count, "first": f"INV-{entity[:2]}-B{first:06d}", "modified": stamp}

    def autopilot(self, every_s: float | None) -> dict[str, Any]:
        """Tick every ``every_s`` seconds on the server's event loop (None: stop)."""
        if self._autopilot is not None:
            self._autopilot.cancel()
            self._autopilot = None
        if every_s is None:
            return {"autopilot": None}
        if not 0.1 <= every_s <= 86_400:
            raise LifecycleError(422, "every_s must lie between 0.1 and 86400")

        async def run() -> None:
            while True:
                await asyncio.sleep(every_s)
                self.tick()

        self._autopilot = asyncio.get_running_loop().create_task(run())
        return {"autopilot": every_s}

    def tick(self) -> list[dict[str, Any]]:
        """One step for every order Isthmus created (``PONUMBER`` set by a client): allocate,
        ship half, ship the rest, invoice, pay half, pay the rest."""
        done: list[dict[str, Any]] = []
        for order in list(self._rows("SODOCUMENT")):
            if order["DOCPARID"] != "Sales Order" or order["PONUMBER"].startswith("LEGACY-"):
                continue
            try:
                done.append(self._advance(order))
            except LifecycleError:
                continue
        return [d for d in done if d]

    def _advance(self, order: Record) -> dict[str, Any]:
        ref = order["DOCNO"]
        if order["STATE"] == "Pending":
            return self.allocate(ref)
        if order["STATE"] in ("In Progress", "Partially Converted"):
            lines = self.lines(order["DOCID"])
            half = {
                int(ln["LINE_NO"]): max(Decimal(1), (_dec(ln["QUANTITY"]) / 2).to_integral_value())
                for ln in lines
                if _dec(ln["QTY_CONVERTED"]) == 0 and _dec(ln["QUANTITY"]) > 1
            }
            return self.ship(ref, quantities=half or None)
        if order["STATE"] == "Converted":
            if any(s["STATE"] != "Converted" for s in self.children(order, "Shipper")):
                return self.invoice(ref)
            open_invoices = [
                i["RECORDID"]
                for i in self._rows("ARINVOICE")
                if i["DOCNUMBER"] == order["PONUMBER"] and _dec(i["TOTALDUE"]) > 0
                and i["DESCRIPTION"].endswith(order["DOCID"])
            ]  # fmt: skip
            if open_invoices:
                invoice = self._invoice(open_invoices[0])
                half = _money(_dec(invoice["TOTALENTERED"]) / 2)
                due = _dec(invoice["TOTALDUE"])
                return self.pay(open_invoices[:1], amount=half if due > half else None)
        return {}

    # --- HTTP control -------------------------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """``POST /_sandbox/lifecycle/{allocate|ship|invoice|pay|credit|tick}`` with JSON."""
        action = path.removeprefix("/_sandbox/lifecycle/").strip("/")
        if method != "POST":
            return 405, {"error": "use POST"}
        try:
            spec = json.loads(body or b"{}")
            if not isinstance(spec, dict):
                raise LifecycleError(400, "the body must be a JSON object")
            return 200, self._dispatch(action, spec)
        except LifecycleError as exc:
            return exc.status, {"error": exc.message}
        except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
            return 400, {"error": f"bad request: {exc}"}

    def _dispatch(self, action: str, spec: dict[str, Any]) -> Any:
        day = date.fromisoformat
        if action == "allocate":
            return self.allocate(str(spec["order"]))
        if action == "ship":
            lines = spec.get("lines")
            return self.ship(
                str(spec["order"]),
                quantities={int(k): Decimal(str(v)) for k, v in lines.items()} if lines else None,
                carrier=str(spec.get("carrier", "DHL")),
                tracking=spec.get("tracking"),
                shipped_on=day(spec["date"]) if spec.get("date") else None,
            )
        if action == "invoice":
            return self.invoice(
                str(spec["order"]),
                tax_rate=Decimal(str(spec["tax_rate"])) if "tax_rate" in spec else None,
                invoiced_on=day(spec["date"]) if spec.get("date") else None,
                due_days=int(spec.get("due_days", 30)),
            )
        if action == "pay":
            invoices = spec.get("invoices") or [spec["invoice"]]
            return self.pay(
                [str(i) for i in invoices],
                amount=Decimal(str(spec["amount"])) if spec.get("amount") is not None else None,
                method=str(spec.get("method", "EFT")),
                paid_on=day(spec["date"]) if spec.get("date") else None,
            )
        if action == "credit":
            return self.credit(
                str(spec["customer"]),
                limit=Decimal(str(spec["limit"])) if spec.get("limit") is not None else None,
                clear_limit="limit" in spec and spec["limit"] is None,
                on_hold=spec.get("on_hold"),
            )
        if action == "tick":
            return {"advanced": self.tick()}
        if action == "autopilot":
            every = spec.get("every_s")
            return self.autopilot(float(every) if every is not None else None)
        if action == "bulk_invoices":
            return self.bulk_invoices(
                int(spec["count"]), entity=str(spec.get("entity", "DE01")),
                amount=Decimal(str(spec.get("amount", "100.00"))),
            )  # fmt: skip
        raise LifecycleError(404, f"unknown lifecycle action {action!r}")
