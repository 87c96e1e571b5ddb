"""Run an ASGI app on a real loopback port inside the test process (uvicorn in a thread)."""

from __future__ import annotations

import gc
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner owns signals
        return None


@contextmanager
def serve(
    app: Any, port: int | None = None, *, tls_pem: str | None = None, http: Any = "auto"
) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and yield its base URL (``http://127.0.0.1:PORT``).

    ``tls_pem``: a file with the server's key and certificate chain: serve HTTPS instead.
    ``http``: uvicorn's HTTP protocol (a name or a protocol class).
    """
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", loop="asyncio",
        http=http,
        ssl_certfile=tls_pem, ssl_keyfile=tls_pem,
        # A TLS peer that drops its socket without close_notify must not hold shutdown up.
        timeout_graceful_shutdown=1 if tls_pem else None,
    )  # fmt: skip
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if tls_pem else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if tls_pem:
            # A connection cut at the graceful-shutdown timeout leaves its socket to the
            # collector: drop the server's hold on it and collect it here, not as a stray
            # warning in some later test.
            server.server_state.connections.clear()
            server.server_state.tasks.clear()
            del server, thread
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
