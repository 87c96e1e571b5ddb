"""Binding the sandbox's listening sockets up front, so a taken port is one clear error."""

from __future__ import annotations

import socket
from collections.abc import Mapping

__all__ = ["PortInUseError", "bind_ports"]


class PortInUseError(OSError):
    """One of the sandbox's ports cannot be bound; ``name`` says which emulator wanted it."""

    def __init__(self, name: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{host}:{port} ({name}) is {reason}")
        self.name = name
        self.host = host
        self.port = port
        self.reason = reason


def bind_ports(host: str, ports: Mapping[str, int]) -> dict[str, socket.socket]:
    """A listening socket per name, all or none: on the first failure the others are closed."""
    bound: dict[str, socket.socket] = {}
    for name, port in ports.items():
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Connections accepted here inherit TCP_NODELAY. asyncio sets it only on sockets
            # made with proto=IPPROTO_TCP, which these are not; without it a response written
            # in two parts (head, then body) waits for the client's delayed ACK: 40 ms on
            # Linux, on most of a quote's ERP calls made back to back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
            sock.listen(2048)
        except OSError as exc:
            sock.close()
            for other in bound.values():
                other.close()
            reason = "already in use" if exc.errno in _IN_USE else (exc.strerror or str(exc))
            raise PortInUseError(name, host, port, reason) from None
        bound[name] = sock
    return bound


_IN_USE = {98, 48, 10048}  # EADDRINUSE on Linux, macOS, Windows
