"""README.md documents the field ownership table exactly as the shipped TOML holds it."""

from __future__ import annotations

import re
from pathlib import Path

from process_apis.sync import OwnershipTable

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_synchronized_field_with_its_master_and_rule() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Field ownership", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for line in section.splitlines():
        match = re.fullmatch(r"\| `(\w+)` \| (.+) \| (\w+) \| (\w+) \|", line.strip())
        if match:
            obj, fields, master, conflict = match.groups()
            documented |= {(obj, f, master, conflict) for f in re.findall(r"`(\w+)`", fields)}
    shipped = {
        (obj, name, rule.master, rule.conflict)
        for obj, fields in OwnershipTable.from_file().objects().items()
        for name, rule in fields.items()
    }
    assert documented == shipped
