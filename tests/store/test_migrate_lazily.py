"""A store already at the newest revision is told so without loading Alembic."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from store import Database, current_revision, head_revision, upgrade
from store.migrate import HEAD_REVISION

_CHECK = """
import asyncio, sys
from store import Database, current_revision, upgrade

async def main():
    db = Database(sys.argv[1])
    try:
        await upgrade(db)
        print(await current_revision(db))
    finally:
        await db.aclose()

asyncio.run(main())
print("alembic" in sys.modules, "mako" in sys.modules)
"""


def test_the_known_head_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


async def _migrated(url: str) -> str | None:
    db = Database(url)
    try:
        assert await current_revision(db) is None  # a new file: never migrated
        await upgrade(db)
        return await current_revision(db)
    finally:
        await db.aclose()


def test_a_migrated_store_is_checked_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    assert asyncio.run(_migrated(url)) == HEAD_REVISION

    # A worker starting on it: one query, no Alembic (nor Mako) in the process.
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, url],
        capture_output=True, text=True, check=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.split("\n")  # fmt: skip
    assert out[0] == HEAD_REVISION
    assert out[1] == "False False"
