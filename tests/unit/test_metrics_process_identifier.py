"""The process id metric writes check (to notice a fork) is the real one, in forked children too."""

from __future__ import annotations

import os

from app.observability.multiprocess import _process_identifier


def test_the_process_identifier_is_this_process_and_follows_a_fork() -> None:
    parent = os.getpid()
    assert _process_identifier() == parent
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report what it sees, and leave without pytest's teardown
        try:
            os.write(write, f"{_process_identifier()} {os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(write)
    seen, actual = os.read(read, 100).decode().split()
    os.close(read)
    os.waitpid(child, 0)
    assert int(seen) == int(actual)
    assert int(seen) != parent
    assert _process_identifier() == parent
