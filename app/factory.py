"""``create_app(settings)``: the Litestar application, built from settings and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Contact, License, Server

from app import __version__
from app.errors import exception_handlers
from app.middleware import CorrelationMiddleware, echo_correlation_id, require_json_body
from app.openapi_strict import seal_strict_request_schemas
from app.ops import HealthController
from app.routes import ProcessController
from app.services import Services
from app.settings import Settings
from app.wiring import build_services

__all__ = ["create_app"]

DESCRIPTION = """\
Isthmus answers Salesforce (Apex callouts, Lightning components) and partner portals in real
time with ERP truth: credit, prices, availability and order submission, from Infor M3 (ION API)
and Sage Intacct. Every error is RFC 9457 `application/problem+json` with a stable `type`,
our `code` and the request's `correlation_id` (send `X-Correlation-ID` to set it).
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
    )


def create_app(settings: Settings, *, services: Services | None = None) -> Litestar:
    """Build the gateway. ``services`` may be passed pre-built (tests); else built at start-up."""
    holder: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        built = services or await build_services(settings)
        holder["services"] = built
        app.state.services = built
        try:
            yield
        finally:
            if services is None:
                await built.aclose()

    def provide_services() -> Services:
        return holder["services"]

    app = Litestar(
        route_handlers=[HealthController, ProcessController, *_openapi_json_route(settings)],
        lifespan=[lifespan],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=exception_handlers,
        middleware=[CorrelationMiddleware()],
        before_request=require_json_body,
        before_send=[echo_correlation_id],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(settings) if settings.docs else None,
        debug=False,
        logging_config=None,  # logging is configured once by app.logs, not per app
    )
    if settings.docs:
        seal_strict_request_schemas(app)
    return app


def _openapi_json_route(settings: Settings) -> list[HTTPRouteHandler]:
    from app.ops.spec import openapi_json

    return [openapi_json] if settings.docs else []
