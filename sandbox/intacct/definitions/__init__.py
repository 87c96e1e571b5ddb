"""Intacct object definitions: one data file per object, the single source of the emulator's
field lists (queries, reads, ``lookup`` and ``inspect`` all answer from them).

File syntax (``CUSTOMER.txt``): ``#`` comments; directives ``@object NAME Label words``,
``@key FIELD`` (what ``readByName`` keys on), ``@entity`` (records belong to one entity),
``@source text``, ``@noquery FIELD…`` (fields the newer ``query`` function refuses),
``@enum FIELD v1 v2`` (``_`` in a value stands for a space) and
``@relation PATH OBJECT RELATEDBY``; every other line holds field specs
``NAME[:TYPE][!][~]`` in the order Intacct lists them: ``!`` required, ``~`` read only, TYPE
one of ``I`` INTEGER, ``D`` DECIMAL, ``C`` CURRENCY, ``P`` PERCENT, ``B`` BOOLEAN, ``DT`` DATE,
``TS`` TIMESTAMP, ``E`` ENUM, TEXT when absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = [
    "DataType",
    "FieldDef",
    "ObjectDef",
    "Relation",
    "definitions",
]

DataType = Literal[
    "TEXT", "INTEGER", "DECIMAL", "CURRENCY", "PERCENT", "BOOLEAN", "DATE", "TIMESTAMP", "ENUM"
]
_TYPES: dict[str, DataType] = {
    "": "TEXT",
    "I": "INTEGER",
    "D": "DECIMAL",
    "C": "CURRENCY",
    "P": "PERCENT",
    "B": "BOOLEAN",
    "DT": "DATE",
    "TS": "TIMESTAMP",
    "E": "ENUM",
}
_SPEC = re.compile(r"^(?P<name>[A-Z][A-Z0-9_.]*)(?::(?P<type>[A-Z]+))?(?P<flags>[!~]*)$")
_DIR = Path(__file__).parent


@dataclass(frozen=True)
class FieldDef:
    name: str
    datatype: DataType
    required: bool
    readonly: bool
    valid_values: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A readable label: the last path segment, words split at underscores."""
        last = self.name.rsplit(".", 1)[-1].replace("_", " ").lower()
        return last[:1].upper() + last[1:]


@dataclass(frozen=True)
class Relation:
    path: str
    object: str
    related_by: str


@dataclass(frozen=True)
class ObjectDef:
    name: str
    label: str
    fields: dict[str, FieldDef]
    key: str | None = None
    entity_owned: bool = False
    sources: tuple[str, ...] = ()
    relations: tuple[Relation, ...] = field(default=())
    not_queryable: frozenset[str] = frozenset()
    """Fields ``readByQuery`` returns but the newer ``query`` refuses (``@noquery``)."""

    def datatype(self, name: str) -> DataType | None:
        found = self.fields.get(name)
        return None if found is None else found.datatype


def _parse(path: Path) -> ObjectDef:
    name, label, key, entity = path.stem, path.stem, None, False
    sources: list[str] = []
    specs: dict[str, FieldDef] = {}
    enums: dict[str, tuple[str, ...]] = {}
    relations: list[Relation] = []
    not_queryable: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            directive, _, rest = line[1:].partition(" ")
            words = rest.split()
            if directive == "object":
                name, label = words[0], " ".join(words[1:]) or words[0]
            elif directive == "key":
                key = words[0]
            elif directive == "entity":
                entity = True
            elif directive == "source":
                sources.append(rest)
            elif directive == "enum":
                enums[words[0]] = tuple(v.replace("_", " ") for v in words[1:])
            elif directive == "noquery":
                not_queryable.update(words)
            elif directive == "relation":
                relations.append(Relation(words[0], words[1], words[2]))
            else:
                raise ValueError(f"{path.name}: unknown directive @{directive}")
            continue
        for token in line.split():
            match = _SPEC.match(token)
            if match is None or (match["type"] or "") not in _TYPES:
                raise ValueError(f"{path.name}: bad field spec {token!r}")
            if match["name"] in specs:
                raise ValueError(f"{path.name}: field {match['name']} listed twice")
            flags = match["flags"]
            specs[match["name"]] = FieldDef(
                match["name"], _TYPES[match["type"] or ""], "!" in flags, "~" in flags
            )
    for enum_field, values in enums.items():
        if enum_field not in specs:
            raise ValueError(f"{path.name}: @enum for unknown field {enum_field}")
        old = specs[enum_field]
        specs[enum_field] = FieldDef(old.name, old.datatype, old.required, old.readonly, values)
    if key is not None and key not in specs:
        raise ValueError(f"{path.name}: @key {key} is not a field")
    if not not_queryable <= specs.keys():
        raise ValueError(f"{path.name}: @noquery names unknown fields")
    return ObjectDef(
        name, label, specs, key, entity, tuple(sources), tuple(relations), frozenset(not_queryable)
    )


@cache
def definitions() -> dict[str, ObjectDef]:
    """Every object definition, by object name (read once)."""
    found = (_parse(p) for p in sorted(_DIR.glob("*.txt")))
    return {d.name: d for d in found}
