"""Reference data's repository: the ERPs' dimension values per entity, as last synchronized.

``replace_dimensions`` takes everything the ERP listed for one (entity, kind) and makes the
table say exactly that: new values are added, changed ones updated, and values the ERP no
longer lists are kept as ``gone`` (an order naming one is refused with that reason instead of
an unhelpful "unknown").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.master_tables import reference_dimensions as dims
from store.records import from_row

__all__ = [
    "DimensionRow",
    "DimensionStatus",
    "ReplaceReport",
    "dimensions_for",
    "replace_dimensions",
    "version",
]

DimensionStatus = Literal["active", "inactive", "gone"]


class DimensionRow(msgspec.Struct, frozen=True, kw_only=True):
    entity: str
    kind: str
    code: str
    erp: str
    name: str
    status: DimensionStatus
    parent: str | None = None
    synced_at: datetime | None = None


class ReplaceReport(msgspec.Struct, frozen=True, kw_only=True):
    added: int
    changed: int
    unchanged: int
    gone: int


async def replace_dimensions(
    conn: AsyncConnection,
    *,
    entity: str,
    kind: str,
    erp: str,
    rows: Iterable[DimensionRow],
    now: datetime,
) -> ReplaceReport:
    existing = {
        r.code: from_row(r, DimensionRow)
        for r in await conn.execute(
            sa.select(dims).where(dims.c.entity == entity, dims.c.kind == kind)
        )
    }
    added = changed = unchanged = 0
    seen: set[str] = set()
    for row in rows:
        seen.add(row.code)
        have = existing.get(row.code)
        values = {"erp": erp, "name": row.name, "status": row.status, "parent": row.parent}
        if have is None:
            await conn.execute(
                dims.insert().values(
                    entity=entity, kind=kind, code=row.code, synced_at=now, **values
                )
            )
            added += 1
        elif (have.erp, have.name, have.status, have.parent) == tuple(values.values()):
            unchanged += 1
        else:
            await conn.execute(
                dims.update()
                .where(dims.c.entity == entity, dims.c.kind == kind, dims.c.code == row.code)
                .values(synced_at=now, **values)
            )
            changed += 1
    vanished = [code for code, have in existing.items() if code not in seen]
    gone = 0
    if vanished:
        result = await conn.execute(
            dims.update()
            .where(
                dims.c.entity == entity,
                dims.c.kind == kind,
                dims.c.code.in_(vanished),
                dims.c.status != "gone",
            )
            .values(status="gone", synced_at=now)
        )
        gone = int(result.rowcount or 0)
    return ReplaceReport(added=added, changed=changed, unchanged=unchanged, gone=gone)


async def dimensions_for(
    conn: AsyncConnection, entity: str | None = None
) -> tuple[DimensionRow, ...]:
    query = sa.select(dims).order_by(dims.c.entity, dims.c.kind, dims.c.code)
    if entity is not None:
        query = query.where(dims.c.entity == entity)
    return tuple(from_row(r, DimensionRow) for r in await conn.execute(query))


async def version(conn: AsyncConnection) -> tuple[int, datetime | None]:
    row = (await conn.execute(sa.select(sa.func.count(), sa.func.max(dims.c.synced_at)))).one()
    newest = row[1]
    if isinstance(newest, str):
        newest = datetime.fromisoformat(newest)
    return int(row[0]), newest
