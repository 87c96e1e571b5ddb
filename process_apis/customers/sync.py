"""Accounts ↔ ERP customers, both directions, run as flows of the delta sync engine.

``salesforce.accounts.{entity}`` (``AccountsRunner``) reads the Accounts (and Contacts) changed
in Salesforce since its watermark, plus the onboardings still open in the store:

- an Account already linked to a customer of the entity is merged with it (``reconcile``);
- an Account that reached the requested state and belongs to the entity (``CustomerRules``)
  is onboarded: claimed in the store (exactly one run creates it, however many race), checked
  (configured checks, then duplicate candidates in the ERP: same tax id, same normalised name
  and postal code, or already cross-referenced to another Account), and created in the ERP
  under a number allocated once — with its bill-to and ship-to addresses and its Contacts.
  A failed check or a suspected duplicate is held for a person: an exception-queue record
  (flow ``customer_onboarding``) and the Account's status ``On_Hold`` with the reason; no
  customer is created. A person's retry lets it through, or links it to an existing customer.

``{erp}.customers.{entity}`` (``CustomersRunner``) reads the ERP customers changed since its
watermark and merges each with the Accounts linked to it.

``reconcile`` is the same both ways: the three-way merge of ``fields.merge`` with the link's
base decides, by the ownership table, what goes to the ERP (customer fields, bill-to and
ship-to addresses, contact persons) and what goes to Salesforce (Account and Contact writes
through the engine's writer); conflicts are recorded with the sync's; the new base is kept
with the link. Contacts new on either side are created on the other and linked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from process_apis.customers.fields import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    Merge,
    account_values,
    address_from,
    contact_person,
    contact_values,
    customer_update,
    merge,
    salesforce_account_values,
    salesforce_contact_values,
)
from process_apis.customers.rules import (
    CustomerRules,
    normalize_name,
    normalize_postcode,
    normalize_tax_id,
)
from process_apis.exceptions.capture import capture, resolve
from process_apis.sync.model import FlowSpec, SalesforceWrite, doc_key
from process_apis.sync.writer import SalesforceWriter, soql_in
from process_apis.xref import normalize_salesforce_id
from store import NewFailure
from store import onboarding as claims
from store import sync as sync_rows
from store import xref as links
from store.xref import NewLink
from system_apis.contract import CallContext
from system_apis.errors import BackendError, NotFoundError
from system_apis.master_data import (
    AddressRole,
    ContactPerson,
    CustomerExistsError,
    CustomerMaster,
    MasterData,
    NewCustomer,
    PartyAddress,
    PostalAddress,
)

if TYPE_CHECKING:
    from process_apis.sync.engine import RunSummary, SyncEngine

__all__ = ["ONBOARDING_FLOW", "AccountsRunner", "CustomerSync", "CustomersRunner"]

log = logging.getLogger("isthmus.customers")
ONBOARDING_FLOW = "customer_onboarding"
"""The exception queue's flow for Accounts held before they became ERP customers."""
ACTOR = "system:customers"
_NUMBER_ATTEMPTS = 20
_CONTACT_SOQL = "Id, AccountId, FirstName, LastName, Email, Phone, Title, ERP_Contact_Id__c"


def _soql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    value = text.replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


def _b(value: Any) -> Any:
    return msgspec.to_builtins(value)


class Suspect(msgspec.Struct, frozen=True):
    customer_id: str
    name: str
    reasons: tuple[str, ...]


class CustomerSync:
    """What both runners share: the ERPs' master data, the rules, and the merge."""

    def __init__(
        self,
        master_data: Mapping[str, MasterData],
        rules: CustomerRules,
        *,
        lease_s: float = 120.0,
        on_link: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.master_data = dict(master_data)
        self.rules = rules
        self.lease_s = lease_s
        self.on_link = on_link
        """Called after links were made (the process refreshes its cross-reference)."""

    # --- Salesforce reads ---------------------------------------------------------------------

    def account_soql_fields(self) -> str:
        names = {"Id", "LastModifiedDate", "ERP_Customer_Number__c", "ERP_Customer_Status__c",
                 "CurrencyIsoCode", *ACCOUNT_FIELDS, *self.rules.fields}  # fmt: skip
        return ", ".join(sorted(names))

    @staticmethod
    def sf_context(summary: RunSummary) -> CallContext:
        return CallContext(company="salesforce", deadline=time.monotonic() + 120,
                           correlation_id=f"sync-{summary.run_id}")  # fmt: skip

    async def accounts(
        self, engine: SyncEngine, summary: RunSummary, where: str
    ) -> list[dict[str, Any]]:
        soql = f"SELECT {self.account_soql_fields()} FROM Account WHERE {where}"  # noqa: S608
        summary.api_calls += 1
        return [row async for row in engine.crm.query(self.sf_context(summary), soql)]

    async def accounts_by_id(
        self, engine: SyncEngine, summary: RunSummary, ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), 200):
            rows += await self.accounts(engine, summary, soql_in("Id", list(ids[start:start + 200])))  # fmt: skip
        return rows

    async def contacts(
        self, engine: SyncEngine, summary: RunSummary, account_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(account_ids), 200):
            chunk = list(account_ids[start : start + 200])
            soql = f"SELECT {_CONTACT_SOQL} FROM Contact WHERE {soql_in('AccountId', chunk)}"  # noqa: S608
            summary.api_calls += 1
            async for row in engine.crm.query(self.sf_context(summary), soql + " ORDER BY Id"):
                out.setdefault(normalize_salesforce_id(row["AccountId"], pointer="AccountId"),
                               []).append(row)  # fmt: skip
        return out

    # --- onboarding ---------------------------------------------------------------------------

    async def onboard(
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        row: dict[str, Any],
        contacts: list[dict[str, Any]],
    ) -> list[SalesforceWrite]:
        account_id = normalize_salesforce_id(row["Id"], pointer="Id")
        entity = spec.entity
        route = engine.router.resolve(entity).route
        md = self.master_data.get(route.erp)
        if md is None:
            return []
        now = engine.clock.now()
        async with engine.db.transaction() as conn:
            claim = await claims.claim(
                conn, account_id, entity, erp=route.erp, owner=engine.name, now=now,
                until=now + timedelta(seconds=self.lease_s),
            )  # fmt: skip
        if claim is None:
            return []  # another run holds it, or it is created / waiting for a person
        ctx = engine.context(spec, summary.run_id)
        try:
            if not claim.checks_cleared:
                failed = self.rules.failed_checks(row, entity)
                if failed:
                    return await self._hold(
                        engine,
                        spec,
                        summary,
                        row,
                        category="check",
                        reason="; ".join(failed),
                        payload={"checks": failed},
                    )
                suspects = await self._suspects(
                    engine, md, ctx, entity=entity, account_id=account_id, row=row
                )
                if suspects:
                    reason = "; ".join(
                        f"possible duplicate of {route.erp} customer {s.customer_id} "
                        f"({s.name}): {', '.join(s.reasons)}"
                        for s in suspects
                    )
                    return await self._hold(
                        engine,
                        spec,
                        summary,
                        row,
                        category="duplicate",
                        reason=reason,
                        payload={"candidates": [msgspec.to_builtins(s) for s in suspects]},
                    )
            customer_id = claim.customer_id or await self._number(engine, account_id, entity)
            for _ in range(_NUMBER_ATTEMPTS):
                new = self._new_customer(row, contacts, customer_id, route.currency)
                try:
                    customer = await md.create_customer(ctx, new)
                    break
                except CustomerExistsError:
                    customer = await md.get_customer(ctx, customer_id)
                    if normalize_name(customer.name) == normalize_name(new.name):
                        break  # our own earlier attempt created it, then stopped: adopt it
                    # Someone else took the number in the ERP: the series moves on.
                    customer_id = await self._number(
                        engine, account_id, entity, replace=customer_id
                    )
            else:
                return await self._hold(
                    engine, spec, summary, row, category="number_taken",
                    reason=f"{_NUMBER_ATTEMPTS} customer numbers in a row are taken in the ERP",
                    payload={"customer_id": customer_id},
                )  # fmt: skip
        except BackendError as exc:
            if exc.retryable:
                async with engine.db.transaction() as conn:
                    await claims.release(conn, account_id, entity, owner=engine.name)
                    await capture(conn, self._failure(row, entity, route.erp, exc), now=now,
                                  flow_retries=True, actor=ACTOR)  # fmt: skip
                summary.failed += 1
                return []
            return await self._hold(
                engine,
                spec,
                summary,
                row,
                category="rejected",
                reason=exc.message,
                payload={"vendor_code": exc.code},
            )
        async with engine.db.transaction() as conn:
            link, _ = await links.link(
                conn, NewLink(kind="account", scope=entity, salesforce_key=account_id,
                              erp_key=customer.customer_id), origin="flow", now=now,
            )  # fmt: skip
            for sf_contact, person in _pair_contacts(contacts, customer.contacts):
                if person.contact_id:
                    await links.link(
                        conn, NewLink(kind="contact", scope=entity,
                                      salesforce_key=normalize_salesforce_id(sf_contact["Id"], pointer="Id"),
                                      erp_key=person.contact_id), origin="flow", now=now,
                    )  # fmt: skip
            await claims.mark_created(conn, account_id, entity, customer_id=customer.customer_id,
                                      now=now)  # fmt: skip
            await resolve(conn, flow=ONBOARDING_FLOW, subject_type="Account",
                          subject_id=account_id, now=now, actor=ACTOR,
                          cause=f"created as {route.erp} customer {customer.customer_id}")  # fmt: skip
        log.info("account %s became %s customer %s in %s", account_id, route.erp,
                 customer.customer_id, entity)  # fmt: skip
        if self.on_link is not None:
            await self.on_link()
        writes = await self.reconcile(
            engine, spec, summary, row=row, contacts=contacts, customer=customer, link=link
        )
        status = {"ERP_Customer_Number__c": customer.customer_id,
                  "ERP_Customer_Status__c": "Created",
                  "ERP_Customer_Message__c": f"Customer {customer.customer_id} in {entity}"}  # fmt: skip
        return _with_account_values(
            writes,
            account_id=account_id,
            values=status,
            doc=self._doc(route, customer.customer_id),
            entity=entity,
            now=now,
        )

    async def _number(
        self, engine: SyncEngine, account_id: str, entity: str, *, replace: str | None = None
    ) -> str:
        """The claim's customer number: the next of the entity's series, recorded once."""
        numbering = self.rules.numbering_for(entity)
        async with engine.db.transaction() as conn:
            number = await claims.next_number(
                conn, f"customer:{entity}", start=numbering.start, now=engine.clock.now()
            )
            return await claims.choose_customer_id(
                conn, account_id, entity, numbering.format(number), owner=engine.name,
                replace=replace,
            )  # fmt: skip

    @staticmethod
    def _doc(route: Any, customer_id: str) -> str:
        return doc_key(route.erp, route.company, customer_id)

    def _new_customer(
        self, row: dict[str, Any], contacts: list[dict[str, Any]], customer_id: str, currency: str
    ) -> NewCustomer:
        values = salesforce_account_values(row)
        billing = address_from(values, "bill_to")
        shipping = address_from(values, "ship_to")
        addresses = []
        if billing is not None:
            addresses.append(PartyAddress(role="bill_to", name=values["Name"], address=billing))
        if shipping is not None:
            addresses.append(PartyAddress(role="ship_to", name=values["Name"], address=shipping))
        return NewCustomer(
            customer_id=customer_id,
            name=values["Name"] or customer_id,
            currency=row.get("CurrencyIsoCode") or currency,
            tax_id=values["Tax_Id__c"],
            terms=values["Payment_Terms__c"],
            price_list=values["Price_List__c"],
            phone=values["Phone"],
            address=billing or shipping or PostalAddress(),
            addresses=tuple(addresses),
            contacts=tuple(
                contact_person(salesforce_contact_values(c)) for c in contacts if c.get("LastName")
            ),
            external_ref=normalize_salesforce_id(row["Id"], pointer="Id"),
        )

    async def _suspects(
        self,
        engine: SyncEngine,
        md: MasterData,
        ctx: CallContext,
        *,
        entity: str,
        account_id: str,
        row: dict[str, Any],
    ) -> list[Suspect]:
        checks = set(self.rules.duplicate_checks)
        tax_id = normalize_tax_id(row.get("Tax_Id__c"))
        postcode = (row.get("BillingPostalCode") or "").strip() or None
        name = normalize_name(row.get("Name"))
        candidates = list(
            await md.find_customers(
                ctx,
                tax_id=tax_id if tax_id and "tax_id" in checks else None,
                postal_code=postcode
                if "name_postcode" in checks or "cross_reference" in checks
                else None,
            )
        )
        suspects: list[Suspect] = []
        for c in candidates:
            reasons = []
            if "tax_id" in checks and tax_id and normalize_tax_id(c.tax_id) == tax_id:
                reasons.append("same tax id")
            same_name = name and normalize_name(c.name) == name
            same_code = postcode and normalize_postcode(c.address.postal_code) == normalize_postcode(postcode)  # fmt: skip
            if "name_postcode" in checks and same_name and same_code:
                reasons.append("same name and postal code")
            if reasons and "cross_reference" in checks:
                async with engine.db.transaction() as conn:
                    linked = await links.by_erp_key(conn, "account", entity, c.customer_id)
                others = [x.salesforce_key for x in linked if x.salesforce_key != account_id]
                if others:
                    reasons.append(f"already cross-referenced to Account {', '.join(others)}")
            if reasons:
                suspects.append(Suspect(c.customer_id, c.name, tuple(reasons)))
        return suspects

    def _failure(
        self, row: dict[str, Any], entity: str, erp: str, exc: BackendError | None = None,
        *, category: str | None = None, message: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> NewFailure:  # fmt: skip
        account_id = normalize_salesforce_id(row["Id"], pointer="Id")
        if exc is not None:
            category = {"timeout": "timeout", "rate_limited": "rate_limit"}.get(
                exc.kind, "connection"
            )
        return NewFailure(
            flow=ONBOARDING_FLOW, subject_type="Account", subject_id=account_id, entity=entity,
            system=erp, category=category or "validation",
            retryable=bool(exc is not None and exc.retryable),
            vendor_code=exc.code if exc else None,
            vendor_message=(exc.message if exc else message or "")[:4000],
            payload={"entity": entity, "account": {k: v for k, v in row.items()
                                                   if k != "attributes"}, **(payload or {})},
            salesforce_id=account_id, attempts=1,
        )  # fmt: skip

    async def _hold(
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        row: dict[str, Any],
        *,
        category: str,
        reason: str,
        payload: dict[str, Any],
    ) -> list[SalesforceWrite]:
        account_id = normalize_salesforce_id(row["Id"], pointer="Id")
        route = engine.router.resolve(spec.entity).route
        now = engine.clock.now()
        failure = self._failure(row, spec.entity, route.erp, category=category, message=reason,
                                payload=payload)  # fmt: skip
        async with engine.db.transaction() as conn:
            captured = await capture(conn, failure, now=now, actor=ACTOR)
            await claims.hold(conn, account_id, spec.entity, reason=reason[:2000],
                              failure_id=captured.record.id, now=now)  # fmt: skip
        summary.failed += 1
        log.info("account %s held for review in %s: %s", account_id, spec.entity, reason)
        return [
            SalesforceWrite(
                sobject="Account",
                key_field="Id",
                key=account_id,
                values={
                    "ERP_Customer_Status__c": "On_Hold",
                    "ERP_Customer_Message__c": reason[:255],
                },
                erp_document=f"{route.erp}:{route.company}:onboarding:{account_id}",
                entity=spec.entity,
                modified=now,
            )
        ]

    # --- both directions ----------------------------------------------------------------------

    async def reconcile(
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        *,
        row: dict[str, Any],
        contacts: list[dict[str, Any]],
        customer: CustomerMaster,
        link: links.Link,
    ) -> list[SalesforceWrite]:
        """Merge one Account (and its Contacts) with its ERP customer; write the ERP side now,
        return the Salesforce writes."""
        entity = spec.entity
        route = engine.router.resolve(entity).route
        md = self.master_data[route.erp]
        ctx = engine.context(spec, summary.run_id)
        account_id = link.salesforce_key
        now = engine.clock.now()
        doc = self._doc(route, customer.customer_id)
        sf_values = salesforce_account_values(row)
        account = merge(
            engine.ownership,
            "Account",
            salesforce=sf_values,
            erp=account_values(customer),
            base=link.synced,
            fields=ACCOUNT_FIELDS,
        )
        await self._write_customer(md, ctx, customer, account, sf_values)
        writes: list[SalesforceWrite] = []
        account_writes = dict(account.to_salesforce)
        if (
            "ERP_Customer_Number__c" not in row
            or row.get("ERP_Customer_Number__c") != customer.customer_id
        ):
            account_writes["ERP_Customer_Number__c"] = customer.customer_id
        if account_writes:
            writes.append(SalesforceWrite(sobject="Account", key_field="Id", key=account_id,
                                          values=_b(account_writes), erp_document=doc,
                                          entity=entity, modified=now, current=True))  # fmt: skip
        conflicts = [("Account", account_id, account)]
        agreed_contacts: list[tuple[int, dict[str, Any]]] = []
        async with engine.db.transaction() as conn:
            contact_links = {
                x.salesforce_key: x
                for x in await links.all_links(conn, ["contact"])
                if x.scope == entity
            }
        erp_contacts = {c.contact_id: c for c in customer.contacts if c.contact_id}
        seen_erp: set[str] = set()
        new_links: list[NewLink] = []
        for sf_contact in contacts:
            contact_id = normalize_salesforce_id(sf_contact["Id"], pointer="Id")
            values = salesforce_contact_values(sf_contact)
            clink = contact_links.get(contact_id)
            person = erp_contacts.get(clink.erp_key) if clink else None
            if clink is None or person is None:
                if not values.get("LastName"):
                    continue
                saved = await md.save_contact(ctx, customer.customer_id, contact_person(values))
                assert saved.contact_id is not None
                seen_erp.add(saved.contact_id)
                new_links.append(NewLink(kind="contact", scope=entity, salesforce_key=contact_id,
                                         erp_key=saved.contact_id))  # fmt: skip
                writes.append(
                    self._contact_id_write(route, entity, contact_id, saved.contact_id, now)
                )
                continue
            seen_erp.add(person.contact_id or "")
            result = merge(
                engine.ownership,
                "Contact",
                salesforce=values,
                erp=contact_values(person),
                base=clink.synced,
                fields=CONTACT_FIELDS,
            )
            if result.to_erp:
                await md.save_contact(ctx, customer.customer_id,
                                      contact_person({**contact_values(person), **result.to_erp},
                                                     person.contact_id))  # fmt: skip
            sf_writes = dict(result.to_salesforce)
            if sf_contact.get("ERP_Contact_Id__c") != doc_key(
                route.erp, route.company, clink.erp_key
            ):
                sf_writes["ERP_Contact_Id__c"] = doc_key(route.erp, route.company, clink.erp_key)
            if sf_writes:
                writes.append(SalesforceWrite(sobject="Contact", key_field="Id", key=contact_id,
                                              values=_b(sf_writes), erp_document=doc,
                                              entity=entity, modified=now, current=True))  # fmt: skip
            conflicts.append(("Contact", contact_id, result))
            agreed_contacts.append((clink.id, result.agreed))
        # Contact persons the ERP has and Salesforce does not: new Contacts on the Account.
        for person in customer.contacts:
            if not person.contact_id or person.contact_id in seen_erp:
                continue
            if any(x.erp_key == person.contact_id for x in contact_links.values()):
                continue
            key = doc_key(route.erp, route.company, person.contact_id)
            writes.append(SalesforceWrite(
                sobject="Contact", key_field="ERP_Contact_Id__c", key=key,
                values=_b({**{k: v for k, v in contact_values(person).items() if v is not None},
                           "AccountId": account_id}),
                erp_document=doc, entity=entity, modified=now,
            ))  # fmt: skip
        async with engine.db.transaction() as conn:
            await links.record_synced(conn, link.id, _b(account.agreed), now=now)
            for link_id, agreed in agreed_contacts:
                await links.record_synced(conn, link_id, _b(agreed), now=now)
            for new in new_links:
                await links.link(conn, new, origin="flow", now=now)
            recorded = [
                sync_rows.NewConflict(
                    flow=spec.name,
                    sobject=sobject,
                    key=key,
                    salesforce_id=key,
                    field=c.field,
                    master=c.master,
                    outcome=c.outcome,
                    salesforce_value=_b(c.salesforce_value),
                    erp_value=_b(c.erp_value),
                )
                for sobject, key, result in conflicts
                for c in result.conflicts
            ]
            await sync_rows.add_conflicts(conn, recorded, run_id=summary.run_id, now=now)
            summary.conflicts += len(recorded)
        return writes

    async def _write_customer(
        self,
        md: MasterData,
        ctx: CallContext,
        customer: CustomerMaster,
        result: Merge,
        sf_values: Mapping[str, Any],
    ) -> None:
        changes = result.to_erp
        if not changes:
            return
        update = customer_update(changes)
        if any(v is not None for v in msgspec.structs.astuple(update)):
            await md.update_customer(ctx, customer.customer_id, update)
        roles: tuple[tuple[AddressRole, str], ...] = (
            ("bill_to", "Billing"),
            ("ship_to", "Shipping"),
        )
        for role, prefix in roles:
            if not any(name.startswith(prefix) for name in changes):
                continue
            merged = {**account_values(customer), **{k: v for k, v in sf_values.items()
                                                      if k in changes}}  # fmt: skip
            address = address_from(merged, role)
            if address is None:
                continue
            existing = customer.address_for(role)
            await md.save_address(
                ctx, customer.customer_id,
                PartyAddress(role=role, address_id=existing.address_id if existing else None,
                             name=(existing.name if existing else None) or customer.name,
                             address=address),
            )  # fmt: skip

    @staticmethod
    def _contact_id_write(
        route: Any, entity: str, contact_id: str, erp_contact: str, now: datetime
    ) -> SalesforceWrite:
        key = doc_key(route.erp, route.company, erp_contact)
        return SalesforceWrite(sobject="Contact", key_field="Id", key=contact_id,
                               values={"ERP_Contact_Id__c": key}, erp_document=key,
                               entity=entity, modified=now)  # fmt: skip

    async def link_new_contacts(
        self, engine: SyncEngine, spec: FlowSpec, writes: Sequence[SalesforceWrite]
    ) -> None:
        """Contacts created in Salesforce from ERP contact persons: link them once written."""
        created = [
            w for w in writes if w.sobject == "Contact" and w.key_field == "ERP_Contact_Id__c"
        ]
        if not created:
            return
        now = engine.clock.now()
        async with engine.db.transaction() as conn:
            found = await sync_rows.records_by_key(conn, "Contact", [w.key for w in created])
            for w in created:
                record = found.get(w.key)
                if record is None or not record.salesforce_id:
                    continue
                erp_contact = w.key.split(":", 2)[2]
                await links.link(
                    conn, NewLink(kind="contact", scope=w.entity,
                                  salesforce_key=normalize_salesforce_id(record.salesforce_id, pointer="Id"),
                                  erp_key=erp_contact), origin="flow", now=now,
                )  # fmt: skip


def _pair_contacts(
    contacts: list[dict[str, Any]], persons: Sequence[ContactPerson]
) -> list[tuple[dict[str, Any], ContactPerson]]:
    """Salesforce Contacts and the ERP contact persons created from them (same names/e-mail)."""

    def key(first: Any, last: Any, email: Any) -> tuple[str, str, str]:
        return (normalize_name(first), normalize_name(last), (email or "").casefold())

    remaining = list(persons)
    pairs = []
    for c in contacts:
        wanted = key(c.get("FirstName"), c.get("LastName"), c.get("Email"))
        match = next((p for p in remaining
                      if key(p.first_name, p.last_name, p.email) == wanted), None)  # fmt: skip
        if match is not None:
            remaining.remove(match)
            pairs.append((c, match))
    return pairs


def _with_account_values(
    writes: list[SalesforceWrite],
    *,
    account_id: str,
    values: dict[str, Any],
    doc: str,
    entity: str,
    now: datetime,
) -> list[SalesforceWrite]:
    """``writes`` with ``values`` added to the Account's own write (one write per record)."""
    out = []
    merged = False
    for write in writes:
        if write.sobject == "Account" and write.key == account_id:
            out.append(msgspec.structs.replace(write, values={**write.values, **values}))
            merged = True
        else:
            out.append(write)
    if not merged:
        out.insert(0, SalesforceWrite(sobject="Account", key_field="Id", key=account_id,
                                      values=values, erp_document=doc, entity=entity,
                                      modified=now))  # fmt: skip
    return out


class AccountsRunner:
    """``salesforce.accounts.{entity}``: Salesforce-side changes and new customers."""

    kind = "accounts"

    def __init__(self, sync: CustomerSync) -> None:
        self.sync = sync

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        sync = self.sync
        window = engine.window(summary.watermark_before)
        assert window.until is not None
        summary.window = (window.since.isoformat(), window.until.isoformat())
        span = (f"LastModifiedDate >= {_soql_time(window.since)} "
                f"AND LastModifiedDate < {_soql_time(window.until)}")  # fmt: skip
        changed = await sync.accounts(engine, summary, span)
        by_id = {normalize_salesforce_id(r["Id"], pointer="Id"): r for r in changed}
        # Contacts changed on their own bring their Account along.
        summary.api_calls += 1
        contact_soql = f"SELECT AccountId FROM Contact WHERE {span} AND AccountId != null"  # noqa: S608
        extra = {normalize_salesforce_id(r["AccountId"], pointer="AccountId")
                 async for r in engine.crm.query(sync.sf_context(summary), contact_soql)}  # fmt: skip
        async with engine.db.transaction() as conn:
            open_claims = [c.account_id for c in await claims.list_onboarding(conn, state="claimed",
                                                                               limit=1000)
                           if c.entity == spec.entity]  # fmt: skip
            fresh = [x.salesforce_key for x in await links.unsynced(conn, "account", spec.entity)]
        missing = sorted((extra | set(open_claims) | set(fresh)) - set(by_id))
        for row in await sync.accounts_by_id(engine, summary, missing):
            by_id[normalize_salesforce_id(row["Id"], pointer="Id")] = row
        summary.read = len(by_id)
        rows_in_order = sorted(
            by_id.values(), key=lambda r: (r.get("LastModifiedDate") or "", r["Id"])
        )
        writer = SalesforceWriter(engine.crm, engine.ownership,
                                  context=lambda: sync.sf_context(summary))  # fmt: skip
        size = engine.policy.batch_size
        for start in range(0, len(rows_in_order), size):
            batch = rows_in_order[start : start + size]
            contacts = await sync.contacts(engine, summary, [r["Id"] for r in batch])
            writes: list[SalesforceWrite] = []
            for row in batch:
                account_id = normalize_salesforce_id(row["Id"], pointer="Id")
                writes += await self._one(
                    engine, spec, summary, row, contacts.get(account_id, []),
                    reopened=account_id in open_claims,
                )  # fmt: skip
            stamps = [
                _parse_time(r["LastModifiedDate"]) for r in batch if r.get("LastModifiedDate")
            ]
            last = min(max(stamps), window.until) if stamps else None
            await engine.write_batch(spec, summary, writer, writes, advance_to=last)
            await sync.link_new_contacts(engine, spec, writes)
        await engine._advance(spec, summary, window.until)

    async def _one(
        self,
        engine: SyncEngine,
        spec: FlowSpec,
        summary: RunSummary,
        row: dict[str, Any],
        contacts: list[dict[str, Any]],
        *,
        reopened: bool = False,
    ) -> list[SalesforceWrite]:
        sync = self.sync
        account_id = normalize_salesforce_id(row["Id"], pointer="Id")
        async with engine.db.transaction() as conn:
            link = await links.by_salesforce_key(conn, "account", spec.entity, account_id)
        if link is None:
            wanted = sync.rules.requested(row) and sync.rules.entity_for(row) == spec.entity
            if reopened or wanted:
                return await sync.onboard(engine, spec, summary, row, contacts)
            return []
        route = engine.router.resolve(spec.entity).route
        md = sync.master_data.get(route.erp)
        if md is None:
            return []
        try:
            customer = await md.get_customer(engine.context(spec, summary.run_id), link.erp_key)
        except NotFoundError:
            log.warning("account %s links to %s customer %s, which the ERP does not know",
                        account_id, route.erp, link.erp_key)  # fmt: skip
            return []
        return await sync.reconcile(
            engine, spec, summary, row=row, contacts=contacts, customer=customer, link=link
        )


class CustomersRunner:
    """``{erp}.customers.{entity}``: ERP-side changes to customers, their addresses and
    contacts, merged into the linked Accounts."""

    kind = "customers"

    def __init__(self, sync: CustomerSync) -> None:
        self.sync = sync

    async def run(self, engine: SyncEngine, spec: FlowSpec, summary: RunSummary) -> None:
        sync = self.sync
        md = sync.master_data.get(spec.system)
        if md is None:
            return
        window = engine.window(summary.watermark_before)
        assert window.until is not None
        summary.window = (window.since.isoformat(), window.until.isoformat())
        changed = await md.customers_changed(engine.context(spec, summary.run_id), window.since)
        summary.read = len(changed)
        pairs: list[tuple[CustomerMaster, links.Link]] = []
        async with engine.db.transaction() as conn:
            for customer in changed:
                for link in await links.by_erp_key(
                    conn, "account", spec.entity, customer.customer_id
                ):
                    pairs.append((customer, link))
        writer = SalesforceWriter(engine.crm, engine.ownership,
                                  context=lambda: sync.sf_context(summary))  # fmt: skip
        size = engine.policy.batch_size
        for start in range(0, len(pairs), size):
            batch = pairs[start : start + size]
            ids = [link.salesforce_key for _, link in batch]
            rows = {normalize_salesforce_id(r["Id"], pointer="Id"): r
                    for r in await sync.accounts_by_id(engine, summary, ids)}  # fmt: skip
            contacts = await sync.contacts(engine, summary, ids)
            writes: list[SalesforceWrite] = []
            for customer, link in batch:
                row = rows.get(link.salesforce_key)
                if row is None:
                    continue  # the Account is gone from Salesforce
                writes += await sync.reconcile(
                    engine, spec, summary, row=row,
                    contacts=contacts.get(link.salesforce_key, []), customer=customer, link=link,
                )  # fmt: skip
            await engine.write_batch(spec, summary, writer, writes, advance_to=None)
            await sync.link_new_contacts(engine, spec, writes)
        await engine._advance(spec, summary, window.until)
