"""Who is calling: the result of authentication, attached to the request as ``request.user``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    client: str
    """The API key's client name, or the token's ``client_id`` / ``azp`` / ``sub``."""
    scopes: frozenset[str]
    partner_id: str | None = None
    """Set for partner-portal credentials: the caller may only see this partner's data."""
    via: Literal["api_key", "jwt", "disabled"] = "api_key"

    def has(self, scope: str) -> bool:
        return scope in self.scopes
