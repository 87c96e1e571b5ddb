"""Isthmus settings: one validated object, from an optional TOML file and ``ISTHMUS_*`` env.

Environment variables override the file. Nested settings use a double underscore:
``ISTHMUS_INTACCT__SENDER_ID`` sets ``intacct.sender_id``. Nothing is read at import time:
``load_settings()`` is called by the CLI (or a test) and its result handed to ``create_app``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from app.master_data_settings import (
    AccountCheckSetting,
    CustomerNumbering,
    CustomerSettings,
    EntityRuleSetting,
    MasterDataSettings,
    ProductSettings,
)

__all__ = [
    "ApiKeySetting",
    "CacheKindSetting",
    "CacheSettings",
    "ConsoleSettings",
    "EntityRoute",
    "ExceptionsSettings",
    "FxRateSetting",
    "InforSettings",
    "IntacctSettings",
    "IssuerSetting",
    "ObservabilitySettings",
    "OrdersSettings",
    "RateLimitSettings",
    "ResilienceSettings",
    "SalesforceSettings",
    "SandboxSettings",
    "SecuritySettings",
    "Settings",
    "SettingsError",
    "StoreSettings",
    "SyncSettings",
    "WorkerSettings",
    "load_settings",
]

ENV_PREFIX = "ISTHMUS_"
CONFIG_FILE_ENV = "ISTHMUS_CONFIG_FILE"


class SettingsError(ValueError):
    """Configuration is invalid; the message names the setting and the environment variable."""


Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Millis = Annotated[int, msgspec.Meta(ge=1, le=120_000)]
ResponseBytes = Annotated[int, msgspec.Meta(ge=64 * 1024, le=512 * 1024 * 1024)]


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
    """Intacct's per-company limit on requests in flight, for the whole gateway: shared by
    the worker processes through Redis when configured, else split between them."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0
    default_price_lists: dict[str, str] = {}
    """Entity → the sales price list used when a customer names none."""
    max_response_bytes: ResponseBytes = 8 * 1024 * 1024
    """Larger answers are refused (``backend_protocol_error``), never parsed."""
    tax_subtotal: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Tax"
    """The Sales Order definition's subtotal that receives an order's line taxes."""
    batch_window_ms: Annotated[float, msgspec.Meta(ge=0, le=100)] = 2.0
    """Reads starting together for the same entity go as one request of several functions (a
    quote's reads: a handful of requests, not dozens); 0 sends each on its own. A request goes
    once reads stop coming (a few turns of the event loop with none started), under a stream
    of reads two windows at most.
    With it on, reads of one object by id that start together are also one ``readByQuery``
    with ``IN (...)`` (see ``system_apis/sage_intacct/gathered.py``)."""
    batch_max_functions: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50
    """The most read functions one batched request carries (a fuller batch goes at once)."""

    def __repr__(self) -> str:  # never print passwords
        return (
            f"IntacctSettings(endpoint_url={self.endpoint_url!r}, company_id={self.company_id!r})"
        )


class FxRateSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    rate: Annotated[
        Decimal, msgspec.Meta(description="1 unit of the base currency in the quote currency")
    ]
    as_of: date


Seconds = Annotated[float, msgspec.Meta(ge=0, le=30 * 86400)]


class CacheKindSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ages for one kind of reference data (see README, "Cache")."""

    fresh_s: Seconds
    stale_s: Seconds
    """After freshness: served at once while a background refresh runs."""
    error_s: Seconds
    """Oldest age still served, flagged degraded, when the ERP fails or is late."""


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    l1_max_entries: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 50_000
    credit: CacheKindSetting | None = None
    item: CacheKindSetting | None = None
    price: CacheKindSetting | None = None
    availability: CacheKindSetting | None = None
    """Unset kinds keep the defaults: credit 30 s fresh, items 1 h, prices 5 min,
    availability 1 min."""
    stock: CacheKindSetting | None = None
    """Deprecated name of ``availability``, read when ``availability`` is unset."""
    refresh_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    result_memo_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 2.0
    """Identical requests within this many seconds share one answer when it was built from
    fresh, complete data (never longer than the shortest freshness); 0 turns it off."""
    """Bound on a backend fill that outlives the request which started it."""


class ResilienceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 256
    """Bulkhead: requests' fan-outs in flight per ERP and process, so one hung ERP cannot
    starve the others. The calls of one request (a 10-line quote makes 31: item, price and
    availability per line, and credit) hold one slot together, up to 64 calls a slot; the
    HTTP requests behind them are fewer (bulk requests) and capped by the connection pool."""
    retry_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    breaker_consecutive_failures: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    breaker_open_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    share_reads_in_flight: bool = True
    """With the cache off: a reference-data read (credit, item, price, availability) whose
    twin is in flight in this process waits for that call's live answer instead of making
    its own, and a read-path request identical to one being answered waits for that answer.
    With the cache on, its single flight and the memo do the same. Orders are never shared."""


class SandboxSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where ``isthmus sandbox`` and ``isthmus demo`` serve the emulators (flags override)."""

    host: str = "127.0.0.1"
    intacct_port: Port = 8701
    infor_port: Port = 8702
    salesforce_port: Port = 8703
    issuer_port: Port = 8704


class ObservabilitySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    metrics: bool = True
    """Prometheus text at ``/metrics`` (needs the ``ops:admin`` scope)."""
    tracing: bool = False
    """OpenTelemetry spans per request and per ERP call."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint (e.g. ``http://collector:4318/v1/traces``); unset: no export."""
    service_name: str = "isthmus"
    trace_sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    """Share of new traces recorded; a caller's sampled ``traceparent`` is always followed."""
    metrics_dir: str | None = None
    """Where ``isthmus serve``'s workers write the files that ``/metrics`` sums over all of
    them; emptied of ``*.db`` files at start. Unset: ``PROMETHEUS_MULTIPROC_DIR`` if set, else
    a temporary directory made for the run and removed after it."""
    trace_redis: bool = False
    """A span per Redis command (cache, rate limits, locks) when tracing. Off by default: a warm
    request's Redis work is a few round trips whose timing the cache metrics already show, and a
    span per command roughly doubled what tracing cost per request."""


class InforSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ionapi_file: str
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0
    max_response_bytes: ResponseBytes = 8 * 1024 * 1024
    """Larger answers are refused (``backend_protocol_error``), never parsed."""
    max_requests_per_second: Annotated[float, msgspec.Meta(gt=0, le=100_000)] | None = None
    """The ION API gateway's spike-arrest rate for this gateway (None: unlimited). The worker
    processes split it (each sends at most ``rate / workers`` per second), so together they
    stay under it; a request that could not be sent before its deadline fails at once."""
    batch_window_ms: Annotated[float, msgspec.Meta(ge=0, le=100)] = 2.0
    """Reads starting together for the same program and company go as one MI bulk request (a
    quote's reads: a handful of requests, not dozens); 0 sends each on its own. A bulk goes,
    with every bulk open then, once reads stop coming (a few turns of the event loop with none
    queued): a request's reads go in one round. Under a stream of reads it waits at most two
    windows."""


class StoreSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The durable store (orders, idempotency records, outbox, failures)."""

    url: str = "sqlite+aiosqlite:///.isthmus/isthmus.db"
    """``postgresql://user:pass@host/db`` in production; a SQLite file is the embedded default."""
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    migrate_on_start: bool = True
    """Bring the schema up to date when the gateway or worker starts (else: isthmus db upgrade)."""

    def __repr__(self) -> str:  # the URL may carry a password
        return f"StoreSettings(url={self.url.split('@')[-1]!r})"


class OrdersSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Order acceptance: idempotency, re-validation, and how long a caller may wait."""

    idempotency_retention_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86400)] = 86_400
    """How long a key's first response is replayed (published in the API docs)."""
    idempotency_lock_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 30.0
    """A request holding a key longer than this is presumed dead and the key is taken over."""
    wait_max_ms: Annotated[int, msgspec.Meta(ge=0, le=8000)] = 5000
    """Cap on ``Prefer: wait`` (kept well under Apex's 10 s callout timeout)."""
    validation_default: Literal["block", "warn"] = "block"
    """``block``: a quote verdict of block refuses the order; ``warn``: accepted with warnings."""
    validation: dict[str, Literal["block", "warn"]] = {}
    """Per entity, overriding ``validation_default``."""


class WorkerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``isthmus worker``: submits accepted orders to the ERPs."""

    concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    lease_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0
    """A claimed entry is another worker's after this, unless renewed (every third of it)."""
    idle_poll_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8
    backoff_base_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 2.0
    backoff_max_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300.0
    submit_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 60.0
    embedded: bool = False
    """Run a worker inside the gateway process too (the demo does)."""


class ExceptionsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The exception queue's automatic work and the audit log's retention.

    Transient failures are retried 60 s after they are captured, then after 2, 4 … minutes
    (at most an hour apart), 8 times; then they wait for a person."""

    sweep: bool = True
    """Run the queue's automatic retries in this process (any number may: claims never overlap)."""
    sweep_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    audit_retention_days: Annotated[int, msgspec.Meta(ge=0, le=36_500)] = 400
    """Audit entries older than this are purged (0: kept forever)."""
    sensitive_fields: list[str] = []
    """Payload fields shown masked, besides passwords, secrets, tokens, tax ids and accounts."""
    stuck_after_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86_400)] = 900
    """An order not booked this long after it was accepted counts as stuck."""


class ConsoleSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The operations console at ``/ops/``: sign-in with an API key holding exceptions:view."""

    enabled: bool = True
    session_secret: str | None = None
    """Signs session cookies; set one shared value on every replica (unset: a random key per
    process, so sessions end when it restarts)."""
    session_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=7 * 86_400)] = 8 * 3600
    secure_cookie: Literal["auto", "always", "never"] = "auto"
    """``auto``: the cookie is Secure when the console is served over TLS."""

    def __repr__(self) -> str:  # the secret is not for logs
        return f"ConsoleSettings(enabled={self.enabled}, session_ttl_s={self.session_ttl_s})"


class SyncSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Delta sync between the ERPs and Salesforce (needs ``salesforce`` and the store)."""

    enabled: bool = True
    """Flows exist when Salesforce is configured; ``false`` turns them all off."""
    kinds: list[Literal["orders", "shipments", "invoices", "payments", "credit"]] = msgspec.field(
        default_factory=lambda: ["orders", "shipments", "invoices", "payments", "credit"]
    )
    """ERP record kinds written back, one flow per kind and entity (``infor_m3.invoices.US01``)."""
    entities: list[str] = []
    """Entities with flows; empty: every configured entity."""
    interval_s: Annotated[float, msgspec.Meta(ge=1, le=86_400)] = 300.0
    """Default time between runs of a flow."""
    intervals: dict[str, Annotated[float, msgspec.Meta(ge=1, le=86_400)]] = {}
    """Per flow name, overriding ``interval_s``."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 200
    overlap_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 300.0
    settle_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 2.0
    initial_lookback_s: Annotated[float, msgspec.Meta(ge=0, le=365 * 86_400)] = 86_400.0
    lease_s: Annotated[float, msgspec.Meta(ge=10, le=86_400)] = 300.0
    max_record_attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    publish_events: bool = False
    """Publish ``ERP_Status_Event__e`` per order change (live Lightning updates)."""
    ownership_file: str | None = None
    """Field ownership table (TOML); unset: the one shipped with Isthmus."""
    intake_status: str | None = "Activated"
    """Salesforce Orders reaching this status enter the orders path; unset: no intake flows."""
    intake_entities: list[str] = []
    """Entities with an intake flow (``salesforce.orders.US01``); empty: every entity."""
    poll_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    reconcile_at: (
        Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None
    ) = "02:00"
    """UTC time of day for the nightly reconciler in the worker; unset: not scheduled."""
    reconcile_days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 1


class SalesforceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The Salesforce org: JWT bearer (consumer key + username + private key file) or client
    credentials (client id + secret), exactly one of the two."""

    login_url: Annotated[str, msgspec.Meta(pattern=r"^https://")] = "https://login.salesforce.com"
    """``https://login.salesforce.com``, ``https://test.salesforce.com`` or the My Domain URL."""
    audience: str | None = None
    """JWT ``aud``; defaults to the login URL."""
    api_version: Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]\.0$")] = "62.0"
    consumer_key: str | None = None
    username: str | None = None
    private_key_file: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    ca_file: str | None = None
    """CA bundle to trust instead of the system store (the sandbox writes one)."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=25)] = 4
    """Threads running simple-salesforce calls: the most calls in flight to the org."""
    api_reserve: Annotated[int, msgspec.Meta(ge=0)] = 500
    """Stop calling when the org's remaining daily API requests fall to this many."""
    budget_recheck_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 300.0
    describe_ttl_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 3600.0

    def __post_init__(self) -> None:
        jwt = (self.consumer_key, self.username, self.private_key_file)
        client = (self.client_id, self.client_secret)
        if all(jwt) == all(client):
            raise ValueError(
                "set either consumer_key, username and private_key_file (JWT bearer) or "
                "client_id and client_secret (client credentials) - at `$.salesforce`"
            )

    def __repr__(self) -> str:  # never print the secret
        return f"SalesforceSettings(login_url={self.login_url!r}, username={self.username!r})"


Scope = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z_]*:[a-z][a-z_]*$")]
PartnerId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


class ApiKeySetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One API key (``X-API-Key``), stored as the SHA-256 of the key, never the key itself.

    Rotation without downtime: add the new key for the same client, move callers over, then
    set ``not_after`` on (or remove) the old one. Both are valid during the overlap.
    """

    client: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
    key_sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    scopes: list[Scope]
    partner_id: PartnerId | None = None
    """Binds the key to one partner: it may only use the portal API, for that partner's data."""
    not_after: dt.datetime | None = None
    """The key stops working at this instant (timezone-aware); unset: until removed."""


class IssuerSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An OAuth 2.0 issuer whose bearer JWTs are accepted (verified against its JWKS)."""

    issuer: Annotated[str, msgspec.Meta(min_length=1)]
    jwks_url: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    audience: Annotated[str, msgspec.Meta(min_length=1)]
    algorithms: list[Literal["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]] = (
        msgspec.field(default_factory=lambda: ["RS256"])
    )
    """Asymmetric algorithms only: an HMAC secret would have to be shared with every caller."""
    scope_claim: str = "scope"
    """Space-separated string (RFC 8693 ``scope``) or a list (``scp``)."""
    partner_claim: str = "partner_id"
    client_claim: str = "client_id"


class RateLimitSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-client request budget; shared through Redis across replicas when Redis is set."""

    enabled: bool = True
    requests: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 1200
    window_s: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 60
    per_client: dict[str, Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]] = {}
    """Budgets for named clients, overriding ``requests``."""
    local_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    """When Redis is down each instance allows this share of the budget on its own."""


class SecuritySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Authentication, scopes, partner tenancy, rate limits and CORS for the experience APIs."""

    enabled: bool = True
    """Off only for local experiments: every protected route then answers as an anonymous admin."""
    api_keys: list[ApiKeySetting] = []
    issuers: list[IssuerSetting] = []
    clock_skew_s: Annotated[int, msgspec.Meta(ge=0, le=60)] = 60
    jwks_cache_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 600
    max_token_lifetime_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 86_400)] = 86_400
    """Bearer tokens living longer than this (``exp`` - ``iat``, or ``exp`` - now) are refused."""
    jwks_refetch_cooldown_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0
    """At most one JWKS refetch per issuer in this time when tokens name an unknown ``kid``."""
    jwks_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=30)] = 2.0
    partners: dict[str, list[str]] = {}
    """Partner id -> the Salesforce Account ids it owns (15 or 18 characters)."""
    partners_file: str | None = None
    """JSON ``{"partners": {"PARTNER-A": ["001..."]}}``, merged with ``partners``."""
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    cors_origins: list[str] = []
    """Browser origins of partner portals allowed to call ``/portal`` (exact match)."""
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1_048_576)] = 8192
    """Sum of all request header names and values; more is refused with 431."""

    def __repr__(self) -> str:  # key hashes and partner lists are not for logs
        return (
            f"SecuritySettings(enabled={self.enabled}, api_keys={len(self.api_keys)}, "
            f"issuers={[i.issuer for i in self.issuers]})"
        )


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
    redis_timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    """Bound on one Redis call on the request path (cache, rate limits): a slower Redis counts
    as down, and the gateway carries on without it for a moment."""
    """L2 cache, locks and shared limits. Unset: in-process cache only (one replica)."""
    deadline_default_ms: Millis = 2500
    deadline_min_ms: Millis = 50
    deadline_max_ms: Millis = 8000
    """Kept well under Apex's 10 s default callout timeout."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = 1_048_576
    intacct: IntacctSettings | None = None
    infor: InforSettings | None = None
    salesforce: SalesforceSettings | None = None
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    resilience: ResilienceSettings = msgspec.field(default_factory=ResilienceSettings)
    observability: ObservabilitySettings = msgspec.field(default_factory=ObservabilitySettings)
    entities: dict[str, EntityRoute] = msgspec.field(default_factory=_default_entities)
    xref_file: str | None = None
    """Cross-reference of Salesforce ids to ERP ids (JSON)."""
    fx_rates: dict[str, FxRateSetting] = {}
    """Keyed ``"EUR/USD"``: converts ERP prices and credit into the quote currency."""
    price_tolerance: Decimal = Decimal("0.005")
    """Quoted vs ERP net unit price differences up to this are a match (rounding)."""
    docs: bool = True
    security: SecuritySettings = msgspec.field(default_factory=SecuritySettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    orders: OrdersSettings = msgspec.field(default_factory=OrdersSettings)
    worker: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    master_data: MasterDataSettings = msgspec.field(default_factory=MasterDataSettings)
    sync: SyncSettings = msgspec.field(default_factory=SyncSettings)
    exceptions: ExceptionsSettings = msgspec.field(default_factory=ExceptionsSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    sandbox: SandboxSettings = msgspec.field(default_factory=SandboxSettings)

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
        node[path[-1]] = _coerce_env_value(value, tuple(path))
    return tree


def _field_names() -> frozenset[str]:
    structs = (
        Settings, IntacctSettings, InforSettings, EntityRoute, FxRateSetting,
        SecuritySettings, RateLimitSettings, CacheSettings, CacheKindSetting, ResilienceSettings,
        ObservabilitySettings, StoreSettings, OrdersSettings, WorkerSettings,
        SalesforceSettings, MasterDataSettings, CustomerSettings, ProductSettings,
        CustomerNumbering, AccountCheckSetting, EntityRuleSetting, SyncSettings, SandboxSettings,
        ExceptionsSettings, ConsoleSettings,
    )  # fmt: skip
    return frozenset(name for struct in structs for name in struct.__struct_fields__)


def _segment(part: str) -> str:
    # Field names are lower case; map keys (entity codes, currency pairs) keep their case.
    lowered = part.lower()
    return lowered if lowered in _field_names() else part


# Lists of records have no flat env form: these settings take a JSON value in the environment.
_JSON_ENV = {
    ("security", "api_keys"),
    ("security", "issuers"),
    ("security", "partners"),
    ("security", "cors_origins"),
    ("orders", "validation"),
    ("master_data", "products", "master_order"),
    ("master_data", "products", "item_entities"),
    ("master_data", "customers", "request_values"),
    ("master_data", "customers", "record_types"),
    ("master_data", "customers", "entity_rules"),
    ("master_data", "customers", "checks"),
    ("master_data", "customers", "duplicate_checks"),
    ("sync", "intervals"),
    ("sync", "kinds"),
    ("sync", "entities"),
    ("sync", "intake_entities"),
    ("exceptions", "sensitive_fields"),
}


def _coerce_env_value(value: str, path: tuple[str, ...] = ()) -> Any:
    # Env values are text; msgspec's lax mode converts "8000" and "true" to the field's type.
    # An empty value means "unset" so that ISTHMUS_REDIS_URL= turns Redis off.
    if value == "":
        return None
    if path in _JSON_ENV:
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            env = ENV_PREFIX + "__".join(p.upper() for p in path)
            raise SettingsError(f"{env}: expected a JSON value ({exc.msg})") from None
    return value


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
