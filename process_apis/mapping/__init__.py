"""Mapping between Salesforce and the ERPs: the cross-reference kept in the store, dimension
reference data, and (``process_apis.mapping.ownership``) who masters each synchronized field."""

from process_apis.mapping.dimensions import DIMENSION_KINDS, DimensionCatalog
from process_apis.mapping.xref_store import (
    ReferenceCache,
    XrefDocument,
    export_document,
    import_document,
    links_of,
    load_catalog,
    load_cross_reference,
    read_document,
)

__all__ = [
    "DIMENSION_KINDS",
    "DimensionCatalog",
    "ReferenceCache",
    "XrefDocument",
    "export_document",
    "import_document",
    "links_of",
    "load_catalog",
    "load_cross_reference",
    "read_document",
]
