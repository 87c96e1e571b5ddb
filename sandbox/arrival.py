"""When a request reached an emulator: stamped as its first bytes are parsed, not when its
handler gets to run.

An emulator serves every request on one thread. Requests that come in together (a quote's
five ION bulk requests, from each of the gateway's workers at once) are parsed as their bytes
arrive, but their handlers run one after another, each taking its request in first. A delay
counted from the handler's start then began later for each request of a burst than for the
one before it, so the backend was slower than asked by however long the requests ahead took
to be taken in. A real backend's latency runs from when the request reached it; so does a
``latency`` fault's, from the stamp this protocol puts in the request's scope.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ARRIVED", "ArrivalStampingProtocol", "arrived"]

ARRIVED = "isthmus.sandbox.arrived"
"""The scope's ``extensions`` key holding the request's arrival (``time.monotonic``)."""


class ArrivalStampingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, stamping each request's scope as its parsing begins."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # Added to what the scope carries already, never in place of it.
        self.scope.setdefault("extensions", {})[ARRIVED] = {"at": time.monotonic()}


def arrived(scope: Mapping[str, Any]) -> float:
    """When the request of ``scope`` arrived: the protocol's stamp, or now when there is none
    (an app called directly, as tests do)."""
    stamp = scope.get("extensions", {}).get(ARRIVED)
    return float(stamp["at"]) if stamp is not None else time.monotonic()
