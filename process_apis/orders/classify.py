"""What kind of failure an ERP error is, and what the worker does about it.

Categories (stable, for the exception queue): ``value`` (a field the ERP refused: inactive
customer or item, bad quantity or unit), ``missing_reference`` (unknown customer, item,
warehouse, dimension), ``duplicate``, ``closed_period``, ``required_dimension``, ``credit``
(hold, customer stop, limit), ``connection``, ``timeout``, ``rate_limit``, ``auth``.

``ambiguous`` says whether the request may have reached the ERP and done its work although
we saw no answer: then the order is looked up by its reference before anything is re-sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from system_apis.errors import BackendError

__all__ = ["Classified", "classify"]


@dataclass(frozen=True)
class Classified:
    category: str
    retryable: bool
    ambiguous: bool
    needs_people: bool
    """A refusal no retry can fix without someone changing data or configuration."""


# Vendor codes we know. M3: Wxx0203 "does not exist", WCU0503 blocked, WCU0504 customer stop.
# Intacct: BL03000018 required dimension (third-party), BL34000061 duplicate record.
_CODES = {
    "BL03000018": "required_dimension",
    "BL34000061": "duplicate",
    "WCU0504": "credit",
    "WCU0503": "value",
    "WIT0503": "value",
    "WPO0202": "duplicate",
}
# Wording, for codes that cover many causes (Intacct's BL01001973 catch-all).
_WORDS = (
    (re.compile(r"period.{0,40}closed|closed period", re.I), "closed_period"),
    (re.compile(r"required|is missing|must be provided", re.I), "required_dimension"),
    (re.compile(r"credit|on hold|customer stop", re.I), "credit"),
    (re.compile(r"already exists|duplicate", re.I), "duplicate"),
    (re.compile(r"does not exist|not found|cannot find|invalid (customer|item|warehouse|"
                r"location|department|class|project|unit)", re.I), "missing_reference"),
)  # fmt: skip


def _refusal_category(exc: BackendError) -> str:
    code = (exc.code or "").strip()
    if code in _CODES:
        return _CODES[code]
    if re.fullmatch(r"W[A-Z]{2}0203", code):
        return "missing_reference"
    for pattern, category in _WORDS:
        if pattern.search(exc.message):
            return category
    return "value"


def classify(exc: BackendError) -> Classified:
    if exc.kind == "timeout":
        return Classified("timeout", retryable=True, ambiguous=True, needs_people=False)
    if exc.kind == "rate_limited":
        return Classified("rate_limit", retryable=True, ambiguous=False, needs_people=False)
    if exc.kind in ("unavailable", "protocol"):
        # A reset or 5xx may come after the ERP did the work; a refused connection cannot, but
        # telling them apart is not worth a duplicate: look up first either way.
        return Classified("connection", retryable=True, ambiguous=True, needs_people=False)
    if exc.kind == "auth":
        return Classified("auth", retryable=False, ambiguous=False, needs_people=True)
    if exc.kind == "not_found":
        return Classified("missing_reference", retryable=False, ambiguous=False, needs_people=True)
    return Classified(_refusal_category(exc), retryable=False, ambiguous=False, needs_people=True)
