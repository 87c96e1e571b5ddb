"""The External Services document: current, valid OpenAPI 3.0, and within Salesforce's rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.external_services import APEX_RESERVED, MAX_DESCRIPTION, render_external_services

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "salesforce-external-services.json"
APEX_IDENTIFIER = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
SUPPORTED_MEDIA = {"application/json", "application/x-www-form-urlencoded", "text/plain"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(render_external_services()))


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def test_committed_document_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_external_services(), (
        "run `isthmus external-services` and commit openapi/salesforce-external-services.json"
    )


def test_document_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_lightning_and_process_operations_are_all_there(document: dict[str, Any]) -> None:
    assert {p.split("/")[1] for p in document["paths"]} == {"lightning", "process"}
    assert "/lightning/v1/accounts/{accountId}/credit" in document["paths"]


def test_operation_ids_are_unique_valid_apex_identifiers(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert APEX_IDENTIFIER.match(operation_id), operation_id
        assert operation_id.lower() not in APEX_RESERVED


def test_every_property_has_a_type(document: dict[str, Any]) -> None:
    for path, node in _walk(document["components"]["schemas"]):
        if path.endswith(".properties") and isinstance(node, dict):
            for name, schema in node.items():
                assert "type" in schema or "$ref" in schema, f"{path}.{name}"


def test_no_construct_external_services_rejects(document: dict[str, Any]) -> None:
    for path, node in _walk(document):
        if not isinstance(node, dict):
            continue
        for combinator in ("oneOf", "anyOf", "allOf"):
            assert combinator not in node or "discriminator" in node, path
        assert not isinstance(node.get("type"), list), path
        if path.endswith(".responses") or ".responses." in path:
            assert "headers" not in node, path
        if path.endswith(".content"):
            assert set(node) <= SUPPORTED_MEDIA, path
    methods = {m for item in document["paths"].values() for m in item}
    assert methods <= {"get", "post", "put", "patch", "delete"}
    assert "securitySchemes" not in document.get("components", {})


def test_descriptions_fit_and_the_document_is_small(document: dict[str, Any]) -> None:
    for path, node in _walk(document):
        if path.endswith(".description"):
            assert len(node) <= MAX_DESCRIPTION, path
    assert len(json.dumps(document)) < 10_000_000
