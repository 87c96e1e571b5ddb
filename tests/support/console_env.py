"""A gateway on a real loopback port (for a browser) over the ERP emulators and a SQLite store,
plus the order worker run on demand in its own event loop."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from app.factory import create_app
from app.settings import Settings
from app.wiring import build_services
from process_apis.orders import OrderWorker, WorkerPolicy
from sandbox.xref import salesforce_account_id
from tests.support.apps import TEST_API_KEY, settings_for
from tests.support.orders_env import OrderSandbox
from tests.support.servers import free_port
from tests.support.stores import _migrate

__all__ = ["ConsoleWorld", "console_world", "in_own_loop", "readme_rejected_order"]

T = TypeVar("T")


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        return None


@dataclass
class ConsoleWorld:
    sandbox: OrderSandbox
    settings: Settings
    base_url: str

    def submit(self, ref: str, sku: str, *, account: int = 1) -> str:
        """POST an order for US01 (Infor M3); returns its id."""
        return self.post_order({
            "externalRef": ref, "entity": "US01", "accountId": salesforce_account_id(account),
            "currency": "USD", "customerPo": "PO-CONSOLE",
            "lines": [{"sku": sku, "quantity": "2", "uom": "Each", "unitPrice": "1.00"}],
        })  # fmt: skip

    def post_order(self, body: dict[str, Any]) -> str:
        answer = httpx.post(
            f"{self.base_url}/process/v1/orders", json=body, timeout=30,
            headers={"X-API-Key": TEST_API_KEY, "Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def run_worker(self, **policy: Any) -> int:
        """Process every order that is due, in an event loop (and store engine) of its own."""

        async def go() -> int:
            services = await build_services(self.settings)
            try:
                assert services.store is not None
                worker = OrderWorker(
                    services.store, services.process.router,
                    WorkerPolicy(**{"submit_timeout_s": 10.0, **policy}),
                )  # fmt: skip
                return await worker.run_until_idle()
            finally:
                await services.aclose()

        return in_own_loop(go)


def in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine in a new event loop on a thread of its own (Playwright's sync API keeps
    a loop running on the test's thread)."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


@contextmanager
def console_world(sandbox: OrderSandbox, tmp: Path) -> Iterator[ConsoleWorld]:
    url = f"sqlite+aiosqlite:///{tmp / 'console.db'}"
    in_own_loop(lambda: _migrate(url))
    settings = settings_for(
        **sandbox.env,
        store__url=url,
        orders__validation_default="warn",  # accepted with warnings: the ERP itself refuses
        orders__validation='{"CA01": "warn"}',  # as in make demo
        worker__embedded="false",  # the test runs the worker when it wants to
        exceptions__sweep="false",
        console__session_secret="console-tests-session-secret",
        log_json="false",
    )
    port = free_port()
    server = _Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                    log_level="warning", lifespan="on", loop="asyncio"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console gateway did not start")
        time.sleep(0.02)
    try:
        yield ConsoleWorld(sandbox=sandbox, settings=settings, base_url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def readme_rejected_order(ref: str) -> dict[str, Any]:
    """The order README.md's console walkthrough sends (``$REF`` filled in)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    (body,) = re.findall(r"^REJECTED='(.*?)'$", readme, re.S | re.M)
    return dict(json.loads(body.replace("\"'$REF'\"", f'"{ref}"')))
