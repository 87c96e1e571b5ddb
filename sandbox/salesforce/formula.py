"""Validation-rule formulas: the small part of Salesforce's formula language our rules use.

Supported: field names, numbers, quoted strings, ``TRUE``/``FALSE``/``NULL``, the comparison
operators ``= == != <> < <= > >=``, ``&&``/``||``, ``+ - * /``, and the functions ``AND``,
``OR``, ``NOT``, ``ISBLANK``, ``ISPICKVAL``, ``ISNEW``, ``ISCHANGED``. A formula outside this
subset fails loudly when the org starts, never silently at write time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["compile_formula"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>&&|\|\||==|!=|<>|<=|>=|[=<>+\-*/(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)

Env = Callable[[str], Any]
"""``field name → value``; the special names ``__isnew__`` and ``__old__:Field`` too."""
Node = Callable[[Env], Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"formula {text!r}: cannot read at {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _num(value: Any) -> Any:
    return Decimal(0) if value is None else value


class _Parser:
    PRECEDENCE = {"||": 1, "&&": 2, "=": 3, "==": 3, "!=": 3, "<>": 3, "<": 4, "<=": 4, ">": 4,
                  ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6}  # fmt: skip

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def parse(self) -> Node:
        node = self.binary(0)
        if self.i != len(self.tokens):
            raise ValueError(f"formula {self.text!r}: unexpected {self.tokens[self.i][1]!r}")
        return node

    def binary(self, level: int) -> Node:
        left = self.unary()
        while self.i < len(self.tokens):
            kind, op = self.tokens[self.i]
            prec = self.PRECEDENCE.get(op) if kind == "op" else None
            if prec is None or prec <= level:
                break
            self.i += 1
            right = self.binary(prec)
            left = self.combine(op, left, right)
        return left

    @staticmethod
    def combine(op: str, a: Node, b: Node) -> Node:
        def compare(env: Env) -> Any:
            x, y = a(env), b(env)
            if op in ("&&", "||"):
                return (bool(x) and bool(y)) if op == "&&" else (bool(x) or bool(y))
            if op in ("=", "=="):
                return x == y
            if op in ("!=", "<>"):
                return x != y
            if x is None or y is None:
                return None if op in "+-*/" else False
            return {
                "<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y, ">=": lambda: x >= y,
                "+": lambda: _num(x) + _num(y), "-": lambda: _num(x) - _num(y),
                "*": lambda: _num(x) * _num(y), "/": lambda: _num(x) / _num(y),
            }[op]()  # fmt: skip

        return compare

    def unary(self) -> Node:
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "num":
            value = Decimal(text)
            return lambda env: value
        if kind == "str":
            literal = text[1:-1]
            return lambda env: literal
        if kind == "op" and text == "(":
            inner = self.binary(0)
            self.expect(")")
            return inner
        if kind == "op" and text == "-":
            inner = self.unary()
            return lambda env: -_num(inner(env))
        if kind != "name":
            raise ValueError(f"formula {self.text!r}: unexpected {text!r}")
        upper = text.upper()
        if upper in ("TRUE", "FALSE"):
            flag = upper == "TRUE"
            return lambda env: flag
        if upper == "NULL":
            return lambda env: None
        if self.i < len(self.tokens) and self.tokens[self.i][1] == "(":
            self.i += 1
            args: list[Node] = []
            if self.tokens[self.i][1] != ")":
                args.append(self.binary(0))
                while self.tokens[self.i][1] == ",":
                    self.i += 1
                    args.append(self.binary(0))
            self.expect(")")
            return self.function(upper, args, text)
        name = text
        return lambda env: env(name)

    def expect(self, char: str) -> None:
        if self.i >= len(self.tokens) or self.tokens[self.i][1] != char:
            raise ValueError(f"formula {self.text!r}: expected {char!r}")
        self.i += 1

    def function(self, name: str, args: list[Node], raw: str) -> Node:
        if name == "AND":
            return lambda env: all(bool(a(env)) for a in args)
        if name == "OR":
            return lambda env: any(bool(a(env)) for a in args)
        if name == "NOT" and len(args) == 1:
            return lambda env: not args[0](env)
        if name == "ISBLANK" and len(args) == 1:
            return lambda env: _blank(args[0](env))
        if name == "ISPICKVAL" and len(args) == 2:
            return lambda env: args[0](env) == args[1](env)
        if name == "ISNEW" and not args:
            return lambda env: bool(env("__isnew__"))
        if name == "ISCHANGED" and len(args) == 1:
            field_name = self.tokens[self.i - 2][1]
            return lambda env: (
                not env("__isnew__") and env(field_name) != env(f"__old__:{field_name}")
            )
        raise ValueError(f"formula {self.text!r}: function {raw}() is not supported")


def compile_formula(text: str) -> Node:
    """A callable that evaluates the formula against an environment of field values."""
    return _Parser(text).parse()
