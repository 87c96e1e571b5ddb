"""Request bodies decoded in one step, straight from JSON bytes into the route's request struct.

Litestar's generic path decodes a body to dicts and lists, then converts those into the struct
through a chain of type hooks consulted for every decimal field: most of a warm request's time.
``StrictBody`` (set as a controller's ``dto``) decodes with one typed ``msgspec.json.Decoder``
per route instead, whose only hook is the decimal-string check. What a caller sees is unchanged:

- the OpenAPI schema of the body is the one Litestar makes for the struct itself;
- a body that is not JSON at all is a ``SerializationException`` (our 400), with msgspec's own
  message, even when its readable start already breaks the schema;
- a body that breaks the schema is a ``ValidationException`` whose ``extra`` has the shape
  Litestar's signature model gives (``message``, ``key`` without the ``$.`` and ``source``),
  so ``app.errors`` turns it into the same 422 with the same JSON pointers;
- an empty body never reaches this class (Litestar hands the route no ``data`` at all).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar, cast

import msgspec
from litestar.datastructures import URL
from litestar.dto import AbstractDTO, DTOConfig, DTOFieldDefinition
from litestar.exceptions import SerializationException, ValidationException

from process_apis.decimals import (
    AmountString,
    DecimalString,
    QuantityString,
    decode_decimal_string,
)

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.dto._backend import DTOBackend
    from litestar.openapi.spec import Reference, Schema
    from litestar.typing import FieldDefinition

__all__ = ["StrictBody", "body_decoder"]

_EXACT: dict[type[Any], re.Pattern[str]] = {
    kind: cast("type[DecimalString]", kind)._EXACT for kind in (QuantityString, AmountString)
}
"""The decimal-string types a request struct holds, with their full-match patterns."""

# Litestar's own pattern for the location msgspec appends to a message ("... - at `$.a.b`").
_AT = re.compile(r"`\$\.(.+)`$")


def _decimal_hook(target: type[Any], value: Any) -> Any:
    exact = _EXACT.get(target)
    if exact is not None and type(value) is str and exact.match(value) is not None:
        return target(value)  # the common case, without a call through the checks below
    if isinstance(target, type) and issubclass(target, DecimalString):
        return decode_decimal_string(target, value)
    raise NotImplementedError(f"no decoder for {target!r}")


def body_decoder(annotation: Any) -> msgspec.json.Decoder[Any]:
    """The one-step decoder of a request struct: JSON bytes to the struct, decimals checked."""
    return msgspec.json.Decoder(annotation, strict=False, dec_hook=_decimal_hook)


class StrictBody(AbstractDTO[Any]):
    """A controller's ``dto``: its routes' ``data`` decoded by a typed decoder per route."""

    config: ClassVar[DTOConfig] = DTOConfig()
    _decoders: ClassVar[dict[str, msgspec.json.Decoder[Any]]] = {}

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:  # pragma: no cover - no DTO backend is built
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:  # pragma: no cover
        return False

    @classmethod
    def create_for_field_definition(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,
        backend_cls: type[DTOBackend] | None = None,
    ) -> None:
        if field_definition.name == "data":
            cls._decoders[handler_id] = body_decoder(field_definition.annotation)

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        return schema_creator.for_field_definition(field_definition)

    def decode_bytes(self, value: bytes) -> Any:
        connection = self.asgi_connection
        try:
            return self._decoders[connection.route_handler.handler_id].decode(value)
        except msgspec.ValidationError as exc:
            try:
                msgspec.json.decode(value)
            except msgspec.DecodeError as malformed:
                raise SerializationException(str(malformed)) from None
            message = str(exc)
            at = _AT.search(message)
            key = f"data.{at.group(1)}" if at else "data"
            url = connection.url
            path = URL.from_components(path=url.path, query=url.query)
            raise ValidationException(
                detail=f"Validation failed for {getattr(connection, 'method', '')} {path}",
                extra=[
                    {
                        "message": message.split(" - ", maxsplit=1)[0],
                        "key": key.replace("data.", ""),
                        "source": "body",
                    }
                ],
            ) from None
        except msgspec.DecodeError as exc:
            raise SerializationException(str(exc)) from None
