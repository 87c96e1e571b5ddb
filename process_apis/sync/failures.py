"""What kind of failure a Salesforce refusal of one record is, and what becomes of it.

Categories (the exception queue's classes): ``lock`` (``UNABLE_TO_LOCK_ROW``: someone holds
the row; transient, retried), ``validation`` (a validation rule refused the values: people
fix the rule or the data), ``missing_parent`` (the Order, Account or invoice the record links
to is not in Salesforce yet or any more: retried on the flow's next runs, since parents often
arrive a run later), ``duplicate``, ``value`` (a value Salesforce cannot store), ``auth``
(permissions), ``rate_limit``.
"""

from __future__ import annotations

import msgspec

from process_apis.sync.model import SalesforceWrite
from system_apis.crm import SaveResult

__all__ = ["RETRY_ON_NEXT_RUN", "RecordFailure", "classify_record"]

_CODES = {
    "UNABLE_TO_LOCK_ROW": "lock",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "validation",
    "FIELD_INTEGRITY_EXCEPTION": "validation",
    "INVALID_CROSS_REFERENCE_KEY": "missing_parent",
    "ENTITY_IS_DELETED": "missing_parent",
    "NOT_FOUND": "missing_parent",
    "MALFORMED_ID": "missing_parent",
    "DUPLICATE_VALUE": "duplicate",
    "DUPLICATE_EXTERNAL_ID": "duplicate",
    "INSUFFICIENT_ACCESS_OR_READONLY": "auth",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "auth",
    "REQUEST_LIMIT_EXCEEDED": "rate_limit",
}
RETRY_ON_NEXT_RUN = frozenset({"lock", "missing_parent", "rate_limit"})
"""Categories a later run may well get written without anyone changing anything."""


class RecordFailure(msgspec.Struct, frozen=True, kw_only=True):
    write: SalesforceWrite
    category: str
    retryable: bool
    code: str
    message: str
    fields: tuple[str, ...] = ()


def classify_record(write: SalesforceWrite, outcome: SaveResult) -> RecordFailure:
    first = outcome.errors[0] if outcome.errors else None
    code = first.code if first else "UNKNOWN"
    message = first.message if first else "Salesforce refused the record without a reason"
    category = _CODES.get(code, "value")
    if code == "INVALID_FIELD" and "Foreign key external ID" in message:
        category = "missing_parent"
    return RecordFailure(
        write=write,
        category=category,
        retryable=category in RETRY_ON_NEXT_RUN,
        code=code,
        message=message,
        fields=first.fields if first else (),
    )
