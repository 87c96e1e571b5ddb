"""``make bench`` (orders): accepted orders/s on the 202 path, and booked orders/s end to end
with 1, 2 and 4 ``isthmus worker`` processes on PostgreSQL, against the sandbox emulators.

Everything runs on 127.0.0.1: a private PostgreSQL (its own initdb), the sandbox, one gateway
process. Each load is bounded in count and time; every process started is stopped. Results go
to ``bench/results/orders-<date>.json`` and the "Orders" section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from sandbox.server import SandboxProcess
from sandbox.xref import salesforce_account_id
from tests.support.postgres_server import PostgresServer
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ISTHMUS = str(Path(sys.executable).with_name("isthmus"))
API_KEY = "isk_demo_salesforce"
ENTITIES = (("US01", "USD"), ("DE01", "EUR"))


def _order(i: int) -> dict[str, Any]:
    entity, currency = ENTITIES[i % 2]
    return {
        "externalRef": f"801B{uuid.uuid4().hex[:14]}",
        "entity": entity,
        "accountId": salesforce_account_id(1 + i % 10),
        "currency": currency,
        "lines": [{"sku": "SKU-0001", "quantity": "1", "uom": "Each", "unitPrice": "1.00"}],
    }


async def _submit(base: str, count: int, concurrency: int, limit_s: float) -> tuple[int, float]:
    """Submit up to ``count`` orders with ``concurrency`` callers; (accepted, seconds)."""
    accepted = 0
    next_i = 0
    end = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def caller() -> None:
            nonlocal accepted, next_i
            while next_i < count and time.monotonic() < end:
                i = next_i
                next_i += 1
                answer = await client.post(
                    "/process/v1/orders",
                    json=_order(i),
                    headers={"X-API-Key": API_KEY, "Idempotency-Key": str(uuid.uuid4())},
                )
                if answer.status_code == 202:
                    accepted += 1

        started = time.monotonic()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return accepted, time.monotonic() - started


async def _count(dsn: str, status: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM orders WHERE status = $1", status))
    finally:
        await conn.close()


def _wait_http(url: str, limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg = PostgresServer()
        stack.callback(pg.cleanup)
        pg.start()
        store_url = pg.create_database("isthmus_bench")
        ports = {name: free_port() for name in ("intacct", "infor", "issuer", "gateway")}
        sandbox = stack.enter_context(
            SandboxProcess(
                intacct_port=ports["intacct"], infor_port=ports["infor"],
                issuer_port=ports["issuer"], state_dir=tmp,
            )
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISTHMUS_")}
        env.update(sandbox.gateway_environment())
        env.update(
            ISTHMUS_STORE__URL=store_url,
            ISTHMUS_PORT=str(ports["gateway"]),
            ISTHMUS_LOG_LEVEL="WARNING",
            ISTHMUS_SECURITY__RATE_LIMIT__ENABLED="false",
            ISTHMUS_ORDERS__VALIDATION_DEFAULT="warn",
            ISTHMUS_WORKER__IDLE_POLL_S="0.05",
            ISTHMUS_WORKER__CONCURRENCY="8",
        )
        subprocess.run([ISTHMUS, "db", "upgrade"], env=env, check=True, capture_output=True)
        gateway = subprocess.Popen([ISTHMUS, "serve"], env=env, stdout=subprocess.DEVNULL)
        stack.callback(lambda: (gateway.terminate(), gateway.wait(30)))
        base = f"http://127.0.0.1:{ports['gateway']}"
        _wait_http(f"{base}/health/live")
        asyncio.run(_submit(base, 40, 4, 30))  # warm-up (connections, caches)
        accepted, seconds = asyncio.run(_submit(base, 600, 16, 30))
        results: dict[str, Any] = {
            "date": dt.date.today().isoformat(),
            "accepted_per_s": round(accepted / seconds, 1),
            "accepted": accepted,
            "booked": {},
        }
        dsn = pg.dsn("isthmus_bench")
        for workers in (1, 2, 4):
            # Drain what is pending, then load a fresh batch and time its booking.
            asyncio.run(_drain(env, dsn))
            batch, _ = asyncio.run(_submit(base, 200, 16, 60))
            before = asyncio.run(_count(dsn, "booked"))
            procs = [subprocess.Popen([ISTHMUS, "worker"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
            started = time.monotonic()
            try:
                while asyncio.run(_count(dsn, "booked")) < before + batch:
                    if time.monotonic() - started > 300:
                        break
                    time.sleep(0.1)
                elapsed = time.monotonic() - started
                booked = asyncio.run(_count(dsn, "booked")) - before
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(30)
            results["booked"][str(workers)] = round(booked / elapsed, 1)
            print(f"{workers} worker(s): {booked} booked in {elapsed:.1f}s", file=sys.stderr)
        results["scaling_vs_1"] = {
            k: round(v / results["booked"]["1"], 2) for k, v in results["booked"].items()
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"orders-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _report(results)
    print(json.dumps(results, indent=2))


async def _drain(env: dict[str, str], dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        pending = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    if pending:
        proc = await asyncio.create_subprocess_exec(ISTHMUS, "worker", env=env,
                                                    stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL)  # fmt: skip
        end = time.monotonic() + 300
        while time.monotonic() < end:
            conn = await asyncpg.connect(dsn)
            try:
                if not await conn.fetchval("SELECT count(*) FROM outbox"):
                    break
            finally:
                await conn.close()
            await asyncio.sleep(0.2)
        proc.terminate()
        await proc.wait()


def _report(r: dict[str, Any]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    b = r["booked"]
    s = r["scaling_vs_1"]
    section = (
        "<!-- orders:begin -->\n## Orders (`python -m bench.orders`, part of `make bench`)\n\n"
        f"Measured {r['date']} on this 2-core machine; gateway (1 process), sandbox, private "
        "PostgreSQL and the load client all on it.\n\n"
        "| what | orders/s |\n|---|---|\n"
        f"| accepted (202 path: validation against the ERPs, order + outbox in one transaction) "
        f"| {r['accepted_per_s']} |\n"
        f"| booked end to end, 1 worker | {b['1']} |\n"
        f"| booked end to end, 2 workers | {b['2']} (x{s['2']}) |\n"
        f"| booked end to end, 4 workers | {b['4']} (x{s['4']}) |\n\n"
        "Booked orders alternate between Infor (US01: 5 MI calls each) and Intacct (DE01: "
        "3 gateway calls). Claims use `FOR UPDATE SKIP LOCKED`; the ratio to 1 worker shows "
        "whether claiming scales (on 2 cores, the emulators and workers share the CPU).\n"
        "<!-- orders:end -->\n"
    )
    if "<!-- orders:begin -->" in text:
        text = re.sub(r"<!-- orders:begin -->.*<!-- orders:end -->\n", section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
