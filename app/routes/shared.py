"""What every API's routes share: the deadline header, the documented problem responses,
the scope guard, and how a route asks a process capability (``Ask``).

The process API and both experiences take the same ``X-Deadline-Ms`` header and document
their refusals from the same table, so the spec says one thing in one way everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from app.correlation import current_correlation_id
from app.problems import PROBLEM_JSON, Problem
from app.security import requires, security_requirements
from app.services import Services
from process_apis import ProcessApi
from process_apis.models import (
    AtpRequest,
    AtpResult,
    CreditCheckRequest,
    CreditCheckResult,
    PriceCheckRequest,
    PriceCheckResult,
    ValidateQuoteRequest,
    ValidateQuoteResult,
)
from system_apis.resilience import Deadline

__all__ = [
    "MAX_DEADLINE_HEADER_MS",
    "Ask",
    "DeadlineHeader",
    "answers",
    "deadline_for",
    "problem_responses",
    "provide_ask",
]

MAX_DEADLINE_HEADER_MS = 120_000
"""The largest ``X-Deadline-Ms`` a caller may send (larger is a 422, not clamped)."""

DeadlineHeader = Annotated[
    int | None,
    HeaderParameter(
        name="X-Deadline-Ms",
        ge=1,
        le=MAX_DEADLINE_HEADER_MS,
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


def answers(
    operation_id: str,
    summary: str,
    scope: str,
    problems: dict[int, ResponseSpec],
    **more: Any,
) -> dict[str, Any]:
    """Route options of an operation: its id and summary, 200 on success, the problem
    responses it documents, and the scope it needs (enforced by ``app.security`` and said in
    the spec); ``more`` (e.g. ``description``) is passed on."""
    return {
        "operation_id": operation_id,
        "summary": summary,
        "status_code": 200,
        "responses": problems,
        "opt": requires(scope),
        "security": security_requirements(scope),
        **more,
    }


class Ask:
    """How a route asks the process layer: within the request's deadline (the caller's
    ``X-Deadline-Ms`` clamped to the settings), under its correlation id. Routes take it as
    the ``ask`` dependency, which documents the header on every operation that uses it."""

    def __init__(self, process: ProcessApi, deadline: Deadline, correlation_id: str | None):
        self._process = process
        self.deadline = deadline
        self.correlation_id = correlation_id

    async def price_check(self, request: PriceCheckRequest) -> PriceCheckResult:
        return await self._process.price_check(request, self.deadline, self.correlation_id)

    async def atp(self, request: AtpRequest) -> AtpResult:
        return await self._process.atp(request, self.deadline, self.correlation_id)

    async def credit_check(self, request: CreditCheckRequest) -> CreditCheckResult:
        return await self._process.credit_check(request, self.deadline, self.correlation_id)

    async def validate_quote(self, request: ValidateQuoteRequest) -> ValidateQuoteResult:
        return await self._process.validate_quote(request, self.deadline, self.correlation_id)


def provide_ask(services: NamedDependency[Services], deadline_ms: DeadlineHeader = None) -> Ask:
    """The ``ask`` dependency."""
    return Ask(services.process, deadline_for(services, deadline_ms), current_correlation_id())
