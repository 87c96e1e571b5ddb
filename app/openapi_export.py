"""The OpenAPI document as committed in ``openapi/openapi.json`` (stable key order)."""

from __future__ import annotations

import json

from litestar.serialization import encode_json

from app.factory import create_app
from app.settings import Settings

__all__ = ["render_openapi"]


def render_openapi() -> str:
    # Built from default settings: the spec describes the API, not one deployment.
    app = create_app(Settings())
    # Litestar's encoder first (it knows Structs and Decimals), then a stable layout for diffs.
    schema = json.loads(encode_json(app.openapi_schema.to_schema()))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
