"""The sandbox's cross-reference: Salesforce ids ↔ the emulators' seed ids.

``python -m sandbox.xref`` rewrites ``sandbox/data/xref.json``; a test keeps the committed file
equal to this and checks that every id it names exists in the emulators' seed data.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

__all__ = ["ACCOUNTS", "build_xref", "salesforce_account_id"]

XREF_PATH = Path(__file__).parent / "data" / "xref.json"
ACCOUNTS = 22
PRODUCTS = 160
_SUFFIX = string.ascii_uppercase + "012345"


def salesforce_account_id(n: int) -> str:
    """The 18-character id of sandbox Account ``n`` (Salesforce's case-safe checksum suffix)."""
    id15 = f"001Sbx0000{n:05d}"
    suffix = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        suffix += _SUFFIX[sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())]
    return id15 + suffix


def build_xref() -> dict[str, object]:
    # Account n is customer n in each entity that has one (the M3 seed has 20 in CA01).
    per_entity = {
        "US01": (22, "US{n:04d}"),
        "CA01": (20, "CA{n:04d}"),
        "DE01": (22, "CUST-DE-{n:03d}"),
        "UK01": (22, "CUST-UK-{n:03d}"),
    }
    accounts = {
        salesforce_account_id(n): {
            entity: pattern.format(n=n)
            for entity, (count, pattern) in per_entity.items()
            if n <= count
        }
        for n in range(1, ACCOUNTS + 1)
    }
    products = {
        f"SKU-{n:04d}": {"sage_intacct": f"ITM-{n:04d}", "infor_m3": f"A{1000 + n}"}
        for n in range(1, PRODUCTS + 1)
    }
    units = {
        "Each": {"sage_intacct": "EA", "infor_m3": "EA"},
        "Box": {"sage_intacct": "BOX", "infor_m3": "BOX"},
        "Pallet": {"sage_intacct": "PAL", "infor_m3": "PAL"},
        "Case": {"sage_intacct": "CASE", "infor_m3": "CS"},
    }
    return {"accounts": accounts, "products": products, "units": units}


def render() -> str:
    return json.dumps(build_xref(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    XREF_PATH.parent.mkdir(parents=True, exist_ok=True)
    XREF_PATH.write_text(render(), encoding="utf-8")
