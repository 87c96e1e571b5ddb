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


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("sent Bearer eyJhbGciOi.payload.sig upstream", "eyJhbGciOi.payload.sig"),
        ("bearer abc123", "abc123"),
        ("bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ", "QWxhZGRpbjpvcGVuIHNlc2FtZQ"),  # long, letters
        ("Basic QWxhZGRpbjpvcGVu", "QWxhZGRpbjpvcGVu"),
        ("Basic YWI6Y2Q=", "YWI6Y2Q="),
    ],
)
def test_bearer_and_basic_credentials_in_free_text_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)


@pytest.mark.parametrize(
    "prose",
    [
        "refused bearer token",
        "Bearer tokens are not accepted by this gateway.",
        "Use the Bearer scheme or X-API-Key.",
        "send an OAuth 2.0 bearer token",
        "Basic authentication is not supported",
    ],
)
def test_redaction_leaves_prose_about_credentials_alone(prose: str) -> None:
    assert prose == redact(prose)


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
