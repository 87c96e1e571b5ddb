"""The ``requests`` session simple-salesforce runs on: pooled, and trusting the CA we name.

``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
(it merges the environment into every request); an adapter that sets ``verify`` on each send
keeps the configured CA authoritative, with proxies from the environment still honoured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

__all__ = ["build_session"]


class _TrustingAdapter(HTTPAdapter):
    def __init__(self, ca_file: str, pool_size: int) -> None:
        super().__init__(pool_connections=1, pool_maxsize=pool_size)
        self._ca_file = ca_file

    def send(  # noqa: PLR0917 - the signature requests defines
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=timeout,
            verify=self._ca_file,
            cert=cert,
            proxies=proxies,
        )


def build_session(*, ca_file: str | None = None, pool_size: int = 4) -> requests.Session:
    """A session with ``pool_size`` connections per host, trusting ``ca_file`` when given."""
    session = requests.Session()
    adapter: Any = (
        _TrustingAdapter(ca_file, pool_size)
        if ca_file
        else HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
    )
    session.mount("https://", adapter)
    return session
