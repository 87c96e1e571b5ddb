"""Partner tenancy: which Salesforce Accounts each partner owns.

A portal route that takes an account id answers 404 for any account the calling partner does
not own, whether it belongs to another partner or does not exist: the answer must not reveal
which ids are real.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from litestar.exceptions import NotFoundException

from app.security.caller import Caller
from process_apis.errors import InvalidInputError
from process_apis.xref import normalize_salesforce_id

__all__ = ["PartnerDirectory"]


class PartnerDirectory:
    def __init__(self, partners: Mapping[str, Iterable[str]]) -> None:
        self._accounts: dict[str, tuple[str, ...]] = {
            partner: tuple(
                sorted({normalize_salesforce_id(a, pointer=f"partners.{partner}") for a in ids})
            )
            for partner, ids in partners.items()
        }

    @classmethod
    def load(cls, partners: Mapping[str, Iterable[str]], file: str | None) -> PartnerDirectory:
        merged: dict[str, list[str]] = {k: list(v) for k, v in partners.items()}
        if file:
            document = json.loads(Path(file).read_text(encoding="utf-8"))
            for partner, ids in dict(document.get("partners", {})).items():
                merged.setdefault(str(partner), []).extend(str(i) for i in ids)
        return cls(merged)

    def accounts_of(self, partner_id: str) -> tuple[str, ...]:
        return self._accounts.get(partner_id, ())

    def owned_account(self, caller: Caller, account_id: str) -> str:
        """The 18-character id when ``caller``'s partner owns it; else 404, never the data."""
        try:
            normalized = normalize_salesforce_id(account_id, pointer="")
        except InvalidInputError:
            normalized = None
        if (
            caller.partner_id is None
            or normalized is None
            or normalized not in self._accounts.get(caller.partner_id, ())
        ):
            raise NotFoundException(detail="No such account for this partner.")
        return normalized
