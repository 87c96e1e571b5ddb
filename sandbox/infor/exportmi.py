"""``EXPORTMI/Select``: M3's generic extract API, over the emulator's tables.

``QERY`` is ``FIELDS from TABLE [where CONDITION]``: fields with their table prefix
(``OAORNO``), comma separated; conditions compare a field with a quoted text or a number
(``=``, ``<>``, ``!=``, ``<``, ``>``, ``<=``, ``>=``) joined by ``and`` / ``or`` and
parentheses. Keywords are lower case only, as M3 expects them; one table per query; the
session's company applies (a condition on the company field is refused). ``SEPC`` is the
separator between values (blank: fixed width by each field's length, trailing blanks kept),
``HDRS=1`` puts the field names first. Each record answers one field, ``REPL``.

Tables (our reading of their M3 columns; see README): ``OOHEAD`` order heads (``OA``),
``OOLINE`` order lines (``OB``), ``MHDISH`` delivery heads (``OQ``), ``MHDISL`` delivery
lines (``UR``), ``OINVOH`` invoice heads (``UH``), ``FSLEDG`` customer ledger: invoices
(``ESTRCD`` 10) and payments (20) (``ES``), ``OCUSMA`` customers (``OK``). Every one carries
its change date ``LMDT`` and change stamp ``LMTS`` (``YYYYMMDDHHMMSSmmm``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.infor import seed as S
from sandbox.infor.lifecycle import stamp_of
from sandbox.infor.transactions import Handler, M3State, MiError, Session

__all__ = ["EXPORT_HANDLERS", "TABLES", "lmts"]

Row = dict[str, str]


def lmts(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S") + f"{at.microsecond // 1000:03d}"


def _ymd(d: date | None) -> str:
    return d.strftime("%Y%m%d") if d else "0"


def _num(value: Decimal | int) -> str:
    return str(value) if isinstance(value, int) else format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


@dataclass(frozen=True)
class Table:
    name: str
    prefix: str
    columns: dict[str, tuple[str, int]]
    """Field (without prefix) → (type A/N, length)."""
    rows: Callable[[M3State], Iterator[Row]]
    """Rows keyed by field name without prefix."""


def _changed(at: datetime | None, fallback: date) -> tuple[str, str]:
    stamp = stamp_of(at, fallback)
    return stamp.strftime("%Y%m%d"), lmts(stamp)


def _order_rows(st: M3State) -> Iterator[Row]:
    for o in st.data.orders.values():
        if o.batch:
            continue
        statuses = sorted(ln.status for ln in o.lines) or ["00"]
        lmdt, stamp = _changed(o.changed_at, o.order_date)
        yield {
            "CONO": S.COMPANY, "ORNO": o.orno, "CUNO": o.cuno, "CUOR": o.cuor, "YREF": o.yref,
            "ORTP": o.ortp, "FACI": o.facility, "WHLO": o.whlo, "DIVI": o.division,
            "ORSL": statuses[0], "ORST": statuses[-1], "ORDT": _ymd(o.order_date),
            "RLDT": _ymd(o.requested_date), "CUCD": o.currency, "NTAM": _money(o.net_amount),
            "RGDT": _ymd(o.order_date), "LMDT": lmdt, "LMTS": stamp,
        }  # fmt: skip


def _line_rows(st: M3State) -> Iterator[Row]:
    for o in st.data.orders.values():
        if o.batch:
            continue
        lmdt, stamp = _changed(o.changed_at, o.order_date)
        for ln in o.lines:
            yield {
                "CONO": S.COMPANY, "ORNO": o.orno, "PONR": str(ln.ponr), "POSX": "0",
                "ITNO": ln.itno, "ORQT": _num(ln.quantity), "ORQA": _num(ln.alt_quantity),
                "ALUN": ln.alun, "SAPR": _num(ln.unit_price), "NEPR": _num(ln.net_price),
                "ORST": ln.status, "ALQT": _num(ln.allocated), "DLQT": _num(ln.delivered),
                "IVQT": _num(ln.invoiced), "WHLO": ln.whlo, "DWDT": _ymd(ln.delivery_date),
                "CODT": _ymd(ln.confirmed_date), "LMDT": lmdt, "LMTS": stamp,
            }  # fmt: skip


def _delivery_rows(st: M3State) -> Iterator[Row]:
    for d in st.data.deliveries:
        order = st.data.orders.get(d.orno)
        lmdt, stamp = _changed(d.changed_at, d.delivered)
        yield {
            "CONO": S.COMPANY, "DLIX": str(d.dlix), "RORC": "3", "RIDN": d.orno,
            "WHLO": d.whlo, "CONA": order.cuno if order else "", "MODL": "TRK",
            "FWNO": d.carrier, "ETRN": d.tracking, "DSDT": _ymd(d.delivered),
            "RGDT": _ymd(d.delivered), "LMDT": lmdt, "LMTS": stamp,
        }  # fmt: skip


def _delivery_line_rows(st: M3State) -> Iterator[Row]:
    for d in st.data.deliveries:
        lmdt, stamp = _changed(d.changed_at, d.delivered)
        for ln in d.lines:
            yield {
                "CONO": S.COMPANY, "DLIX": str(d.dlix), "RIDN": d.orno, "RIDL": str(ln.ponr),
                "ITNO": ln.itno, "TRQT": _num(ln.quantity), "TRQA": _num(ln.alt_quantity),
                "ALUN": ln.alun, "LMDT": lmdt, "LMTS": stamp,
            }  # fmt: skip


def _invoice_rows(st: M3State) -> Iterator[Row]:
    for i in st.data.invoices:
        customer = st.data.customers.get(i.cuno)
        lmdt, stamp = _changed(i.changed_at, i.invoiced)
        yield {
            "CONO": S.COMPANY, "DIVI": customer.division if customer else "",
            "YEA4": str(i.yea4), "IVNO": str(i.ivno), "ORNO": i.orno, "DLIX": str(i.dlix),
            "CUNO": i.cuno, "IVDT": _ymd(i.invoiced), "DUDT": _ymd(i.due), "CUCD": i.currency,
            "NTAM": _money(i.amount), "VTAM": _money(i.tax), "IVAM": _money(i.amount + i.tax),
            "RAFC": _money(i.amount + i.tax - i.paid), "LMDT": lmdt, "LMTS": stamp,
        }  # fmt: skip


def _ledger_rows(st: M3State) -> Iterator[Row]:
    for i in st.data.invoices:
        customer = st.data.customers.get(i.cuno)
        lmdt, stamp = _changed(i.changed_at, i.invoiced)
        yield {
            "CONO": S.COMPANY, "DIVI": customer.division if customer else "", "TRCD": "10",
            "YEA4": str(i.yea4), "CINO": str(i.ivno), "INYR": str(i.yea4), "CUNO": i.cuno,
            "VONO": str(i.ivno), "ACDT": _ymd(i.invoiced), "DUDT": _ymd(i.due),
            "CUCD": i.currency, "CUAM": _money(i.amount + i.tax), "PYCD": "",
            "LMDT": lmdt, "LMTS": stamp,
        }  # fmt: skip
    for p in st.data.payments:
        for a in p.applications:
            yield {
                "CONO": S.COMPANY, "DIVI": p.division, "TRCD": "20", "YEA4": str(p.paid.year),
                "CINO": str(a.ivno), "INYR": str(a.yea4), "CUNO": p.cuno, "VONO": p.pyno,
                "ACDT": _ymd(p.paid), "DUDT": "0", "CUCD": p.currency,
                "CUAM": _money(-a.amount), "PYCD": p.method, "LMDT": p.changed_at.strftime("%Y%m%d"),
                "LMTS": lmts(p.changed_at),
            }  # fmt: skip


def _customer_rows(st: M3State) -> Iterator[Row]:
    for c in st.data.customers.values():
        yield {
            "CONO": S.COMPANY, "CUNO": c.cuno, "CUNM": c.name, "STAT": c.stat,
            "CUCD": c.currency, "CRL3": _money(c.credit_limit_3), "BLCD": str(c.blcd),
            "LMDT": c.changed_at.strftime("%Y%m%d"), "LMTS": lmts(c.changed_at),
        }  # fmt: skip


def _cols(spec: str) -> dict[str, tuple[str, int]]:
    out = {}
    for token in spec.split():
        name, kind = token[:4], token[4]
        out[name] = (kind, int(token[5:]))
    return out


_CHANGE = "LMDTN8 LMTSN18"
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "OOHEAD",
            "OA",
            _cols(
                "CONON3 ORNOA10 CUNOA10 CUORA20 YREFA30 ORTPA3 FACIA3 "
                "WHLOA3 DIVIA3 ORSLA2 ORSTA2 ORDTN8 RLDTN8 CUCDA3 NTAMN17 "
                "RGDTN8 " + _CHANGE
            ),
            _order_rows,
        ),
        Table(
            "OOLINE",
            "OB",
            _cols(
                "CONON3 ORNOA10 PONRN5 POSXN3 ITNOA15 ORQTN15 ORQAN15 "
                "ALUNA3 SAPRN17 NEPRN17 ORSTA2 ALQTN15 DLQTN15 IVQTN15 "
                "WHLOA3 DWDTN8 CODTN8 " + _CHANGE
            ),
            _line_rows,
        ),
        Table(
            "MHDISH",
            "OQ",
            _cols(
                "CONON3 DLIXN11 RORCN1 RIDNA10 WHLOA3 CONAA10 MODLA3 "
                "FWNOA10 ETRNA30 DSDTN8 RGDTN8 " + _CHANGE
            ),
            _delivery_rows,
        ),
        Table(
            "MHDISL",
            "UR",
            _cols("CONON3 DLIXN11 RIDNA10 RIDLN6 ITNOA15 TRQTN15 TRQAN15 ALUNA3 " + _CHANGE),
            _delivery_line_rows,
        ),
        Table(
            "OINVOH",
            "UH",
            _cols(
                "CONON3 DIVIA3 YEA4N4 IVNON9 ORNOA10 DLIXN11 CUNOA10 "
                "IVDTN8 DUDTN8 CUCDA3 NTAMN17 VTAMN17 IVAMN17 RAFCN17 " + _CHANGE
            ),
            _invoice_rows,
        ),
        Table(
            "FSLEDG",
            "ES",
            _cols(
                "CONON3 DIVIA3 TRCDN2 YEA4N4 CINOA15 INYRN4 CUNOA10 "
                "VONOA10 ACDTN8 DUDTN8 CUCDA3 CUAMN17 PYCDA3 " + _CHANGE
            ),
            _ledger_rows,
        ),
        Table(
            "OCUSMA",
            "OK",
            _cols("CONON3 CUNOA10 CUNMA36 STATA2 CUCDA3 CRL3N17 BLCDN1 " + _CHANGE),
            _customer_rows,
        ),
    )
}

# --- the query language -----------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*')|(?P<op><>|!=|<=|>=|=|<|>)|(?P<punct>[(),])"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _syntax(detail: str) -> MiError:
    return MiError("XEX0002", f"Query is invalid: {detail}", "QERY")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _syntax(f"unexpected text at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


Predicate = Callable[[Row], bool]


class _Parser:
    def __init__(self, table: Table, tokens: list[tuple[str, str]]) -> None:
        self.table = table
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _syntax("the condition ends too early")
        self.pos += 1
        return token

    def field(self, word: str) -> str:
        name = word.upper() if word.isupper() else word
        if not name.startswith(self.table.prefix) or name[2:] not in self.table.columns:
            raise MiError(
                "XEX0003", f"Field {word} does not exist in table {self.table.name}", "QERY"
            )
        return name[2:]

    def condition(self) -> Predicate:
        left = self.term()
        while (token := self.peek()) is not None and token == ("word", "or"):
            self.pos += 1
            right, first = self.term(), left
            left = lambda r, a=first, b=right: a(r) or b(r)  # noqa: E731
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while (token := self.peek()) is not None and token == ("word", "and"):
            self.pos += 1
            right, first = self.factor(), left
            left = lambda r, a=first, b=right: a(r) and b(r)  # noqa: E731
        return left

    def factor(self) -> Predicate:
        kind, value = self.take()
        if (kind, value) == ("punct", "("):
            inner = self.condition()
            if self.take() != ("punct", ")"):
                raise _syntax("a parenthesis is not closed")
            return inner
        if kind != "word" or value.lower() in ("and", "or", "from", "where"):
            raise _syntax(f"expected a field, found {value!r}")
        name = self.field(value)
        if name == "CONO":
            raise MiError("XEX0004", "Company cannot be used in a filter", "QERY")
        op_kind, op = self.take()
        if op_kind != "op":
            raise _syntax(f"expected an operator after {value}, found {op!r}")
        lit_kind, literal = self.take()
        if lit_kind not in ("str", "num"):
            raise _syntax(f"expected a value after {value} {op}, found {literal!r}")
        return _comparison(name, self.table.columns[name][0], op, literal.strip("'"))


def _comparison(name: str, kind: str, op: str, literal: str) -> Predicate:
    def value(text: str) -> Any:
        if kind == "N":
            try:
                return Decimal(text or "0")
            except InvalidOperation:
                raise _syntax(f"{literal!r} is not a number") from None
        return text

    right = value(literal)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }  # fmt: skip
    compare = ops[op]
    return lambda row: bool(compare(value(row.get(name, "")), right))


def _parse(text: str) -> tuple[Table, list[str], Predicate | None]:
    tokens = _tokens(text)
    words = [v for k, v in tokens if k == "word"]
    if "from" not in words:
        upper = "FROM" in (w.upper() for w in words)
        raise _syntax("keywords are lower case: use 'from'" if upper else "missing 'from'")
    at = tokens.index(("word", "from"))
    if at + 1 >= len(tokens) or tokens[at + 1][0] != "word":
        raise _syntax("a table must follow 'from'")
    table_name = tokens[at + 1][1]
    table = TABLES.get(table_name)
    if table is None:
        raise MiError("XEX0001", f"Table {table_name} does not exist", "QERY")
    field_tokens = tokens[:at]
    names: list[str] = []
    expect_field = True
    parser = _Parser(table, tokens)
    for kind, value in field_tokens:
        if expect_field and kind == "word":
            names.append(parser.field(value))
        elif not expect_field and (kind, value) == ("punct", ","):
            pass
        else:
            raise _syntax(f"unexpected {value!r} in the field list")
        expect_field = not expect_field
    if not names or expect_field:
        raise _syntax("the field list is empty or ends with a comma")
    rest = tokens[at + 2 :]
    if not rest:
        return table, names, None
    if rest[0] != ("word", "where"):
        raise _syntax(f"expected 'where', found {rest[0][1]!r}")
    parser.tokens, parser.pos = rest[1:], 0
    predicate = parser.condition()
    if parser.peek() is not None:
        raise _syntax(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return table, names, predicate


def _select(st: M3State, ses: Session, inp: dict[str, str]) -> list[dict[str, str]]:
    st.check_company(ses, inp)
    query = inp.get("QERY", "").strip()
    if not query:
        raise MiError("XEX0002", "Query must be entered", "QERY")
    table, names, predicate = _parse(query)
    separator = inp.get("SEPC", "")
    headers = inp.get("HDRS", "").strip() == "1"
    records: list[dict[str, str]] = []

    def join(values: list[str]) -> str:
        if separator:
            return separator.join(v.strip() for v in values)
        return "".join(v.ljust(table.columns[n][1]) for n, v in zip(names, values, strict=True))

    if headers:
        records.append({"REPL": join([table.prefix + n for n in names])})
    for row in table.rows(st):
        if predicate is None or predicate(row):
            records.append({"REPL": join([row.get(n, "") for n in names])})
    return records


EXPORT_HANDLERS: dict[str, dict[str, Handler]] = {"EXPORTMI": {"Select": _select}}
