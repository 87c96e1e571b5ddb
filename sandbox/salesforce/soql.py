"""A SOQL subset: parse a query, check it against the schema, and run it over the org.

Supported: ``SELECT`` field lists with parent relationship paths (``Account.Name``,
``Order__r.OrderNumber``) or ``COUNT()``; ``FROM`` one object; ``WHERE`` with ``= != <> < <=
> >=``, ``IN``/``NOT IN`` lists, ``LIKE`` (``%`` and ``_``), ``AND``/``OR``/``NOT``,
parentheses, ``null``, ``true``/``false``, numbers, quoted strings with backslash escapes,
date (``2024-05-01``) and datetime (``2024-05-01T10:00:00Z``) literals and the date literals
``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``, ``THIS_MONTH``,
``LAST_MONTH``, ``THIS_YEAR``; ``ORDER BY`` (``ASC``/``DESC``, ``NULLS FIRST``/``LAST``);
``LIMIT``; ``OFFSET`` (at most 2,000). Errors carry Salesforce's codes (``MALFORMED_QUERY``,
``INVALID_FIELD``, ``INVALID_TYPE``) and its caret-and-position message format.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.salesforce.schema import FieldDef, ObjectDef, Schema

__all__ = ["Query", "SoqlError", "parse_query"]

MAX_OFFSET = 2000


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),:])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "GROUP", "HAVING",
    "WITH", "FOR", "INCLUDES", "EXCLUDES", "USING", "TYPEOF",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _malformed(text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, match.group(), pos))
        pos = match.end()
    return out


def _caret(text: str, pos: int, message: str) -> str:
    before = text[:pos]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    column = pos - line_start + 1
    line = text.split("\n")[row - 1]
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


def _malformed(text: str, pos: int, message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", _caret(text, pos, message))


# -- AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    """``Account.Owner.Name`` → relationships ``(Account, Owner)`` then field ``Name``."""

    relationships: tuple[FieldDef, ...]
    leaf: FieldDef
    text: str


@dataclass(frozen=True)
class DateRange:
    start: datetime
    end: datetime
    """Exclusive."""


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    path: Path
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True)
class Like:
    path: Path
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Negate:
    part: Any


@dataclass(frozen=True)
class OrderKey:
    path: Path
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    text: str
    obj: ObjectDef
    fields: list[Path] = field(default_factory=list)
    count_only: bool = False
    where: Any = None
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, schema: Schema, now: datetime) -> None:
        self.text = text
        self.schema = schema
        self.now = now
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise _malformed(self.text, len(self.text), "unexpected token: '<EOF>'")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.upper == word:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> Token:
        token = self.next()
        if token.kind != "word" or token.upper != word:
            raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
        return token

    def expect_punct(self, char: str) -> Token:
        token = self.next()
        if token.text != char:
            raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
        return token

    # SELECT … FROM …
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        select: list[Token] = []
        count = False
        while True:
            token = self.next()
            if token.kind != "word" or token.upper in _KEYWORDS - {"FIRST", "LAST"}:
                raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                if token.upper == "COUNT" and not select:
                    self.next()
                    self.expect_punct(")")
                    count = True
                elif token.upper == "COUNT":
                    raise _malformed(
                        self.text, token.pos, "COUNT() must be the only element in the SELECT list."
                    )
                else:
                    raise _malformed(
                        self.text, token.pos,
                        f"The emulated org does not support the function {token.text}()",
                    )  # fmt: skip
            else:
                select.append(token)
            if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                if count:
                    raise _malformed(
                        self.text,
                        self.peek().pos,
                        "COUNT() must be the only element in the SELECT list.",
                    )  # type: ignore[union-attr]
                self.next()
                continue
            break
        from_token = self.expect_keyword("FROM")
        obj_token = self.next()
        if obj_token.kind != "word":
            raise _malformed(self.text, obj_token.pos, f"unexpected token: '{obj_token.text}'")
        obj = self.schema.get(obj_token.text)
        if obj is None or not obj.queryable:
            raise SoqlError(
                "INVALID_TYPE",
                _caret(
                    self.text, obj_token.pos,
                    f"sObject type '{obj_token.text}' is not supported. If you are attempting to "
                    "use a custom object, be sure to append the '__c' after the entity name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                ),
            )  # fmt: skip
        del from_token
        query = Query(text=self.text, obj=obj, count_only=count)
        seen: set[str] = set()
        for token in select:
            path = self.path(obj, token)
            key = path.text.lower()
            if key in seen:
                raise _malformed(self.text, token.pos, f"duplicate field selected: {path.text}")
            seen.add(key)
            query.fields.append(path)
        if self.keyword("WHERE"):
            query.where = self.expr(obj)
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            while True:
                token = self.next()
                path = self.path(obj, token)
                descending = False
                if self.keyword("DESC"):
                    descending = True
                else:
                    self.keyword("ASC")
                nulls_last = descending
                if self.keyword("NULLS"):
                    if self.keyword("LAST"):
                        nulls_last = True
                    else:
                        self.expect_keyword("FIRST")
                        nulls_last = False
                query.order.append(OrderKey(path, descending, nulls_last))
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.next()
                    continue
                break
        if self.keyword("LIMIT"):
            query.limit = self.integer()
        if self.keyword("OFFSET"):
            offset_pos = self.peek().pos if self.peek() else len(self.text)  # type: ignore[union-attr]
            query.offset = self.integer()
            if query.offset > MAX_OFFSET:
                raise SoqlError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    _caret(self.text, offset_pos, f"Maximum SOQL offset allowed is {MAX_OFFSET}"),
                )
        leftover = self.peek()
        if leftover is not None:
            raise _malformed(self.text, leftover.pos, f"unexpected token: '{leftover.text}'")
        return query

    def integer(self) -> int:
        token = self.next()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
        return int(token.text)

    def path(self, obj: ObjectDef, token: Token) -> Path:
        if token.kind != "word":
            raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
        parts = token.text.split(".")
        if len(parts) > 1 and parts[0].lower() == obj.name.lower():
            parts = parts[1:]  # SELECT Account.Name FROM Account
        current = obj
        relationships: list[FieldDef] = []
        for part in parts[:-1]:
            rel = current.relationship_ci(part)
            if rel is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    _caret(
                        self.text, token.pos,
                        f"Didn't understand relationship '{part}' in field path. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' "
                        "after the custom relationship name. Please reference your WSDL or the "
                        "describe call for the appropriate names.",
                    ),
                )  # fmt: skip
            relationships.append(rel)
            target = self.schema.get(rel.reference_to[0])
            assert target is not None
            current = target
        leaf = current.field_ci(parts[-1])
        if leaf is None:
            raise SoqlError(
                "INVALID_FIELD",
                _caret(
                    self.text, token.pos,
                    f"No such column '{parts[-1]}' on entity '{current.name}'. If you are "
                    "attempting to use a custom field, be sure to append the '__c' after the "
                    "custom field name. Please reference your WSDL or the describe call for the "
                    "appropriate names.",
                ),
            )  # fmt: skip
        text = ".".join([*(r.relationship_name or "" for r in relationships), leaf.name])
        return Path(tuple(relationships), leaf, text)

    # WHERE
    def expr(self, obj: ObjectDef) -> Any:
        parts = [self.term(obj)]
        ops: set[str] = set()
        while True:
            token = self.peek()
            if token is not None and token.kind == "word" and token.upper in ("AND", "OR"):
                ops.add(token.upper)
                if len(ops) > 1:
                    raise _malformed(
                        self.text, token.pos,
                        "unexpected token: '" + token.text + "' (use parentheses to mix AND and OR)",
                    )  # fmt: skip
                self.next()
                parts.append(self.term(obj))
                continue
            break
        return parts[0] if len(parts) == 1 else BoolOp(ops.pop(), tuple(parts))

    def term(self, obj: ObjectDef) -> Any:
        if self.keyword("NOT"):
            return Negate(self.term(obj))
        token = self.peek()
        if token is not None and token.text == "(":
            self.next()
            inner = self.expr(obj)
            self.expect_punct(")")
            return inner
        return self.condition(obj)

    def condition(self, obj: ObjectDef) -> Any:
        token = self.next()
        path = self.path(obj, token)
        if path.leaf.type in ("textarea", "address") or not path.leaf.filterable:
            raise SoqlError(
                "INVALID_FIELD",
                _caret(
                    self.text,
                    token.pos,
                    f"field '{path.leaf.name}' can not be filtered in a query call",
                ),
            )
        op_token = self.next()
        if op_token.kind == "word" and op_token.upper == "NOT":
            self.expect_keyword("IN")
            return InList(path, self.value_list(path), negate=True)
        if op_token.kind == "word" and op_token.upper == "IN":
            return InList(path, self.value_list(path), negate=False)
        if op_token.kind == "word" and op_token.upper == "LIKE":
            value_token = self.next()
            if value_token.kind != "string":
                raise _malformed(
                    self.text, value_token.pos, f"unexpected token: '{value_token.text}'"
                )
            if path.leaf.type not in (
                "string",
                "picklist",
                "phone",
                "url",
                "email",
                "id",
                "reference",
                "combobox",
            ):
                raise SoqlError(
                    "INVALID_FIELD",
                    _caret(
                        self.text, token.pos, f"invalid operator on {path.leaf.type} field: LIKE"
                    ),
                )
            raw = _unquote(value_token.text)
            regex = "".join(
                ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in raw
            )
            return Like(path, re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL))
        if op_token.kind != "op":
            raise _malformed(self.text, op_token.pos, f"unexpected token: '{op_token.text}'")
        op = "!=" if op_token.text == "<>" else op_token.text
        value = self.value(path)
        if value is None and op not in ("=", "!="):
            raise _malformed(self.text, op_token.pos, f"invalid operator on null: {op}")
        if path.leaf.type == "boolean" and op not in ("=", "!="):
            raise SoqlError(
                "INVALID_FIELD",
                _caret(self.text, op_token.pos, f"invalid operator on boolean field: {op}"),
            )
        return Compare(path, op, value)

    def value_list(self, path: Path) -> tuple[Any, ...]:
        self.expect_punct("(")
        values = [self.value(path)]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.next()
            values.append(self.value(path))
        self.expect_punct(")")
        return tuple(values)

    def value(self, path: Path) -> Any:
        token = self.next()
        ftype = path.leaf.type
        name = path.leaf.name
        if token.kind == "word" and token.upper == "NULL":
            return None
        if token.kind == "word" and token.upper in ("TRUE", "FALSE"):
            if ftype != "boolean":
                raise self.type_error(token, name, ftype)
            return token.upper == "TRUE"
        if token.kind == "string":
            if ftype in ("date", "datetime", "boolean", "currency", "double", "percent", "int"):
                raise self.type_error(token, name, ftype)
            return _unquote(token.text)
        if token.kind == "number":
            if ftype not in ("currency", "double", "percent", "int"):
                raise self.type_error(token, name, ftype)
            try:
                return Decimal(token.text)
            except InvalidOperation:
                raise _malformed(
                    self.text, token.pos, f"unexpected token: '{token.text}'"
                ) from None
        if token.kind == "date":
            if ftype != "date":
                raise self.type_error(token, name, ftype)
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                raise _malformed(
                    self.text,
                    token.pos,
                    f"line 1:{token.pos} no viable alternative at character '{token.text}'",
                ) from None
        if token.kind == "datetime":
            if ftype != "datetime":
                raise self.type_error(token, name, ftype)
            return _parse_datetime(token.text)
        if token.kind == "word":
            literal = self.date_literal(token)
            if literal is not None:
                if ftype not in ("date", "datetime"):
                    raise self.type_error(token, name, ftype)
                return literal
        raise _malformed(self.text, token.pos, f"unexpected token: '{token.text}'")

    def type_error(self, token: Token, name: str, ftype: str) -> SoqlError:
        wanted = {"datetime": "dateTime", "currency": "double", "percent": "double"}.get(
            ftype, ftype
        )
        quoted = (
            "should not be enclosed in quotes"
            if ftype
            not in ("string", "picklist", "id", "reference", "textarea", "phone", "url", "email")
            else "should be enclosed in quotes"
        )
        return SoqlError(
            "INVALID_FIELD",
            _caret(
                self.text,
                token.pos,
                f"value of filter criterion for field '{name}' must be of type {wanted} and {quoted}",
            ),
        )

    def date_literal(self, token: Token) -> DateRange | None:
        word = token.upper
        today = datetime.combine(self.now.date(), time(), tzinfo=UTC)
        day = timedelta(days=1)
        if word == "TODAY":
            return DateRange(today, today + day)
        if word == "YESTERDAY":
            return DateRange(today - day, today)
        if word == "TOMORROW":
            return DateRange(today + day, today + 2 * day)
        if word == "THIS_MONTH":
            start = today.replace(day=1)
            return DateRange(start, _add_month(start))
        if word == "LAST_MONTH":
            end = today.replace(day=1)
            start = (end - day).replace(day=1)
            return DateRange(start, end)
        if word == "THIS_YEAR":
            start = today.replace(month=1, day=1)
            return DateRange(start, start.replace(year=start.year + 1))
        if word in ("LAST_N_DAYS", "NEXT_N_DAYS"):
            self.expect_punct(":")
            n = self.integer()
            if word == "LAST_N_DAYS":
                return DateRange(today - n * day, today + day)
            return DateRange(today + day, today + (n + 1) * day)
        return None


def _add_month(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _parse_datetime(text: str) -> datetime:
    normalized = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    return datetime.fromisoformat(normalized).astimezone(UTC)


def parse_query(text: str, schema: Schema, now: datetime) -> Query:
    return _Parser(text, schema, now).parse()


# -- evaluation ---------------------------------------------------------------------------

Resolver = Callable[[dict[str, Any], Path], Any]


def _as_range(value: Any, is_date: bool) -> tuple[Any, Any] | None:
    if isinstance(value, DateRange):
        if is_date:
            return value.start.date(), value.end.date()
        return value.start, value.end
    return None


def _cmp(actual: Any, op: str, expected: Any, leaf: FieldDef) -> bool:
    is_date = leaf.type == "date"
    bounds = _as_range(expected, is_date)
    if actual is None:
        return (op == "=" and expected is None) or (op == "!=" and expected is not None)
    if expected is None:
        return op == "!="
    if bounds is not None:
        start, end = bounds
        inside = start <= actual < end
        return {
            "=": inside, "!=": not inside, "<": actual < start, "<=": actual < end,
            ">": actual >= end, ">=": actual >= start,
        }[op]  # fmt: skip
    if isinstance(actual, str) and isinstance(expected, str):
        if leaf.type in ("id", "reference") and len(expected) == 15:
            actual = actual[:15]
        if leaf.type not in ("id", "reference"):
            actual, expected = actual.lower(), expected.lower()
    try:
        return {
            "=": actual == expected, "!=": actual != expected, "<": actual < expected,
            "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected,
        }[op]  # fmt: skip
    except TypeError:
        return False


def matches(node: Any, record: dict[str, Any], resolve: Resolver) -> bool:
    if node is None:
        return True
    if isinstance(node, BoolOp):
        results = (matches(p, record, resolve) for p in node.parts)
        return all(results) if node.op == "AND" else any(results)
    if isinstance(node, Negate):
        return not matches(node.part, record, resolve)
    if isinstance(node, Compare):
        return _cmp(resolve(record, node.path), node.op, node.value, node.path.leaf)
    if isinstance(node, InList):
        actual = resolve(record, node.path)
        hit = any(_cmp(actual, "=", v, node.path.leaf) for v in node.values)
        return not hit if node.negate else hit
    if isinstance(node, Like):
        actual = resolve(record, node.path)
        return actual is not None and bool(node.pattern.match(str(actual)))
    raise TypeError(node)


def sort_key(order: list[OrderKey], resolve: Resolver) -> Callable[[dict[str, Any]], Any]:
    def key(record: dict[str, Any]) -> Any:
        parts = []
        for item in order:
            value = resolve(record, item.path)
            if isinstance(value, str):
                value = value.lower()
            missing = value is None
            # Nulls first unless told otherwise (DESC puts them last by default).
            null_rank = (1 if item.nulls_last else 0) if missing else (0 if item.nulls_last else 1)
            parts.append(_Ordered(null_rank, value, item.descending))
        return parts

    return key


class _Ordered:
    __slots__ = ("descending", "null_rank", "value")

    def __init__(self, null_rank: int, value: Any, descending: bool) -> None:
        self.null_rank = null_rank
        self.value = value
        self.descending = descending

    def __lt__(self, other: _Ordered) -> bool:
        if self.null_rank != other.null_rank:
            return self.null_rank < other.null_rank
        if self.value is None or other.value is None or self.value == other.value:
            return False
        less = bool(self.value < other.value)
        return not less if self.descending else less

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Ordered)
            and self.null_rank == other.null_rank
            and self.value == other.value
        )

    __hash__ = None  # type: ignore[assignment]
