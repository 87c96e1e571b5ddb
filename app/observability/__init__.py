"""Metrics (Prometheus text at /metrics) and traces (OpenTelemetry, OTLP export optional)."""

from app.observability.metrics import GatewayMetrics, MetricsMiddleware
from app.observability.tracing import Tracing

__all__ = ["GatewayMetrics", "MetricsMiddleware", "Tracing"]
