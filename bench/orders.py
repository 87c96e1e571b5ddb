"""``make bench`` (orders): accepted orders/s on the 202 path, and booked orders/s end to end
with 1, 2 and 4 ``isthmus worker`` processes on PostgreSQL, against the sandbox emulators.

Everything runs on 127.0.0.1: a private PostgreSQL (its own initdb), the sandbox, one gateway
process. For each worker count a fresh batch is accepted (workers stopped, so acceptance is
measured alone), then the workers start and the batch is timed until every order in it is
final. Every order is accounted for: booked, or failed with an exception-queue record, or
refused at acceptance; anything else is reported as unaccounted, loudly. Each phase has a
time cap and the whole run stays within ``TOTAL_CAP_S``; every process started is stopped.
Results go to ``bench/results/orders-<date>.json`` and the "Orders" section of
``BENCHMARKS.md``.

The batch is deliberate about failures: one order in ten goes to sandbox customer US0009, on
customer stop in M3, so the worker's refusal path (rejected, captured in the exception queue)
runs too. The throughput is the workers' own: the batch is held back (due tomorrow) until every
worker has started, then made due at once and timed to its last final state (the order events'
times); process start-up is reported apart.

``isthmus worker`` also runs the sync schedule; here it is switched off (``SYNC__ENABLED``):
its flows would compete for the two cores and write the bench's orders back to Salesforce
orders that do not exist.
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
from dataclasses import dataclass, field
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
CLIENTS = 16
"""Concurrent callers on the 202 path."""
BATCH = 150
WARM_UP = 10
WORKERS = (1, 2, 4)
WORKER_CONCURRENCY = 8
SUBMIT_CAP_S = 20.0
START_CAP_S = 45.0
DRAIN_CAP_S = 45.0
TOTAL_CAP_S = 270.0
"""The whole bench (its own start-up included) stays under five minutes: every phase is capped
by what is left of this, and a worker count with under ``STEP_MIN_S`` left is skipped."""
STEP_MIN_S = 30.0
FINAL = ("booked", "rejected", "needs_attention")
STOPPED_CUSTOMER_EVERY = 10
"""Order i with i % 10 == 8 goes to Account 9 in US01: M3 customer US0009, on customer stop."""


def _order(i: int) -> dict[str, Any]:
    entity, currency = ENTITIES[i % 2]
    return {
        "externalRef": f"801B{uuid.uuid4().hex[:14]}",
        "entity": entity,
        "accountId": salesforce_account_id(1 + i % STOPPED_CUSTOMER_EVERY),
        "currency": currency,
        "lines": [{"sku": "SKU-0001", "quantity": "1", "uom": "Each", "unitPrice": "1.00"}],
    }


@dataclass
class Submitted:
    """What one batch of submissions got back."""

    ids: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    """Of the 202 answers."""
    refused: dict[str, int] = field(default_factory=dict)
    """Answer status (or transport error) -> count, for everything that was not a 202."""
    sent: int = 0
    seconds: float = 0.0


async def _submit(base: str, count: int, concurrency: int, limit_s: float) -> Submitted:
    """Submit up to ``count`` orders with ``concurrency`` callers within ``limit_s``."""
    out = Submitted()
    next_i = 0
    end = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def caller() -> None:
            nonlocal next_i
            while next_i < count and time.monotonic() < end:
                i = next_i
                next_i += 1
                out.sent += 1
                started = time.perf_counter()
                try:
                    answer = await client.post(
                        "/process/v1/orders",
                        json=_order(i),
                        headers={"X-API-Key": API_KEY, "Idempotency-Key": str(uuid.uuid4())},
                    )
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    out.refused[key] = out.refused.get(key, 0) + 1
                    continue
                if answer.status_code == 202:
                    out.latencies_s.append(time.perf_counter() - started)
                    out.ids.append(answer.json()["id"])
                else:
                    key = str(answer.status_code)
                    out.refused[key] = out.refused.get(key, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        out.seconds = time.monotonic() - started
    return out


async def _states(dsn: str, ids: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, status FROM orders WHERE id = ANY($1::text[])", ids)
    finally:
        await conn.close()
    return {r["id"]: r["status"] for r in rows}


async def _account(dsn: str, ids: list[str], released_at: dt.datetime) -> dict[str, Any]:
    """Where each order of the batch ended, and how long the workers took over it (from its
    release to its last final state)."""
    conn = await asyncpg.connect(dsn)
    try:
        statuses = await conn.fetch(
            "SELECT status, count(*) AS n FROM orders WHERE id = ANY($1::text[]) GROUP BY status",
            ids,
        )
        # A failed order is accounted for only if the exception queue holds it.
        queued = await conn.fetchval(
            "SELECT count(DISTINCT o.id) FROM orders o JOIN failures f"
            " ON f.subject_type = 'order' AND f.subject_id = o.id AND f.flow = 'order_submit'"
            " WHERE o.id = ANY($1::text[]) AND o.status IN ('rejected', 'needs_attention')"
            " AND f.status IN ('open', 'retrying')",
            ids,
        )
        reasons = await conn.fetch(
            "SELECT f.category, f.vendor_code, left(f.vendor_message, 120) AS message,"
            " count(*) AS n FROM failures f WHERE f.subject_type = 'order'"
            " AND f.subject_id = ANY($1::text[]) GROUP BY 1, 2, 3 ORDER BY 4 DESC",
            ids,
        )
        last_final = await conn.fetchval(
            "SELECT max(at) FROM order_events"
            " WHERE order_id = ANY($1::text[]) AND status = ANY($2::text[])",
            ids,
            list(FINAL),
        )
        attempts = await conn.fetchval(
            "SELECT coalesce(sum(attempts), 0) FROM orders WHERE id = ANY($1::text[])", ids
        )
    finally:
        await conn.close()
    by_status = {r["status"]: int(r["n"]) for r in statuses}
    seconds = None if last_final is None else (last_final - released_at).total_seconds()
    failed = by_status.get("rejected", 0) + by_status.get("needs_attention", 0)
    return {
        "by_status": by_status,
        "booked": by_status.get("booked", 0),
        "failed_to_exception_queue": int(queued),
        "failed_without_queue_record": failed - int(queued),
        "failure_reasons": [dict(r) for r in reasons],
        "attempts": int(attempts),
        "seconds": seconds,
    }


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


def _percentile_ms(values: list[float], q: int) -> float | None:
    """The ``q``-th percentile (nearest rank), in milliseconds."""
    if not values:
        return None
    ranked = sorted(values)
    return round(1000 * ranked[min(len(ranked) - 1, max(0, -(-q * len(ranked) // 100) - 1))], 1)


async def _hold(dsn: str, ids: list[str], until: dt.datetime) -> None:
    """Make the batch's outbox entries due at ``until`` (the bench's gate, see ``_run_workers``)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE outbox SET available_at = $2 WHERE subject_id = ANY($1::text[])", ids, until
        )
    finally:
        await conn.close()


def _wait_started(logs: list[Path], procs: list[subprocess.Popen[bytes]], cap_s: float) -> bool:
    """Until every worker has logged that it started (it then claims within ``idle_poll_s``);
    False when ``cap_s`` ran out first."""
    end = time.monotonic() + cap_s
    while time.monotonic() < end:
        if all("order worker" in log.read_text(errors="replace") for log in logs):
            return True
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited (rc {proc.returncode}):\n{log.read_text()}")
        time.sleep(0.05)
    return False


def _run_workers(
    env: dict[str, str],
    dsn: str,
    workers: int,
    ids: list[str],
    *,
    start_cap_s: float,
    cap_s: float,
    tmp: Path,
) -> dict[str, Any]:
    """Start ``workers`` processes and, once all are up, release the batch to them; wait until
    every order in ``ids`` is final (or the cap).

    Process start-up (imports, services, a few seconds on a busy machine, more when several
    start at once) is no part of booking throughput: the batch is held back (due in a day)
    until every worker has started, then made due at one instant, from which it is timed.
    """
    asyncio.run(_hold(dsn, ids, dt.datetime.now(dt.UTC) + dt.timedelta(days=1)))
    logs = [tmp / f"worker-{workers}-{n}.log" for n in range(workers)]
    procs = []
    for log in logs:
        with log.open("wb") as sink:
            procs.append(
                subprocess.Popen(
                    [ISTHMUS, "worker"],
                    env={**env, "ISTHMUS_LOG_LEVEL": "INFO"},
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            )
    launched = time.monotonic()
    try:
        # Past the cap the batch is released to whichever workers are up (start-up: None).
        started = _wait_started(logs, procs, start_cap_s)
        start_up = time.monotonic() - launched if started else None
        released_at = dt.datetime.now(dt.UTC)
        asyncio.run(_hold(dsn, ids, released_at))
        released = time.monotonic()
        while True:
            states = asyncio.run(_states(dsn, ids))
            if sum(1 for s in states.values() if s in FINAL) == len(ids):
                break
            if time.monotonic() - released > cap_s:
                break
            time.sleep(0.1)
        wall = time.monotonic() - released
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    run = asyncio.run(_account(dsn, ids, released_at))
    run.update(
        workers=workers,
        batch=len(ids),
        wall_seconds=round(wall, 2),
        start_up_seconds=None if start_up is None else round(start_up, 2),
        timed_out=wall > cap_s,
    )
    seconds = run["seconds"]
    run["booked_per_s"] = round(run["booked"] / seconds, 1) if seconds else 0.0
    run["final_per_s"] = (
        round((run["booked"] + run["failed_to_exception_queue"]) / seconds, 1) if seconds else 0.0
    )
    run["seconds"] = None if seconds is None else round(seconds, 2)
    run["unaccounted"] = len(ids) - run["booked"] - run["failed_to_exception_queue"]
    if run["unaccounted"]:
        run["worker_log_tail"] = [log.read_text(errors="replace")[-2000:] for log in logs]
    return run


def main() -> None:
    bench_started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg = PostgresServer()
        stack.callback(pg.cleanup)
        pg.start()
        store_url = pg.create_database("isthmus_bench")
        ports = {
            name: free_port() for name in ("intacct", "infor", "issuer", "salesforce", "gateway")
        }
        sandbox = stack.enter_context(
            SandboxProcess(
                intacct_port=ports["intacct"], infor_port=ports["infor"],
                issuer_port=ports["issuer"], salesforce_port=ports["salesforce"], state_dir=tmp,
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
            ISTHMUS_WORKER__CONCURRENCY=str(WORKER_CONCURRENCY),
            ISTHMUS_SYNC__ENABLED="false",
        )
        subprocess.run([ISTHMUS, "db", "upgrade"], env=env, check=True, capture_output=True)
        gateway = subprocess.Popen([ISTHMUS, "serve"], env=env, stdout=subprocess.DEVNULL)
        stack.callback(lambda: (gateway.terminate(), gateway.wait(30)))
        base = f"http://127.0.0.1:{ports['gateway']}"
        _wait_http(f"{base}/health/live")
        dsn = pg.dsn("isthmus_bench")
        # Warm-up (connections, caches): its orders join the first batch, so they are counted.
        carried = asyncio.run(_submit(base, WARM_UP, 4, SUBMIT_CAP_S))
        runs: list[dict[str, Any]] = []
        measured = Submitted()  # the batches: throughput and latency of the 202 path
        everything = _merge(Submitted(), carried)  # and the warm-up: the accounting
        deadline = bench_started + TOTAL_CAP_S
        skipped = []
        for workers in WORKERS:
            if deadline - time.monotonic() < STEP_MIN_S and not carried.ids:
                skipped.append(workers)
                continue
            limit = min(SUBMIT_CAP_S, max(deadline - time.monotonic(), 1.0))
            batch = asyncio.run(_submit(base, BATCH, CLIENTS, limit))
            _merge(measured, batch)
            _merge(everything, batch)
            ids = carried.ids + batch.ids
            carried = Submitted()
            left = max(deadline - time.monotonic(), 5.0)
            run = _run_workers(
                env, dsn, workers, ids, tmp=tmp,
                start_cap_s=min(START_CAP_S, left / 2), cap_s=min(DRAIN_CAP_S, left / 2),
            )  # fmt: skip
            runs.append(run)
            print(
                f"{workers} worker(s): {run['booked']} booked + "
                f"{run['failed_to_exception_queue']} to the exception queue of {len(ids)} in "
                f"{run['seconds']}s (start-up {run['start_up_seconds']}s): "
                f"{run['booked_per_s']} booked/s",
                file=sys.stderr,
                flush=True,
            )
    results = _results(measured, everything, runs, time.monotonic() - bench_started)
    results["skipped_worker_counts"] = skipped
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"orders-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    _report(results)
    print(json.dumps(results, indent=2, default=str))
    if results["unaccounted"]:
        print(
            f"\n!!! {results['unaccounted']} ORDER(S) UNACCOUNTED FOR: neither booked nor in the "
            "exception queue nor refused at acceptance; see each run's by_status !!!\n",
            file=sys.stderr,
        )
        sys.exit(1)
    print(f"wrote {out} and BENCHMARKS.md")


def _merge(into: Submitted, more: Submitted) -> Submitted:
    into.ids += more.ids
    into.latencies_s += more.latencies_s
    into.sent += more.sent
    into.seconds += more.seconds
    for k, v in more.refused.items():
        into.refused[k] = into.refused.get(k, 0) + v
    return into


def _results(
    accepted: Submitted, everything: Submitted, runs: list[dict[str, Any]], total_s: float
) -> dict[str, Any]:
    lat = accepted.latencies_s
    booked_1 = runs[0]["booked_per_s"] if runs else 0.0
    # Submitted = booked + failed to the exception queue + refused at acceptance; the rest,
    # including batches a time cap left unsubmitted to workers, is unaccounted.
    # A 4xx is a refusal the caller was told about; a 5xx or a transport error may hide an
    # order that exists, so it counts as unaccounted.
    in_runs = sum(r["batch"] for r in runs)
    unclear = sum(n for k, n in everything.refused.items() if not k.startswith("4"))
    unaccounted = sum(r["unaccounted"] for r in runs) + (len(everything.ids) - in_runs) + unclear
    return {
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "clients": CLIENTS,
        "worker_concurrency": WORKER_CONCURRENCY,
        "accepted_per_s": round(len(accepted.ids) / accepted.seconds, 1) if accepted.seconds else 0,
        "accepted": len(accepted.ids),
        "refused_at_acceptance": everything.refused,
        "accept_latency_ms": {"p50": _percentile_ms(lat, 50), "p99": _percentile_ms(lat, 99)},
        "runs": runs,
        "booked_per_s": {str(r["workers"]): r["booked_per_s"] for r in runs},
        "scaling_vs_1": {
            str(r["workers"]): round(r["booked_per_s"] / booked_1, 2) if booked_1 else None
            for r in runs
        },
        "submitted": everything.sent,
        "booked": sum(r["booked"] for r in runs),
        "failed_to_exception_queue": sum(r["failed_to_exception_queue"] for r in runs),
        "unaccounted": unaccounted,
        "total_seconds": round(total_s, 1),
    }


def _report(r: dict[str, Any]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lat = r["accept_latency_ms"]
    rows = "".join(
        f"| {run['workers']} | {run['batch']} | {run['booked']} | "
        f"{run['failed_to_exception_queue']} | {run['unaccounted']} | {run['seconds']} | "
        f"**{run['booked_per_s']}** (x{r['scaling_vs_1'][str(run['workers'])]}) | "
        f"{run['start_up_seconds']} |\n"
        for run in r["runs"]
    )
    warning = ""
    if r["unaccounted"]:
        warning = (
            f"**WARNING: {r['unaccounted']} order(s) unaccounted for in this run** (neither "
            "booked nor in the exception queue): see the JSON's `by_status`.\n\n"
        )
    if r["skipped_worker_counts"]:
        warning += (
            f"**Skipped for lack of time: {r['skipped_worker_counts']} worker(s)** (the bench "
            f"stops at {TOTAL_CAP_S:.0f} s).\n\n"
        )
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(r["refused_at_acceptance"].items()))
    section = (
        "<!-- orders:begin -->\n## Orders (`python -m bench.orders`, part of `make bench`)\n\n"
        f"Measured {r['date']} on this {r['cpus']}-core machine; gateway (1 process), "
        "sandbox, private PostgreSQL, the workers and the load client all on it.\n\n"
        f"{warning}"
        f"Accepted (202 path: validation against the ERPs, order + outbox in one "
        f"transaction), {r['clients']} concurrent clients: **{r['accepted_per_s']} orders/s**, "
        f"latency p50 {lat['p50']} ms, p99 {lat['p99']} ms ({r['accepted']} accepted; not "
        f"accepted: {refused or 'none'}).\n\n"
        f"Booked end to end by `isthmus worker` processes (concurrency "
        f"{r['worker_concurrency']} each), one fresh batch per row:\n\n"
        "| workers | batch | booked | failed → exception queue | unaccounted | seconds | "
        "booked/s | start-up s |\n|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
        f"Accounting: {r['booked']} booked + {r['failed_to_exception_queue']} failed into "
        f"the exception queue + {sum(r['refused_at_acceptance'].values())} refused at "
        f"acceptance of {r['submitted']} submitted; unaccounted: **{r['unaccounted']}**.\n\n"
        "Seconds run from the batch's release to its last final state (order events): each "
        "batch is held back until every worker process has started (start-up, its own "
        "column, is not counted), then made due at once. One order in "
        "ten goes to M3 customer US0009, on customer stop: refused at booking and captured in "
        "the exception queue (the refusal path is measured too). Booked orders alternate "
        "between Infor (US01) and Intacct (DE01, at most 2 requests in flight per company and "
        "process). Claims use `FOR UPDATE SKIP LOCKED`; the ratio to 1 worker shows whether "
        "claiming scales (on 2 cores, the emulators and workers share the CPU). The workers' "
        "sync schedule is off.\n"
        "<!-- orders:end -->\n"
    )
    if "<!-- orders:begin -->" in text:
        text = re.sub(r"<!-- orders:begin -->.*<!-- orders:end -->\n", section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
