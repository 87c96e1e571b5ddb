"""Tell OpenAPI what msgspec and the process layer enforce, which Litestar cannot see.

- Request bodies that forbid unknown fields say so: without ``additionalProperties: false``
  clients and fuzzers would think extra fields are accepted.
- A request whose struct names ``EXACTLY_ONE_OF`` (e.g. ``accountId`` and ``customerNumber``)
  says that exactly one of them must be given, as a non-null string (``oneOf``).
"""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Schema

__all__ = ["seal_strict_request_schemas"]


def _strict_structs() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[type[msgspec.Struct]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not msgspec.Struct and cls.__struct_config__.forbid_unknown_fields:
            found[cls.__name__] = cls
    return found


def seal_strict_request_schemas(app: Litestar) -> None:
    components = app.openapi_schema.components
    schemas = components.schemas or {}
    strict = _strict_structs()
    for name in strict.keys() & set(schemas):
        schema = schemas[name]
        schema.additional_properties = False
        one_of: tuple[str, ...] = getattr(strict[name], "EXACTLY_ONE_OF", ())
        if one_of:
            schema.one_of = [
                Schema(required=[field], properties={field: Schema(type=OpenAPIType.STRING)})
                for field in one_of
            ]
            rule = f"Give exactly one of {' and '.join(one_of)}."
            schema.description = f"{schema.description} {rule}" if schema.description else rule
