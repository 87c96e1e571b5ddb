"""Scopes and the access policy of each API family.

A route under a protected prefix states the scopes it needs in its ``opt`` (see ``requires``);
one under a protected prefix that states none is refused (deny by default), except the
process APIs whose prefix carries its own scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ACCOUNTS_READ",
    "ALL_SCOPES",
    "CREDIT_READ",
    "EXCEPTIONS_ACT",
    "EXCEPTIONS_VIEW",
    "INVENTORY_READ",
    "OPS_ADMIN",
    "ORDERS_READ",
    "ORDERS_SUBMIT",
    "PRICES_READ",
    "PROCESS_INVOKE",
    "QUOTES_VALIDATE",
    "Audience",
    "Policy",
    "policy_for",
    "requires",
]

QUOTES_VALIDATE = "quotes:validate"
PRICES_READ = "prices:read"
INVENTORY_READ = "inventory:read"
CREDIT_READ = "credit:read"
ACCOUNTS_READ = "accounts:read"
PROCESS_INVOKE = "process:invoke"
"""The process APIs: full canonical detail, for internal callers only."""
OPS_ADMIN = "ops:admin"
ORDERS_SUBMIT = "orders:submit"
ORDERS_READ = "orders:read"
EXCEPTIONS_VIEW = "exceptions:view"
"""Read the exception queue and the audit log (API and console)."""
EXCEPTIONS_ACT = "exceptions:act"
"""Retry, replay, discard, assign, tag and comment on exception records."""
ALL_SCOPES = (
    QUOTES_VALIDATE, PRICES_READ, INVENTORY_READ, CREDIT_READ, ACCOUNTS_READ, PROCESS_INVOKE,
    OPS_ADMIN, ORDERS_SUBMIT, ORDERS_READ,
    EXCEPTIONS_VIEW, EXCEPTIONS_ACT,
)  # fmt: skip

Audience = Literal["internal", "partner"]
_OPT_SCOPES = "isthmus_scopes"


@dataclass(frozen=True)
class Policy:
    audience: Audience
    """``internal`` routes refuse partner-bound credentials; ``partner`` routes require one."""
    scopes: tuple[str, ...]


# Path prefixes that are never open. Everything else (health, docs) needs no credential.
_PREFIXES: dict[str, tuple[Audience, tuple[str, ...]]] = {
    "/process/": ("internal", (PROCESS_INVOKE,)),
    "/lightning/": ("internal", ()),
    "/portal/": ("partner", ()),
    "/ops/": ("internal", (OPS_ADMIN,)),
    "/metrics": ("internal", (OPS_ADMIN,)),
}


def requires(*scopes: str) -> dict[str, Any]:
    """Route ``opt`` naming the scopes a caller needs (all of them)."""
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}")
    return {_OPT_SCOPES: tuple(scopes)}


SESSION_AUTH = "isthmus_session_auth"
"""Route ``opt`` key of the ops console's pages: they check their own signed session."""


def policy_for(path: str, opt: dict[str, Any]) -> Policy | None:
    """The policy for a route, ``None`` when it is open. Scopes default to the prefix's."""
    if opt.get(SESSION_AUTH):
        return None
    for prefix, (audience, default_scopes) in _PREFIXES.items():
        if path.startswith(prefix):
            scopes: tuple[str, ...] = opt.get(_OPT_SCOPES) or default_scopes
            return Policy(audience=audience, scopes=scopes)
    return None
