"""Differences between two JSON documents, as a list of changes with JSON Pointer paths."""

from __future__ import annotations

from typing import Any

__all__ = ["json_diff"]

_MISSING: Any = object()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def json_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """``[{"path": "/lines/0/item_id", "before": "A1013", "after": "A1014"}, …]``; an added
    member has no ``before``, a removed one no ``after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}/{_escape(str(key))}"
            changes.extend(json_diff(before.get(key, _MISSING), after.get(key, _MISSING), sub))
        return changes
    if (
        isinstance(before, list | tuple)
        and isinstance(after, list | tuple)
        and len(before) == len(after)
    ):
        changes = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            changes.extend(json_diff(b, a, f"{path}/{i}"))
        return changes
    if before is _MISSING and after is _MISSING:
        return []
    if before is not _MISSING and after is not _MISSING and before == after:
        return []
    change: dict[str, Any] = {"path": path or "/"}
    if before is not _MISSING:
        change["before"] = before
    if after is not _MISSING:
        change["after"] = after
    return [change]
