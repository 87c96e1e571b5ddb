from __future__ import annotations

from pathlib import Path

from app.openapi_export import render_openapi

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.exists(), "run `isthmus openapi` to write openapi/openapi.json"
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/openapi.json is stale: run `isthmus openapi` and commit the result"
    )
