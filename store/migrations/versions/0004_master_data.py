"""Master data: the cross-reference, the ERPs' dimension values, customer onboarding claims and
number sequences (see ``store/master_tables.py``).

Revision ID: 0004_master_data
Revises: 0003_sync
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store._types import JsonDoc, UtcDateTime

revision = "0004_master_data"
down_revision = "0003_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xref_links",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("salesforce_key", sa.String(120), nullable=False),
        sa.Column("erp_key", sa.String(120), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("synced", JsonDoc, nullable=True),
        sa.Column("synced_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "kind IN ('account', 'contact', 'address', 'product', 'unit')",
            name="ck_xref_links_kind",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_xref_links"),
        sa.UniqueConstraint(
            "kind", "scope", "salesforce_key", name="uq_xref_links_kind_scope_salesforce_key"
        ),
    )
    op.create_index("ix_xref_links_kind_scope_erp_key", "xref_links", ["kind", "scope", "erp_key"])
    op.create_index("ix_xref_links_updated_at", "xref_links", ["updated_at"])
    op.create_table(
        "reference_dimensions",
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("erp", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("parent", sa.String(80), nullable=True),
        sa.Column("synced_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'gone')", name="ck_reference_dimensions_status"
        ),
        sa.PrimaryKeyConstraint("entity", "kind", "code", name="pk_reference_dimensions"),
    )
    op.create_index("ix_reference_dimensions_synced_at", "reference_dimensions", ["synced_at"])
    op.create_table(
        "customer_onboarding",
        sa.Column("account_id", sa.String(18), nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("erp", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=True),
        sa.Column("lease_owner", sa.String(120), nullable=True),
        sa.Column("lease_until", UtcDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("checks_cleared", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("failure_id", sa.Integer, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "state IN ('claimed', 'created', 'held')", name="ck_customer_onboarding_state"
        ),
        sa.PrimaryKeyConstraint("account_id", "entity", name="pk_customer_onboarding"),
    )
    op.create_index(
        "ix_customer_onboarding_state_updated_at",
        "customer_onboarding",
        ["state", "updated_at"],
    )
    op.create_table(
        "number_sequences",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("next_value", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_number_sequences"),
    )


def downgrade() -> None:
    op.drop_table("number_sequences")
    op.drop_index("ix_customer_onboarding_state_updated_at", "customer_onboarding")
    op.drop_table("customer_onboarding")
    op.drop_index("ix_reference_dimensions_synced_at", "reference_dimensions")
    op.drop_table("reference_dimensions")
    op.drop_index("ix_xref_links_updated_at", "xref_links")
    op.drop_index("ix_xref_links_kind_scope_erp_key", "xref_links")
    op.drop_table("xref_links")
