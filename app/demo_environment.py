"""The demo's settings, added to what the environment already says rather than replacing it.

``isthmus demo`` points the gateway at the sandbox by setting ``ISTHMUS_*`` variables. Lists
and tables a person may have set themselves (API keys, token issuers, partners, CORS origins)
are merged: the demo's entries are added to the ones given, so a key set in the environment
keeps working next to the documented demo keys. The other variables (where the ERPs are, their
credentials) are the sandbox's, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MERGED", "merged_environment"]

MERGED = (
    "ISTHMUS_SECURITY__API_KEYS",
    "ISTHMUS_SECURITY__ISSUERS",
    "ISTHMUS_SECURITY__PARTNERS",
    "ISTHMUS_SECURITY__CORS_ORIGINS",
)
"""JSON lists and tables that are combined (given entries first, then the demo's)."""


def merged_environment(given: Mapping[str, str], demo: Mapping[str, str]) -> dict[str, str]:
    """The variables to set for the demo: ``demo``'s, combined with ``given`` where merged."""
    result = dict(demo)
    for name in MERGED:
        mine = given.get(name)
        if mine is not None and name in demo:
            result[name] = _combined(mine, demo[name])
    return result


def _combined(given: str, demo: str) -> str:
    try:
        mine: Any = json.loads(given)
    except ValueError:
        return given  # not JSON: left for the settings check to report, with its name
    theirs: Any = json.loads(demo)
    if isinstance(mine, list) and isinstance(theirs, list):
        return json.dumps([*mine, *(v for v in theirs if v not in mine)])
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return json.dumps({**theirs, **mine})
    return given
