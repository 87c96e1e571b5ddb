"""Errors of the process layer: bad business input the caller can fix (HTTP 4xx)."""

from __future__ import annotations

__all__ = ["ProcessError", "UnknownEntityError", "UnknownReferenceError"]


class ProcessError(Exception):
    status = 422
    code = "invalid_request"
    title = "The request cannot be processed"

    def __init__(self, detail: str, *, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer


class UnknownEntityError(ProcessError):
    code = "unknown_entity"
    title = "Unknown legal entity"


class UnknownReferenceError(ProcessError):
    code = "unknown_reference"
    title = "Unknown customer, product or unit"
