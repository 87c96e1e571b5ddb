"""What an ERP's contract-test environment provides (one per adapter + emulator pair).

The contract suite in ``tests/contract/test_erp_contract.py`` runs unchanged against every
``ContractEnv``; each vendor's env factory fills in which of its seed ids play which role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from system_apis.contract import CallContext, ErpBackend


@dataclass(frozen=True)
class ContractEnv:
    backend: ErpBackend
    ctx: CallContext
    emulator: Any
    """The emulator object (for ``received`` records and fault switches)."""
    currency: str
    active_customer: str
    on_hold_customer: str
    inactive_customer: str
    active_item: str
    """Stocked, active, with at least one alternate UoM whose factor is ``alt_uom_factor``."""
    alt_uom: str
    alt_uom_factor: Decimal
    inactive_item: str
    warehouse_ids: tuple[str, ...]
    """Warehouses that hold ``active_item``."""
    item_with_future_receipts: str
    """An item whose availability in some warehouse includes future receipts."""
    quantity_break_item: str
    """An item whose net unit price for ``active_customer`` is lower at ``break_quantity``."""
    break_quantity: Decimal
    unknown_customer: str = "NOSUCHCUST"
    unknown_item: str = "NOSUCHITEM"
    extra: dict[str, Any] = field(default_factory=dict)
