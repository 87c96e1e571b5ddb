"""What every API's routes share: the deadline header, and the documented problem responses.

The process API and both experiences take the same ``X-Deadline-Ms`` header and document
their refusals from the same table, so the spec says one thing in one way everywhere.
"""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from app.problems import PROBLEM_JSON, Problem
from app.services import Services
from system_apis.resilience import Deadline

__all__ = ["DeadlineHeader", "deadline_for", "problem_responses"]

DeadlineHeader = Annotated[
    int | None,
    HeaderParameter(
        name="X-Deadline-Ms",
        ge=1,
        le=120_000,
        required=False,
        description=(
            "Time budget for all backend work, in ms; clamped to the configured range "
            "(default 2500). Sections not back in time are answered as unavailable."
        ),
    ),
]


def deadline_for(services: Services, requested_ms: int | None) -> Deadline:
    """The request's deadline: the caller's ``X-Deadline-Ms`` clamped to the settings."""
    s = services.settings
    return Deadline.within(
        requested_ms,
        default_ms=s.deadline_default_ms,
        min_ms=s.deadline_min_ms,
        max_ms=s.deadline_max_ms,
    )


_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or invalid credential (see WWW-Authenticate)",
    403: "The credential lacks the scope, or is the wrong kind for this API",
    404: "No such account for this partner",
    413: "Body larger than the configured maximum",
    415: "Body is not JSON",
    422: "Invalid input, unknown entity, account, customer or product (with pointers)",
    429: "Rate limit for this client exhausted (Retry-After, RateLimit-* headers)",
    431: "Request headers too large",
    503: "The entity's ERP is not configured, or token keys are unavailable",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented problem+json answers for ``statuses``."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }
