"""The objects the emulator knows, derived from the definition files in ``definitions/``.

``OBJECTS`` maps each object to its fields and the comparison type a query uses for each:
``text``, ``number``, ``date`` (``MM/DD/YYYY``), ``datetime`` and ``bool``.
"""

from __future__ import annotations

from typing import Literal

from sandbox.intacct.definitions import DataType, ObjectDef, definitions

__all__ = ["DEFINITIONS", "ENTITY_OWNED", "NAME_FIELDS", "OBJECTS", "FieldType", "field_type"]

FieldType = Literal["text", "number", "date", "datetime", "bool"]

_COMPARE_AS: dict[DataType, FieldType] = {
    "TEXT": "text",
    "ENUM": "text",
    "INTEGER": "number",
    "DECIMAL": "number",
    "CURRENCY": "number",
    "PERCENT": "number",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP": "datetime",
}

DEFINITIONS: dict[str, ObjectDef] = definitions()

OBJECTS: dict[str, dict[str, FieldType]] = {
    name: {f.name: _COMPARE_AS[f.datatype] for f in d.fields.values()}
    for name, d in DEFINITIONS.items()
}

NAME_FIELDS: dict[str, str] = {name: d.key for name, d in DEFINITIONS.items() if d.key}
"""The field ``readByName`` keys on, per object."""

ENTITY_OWNED = frozenset(name for name, d in DEFINITIONS.items() if d.entity_owned)
"""Objects whose records belong to one entity; the rest are shared by every entity."""


def field_type(obj: str, field: str) -> FieldType | None:
    return OBJECTS.get(obj, {}).get(field)
