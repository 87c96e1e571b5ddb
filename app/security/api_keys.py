"""API keys (``X-API-Key``) as Salesforce Named Credentials send them: stored only as SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from app.security.caller import Caller
from app.settings import ApiKeySetting

__all__ = ["ApiKeyStore", "hash_api_key"]

MAX_KEY_LENGTH = 256


def hash_api_key(key: str) -> str:
    """What goes in settings (``key_sha256``): the hex SHA-256 of the key's UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyStore:
    """Looks keys up by hash. Several keys may name one client: that is how rotation overlaps.

    A dictionary lookup by digest leaks nothing useful through timing: an attacker chooses the
    key, not its digest, and cannot steer the digest towards a stored one.
    """

    def __init__(
        self, keys: Sequence[ApiKeySetting], *, now: Callable[[], datetime] | None = None
    ) -> None:
        self._by_digest = {k.key_sha256: k for k in keys}
        # Built once per key: a Caller is immutable, and every request with the key needs one.
        self._callers = {
            k.key_sha256: Caller(
                client=k.client,
                scopes=frozenset(k.scopes),
                partner_id=k.partner_id,
                via="api_key",
            )
            for k in keys
        }
        self._now = now or (lambda: datetime.now(UTC))

    def __len__(self) -> int:
        return len(self._by_digest)

    def verify(self, presented: str) -> Caller | None:
        if not presented or len(presented) > MAX_KEY_LENGTH:
            return None
        digest = hash_api_key(presented)
        entry = self._by_digest.get(digest)
        if entry is None:
            return None
        if entry.not_after is not None and self._now() >= _aware(entry.not_after):
            return None
        return self._callers[digest]


def _aware(moment: datetime) -> datetime:
    # A naive not_after in settings is taken as UTC rather than refused.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
