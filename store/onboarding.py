"""Customer onboarding claims: a Salesforce Account becomes an ERP customer exactly once.

``claim`` is one idempotent INSERT followed by one conditional UPDATE, so however many runs
race for the same (account, entity), exactly one holds the claim at a time; a holder that dies
lets its lease run out and the next run takes over, finding the customer number the first one
chose (and, through it, whatever the first one already created in the ERP). A row that reached
``created`` or ``held`` is never claimed again until a person releases it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.master_tables import customer_onboarding as ob
from store.master_tables import number_sequences as seq
from store.records import from_row

__all__ = [
    "Onboarding",
    "OnboardingState",
    "choose_customer_id",
    "claim",
    "get",
    "hold",
    "list_onboarding",
    "mark_created",
    "next_number",
    "release",
    "reopen",
]

OnboardingState = Literal["claimed", "created", "held"]


class Onboarding(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str
    entity: str
    erp: str
    state: OnboardingState
    customer_id: str | None
    lease_owner: str | None
    lease_until: datetime | None
    attempts: int
    reason: str | None
    checks_cleared: bool
    failure_id: int | None
    created_at: datetime
    updated_at: datetime


def _key(account_id: str, entity: str) -> sa.ColumnElement[bool]:
    return sa.and_(ob.c.account_id == account_id, ob.c.entity == entity)


async def get(conn: AsyncConnection, account_id: str, entity: str) -> Onboarding | None:
    row = (await conn.execute(sa.select(ob).where(_key(account_id, entity)))).first()
    return from_row(row, Onboarding) if row is not None else None


async def claim(
    conn: AsyncConnection,
    account_id: str,
    entity: str,
    *,
    erp: str,
    owner: str,
    now: datetime,
    until: datetime,
) -> Onboarding | None:
    """The claimed row when ``owner`` now holds it; None when another run holds it or it is
    already created or held for a person."""
    if await get(conn, account_id, entity) is None:
        try:
            async with conn.begin_nested():
                await conn.execute(
                    ob.insert().values(
                        account_id=account_id,
                        entity=entity,
                        erp=erp,
                        state="claimed",
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # a concurrent run inserted it: the UPDATE below decides who holds it
    taken = await conn.execute(
        ob.update()
        .where(
            _key(account_id, entity),
            ob.c.state == "claimed",
            sa.or_(ob.c.lease_until.is_(None), ob.c.lease_until < now, ob.c.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_until=until, attempts=ob.c.attempts + 1, updated_at=now)
    )
    if taken.rowcount != 1:
        return None
    return await get(conn, account_id, entity)


async def choose_customer_id(
    conn: AsyncConnection,
    account_id: str,
    entity: str,
    customer_id: str,
    *,
    owner: str,
    replace: str | None = None,
) -> str:
    """Record the ERP number for the claim unless one was chosen before (or, with
    ``replace``, unless the one chosen is no longer ``replace``); the one that stands."""
    chosen = ob.c.customer_id.is_(None) if replace is None else sa.and_(ob.c.customer_id == replace)
    await conn.execute(
        ob.update()
        .where(_key(account_id, entity), chosen, ob.c.lease_owner == owner)
        .values(customer_id=customer_id)
    )
    stored = await conn.scalar(sa.select(ob.c.customer_id).where(_key(account_id, entity)))
    assert stored is not None
    return str(stored)


async def mark_created(
    conn: AsyncConnection, account_id: str, entity: str, *, customer_id: str, now: datetime
) -> None:
    await conn.execute(
        ob.update()
        .where(_key(account_id, entity))
        .values(
            state="created",
            customer_id=customer_id,
            lease_owner=None,
            lease_until=None,
            reason=None,
            updated_at=now,
        )
    )


async def hold(
    conn: AsyncConnection,
    account_id: str,
    entity: str,
    *,
    reason: str,
    failure_id: int | None,
    now: datetime,
) -> None:
    """Stop: a person decides (a suspected duplicate, a failed check)."""
    await conn.execute(
        ob.update()
        .where(_key(account_id, entity))
        .values(
            state="held",
            reason=reason,
            failure_id=failure_id,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )


async def reopen(
    conn: AsyncConnection, account_id: str, entity: str, *, now: datetime, clear_checks: bool
) -> bool:
    """A person looked at a held account: the next run creates it (without the duplicate and
    configured checks when ``clear_checks``)."""
    result = await conn.execute(
        ob.update()
        .where(_key(account_id, entity), ob.c.state == "held")
        .values(
            state="claimed",
            reason=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            checks_cleared=clear_checks,
        )
    )
    return bool(result.rowcount)


async def release(conn: AsyncConnection, account_id: str, entity: str, *, owner: str) -> None:
    """Give the claim back without an outcome (a transient failure): the next run retries."""
    await conn.execute(
        ob.update()
        .where(_key(account_id, entity), ob.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


async def list_onboarding(
    conn: AsyncConnection, *, state: OnboardingState | None = None, limit: int = 200
) -> tuple[Onboarding, ...]:
    query = sa.select(ob).order_by(ob.c.updated_at.desc()).limit(limit)
    if state is not None:
        query = query.where(ob.c.state == state)
    return tuple(from_row(r, Onboarding) for r in await conn.execute(query))


async def next_number(conn: AsyncConnection, series: str, *, start: int, now: datetime) -> int:
    """The next number of ``series`` (the first is ``start``); each number is handed out once."""
    taken = await conn.execute(
        seq.update()
        .where(seq.c.name == series)
        .values(next_value=seq.c.next_value + 1, updated_at=now)
        .returning(seq.c.next_value)
    )
    row = taken.first()
    if row is not None:
        return int(row[0]) - 1
    try:
        async with conn.begin_nested():
            await conn.execute(
                seq.insert().values(name=series, next_value=start + 1, updated_at=now)
            )
        return start
    except IntegrityError:  # another caller started the series first
        return await next_number(conn, series, start=start, now=now)
