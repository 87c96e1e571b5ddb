"""Refuse requests whose headers are too large (431) before any of them is interpreted."""

from __future__ import annotations

from app.problems import ProblemError

__all__ = ["HeaderLimit"]


class HeaderLimit:
    """Total size of header names and values; the server's own limit may be larger.

    The request gate (``app.middleware.gateway``) sums the sizes in its one pass over the raw
    headers and raises ``refusal`` when the total is over ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def refusal(self, size: int) -> ProblemError:
        """The 431 for headers totalling ``size`` bytes."""
        return ProblemError(
            431,
            "headers_too_large",
            "Request headers too large",
            f"The request's headers total {size} bytes; the limit is {self.max_bytes}.",
        )
