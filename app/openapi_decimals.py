"""Documenting decimal-string fields (``process_apis.decimals``) as what they are: strings."""

from __future__ import annotations

from typing import Any

from litestar._openapi.schema_generation import SchemaCreator
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from process_apis.decimals import is_decimal_string

__all__ = ["DecimalStringSchema"]


class DecimalStringSchema(OpenAPISchemaPlugin):
    """``type: string``; the field's pattern, description and examples come from its ``Meta``."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return is_decimal_string(value)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        return Schema(type=OpenAPIType.STRING)
