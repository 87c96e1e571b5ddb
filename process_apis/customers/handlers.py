"""The exception queue's handler for Accounts held before they became ERP customers
(flow ``customer_onboarding``).

- Retry: a person looked and found no duplicate (or fixed the data): the account is let
  through; the next ``salesforce.accounts`` run creates it without the checks.
- Replay with ``{"link_to": "<customer number>"}``: the account is the same party as an
  existing ERP customer: it is linked to it (no customer is created) and the next run merges
  the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.customers.sync import ONBOARDING_FLOW
from process_apis.exceptions.errors import ActionRefusedError, InvalidPayloadError
from process_apis.exceptions.flows import TimelineItem
from store import FailureRecord
from store import onboarding as claims
from store import xref as links
from store.audit import audit_trail
from store.xref import NewLink

__all__ = ["OnboardingFlow"]


class OnboardingFlow:
    flow = ONBOARDING_FLOW

    def check_payload(self, record: FailureRecord, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict) or set(payload) != {"link_to"}:
            raise InvalidPayloadError(
                'Replay takes {"link_to": "<ERP customer number>"}: the existing customer '
                "this Account is the same party as.",
                pointer="/link_to",
            )
        target = payload["link_to"]
        if not isinstance(target, str) or not target.strip() or len(target) > 40:
            raise InvalidPayloadError("link_to must be a customer number.", pointer="/link_to")
        return {"link_to": target.strip()}

    async def reschedule(
        self,
        conn: AsyncConnection,
        record: FailureRecord,
        *,
        payload: dict[str, Any] | None,
        now: datetime,
        actor: str,
    ) -> str:
        entity = record.entity or str((record.payload or {}).get("entity", ""))
        account_id = record.subject_id
        held = await claims.get(conn, account_id, entity)
        if held is not None and held.state == "claimed" and payload is None:
            return (
                f"Account {account_id} is retried by the next run of salesforce.accounts.{entity}"
            )
        if held is None or held.state != "held":
            raise ActionRefusedError(
                f"Account {account_id} is not waiting for review in {entity} (it is "
                f"{held.state if held else 'unknown'})."
            )
        if payload is not None:
            customer = payload["link_to"]
            await links.link(
                conn, NewLink(kind="account", scope=entity, salesforce_key=account_id,
                              erp_key=customer), origin="person", now=now,
            )  # fmt: skip
            await claims.mark_created(conn, account_id, entity, customer_id=customer, now=now)
            return f"Account {account_id} linked to customer {customer} in {entity} by {actor}"
        await claims.reopen(conn, account_id, entity, now=now, clear_checks=True)
        return f"Account {account_id} let through by {actor}: created on the next run"

    async def timeline(self, conn: AsyncConnection, record: FailureRecord) -> list[TimelineItem]:
        entries = await audit_trail(conn, "exception", str(record.id))
        return [TimelineItem(at=e.at, status=e.action, text=str(e.detail or "")) for e in entries]
