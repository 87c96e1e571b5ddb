"""Refusals of the exception queue's actions (problem+json via ``app/errors.py``)."""

from __future__ import annotations

from process_apis.errors import ProcessError

__all__ = ["ActionRefusedError", "ExceptionNotFoundError", "InvalidPayloadError"]


class ExceptionNotFoundError(ProcessError):
    status = 404
    code = "exception_not_found"
    title = "No such exception record"


class ActionRefusedError(ProcessError):
    """The record's state does not allow the action (e.g. retrying a discarded record)."""

    status = 409
    code = "exception_action_refused"
    title = "The action does not apply to this record in its current state"


class InvalidPayloadError(ProcessError):
    status = 422
    code = "invalid_payload"
    title = "The edited payload is not valid for this flow"
