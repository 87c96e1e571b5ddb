"""Tell OpenAPI what msgspec enforces: request bodies that forbid unknown fields say so.

Litestar does not carry ``forbid_unknown_fields`` into the schema; without
``additionalProperties: false`` clients and fuzzers would think extra fields are accepted.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar

__all__ = ["seal_strict_request_schemas"]


def _strict_struct_names() -> set[str]:
    names: set[str] = set()
    pending: list[type[msgspec.Struct]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not msgspec.Struct and cls.__struct_config__.forbid_unknown_fields:
            names.add(cls.__name__)
    return names


def seal_strict_request_schemas(app: Litestar) -> None:
    components = app.openapi_schema.components
    schemas = components.schemas or {}
    for name in _strict_struct_names() & set(schemas):
        schemas[name].additional_properties = False
