"""Faults the emulator can be told to inject, per ``PROGRAM/TRANSACTION``, ``PROGRAM``,
``token`` (the SSO token endpoint) or ``*`` (everything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Fault", "FaultKind"]

FaultKind = Literal["latency", "hang", "hold", "status", "malformed", "truncated", "reset", "html"]


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    - ``latency``: answer normally, ``delay_ms`` after the request arrived (the answer is
      worked out meanwhile, as a slow backend's own processing takes that time);
    - ``hang``: never answer (until ``delay_ms`` if given, or until faults are cleared);
    - ``hold``: answer normally, but only once faults are cleared (or after ``delay_ms``): a
      test holds requests in flight for as long as it needs, then lets them through;
    - ``status``: answer ``status`` (e.g. 503, or 429 with ``Retry-After: retry_after``);
    - ``malformed``: 200 with a body that is not JSON; ``truncated``: 200 with the real JSON
      cut in half; ``html``: 200 with an HTML error page (what a proxy in front may do);
    - ``reset``: start a response and drop the connection mid-body.
    ``times`` limits how many requests the fault hits (None = until cleared).
    """

    kind: FaultKind
    status: int = 503
    delay_ms: int = 0
    retry_after: int = 1
    times: int | None = None
