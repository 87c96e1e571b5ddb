"""Faults the emulator can be told to inject, per function name (or ``*`` for every call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FAULT_KINDS", "Fault"]

FaultKind = Literal["latency", "hang", "status", "malformed", "truncated", "reset", "html"]
FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "hang",
    "status",
    "malformed",
    "truncated",
    "reset",
    "html",
)


@dataclass(frozen=True)
class Fault:
    """What to do to a request whose function matches.

    - ``latency``: answer normally, ``delay_ms`` after the request arrived (on top of the
      service time); the answer is worked out meanwhile.
    - ``hang``: never answer (until the client gives up and disconnects).
    - ``status``: answer HTTP ``status`` (e.g. 503, 524) with a short HTML body.
    - ``malformed``: HTTP 200 with a body that is not XML.
    - ``truncated``: the real answer, cut off halfway.
    - ``reset``: announce a Content-Length, send part of it, drop the connection.
    - ``html``: HTTP 200 with an HTML maintenance page.

    ``times`` limits how many requests are affected (None: until cleared).
    """

    kind: FaultKind
    status: int = 503
    delay_ms: int = 0
    times: int | None = None
