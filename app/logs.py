"""Structured JSON logs with correlation ids, and a filter that keeps secrets out of them."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec
from opentelemetry import trace

from app.correlation import current_correlation_id

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "redact"]

# Names of secret-bearing fields (not secrets themselves).
_SECRET_KEYS = "|".join(
    [
        "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token",
        "refresh_token", "api[_-]?key", "sessionid", "sask", "saak", "cs", "assertion",
    ]
)  # fmt: skip
# key=value, key: value, "key": "value", <key>value</key> — the shapes secrets take in our logs.
_PATTERNS = [
    re.compile(r"(?i)(\b(?:proxy-)?authorization\b\"?\s*[=:]\s*\"?)([^\r\n,;\"]+)()"),
    re.compile(rf"(?i)(\"(?:{_SECRET_KEYS})\"\s*:\s*\")([^\"]*)(\")"),
    re.compile(rf"(?i)(\b(?:{_SECRET_KEYS})\b\s*[=:]\s*)([^\s,;&\"']+)()"),
    re.compile(rf"(?i)(<(?:{_SECRET_KEYS})>)([^<]*)(</)"),
]
# "Bearer <credential>" / "Basic <credential>" in free text.
_SCHEME_VALUE = [
    re.compile(r"(?i)(\bBearer\s+)([A-Za-z0-9._~+/=-]+)()"),
    re.compile(r"(?i)(\bBasic\s+)([A-Za-z0-9+/=]+)()"),
]
REDACTED = "[REDACTED]"
_SENSITIVE_EXTRA = re.compile(rf"(?i)^(?:{_SECRET_KEYS}|authorization)$")


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    for pattern in _SCHEME_VALUE:
        text = pattern.sub(_redact_credential, text)
    return text


def _redact_credential(match: re.Match[str]) -> str:
    value = match.group(2)
    # Prose ("bearer token", "Basic authentication"): a short word of letters is no credential.
    if value.isalpha() and len(value) < 16:
        return match.group(0)
    return f"{match.group(1)}{REDACTED}"


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and extra fields with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _RESERVED:
                continue
            if _SENSITIVE_EXTRA.match(key):
                setattr(record, key, REDACTED)
            elif isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or current_correlation_id(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            payload["trace_id"] = format(span_context.trace_id, "032x")
            payload["span_id"] = format(span_context.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in payload and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return msgspec.json.encode(payload, enc_hook=str).decode()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Install one stderr handler on the root logger with the redaction filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
