"""Settings of the master data flows (``[master_data]``): reference data refresh, which
Salesforce Accounts become ERP customers and where, the checks that come first, customer
numbering, and the price lists that feed Salesforce price book entries."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["MasterDataSettings"]


class MasterDataSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reference_refresh_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 30.0
    """How often each process re-reads the cross-reference and dimension values from the store
    (only what changed is reloaded): the longest a link made elsewhere takes to be seen."""
