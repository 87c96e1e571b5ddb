"""``isthmus serve`` with two worker processes: every scrape of /metrics reports the server.

The gateway runs as operators run it (a subprocess, granian, two workers) over the sandbox's
emulators; requests arrive on many connections so both workers answer some.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.observability.multiprocess import prepare_run_dir
from sandbox.xref import salesforce_account_id
from tests.support.sandbox_gateway import running_sandbox
from tests.support.servers import free_port

pytestmark = pytest.mark.slow

OPS_KEY = "isk_test_ops_workers_8c2d41"
CALLER_KEY = "isk_test_caller_workers_3f9a07"
QUOTES = 40
VALIDATE_QUOTE = "/process/v1/validate-quote"


def _quote(n: int) -> dict[str, Any]:
    """Distinct quotes (a different price each), so none is answered from a memo."""
    return {
        "entity": "US01",
        "accountId": salesforce_account_id(6),
        "currency": "USD",
        "lines": [
            {"sku": "SKU-0006", "quantity": "1", "uom": "Each", "quotedUnitPrice": f"{n}.00"}
        ],
    }


def _key(client: str, key: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "client": client,
        "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
        "scopes": scopes,
    }


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Base URL of a two-worker gateway, and its metrics directory."""
    tmp = tmp_path_factory.mktemp("serve")
    metrics_dir = tmp / "metrics"
    with running_sandbox() as sandbox:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ISTHMUS_")},
            **{f"ISTHMUS_{k.upper()}": v for k, v in sandbox.env.items()},
            "ISTHMUS_HOST": "127.0.0.1",
            "ISTHMUS_PORT": str(port),
            "ISTHMUS_WORKERS": "2",
            "ISTHMUS_LOG_LEVEL": "WARNING",
            "ISTHMUS_STORE__URL": f"sqlite+aiosqlite:///{tmp / 'store.db'}",
            "ISTHMUS_OBSERVABILITY__METRICS_DIR": str(metrics_dir),
            "ISTHMUS_SECURITY__API_KEYS": json.dumps(
                [
                    _key("tests-ops", OPS_KEY, ["ops:admin"]),
                    _key("tests-caller", CALLER_KEY, ["process:invoke"]),
                ]
            ),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_ready(base, proc)
            yield base, metrics_dir
        finally:
            _stop(proc)


def _wait_until_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60  # two workers importing the app on a busy machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"isthmus serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("isthmus serve did not come up")


def _scrape(base: str) -> dict[str, list[Any]]:
    # A new connection each time: the scrape may reach either worker.
    response = httpx.get(f"{base}/metrics", headers={"X-API-Key": OPS_KEY}, timeout=10)
    assert response.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def _count(families: dict[str, list[Any]], route: str) -> dict[str, float]:
    return {
        s.labels["status"]: s.value
        for s in families["isthmus_http_request_duration_seconds"]
        if s.name.endswith("_count") and s.labels["route"] == route
    }


def _post_quote(base: str, n: int) -> int:
    with httpx.Client(base_url=base, headers={"X-API-Key": CALLER_KEY}, timeout=30) as client:
        return client.post(VALIDATE_QUOTE, json=_quote(n)).status_code


def test_every_scrape_reports_the_requests_of_both_workers(gateway: tuple[str, Path]) -> None:
    base, metrics_dir = gateway
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: _post_quote(base, n), range(1, QUOTES + 1)))
    assert statuses == [200] * QUOTES
    # Both workers answered some (each writes its own file once it records a request).
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2
    for _ in range(6):
        families = _scrape(base)
        assert _count(families, VALIDATE_QUOTE) == {"200": QUOTES}
        assert [s.value for s in families["isthmus_worker_processes"]] == [2.0]


def test_cache_lookups_of_both_workers_are_summed(gateway: tuple[str, Path]) -> None:
    base, _ = gateway
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: _post_quote(base, n), range(100, 100 + QUOTES)))
    # Each worker has its own in-process cache, so each missed the first price at least once;
    # another worker's figures reach a scrape within the one-second publishing interval.
    deadline = time.monotonic() + 20
    misses = 0.0
    while time.monotonic() < deadline:
        misses = sum(
            s.value
            for s in _scrape(base)["isthmus_cache_lookups"]
            if s.name.endswith("_total")
            and (s.labels["vendor"], s.labels["kind"], s.labels["result"])
            == ("infor_m3", "price", "miss")
        )
        if misses >= 2:
            break
        time.sleep(0.2)
    assert misses >= 2


def _worker_pids(metrics_dir: Path) -> set[int]:
    """Workers alive as far as the metrics know: each holds a live gauge file of its own."""
    return {int(f.stem.rsplit("_", 1)[1]) for f in metrics_dir.glob("gauge_livesum_*.db")}


def test_a_worker_that_dies_keeps_its_counts_and_leaves_the_worker_count(
    gateway: tuple[str, Path],
) -> None:
    base, metrics_dir = gateway
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: _post_quote(base, n), range(200, 200 + QUOTES)))
    before = _count(_scrape(base), VALIDATE_QUOTE)
    victim = min(_worker_pids(metrics_dir))
    os.kill(victim, signal.SIGKILL)  # granian starts another one after a few seconds
    deadline = time.monotonic() + 60
    workers: list[float] = []
    while time.monotonic() < deadline:
        families = _scrape(base)  # the answering worker forgets the dead one's live gauges
        workers = [s.value for s in families["isthmus_worker_processes"]]
        pids = _worker_pids(metrics_dir)
        if workers == [2.0] and victim not in pids and len(pids) == 2:
            break
        time.sleep(0.2)
    assert workers == [2.0]
    # The dead worker's requests happened: they stay counted.
    assert _count(_scrape(base), VALIDATE_QUOTE) == before


def test_a_fresh_run_starts_from_an_empty_metrics_directory(tmp_path: Path) -> None:
    configured = tmp_path / "metrics"
    configured.mkdir()
    (configured / "histogram_4242.db").write_bytes(b"a previous run's counts")
    (configured / "README").write_text("not ours")
    path, made_here = prepare_run_dir(str(configured))
    assert (path, made_here) == (configured, False)
    assert sorted(p.name for p in configured.iterdir()) == ["README"]
    fresh, made_here = prepare_run_dir(None)
    try:
        assert made_here
        assert list(fresh.iterdir()) == []
    finally:
        fresh.rmdir()
