"""Dimension reference data: the values an order line may name, per entity, as the ERP lists
them (Intacct departments, locations, classes, projects; M3 accounting identities mapped to
the same four names).

``DimensionCatalog.check`` refuses a line naming a value the ERP does not have, has made
inactive, or no longer lists, with a message that names the dimension and the value, before
anything is sent to the ERP. A kind with no reference data for the entity (never synchronized)
is not checked: the ERP remains the judge of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from process_apis.errors import UnknownReferenceError
from store.reference import DimensionRow

__all__ = ["DIMENSION_KINDS", "DimensionCatalog"]

DIMENSION_KINDS = ("department", "location", "class", "project")
_LABELS = {
    "department": "Department",
    "location": "Location",
    "class": "Class",
    "project": "Project",
}


@dataclass(frozen=True)
class _Value:
    name: str
    status: str


class DimensionCatalog:
    def __init__(self, values: Mapping[tuple[str, str], Mapping[str, _Value]]) -> None:
        self._values = {key: dict(v) for key, v in values.items()}

    @classmethod
    def empty(cls) -> DimensionCatalog:
        return cls({})

    @classmethod
    def of(cls, rows: Iterable[DimensionRow]) -> DimensionCatalog:
        values: dict[tuple[str, str], dict[str, _Value]] = {}
        for row in rows:
            values.setdefault((row.entity, row.kind), {})[row.code] = _Value(row.name, row.status)
        return cls(values)

    def known(self, entity: str, kind: str) -> bool:
        """Whether reference data for this entity and kind has been synchronized."""
        return bool(self._values.get((entity, kind)))

    def check(self, entity: str, dimensions: Mapping[str, str], *, pointer: str) -> None:
        """Raise for the first dimension of a line that the ERP would refuse."""
        for kind, code in dimensions.items():
            listed = self._values.get((entity, kind))
            if not listed:
                continue
            label = _LABELS.get(kind, kind.title())
            value = listed.get(code)
            where = f"{pointer}/{kind}"
            if value is None:
                raise UnknownReferenceError(
                    f"{label} '{code}' does not exist in entity {entity}.", pointer=where
                )
            if value.status == "inactive":
                raise UnknownReferenceError(
                    f"{label} '{code}' ({value.name}) is inactive in entity {entity}.",
                    pointer=where,
                )
            if value.status == "gone":
                raise UnknownReferenceError(
                    f"{label} '{code}' is no longer listed by the ERP of entity {entity}.",
                    pointer=where,
                )
