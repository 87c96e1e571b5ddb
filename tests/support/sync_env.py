"""The sync tests' world: both ERP emulators and the Salesforce org on real loopback sockets,
all on one hand-moved clock, and a gateway with the store, the org and the sync flows.

The clock is shared so that the ERPs' modification stamps, Salesforce's ``LastModifiedDate``
and the flows' windows agree; a test moves it past each change before it syncs.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.factory import create_app
from process_apis.sync import SyncEngine
from sandbox.infor import InforEmulator
from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS, IntacctEmulator
from sandbox.intacct.seed import ENTITY_DEFAULT_PRICE_LIST
from sandbox.salesforce import (
    SANDBOX_CONSUMER_KEY,
    SANDBOX_CONSUMER_SECRET,
    SalesforceEmulator,
    SandboxTls,
)
from sandbox.xref import XREF_PATH
from tests.support.apps import TEST_API_KEY, settings_for
from tests.support.orders_env import (
    AnswerGate,
    FakeClock,
    GatewayClient,
    _lifespan,
    services_of,
)
from tests.support.servers import free_port, serve

OPS_KEY = "isk_test_ops_5b0e7d2c94"
OPS_HEADERS = {"X-API-Key": OPS_KEY}
SYNC_SECRETS = (OPS_KEY,)


@dataclass
class SyncWorld:
    clock: FakeClock
    intacct: IntacctEmulator
    infor: InforEmulator
    org: SalesforceEmulator
    org_gate: AnswerGate
    """In front of the org: a test can let a request be carried out and hold its answer."""
    urls: dict[str, str]
    env: dict[str, str]

    def tick(self, seconds: float = 60) -> None:
        """Let time pass: past the flows' settle time, so the last change is in the window."""
        self.clock.advance(seconds)

    @contextmanager
    def holding(self, match: Callable[[str, bytes], bool]) -> Iterator[Callable[[], bool]]:
        """While inside: matching requests are carried out by the org, their answers held.
        Yields a probe: has a request been held since?"""
        before = self.org_gate.swallowed
        self.org_gate.hold(match)
        try:
            yield lambda: self.org_gate.swallowed > before
        finally:
            self.org_gate.release()

    def emulator_url(self, erp: str) -> str:
        return self.urls[erp]


@contextmanager
def sync_world() -> Iterator[SyncWorld]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        clock = FakeClock(at=datetime.now(UTC).replace(microsecond=0))
        ports = {name: free_port() for name in ("intacct", "infor", "salesforce")}
        intacct = IntacctEmulator(
            public_url=f"http://127.0.0.1:{ports['intacct']}", wall_clock=clock.now
        )
        infor = InforEmulator(public_url=f"http://127.0.0.1:{ports['infor']}", wall_clock=clock.now)
        infor.write_ionapi(tmp / "sandbox.ionapi")
        tls = SandboxTls.create(tmp)
        org = SalesforceEmulator(public_url=f"https://127.0.0.1:{ports['salesforce']}",
                                 clock=clock.now)  # fmt: skip
        org.write_credentials(tmp, ca_file=tls.ca_file)
        gate = AnswerGate(org.app)
        urls = {
            "sage_intacct": stack.enter_context(serve(intacct.app, port=ports["intacct"])),
            "infor_m3": stack.enter_context(serve(infor.app, port=ports["infor"])),
            "salesforce": stack.enter_context(
                serve(gate, port=ports["salesforce"], tls_pem=str(tls.server_pem))
            ),
        }
        cred = INTACCT_SANDBOX_CREDENTIALS
        ops_key = {"client": "tests-ops", "scopes": ["ops:admin"],
                   "key_sha256": hashlib.sha256(OPS_KEY.encode()).hexdigest()}  # fmt: skip
        env = {
            "intacct__endpoint_url": f"{urls['sage_intacct']}/ia/xml/xmlgw.phtml",
            "intacct__sender_id": cred.sender_id,
            "intacct__sender_password": cred.sender_password,
            "intacct__user_id": cred.user_id,
            "intacct__company_id": cred.company_id,
            "intacct__user_password": cred.user_password,
            "infor__ionapi_file": str(tmp / "sandbox.ionapi"),
            "xref_file": str(XREF_PATH),
            "salesforce__login_url": urls["salesforce"],
            # Client credentials: a JWT assertion would carry the real time, not the world's.
            "salesforce__client_id": SANDBOX_CONSUMER_KEY,
            "salesforce__client_secret": SANDBOX_CONSUMER_SECRET,
            "salesforce__ca_file": str(tls.ca_file),
            "salesforce__api_reserve": "0",
            "security__api_keys": json.dumps([ops_key]),
            "sync__reconcile_at": "",
            "sync__initial_lookback_s": "600",
            **{
                f"intacct__default_price_lists__{entity}": name
                for entity, name in ENTITY_DEFAULT_PRICE_LIST.items()
            },
        }
        try:
            yield SyncWorld(clock, intacct, infor, org, gate, urls, env)
        finally:
            gate.release()


@asynccontextmanager
async def sync_gateway(
    world: SyncWorld, store_url: str, **env: str
) -> AsyncIterator[GatewayClient]:
    """The gateway over the world, its sync engine on the world's clock."""
    app = create_app(settings_for(**{**world.env, "store__url": store_url, **env}))
    async with _lifespan(app):
        engine = services_of_app(app).sync
        assert engine is not None, "sync is configured"
        engine.clock = world.clock
        transport = httpx.ASGITransport(app=app)
        async with GatewayClient(
            transport=transport, base_url="http://testserver.local",
            headers={"X-API-Key": TEST_API_KEY}, timeout=60,
        ) as client:  # fmt: skip
            client.app = app
            yield client


def services_of_app(app: Any) -> Any:
    return app.state.services


def engine_of(client: GatewayClient) -> SyncEngine:
    engine = services_of(client).sync
    assert engine is not None
    return engine


async def lifecycle(world: SyncWorld, erp: str, action: str, **spec: Any) -> dict[str, Any]:
    """A lifecycle step through the emulator's own control endpoint, over HTTP."""
    async with httpx.AsyncClient(base_url=world.emulator_url(erp)) as http:
        response = await http.post(f"/_sandbox/lifecycle/{action}", json=spec)
    assert response.status_code == 200, response.text
    world.tick()
    result: dict[str, Any] = response.json()
    return result


async def run_flow(client: GatewayClient, flow: str) -> dict[str, Any]:
    response = await client.post(f"/ops/v1/sync/{flow}/run", headers=OPS_HEADERS)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["status"] in ("ok", "partial"), result
    return result


async def sync_entity(client: GatewayClient, erp: str, entity: str) -> dict[str, dict[str, Any]]:
    """One run of each of the entity's ERP flows, parents first."""
    runs = {}
    for kind in ("orders", "shipments", "invoices", "payments", "credit"):
        runs[kind] = await run_flow(client, f"{erp}.{kind}.{entity}")
    return runs
