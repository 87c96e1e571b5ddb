"""Orders looked up by the customer's reference, deliveries and invoices: ``OIS120MI``,
``MWS411MI`` and ``OIS350MI`` over the seed's orders, deliveries and invoices."""

from __future__ import annotations

from decimal import Decimal

from sandbox.infor import seed as S
from sandbox.infor.transactions import Handler, M3State, MiError, Session

__all__ = ["DOCUMENT_HANDLERS"]

Record = dict[str, str]


def _ymd(value: object) -> str:
    return value.strftime("%Y%m%d")  # type: ignore[attr-defined, no-any-return]


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _num(value: Decimal | int) -> str:
    return str(value) if isinstance(value, int) else format(value.normalize(), "f")


def _order(st: M3State, orno: str) -> S.Order:
    found = st.data.orders.get(orno.strip())
    if found is None or found.batch:
        raise MiError("WOR0203", f"Order number {orno.strip()} does not exist", "ORNO")
    return found


def _int(inp: dict[str, str], name: str) -> int:
    raw = inp.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise MiError(f"W{name[:2]}0303", f"{name} {raw} is invalid", name) from None


def _lst_co_stop_by_cuor(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    """Orders whose customer's order number (CUOR) is the given one, optionally per customer."""
    st.check_company(ses, inp)
    cuor = inp.get("CUOR", "").strip()
    cuno = inp.get("CUNO", "").strip()
    faci = inp.get("FACI", "").strip()
    found = []
    for o in sorted(st.data.orders.values(), key=lambda o: o.orno):
        if o.batch or (cuor and o.cuor != cuor) or (cuno and o.cuno != cuno):
            continue
        if faci and o.facility != faci:
            continue
        statuses = sorted(ln.status for ln in o.lines) or ["00"]
        found.append(
            {
                "FACI": o.facility,
                "CUOR": o.cuor,
                "CUNO": o.cuno,
                "ORNO": o.orno,
                "OBLC": "0",
                "ORSL": statuses[0],
                "ORDT": _ymd(o.order_date),
                "CUNM": st.data.customers[o.cuno].name,
                "SMCD": "SALES01",
            }
        )
    return found


def _deliveries(st: M3State, orno: str) -> list[S.Delivery]:
    return [d for d in st.data.deliveries if d.orno == orno]


def _lst_del_ln_by_ord(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    """Delivery lines of a customer order (reference order category 3)."""
    rorc = inp.get("RORC", "").strip() or "3"
    if rorc != "3":
        return []
    order = _order(st, inp.get("RIDN", ""))
    ridl = inp.get("RIDL", "").strip()
    records = []
    for delivery in _deliveries(st, order.orno):
        for ln in delivery.lines:
            if ridl and ridl != str(ln.ponr):
                continue
            records.append(
                {
                    "DLIX": str(delivery.dlix),
                    "RORC": "3",
                    "RIDN": order.orno,
                    "RIDL": str(ln.ponr),
                    "RIDX": "0",
                    "ITNO": ln.itno,
                    "FACI": order.facility,
                    "TRQT": _num(ln.quantity),
                    "PLQT": "0",
                    "STCD": "1",
                    "TRQA": _num(ln.alt_quantity),
                    "ALUN": ln.alun,
                    "RGDT": _ymd(delivery.delivered),
                    "LMDT": _ymd(delivery.changed_at or delivery.delivered),
                    "LMTS": (
                        delivery.changed_at.strftime("%Y%m%d%H%M%S")
                        + f"{delivery.changed_at.microsecond // 1000:03d}"
                        if delivery.changed_at
                        else delivery.delivered.strftime("%Y%m%d") + "120000000"
                    ),
                }
            )
    return records


def _delivery(st: M3State, inp: dict[str, str]) -> tuple[S.Order, S.Delivery]:
    order = _order(st, inp.get("ORNO", ""))
    dlix = _int(inp, "DLIX")
    for delivery in _deliveries(st, order.orno):
        if delivery.dlix == dlix and delivery.whlo == inp.get("WHLO", "").strip():
            return order, delivery
    raise MiError("WDL0203", f"Delivery number {dlix} does not exist", "DLIX")


def _invoice_of(st: M3State, dlix: int) -> S.Invoice | None:
    return next((i for i in st.data.invoices if i.dlix == dlix), None)


def _head_record(st: M3State, order: S.Order, delivery: S.Delivery) -> Record:
    invoice = _invoice_of(st, delivery.dlix)
    customer = st.data.customers[order.cuno]
    record = {
        "CUNO": order.cuno,
        "CUN1": customer.name,
        "PYNO": order.cuno,
        "CUN2": customer.name,
        "ORNO": order.orno,
        "DLIX": str(delivery.dlix),
        "ORST": sorted(ln.status for ln in order.lines)[-1],
        "WHLO": delivery.whlo,
        "DLDT": _ymd(delivery.delivered),
        "TEPY": customer.terms,
        "CUCD": order.currency,
        "AMT1": _money(order.net_amount),
        "AMT2": _money(order.net_amount),
        "MODL": "TRK",
        "TEDL": "FCA",
    }
    if invoice is not None:
        record.update(IVNO=str(invoice.ivno), IVDT=_ymd(invoice.invoiced), AICD="1")
    return record


def _get_del_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    order, delivery = _delivery(st, inp)
    return [_head_record(st, order, delivery)]


def _lst_del_line(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    order, delivery = _delivery(st, inp)
    statuses = {ln.ponr: ln.status for ln in order.lines}
    return [
        {
            "DLIX": str(delivery.dlix),
            "WHLO": delivery.whlo,
            "PONR": str(ln.ponr),
            "POSX": "0",
            "ITNO": ln.itno,
            "ALUN": ln.alun,
            "QTY1": _num(ln.quantity),
            "QTY2": _num(ln.alt_quantity),
            "ORST": statuses.get(ln.ponr, "66"),
        }
        for ln in delivery.lines
        if not inp.get("PONR", "").strip() or inp["PONR"].strip() == str(ln.ponr)
    ]


def _lst_inv_head_by_co(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    order = _order(st, inp.get("ORNO", ""))
    customer = st.data.customers[order.cuno]
    records = []
    for invoice in (i for i in st.data.invoices if i.orno == order.orno):
        records.append(
            {
                "ORNO": order.orno,
                "WHLO": invoice.whlo,
                "DLIX": str(invoice.dlix),
                "IVNO": str(invoice.ivno),
                "IVDT": _ymd(invoice.invoiced),
                "CUNO": invoice.cuno,
                "CUN1": customer.name,
                "PYNO": invoice.cuno,
                "CUN2": invoice.cuno,
                "ORST": "77",
                "AICD": "1",
                "TEPY": customer.terms,
                "AMT1": _money(invoice.amount),
                "CUCD": invoice.currency,
                "AMT2": _money(invoice.amount),
                "YEA4": str(invoice.yea4),
                "DUDT": _ymd(invoice.due),
            }
        )
    return records


def _invoice(st: M3State, inp: dict[str, str]) -> S.Invoice:
    year, ivno = _int(inp, "YEA4"), _int(inp, "IVNO")
    found = next((i for i in st.data.invoices if i.yea4 == year and i.ivno == ivno), None)
    if found is None:
        raise MiError("WIV0203", f"Invoice number {ivno} does not exist", "IVNO")
    return found


def _get_inv_head(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    invoice = _invoice(st, inp)
    customer = st.data.customers[invoice.cuno]
    return [
        {
            "FACI": st.data.orders[invoice.orno].facility,
            "PYNO": invoice.cuno,
            "DUDT": _ymd(invoice.due),
            "IDAT": _ymd(invoice.invoiced),
            "CUCD": invoice.currency,
            "INST": "20",
            "CUNM": customer.name,
            "AMT1": _money(invoice.amount),
            "CUC1": invoice.currency,
            "AMT2": _money(invoice.amount),
            "CUC2": invoice.currency,
            "IVTP": "10",
            "ACDT": _ymd(invoice.invoiced),
            "CUNO": invoice.cuno,
            "RGDT": _ymd(invoice.invoiced),
            "LMDT": _ymd(invoice.invoiced),
            "TECD": "",
            "LNCD": "GB",
        }
    ]


def _lst_inv_line(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    st.check_company(ses, inp)
    invoice = _invoice(st, inp)
    order = st.data.orders[invoice.orno]
    customer = st.data.customers[invoice.cuno]
    return [
        {
            "IVTP": "10",
            "ORNO": order.orno,
            "DLIX": str(invoice.dlix),
            "WHLO": invoice.whlo,
            "IVRF": f"{ln.ponr}",
            "AMT1": _money(ln.net_price * ln.alt_quantity),
            "AMT2": _money(ln.net_price * ln.alt_quantity),
            "PYNO": invoice.cuno,
            "CUNM": customer.name,
            "AMT3": "0",
            "VTAM": "0",
        }
        for ln in order.lines
    ]


DOCUMENT_HANDLERS: dict[str, dict[str, Handler]] = {
    "OIS120MI": {"LstCOStopByCUOR": _lst_co_stop_by_cuor},
    "MWS411MI": {"LstDelLnByOrd": _lst_del_ln_by_ord},
    "OIS350MI": {
        "LstInvHeadByCo": _lst_inv_head_by_co,
        "GetInvHead": _get_inv_head,
        "LstInvLine": _lst_inv_line,
        "LstDelLine": _lst_del_line,
        "GetDelHead": _get_del_head,
    },
}
