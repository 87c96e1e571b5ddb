"""Isthmus settings: one validated object, from an optional TOML file and ``ISTHMUS_*`` env.

Environment variables override the file. Nested settings use a double underscore:
``ISTHMUS_INTACCT__SENDER_ID`` sets ``intacct.sender_id``. Nothing is read at import time:
``load_settings()`` is called by the CLI (or a test) and its result handed to ``create_app``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "EntityRoute",
    "FxRateSetting",
    "InforSettings",
    "IntacctSettings",
    "Settings",
    "SettingsError",
    "load_settings",
]

ENV_PREFIX = "ISTHMUS_"
CONFIG_FILE_ENV = "ISTHMUS_CONFIG_FILE"


class SettingsError(ValueError):
    """Configuration is invalid; the message names the setting and the environment variable."""


Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Millis = Annotated[int, msgspec.Meta(ge=1, le=120_000)]


class EntityRoute(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where one legal entity / sales org lives: which ERP, and its company there."""

    erp: Literal["sage_intacct", "infor_m3"]
    company: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    division: str | None = None
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]


class IntacctSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    endpoint_url: str = "https://api.intacct.com/ia/xml/xmlgw.phtml"
    sender_id: str
    sender_password: str
    user_id: str
    company_id: str
    user_password: str
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0

    def __repr__(self) -> str:  # never print passwords
        return (
            f"IntacctSettings(endpoint_url={self.endpoint_url!r}, company_id={self.company_id!r})"
        )


class FxRateSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    rate: Annotated[
        Decimal, msgspec.Meta(description="1 unit of the base currency in the quote currency")
    ]
    as_of: date


class InforSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ionapi_file: str
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0


def _default_entities() -> dict[str, EntityRoute]:
    # The sandbox's legal entities; real deployments list theirs in the TOML file.
    return {
        "US01": EntityRoute(erp="infor_m3", company="100", division="US1", currency="USD"),
        "CA01": EntityRoute(erp="infor_m3", company="100", division="CA1", currency="CAD"),
        "DE01": EntityRoute(erp="sage_intacct", company="DE01", currency="EUR"),
        "UK01": EntityRoute(erp="sage_intacct", company="UK01", currency="GBP"),
    }


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Port = 8000
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    redis_url: str | None = None
    """L2 cache, locks and shared limits. Unset: in-process cache only (one replica)."""
    deadline_default_ms: Millis = 2500
    deadline_min_ms: Millis = 50
    deadline_max_ms: Millis = 8000
    """Kept well under Apex's 10 s default callout timeout."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = 1_048_576
    intacct: IntacctSettings | None = None
    infor: InforSettings | None = None
    entities: dict[str, EntityRoute] = msgspec.field(default_factory=_default_entities)
    xref_file: str | None = None
    """Cross-reference of Salesforce ids to ERP ids (JSON)."""
    fx_rates: dict[str, FxRateSetting] = {}
    """Keyed ``"EUR/USD"``: converts ERP prices and credit into the quote currency."""
    price_tolerance: Decimal = Decimal("0.005")
    """Quoted vs ERP net unit price differences up to this are a match (rounding)."""
    docs: bool = True

    def __post_init__(self) -> None:
        if self.deadline_min_ms > self.deadline_max_ms:
            raise ValueError(
                "deadline_min_ms must not exceed deadline_max_ms - at `$.deadline_min_ms`"
            )
        if not self.deadline_min_ms <= self.deadline_default_ms <= self.deadline_max_ms:
            raise ValueError(
                "deadline_default_ms must lie between deadline_min_ms and deadline_max_ms"
                " - at `$.deadline_default_ms`"
            )
        for pair, fx in self.fx_rates.items():
            if not re.fullmatch(r"[A-Z]{3}/[A-Z]{3}", pair) or fx.rate <= 0:
                raise ValueError(
                    f"fx_rates key {pair!r} must look like EUR/USD with a rate > 0 - at `$.fx_rates`"
                )
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError(
                "redis_url must start with redis://, rediss:// or unix:// - at `$.redis_url`"
            )


def _env_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        first, *rest = key[len(ENV_PREFIX) :].split("__")
        path = [first.lower(), *(_segment(part) for part in rest)]
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"{key}: conflicts with {ENV_PREFIX}{part.upper()}")
            node = child
        node[path[-1]] = _coerce_env_value(value)
    return tree


def _field_names() -> frozenset[str]:
    structs = (Settings, IntacctSettings, InforSettings, EntityRoute, FxRateSetting)
    return frozenset(name for struct in structs for name in struct.__struct_fields__)


def _segment(part: str) -> str:
    # Field names are lower case; map keys (entity codes, currency pairs) keep their case.
    lowered = part.lower()
    return lowered if lowered in _field_names() else part


def _coerce_env_value(value: str) -> Any:
    # Env values are text; msgspec's lax mode converts "8000" and "true" to the field's type.
    # An empty value means "unset" so that ISTHMUS_REDIS_URL= turns Redis off.
    return None if value == "" else value


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_PATH_RE = re.compile(r"\s*-\s*at\s*`\$(?P<path>[^`]*)`")
_SEGMENT_RE = re.compile(r"\.(\w+)|\['([^']*)'\]|\[(\d+)\]")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]+)`")


def _explain(error: Exception) -> str:
    """Turn a msgspec error into a message naming the setting and its environment variable."""
    message = str(error)
    match = _PATH_RE.search(message)
    parts = (
        [next(g for g in m.groups() if g is not None) for m in _SEGMENT_RE.finditer(match["path"])]
        if match
        else []
    )
    reason = _PATH_RE.sub("", message)
    unknown = _UNKNOWN_RE.search(message)
    if unknown:
        parts.append(unknown.group(1))
        reason = "unknown setting"
    if not parts:
        return f"invalid settings: {reason}"
    setting = ".".join(parts)
    env = ENV_PREFIX + "__".join(p.upper() for p in parts)
    return f"invalid setting `{setting}` (env {env}): {reason}"


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Read the TOML file (if any) and the environment, and validate the result."""
    environ = os.environ if environ is None else environ
    path = config_file or environ.get(CONFIG_FILE_ENV)
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    data = _merge(data, _env_tree(environ))
    try:
        return msgspec.convert(data, Settings, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        raise SettingsError(_explain(exc)) from None
