"""Order to cash in the emulated M3 company, moved by control calls (or a tick).

Each step changes what M3's own tables would hold afterwards and stamps the change
(``LMDT``/``LMTS``, see ``M3State.now``) on every record it touches, so readers find it by
change stamp (``EXPORTMI``, ``CRS610MI/LstByNumber LMTS``) and see it in the standard
transactions (``OIS100MI/GetHead``/``LstLine``, ``MWS411MI``, ``OIS350MI``):

- ``allocate``: order lines allocated (``ALQT``), status 33, confirmed date ``CODT``.
- ``ship``: a delivery (``DLIX``) with the quantities shipped per line (partial deliveries
  allowed), forwarding agent (carrier), tracking number and departure date; delivered
  quantities (``DLQT``) and line statuses follow (36 part delivered, 66 delivered).
- ``invoice``: one invoice per delivery not yet invoiced (M3 invoices delivery by delivery):
  net amount, VAT at the given rate, due date from the payment terms' days; invoiced
  quantities (``IVQT``) and statuses (67, 77) follow; the customer's outstanding invoices
  (``TOIN``) grow and its open orders (``TBLG``) shrink.
- ``pay``: a payment in the customer ledger applied to invoices in order (partial payments
  allowed); each invoice's remaining amount (``RAFC``) and the customer's ``TOIN`` follow.
- ``credit``: the customer's credit limit (``CRL3``) and customer stop (``BLCD``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.infor import seed as S
from sandbox.infor.transactions import M3State

__all__ = ["LifecycleError", "M3Lifecycle", "line_status", "stamp_of"]

_CENT = Decimal("0.01")
_ZERO = Decimal(0)
DEFAULT_TAX_RATE = Decimal("0.08")


class LifecycleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def stamp_of(changed: datetime | None, fallback: date) -> datetime:
    """A record's change instant; seed records without one changed at 08:00 on ``fallback``."""
    return (
        changed
        if changed is not None
        else datetime.combine(fallback, datetime.min.time()).replace(hour=8)
    )


def line_status(line: S.OrderLine) -> str:
    """Lowest and highest progress reached: 2 to allocate, 3 allocated, 6 delivered, 7 invoiced."""
    if line.status in ("90", "99"):
        return line.status
    qty = line.quantity
    if line.invoiced >= qty:
        return "77"
    if line.delivered >= qty:
        low = "6"
    elif line.allocated >= qty:
        low = "3"
    else:
        low = "2"
    if line.invoiced > 0:
        high = "7"
    elif line.delivered > 0:
        high = "6"
    elif line.allocated > 0:
        high = "3"
    else:
        high = "2"
    return low + high


class M3Lifecycle:
    def __init__(self, state: M3State) -> None:
        self.state = state
        self._autopilot: asyncio.Task[None] | None = None

    @property
    def data(self) -> S.SeedData:
        return self.state.data

    # --- lookups ------------------------------------------------------------------------------

    def order(self, ref: str) -> S.Order:
        """An order by its number (``ORNO``) or the customer's order number (``CUOR``)."""
        found = self.data.orders.get(ref)
        if found is not None and not found.batch:
            return found
        matches = [o for o in self.data.orders.values() if o.cuor == ref and not o.batch]
        if not matches:
            raise LifecycleError(404, f"no customer order {ref!r}")
        return matches[-1]

    def invoice(self, ref: str) -> S.Invoice:
        """``IVNO`` or ``YEA4-IVNO``."""
        year, _, number = ref.rpartition("-")
        for inv in self.data.invoices:
            if str(inv.ivno) == number and (not year or str(inv.yea4) == year):
                return inv
        raise LifecycleError(404, f"no invoice {ref!r}")

    def deliveries(self, order: S.Order) -> list[S.Delivery]:
        return [d for d in self.data.deliveries if d.orno == order.orno]

    def _touch(self, order: S.Order, now: datetime) -> None:
        for line in order.lines:
            line.status = line_status(line)
        order.changed_at = now

    # --- steps --------------------------------------------------------------------------------

    def allocate(self, ref: str) -> dict[str, Any]:
        order = self.order(ref)
        open_lines = [ln for ln in order.lines if ln.allocated < ln.quantity]
        if not open_lines:
            raise LifecycleError(409, f"order {order.orno} is allocated already")
        now = self.state.now()
        for line in open_lines:
            line.allocated = line.quantity
            line.confirmed_date = line.delivery_date
        self._touch(order, now)
        return {"order": order.orno, "statuses": [ln.status for ln in order.lines],
                "modified": now.isoformat()}  # fmt: skip

    def ship(
        self,
        ref: str,
        *,
        quantities: dict[int, Decimal] | None = None,
        carrier: str = "UPS",
        tracking: str | None = None,
        shipped_on: date | None = None,
    ) -> dict[str, Any]:
        """Deliver ``quantities`` (line ``PONR`` → quantity in the line's unit ``ALUN``;
        default: all that remains)."""
        order = self.order(ref)
        by_ponr = {ln.ponr: ln for ln in order.lines}
        shipping: list[tuple[S.OrderLine, Decimal]] = []
        for ponr, line in sorted(by_ponr.items()):
            per_alun = line.quantity / line.alt_quantity if line.alt_quantity else Decimal(1)
            left_alt = (line.quantity - line.delivered) / per_alun
            if quantities is None:
                if left_alt > 0:
                    shipping.append((line, left_alt))
                continue
            if ponr in quantities:
                wanted = quantities[ponr]
                if wanted <= 0 or wanted > left_alt:
                    raise LifecycleError(
                        422, f"line {ponr}: {wanted} is more than the {left_alt} left"
                    )
                shipping.append((line, wanted))
        unknown = set(quantities or {}) - set(by_ponr)
        if unknown:
            raise LifecycleError(422, f"order {order.orno} has no line {sorted(unknown)[0]}")
        if not shipping:
            raise LifecycleError(409, f"order {order.orno} has nothing left to deliver")
        now = self.state.now()
        dlix = max((d.dlix for d in self.data.deliveries), default=2000000100) + 1
        dlix = max(dlix, 2000000101)
        lines = []
        for line, alt_qty in shipping:
            per_alun = line.quantity / line.alt_quantity if line.alt_quantity else Decimal(1)
            basic = alt_qty * per_alun
            line.allocated = max(line.allocated, line.delivered + basic)
            line.delivered += basic
            lines.append(S.DeliveryLine(line.ponr, line.itno, line.alun, basic, alt_qty))
        self.data.deliveries.append(
            S.Delivery(
                dlix=dlix,
                orno=order.orno,
                whlo=order.whlo,
                delivered=shipped_on or now.date(),
                lines=lines,
                carrier=carrier,
                tracking=tracking or f"1Z{order.orno[-4:]}{dlix}",
                changed_at=now,
            )
        )
        self._touch(order, now)
        return {"order": order.orno, "delivery": dlix,
                "lines": {str(dl.ponr): format(dl.alt_quantity.normalize(), "f") for dl in lines},
                "statuses": [ln.status for ln in order.lines], "modified": now.isoformat()}  # fmt: skip

    def invoice_order(
        self,
        ref: str,
        *,
        tax_rate: Decimal = DEFAULT_TAX_RATE,
        invoiced_on: date | None = None,
        due_days: int | None = None,
    ) -> dict[str, Any]:
        """One invoice per delivery of the order not yet invoiced."""
        order = self.order(ref)
        invoiced_dlix = {i.dlix for i in self.data.invoices}
        pending = [d for d in self.deliveries(order) if d.dlix not in invoiced_dlix]
        if not pending:
            raise LifecycleError(409, f"order {order.orno} has no delivery to invoice")
        now = self.state.now()
        day = invoiced_on or now.date()
        customer = self.data.customers[order.cuno]
        days = due_days if due_days is not None else int(customer.terms or 30)
        by_ponr = {ln.ponr: ln for ln in order.lines}
        created = []
        for delivery in pending:
            net = _ZERO
            for dl in delivery.lines:
                line = by_ponr[dl.ponr]
                net += _money(line.net_price * dl.alt_quantity)
                line.invoiced += dl.quantity
            tax = _money(net * tax_rate)
            ivno = max((i.ivno for i in self.data.invoices), default=300000) + 1
            self.data.invoices.append(
                S.Invoice(
                    yea4=day.year,
                    ivno=ivno,
                    orno=order.orno,
                    dlix=delivery.dlix,
                    whlo=delivery.whlo,
                    cuno=order.cuno,
                    invoiced=day,
                    due=day + timedelta(days=days),
                    currency=order.currency,
                    amount=net,
                    tax=tax,
                    changed_at=now,
                )
            )
            customer.outstanding_invoices += net + tax
            customer.open_orders = max(_ZERO, customer.open_orders - net)
            created.append({"invoice": f"{day.year}-{ivno}", "delivery": delivery.dlix,
                            "net": str(net), "tax": str(tax), "total": str(net + tax)})  # fmt: skip
        customer.changed_at = now
        self._touch(order, now)
        return {"order": order.orno, "invoices": created, "modified": now.isoformat()}

    def pay(
        self,
        refs: list[str],
        *,
        amount: Decimal | None = None,
        method: str = "BT",
        paid_on: date | None = None,
    ) -> dict[str, Any]:
        targets = [self.invoice(r) for r in refs]
        if not targets:
            raise LifecycleError(422, "name at least one invoice")
        if len({t.cuno for t in targets}) != 1:
            raise LifecycleError(422, "a payment pays invoices of one customer")
        due = sum((t.amount + t.tax - t.paid for t in targets), _ZERO)
        if due <= 0:
            raise LifecycleError(409, "nothing is due on these invoices")
        left = due if amount is None else amount
        if left <= 0 or left > due:
            raise LifecycleError(422, f"amount must lie between 0 and the {due} due")
        now = self.state.now()
        customer = self.data.customers[targets[0].cuno]
        applications = []
        received = left
        for inv in targets:
            if left <= 0:
                break
            part = min(left, inv.amount + inv.tax - inv.paid)
            if part <= 0:
                continue
            left -= part
            inv.paid += part
            inv.changed_at = now
            applications.append(S.PaymentApplication(inv.yea4, inv.ivno, part))
        pyno = f"PY{len(self.data.payments) + 70001:08d}"
        self.data.payments.append(
            S.Payment(
                pyno=pyno,
                cuno=customer.cuno,
                division=customer.division,
                paid=paid_on or now.date(),
                currency=targets[0].currency,
                amount=received,
                method=method,
                applications=applications,
                changed_at=now,
            )
        )
        customer.outstanding_invoices = max(_ZERO, customer.outstanding_invoices - received)
        customer.changed_at = now
        return {"payment": pyno,
                "applied": {f"{a.yea4}-{a.ivno}": str(a.amount) for a in applications},
                "modified": now.isoformat()}  # fmt: skip

    def credit(
        self, cuno: str, *, limit: Decimal | None = None, on_hold: bool | None = None
    ) -> dict[str, Any]:
        customer = self.data.customers.get(cuno)
        if customer is None:
            raise LifecycleError(404, f"no customer {cuno!r}")
        if limit is not None:
            if limit < 0:
                raise LifecycleError(422, "a credit limit cannot be negative")
            customer.credit_limit_3 = limit
        if on_hold is not None:
            customer.blcd = 1 if on_hold else 0
        now = self.state.now()
        customer.changed_at = now
        return {"customer": cuno, "CRL3": str(customer.credit_limit_3), "BLCD": customer.blcd,
                "modified": now.isoformat()}  # fmt: skip

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
        """One step for every order created through the API: allocate, deliver half, deliver
        the rest, invoice, pay half, pay the rest."""
        done = []
        for order in list(self.data.orders.values()):
            if order.batch or order.cuor.startswith("SEED-"):
                continue
            try:
                step = self._advance(order)
            except LifecycleError:
                continue
            if step:
                done.append(step)
        return done

    def _advance(self, order: S.Order) -> dict[str, Any]:
        if any(ln.allocated < ln.quantity for ln in order.lines) and not any(
            ln.delivered for ln in order.lines
        ):
            return self.allocate(order.orno)
        if any(ln.delivered < ln.quantity for ln in order.lines):
            first = not any(ln.delivered for ln in order.lines)
            half = {
                ln.ponr: max(Decimal(1), (ln.alt_quantity / 2).to_integral_value())
                for ln in order.lines
                if first and ln.alt_quantity > 1
            }
            return self.ship(order.orno, quantities=half or None)
        invoiced = {i.dlix for i in self.data.invoices}
        if any(d.dlix not in invoiced for d in self.deliveries(order)):
            return self.invoice_order(order.orno)
        open_invoices = [
            i for i in self.data.invoices if i.orno == order.orno and i.amount + i.tax > i.paid
        ]
        if open_invoices:
            refs = [f"{i.yea4}-{i.ivno}" for i in open_invoices]
            due = sum((i.amount + i.tax - i.paid for i in open_invoices), _ZERO)
            paid_before = any(i.paid for i in open_invoices)
            return self.pay(refs, amount=None if paid_before else _money(due / 2))
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
                carrier=str(spec.get("carrier", "UPS")),
                tracking=spec.get("tracking"),
                shipped_on=day(spec["date"]) if spec.get("date") else None,
            )
        if action == "invoice":
            return self.invoice_order(
                str(spec["order"]),
                tax_rate=Decimal(str(spec.get("tax_rate", DEFAULT_TAX_RATE))),
                invoiced_on=day(spec["date"]) if spec.get("date") else None,
                due_days=int(spec["due_days"]) if spec.get("due_days") is not None else None,
            )
        if action == "pay":
            invoices = spec.get("invoices") or [spec["invoice"]]
            return self.pay(
                [str(i) for i in invoices],
                amount=Decimal(str(spec["amount"])) if spec.get("amount") is not None else None,
                method=str(spec.get("method", "BT")),
                paid_on=day(spec["date"]) if spec.get("date") else None,
            )
        if action == "credit":
            return self.credit(
                str(spec["customer"]),
                limit=Decimal(str(spec["limit"])) if spec.get("limit") is not None else None,
                on_hold=spec.get("on_hold"),
            )
        if action == "tick":
            return {"advanced": self.tick()}
        if action == "autopilot":
            every = spec.get("every_s")
            return self.autopilot(float(every) if every is not None else None)
        raise LifecycleError(404, f"unknown lifecycle action {action!r}")
