"""A private PostgreSQL server for tests: ``initdb`` + ``postgres`` on a free loopback port in a
temp directory. Never the machine's shared server: nothing else is touched.

Binaries come from the PATH, ``/usr/local/bin`` or ``/usr/lib/postgresql/<version>/bin``.
PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` (or
``nobody``) user, in a directory handed to that user.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from tests.support.servers import free_port

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres) are not installed; install them with "
    "`apt-get install postgresql` (Debian/Ubuntu) or `brew install postgresql` (macOS). "
    "The tests start their own server; no running instance is needed."
)


def _find_bin_dir() -> Path | None:
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates.append(Path("/usr/local/bin"))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in versions)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    return None


def postgres_available() -> bool:
    return _find_bin_dir() is not None


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = _find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(INSTALL_HINT)
        self.bin_dir = bin_dir
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="isthmus-pg-"))
        self.data_dir = self._dir / "data"
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres" if _user_exists("postgres") else "nobody"
            entry = pwd.getpwnam(self._user)
            os.chown(self._dir, entry.pw_uid, entry.pw_gid)
        self.log_path = self._dir / "server.log"

    def _cmd(self, *args: str) -> list[str]:
        if self._user is None:
            return list(args)
        # setpriv execs in place: the Popen pid is the server's own, so signals reach it.
        return ["setpriv", f"--reuid={self._user}", f"--regid={self._user}", "--init-groups",
                *args]  # fmt: skip

    def init(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._proc = subprocess.Popen(
            self._cmd(
                str(self.bin_dir / "postgres"), "-D", str(self.data_dir),
                "-p", str(self.port), "-k", str(self._dir),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200", "-c", "shared_buffers=64MB",
            ),
            stdout=log,
            stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_path.read_text()[-2000:]}")
            if self._accepts():
                return
            time.sleep(0.05)
        raise RuntimeError(f"postgres did not start on port {self.port}")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                pass
        except OSError:
            return False
        try:
            asyncio.run(self._ping())
        except (OSError, asyncpg.PostgresError):
            return False
        return True

    async def _ping(self) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"), timeout=2)
        await conn.close()

    def stop(self, *, immediate: bool = False) -> None:
        """Shut down: fast (SIGINT) by default, or immediate (SIGQUIT, as a crash would)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
