"""Operational endpoints: liveness, readiness, cache admin, metrics, the exception queue and
the audit log (API), and the operations console."""

from app.ops.admin import OpsController
from app.ops.audit_api import AuditController
from app.ops.exceptions_api import ExceptionsController
from app.ops.health import HealthController
from app.ops.metrics_route import metrics
from app.ops.sync import ReconcileController, SyncController

__all__ = [
    "AuditController",
    "ExceptionsController",
    "HealthController",
    "OpsController",
    "ReconcileController",
    "SyncController",
    "metrics",
]
