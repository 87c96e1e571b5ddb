"""An OpenAPI 3.0 document of the Lightning and process operations for Salesforce External Services.

External Services imports "a limited subset of OpenAPI 3.0": JSON bodies, operationIds that
are Apex identifiers, every property typed, no ``oneOf``/``anyOf`` without a discriminator,
no response headers, descriptions of at most 1,333 characters. Security schemes are left out:
the Named Credential does authentication. This module derives that document from the app's
own (OpenAPI 3.1) spec, so the two cannot drift; ``isthmus external-services`` writes it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

__all__ = ["APEX_RESERVED", "MAX_DESCRIPTION", "render_external_services", "to_external_services"]

MAX_DESCRIPTION = 1333
INCLUDED_PREFIXES = ("/lightning/", "/process/")
_JSON = "application/json"
APEX_RESERVED = frozenset(
    [
        "abstract",
        "activate",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "autonomous",
        "begin",
        "bigdecimal",
        "blob",
        "boolean",
        "break",
        "bulk",
        "by",
        "byte",
        "case",
        "cast",
        "catch",
        "char",
        "class",
        "collect",
        "commit",
        "const",
        "continue",
        "currency",
        "date",
        "datetime",
        "decimal",
        "default",
        "delete",
        "desc",
        "do",
        "double",
        "else",
        "end",
        "enum",
        "exception",
        "exit",
        "export",
        "extends",
        "false",
        "final",
        "finally",
        "float",
        "for",
        "from",
        "global",
        "goto",
        "group",
        "having",
        "hint",
        "if",
        "implements",
        "import",
        "in",
        "inner",
        "insert",
        "instanceof",
        "int",
        "integer",
        "interface",
        "into",
        "join",
        "like",
        "limit",
        "list",
        "long",
        "loop",
        "map",
        "merge",
        "new",
        "not",
        "null",
        "nulls",
        "number",
        "object",
        "of",
        "on",
        "or",
        "outer",
        "override",
        "package",
        "parallel",
        "pragma",
        "private",
        "protected",
        "public",
        "retrieve",
        "return",
        "rollback",
        "select",
        "set",
        "short",
        "sobject",
        "sort",
        "static",
        "string",
        "super",
        "switch",
        "synchronized",
        "system",
        "testmethod",
        "then",
        "this",
        "throw",
        "time",
        "transaction",
        "trigger",
        "true",
        "try",
        "undelete",
        "update",
        "upsert",
        "using",
        "virtual",
        "void",
        "webservice",
        "when",
        "where",
        "while",
    ]
)
_DROP_KEYS = {"examples", "$schema", "contentMediaType", "contentEncoding", "const", "headers"}


def to_external_services(spec: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI 3.1 document into what External Services accepts."""
    spec = copy.deepcopy(spec)
    paths = {p: v for p, v in spec["paths"].items() if p.startswith(INCLUDED_PREFIXES)}
    for item in paths.values():
        for operation in item.values():
            operation.pop("security", None)
            for response in operation.get("responses", {}).values():
                response.pop("headers", None)
                content = response.get("content")
                if content:
                    # Problem documents are JSON; External Services knows only application/json.
                    response["content"] = {_JSON: next(iter(content.values()))}
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]
                body_schema = next(iter(body.values()))["schema"]
                operation["requestBody"]["content"] = {_JSON: {"schema": body_schema}}
    components = {"schemas": spec.get("components", {}).get("schemas", {})}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Isthmus for Salesforce",
            "version": spec["info"]["version"],
            "description": "Lightning and process operations of the Isthmus gateway.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    }
    document = _convert(document)
    _prune_unused_schemas(document)
    return document


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: v for k, v in node.items() if k not in _DROP_KEYS}
    if node.get("required") == []:
        del node["required"]  # 3.0 wants at least one entry when present
    if node.get("type") == "object" and "properties" in node and "oneOf" in node:
        # "Exactly one of these fields": no Apex shape for it; the description says the rule.
        del node["oneOf"]
    node = _collapse_nullable(node)
    if "allOf" in node and len(node["allOf"]) == 1 and "$ref" in node["allOf"][0]:
        # Litestar wraps a referenced body in allOf; a plain $ref says the same.
        node = {"$ref": node["allOf"][0]["$ref"]}
    if "$ref" in node:
        return {"$ref": node["$ref"]}  # 3.0: siblings of $ref are ignored, so drop them
    if "description" in node and isinstance(node["description"], str):
        node["description"] = node["description"][:MAX_DESCRIPTION]
    if node.get("type") == "object" and "properties" not in node:
        # Free-form objects: give the values a type (strings), as every property must have one.
        extra = node.get("additionalProperties")
        if not isinstance(extra, dict) or (not extra.get("type") and "$ref" not in extra):
            node["additionalProperties"] = {"type": "string"}
    return {k: _convert(v) for k, v in node.items()}


def _collapse_nullable(node: dict[str, Any]) -> dict[str, Any]:
    for key in ("oneOf", "anyOf"):
        options = node.get(key)
        if not isinstance(options, list):
            continue
        non_null = [o for o in options if o != {"type": "null"}]
        if len(non_null) == 1 and len(non_null) < len(options):
            merged = {k: v for k, v in node.items() if k != key}
            only = non_null[0]
            if "$ref" in only:
                # Apex reads a missing or null object as null; allOf is not importable.
                return {"$ref": only["$ref"]}
            merged.update(only)
            merged["nullable"] = True
            return merged
        if len(non_null) == 1:
            merged = {k: v for k, v in node.items() if k != key}
            merged.update(non_null[0])
            return merged
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        nullable = len(types) < len(node["type"])
        node = {**node, "type": types[0]}
        if nullable:
            node["nullable"] = True
    return node


def _prune_unused_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    used: set[str] = set()
    pending = [json.dumps(document["paths"])]
    while pending:
        for name in re.findall(r"#/components/schemas/([A-Za-z0-9_.\-]+)", pending.pop()):
            if name not in used and name in schemas:
                used.add(name)
                pending.append(json.dumps(schemas[name]))
    document["components"]["schemas"] = {k: v for k, v in schemas.items() if k in used}


def render_external_services() -> str:
    from app.openapi_export import render_openapi

    document = to_external_services(json.loads(render_openapi()))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
