"""The cross-reference's repository: links between Salesforce keys and ERP keys.

A link is unique per (kind, scope, Salesforce key). ``link`` is an idempotent upsert (a flow
that repeats itself writes the same row); ``import_links`` loads a seed file's links and, by
default, leaves links that flows already maintain alone. ``version`` is a cheap fingerprint
(count and newest change) that caches compare to know when to reload.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.master_tables import xref_links
from store.records import from_row

__all__ = [
    "ImportReport",
    "Link",
    "LinkKind",
    "NewLink",
    "all_links",
    "by_erp_key",
    "by_salesforce_key",
    "import_links",
    "link",
    "record_synced",
    "unlink",
    "unsynced",
    "version",
]

LinkKind = Literal["account", "contact", "address", "product", "unit"]
Origin = Literal["seed", "flow", "person"]


class NewLink(msgspec.Struct, frozen=True, kw_only=True):
    kind: LinkKind
    scope: str
    salesforce_key: str
    erp_key: str


class Link(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: LinkKind
    scope: str
    salesforce_key: str
    erp_key: str
    origin: str
    synced: dict[str, Any] | None
    synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    added: int
    changed: int
    unchanged: int
    kept: int
    """Links that differ from the file but were made by a flow or a person: left as they are."""


def _key(kind: str, scope: str, salesforce_key: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        xref_links.c.kind == kind,
        xref_links.c.scope == scope,
        xref_links.c.salesforce_key == salesforce_key,
    )


async def by_salesforce_key(
    conn: AsyncConnection, kind: LinkKind, scope: str, salesforce_key: str
) -> Link | None:
    row = (
        await conn.execute(sa.select(xref_links).where(_key(kind, scope, salesforce_key)))
    ).first()
    return from_row(row, Link) if row is not None else None


async def by_erp_key(
    conn: AsyncConnection, kind: LinkKind, scope: str, erp_key: str
) -> tuple[Link, ...]:
    """Every link naming this ERP key (more than one when Salesforce holds duplicates)."""
    rows = await conn.execute(
        sa.select(xref_links)
        .where(
            xref_links.c.kind == kind, xref_links.c.scope == scope, xref_links.c.erp_key == erp_key
        )
        .order_by(xref_links.c.id)
    )
    return tuple(from_row(r, Link) for r in rows)


async def all_links(
    conn: AsyncConnection, kinds: Sequence[LinkKind] | None = None
) -> tuple[Link, ...]:
    query = sa.select(xref_links).order_by(xref_links.c.id)
    if kinds is not None:
        query = query.where(xref_links.c.kind.in_(list(kinds)))
    return tuple(from_row(r, Link) for r in await conn.execute(query))


async def unsynced(
    conn: AsyncConnection,
    kind: LinkKind,
    scope: str,
    *,
    origins: Sequence[str] = ("flow", "person"),
) -> tuple[Link, ...]:
    """Links made by a flow or a person that no sync has completed yet (seeded links wait
    until either side changes)."""
    rows = await conn.execute(
        sa.select(xref_links)
        .where(
            xref_links.c.kind == kind,
            xref_links.c.scope == scope,
            xref_links.c.synced.is_(None),
            xref_links.c.origin.in_(list(origins)),
        )
        .order_by(xref_links.c.id)
    )
    return tuple(from_row(r, Link) for r in rows)


async def link(
    conn: AsyncConnection, new: NewLink, *, origin: Origin, now: datetime
) -> tuple[Link, bool]:
    """Create the link, or point an existing one at ``new.erp_key``; (link, changed)."""
    existing = await by_salesforce_key(conn, new.kind, new.scope, new.salesforce_key)
    if existing is None:
        inserted = False
        try:
            async with conn.begin_nested():
                await conn.execute(
                    xref_links.insert().values(
                        kind=new.kind,
                        scope=new.scope,
                        salesforce_key=new.salesforce_key,
                        erp_key=new.erp_key,
                        origin=origin,
                        created_at=now,
                        updated_at=now,
                    )
                )
            inserted = True
        except IntegrityError:
            pass  # a concurrent writer linked it first: the caller sees its erp_key
        created = await by_salesforce_key(conn, new.kind, new.scope, new.salesforce_key)
        assert created is not None
        return created, inserted
    if existing.erp_key == new.erp_key:
        return existing, False
    await conn.execute(
        xref_links.update()
        .where(xref_links.c.id == existing.id)
        .values(
            erp_key=new.erp_key, origin=origin, synced=sa.null(), synced_at=None, updated_at=now
        )
    )
    changed = await by_salesforce_key(conn, new.kind, new.scope, new.salesforce_key)
    assert changed is not None
    return changed, True


async def unlink(conn: AsyncConnection, kind: LinkKind, scope: str, salesforce_key: str) -> bool:
    deleted = await conn.execute(xref_links.delete().where(_key(kind, scope, salesforce_key)))
    return bool(deleted.rowcount)


async def record_synced(
    conn: AsyncConnection, link_id: int, values: dict[str, Any], *, now: datetime
) -> None:
    """Remember the values both sides now agree on (the next comparison's base)."""
    await conn.execute(
        xref_links.update()
        .where(xref_links.c.id == link_id)
        .values(synced=values, synced_at=now, updated_at=now)
    )


async def import_links(
    conn: AsyncConnection, links: Iterable[NewLink], *, now: datetime, overwrite: bool = False
) -> ImportReport:
    """Load a seed's links. Links a flow or person made win unless ``overwrite``."""
    current = {(x.kind, x.scope, x.salesforce_key): x for x in await all_links(conn)}
    added = changed = unchanged = kept = 0
    rows: list[dict[str, Any]] = []
    for new in links:
        have = current.get((new.kind, new.scope, new.salesforce_key))
        if have is None:
            rows.append(
                {"kind": new.kind, "scope": new.scope, "salesforce_key": new.salesforce_key,
                 "erp_key": new.erp_key, "origin": "seed", "created_at": now, "updated_at": now}
            )  # fmt: skip
            current[(new.kind, new.scope, new.salesforce_key)] = Link(
                id=0, kind=new.kind, scope=new.scope, salesforce_key=new.salesforce_key,
                erp_key=new.erp_key, origin="seed", synced=None, synced_at=None,
                created_at=now, updated_at=now,
            )  # fmt: skip
            added += 1
        elif have.erp_key == new.erp_key:
            unchanged += 1
        elif have.origin != "seed" and not overwrite:
            kept += 1
        else:
            await conn.execute(
                xref_links.update()
                .where(xref_links.c.id == have.id)
                .values(
                    erp_key=new.erp_key,
                    origin="seed",
                    synced=sa.null(),
                    synced_at=None,
                    updated_at=now,
                )
            )
            changed += 1
    for start in range(0, len(rows), 500):
        await conn.execute(xref_links.insert(), rows[start : start + 500])
    return ImportReport(added=added, changed=changed, unchanged=unchanged, kept=kept)


async def version(conn: AsyncConnection) -> tuple[int, datetime | None]:
    """(number of links, newest change): differs whenever a link is added, changed or removed."""
    row = (
        await conn.execute(
            sa.select(sa.func.count(xref_links.c.id), sa.func.max(xref_links.c.updated_at))
        )
    ).one()
    newest = row[1]
    if isinstance(newest, str):  # SQLite aggregates come back as text
        newest = datetime.fromisoformat(newest)
    return int(row[0]), newest
