"""The overall verdict from its reasons: any block blocks, any warning warns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from process_apis.models import Reason

__all__ = ["verdict_of"]


def verdict_of(reasons: Iterable[Reason]) -> Literal["ok", "warn", "block"]:
    severities = {r.severity for r in reasons}
    if "block" in severities:
        return "block"
    if "warn" in severities:
        return "warn"
    return "ok"
