"""The cross-reference kept in the store: a seed file imports into it, flows maintain it, and
the process APIs read it through an in-memory snapshot (``CrossReference``) that is refreshed
when the store's links change.

The request path never waits on the store: capabilities read the snapshot the process API
holds. ``ReferenceCache.refresh()`` compares the store's cheap version (count and newest
change) with the snapshot's and reloads only when they differ; ``run()`` does so every
``refresh_s`` on an injected sleeper, and a flow that links something calls ``refresh()``
itself so its own process sees the link at once. Other replicas see it within ``refresh_s``.
A failed refresh keeps the last good snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from process_apis.mapping.dimensions import DimensionCatalog
from process_apis.xref import CrossReference, normalize_salesforce_id
from store import Database
from store import reference as dimension_rows
from store import xref as links
from store.xref import ImportReport, NewLink

__all__ = [
    "ReferenceCache",
    "XrefDocument",
    "export_document",
    "import_document",
    "links_of",
    "load_catalog",
    "load_cross_reference",
    "read_document",
]

log = logging.getLogger("isthmus.mapping")


class XrefDocument(msgspec.Struct, forbid_unknown_fields=True):
    """The cross-reference file (``xref_file``): the seed the store imports."""

    accounts: dict[str, dict[str, str]] = {}
    """Account id (15 or 18 characters) → {entity: ERP customer number}."""
    products: dict[str, dict[str, str]] = {}
    """Salesforce product code → {vendor: ERP item id}."""
    units: dict[str, dict[str, str]] = {}
    """Salesforce unit → {vendor: ERP unit}."""


def links_of(document: XrefDocument) -> list[NewLink]:
    out: list[NewLink] = []
    for account, per_entity in document.accounts.items():
        key = normalize_salesforce_id(account, pointer=f"/accounts/{account}")
        out += [
            NewLink(kind="account", scope=entity, salesforce_key=key, erp_key=customer)
            for entity, customer in per_entity.items()
        ]
    for sku, per_vendor in document.products.items():
        out += [
            NewLink(kind="product", scope=vendor, salesforce_key=sku, erp_key=item)
            for vendor, item in per_vendor.items()
        ]
    for unit, per_vendor in document.units.items():
        out += [
            NewLink(kind="unit", scope=vendor, salesforce_key=unit, erp_key=erp_unit)
            for vendor, erp_unit in per_vendor.items()
        ]
    return out


async def import_document(
    db: Database, document: XrefDocument, *, now: datetime, overwrite: bool = False
) -> ImportReport:
    async with db.transaction() as conn:
        return await links.import_links(conn, links_of(document), now=now, overwrite=overwrite)


def read_document(path: str | Path) -> XrefDocument:
    return msgspec.json.decode(Path(path).read_bytes(), type=XrefDocument)


def _document(rows: Iterable[links.Link]) -> XrefDocument:
    accounts: dict[str, dict[str, str]] = {}
    products: dict[str, dict[str, str]] = {}
    units: dict[str, dict[str, str]] = {}
    target = {"account": accounts, "product": products, "unit": units}
    for row in rows:
        if row.kind in target:
            target[row.kind].setdefault(row.salesforce_key, {})[row.scope] = row.erp_key
    return XrefDocument(accounts=accounts, products=products, units=units)


async def export_document(db: Database) -> dict[str, Any]:
    """The store's accounts, products and units in the seed file's shape."""
    async with db.transaction() as conn:
        rows = await links.all_links(conn, ["account", "product", "unit"])
    document: dict[str, Any] = msgspec.to_builtins(_document(rows))
    return document


async def load_cross_reference(db: Database) -> tuple[CrossReference, tuple[int, Any]]:
    async with db.transaction() as conn:
        stamp = await links.version(conn)
        rows = await links.all_links(conn, ["account", "product", "unit"])
    doc = _document(rows)
    return CrossReference(doc.accounts, doc.products, doc.units), stamp


async def load_catalog(db: Database) -> tuple[DimensionCatalog, tuple[int, Any]]:
    async with db.transaction() as conn:
        stamp = await dimension_rows.version(conn)
        rows = await dimension_rows.dimensions_for(conn)
    return DimensionCatalog.of(rows), stamp


Sleeper = Callable[[float], Awaitable[None]]


class ReferenceCache:
    """Keeps the process API's cross-reference (and the dimension catalog) current."""

    def __init__(
        self,
        db: Database,
        *,
        on_xref: Callable[[CrossReference], None],
        refresh_s: float = 30.0,
        sleep: Sleeper | None = None,
    ) -> None:
        self.db = db
        self.refresh_s = refresh_s
        self._on_xref = on_xref
        self._sleep: Sleeper = sleep or asyncio.sleep
        self._xref_stamp: tuple[int, Any] | None = None
        self._catalog_stamp: tuple[int, Any] | None = None
        self.catalog = DimensionCatalog.empty()
        self.refreshes = 0
        self.failures = 0

    async def refresh(self) -> bool:
        """Reload what changed in the store; True when anything was reloaded."""
        changed = False
        try:
            async with self.db.transaction() as conn:
                xref_stamp = await links.version(conn)
                catalog_stamp = await dimension_rows.version(conn)
            if xref_stamp != self._xref_stamp:
                xref, self._xref_stamp = await load_cross_reference(self.db)
                self._on_xref(xref)
                changed = True
            if catalog_stamp != self._catalog_stamp:
                self.catalog, self._catalog_stamp = await load_catalog(self.db)
                changed = True
        except Exception:  # keep serving the last good snapshot; say so once per failure
            self.failures += 1
            log.warning("reference data refresh failed; keeping the last snapshot", exc_info=True)
            return False
        self.refreshes += int(changed)
        return changed

    async def run(self) -> None:
        """Refresh every ``refresh_s`` until cancelled."""
        while True:
            await self._sleep(self.refresh_s)
            await self.refresh()
