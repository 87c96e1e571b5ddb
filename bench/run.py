"""``make bench``: start everything on 127.0.0.1, load it with wrk, record the figures.

Everything is measured in one run so ratios hold on a noisy machine: the hello-world ceiling,
the gateway's endpoints warm and cold, the backend hop with each HTTP client, memory per
worker. Results go to ``bench/results/<date>.json`` and ``BENCHMARKS.md`` (with a plot).
Each load is bounded in time; every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from sandbox.server import gateway_environment
from sandbox.xref import salesforce_account_id
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk" / "request.lua"
PY = sys.executable
GRANIAN = str(Path(PY).with_name("granian"))
ISTHMUS = str(Path(PY).with_name("isthmus"))


@dataclass
class Run:
    name: str
    workers: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    rss_mb_per_worker: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    # BENCH_STDERR=<file> keeps what the servers print, for diagnosing a run.
    with ExitStack() as files:
        stderr_path = os.environ.get("BENCH_STDERR")
        stderr = files.enter_context(open(stderr_path, "ab")) if stderr_path else subprocess.DEVNULL
        proc = subprocess.Popen(
            args,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def granian(target: str, port: int, workers: int, env: dict[str, str] | None = None) -> list[str]:
    return [
        GRANIAN, "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--loop", "uvloop", "--no-ws", "--log-level", "warning", target,
    ]  # fmt: skip


def worker_rss_mb(proc: subprocess.Popen[bytes]) -> list[float]:
    try:
        parent = psutil.Process(proc.pid)
        workers = parent.children(recursive=True) or [parent]
        return [round(w.memory_info().rss / 2**20, 1) for w in workers]
    except psutil.Error:
        return []


_LAT = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    name: str,
    url: str,
    *,
    seconds: int,
    connections: int,
    workers: int,
    body: dict[str, Any] | None = None,
    api_key: str | None = None,
    server: subprocess.Popen[bytes] | None = None,
    warmup_s: int = 2,
) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        if body is not None:
            json.dump(body, fh)
        body_path = fh.name if body is not None else ""
    env = {**os.environ, "WRK_BODY": body_path, "WRK_API_KEY": api_key or ""}
    threads = min(2, connections)
    if warmup_s:
        # Unmeasured load first, so every worker has imported, allocated and cached what the
        # measured run needs (a freshly started worker is slower for its first seconds).
        subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{warmup_s}s", "-s", str(LUA), url],
            env=env, capture_output=True, timeout=warmup_s + 30, check=True,
        )  # fmt: skip
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        env=env, capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout  # fmt: skip
    Path(body_path).unlink(missing_ok=True) if body_path else None
    latencies = {m.group(1): _ms(m.group(2), m.group(3)) for m in _LAT.finditer(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    run = Run(
        name=name, workers=workers, requests_per_s=rps, p50_ms=latencies.get("50", 0.0),
        p99_ms=latencies.get("99", 0.0), errors=errors, requests=total,
        rss_mb_per_worker=worker_rss_mb(server) if server else [],
    )  # fmt: skip
    print(f"  {name:<34} w={workers} {rps:>9.0f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms"
          f"  errors {errors}", flush=True)  # fmt: skip
    return run


def quote_body(entity: str, currency: str, lines: int) -> dict[str, Any]:
    return {
        "entity": entity,
        "accountId": salesforce_account_id(1),
        "currency": currency,
        "lines": [
            {"sku": f"SKU-{n:04d}", "quantity": "2", "uom": "Each", "quotedUnitPrice": "10.00"}
            for n in range(1, lines + 1)
        ],
    }


BENCH_API_KEY = "isk_bench_0123456789abcdef0123456789abcdef"


def gateway_env(
    port: int, workers: int, redis_url: str | None, sandbox_env: dict[str, str]
) -> dict[str, str]:
    env = {
        **sandbox_env,
        "ISTHMUS_PORT": str(port),
        "ISTHMUS_WORKERS": str(workers),
        "ISTHMUS_LOG_LEVEL": "WARNING",
    }
    if redis_url:
        env["ISTHMUS_REDIS_URL"] = redis_url
    env.update(bench_security_env(sandbox_env))
    return env


def bench_security_env(sandbox_env: dict[str, str]) -> dict[str, str]:
    """The sandbox's keys plus a bench client; auth and rate limiting stay on, with a budget
    large enough that the load generator measures the gateway, not the limiter's refusals."""
    keys = json.loads(sandbox_env.get("ISTHMUS_SECURITY__API_KEYS", "[]"))
    keys.append(
        {
            "client": "BENCH",
            "key_sha256": hashlib.sha256(BENCH_API_KEY.encode()).hexdigest(),
            "scopes": ["process:invoke", "ops:admin"],
        }
    )
    return {
        "ISTHMUS_SECURITY__API_KEYS": json.dumps(keys),
        "ISTHMUS_SECURITY__RATE_LIMIT__PER_CLIENT__BENCH": "10000000",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--soak-seconds", type=int, default=60)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    runs: list[Run] = []
    extra: dict[str, Any] = {}
    sec, conns = args.seconds, args.connections
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        redis = RedisServer()
        redis.start()
        stack.callback(redis.cleanup)
        intacct_port, infor_port, issuer_port = free_port(), free_port(), free_port()
        stack.enter_context(process([
            PY, "-m", "sandbox.server", "--intacct-port", str(intacct_port),
            "--infor-port", str(infor_port), "--issuer-port", str(issuer_port), "--state-dir", str(tmp),
        ]))  # fmt: skip
        wait_http(f"http://127.0.0.1:{infor_port}/_sandbox/ionapi")
        sandbox_env = gateway_environment("127.0.0.1", intacct_port, tmp, issuer_port)
        sandbox_env["ISTHMUS_INFOR__IONAPI_FILE"] = str(tmp / "sandbox.ionapi")
        for workers in (1, 2):
            print(f"workers={workers}", flush=True)
            hello_port = free_port()
            with process(granian("bench.apps:hello_app", hello_port, workers)) as hello:
                wait_http(f"http://127.0.0.1:{hello_port}/")
                runs.append(wrk("hello-world (ceiling)", f"http://127.0.0.1:{hello_port}/",
                                seconds=sec, connections=conns, workers=workers, server=hello))  # fmt: skip
            port = free_port()
            env = gateway_env(port, workers, redis.url, sandbox_env)
            with process([ISTHMUS, "serve"], env) as gw:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/health/live")
                vq = quote_body("US01", "USD", 10)
                key = BENCH_API_KEY
                # Warm the caches, then measure.
                for _ in range(3):
                    httpx.post(
                        f"{base}/process/v1/validate-quote",
                        json=vq,
                        headers={"X-API-Key": key},
                        timeout=10,
                    )
                runs.append(wrk("validate-quote warm (10 lines)", f"{base}/process/v1/validate-quote", body=vq,
                                api_key=key, seconds=sec, connections=conns, workers=workers, server=gw))  # fmt: skip
                pc = {k: v for k, v in vq.items() if k != "lines"} | {
                    "lines": [
                        {k: v for k, v in ln.items() if k != "quotedUnitPrice"}
                        for ln in vq["lines"]
                    ]
                }
                runs.append(wrk("price-check warm (10 lines)", f"{base}/process/v1/price-check", body=pc,
                                api_key=key, seconds=sec, connections=conns, workers=workers, server=gw))  # fmt: skip
                atp = {"entity": "US01", "lines": pc["lines"]}
                runs.append(wrk("atp warm (10 lines)", f"{base}/process/v1/atp", body=atp,
                                api_key=key, seconds=sec, connections=conns, workers=workers, server=gw))  # fmt: skip
                cc = {"entity": "US01", "accountId": salesforce_account_id(1), "amount": "100"}
                runs.append(wrk("credit-check warm", f"{base}/process/v1/credit-check", body=cc,
                                api_key=key, seconds=sec, connections=conns, workers=workers, server=gw))  # fmt: skip
        # Cold path: a gateway with caching off, so every request goes to the emulators.
        port = free_port()
        env = gateway_env(port, 2, None, sandbox_env) | {
            "ISTHMUS_CACHE__ENABLED": "false"
        }  # no memo either
        with process([ISTHMUS, "serve"], env) as gw:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/health/live")
            runs.append(wrk("validate-quote cold (10 lines)", f"{base}/process/v1/validate-quote",
                            body=quote_body("US01", "USD", 10), api_key=BENCH_API_KEY,
                            seconds=sec, connections=conns, workers=2, server=gw))  # fmt: skip
            runs.append(wrk("validate-quote cold Intacct (10 lines)", f"{base}/process/v1/validate-quote",
                            body=quote_body("DE01", "EUR", 10), api_key=BENCH_API_KEY,
                            seconds=sec, connections=conns, workers=2, server=gw))  # fmt: skip
        # The ERPs' own limits hold under load: Intacct's emulator counts what it saw in flight.
        extra["intacct_limits"] = httpx.get(
            f"http://127.0.0.1:{intacct_port}/_sandbox/stats"
        ).json()
        # Observability overhead: tracing (no exporter) and metrics on, versus both off.
        vq = quote_body("US01", "USD", 10)
        for label, obs in (
            ("validate-quote warm, observability off", {"ISTHMUS_OBSERVABILITY__METRICS": "false"}),
            ("validate-quote warm, tracing+metrics on", {"ISTHMUS_OBSERVABILITY__TRACING": "true"}),
            (
                "validate-quote warm, tracing 10% sampled",
                {
                    "ISTHMUS_OBSERVABILITY__TRACING": "true",
                    "ISTHMUS_OBSERVABILITY__TRACE_SAMPLE_RATIO": "0.1",
                },
            ),
        ):
            port = free_port()
            env = gateway_env(port, 2, redis.url, sandbox_env) | obs
            with process([ISTHMUS, "serve"], env) as gw:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/health/live")
                for _ in range(3):
                    httpx.post(
                        f"{base}/process/v1/validate-quote",
                        json=vq,
                        headers={"X-API-Key": BENCH_API_KEY},
                        timeout=10,
                    )
                runs.append(wrk(label, f"{base}/process/v1/validate-quote", body=vq, api_key=BENCH_API_KEY,
                                seconds=sec, connections=conns, workers=2, server=gw))  # fmt: skip
        # The backend hop: one upstream GET per request, per client, one worker.
        print("backend hop", flush=True)
        upstream_port, hop_port = free_port(), free_port()
        with (
            process(granian("bench.apps:hello_app", upstream_port, 1)),
            process(
                granian("bench.apps:hop_app", hop_port, 1),
                {"HOP_UPSTREAM": f"http://127.0.0.1:{upstream_port}/"},
            ) as hop,
        ):
            wait_http(f"http://127.0.0.1:{upstream_port}/")
            wait_http(f"http://127.0.0.1:{hop_port}/hop/aiohttp")
            for client in ("httpx-default", "httpx-aiohttp", "aiohttp", "isthmus"):
                for c in (conns, 1):
                    runs.append(wrk(f"hop {client} c={c}", f"http://127.0.0.1:{hop_port}/hop/{client}",
                                    seconds=sec, connections=c, workers=1, server=hop))  # fmt: skip
        # Memory: one worker, 100k warm requests, then a soak.
        port = free_port()
        env = gateway_env(port, 1, redis.url, sandbox_env)
        with process([ISTHMUS, "serve"], env) as gw:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/health/live")
            cc = {"entity": "US01", "accountId": salesforce_account_id(1), "amount": "100"}
            httpx.post(
                f"{base}/process/v1/credit-check",
                json=cc,
                headers={"X-API-Key": BENCH_API_KEY},
                timeout=10,
            )
            served = 0
            deadline = time.monotonic() + 120
            while served < 100_000 and time.monotonic() < deadline:
                r = wrk("memory fill credit-check", f"{base}/process/v1/credit-check", body=cc,
                        api_key=BENCH_API_KEY, seconds=10, connections=conns, workers=1, server=gw)  # fmt: skip
                served += r.requests
            after_fill = worker_rss_mb(gw)
            soak = wrk("soak credit-check", f"{base}/process/v1/credit-check", body=cc, api_key=BENCH_API_KEY,
                       seconds=args.soak_seconds, connections=conns, workers=1, server=gw)  # fmt: skip
            after_soak = worker_rss_mb(gw)
            extra["memory"] = {
                "requests_before_soak": served,
                "rss_mb_after_fill": after_fill,
                "rss_mb_after_soak": after_soak,
                "soak_seconds": args.soak_seconds,
                "soak_requests_per_s": soak.requests_per_s,
            }
    extra["elapsed_s"] = round(time.monotonic() - started, 1)
    write_results(runs, extra)
    return 0


def write_results(runs: list[Run], extra: dict[str, Any]) -> None:
    from bench.report import write_report

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    payload = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "runs": [asdict(r) for r in runs],
        **extra,
    }
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    write_report(payload, ROOT / "BENCHMARKS.md", RESULTS / f"{stamp}.png")
    print(f"wrote {path} and BENCHMARKS.md", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
