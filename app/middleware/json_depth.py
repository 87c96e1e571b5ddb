"""Refusing JSON nested deeper than any payload of ours, before a decoder recurses into it.

msgspec decodes nesting by recursion: a body of a thousand nested arrays exhausts the stack
(``RecursionError``) long before any schema is applied. No Isthmus payload nests deeper than a
handful of levels, so a body past ``MAX_JSON_DEPTH`` is malformed for us: a 400, cheaply found.
"""

from __future__ import annotations

import re

__all__ = ["MAX_JSON_DEPTH", "json_too_deep"]

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in a request body."""

# A JSON string (its brackets do not nest), written as an unrolled loop for speed.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_OPEN = frozenset(b"[{")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does ``body`` nest arrays/objects deeper than ``limit``? (Malformed JSON may say no.)"""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to be that deep: the common case, at C speed
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
