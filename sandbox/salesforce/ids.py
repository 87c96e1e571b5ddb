"""Salesforce record ids: 15 case-sensitive characters, or 18 with a case-safe suffix.

The first three characters are the object's key prefix (001 Account, 801 Order …). The
suffix encodes, for each 5-character chunk, which characters are upper case, as one
character of ``A-Z0-5``.
"""

from __future__ import annotations

import re
import string

__all__ = ["IdFactory", "is_id", "normalize_id", "to_18"]

_SUFFIX = string.ascii_uppercase + "012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
POD = "Sbx"
"""Characters 4-6 of every id this org hands out (in a real org: the pod and a reserved one)."""


def to_18(id15: str) -> str:
    suffix = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        suffix += _SUFFIX[sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())]
    return id15 + suffix


def is_id(value: str) -> bool:
    """Well-formed 15- or 18-character id (an 18-character one with a matching suffix)."""
    if not _ID_RE.match(value):
        return False
    return len(value) == 15 or to_18(value[:15]) == value


def normalize_id(value: str) -> str | None:
    """The 18-character form of a well-formed id, else None."""
    return to_18(value[:15]) if is_id(value) else None


class IdFactory:
    """Hands out ids per key prefix: ``{prefix}Sbx{counter:09d}`` plus the suffix."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def reserve(self, prefix: str, counter: int) -> str:
        """The id with this counter (seeding), and later ids after it."""
        self._next[prefix] = max(self._next.get(prefix, 1), counter + 1)
        return to_18(f"{prefix}{POD}{counter:09d}")

    def new(self, prefix: str) -> str:
        counter = max(self._next.get(prefix, 1), 1000)
        self._next[prefix] = counter + 1
        return to_18(f"{prefix}{POD}{counter:09d}")
