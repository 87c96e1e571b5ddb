"""Prometheus series of the write path, read from the store when ``/metrics`` is scraped:

- ``isthmus_exceptions_open{flow, category}`` — active exception records (open or retrying);
- ``isthmus_exceptions_oldest_open_age_seconds{flow}`` — age of the oldest active record;
- ``isthmus_orders_stuck`` — orders accepted longer ago than ``exceptions.stuck_after_s`` and
  still not booked (nor given up on);
- ``isthmus_sync_lag_seconds{system, kind, entity}`` — time since each delta flow last
  advanced its watermark.

Example alert rules: ``docs/operations/alerts.yml``.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.observability import GatewayMetrics
from app.services import Services
from store import exceptions as failure_rows
from store import ops_views

__all__ = ["QueueMetrics", "refresh_queue_metrics"]

log = logging.getLogger("isthmus.ops")


class QueueMetrics(Collector):
    """The last reading of the store, rendered as plain gauge families.

    Not ``Gauge`` objects: under ``isthmus serve`` those would write to the per-worker
    multiprocess files, and a label set that disappears could not be removed there. The
    store is shared, so the worker answering the scrape reads the server's figures itself.
    """

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._open: dict[tuple[str, str], int] = {}
        self._oldest: dict[str, float] = {}
        self._stuck = 0
        self._lag: dict[tuple[str, str, str], float] = {}
        self._store_up = 0
        metrics.registry.register(self)

    def collect(self) -> Iterator[Metric]:
        open_ = GaugeMetricFamily(
            "isthmus_exceptions_open",
            "Exception records still to be worked (open or retrying), by flow and error class",
            labels=["flow", "category"],
        )
        for (flow, category), count in self._open.items():
            open_.add_metric([flow, category], count)
        yield open_
        oldest = GaugeMetricFamily(
            "isthmus_exceptions_oldest_open_age_seconds",
            "Age of the oldest exception record still to be worked, by flow",
            labels=["flow"],
        )
        for flow, age in self._oldest.items():
            oldest.add_metric([flow], age)
        yield oldest
        yield GaugeMetricFamily(
            "isthmus_orders_stuck",
            "Orders accepted longer ago than the stuck threshold and not yet booked",
            value=self._stuck,
        )
        lag = GaugeMetricFamily(
            "isthmus_sync_lag_seconds",
            "Seconds since each delta sync flow last advanced its watermark",
            labels=["system", "kind", "entity"],
        )
        for (system, kind, entity), seconds in self._lag.items():
            lag.add_metric([system, kind, entity], seconds)
        yield lag
        yield GaugeMetricFamily(
            "isthmus_ops_store_up",
            "1 when the last scrape could read the store, 0 when it could not",
            value=self._store_up,
        )

    async def refresh(self, services: Services, now: datetime | None = None) -> None:
        queue = services.exceptions
        if queue is None:
            return
        now = now or datetime.now(UTC)
        stuck_after = timedelta(seconds=services.settings.exceptions.stuck_after_s)
        try:
            async with queue.db.transaction() as conn:
                stats = await failure_rows.open_stats(conn)
                stuck = await ops_views.stuck_count(conn, cutoff=now - stuck_after)
                marks = await ops_views.watermarks(conn)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("metrics: the store could not be read: %s", exc)
            self._store_up = 0
            return
        self._store_up = 1
        open_by: dict[tuple[str, str], int] = {}
        oldest: dict[str, datetime] = {}
        for s in stats:
            open_by[(s.flow, s.category)] = open_by.get((s.flow, s.category), 0) + s.count
            oldest[s.flow] = min(oldest.get(s.flow, s.oldest), s.oldest)
        self._open = open_by
        self._oldest = {
            flow: max(0.0, (now - first).total_seconds()) for flow, first in oldest.items()
        }
        self._stuck = stuck
        self._lag = {
            (m.system, m.kind, m.entity): max(0.0, (now - m.updated_at).total_seconds())
            for m in marks
        }


_BY_METRICS: weakref.WeakKeyDictionary[GatewayMetrics, QueueMetrics] = weakref.WeakKeyDictionary()


def queue_metrics(metrics: GatewayMetrics) -> QueueMetrics:
    """One set of series per registry (several gateways may share a process in tests)."""
    found = _BY_METRICS.get(metrics)
    if found is None:
        found = _BY_METRICS[metrics] = QueueMetrics(metrics)
    return found


async def refresh_queue_metrics(services: Services) -> None:
    await queue_metrics(services.metrics).refresh(services)
