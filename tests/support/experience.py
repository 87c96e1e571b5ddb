"""A gateway for the experience-API tests: fake ERP, two partners, the test credentials."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import TestClient
from redis.asyncio import Redis

from app.factory import create_app
from app.security import Security
from app.services import Services
from app.settings import Settings
from app.wiring import build_process_api
from process_apis.exceptions import ORDER_SUBMIT, ExceptionQueue, OrderSubmitFlow
from process_apis.orders import OrderService
from process_apis.xref import CrossReference
from sandbox.xref import salesforce_account_id
from store import Database
from tests.support.apps import client_for, settings_for
from tests.support.clock import ManualClock
from tests.support.fake_erp import seeded_fake
from tests.support.stores import migrate

A1, A2, A_HOLD = (salesforce_account_id(n) for n in (1, 2, 3))
"""Owned by PARTNER-A (A_HOLD is on credit hold)."""
B1 = salesforce_account_id(6)
"""Owned by PARTNER-B."""
PARTNERS = {"PARTNER-A": [A1, A2, A_HOLD], "PARTNER-B": [B1]}


def experience_xref() -> CrossReference:
    return CrossReference(
        accounts={
            A1: {"US01": "C1"},
            A2: {"US01": "C1"},
            A_HOLD: {"US01": "HOLD"},
            B1: {"US01": "C1"},
        },
        products={"WIDGET": {"infor_m3": "I1"}, "GADGET": {"infor_m3": "I2"}},
        units={"Each": {"infor_m3": "EA"}, "Box": {"infor_m3": "BOX"}},
    )


def experience_settings(**env: str) -> Settings:
    settings = settings_for(**env)
    security = msgspec.structs.replace(
        settings.security,
        partners={**settings.security.partners, **PARTNERS},
        cors_origins=["https://portal.partner-a.example"],
    )
    return msgspec.structs.replace(settings, security=security)


WINDOW_START = 1_800_000_000.0
"""Where the tests' rate-limit clock stands: the start of a window, so no test's requests
straddle two windows however slowly they run."""


def experience_app(settings: Settings | None = None) -> tuple[Litestar, Services]:
    settings = settings or experience_settings()
    backends: Any = {"infor_m3": seeded_fake(), "sage_intacct": seeded_fake("sage_intacct")}
    # A patient Redis client: a busy machine must not make Redis look down to these tests.
    redis = (
        Redis.from_url(settings.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0)
        if settings.redis_url is not None
        else None
    )
    services = Services(
        settings=settings,
        http=httpx.AsyncClient(),
        process=build_process_api(settings, backends),
        backends=backends,
        redis=redis,
    )
    services.process.xref = experience_xref()
    # Orders over a scratch SQLite store; a connection per use, as the app's loop may change.
    migrate(settings.store.url)
    services.store = Database(settings.store.url, null_pool=True)
    services.orders = OrderService(services.store, services.process)
    services.exceptions = ExceptionQueue(services.store, {ORDER_SUBMIT: OrderSubmitFlow()})
    security = Security.from_settings(
        settings, wall_clock=ManualClock(WINDOW_START), redis_timeout_s=5.0
    )
    return create_app(settings, services=services, security=security), services


@contextmanager
def experience_client(
    settings: Settings | None = None, **kwargs: Any
) -> Iterator[TestClient[Litestar]]:
    app, services = experience_app(settings)
    with client_for(app, **kwargs) as client:
        try:
            yield client
        finally:
            # Close on the loop that opened the connections (the client's portal).
            client.blocking_portal.call(_close, services)


async def _close(services: Services) -> None:
    await services.http.aclose()
    if services.redis is not None:
        await services.redis.aclose()
