"""Metrics summed over every worker process of one server (Prometheus multiprocess mode).

``isthmus serve`` runs several granian worker processes behind one port, and a scrape of
``/metrics`` reaches whichever of them accepts it. Each worker's own figures would jump from
scrape to scrape; these are the pieces that make every scrape report the whole server:

1. ``isthmus serve`` makes one fresh directory per run (:func:`prepare_run_dir`: a temporary
   one, or ``observability.metrics_dir`` emptied of old files, so a restart never resurrects
   the previous run's counts) and exports it as ``PROMETHEUS_MULTIPROC_DIR`` before any worker
   starts. Without that variable (tests, one in-process app) nothing here is used: each app
   keeps its own in-memory registry.
2. In each worker, counters and histograms write every event to a small memory-mapped file of
   their own (prometheus_client's ``MmapedValue``): no coordination between workers, and the
   figures of a worker that exits stay counted, as a counter's events should.
3. State that lives in one worker's memory (cache lookups counted by the cache, breaker state,
   calls in flight) is published into such files by that worker every second and just before
   it answers a scrape (``GatewayMetrics`` does this): cache lookups as counters (summed over
   all workers, past ones included), calls in flight as a gauge summed over live workers,
   breaker state as the worst (max) over live workers.
4. A scrape merges every worker's files (:class:`SharedSeries`), keeping only the series the
   gateway declares shared. Gauges that other code sets at scrape time from a shared source
   (the write path's queue gauges, read from the store) are rendered live by the worker that
   answers, as before. Files of "live" gauges of workers that have exited are removed at the
   next scrape (``mark_process_dead``), so a respawned worker's predecessor no longer counts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import values
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

__all__ = [
    "ENV_VAR",
    "SharedSeries",
    "configured_dir",
    "prepare_run_dir",
    "use_multiprocess_values",
]

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
# The files GatewayMetrics' shared series write; others (gauges in mode "all") are not merged.
_SHARED_FILES = ("counter_*.db", "histogram_*.db", "gauge_live*.db")


def configured_dir() -> str | None:
    """The multiprocess directory this process was started with, if any."""
    return os.environ.get(ENV_VAR) or None


def prepare_run_dir(configured: str | None) -> tuple[Path, bool]:
    """The directory for this run's files, empty; and whether it was made here (to remove).

    Only ``*.db`` files are removed from a configured directory: it may hold anything else.
    """
    if configured is None:
        return Path(tempfile.mkdtemp(prefix="isthmus-metrics-")), True
    path = Path(configured)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    return path, False


_pid = os.getpid()


def _refresh_pid() -> None:
    global _pid  # one per process, set again in each forked child
    _pid = os.getpid()


os.register_at_fork(after_in_child=_refresh_pid)


def _process_identifier() -> int:
    """``os.getpid()`` without a system call: every counter and histogram write checks it (to
    notice a fork), and a system call there costs more than the write itself."""
    return _pid


def use_multiprocess_values() -> None:
    """Make metrics created from now on in this process write to the multiprocess files.

    prometheus_client chooses its value class when first imported; a worker forked from a
    parent that imported it before the directory was exported would keep in-memory values.
    """
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
            process_identifier=_process_identifier
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, someone else's
        return True
    return True


class SharedSeries(Collector):
    """Every worker's figures for ``names``, merged (summed, or per the gauge's mode)."""

    def __init__(self, path: str, names: frozenset[str]) -> None:
        self._path = Path(path)
        self._names = names

    def describe(self) -> Iterator[Metric]:
        return iter(())  # names vary with the files; nothing to read when registered

    def collect(self) -> Iterator[Metric]:
        self._forget_dead_workers()
        files = sorted(str(f) for pattern in _SHARED_FILES for f in self._path.glob(pattern))
        merged = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        for metric in merged:
            if metric.name in self._names:
                yield metric

    def _forget_dead_workers(self) -> None:
        me = os.getpid()
        for f in self._path.glob("gauge_live*_*.db"):
            pid_text = f.stem.rsplit("_", 1)[-1]
            if pid_text.isdigit() and int(pid_text) != me and not _pid_alive(int(pid_text)):
                # Another worker answering a scrape at the same moment may remove it first.
                with contextlib.suppress(FileNotFoundError):
                    mark_process_dead(int(pid_text), str(self._path))  # type: ignore[no-untyped-call]
