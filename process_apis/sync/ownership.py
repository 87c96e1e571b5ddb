"""Field ownership: who masters each field, and what a conflict does — one table, from data.

The table (``ownership.toml`` beside this module, or a file named in settings) lists every
field a flow writes or compares, per Salesforce object. ``plan`` applies it to one record about
to be written to a *target* system (``salesforce`` for write-back; ``erp`` for master data
flowing the other way) given what the other side proposes, what the target holds now (when
known) and what Isthmus last wrote there:

- the target masters the field: it is never written; a different proposal is a conflict
  (``kept``) unless the rule says ``ignore``;
- the other side (the source) masters it: it is written. When the target's value differs from
  what Isthmus last wrote, someone edited it there: ``overwrite`` writes the master's value
  back and records ``restored``; ``keep`` leaves the edit and records ``kept``;
- ``first_writer``: written while the target is blank or still holds what Isthmus wrote; once
  someone else set it, their value stays (``keep`` records the disagreement).

A field that is not in the table is refused (``OwnershipError``): nothing is written that no
one decided the ownership of.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import msgspec

__all__ = [
    "DEFAULT_OWNERSHIP_FILE",
    "FieldConflict",
    "FieldRule",
    "Master",
    "OnConflict",
    "OwnershipError",
    "OwnershipTable",
    "WritePlan",
    "normalize",
]

Master = Literal["salesforce", "erp", "first_writer"]
OnConflict = Literal["overwrite", "keep", "ignore"]
System = Literal["salesforce", "erp"]
DEFAULT_OWNERSHIP_FILE = Path(__file__).with_name("ownership.toml")
_DEFAULT_RULE: dict[str, OnConflict] = {
    "erp": "overwrite",
    "salesforce": "keep",
    "first_writer": "keep",
}


class OwnershipError(ValueError):
    """The table is malformed, or a field was about to be written that it does not list."""


class FieldRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    master: Master
    on_conflict: OnConflict | None = None

    @property
    def conflict(self) -> OnConflict:
        return self.on_conflict or _DEFAULT_RULE[self.master]


class FieldConflict(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    master: Master
    outcome: Literal["kept", "restored"]
    target_value: Any
    proposed_value: Any


class WritePlan(msgspec.Struct, frozen=True, kw_only=True):
    values: dict[str, Any]
    """What to write (a subset of the proposal)."""
    conflicts: tuple[FieldConflict, ...] = ()


def normalize(value: Any) -> Any:
    """A comparable form: blanks are None, numbers Decimal, dates and times ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return number.normalize() if number.is_finite() else value
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    return bool(normalize(a) == normalize(b))


def _rule_name(field: str) -> str:
    """Relationship references (``Invoice__r``) follow their lookup field (``Invoice__c``)."""
    return field[:-3] + "__c" if field.endswith("__r") else field


class OwnershipTable:
    def __init__(self, rules: Mapping[str, Mapping[str, FieldRule]]) -> None:
        self._rules = {obj: dict(fields) for obj, fields in rules.items()}
        for obj, fields in self._rules.items():
            for name, rule in fields.items():
                if rule.master == "salesforce" and rule.conflict == "overwrite":
                    raise OwnershipError(
                        f"{obj}.{name}: a field Salesforce masters cannot be 'overwrite' "
                        "(write-back never overwrites it)"
                    )
                if rule.master == "first_writer" and rule.conflict == "overwrite":
                    raise OwnershipError(
                        f"{obj}.{name}: 'first_writer' fields keep the first value: use 'keep' "
                        "or 'ignore'"
                    )

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_OWNERSHIP_FILE) -> OwnershipTable:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise OwnershipError(f"ownership file {path}: {exc}") from None
        try:
            rules = msgspec.convert(raw, dict[str, dict[str, FieldRule]])
        except msgspec.ValidationError as exc:
            raise OwnershipError(f"ownership file {path}: {exc}") from None
        return cls(rules)

    @staticmethod
    def field_name(field: str) -> str:
        """The Salesforce field behind a write key (``Invoice__r`` → ``Invoice__c``)."""
        return _rule_name(field)

    def objects(self) -> dict[str, dict[str, FieldRule]]:
        return {obj: dict(fields) for obj, fields in self._rules.items()}

    def rule(self, sobject: str, field: str) -> FieldRule:
        found = self._rules.get(sobject, {}).get(_rule_name(field))
        if found is None:
            raise OwnershipError(
                f"{sobject}.{field} is not in the ownership table: add it with its master"
            )
        return found

    def needs_target_values(self, sobject: str, fields: set[str], *, target: System) -> set[str]:
        """The fields whose current target value decides what to write (read them first)."""
        source: Master = "erp" if target == "salesforce" else "salesforce"
        wanted = set()
        for name in fields:
            rule = self.rule(sobject, name)
            if rule.master == source and rule.conflict == "overwrite":
                continue  # written either way; the reconciler reports edits it cannot see
            if rule.conflict == "ignore" and rule.master == target:
                continue  # never written, never recorded
            wanted.add(_rule_name(name))
        return wanted

    def plan(
        self,
        sobject: str,
        proposed: Mapping[str, Any],
        *,
        target: System,
        current: Mapping[str, Any] | None = None,
        last_written: Mapping[str, Any] | None = None,
    ) -> WritePlan:
        """What to write of ``proposed`` into ``target``; ``current`` is what the target holds
        now (None: not read), ``last_written`` what Isthmus wrote there last (None: never)."""
        source: Master = "erp" if target == "salesforce" else "salesforce"
        values: dict[str, Any] = {}
        conflicts: list[FieldConflict] = []
        for name, value in proposed.items():
            rule = self.rule(sobject, name)
            key = _rule_name(name)
            known = current is not None
            now = current.get(key) if current is not None else None
            wrote = last_written.get(name) if last_written is not None else None
            edited = (
                known
                and last_written is not None
                and name in last_written
                and not _same(now, wrote)
                and not _same(now, value)
            )
            if rule.master == target:
                if known and not _same(now, value) and rule.conflict != "ignore":
                    conflicts.append(
                        FieldConflict(
                            field=name,
                            master=rule.master,
                            outcome="kept",
                            target_value=now,
                            proposed_value=value,
                        )
                    )
                continue
            if rule.master == source:
                if edited and rule.conflict == "keep":
                    conflicts.append(
                        FieldConflict(
                            field=name,
                            master=rule.master,
                            outcome="kept",
                            target_value=now,
                            proposed_value=value,
                        )
                    )
                    continue
                if edited and rule.conflict == "overwrite":
                    conflicts.append(
                        FieldConflict(
                            field=name,
                            master=rule.master,
                            outcome="restored",
                            target_value=now,
                            proposed_value=value,
                        )
                    )
                values[name] = value
                continue
            # first_writer
            if not known:
                if last_written is None or name in last_written:
                    values[name] = value  # never written there by anyone we know of, or ours
                continue
            ours = last_written is not None and name in last_written and _same(now, wrote)
            if now is None or now == "" or ours:
                values[name] = value
            elif not _same(now, value) and rule.conflict == "keep":
                conflicts.append(
                    FieldConflict(
                        field=name,
                        master=rule.master,
                        outcome="kept",
                        target_value=now,
                        proposed_value=value,
                    )
                )
        return WritePlan(values=values, conflicts=tuple(conflicts))
