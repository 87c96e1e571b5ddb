"""Deployment files that no engine runs here: check by reading that they hold what they must."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_is_multistage_nonroot_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2
    assert "-slim" in text
    assert "USER isthmus" in text
    assert "HEALTHCHECK" in text
    assert "/health/live" in text
    assert 'CMD ["isthmus", "serve"]' in text


def test_ci_runs_exactly_make_test() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "make test" in lines[-1]
