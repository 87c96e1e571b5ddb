"""Master data's tables (migration ``0004_master_data``), on the same metadata as the rest.

- ``xref_links`` — the cross-reference: one row per link between a Salesforce key and an ERP
  key, per kind (``account``, ``contact``, ``address``, ``product``, ``unit``) and scope (the
  legal entity for customer-side kinds, the ERP vendor for products and units). ``synced``
  keeps the field values both sides last agreed on (the base of the three-way comparison that
  applies field ownership); ``origin`` says who made the link (``seed`` import, a ``flow``, a
  ``person``).
- ``reference_dimensions`` — the ERPs' dimension values (department, location, class,
  project and the M3 accounting dimensions mapped to them) per entity, with their status, as
  last read from the ERP: order lines are checked against them before they reach the ERP.
- ``customer_onboarding`` — one row per (Salesforce Account, entity) on its way to becoming an
  ERP customer: the claim that makes creation happen once however many runs race, the ERP
  customer number chosen for it, and how it ended (created, or held for a person).
- ``number_sequences`` — the next number of each series Isthmus allocates (new ERP customer
  numbers per entity): one UPDATE … RETURNING hands out each number once.
"""

from __future__ import annotations

import sqlalchemy as sa

from store._types import JsonDoc, UtcDateTime
from store.tables import metadata

__all__ = ["customer_onboarding", "number_sequences", "reference_dimensions", "xref_links"]

XREF_KINDS = ("account", "contact", "address", "product", "unit")
ONBOARDING_STATES = ("claimed", "created", "held")

xref_links = sa.Table(
    "xref_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("scope", sa.String(40), nullable=False),
    # The entity (accounts, contacts, addresses) or the ERP vendor (products, units).
    sa.Column("salesforce_key", sa.String(120), nullable=False),
    # An 18-character record id, a product code, a Salesforce unit, or ``{account}:{role}``.
    sa.Column("erp_key", sa.String(120), nullable=False),
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("synced", JsonDoc),
    # Field → value both sides last agreed on (canonical names); None until a flow syncs it.
    sa.Column("synced_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("kind", "scope", "salesforce_key"),
    sa.CheckConstraint(sa.column("kind").in_(XREF_KINDS), name="kind"),
)
sa.Index(None, xref_links.c.kind, xref_links.c.scope, xref_links.c.erp_key)
sa.Index(None, xref_links.c.updated_at)

reference_dimensions = sa.Table(
    "reference_dimensions",
    metadata,
    sa.Column("entity", sa.String(20), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    # ``department``, ``location``, ``class``, ``project``.
    sa.Column("code", sa.String(80), primary_key=True),
    sa.Column("erp", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    # ``active``, ``inactive``, or ``gone`` (no longer listed by the ERP).
    sa.Column("parent", sa.String(80)),
    sa.Column("synced_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(sa.column("status").in_(("active", "inactive", "gone")), name="status"),
)
sa.Index(None, reference_dimensions.c.synced_at)

customer_onboarding = sa.Table(
    "customer_onboarding",
    metadata,
    sa.Column("account_id", sa.String(18), primary_key=True),
    sa.Column("entity", sa.String(20), primary_key=True),
    sa.Column("erp", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("customer_id", sa.String(40)),
    # The ERP customer number: chosen before the first create, so a repeat finds it.
    sa.Column("lease_owner", sa.String(120)),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text),
    sa.Column("checks_cleared", sa.Boolean, nullable=False, server_default=sa.false()),
    # A person looked at the suspected duplicate / failed check and let the account through.
    sa.Column("failure_id", sa.Integer),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(sa.column("state").in_(ONBOARDING_STATES), name="state"),
)
sa.Index(None, customer_onboarding.c.state, customer_onboarding.c.updated_at)

number_sequences = sa.Table(
    "number_sequences",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("next_value", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
