"""Idempotency records: the first response per (client, key), replayed for repeats.

``begin`` either reserves the key for this request (``Reserved``) or returns what is already
there (``Existing``: done, in flight, or held with another body — the caller decides the
answer). Expired records, and in-flight ones whose holder died (``locked_until`` passed), are
taken over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.records import IdempotencyRecord, from_row
from store.tables import idempotency_keys as keys

__all__ = ["Existing", "Reserved", "begin", "finish", "purge_expired", "release"]


class Reserved(msgspec.Struct, frozen=True):
    """The key is ours until ``finish`` or ``release`` (or until ``locked_until``)."""


class Existing(msgspec.Struct, frozen=True):
    record: IdempotencyRecord


def _where(client: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(keys.c.client == client, keys.c.key == key)


async def _get(conn: AsyncConnection, client: str, key: str) -> IdempotencyRecord | None:
    query = sa.select(keys).where(_where(client, key)).with_for_update()
    row = (await conn.execute(query)).first()
    return from_row(row, IdempotencyRecord) if row is not None else None


async def begin(
    conn: AsyncConnection,
    *,
    client: str,
    key: str,
    fingerprint: str,
    now: datetime,
    lock_for: timedelta,
    retention: timedelta,
) -> Reserved | Existing:
    fresh: dict[str, Any] = {
        "fingerprint": fingerprint,
        "state": "in_flight",
        "locked_until": now + lock_for,
        "response_status": None,
        "response_body": None,
        "response_headers": None,
        "order_id": None,
        "created_at": now,
        "expires_at": now + retention,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(keys.insert().values(client=client, key=key, **fresh))
    except IntegrityError:
        pass
    else:
        return Reserved()
    record = await _get(conn, client, key)
    if record is None:  # deleted between our insert and read: try once more
        await conn.execute(keys.insert().values(client=client, key=key, **fresh))
        return Reserved()
    abandoned = record.state == "in_flight" and record.locked_until < now
    if record.expires_at < now or abandoned:
        await conn.execute(keys.update().where(_where(client, key)).values(**fresh))
        return Reserved()
    return Existing(record)


async def finish(
    conn: AsyncConnection,
    *,
    client: str,
    key: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    order_id: str | None,
    now: datetime,
    retention: timedelta,
) -> None:
    """Store the response to replay; retention counts from now."""
    await conn.execute(
        keys.update()
        .where(_where(client, key))
        .values(
            state="done",
            response_status=status,
            response_body=body,
            response_headers=headers,
            order_id=order_id,
            expires_at=now + retention,
        )
    )


async def release(conn: AsyncConnection, *, client: str, key: str, fingerprint: str) -> None:
    """Forget an in-flight reservation (the request failed in a way worth retrying)."""
    await conn.execute(
        keys.delete().where(
            _where(client, key), keys.c.fingerprint == fingerprint, keys.c.state == "in_flight"
        )
    )


async def purge_expired(conn: AsyncConnection, *, now: datetime) -> int:
    result = await conn.execute(keys.delete().where(keys.c.expires_at < now))
    return int(result.rowcount)
