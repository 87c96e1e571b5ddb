"""Errors of the process layer: bad business input the caller can fix, or missing setup."""

from __future__ import annotations

__all__ = [
    "BackendNotConfiguredError",
    "InvalidInputError",
    "ProcessError",
    "UnknownEntityError",
    "UnknownReferenceError",
]


class ProcessError(Exception):
    status = 422
    code = "invalid_request"
    title = "The request cannot be processed"

    def __init__(self, detail: str, *, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer


class InvalidInputError(ProcessError):
    code = "validation_error"
    title = "Request failed validation"


class UnknownEntityError(ProcessError):
    code = "unknown_entity"
    title = "Unknown legal entity"


class UnknownReferenceError(ProcessError):
    code = "unknown_reference"
    title = "Unknown customer, product or unit"


class BackendNotConfiguredError(ProcessError):
    status = 503
    code = "backend_not_configured"
    title = "The ERP for this entity is not configured"
