"""Reading a vendor's answer with a size cap, so a runaway response is refused, not parsed.

``send_capped`` streams the body and stops once it passes ``max_bytes`` (a ``Content-Length``
over the cap is refused before reading); it also hands the cap to the transport in a request
extension, so the gateway's pooled transport stops reading from the socket at the cap. The count is of decoded bytes, so a small compressed
answer that inflates past the cap is refused too. Each adapter turns ``ResponseTooLargeError``
into its own protocol error: the backend answered something we will not read.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_RESPONSE_BYTES_EXTENSION",
    "ResponseTooLargeError",
    "send_capped",
]

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_RESPONSE_BYTES_EXTENSION = "isthmus.max_response_bytes"
"""Request extension carrying the cap to a transport that can stop reading early."""

# Describe the stored body, not the wire form it arrived in.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ResponseTooLargeError(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the response is larger than the {max_bytes}-byte cap")
        self.max_bytes = max_bytes


async def send_capped(
    http: httpx.AsyncClient, method: str, url: str | httpx.URL, *, max_bytes: int, **request: Any
) -> httpx.Response:
    """``http.request(method, url, **request)``, its body read up to ``max_bytes``.

    ``url``: a string, or an ``httpx.URL`` a caller parsed once for the many requests it sends
    to one address (httpx then does not parse it again)."""
    sent = http.build_request(method, url, **request)
    sent.extensions[MAX_RESPONSE_BYTES_EXTENSION] = max_bytes
    response = await http.send(sent, stream=True)
    try:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise ResponseTooLargeError(max_bytes)
        if response.is_stream_consumed:
            # A transport that buffers the answer (the gateway's pooled one, which stops
            # reading at the cap) hands it back read already: checked, not streamed again.
            body = response.content
            if len(body) > max_bytes:
                raise ResponseTooLargeError(max_bytes)
            if not any(name in _WIRE_HEADERS for name in response.headers):
                return response
        else:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ResponseTooLargeError(max_bytes)
                chunks.append(chunk)
            body = b"".join(chunks)
    finally:
        await response.aclose()
    return _stored(response, body, sent)


def _stored(response: httpx.Response, body: bytes, sent: httpx.Request) -> httpx.Response:
    """``response`` holding ``body``, its headers describing that body, not the wire's form."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _WIRE_HEADERS]
    return httpx.Response(response.status_code, headers=headers, content=body, request=sent)
