"""ERP items → Salesforce products, ERP list prices → price book entries and ERP prices, run as
flows of the delta sync engine.

``{erp}.items.{entity}`` (``ItemsRunner``): the items changed since the watermark (every item
on a flow's first run). Each item's product code is its cross-reference (``product`` links per
ERP; an item without one gets its own id as product code, linked by the flow). A product code
known to several ERPs takes its attributes from the first of ``master_order`` that has it.
The ``Product2`` (found by ``ERP_Product_Key__c`` or ``ProductCode``, else created) shows name,
description, status (an inactive item deactivates the product, nothing is deleted), base and
sales unit with its factor, every unit with its factor, product line and the ERP item ids.
Units are shown in Salesforce's names (the ``unit`` links), ERP names where none is linked.

``{erp}.prices.{entity}`` (``PricesRunner``): the entity's price list in its currency, whole
(the writer sends only what changed). Every entry — validity dates and quantity band — is an
``ERP_Price__c`` (upserted by ``erp:company:list|item|currency|from|band``); the entry valid
today for the smallest quantity is the product's ``PricebookEntry`` in the standard price book
for that currency. Entries the ERP no longer lists are marked inactive. Contract prices stay
live through price-check.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from process_apis.sync.model import FlowSpec, SalesforceWrite, doc_key
from process_apis.sync.writer import SalesforceWriter, soql_in
from store import sync as sync_rows
from store import xref as links
from store.xref import NewLink
from system_apis.contract import CallContext
from system_apis.master_data import ItemMaster, MasterData, PriceListEntry

if TYPE_CHECKING:
    from process_apis.sync.engine import RunSummary, SyncEngine

__all__ = ["ItemsRunner", "PricesRunner", "ProductCatalog"]


def _b(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


class ProductCatalog:
    """What both runners share: the ERPs' master data and how products are keyed."""

    def __init__(
        self,
        master_data: dict[str, MasterData],
        *,
        master_order: Sequence[str] = ("infor_m3", "sage_intacct"),
        price_lists: dict[str, str] | None = None,
    ) -> None:
        self.master_data = master_data
        self.master_order = tuple(master_order)
        self.price_lists = dict(price_lists or {})

    @staticmethod
    def sf_context(summary: RunSummary) -> CallContext:
        return CallContext(company="salesforce", deadline=time.monotonic() + 120,
                           correlation_id=f"sync-{summary.run_id}")  # fmt: skip

    async def products(
        self, engine: SyncEngine, summary: RunSummary, skus: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Existing Product2 rows by product code (matched on the key field or ProductCode)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(skus), 100):
            chunk = list(skus[start : start + 100])
            soql = (
                "SELECT Id, ProductCode, ERP_Product_Key__c, IsActive FROM Product2 WHERE "  # noqa: S608
                f"{soql_in('ERP_Product_Key__c', chunk)} OR {soql_in('ProductCode', chunk)}"
            )
            summary.api_calls += 1
            async for row in engine.crm.query(self.sf_context(summary), soql):
                sku = row.get("ERP_Product_Key__c") or row.get("ProductCode")
                if sku and (sku not in found or row.get("ERP_Product_Key__c")):
                    found[str(sku)] = row
        return found


class ItemsRunner:
    kind = "items"

    def __init__(self, catalog: ProductCatalog) -> None:
        self.catalog = catalog

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        md = self.catalog.master_data.get(spec.system)
        if md is None:
            return
        window = engine.window(summary.watermark_before)
        assert window.until is not None
        since = window.since if summary.watermark_before is not None else None
        summary.window = (since.isoformat() if since else "", window.until.isoformat())
        items = sorted(
            await md.items_changed(engine.context(spec, summary.run_id), since),
            key=lambda i: (i.modified or datetime.min.replace(tzinfo=UTC), i.item_id),
        )
        summary.read = len(items)
        writer = SalesforceWriter(engine.crm, engine.ownership,
                                  context=lambda: self.catalog.sf_context(summary))  # fmt: skip
        route = engine.router.resolve(spec.entity).route
        size = engine.policy.batch_size
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            skus, per_sku, units = await self._links(engine, spec.system, batch)
            existing = await self.catalog.products(engine, summary, sorted(set(skus.values())))
            writes = []
            for item in batch:
                sku = skus[item.item_id]
                masters = [v for v in self.catalog.master_order if v in per_sku.get(sku, {})]
                if masters and masters[0] != spec.system:
                    continue  # another ERP masters this product's attributes
                writes.append(
                    self._product(
                        item,
                        sku,
                        existing.get(sku),
                        per_sku.get(sku, {}),
                        units,
                        doc=doc_key(spec.system, route.company, item.item_id),
                        entity=spec.entity,
                        now=engine.clock.now(),
                    )
                )
            await engine.write_batch(spec, summary, writer, writes, advance_to=None)
        await engine._advance(spec, summary, window.until)

    async def _links(
        self, engine: SyncEngine, vendor: str, items: Iterable[ItemMaster]
    ) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
        """item → product code (linking new items), product code → {vendor: item}, and the
        vendor's ERP unit → Salesforce unit."""
        now = engine.clock.now()
        async with engine.db.transaction() as conn:
            current = await links.all_links(conn, ["product", "unit"])
            by_item = {x.erp_key: x.salesforce_key for x in current
                       if x.kind == "product" and x.scope == vendor}  # fmt: skip
            skus: dict[str, str] = {}
            for item in items:
                sku = by_item.get(item.item_id)
                if sku is None:
                    made, _ = await links.link(
                        conn, NewLink(kind="product", scope=vendor, salesforce_key=item.item_id,
                                      erp_key=item.item_id), origin="flow", now=now,
                    )  # fmt: skip
                    sku = made.salesforce_key
                    current = (*current, made)
                skus[item.item_id] = sku
        per_sku: dict[str, dict[str, str]] = {}
        for x in current:
            if x.kind == "product":
                per_sku.setdefault(x.salesforce_key, {})[x.scope] = x.erp_key
        units = {
            x.erp_key: x.salesforce_key for x in current if x.kind == "unit" and x.scope == vendor
        }
        return skus, per_sku, units

    @staticmethod
    def _product(
        item: ItemMaster,
        sku: str,
        existing: dict[str, Any] | None,
        erp_items: dict[str, str],
        units: dict[str, str],
        *,
        doc: str,
        entity: str,
        now: datetime,
    ) -> SalesforceWrite:
        def unit(name: str | None) -> str | None:
            return units.get(name, name) if name else None

        factors = {u.uom: u.factor for u in item.uoms}
        factors.setdefault(item.base_uom, Decimal(1))
        sales = item.sales_uom or item.base_uom
        values: dict[str, Any] = {
            "ERP_Product_Key__c": sku,
            "ProductCode": sku,
            "Name": item.name[:255],
            "Description": item.description,
            "IsActive": item.status == "active",
            "Base_UoM__c": unit(item.base_uom),
            "Sales_UoM__c": unit(sales),
            "Sales_UoM_Factor__c": _num(factors.get(sales, Decimal(1))),
            "UoM_Conversions__c": "; ".join(
                f"{unit(u)}={_num(f)}" for u, f in sorted(factors.items(), key=lambda kv: kv[1])
            )[:255],
            "Product_Line__c": item.product_line,
            "ERP_Item_Status__c": item.status,
            "ERP_Items__c": "; ".join(f"{v}:{i}" for v, i in sorted(erp_items.items()))[:255],
        }
        if unit(sales) in ("Each", "Box", "Pallet", "Case"):
            values["QuantityUnitOfMeasure"] = unit(sales)
        if existing is not None:
            return SalesforceWrite(sobject="Product2", key_field="Id", key=str(existing["Id"]),
                                   values=_b(values), erp_document=doc, entity=entity,
                                   modified=item.modified or now)  # fmt: skip
        return SalesforceWrite(sobject="Product2", key_field="ERP_Product_Key__c", key=sku,
                               values=_b(values), erp_document=doc, entity=entity,
                               modified=item.modified or now)  # fmt: skip


class PricesRunner:
    kind = "prices"

    def __init__(self, catalog: ProductCatalog, *, today: type[date] = date) -> None:
        self.catalog = catalog
        self._date = today

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        md = self.catalog.master_data.get(spec.system)
        price_list = self.catalog.price_lists.get(spec.entity)
        if md is None or price_list is None:
            return
        route = engine.router.resolve(spec.entity).route
        now = engine.clock.now()
        summary.window = ("", now.isoformat())
        entries = await md.price_list(engine.context(spec, summary.run_id), price_list,
                                      route.currency)  # fmt: skip
        summary.read = len(entries)
        async with engine.db.transaction() as conn:
            current = await links.all_links(conn, ["product", "unit"])
            previous = [r for r in await sync_rows.records_for(conn, sobject="ERP_Price__c",
                                                                entity=spec.entity)
                        if r.flow == spec.name]  # fmt: skip
        skus = {x.erp_key: x.salesforce_key for x in current
                if x.kind == "product" and x.scope == spec.system}  # fmt: skip
        units = {x.erp_key: x.salesforce_key for x in current
                 if x.kind == "unit" and x.scope == spec.system}  # fmt: skip
        priced = sorted({skus[e.item_id] for e in entries if e.item_id in skus})
        products = await self.catalog.products(engine, summary, priced)
        standard = await self._standard_pricebook(engine, summary)
        book = await self._entries(engine, summary, standard, route.currency,
                                   [str(p["Id"]) for p in products.values()])  # fmt: skip
        company = route.company
        writes: list[SalesforceWrite] = []
        keys: set[str] = set()
        today = engine.clock.now().date()
        current_price: dict[str, PriceListEntry] = {}
        for entry in entries:
            sku = skus.get(entry.item_id)
            product = products.get(sku) if sku else None
            if sku is None or product is None:
                continue  # not a Salesforce product (yet): the items flow brings it
            key = doc_key(spec.system, company, entry.key)
            keys.add(key)
            unit = units.get(entry.uom, entry.uom)
            band = f" {_num(entry.min_quantity)}+" if entry.min_quantity is not None else ""
            writes.append(SalesforceWrite(
                sobject="ERP_Price__c", key_field="ERP_Price_Key__c", key=key,
                values=_b({
                    "Name": f"{sku} {entry.currency} {entry.valid_from or ''}{band}"[:80],
                    "ERP_System__c": spec.system, "Product__c": product["Id"],
                    "Price_List__c": entry.price_list, "Currency_Code__c": entry.currency,
                    "CurrencyIsoCode": entry.currency, "Unit_Price__c": _num(entry.unit_price),
                    "Unit__c": unit, "Valid_From__c": entry.valid_from,
                    "Valid_To__c": entry.valid_to,
                    "Min_Quantity__c": _num(entry.min_quantity) if entry.min_quantity is not None else None,
                    "Max_Quantity__c": _num(entry.max_quantity) if entry.max_quantity is not None else None,
                    "Active__c": True,
                }),
                erp_document=doc_key(spec.system, company, entry.item_id), entity=spec.entity,
                modified=now,
            ))  # fmt: skip
            valid = (entry.valid_from or date.min) <= today <= (entry.valid_to or date.max)
            if valid:
                best = current_price.get(sku)
                low = entry.min_quantity or Decimal(0)
                if best is None or low < (best.min_quantity or Decimal(0)):
                    current_price[sku] = entry
        for old in previous:
            if old.key not in keys:
                writes.append(SalesforceWrite(
                    sobject="ERP_Price__c", key_field="ERP_Price_Key__c", key=old.key,
                    values={"Active__c": False}, erp_document=old.erp_document or old.key,
                    entity=spec.entity, modified=now,
                ))  # fmt: skip
        for sku, entry in sorted(current_price.items()):
            product = products[sku]
            price_key = doc_key(spec.system, company, f"{entry.price_list}|{sku}|{entry.currency}")
            values: dict[str, Any] = {
                "UnitPrice": _num(entry.unit_price),
                "IsActive": bool(product.get("IsActive", True)),
                "ERP_Price_Key__c": price_key,
            }
            existing = book.get(str(product["Id"]))
            doc = doc_key(spec.system, company, entry.item_id)
            if existing is not None:
                writes.append(SalesforceWrite(sobject="PricebookEntry", key_field="Id",
                                              key=str(existing["Id"]), values=values,
                                              erp_document=doc, entity=spec.entity, modified=now))  # fmt: skip
            elif standard is not None:
                writes.append(SalesforceWrite(
                    sobject="PricebookEntry", key_field="ERP_Price_Key__c", key=price_key,
                    values={**values, "Pricebook2Id": standard, "Product2Id": product["Id"],
                            "CurrencyIsoCode": entry.currency},
                    erp_document=doc, entity=spec.entity, modified=now,
                ))  # fmt: skip
        writer = SalesforceWriter(engine.crm, engine.ownership,
                                  context=lambda: self.catalog.sf_context(summary))  # fmt: skip
        size = engine.policy.batch_size
        for start in range(0, len(writes), size):
            await engine.write_batch(spec, summary, writer, writes[start : start + size],
                                     advance_to=None)  # fmt: skip
        await engine._advance(spec, summary, now)

    async def _standard_pricebook(self, engine: SyncEngine, summary: RunSummary) -> str | None:
        summary.api_calls += 1
        soql = "SELECT Id FROM Pricebook2 WHERE IsStandard = true"
        async for row in engine.crm.query(self.catalog.sf_context(summary), soql):
            return str(row["Id"])
        return None

    async def _entries(
        self,
        engine: SyncEngine,
        summary: RunSummary,
        pricebook: str | None,
        currency: str,
        product_ids: Sequence[str],
    ) -> dict[str, dict[str, Any]]:
        """The standard price book's entries in ``currency`` by Product2 id."""
        found: dict[str, dict[str, Any]] = {}
        if pricebook is None:
            return found
        for start in range(0, len(product_ids), 200):
            chunk = list(product_ids[start : start + 200])
            soql = (
                "SELECT Id, Product2Id, UnitPrice, IsActive FROM PricebookEntry WHERE "  # noqa: S608
                f"Pricebook2Id = '{pricebook}' AND CurrencyIsoCode = '{currency}' AND "
                f"{soql_in('Product2Id', chunk)}"
            )
            summary.api_calls += 1
            async for row in engine.crm.query(self.catalog.sf_context(summary), soql):
                found[str(row["Product2Id"])] = row
        return found
