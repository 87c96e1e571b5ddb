"""Filtering records: the ``readByQuery`` SQL-like grammar and the ``query`` XML filter.

``readByQuery``: ``< > >= <= = != <>``, ``like``/``not like`` (``%`` and ``_``), ``in``/
``not in (…)``, ``IS NULL``/``IS NOT NULL``, ``AND``/``OR``/``NOT`` and parentheses; strings
in single quotes with backslash escapes; dates as ``'MM/DD/YYYY'``. Keywords are
case-insensitive. Both forms compile to a predicate over one record.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from sandbox.intacct.objects import FieldType, field_type

__all__ = [
    "Hint",
    "Predicate",
    "QueryError",
    "UnknownFieldError",
    "compile_filter",
    "compile_query",
    "compile_query_hinted",
    "sort_key",
]

Record = dict[str, str]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    """The query text or filter could not be understood."""


class UnknownFieldError(QueryError):
    def __init__(self, obj: str, field: str) -> None:
        super().__init__(field)
        self.obj = obj
        self.field = field


@functools.lru_cache(maxsize=8192)
def _coerce(kind: FieldType, text: str) -> Any:
    """A comparable value for ``text`` of a field of ``kind``; None for empty (null). Kept per
    text: a query compares every record's field, and the same dates and amounts recur."""
    if text == "":
        return None
    if kind in ("date", "datetime") and len(text) == 10 and text[2] == "/" == text[5]:
        month, day, year = text[:2], text[3:5], text[6:]
        if month.isdigit() and day.isdigit() and year.isdigit():  # MM/DD/YYYY, strptime's way
            try:
                moment = datetime(int(year), int(month), int(day))
            except ValueError:
                moment = None
            if moment is not None:
                return moment.date() if kind == "date" else moment
    if kind == "number":
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise QueryError(f"'{text}' is not a number") from exc
    if kind in ("date", "datetime"):
        for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d"):
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return parsed.date() if kind == "date" else parsed
        raise QueryError(f"'{text}' is not a date (use MM/DD/YYYY)")
    if kind == "bool":
        return text.strip().lower() in ("true", "t", "1")
    return text


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _compare(kind: FieldType, name: str, op: str, right: Any) -> Predicate:
    """``name op right`` over a record; an empty (null) field never compares true."""
    test = _OPS[op]
    if right is None:
        return lambda r: False
    if kind == "text":  # the common case (ids, names): no coercion per record
        return lambda r: (v := r.get(name, "")) != "" and test(v, right)
    if kind == "datetime" and not isinstance(right, datetime) and isinstance(right, date):
        # A datetime field against a date: compared by its day.
        return lambda r: (v := _coerce(kind, r.get(name, ""))) is not None and test(v.date(), right)
    return lambda r: (v := _coerce(kind, r.get(name, ""))) is not None and test(v, right)


def _all_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts
        return lambda r: first(r) and second(r)

    def every(r: Record) -> bool:
        # A loop, not all(genexpr): no generator per record, and this runs per record.
        for part in parts:  # noqa: SIM110
            if not part(r):
                return False
        return True

    return every


def _any_of(parts: list[Predicate]) -> Predicate:
    def some(r: Record) -> bool:
        for part in parts:  # noqa: SIM110
            if part(r):
                return True
        return False

    return some


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _field_kind(obj: str, field: str) -> FieldType:
    kind = field_type(obj, field.upper())
    if kind is None:
        raise UnknownFieldError(obj, field)
    return kind


def _comparison(
    obj: str, field: str, op: str, values: list[str], *, fold: bool = False
) -> Predicate:
    """One condition; ``fold`` compares text case-insensitively (``query``'s option)."""
    name = field.upper()
    kind = _field_kind(obj, name)
    if fold and kind == "text":
        inner = _comparison(obj, field, op, [v.lower() for v in values])
        return lambda r: inner({**r, name: r.get(name, "").lower()})
    if op in ("like", "not like"):
        regex = _like(values[0])
        negate = op == "not like"
        return lambda r: (regex.fullmatch(r.get(name, "")) is not None) != negate
    if op in ("in", "not in"):
        wanted = frozenset(_coerce(kind, v) for v in values)
        negate = op == "not in"
        if kind == "text":
            return lambda r: ((r.get(name, "") or None) in wanted) != negate
        return lambda r: (_coerce(kind, r.get(name, "")) in wanted) != negate
    if op in ("is null", "is not null"):
        negate = op == "is not null"
        return lambda r: (r.get(name, "") == "") != negate
    return _compare(kind, name, op, _coerce(kind, values[0]))


# --- readByQuery text -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><>|!=|<=|>=|=|<|>)|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<num>-?\d+(?:\.\d+)?))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
    return tokens


Hint = tuple[str, frozenset[str]]
"""A field and the values a matching record's field must hold one of (from a top-level
``FIELD = 'v'`` or ``FIELD IN (…)`` on a text field): lets a reader look rows up instead of
scanning the whole object. The predicate is still applied to what it finds."""


class _Parser:
    def __init__(self, obj: str, tokens: list[tuple[str, str]]) -> None:
        self.obj = obj
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.hints: dict[int, Hint] = {}
        """Per simple text ``=``/``IN`` condition (by the predicate's id): its hint."""
        self.top: list[list[Predicate]] = []
        """The conditions ANDed at the top level, per OR'ed term (outside parentheses)."""

    def hint(self) -> tuple[Hint, ...]:
        if len(self.top) != 1:
            return ()  # an OR at the top: no one value every match holds
        return tuple(self.hints[id(p)] for p in self.top[0] if id(p) in self.hints)

    def _hinted(self, pred: Predicate, field: str, values: list[str]) -> Predicate:
        if field_type(self.obj, field.upper()) == "text":
            self.hints[id(pred)] = (field.upper(), frozenset(v for v in values if v != ""))
        return pred

    def peek_word(self, offset: int = 0) -> str:
        idx = self.pos + offset
        if idx < len(self.tokens) and self.tokens[idx][0] == "word":
            return self.tokens[idx][1].upper()
        return ""

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise QueryError("unexpected end of query")
        tok_kind, tok_value = self.tokens[self.pos]
        if (kind and tok_kind != kind) or (value and tok_value.upper() != value):
            raise QueryError(f"unexpected {tok_value!r}")
        self.pos += 1
        return tok_value

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.pos != len(self.tokens):
            raise QueryError(f"unexpected {self.tokens[self.pos][1]!r}")
        return pred

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek_word() == "OR":
            self.pos += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek_word() == "AND":
            self.pos += 1
            parts.append(self.factor())
        if self.depth == 0:
            self.top.append(parts)
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def factor(self) -> Predicate:
        if self.peek_word() == "NOT":
            self.pos += 1
            inner = self.factor()
            return lambda r: not inner(r)
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("punct", "("):
            self.pos += 1
            self.depth += 1
            inner = self.expr()
            self.depth -= 1
            self.take("punct", ")")
            return inner
        field = self.take("word")
        word = self.peek_word()
        if word == "IS":
            self.pos += 1
            negate = self.peek_word() == "NOT"
            if negate:
                self.pos += 1
            self.take("word", "NULL")
            return _comparison(self.obj, field, "is not null" if negate else "is null", [])
        negate = word == "NOT"
        if negate:
            self.pos += 1
            word = self.peek_word()
        if word == "LIKE":
            self.pos += 1
            return _comparison(self.obj, field, "not like" if negate else "like", [self.value()])
        if word == "IN":
            self.pos += 1
            self.take("punct", "(")
            values = [self.value()]
            while self.tokens[self.pos] == ("punct", ","):
                self.pos += 1
                values.append(self.value())
            self.take("punct", ")")
            pred = _comparison(self.obj, field, "not in" if negate else "in", values)
            return pred if negate else self._hinted(pred, field, values)
        if negate:
            raise QueryError("NOT must be followed by LIKE or IN here")
        op = self.take("op")
        value = self.value()
        pred = _comparison(self.obj, field, op, [value])
        return self._hinted(pred, field, [value]) if op == "=" else pred

    def value(self) -> str:
        if self.pos >= len(self.tokens):
            raise QueryError("unexpected end of query")
        kind, value = self.tokens[self.pos]
        if kind not in ("str", "num", "word"):
            raise QueryError(f"expected a value, got {value!r}")
        self.pos += 1
        return value


def compile_query(obj: str, text: str) -> Predicate:
    """Compile ``readByQuery``'s ``<query>`` text; empty text matches everything."""
    return compile_query_hinted(obj, text)[0]


@functools.lru_cache(maxsize=4096)
def compile_query_hinted(obj: str, text: str) -> tuple[Predicate, tuple[Hint, ...]]:
    """``compile_query``, and the values every match must hold (a field's, per ANDed ``=`` or
    ``IN`` on a text field at the top level). Kept per query text: clients repeat their
    queries, and a compiled query depends on nothing else."""
    tokens = _tokenize(text or "")
    if not tokens:
        return (lambda r: True), ()
    parser = _Parser(obj, tokens)
    return parser.parse(), parser.hint()


# --- query <filter> ---------------------------------------------------------------------------

_FILTER_OPS = {
    "equalto": "=",
    "notequalto": "!=",
    "lessthan": "<",
    "lessthanorequalto": "<=",
    "greaterthan": ">",
    "greaterthanorequalto": ">=",
    "like": "like",
    "notlike": "not like",
    "in": "in",
    "notin": "not in",
    "isnull": "is null",
    "isnotnull": "is not null",
}


def compile_filter(
    obj: str, element: Element | None, *, case_insensitive: bool = False
) -> Predicate:
    """Compile the newer ``query`` function's ``<filter>`` element (None matches everything)."""
    if element is None or len(element) == 0:
        return lambda r: True
    if len(element) != 1:
        raise QueryError("filter takes exactly one condition (use <and>/<or>)")
    return _filter_node(obj, element[0], case_insensitive)


def _filter_node(obj: str, node: Element, fold: bool = False) -> Predicate:
    tag = node.tag.lower()
    if tag in ("and", "or"):
        parts = [_filter_node(obj, child, fold) for child in node]
        if len(parts) < 2:
            raise QueryError(f"<{tag}> needs at least two conditions")
        return _all_of(parts) if tag == "and" else _any_of(parts)
    if tag == "between":
        field = (node.findtext("field") or "").strip()
        low, high = [(v.text or "") for v in node.findall("value")][:2]
        lo = _comparison(obj, field, ">=", [low], fold=fold)
        hi = _comparison(obj, field, "<=", [high], fold=fold)
        return lambda r: lo(r) and hi(r)
    if tag not in _FILTER_OPS:
        raise QueryError(f"unknown filter operator <{node.tag}>")
    field = (node.findtext("field") or "").strip()
    if not field:
        raise QueryError(f"<{node.tag}> needs a <field>")
    values = [(v.text or "") for v in node.findall("value")]
    op = _FILTER_OPS[tag]
    if op not in ("is null", "is not null") and not values:
        raise QueryError(f"<{node.tag}> needs a <value>")
    return _comparison(obj, field, op, values, fold=fold)


def sort_key(obj: str, field: str) -> Callable[[Record], Any]:
    name = field.upper()
    kind = _field_kind(obj, name)

    def key(record: Record) -> Any:
        value = _coerce(kind, record.get(name, ""))
        return (value is not None, value if value is not None else 0)

    return key
