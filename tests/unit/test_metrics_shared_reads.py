"""Shared reads per worker reach every worker's scrape (multiprocess files).

Each "worker" is a process of its own, as under ``isthmus serve``: the multiprocess value
class is chosen once per process, so these cannot run inside the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

WORKER = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from app.observability.metrics import GatewayMetrics, Watched

    metrics = GatewayMetrics()
    backend = SimpleNamespace(vendor="infor_m3", shared={"price": 0, "item": 0})
    metrics.watch(lambda: Watched(shared=[backend]))
    for price, item in ((1, 0), (int(sys.argv[1]), int(sys.argv[2]))):
        backend.shared.update(price=price, item=item)
        metrics.publish()  # what the worker's tick does every second
    sys.stdout.write(metrics.render().decode())
    """
)


def _worker(metrics_dir: Path, price: int, item: int) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(price), str(item)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _shared(scrape: str) -> dict[str, float]:
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(scrape)
        if family.name == "isthmus_reads_shared"
        for sample in family.samples
        if sample.name == "isthmus_reads_shared_total"
    }


def test_each_workers_shared_reads_are_summed_in_any_scrape(tmp_path: Path) -> None:
    first = _worker(tmp_path, price=3, item=0)
    second = _worker(tmp_path, price=4, item=2)

    assert _shared(first) == {"price": 3.0}
    assert _shared(second) == {"price": 7.0, "item": 2.0}  # the first worker's counts too
