"""The backend HTTP hop: httpx's API (our adapters' seam) over an aiohttp connection pool.

httpx's own pool costs several times more CPU per call than aiohttp's under concurrency
(BENCHMARKS.md, "backend hop"). This transport hands each request to one long-lived aiohttp
session and returns the whole, already-read body: ERP answers are small, and a buffered
response skips httpx's per-chunk streaming layers. aiohttp decompresses a gzip or deflate
answer itself, so the response handed back carries the decoded body without the wire's
``Content-Encoding`` and length. Cookies are not kept: no backend we speak
to uses them, and the cookie jar was a fifth of the per-call cost.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx
from opentelemetry import trace
from opentelemetry.propagate import inject
from yarl import URL

from system_apis.response_cap import MAX_RESPONSE_BYTES_EXTENSION, ResponseTooLargeError

__all__ = ["AiohttpPoolTransport", "LeanAsyncClient"]


_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
)


class AiohttpPoolTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        max_connections: int = 200,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[
            tuple[float | None, float | None, float | None], aiohttp.ClientTimeout
        ] = {}
        self._urls: dict[str, URL] = {}

    def _session_now(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop (aiohttp requires one).
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True
            )
        return self._session

    def _timeout(self, timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
        # One ClientTimeout per distinct setting, not per call.
        key = (timeout.get("pool"), timeout.get("connect"), timeout.get("read"))
        cached = self._timeouts.get(key)
        if cached is None:
            cached = aiohttp.ClientTimeout(
                total=None, connect=key[0], sock_connect=key[1], sock_read=key[2]
            )
            if len(self._timeouts) < 256:
                self._timeouts[key] = cached
        return cached

    def _url(self, url: httpx.URL) -> URL:
        # httpx already normalised it. An address without a query (an ERP's bulk or XML
        # endpoint, which takes most requests) is parsed once; yarl URLs are immutable.
        text = str(url)
        parsed = self._urls.get(text)
        if parsed is None:
            parsed = URL(text, encoded=True)
            if not url.query and len(self._urls) < 256:
                self._urls[text] = parsed
        return parsed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            async with self._session_now().request(
                request.method,
                self._url(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request.extensions.get("timeout", {})),
            ) as response:
                cap = request.extensions.get(MAX_RESPONSE_BYTES_EXTENSION)
                content = await (response.read() if cap is None else _read_capped(response, cap))
                return httpx.Response(
                    status_code=response.status,
                    headers=_decoded_headers(response.raw_headers),
                    content=content,
                    request=request,
                    extensions={"http_version": b"HTTP/1.1"},
                )
        except Exception as exc:
            for source, target in _ERRORS:
                if isinstance(exc, source):
                    raise target(str(exc) or type(exc).__name__, request=request) from exc
            raise

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


_WIRE_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


def _decoded_headers(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """The answer's headers for the body aiohttp has already decompressed: without the wire's
    encoding and length, which httpx would otherwise act on again (a gzip answer decoded
    twice fails, and every ERP call with it)."""
    return [(name, value) for name, value in raw if name.lower() not in _WIRE_HEADERS]


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body, or ``ResponseTooLargeError`` as soon as it passes ``cap`` (decoded) bytes."""
    if response.content_length is not None and response.content_length > cap:
        raise ResponseTooLargeError(cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise ResponseTooLargeError(cap)
        chunks.append(chunk)
    return b"".join(chunks)


class LeanAsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose ``send`` skips what our backends never use.

    No auth flows (credentials travel in our own headers or bodies), no redirects (an ERP
    redirect is an error to surface, not to follow), no cookie jar. Event hooks, timeouts,
    transports and mounts behave as in httpx, so tests keep handing it any transport.
    With a tracer, each request is a CLIENT span and carries its W3C ``traceparent``.
    """

    def __init__(self, *args: Any, tracer: trace.Tracer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracer = tracer

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = None,
        follow_redirects: Any = None,
    ) -> httpx.Response:
        if self._tracer is None:
            return await self._send(request, stream=stream)
        name = f"HTTP {request.method}"
        with self._tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT) as span:
            # Unsampled, the current context still travels (W3C flags say "not sampled").
            inject(request.headers)
            if not span.is_recording():
                return await self._send(request, stream=stream)
            span.set_attributes(
                {
                    "http.request.method": request.method,
                    "server.address": request.url.host,
                    "url.path": request.url.path,
                }
            )
            response = await self._send(request, stream=stream)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
            return response

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if "timeout" not in request.extensions:
            request.extensions["timeout"] = self.timeout.as_dict()
        for hook in self.event_hooks["request"]:
            await hook(request)
        transport = self._transport_for_url(request.url)
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            for hook in self.event_hooks["response"]:
                await hook(response)
            if not stream:
                await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response
