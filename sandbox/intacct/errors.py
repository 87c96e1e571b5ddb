"""Intacct error entries and the codes the emulator answers with, kept in one place.

Codes marked UNVERIFIED in ``README.md`` are our best reading of the vendor's conventions;
change them here when a real response shows otherwise.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

__all__ = ["ErrorEntry", "IntacctFailure"]

# Control level (whole request refused).
SIGN_IN_SENDER = "XMLGW_JPP0002"  # wrong sender id/password, HTTP 401 (documented)
XML_SCHEMA = "XL03000003"  # malformed XML / missing required element (UNVERIFIED)
DUPLICATE_CONTROLID = "XL03000002"  # uniqueid=true and controlid seen before (UNVERIFIED)
RATE_LIMIT = "XMLGW_RATE_LIMIT"  # too many requests in flight (UNVERIFIED)
# Operation level (authentication).
SIGN_IN_USER = "XL03000006"  # wrong user/company/password or session (documented)
# Result level.
ROLLED_BACK = "XL03000009"  # transaction="true" rolled back (documented)
BUSINESS = "BL01001973"  # generic business error (documented)
REQUIRED_DIMENSION = "BL03000018"  # missing required dimension (third party)
DUPLICATE_RECORD = "BL34000061"  # another record with the same id (documented)
BAD_REQUEST = "DL02000001"  # unknown object / field / bad query (UNVERIFIED)
# ``query`` (the newer function): both documented by real answers quoted in the SDKs' issues.
QUERY_INVALID_FIELD = "XL03000010"  # "Field requested is not valid: gldetail.STATUS"
QUERY_NOT_QUERYABLE = "XL03000006"  # "The following fields cannot be queried: [ item: [BASEUOM] ]"
TOO_MANY_KEYS = "DL02000001"


@dataclass(frozen=True)
class ErrorEntry:
    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""


class IntacctFailure(Exception):
    """Raised inside a function handler: the function's result carries these errors."""

    def __init__(self, *errors: ErrorEntry) -> None:
        super().__init__(errors[0].description2 or errors[0].description)
        self.errors = errors


def business(description2: str, *, then: str | None = None, correction: str = "") -> IntacctFailure:
    """The vendor's usual pair: the specific reason, then "Could not create … record!"."""
    entries = [ErrorEntry(BUSINESS, "", description2, correction)]
    if then:
        entries.append(ErrorEntry(BUSINESS, "", then, ""))
    return IntacctFailure(*entries)


def support_id() -> str:
    """The ``[Support ID: …]`` tail Intacct appends to result-level descriptions."""
    return f"[Support ID: {secrets.token_hex(6)}%7E{secrets.token_urlsafe(18)}]"


def bad_request(description: str, description2: str = "", correction: str = "") -> IntacctFailure:
    return IntacctFailure(ErrorEntry(BAD_REQUEST, description, description2, correction))
