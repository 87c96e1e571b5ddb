"""``create_app(settings)``: the Litestar application, built from settings and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, Contact, License, Server
from opentelemetry.sdk.trace.export import SpanExporter

from app import __version__
from app.correlation import CorrelationMiddleware
from app.errors import exception_handlers
from app.experience import (
    LightningController,
    LightningOrdersController,
    PortalController,
    PortalOrdersController,
)
from app.middleware import require_json_body
from app.middleware.gateway import stamp_response
from app.observability import GatewayMetrics, Tracing
from app.observability.server_spans import ServerSpanMiddleware
from app.openapi_decimals import DecimalStringSchema
from app.openapi_strict import seal_strict_request_schemas
from app.ops import (
    AuditController,
    ExceptionsController,
    HealthController,
    OpsController,
    ReconcileController,
    SyncController,
)
from app.ops import metrics as metrics_route
from app.routes import ProcessController, ProcessOrdersController
from app.routes.read_lane import ReadLane
from app.routes.shared import provide_ask
from app.security import (
    PROCESS_INVOKE,
    PartnerDirectory,
    Security,
    openapi_security_schemes,
    requires,
    security_requirements,
)
from app.services import Services
from app.settings import Settings
from app.wiring import build_services
from process_apis.decimals import decode_decimal_string, is_decimal_string

__all__ = ["create_app"]

DESCRIPTION = """\
Isthmus answers Salesforce (Apex callouts, Lightning components) and partner portals in real
time with ERP truth: credit, prices and available-to-promise stock, from Infor M3 (ION API)
and Sage Intacct, and books their orders there (asynchronous, idempotent). Every error is RFC 9457 `application/problem+json` with a stable `type`,
our `code` and the request's `correlation_id` (send `X-Correlation-ID` to set it).

Authenticate with an API key in `X-API-Key` or an OAuth 2.0 bearer JWT (client credentials)
from a configured issuer. Each operation names the scope it needs. `/process/v1` and
`/lightning/v1` are for internal callers; `/portal/v1` for partner-bound credentials, which
see only their own accounts. Limits are per client (`RateLimit-*`, 429 with `Retry-After`).
"""


def openapi_config(settings: Settings) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Isthmus",
        version=__version__,
        description=DESCRIPTION,
        contact=Contact(name="Isthmus maintainers"),
        license=License(name="Apache-2.0", identifier="Apache-2.0"),
        servers=[Server(url="/", description="This gateway")],
        path="/docs",
        render_plugins=[ScalarRenderPlugin(path="/"), SwaggerRenderPlugin(path="/swagger")],
        use_handler_docstrings=False,
        create_examples=False,
        components=Components(security_schemes=openapi_security_schemes()),
    )


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    security: Security | None = None,
    span_exporter: SpanExporter | None = None,
) -> Litestar:
    """Build the gateway. ``services`` may be passed pre-built (tests); else built at start-up;
    likewise ``security`` (tests hand in one on their own clock).

    ``span_exporter`` receives every span when tracing is on (tests read spans from it).
    """
    holder: dict[str, Services] = {}
    security = security or Security.from_settings(settings)

    metrics = services.metrics if services is not None else GatewayMetrics()
    tracing = (
        services.tracing
        if services is not None
        else Tracing.build(
            enabled=settings.observability.tracing,
            service_name=settings.observability.service_name,
            otlp_endpoint=settings.observability.otlp_endpoint,
            sample_ratio=settings.observability.trace_sample_ratio,
            exporter=span_exporter,
        )
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        built = services or await build_services(settings, metrics=metrics, tracing=tracing)
        holder["services"] = built
        app.state.services = built
        security.bind(http=built.http, redis=built.redis)
        try:
            yield
        finally:
            if services is None:
                await built.aclose()

    def provide_services() -> Services:
        return holder["services"]

    def provide_partners() -> PartnerDirectory:
        return security.partners

    # The process APIs are internal: their own scope, documented on every operation.
    process = Router(
        path="/",
        route_handlers=[ProcessController, ProcessOrdersController],
        opt=requires(PROCESS_INVOKE),
        security=security_requirements(PROCESS_INVOKE),
    )
    app = Litestar(
        route_handlers=[
            HealthController,
            OpsController,
            SyncController,
            ReconcileController,
            ExceptionsController,
            AuditController,
            *([metrics_route] if settings.observability.metrics else []),
            process,
            LightningController,
            PortalController,
            LightningOrdersController,
            PortalOrdersController,
            *_openapi_json_route(settings),
            *_console(settings),
        ],
        lifespan=[lifespan],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "partners": Provide(provide_partners, sync_to_thread=False),
            "ask": Provide(provide_ask, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        type_decoders=[(is_decimal_string, decode_decimal_string)],
        plugins=[DecimalStringSchema()],
        middleware=[
            # With tracing on, the span layer makes the correlation id current as well.
            ServerSpanMiddleware(tracing.tracer("isthmus.server"))
            if tracing.enabled
            else CorrelationMiddleware(),
            *([metrics.middleware()] if settings.observability.metrics else []),
            *security.middleware(
                ReadLane(provide_services, max_body_bytes=settings.max_body_bytes)
            ),
        ],
        before_request=require_json_body,
        before_send=[stamp_response],  # correlation id, and no-store on the portal
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(settings) if settings.docs else None,
        debug=False,
        logging_config=None,  # logging is configured once by app.logs, not per app
    )
    if settings.docs:
        seal_strict_request_schemas(app)
    return app


def _console(settings: Settings) -> list[Router]:
    from app.ops.console import console_router

    return console_router(settings) if settings.console.enabled else []


def _openapi_json_route(settings: Settings) -> list[HTTPRouteHandler]:
    from app.ops.spec import openapi_json

    return [openapi_json] if settings.docs else []
