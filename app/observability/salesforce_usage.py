"""The Salesforce org's daily API usage (``Sforce-Limit-Info``) as Prometheus gauges."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from system_apis.crm import CrmBackend

__all__ = ["SalesforceUsageCollector"]


class SalesforceUsageCollector(Collector):
    """Read at scrape time from the adapter's last response header; nothing on the hot path."""

    def __init__(self, backend: CrmBackend, reserve: int) -> None:
        self._backend = backend
        self._reserve = reserve

    def collect(self) -> Iterator[Metric]:
        usage = self._backend.api_usage()
        gauge = GaugeMetricFamily(
            "isthmus_salesforce_api_requests",
            "Salesforce daily API requests as Sforce-Limit-Info last reported them",
            labels=["kind"],
        )
        if usage is not None:
            gauge.add_metric(["used"], usage.used)
            gauge.add_metric(["limit"], usage.limit)
            gauge.add_metric(["remaining"], usage.remaining)
            gauge.add_metric(["reserve"], self._reserve)
        yield gauge
