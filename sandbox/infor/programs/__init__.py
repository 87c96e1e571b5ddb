"""M3 MI program definitions: one data file per program, the single source of the emulator's
input validation, output layout (order, padding) and the MI metadata it serves (``MRS001MI``
and ``;metadata=true``).

File syntax (``OIS100MI.txt``): ``#`` comments; ``@program NAME description``;
``@transaction NAME description``; then one field per line, ``I|O NAME TYPE LENGTH[!]
description``, e.g. ``I CUNO A10! Customer number``: ``I`` input, ``O`` output; type ``A``
alphanumeric, ``N`` numeric, ``D`` date; ``!`` a mandatory input.
"""

from __future__ import annotations

import re
from collections.abc import KeysView
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

__all__ = ["MiField", "MiProgram", "MiTransaction", "programs"]

_FIELD = re.compile(
    r"^(?P<io>[IO]) (?P<name>\w{4}) (?P<type>[AND])(?P<len>\d+)(?P<mand>!?) ?(?P<desc>.*)$"
)
_DIR = Path(__file__).parent


@dataclass(frozen=True)
class MiField:
    name: str
    type: Literal["A", "N", "D"]
    length: int
    mandatory: bool
    description: str


@dataclass(frozen=True)
class MiTransaction:
    program: str
    name: str
    description: str
    inputs: tuple[MiField, ...]
    outputs: tuple[MiField, ...]

    @property
    def multiple(self) -> bool:
        """``M``: the transaction answers a list (``Lst…``, ``Search…``, ``Sel…``), else ``S``."""
        return self.name.startswith(("Lst", "Search", "Sel"))

    def input(self, name: str) -> MiField | None:
        return self._inputs_by_name.get(name)

    def outputs_for(self, returncols: tuple[str, ...]) -> list[MiField]:
        """The output fields answered, in M3's order: all, or those ``returncols`` names.
        Worked out once per column list (kept on the transaction: hashing the transaction
        itself, every field of it, cost more than the lookup saved)."""
        known = self._outputs_by_columns.get(returncols)
        if known is None:
            wanted = {c.strip().upper() for c in returncols}
            known = [f for f in self.outputs if not wanted or f.name in wanted]
            if len(self._outputs_by_columns) < 256:  # callers' lists are few; stay bounded
                self._outputs_by_columns[returncols] = known
        return known

    @cached_property
    def _outputs_by_columns(self) -> dict[tuple[str, ...], list[MiField]]:
        return {}

    @property
    def input_names(self) -> KeysView[str]:
        return self._inputs_by_name.keys()

    @cached_property
    def required_inputs(self) -> tuple[str, ...]:
        """Mandatory inputs a caller must send: company and division default from the
        session (matrix or user defaults), so they are never missing."""
        return tuple(f.name for f in self.inputs if f.mandatory and f.name not in ("CONO", "DIVI"))

    @cached_property
    def _inputs_by_name(self) -> dict[str, MiField]:
        # Every transaction of a bulk request checks each of its inputs by name.
        return {f.name: f for f in self.inputs}


@dataclass(frozen=True)
class MiProgram:
    name: str
    description: str
    transactions: dict[str, MiTransaction]


def _parse(path: Path) -> MiProgram:
    name, description = path.stem, ""
    txs: dict[str, tuple[str, list[MiField], list[MiField]]] = {}
    current: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@program "):
            _, name, description = [*line.split(" ", 2), ""][:3]
        elif line.startswith("@transaction "):
            _, current, tx_desc = [*line.split(" ", 2), ""][:3]
            txs[current] = (tx_desc, [], [])
        else:
            match = _FIELD.match(line)
            if match is None or current is None:
                raise ValueError(f"{path.name}: cannot read {line!r}")
            field = MiField(
                match["name"],
                match["type"],  # type: ignore[arg-type]
                int(match["len"]),
                match["mand"] == "!",
                match["desc"].strip(),
            )
            txs[current][1 if match["io"] == "I" else 2].append(field)
    return MiProgram(
        name,
        description,
        {
            tx: MiTransaction(name, tx, desc, tuple(inputs), tuple(outputs))
            for tx, (desc, inputs, outputs) in txs.items()
        },
    )


@cache
def programs() -> dict[str, MiProgram]:
    """Every program definition, by program name (read once)."""
    found = (_parse(p) for p in sorted(_DIR.glob("*.txt")))
    return {p.name: p for p in found}
