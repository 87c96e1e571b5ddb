"""A request's arrival is stamped as its first bytes are parsed, so an emulator's delay runs
from when the request reached it, not from when its handler got its turn."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from sandbox.arrival import ArrivalStampingProtocol, arrived
from sandbox.infor import Fault as InforFault
from sandbox.infor import InforEmulator
from sandbox.intacct import Fault as IntacctFault
from sandbox.intacct import IntacctEmulator
from tests.sandbox.test_infor_emulator import BASE as INFOR_BASE
from tests.sandbox.test_infor_emulator import _mi
from tests.sandbox.test_intacct_emulator import post, rbq, request, results
from tests.support.arrival import client_arrived_at, record_work_times
from tests.support.servers import serve


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def test_requests_that_arrive_together_are_stamped_before_either_is_handled() -> None:
    """The loop is held (as a busy emulator's is) while two requests arrive; the first one
    handled then takes 0.1 s of the loop itself. The second was stamped when it arrived, not
    when its handler started after the first's work."""
    blocked = threading.Event()
    release = threading.Event()
    handled: list[dict[str, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.monotonic()
        if scope["path"] == "/warm":
            pass
        elif scope["path"] == "/block":
            blocked.set()
            release.wait(10)  # holds the loop: nothing else is taken in meanwhile
        else:
            handled.append({"arrived": arrived(scope), "started": started})
            if len(handled) == 1:
                # The first request's own work, holding the loop as a busy handler does.
                threading.Event().wait(0.1)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    with serve(app, http=ArrivalStampingProtocol) as url:
        address = (urlsplit(url).hostname, urlsplit(url).port)
        with (
            socket.create_connection(address) as blocker,
            socket.create_connection(address) as first,
            socket.create_connection(address) as second,
        ):
            for sock in (first, second):  # accepted and read from before the loop is held
                sock.sendall(_request("/warm"))
                assert b" 200 " in _read_response(sock)
            blocker.sendall(_request("/block"))
            assert blocked.wait(10)
            first.sendall(_request("/work"))
            second.sendall(_request("/work"))
            release.set()
            for sock in (blocker, first, second):
                assert b" 200 " in _read_response(sock)

    assert len(handled) == 2
    assert all(h["arrived"] <= handled[0]["started"] for h in handled)
    assert handled[1]["started"] - handled[1]["arrived"] >= 0.1


def test_each_request_on_a_kept_alive_connection_has_its_own_stamp() -> None:
    stamps: list[float] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        stamps.append(arrived(scope))
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    marks: list[float] = []
    with (
        serve(app, http=ArrivalStampingProtocol) as url,
        socket.create_connection((urlsplit(url).hostname, urlsplit(url).port)) as sock,
    ):
        for _ in range(2):
            marks.append(time.monotonic())
            sock.sendall(_request("/"))
            assert b" 200 " in _read_response(sock)
            marks.append(time.monotonic())
    assert marks[0] <= stamps[0] <= marks[1] <= marks[2] <= stamps[1] <= marks[3]


def test_without_a_stamp_the_arrival_is_now() -> None:
    before = time.monotonic()
    assert before <= arrived({"type": "http", "extensions": {}}) <= time.monotonic()
    assert before <= arrived({"type": "http"}) <= time.monotonic()


async def _infor_read_delayed_from(
    at: float, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[float, float]], float]:
    emulator = InforEmulator(public_url=INFOR_BASE)
    emulator.set_fault("MNS150MI", InforFault(kind="latency", delay_ms=300))
    waits = record_work_times(emulator.due_times, monkeypatch)
    async with client_arrived_at(emulator.app, at) as http:
        response = await _mi(http, emulator, "MNS150MI/GetUserData")
    assert response.status_code == 200
    assert emulator.stats()["max_late_ms"] >= 59_000  # sent at once, counted as late as it was
    return waits, 0.3


async def _intacct_read_delayed_from(
    at: float, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[float, float]], float]:
    emulator = IntacctEmulator(public_url="http://intacct.test")
    emulator.set_fault("readByQuery", IntacctFault(kind="latency", delay_ms=200))
    waits = record_work_times(emulator.due_times, monkeypatch)
    async with client_arrived_at(emulator.app, at, base_url="http://intacct.test") as http:
        status, root = await post(http, request(rbq("LOCATION")))
    assert status == 200
    assert results(root)[0].findtext("status") == "success"
    return waits, 0.2


@pytest.mark.parametrize("read", [_infor_read_delayed_from, _intacct_read_delayed_from])
async def test_each_emulator_takes_a_delay_from_the_arrival_stamp(
    read: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request stamped a minute ago, with a fault delaying it: the delay is due from the
    stamp (and so already past), not from when the handler got its turn."""
    stamped_at = time.monotonic() - 60
    waits, delay = await read(stamped_at, monkeypatch)
    assert waits == [(stamped_at, stamped_at + delay)]
