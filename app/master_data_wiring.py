"""Building the master data flows from settings and adding them to the sync engine: the
ERPs' master data over the raw adapters, customers both ways, items and prices into
Salesforce, and dimension values into the store. Part of the composition root."""

from __future__ import annotations

import logging
from typing import Any

from app.master_data_settings import MasterDataSettings
from app.services import Services
from process_apis.customers import (
    AccountCheck,
    AccountsRunner,
    CustomerRules,
    CustomersRunner,
    CustomerSync,
    EntityRule,
    Numbering,
)
from process_apis.customers.handlers import OnboardingFlow
from process_apis.exceptions import FlowHandler
from process_apis.mapping.dimension_sync import DimensionsRunner
from process_apis.products import ItemsRunner, PricesRunner, ProductCatalog
from process_apis.sync import FlowSpec
from system_apis.contract import ErpBackend, Vendor
from system_apis.master_data import MasterData

__all__ = ["attach_master_data", "build_master_data", "customer_rules", "master_data_handlers"]

log = logging.getLogger("isthmus.master_data")


def build_master_data(
    adapters: dict[Vendor, ErpBackend], settings: MasterDataSettings
) -> dict[str, MasterData]:
    """``MasterData`` per ERP, over the raw adapter (its client, sessions and tokens)."""
    out: dict[str, MasterData] = {}
    intacct = adapters.get("sage_intacct")
    if intacct is not None:
        from system_apis.sage_intacct import IntacctAdapter
        from system_apis.sage_intacct.master_data import IntacctMasterData

        if isinstance(intacct, IntacctAdapter):
            out["sage_intacct"] = IntacctMasterData(intacct)
    infor = adapters.get("infor_m3")
    if infor is not None:
        from system_apis.infor_m3 import M3Adapter
        from system_apis.infor_m3.master_data import M3MasterData

        if isinstance(infor, M3Adapter):
            out["infor_m3"] = M3MasterData(
                infor,
                templates=settings.customers.m3_templates or None,
                dimensions=settings.m3_dimensions or None,
            )
    return out


def customer_rules(settings: MasterDataSettings) -> CustomerRules:
    c = settings.customers
    return CustomerRules(
        status_field=c.status_field,
        request_values=tuple(c.request_values),
        record_types=tuple(c.record_types),
        entity_field=c.entity_field,
        entity_rules=tuple(
            EntityRule(field=r.field, values=dict(r.values)) for r in c.entity_rules
        ),
        entity_by_country=dict(c.entity_by_country),
        default_entity=c.default_entity,
        checks=tuple(
            AccountCheck(
                field=k.field,
                rule=k.rule,
                value=k.value,
                pattern=k.pattern,
                countries=tuple(k.countries),
                entities=tuple(k.entities),
                message=k.message,
            )
            for k in c.checks
        ),
        duplicate_checks=tuple(c.duplicate_checks),
        numbering={
            entity: Numbering(prefix=n.prefix, width=n.width, start=n.start)
            for entity, n in c.numbering.items()
        },
    )


def master_data_handlers() -> dict[str, FlowHandler]:
    """The exception queue's handlers for master data records."""
    handler = OnboardingFlow()
    return {handler.flow: handler}


def attach_master_data(services: Services, adapters: dict[Vendor, ErpBackend]) -> None:
    """Add the master data flows to ``services.sync`` (when the sync is there)."""
    settings = services.settings
    md_settings = settings.master_data
    master_data = build_master_data(adapters, md_settings)
    services.master_data = master_data
    engine = services.sync
    if engine is None:
        return
    reference = services.reference

    async def refresh() -> Any:
        if reference is not None:
            await reference.refresh()

    customers = CustomerSync(
        master_data, customer_rules(md_settings), lease_s=md_settings.customers.lease_s,
        on_link=refresh,
    )  # fmt: skip
    catalog = ProductCatalog(
        master_data,
        master_order=md_settings.products.master_order,
        price_lists=dict(md_settings.products.price_lists),
    )
    runners: dict[str, Any] = {
        "accounts": AccountsRunner(customers),
        "customers": CustomersRunner(customers),
        "items": ItemsRunner(catalog),
        "prices": PricesRunner(catalog),
        "dimensions": DimensionsRunner(master_data, on_change=refresh),
    }
    entities = settings.sync.entities or sorted(settings.entities)
    for entity in entities:
        route = settings.entities.get(entity)
        if route is None or route.erp not in master_data:
            continue
        specs: list[FlowSpec] = []
        if md_settings.customers.enabled:
            specs += [FlowSpec("salesforce", "accounts", entity),
                      FlowSpec(route.erp, "customers", entity)]  # fmt: skip
        if md_settings.dimensions:
            specs.append(FlowSpec(route.erp, "dimensions", entity))
        if md_settings.products.enabled and entity in md_settings.products.item_entities:
            specs.append(FlowSpec(route.erp, "items", entity))
        if md_settings.products.enabled and entity in md_settings.products.price_lists:
            specs.append(FlowSpec(route.erp, "prices", entity))
        for spec in specs:
            engine.add_flow(spec, runners[spec.kind])
    log.info("master data flows: %s", ", ".join(f.name for f in engine.flows
                                                  if f.kind in runners) or "none")  # fmt: skip
