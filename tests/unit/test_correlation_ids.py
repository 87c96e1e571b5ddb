"""The correlation ids the gateway makes: random version-4 UUIDs in hex, never shared by workers."""

from __future__ import annotations

import os
import uuid

from app.correlation import new_correlation_id, valid_correlation_id


def test_new_ids_are_version_4_uuids_in_hex_and_distinct() -> None:
    ids = [new_correlation_id() for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == value
        assert valid_correlation_id(value)


def test_a_forked_worker_makes_other_ids_than_its_parent() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids, then leave without pytest's teardown
        try:
            os.write(write, " ".join(new_correlation_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    theirs = os.read(read, 1_000).decode().split()
    os.close(read)
    os.waitpid(child, 0)
    ours = [new_correlation_id() for _ in range(3)]
    assert len(theirs) == 3
    assert not set(theirs) & set(ours)
