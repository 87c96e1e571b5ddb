"""Order tests' world: both emulators behind an answer gate, gateways with a store, workers,
and a count of the orders each ERP really holds (from the emulator's own records)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from app.factory import create_app
from app.services import Services
from process_apis.orders import OrderWorker, WorkerPolicy
from sandbox.infor import InforEmulator
from sandbox.infor.seed import Order as M3Order
from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS, IntacctEmulator
from sandbox.intacct.seed import ENTITY_DEFAULT_PRICE_LIST
from sandbox.xref import XREF_PATH
from tests.support.apps import TEST_API_KEY, settings_for
from tests.support.servers import free_port, serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class AnswerGate:
    """In front of an emulator: when armed, a matching request is carried out by the ERP but
    its answer never comes back (until ``release``) — the ERP accepted, the caller saw a hang.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self._match: Callable[[str, bytes], bool] | None = None
        self._released = threading.Event()
        self.swallowed = 0

    def hold(self, match: Callable[[str, bytes], bool]) -> None:
        self._released.clear()
        self._match = match

    def release(self) -> None:
        self._match = None
        self._released.set()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        match = self._match
        if scope["type"] != "http" or match is None:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        if not match(scope["path"], body):
            await self.app(scope, replay, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, replay, swallow)  # the ERP does the work …
        self.swallowed += 1
        # … and the answer is lost. Polled: release() comes from another thread and loop.
        while not self._released.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 504, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def intacct_create(path: str, body: bytes) -> bool:
    return b"<create_sotransaction>" in body


def infor_confirm(path: str, body: bytes) -> bool:
    return "OIS100MI/Confirm" in path


@dataclass
class OrderSandbox:
    intacct: IntacctEmulator
    infor: InforEmulator
    intacct_gate: AnswerGate
    infor_gate: AnswerGate
    env: dict[str, str]

    def gate(self, erp: str) -> AnswerGate:
        return self.infor_gate if erp == "infor_m3" else self.intacct_gate

    def hold_creation(self, erp: str) -> None:
        self.gate(erp).hold(infor_confirm if erp == "infor_m3" else intacct_create)

    def orders_for(self, erp: str, external_ref: str) -> list[str]:
        """The ERP's own order numbers carrying ``external_ref`` (confirmed orders only)."""
        if erp == "infor_m3":
            return sorted(
                o.orno
                for o in list(self.infor.state.data.orders.values())
                if o.cuor == external_ref and not o.batch
            )
        return sorted(
            r["DOCNO"]
            for r in list(self.intacct.store.tables["SODOCUMENT"])
            if r["PONUMBER"] == external_ref
        )

    def intacct_order(self, docno: str) -> dict[str, str]:
        """The Intacct sales order header (SODOCUMENT) with this document number."""
        (header,) = [
            r for r in list(self.intacct.store.tables["SODOCUMENT"]) if r["DOCNO"] == docno
        ]
        return header

    def lines_for(self, docno: str) -> list[dict[str, str]]:
        key = self.intacct_order(docno)["RECORDNO"]
        return [
            r for r in list(self.intacct.store.tables["SODOCUMENTENTRY"]) if r["DOCHDRNO"] == key
        ]

    def subtotals_for(self, docno: str) -> list[dict[str, str]]:
        key = self.intacct_order(docno)["RECORDNO"]
        return [
            r
            for r in list(self.intacct.store.tables["SODOCUMENTSUBTOTALS"])
            if r["DOCHDRNO"] == key
        ]

    def infor_order(self, orno: str) -> M3Order:
        return self.infor.state.data.orders[orno]


@contextmanager
def order_sandbox() -> Iterator[OrderSandbox]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        intacct_port, infor_port = free_port(), free_port()
        intacct = IntacctEmulator(public_url=f"http://127.0.0.1:{intacct_port}")
        infor = InforEmulator(public_url=f"http://127.0.0.1:{infor_port}")
        infor.write_ionapi(tmp / "sandbox.ionapi")
        intacct_gate, infor_gate = AnswerGate(intacct.app), AnswerGate(infor.app)
        intacct_url = stack.enter_context(serve(intacct_gate, port=intacct_port))
        stack.enter_context(serve(infor_gate, port=infor_port))
        cred = INTACCT_SANDBOX_CREDENTIALS
        env = {
            "intacct__endpoint_url": f"{intacct_url}/ia/xml/xmlgw.phtml",
            "intacct__sender_id": cred.sender_id,
            "intacct__sender_password": cred.sender_password,
            "intacct__user_id": cred.user_id,
            "intacct__company_id": cred.company_id,
            "intacct__user_password": cred.user_password,
            "infor__ionapi_file": str(tmp / "sandbox.ionapi"),
            "xref_file": str(XREF_PATH),
            **{
                f"intacct__default_price_lists__{entity}": name
                for entity, name in ENTITY_DEFAULT_PRICE_LIST.items()
            },
        }
        try:
            yield OrderSandbox(intacct, infor, intacct_gate, infor_gate, env)
        finally:
            intacct_gate.release()
            infor_gate.release()


@dataclass
class FakeClock:
    """A clock tests move by hand; ``sleep`` moves it too (nothing waits for real)."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


class GatewayClient(httpx.AsyncClient):
    """An HTTP client over a gateway app that runs in the test's own event loop."""

    app: Litestar


@asynccontextmanager
async def gateway_client(
    sandbox: OrderSandbox, store_url: str, **env: str
) -> AsyncIterator[GatewayClient]:
    app = create_app(settings_for(**sandbox.env, store__url=store_url, **env))
    async with _lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with GatewayClient(
            transport=transport, base_url="http://testserver.local",
            headers={"X-API-Key": TEST_API_KEY}, timeout=60,
        ) as client:  # fmt: skip
            client.app = app
            yield client


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan held by a task of its own (entered and left in that one task)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises what start-up raised
    try:
        yield
    finally:
        stop.set()
        await task


def services_of(client: GatewayClient) -> Services:
    services: Services = client.app.state.services
    return services


def worker_for(client: GatewayClient, clock: FakeClock | None = None, **policy: Any) -> OrderWorker:
    services = services_of(client)
    assert services.store is not None
    defaults: dict[str, Any] = {"submit_timeout_s": 10.0, "idle_poll_s": 0.05}
    return OrderWorker(
        services.store,
        services.process.router,
        WorkerPolicy(**{**defaults, **policy}),
        clock=clock,
    )
