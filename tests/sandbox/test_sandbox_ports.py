"""``isthmus sandbox``: every port is a flag and a setting; a taken port is one clear line."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import main
from tests.support.servers import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _ports() -> list[str]:
    return [
        "--intacct-port", str(free_port()),
        "--infor-port", str(free_port()),
        "--issuer-port", str(free_port()),
        "--salesforce-port", str(free_port()),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "flag", ["--intacct-port", "--infor-port", "--issuer-port", "--salesforce-port"]
)
def test_a_taken_port_is_one_line_naming_it(
    taken_port: int, flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _ports()
    args[args.index(flag) + 1] = str(taken_port)

    rc = main(["sandbox", *args, "--state-dir", str(tmp_path)])

    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert f"127.0.0.1:{taken_port}" in err
    assert flag in err
    assert "in use" in err


def test_a_port_setting_is_used_when_no_flag_is_given(
    taken_port: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ISTHMUS_SANDBOX__ISSUER_PORT", str(taken_port))
    args = ["--intacct-port", str(free_port()), "--infor-port", str(free_port()),
            "--salesforce-port", str(free_port())]  # fmt: skip

    rc = main(["sandbox", *args, "--state-dir", str(tmp_path)])

    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert f"127.0.0.1:{taken_port}" in err
    assert "ISTHMUS_SANDBOX__ISSUER_PORT" in err


def test_the_sandbox_starts_on_any_free_ports(tmp_path: Path) -> None:
    intacct, infor, issuer, org = free_port(), free_port(), free_port(), free_port()
    command = [
        sys.executable, "-m", "app.cli", "sandbox",
        "--intacct-port", str(intacct), "--infor-port", str(infor),
        "--issuer-port", str(issuer), "--salesforce-port", str(org), "--state-dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        answers: dict[int, int] = {}
        for port, path in (
            (intacct, "/ia/xml/xmlgw.phtml"),
            (infor, "/"),
            (issuer, "/jwks.json"),
        ):
            while port not in answers:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, f"port {port} never opened"
                try:
                    answers[port] = httpx.get(f"http://127.0.0.1:{port}{path}").status_code
                except httpx.TransportError:
                    time.sleep(0.05)  # polling a child process's start, not timing a result
        assert answers[issuer] == 200
        assert all(status < 500 for status in answers.values())
        while True:  # the org answers over HTTPS, trusting the CA it wrote
            assert time.monotonic() < deadline, f"port {org} never opened"
            try:
                trust = ssl.create_default_context(cafile=str(tmp_path / "salesforce-ca.pem"))
                versions = httpx.get(f"https://127.0.0.1:{org}/services/data/", verify=trust)
                break
            except (httpx.TransportError, FileNotFoundError, ssl.SSLError):
                time.sleep(0.05)  # polling a child process's start, not timing a result
        assert versions.json()[-1]["version"] == "62.0"
        assert (tmp_path / "salesforce-jwt-key.pem").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def test_connections_to_the_sandbox_send_without_waiting_for_acks() -> None:
    """A connection the sandbox accepts has TCP_NODELAY, as asyncio gives its own sockets: an
    answer written head first, body second, must not wait 40 ms for the caller's delayed ACK."""
    from sandbox.ports import bind_ports

    listener = bind_ports("127.0.0.1", {"infor": free_port()})["infor"]
    with listener, socket.create_connection(listener.getsockname()[:2]):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
