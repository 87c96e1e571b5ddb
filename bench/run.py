"""``make bench``: start everything on 127.0.0.1, load it with wrk, record the figures.

Everything is measured in one run so ratios hold on a noisy machine: the hello-world ceiling
beside the gateway's warm endpoints, cold reads against the emulators, the ERPs' own limits
under load (the emulators count what they saw), fan-out latency with slow backends, the cost
of tracing (off, on, sampled, off again, interleaved so drift shows), whether one ``/metrics``
scrape counts every worker's requests, the backend hop with each HTTP client, and memory per
worker. Each load is bounded in time; every process started is stopped at the end.

Sections (``--only a,b``): ceiling, warm, endpoints, cold, limits, fanout, tracing, metrics,
hop, memory. A full run writes ``bench/results/<date>.json`` and ``BENCHMARKS.md`` (with a
plot). A partial run writes ``bench/results/<date>-partial.json`` only, unless
``--merge-into`` is given: then its rows replace the same rows of that results file (today's
by default) and ``BENCHMARKS.md`` is written from the merged figures.
"""

from __future__ import annotations

import argparse
import asyncio
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
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.lateness import late_between
from sandbox.server import gateway_environment
from sandbox.xref import salesforce_account_id
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk" / "request.lua"
PY = sys.executable
GRANIAN = str(Path(PY).with_name("granian"))
ISTHMUS = str(Path(PY).with_name("isthmus"))

SECTIONS = (
    "ceiling", "warm", "endpoints", "cold", "limits", "fanout", "tracing", "metrics", "hop",
    "memory",
)  # fmt: skip
VALIDATE_QUOTE = "/process/v1/validate-quote"
CACHE_OFF = {"ISTHMUS_CACHE__ENABLED": "false"}  # no whole-answer memo either
# The reads the fan-out section slows down, per ERP: credit, price and availability. Infor's
# faults target one MI transaction each; Intacct's target a function, and every read the
# gateway makes there is a readByQuery, so all of them wait.
INFOR_FANOUT_TARGETS = (
    "CRS610MI/GetBasicData", "CRS610MI/GetFinancial",  # credit
    "OIS320MI/GetPriceLine",  # price
    "MMS200MI/GetItmWhsBal", "OIS100MI/GetATP",  # availability
)  # fmt: skip
INTACCT_FANOUT_TARGETS = ("readByQuery",)


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
    connections: int = 0
    section: str = ""
    incomplete: int | None = None
    """2xx answers missing data (a section partial or unavailable, or stale); None: not
    counted."""


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
        with suppress(ProcessLookupError):  # already gone
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far."""
    try:
        parent = psutil.Process(pid)
        total = 0.0
        for p in [parent, *parent.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


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
    timeout_s: int = 10,
    section: str = "",
    count_incomplete: bool = False,
) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        if body is not None:
            json.dump(body, fh)
        body_path = fh.name if body is not None else ""
    env = {**os.environ, "WRK_BODY": body_path, "WRK_API_KEY": api_key or ""}
    env["WRK_COUNT_INCOMPLETE"] = "1" if count_incomplete else ""
    threads = min(2, connections)
    # wrk's own 2 s timeout would hide slow answers as socket errors: wait past any deadline.
    base = ["wrk", f"-t{threads}", f"-c{connections}", "--timeout", f"{timeout_s}s", "-s", str(LUA)]
    if warmup_s:
        # Unmeasured load first, so every worker has imported, allocated and cached what the
        # measured run needs (a freshly started worker is slower for its first seconds).
        subprocess.run(
            [*base, f"-d{warmup_s}s", url],
            env=env, capture_output=True, timeout=warmup_s + timeout_s + 30, check=True,
        )  # fmt: skip
    out = subprocess.run(
        [*base, f"-d{seconds}s", "--latency", url],
        env=env, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=True,
    ).stdout  # fmt: skip
    if body_path:
        Path(body_path).unlink(missing_ok=True)
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
    incomplete_match = re.search(r"Incomplete answers: (\d+)", out)
    incomplete = int(incomplete_match.group(1)) if incomplete_match else None
    run = Run(
        name=name, workers=workers, requests_per_s=rps, p50_ms=latencies.get("50", 0.0),
        p99_ms=latencies.get("99", 0.0), errors=errors, requests=total,
        rss_mb_per_worker=worker_rss_mb(server) if server else [], connections=connections,
        section=section, incomplete=incomplete,
    )  # fmt: skip
    shown = "" if incomplete is None else f"  incomplete {incomplete}"
    print(f"  {name:<44} w={workers} c={connections:<3} {rps:>8.0f} req/s  p50 {run.p50_ms:7.2f} ms"
          f"  p99 {run.p99_ms:8.2f} ms  errors {errors}{shown}", flush=True)  # fmt: skip
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


def infor_rate_env(requests_per_second: float) -> dict[str, str]:
    """The gateway's own cap on ION calls, when this gateway has the setting (an unknown
    setting is refused at start-up, so it is only set where it exists)."""
    from app.settings import InforSettings

    if "max_requests_per_second" not in InforSettings.__struct_fields__:
        return {}
    return {"ISTHMUS_INFOR__MAX_REQUESTS_PER_SECOND": f"{requests_per_second:g}"}


def own_reads_env() -> dict[str, str]:
    """Every request makes its own ERP reads, even when an identical one is in flight (where
    this gateway has the setting): the cold and limits sections load the ERPs with every
    quote, not with the one build identical quotes in flight would share."""
    from app.settings import ResilienceSettings

    if "share_reads_in_flight" not in ResilienceSettings.__struct_fields__:
        return {}
    return {"ISTHMUS_RESILIENCE__SHARE_READS_IN_FLIGHT": "false"}


def read_deadline_ms(env: dict[str, str]) -> int:
    """The gateway's default budget for one request's ERP reads (``deadline_default_ms``)."""
    from app.settings import load_settings

    return int(load_settings(env).deadline_default_ms)


@dataclass
class Sandbox:
    intacct_port: int
    infor_port: int
    env: dict[str, str]
    pid: int = 0
    """The emulators' process (all of them run in one)."""

    def stats(self) -> dict[str, Any]:
        return {
            "intacct": httpx.get(f"http://127.0.0.1:{self.intacct_port}/_sandbox/stats").json(),
            "infor": httpx.get(f"http://127.0.0.1:{self.infor_port}/_sandbox/stats").json(),
        }

    @contextmanager
    def slowed(self, delay_ms: int) -> Iterator[None]:
        """The fan-out's reads take ``delay_ms`` longer in both ERPs until the block ends."""
        for target in INFOR_FANOUT_TARGETS:
            spec = {"target": target, "kind": "latency", "delay_ms": delay_ms}
            httpx.post(f"http://127.0.0.1:{self.infor_port}/_sandbox/faults", json=spec)
        for target in INTACCT_FANOUT_TARGETS:
            spec = {"target": target, "kind": "latency", "delay_ms": delay_ms}
            httpx.post(f"http://127.0.0.1:{self.intacct_port}/_sandbox/faults", json=spec)
        try:
            yield
        finally:
            self.clear_faults()

    @contextmanager
    def lateness(
        self, erp: str, rows: dict[str, dict[str, Any] | None], row: str
    ) -> Iterator[None]:
        """``rows[row]``: how late ``erp``'s emulator let its delayed answers leave during the
        block (``late_between`` of its stats read before and after)."""
        before = self.stats()[erp]
        yield
        rows[row] = late_between(before, self.stats()[erp])

    def sign_ins(self) -> Callable[[], int]:
        """A counter of the ERP sign-ins the emulators see from now on (Intacct sessions, ION
        tokens): one per worker process per ERP it has called."""

        def issued() -> int:
            stats = self.stats()
            return int(stats["intacct"].get("sessions_issued", 0)) + int(
                stats["infor"].get("tokens_issued", 0)
            )

        before = issued()
        return lambda: issued() - before

    def intacct_received(self, since: float) -> dict[str, int]:
        """Requests and functions Intacct received since ``since`` (its log keeps the last
        1,000 requests: a lower bound beyond that)."""
        url = f"http://127.0.0.1:{self.intacct_port}/_sandbox/received"
        log = [r for r in httpx.get(url, timeout=30).json() if r["at"] >= since]
        reads = [r for r in log if [f["name"] for f in r["functions"]] != ["getAPISession"]]
        return {"requests": len(reads), "functions": sum(len(r["functions"]) for r in reads)}

    def clear_faults(self) -> None:
        for port in (self.infor_port, self.intacct_port):
            httpx.delete(f"http://127.0.0.1:{port}/_sandbox/faults")


def start_sandbox(
    stack: ExitStack,
    infor_requests_per_second: float | None = None,
    intacct_service_ms: float = 0.0,
) -> Sandbox:
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    ports = {name: free_port() for name in ("intacct", "infor", "issuer", "salesforce")}
    args = [PY, "-m", "sandbox.server", "--state-dir", str(tmp)]
    for name, port in ports.items():
        args += [f"--{name}-port", str(port)]
    if infor_requests_per_second is not None:
        args += ["--infor-requests-per-second", f"{infor_requests_per_second:g}"]
    if intacct_service_ms:
        # Intacct takes time per request, so requests overlap and its in-flight cap can be hit.
        args += ["--intacct-service-ms", f"{intacct_service_ms:g}"]
    emulators = stack.enter_context(process(args))
    wait_http(f"http://127.0.0.1:{ports['infor']}/_sandbox/ionapi")
    env = gateway_environment(
        "127.0.0.1", ports["intacct"], tmp, ports["issuer"], ports["salesforce"]
    )
    return Sandbox(ports["intacct"], ports["infor"], env, emulators.pid)


class Bench:
    """One run: the shared servers, the options, and what has been measured so far."""

    def __init__(self, args: argparse.Namespace, stack: ExitStack, only: set[str]) -> None:
        self.args = args
        self.stack = stack
        self.only = only
        self.sec: int = args.seconds
        self.conns: int = args.connections
        self.runs: list[Run] = []
        self.extra: dict[str, Any] = {}
        self.redis = RedisServer()
        self.redis.start()
        stack.callback(self.redis.cleanup)
        self.sandbox = start_sandbox(stack)

    def wants(self, *sections: str) -> bool:
        return any(s in self.only for s in sections)

    @contextmanager
    def gateway(
        self,
        workers: int,
        *,
        redis: bool = True,
        extra_env: dict[str, str] | None = None,
        sandbox: Sandbox | None = None,
    ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
        port = free_port()
        env = gateway_env(
            port, workers, self.redis.url if redis else None, (sandbox or self.sandbox).env
        )
        env |= extra_env or {}
        with process([ISTHMUS, "serve"], env) as gw:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/health/live")
            yield gw, base

    def load(self, name: str, base: str, path: str, body: dict[str, Any] | None, **kw: Any) -> Run:
        kw.setdefault("seconds", self.sec)
        kw.setdefault("connections", self.conns)
        run = wrk(name, f"{base}{path}", body=body, api_key=BENCH_API_KEY, **kw)
        self.runs.append(run)
        return run

    # -- sections ----------------------------------------------------------------------------
    def ceiling_and_warm(self) -> None:
        vq = quote_body("US01", "USD", 10)
        pc = {k: v for k, v in vq.items() if k != "lines"} | {
            "lines": [{k: v for k, v in ln.items() if k != "quotedUnitPrice"} for ln in vq["lines"]]
        }
        endpoints = [
            ("price-check warm (10 lines)", "/process/v1/price-check", pc),
            ("atp warm (10 lines)", "/process/v1/atp", {"entity": "US01", "lines": pc["lines"]}),
            ("credit-check warm", "/process/v1/credit-check",
             {"entity": "US01", "accountId": salesforce_account_id(1), "amount": "100"}),
        ]  # fmt: skip
        for workers in (1, 2):
            print(f"workers={workers}", flush=True)
            with ExitStack() as stack:
                hello: subprocess.Popen[bytes] | None = None
                hello_url = ""
                if self.wants("ceiling"):
                    hello_port = free_port()
                    hello_url = f"http://127.0.0.1:{hello_port}/"
                    hello = stack.enter_context(
                        process(granian("bench.apps:hello_app", hello_port, workers))
                    )
                    wait_http(hello_url)
                    self.runs.append(wrk("hello-world (ceiling)", hello_url, seconds=self.sec,
                                         connections=self.conns, workers=workers, server=hello,
                                         section="ceiling"))  # fmt: skip
                if not self.wants("warm", "endpoints"):
                    continue
                with self.gateway(workers) as (gw, base):
                    warm_up(base, VALIDATE_QUOTE, vq)
                    if self.wants("warm"):
                        self.load("validate-quote warm (10 lines)", base, VALIDATE_QUOTE, vq,
                                  workers=workers, server=gw, section="warm")  # fmt: skip
                    if self.wants("endpoints"):
                        for name, path, body in endpoints:
                            self.load(name, base, path, body, workers=workers, server=gw,
                                      section="endpoints")  # fmt: skip
                if hello is not None and self.wants("warm"):
                    # The ceiling once more after the gateway's rows: the ratio is taken against
                    # the mean of both, and their gap shows how far the machine drifted.
                    self.runs.append(wrk("hello-world (ceiling, again)", hello_url,
                                         seconds=self.sec, connections=self.conns,
                                         workers=workers, server=hello, warmup_s=0,
                                         section="ceiling"))  # fmt: skip

    def cold(self) -> None:
        print("cold (cache off, every request its own reads)", flush=True)
        with self.gateway(2, redis=False, extra_env=CACHE_OFF | own_reads_env()) as (gw, base):
            for name, body in (
                ("validate-quote cold Infor US01 (10 lines)", quote_body("US01", "USD", 10)),
                ("validate-quote cold Intacct DE01 (10 lines)", quote_body("DE01", "EUR", 10)),
            ):
                self.load(name, base, VALIDATE_QUOTE, body, workers=2, server=gw, section="cold",
                          count_incomplete=True)  # fmt: skip

    def limits(self) -> None:
        """Cold load against a sandbox whose ERPs enforce their limits; they count what came."""
        rate = float(self.args.infor_rps)
        service_ms = float(self.args.intacct_service_ms)
        print(f"limits (cache off, ION spike arrest {rate:g}/s, Intacct {service_ms:g} ms a request)",
              flush=True)  # fmt: skip
        with ExitStack() as stack:
            sandbox = start_sandbox(
                stack, infor_requests_per_second=rate, intacct_service_ms=service_ms
            )
            gateway_rate = infor_rate_env(rate)
            extra_env = CACHE_OFF | gateway_rate | own_reads_env()
            deadline = read_deadline_ms(sandbox.env | extra_env)
            with self.gateway(2, redis=False, extra_env=extra_env, sandbox=sandbox) as (gw, base):
                for name, body in (
                    ("limits: validate-quote cold Infor US01", quote_body("US01", "USD", 10)),
                    ("limits: validate-quote cold Intacct DE01", quote_body("DE01", "EUR", 10)),
                ):
                    self.load(name, base, VALIDATE_QUOTE, body, workers=2, server=gw,
                              section="limits", count_incomplete=True)  # fmt: skip
            stats = sandbox.stats()
        self.extra["limits"] = {
            "infor_requests_per_second": rate,
            "intacct_service_ms": service_ms,
            "gateway_setting": next(iter(gateway_rate), None),
            "read_deadline_ms": deadline,
            **stats,
        }

    def fanout(self) -> None:
        delay = int(self.args.fanout_delay_ms)
        conns = int(self.args.fanout_connections)
        print(f"fan-out (cache off, credit/price/availability +{delay} ms)", flush=True)
        per_quote: dict[str, float] = {}
        cpu: dict[str, dict[str, float]] = {}
        late_by_row: dict[str, dict[str, Any] | None] = {}
        for name, body in (
            ("fan-out: validate-quote Infor US01", quote_body("US01", "USD", 10)),
            ("fan-out: validate-quote Intacct DE01", quote_body("DE01", "EUR", 10)),
        ):
            erp = "infor" if body["entity"] == "US01" else "intacct"
            # A gateway each, so one ERP's breakers and queues start afresh for the other.
            with self.gateway(2, redis=False, extra_env=CACHE_OFF) as (gw, base):
                warm_up(base, VALIDATE_QUOTE, body, signed_in=self.sandbox.sign_ins(), workers=2)
                with self.sandbox.slowed(delay), self.sandbox.lateness(erp, late_by_row, name):
                    began = time.time()
                    # CPU per answer, the gateway's and the emulators': on a shared machine the
                    # time beyond the injected delay is mostly these, queued behind each other.
                    cpu_before = cpu_seconds(gw.pid), cpu_seconds(self.sandbox.pid)
                    run = self.load(name, base, VALIDATE_QUOTE, body, workers=2, server=gw,
                                    connections=conns, warmup_s=0, section="fanout",
                                    count_incomplete=True)  # fmt: skip
                answers = max(1, run.requests)
                cpu[body["entity"]] = {
                    "gateway_ms_per_answer": round(
                        (cpu_seconds(gw.pid) - cpu_before[0]) * 1000 / answers, 2
                    ),
                    "emulators_ms_per_answer": round(
                        (cpu_seconds(self.sandbox.pid) - cpu_before[1]) * 1000 / answers, 2
                    ),
                }
                print(f"  CPU per answer: {cpu[body['entity']]}", flush=True)
                if body["entity"] == "DE01":
                    intacct = self.sandbox.intacct_received(since=began)
                    per_quote = {k: round(v / max(1, run.requests), 2) for k, v in intacct.items()}
                    print(f"  Intacct per quote: {per_quote}", flush=True)
                # The same quote with nothing else in flight: what the fan-out itself adds to
                # the delay, without other answers' work queued ahead of it.
                alone = f"{name}, one at a time"
                with self.sandbox.slowed(delay), self.sandbox.lateness(erp, late_by_row, alone):
                    self.load(alone, base, VALIDATE_QUOTE, body, workers=2,
                              server=gw, connections=1, warmup_s=0, section="fanout",
                              count_incomplete=True)  # fmt: skip
            own = own_reads_env()
            if not own:
                continue
            # The same load with every request making its own reads: what identical quotes in
            # flight at once cost when nothing is shared (an ERP's limits then set the pace).
            with self.gateway(2, redis=False, extra_env=CACHE_OFF | own) as (gw, base):
                warm_up(base, VALIDATE_QUOTE, body, signed_in=self.sandbox.sign_ins(), workers=2)
                apart = f"{name}, nothing shared"
                with self.sandbox.slowed(delay), self.sandbox.lateness(erp, late_by_row, apart):
                    self.load(apart, base, VALIDATE_QUOTE, body, workers=2,
                              server=gw, connections=conns, warmup_s=0, section="fanout",
                              count_incomplete=True)  # fmt: skip
        # How late the emulators let a delayed answer leave past its due time (arrival plus
        # the delay), over every fan-out row: the backends were as slow as asked, no slower.
        stats = self.sandbox.stats()
        late = {
            erp: {k: stats[erp][k] for k in ("delayed_total", "max_late_ms") if k in stats[erp]}
            for erp in ("infor", "intacct")
        }
        print(f"  emulators' delayed answers, most late past due: {late}", flush=True)
        self.extra["fanout"] = {
            "delay_ms": delay,
            "connections": conns,
            "emulators_late": late,
            "late_by_row": late_by_row,
            "infor_targets": list(INFOR_FANOUT_TARGETS),
            "intacct_targets": list(INTACCT_FANOUT_TARGETS),
            "intacct_per_quote": per_quote,
            "cpu_per_answer": cpu,
        }

    def tracing(self) -> None:
        """Tracing off, on, 10 % sampled and metrics off: four gateways up at once. Each round
        loads "off", then one other configuration, for a few seconds each, and so on through
        the configurations; "off" once more at the end. Every other slice thus lies between
        two "off" slices loaded just before and just after it: the machine's drift (a shared
        VM moves by ±10 % within seconds) shows in those two and drops out of each pair's
        ratio, and the rounds average what is left."""
        rounds = int(self.args.tracing_rounds)
        slice_s = max(2, self.sec // 2)
        print(f"tracing (metrics on, as by default; {rounds} rounds of {slice_s} s)", flush=True)
        on = {"ISTHMUS_OBSERVABILITY__TRACING": "true"}
        configs: tuple[tuple[str, dict[str, str]], ...] = (
            ("tracing off", {}),
            ("tracing on, every request", on),
            ("tracing 10% sampled", on | {"ISTHMUS_OBSERVABILITY__TRACE_SAMPLE_RATIO": "0.1"}),
            ("tracing off, metrics off", {"ISTHMUS_OBSERVABILITY__METRICS": "false"}),
        )
        vq = quote_body("US01", "USD", 10)
        url = VALIDATE_QUOTE
        with ExitStack() as stack:
            gateways = [
                (label, *stack.enter_context(self.gateway(2, extra_env=env)))
                for label, env in configs
            ]
            for _, _gw, base in gateways:
                warm_up(base, url, vq)
                wrk("warm-up", f"{base}{url}", body=vq, api_key=BENCH_API_KEY, seconds=2,
                    connections=self.conns, workers=2, warmup_s=0)  # fmt: skip
            (off_label, off_gw, off_base), *others = gateways
            offs = 0

            def off_slice() -> None:
                nonlocal offs
                offs += 1
                self.load(f"validate-quote warm, {off_label} #{offs}", off_base, url, vq,
                          workers=2, server=off_gw, seconds=slice_s, warmup_s=0,
                          section="tracing")  # fmt: skip

            for k in range(1, rounds + 1):
                for label, gw, base in others:
                    off_slice()
                    self.load(f"validate-quote warm, {label} #{k}", base, url, vq, workers=2,
                              server=gw, seconds=slice_s, warmup_s=0, section="tracing")  # fmt: skip
            off_slice()

    def metrics(self) -> None:
        """A known number of requests at a 2-worker gateway, then one scrape: its count for
        the route must be that number, whichever worker answered each request and the scrape."""
        n = int(self.args.metrics_requests)
        print(f"metrics ({n} requests, 2 workers, one scrape)", flush=True)
        with self.gateway(2) as (_, base):
            statuses = asyncio.run(drive(base, VALIDATE_QUOTE, quote_body("US01", "USD", 10), n))
            time.sleep(0.5)  # the middleware records a request just after answering it
            text = httpx.get(
                f"{base}/metrics", headers={"X-API-Key": BENCH_API_KEY}, timeout=10
            ).text
        counted = route_counts(text, VALIDATE_QUOTE)
        self.extra["metrics_check"] = {
            "requests_sent": n,
            "statuses_seen_by_client": statuses,
            "scrape_count_for_route": sum(counted.values()),
            "scrape_count_by_status": counted,
        }
        print(f"  sent {n}, one scrape counts {sum(counted.values())} {counted}", flush=True)

    def hop(self) -> None:
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
                for c in (self.conns, 1):
                    self.runs.append(wrk(f"hop {client} c={c}", f"http://127.0.0.1:{hop_port}/hop/{client}",
                                         seconds=self.sec, connections=c, workers=1, server=hop,
                                         section="hop"))  # fmt: skip

    def memory(self) -> None:
        """One worker: fill with up to 100k warm requests, then a soak; RSS before and after."""
        print("memory", flush=True)
        cc = {"entity": "US01", "accountId": salesforce_account_id(1), "amount": "100"}
        path = "/process/v1/credit-check"
        with self.gateway(1) as (gw, base):
            warm_up(base, path, cc)
            served = 0
            deadline = time.monotonic() + 90
            while served < 100_000 and time.monotonic() < deadline:
                r = wrk("memory fill credit-check", f"{base}{path}", body=cc, api_key=BENCH_API_KEY,
                        seconds=10, connections=self.conns, workers=1, server=gw, warmup_s=0)  # fmt: skip
                served += r.requests
            after_fill = worker_rss_mb(gw)
            soak = self.load("soak credit-check", base, path, cc, seconds=self.args.soak_seconds,
                             workers=1, server=gw, warmup_s=0, section="memory")  # fmt: skip
            after_soak = worker_rss_mb(gw)
        self.extra["memory"] = {
            "requests_before_soak": served,
            "rss_mb_after_fill": after_fill,
            "rss_mb_after_soak": after_soak,
            "soak_seconds": self.args.soak_seconds,
            "soak_requests_per_s": soak.requests_per_s,
        }


def warm_up(
    base: str,
    path: str,
    body: dict[str, Any],
    rounds: int = 3,
    at_once: int = 8,
    *,
    signed_in: Callable[[], int] | None = None,
    workers: int = 1,
) -> None:
    """``rounds`` of ``at_once`` requests on connections of their own, and with
    ``signed_in`` (how many ERP sign-ins the emulators have seen since) more rounds until each
    of the ``workers`` has signed in: a worker's first answers also teach it an ERP's item and
    price-list links, and a worker that meets the load cold pays for them under it. Which
    worker accepts a connection is up to the workers, so only the emulators can tell."""

    async def post_at_once() -> None:
        async with httpx.AsyncClient(timeout=10, headers={"X-API-Key": BENCH_API_KEY}) as http:
            # A connection per request (no pooling): each is accepted anew.
            await asyncio.gather(*(
                http.post(f"{base}{path}", json=body, headers={"Connection": "close"})
                for _ in range(at_once)
            ))  # fmt: skip

    for _ in range(rounds):
        asyncio.run(post_at_once())
    for _ in range(40):
        if signed_in is None or signed_in() >= workers:
            return
        asyncio.run(post_at_once())
    print(f"  warm-up: {signed_in() if signed_in else '?'} of {workers} workers signed in",
          flush=True)  # fmt: skip


async def drive(base: str, path: str, body: dict[str, Any], n: int) -> dict[str, int]:
    """Exactly ``n`` requests, each on a new connection so both workers get a share."""
    statuses: dict[str, int] = {}
    sem = asyncio.Semaphore(16)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=0)
    headers = {"X-API-Key": BENCH_API_KEY, "Connection": "close"}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> None:
            async with sem:
                status = (
                    await client.post(f"{base}{path}", json=body, headers=headers)
                ).status_code
                statuses[str(status)] = statuses.get(str(status), 0) + 1

        await asyncio.gather(*(one() for _ in range(n)))
    return statuses


_COUNT = re.compile(r"^isthmus_http_request_duration_seconds_count\{([^}]*)\}\s+([0-9.e+]+)", re.M)


def route_counts(text: str, route: str) -> dict[str, int]:
    """``isthmus_http_request_duration_seconds_count`` for one route, per status."""
    counts: dict[str, int] = {}
    for labels, value in _COUNT.findall(text):
        parsed = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if parsed.get("route") == route:
            status = parsed.get("status", "?")
            counts[status] = counts.get(status, 0) + int(float(value))
    return counts


def parse_only(raw: str | None) -> set[str]:
    if not raw:
        return set(SECTIONS)
    chosen = {s.strip() for s in raw.split(",") if s.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--seconds", type=int, default=6, help="measured seconds per load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--soak-seconds", type=int, default=20)
    parser.add_argument("--infor-rps", type=float, default=100.0,
                        help="ION spike arrest of the limits section, gateway and emulator")  # fmt: skip
    parser.add_argument("--intacct-service-ms", type=float, default=50.0,
                        help="Intacct's time per request in the limits section")  # fmt: skip
    parser.add_argument("--fanout-delay-ms", type=int, default=300)
    parser.add_argument("--fanout-connections", type=int, default=16)
    parser.add_argument("--metrics-requests", type=int, default=1000)
    parser.add_argument("--tracing-rounds", type=int, default=12)
    parser.add_argument(
        "--merge-into", nargs="?", const="", default=None, metavar="RESULTS_JSON",
        help="replace only this run's rows in a results file (today's if no file is named)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    only = parse_only(args.only)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    started = time.monotonic()
    with ExitStack() as stack:
        bench = Bench(args, stack, only)
        steps = [("ceiling_and_warm", ("ceiling", "warm", "endpoints"))] + [
            (s, (s,)) for s in ("cold", "limits", "fanout", "tracing", "metrics", "hop", "memory")
        ]
        for method, sections in steps:
            if not bench.wants(*sections):
                continue
            began = time.monotonic()
            try:
                getattr(bench, method)()
            except Exception as exc:  # one broken section must not lose the others
                traceback.print_exc()
                bench.extra.setdefault("failed", {})[method] = repr(exc)
            print(f"  ({method}: {time.monotonic() - began:.0f} s)", flush=True)
    elapsed = round(time.monotonic() - started, 1)
    partial = only != set(SECTIONS)
    payload = write_results(
        bench.runs, bench.extra, sections=only, elapsed=elapsed, partial=partial,
        merge_into=args.merge_into,
    )  # fmt: skip
    from bench.report import targets

    print("\ntargets:")
    for target, measured, verdict in targets(payload):
        print(f"  {verdict:<7} {target}: {measured}")
    return 0


def _key(run: dict[str, Any]) -> tuple[str, int]:
    return run["name"], run["workers"]


def write_results(
    runs: list[Run],
    extra: dict[str, Any],
    *,
    sections: set[str],
    elapsed: float,
    partial: bool,
    merge_into: str | None,
) -> dict[str, Any]:
    from bench.report import write_report

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    fresh = {
        "date": stamp,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "sections": sorted(sections, key=SECTIONS.index),
        "elapsed_s": elapsed,
        "runs": [asdict(r) for r in runs],
        **extra,
    }
    if merge_into is not None:
        path = Path(merge_into) if merge_into else RESULTS / f"{stamp}.json"
        payload = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        new_keys = {_key(r) for r in fresh["runs"]}
        kept = [r for r in payload.get("runs", []) if _key(r) not in new_keys]
        # The file keeps its date (the plot and the report are named after it).
        skip = ("runs", "sections", "elapsed_s", "date")
        payload |= {k: v for k, v in fresh.items() if k not in skip}
        payload.setdefault("date", stamp)
        payload["runs"] = kept + fresh["runs"]
        # A section run again clears its earlier failure; the others' stay.
        ran = {"ceiling_and_warm" if s in ("ceiling", "warm", "endpoints") else s for s in sections}
        failed = {k: v for k, v in payload.get("failed", {}).items() if k not in ran}
        failed |= fresh.get("failed", {})
        payload.pop("failed", None)
        if failed:
            payload["failed"] = failed
        if partial:
            at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            merges = payload.setdefault("merged", [])
            merges.append({"at": at, "sections": fresh["sections"], "elapsed_s": elapsed})
        payload.setdefault("sections", fresh["sections"])
        payload.setdefault("elapsed_s", elapsed)
    elif partial:
        path = RESULTS / f"{stamp}-partial.json"
        payload = fresh
    else:
        path = RESULTS / f"{stamp}.json"
        payload = fresh
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if partial and merge_into is None:
        print(f"wrote {path} (partial: BENCHMARKS.md left alone; --merge-into to update it)")
    else:
        write_report(payload, ROOT / "BENCHMARKS.md", RESULTS / f"{payload['date']}.png")
        print(f"wrote {path} and BENCHMARKS.md", flush=True)
    return payload


if __name__ == "__main__":
    raise SystemExit(main())
