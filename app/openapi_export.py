"""The OpenAPI document as committed in ``openapi/openapi.json`` (stable key order)."""

from __future__ import annotations

import json

from app.factory import create_app
from app.settings import Settings

__all__ = ["render_openapi"]


def render_openapi() -> str:
    # Built from default settings: the spec describes the API, not one deployment.
    app = create_app(Settings())
    schema = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
