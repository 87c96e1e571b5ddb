from __future__ import annotations

import json
import logging

import pytest

from app.correlation import reset_correlation_id, set_correlation_id
from app.logs import JsonFormatter, RedactingFilter, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login password=hunter2 ok", "hunter2"),
        ('{"client_secret": "abc123xyz"}', "abc123xyz"),
        ("<password>xml-pw</password>", "xml-pw"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("X-API-Key: isk_live_5555", "isk_live_5555"),
        ("token=t0k3n&x=1", "t0k3n"),
        ("<sessionid>SESS-42</sessionid>", "SESS-42"),
    ],
)
def test_redaction_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[REDACTED]" in cleaned


def _format(record: logging.LogRecord) -> dict[str, object]:
    RedactingFilter().filter(record)
    return dict(json.loads(JsonFormatter().format(record)))


def test_json_log_line_carries_correlation_id_and_no_secret() -> None:
    token = set_correlation_id("corr-123")
    try:
        record = logging.LogRecord(
            "isthmus", logging.INFO, __file__, 1, "calling with password=%s", ("pw-999",), None
        )
        record.api_key = "isk_live_1"
        line = _format(record)
    finally:
        reset_correlation_id(token)
    assert line["correlation_id"] == "corr-123"
    assert "pw-999" not in json.dumps(line)
    assert line["api_key"] == "[REDACTED]"
