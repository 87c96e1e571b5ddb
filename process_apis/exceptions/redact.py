"""Sensitive fields in payload views: shown masked, and kept as they were when an edited
payload comes back with the mask in their place."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "Redactor"]

MASK = "•••redacted•••"
DEFAULT_SENSITIVE = (
    "password", "secret", "token", "api_key", "apikey", "authorization", "tax_id", "taxid",
    "ssn", "iban", "bank_account", "card_number", "cvv", "sender_password", "user_password",
)  # fmt: skip


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class Redactor:
    """A field is sensitive when its normalised name contains a sensitive word."""

    def __init__(self, words: Iterable[str] = DEFAULT_SENSITIVE) -> None:
        self._words = tuple({_norm(w) for w in words if _norm(w)})

    def sensitive(self, name: str) -> bool:
        n = _norm(name)
        return any(w in n for w in self._words)

    def redact(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (MASK if self.sensitive(str(k)) and v is not None else self.redact(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value

    def restore(self, edited: Any, original: Any) -> Any:
        """``edited`` with every masked sensitive value put back from ``original``."""
        if isinstance(edited, dict):
            source = original if isinstance(original, dict) else {}
            out = {}
            for k, v in edited.items():
                if v == MASK and self.sensitive(str(k)) and k in source:
                    out[k] = source[k]
                else:
                    out[k] = self.restore(v, source.get(k))
            return out
        if isinstance(edited, list):
            source_list = original if isinstance(original, list) else []
            return [
                self.restore(v, source_list[i] if i < len(source_list) else None)
                for i, v in enumerate(edited)
            ]
        return edited
