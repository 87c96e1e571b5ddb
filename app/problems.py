"""RFC 9457 problem details: the one shape every Isthmus error response takes."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["PROBLEM_JSON", "FieldProblem", "Problem", "ProblemError", "problem_type"]

PROBLEM_JSON = "application/problem+json"


def problem_type(code: str) -> str:
    """A stable, resolvable-relative type URI per error code (documented in README)."""
    return f"/problems/{code.replace('_', '-')}"


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    pointer: str
    """JSON Pointer (RFC 6901) into the request body, or ``header:<name>`` / ``query:<name>``."""
    detail: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    correlation_id: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None
    backend: dict[str, Any] | None = None
    """Vendor, vendor code and message when a backend refused the request."""
    retry_after_s: float | None = None
    order_id: str | None = None
    """The order this problem concerns (e.g. the one already holding an external reference)."""


class ProblemError(Exception):
    """Raise anywhere in ``app/`` to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        backend: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.backend = backend
        self.headers = headers or {}
