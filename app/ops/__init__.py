"""Operational endpoints: liveness, readiness, cache admin, metrics."""

from app.ops.admin import OpsController
from app.ops.health import HealthController
from app.ops.metrics_route import metrics
from app.ops.sync import ReconcileController, SyncController

__all__ = [
    "HealthController",
    "OpsController",
    "ReconcileController",
    "SyncController",
    "metrics",
]
