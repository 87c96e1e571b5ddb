"""The four read capabilities answered inside the request gate, for the requests they usually get.

A warm validate-quote is answered from the whole-answer memo in a few microseconds; Litestar's
handler machinery around it (request object, parameter parsing, dependency injection, response
object, encoding) cost several times that. ``ReadLane`` answers a request to one of the routes
tagged ``read_capability`` (``app.routes.process``) itself, once the gate has authenticated and
metered it, when the request is one it can be sure of:

- ``POST`` with a JSON content type and a ``Content-Length`` within ``max_body_bytes``;
- a body nested no deeper than ``json_depth`` allows, that decodes into the route's struct;
- an ``X-Deadline-Ms`` that is absent or a plain number within the documented range.

Anything else goes on to the route as before, with the body it already read handed on, so every
refusal (400, 413, 415, 422) is still written by the code that wrote it before. What a caller
sees does not change: the same body (encoded by the route's own serializer), the same
``content-type`` and ``content-length``; the gate and the ``before_send`` hook add the rest.
Errors the capability raises travel up to the same exception handlers.

An answer the memo holds is also kept as the bytes it was sent as, keyed by the request body
(``ResultMemo.keep_encoded``): a repeated request is then answered without decoding it or
encoding the answer again; validate-quote's ``elapsedMs`` is spliced in per request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.serialization import encode_json, get_serializer
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from app.correlation import current_correlation_id
from app.middleware.json_depth import json_too_deep
from app.routes.body import body_decoder
from app.routes.shared import MAX_DEADLINE_HEADER_MS, deadline_for
from app.services import Services
from process_apis.memo import EncodedAnswer, Remembered, ResultMemo

__all__ = ["READ_CAPABILITY", "ReadLane"]

READ_CAPABILITY = "read_capability"
"""Route option naming the capability (``Remembered.name``) a route answers."""

_DEADLINE_HEADER = b"x-deadline-ms"
_PLAIN_DEADLINE = re.compile(rb"[1-9][0-9]{0,5}")
_ELAPSED = b'"elapsedMs":'
_ELAPSED_MARK = -987654.25
"""Stands for the elapsed time while an answer is encoded once for every later request."""


@dataclass(frozen=True)
class _Route:
    capability: Remembered[Any, Any]
    decoder: msgspec.json.Decoder[Any]
    encode: Callable[[Any], bytes]
    timed: bool
    """The answer reports its own elapsed time (validate-quote's ``elapsedMs``)."""


class ReadLane:
    """Answers the tagged read routes inside the request gate (see the module's docstring)."""

    def __init__(self, services: Callable[[], Services], *, max_body_bytes: int) -> None:
        self._services = services
        self._max_body_bytes = max_body_bytes
        self._routes: dict[int, _Route | None] = {}

    def route_for(self, scope: Scope) -> _Route | None:
        """The lane's plan for this request's route, or ``None`` when the lane leaves it."""
        handler = scope.get("route_handler")
        if handler is None:
            return None
        try:
            return self._routes[id(handler)]
        except KeyError:
            route = self._routes[id(handler)] = self._plan(handler)
            return route

    def _plan(self, handler: Any) -> _Route | None:
        name = (getattr(handler, "opt", None) or {}).get(READ_CAPABILITY)
        if name is None:
            return None
        capability = next(c for c in self._services().process.remembered if c.name == name)
        data = handler.parsed_fn_signature.parameters["data"].annotation
        serializer = get_serializer(handler.resolve_type_encoders())
        timed = "elapsed_ms" in getattr(handler.parsed_fn_signature.return_type.annotation,
                                        "__struct_fields__", ())  # fmt: skip
        return _Route(
            capability=capability,
            decoder=body_decoder(data),
            encode=lambda value: encode_json(value, serializer),
            timed=timed,
        )

    async def __call__(
        self, route: _Route, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        fit = self._fit(scope)
        if fit is None:
            await app(scope, receive, send)
            return
        deadline_ms, length = fit
        body, cut_short = await _read_body(receive, length)
        if cut_short is not None:
            await app(scope, _replay(cut_short, receive), send)
            return
        if json_too_deep(body):
            await app(scope, _replay([_whole(body)], receive), send)  # the route says why
            return
        started = time.perf_counter()
        services = self._services()
        memo = services.process.memo
        key = ResultMemo.encoded_key(route.capability.name, body)
        kept = memo.encoded(key)
        if kept is None:
            try:
                request = route.decoder.decode(body)
            except (msgspec.ValidationError, msgspec.DecodeError):
                # The route writes the 400 or 422, with its pointers, as before.
                await app(scope, _replay([_whole(body)], receive), send)
                return
            answer, remembered = await route.capability.answer(
                request, deadline_for(services, deadline_ms), current_correlation_id()
            )
            kept = self._encode(route, answer)
            if remembered:
                memo.keep_encoded(key, kept)
        if kept.tail is None:
            content = kept.head
        else:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            content = b"".join((kept.head, msgspec.json.encode(elapsed), kept.tail))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content, "more_body": False})

    @staticmethod
    def _encode(route: _Route, answer: Any) -> EncodedAnswer:
        if not route.timed:
            return EncodedAnswer(route.encode(answer))
        encoded = route.encode(msgspec.structs.replace(answer, elapsed_ms=_ELAPSED_MARK))
        head, mark, tail = encoded.rpartition(_ELAPSED + msgspec.json.encode(_ELAPSED_MARK))
        if not mark:  # pragma: no cover - the struct's own field; a test pins the splice
            raise RuntimeError("elapsedMs is missing from the encoded answer")
        return EncodedAnswer(head + _ELAPSED, tail)

    def _fit(self, scope: Scope) -> tuple[int | None, int] | None:
        """The request's ``X-Deadline-Ms`` (``None`` when absent) and ``Content-Length``, or
        ``None`` when the request is not one the lane is sure of (see the module's docstring)."""
        if scope.get("method") != "POST":
            return None
        media: bytes | None = None
        length: bytes | None = None
        deadline: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                if media is not None:
                    return None
                media = value
            elif name == b"content-length":
                if length is not None:
                    return None
                length = value
            elif name == _DEADLINE_HEADER:
                if deadline is not None:
                    return None
                deadline = value
            elif name == b"transfer-encoding":
                return None
        if media is None or media.partition(b";")[0].strip().lower() != b"application/json":
            return None
        if length is None or not length.isdigit():
            return None
        size = int(length)
        if not 0 < size <= self._max_body_bytes:
            return None
        if deadline is None:
            return None, size
        if _PLAIN_DEADLINE.fullmatch(deadline) is None or int(deadline) > MAX_DEADLINE_HEADER_MS:
            return None
        return int(deadline), size


async def _read_body(receive: Receive, length: int) -> tuple[bytes, list[ReceiveMessage] | None]:
    """The whole request body of ``length`` bytes (its ``Content-Length``); or, when it did not
    come whole (the caller left), ``None`` with the messages received, for the route to
    receive in turn.

    It stops once ``length`` bytes are in: the server has then read the whole body, and
    asking for the closing empty message costs a round trip to the server's I/O thread
    (granian sends a one-chunk body as that chunk with ``more_body`` set, then an empty one).
    """
    messages: list[HTTPRequestEvent] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", [*messages, message]
        messages.append(message)
        received += len(message.get("body", b""))
        if received >= length or not message.get("more_body", False):
            break
    # One message (the usual case) is handed back as it came: ``join`` copies nothing then.
    return b"".join(m.get("body", b"") for m in messages), None


def _whole(body: bytes) -> HTTPRequestEvent:
    return {"type": "http.request", "body": body, "more_body": False}


def _replay(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` for the route: what the lane received, then whatever was still to come."""
    pending = messages[::-1]

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop()
        return await receive()

    return replay
