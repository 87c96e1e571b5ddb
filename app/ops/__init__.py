"""Operational endpoints: liveness, readiness."""

from app.ops.health import HealthController

__all__ = ["HealthController"]
