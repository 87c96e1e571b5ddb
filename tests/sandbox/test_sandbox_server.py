"""``python -m sandbox.server`` options reach the emulators they configure."""

from __future__ import annotations

from pathlib import Path

from sandbox.infor import InforEmulator
from sandbox.server import _build_apps


def test_the_infor_rate_flag_switches_the_ion_spike_arrest_on(tmp_path: Path) -> None:
    limited = _build_apps("127.0.0.1", 1, 2, tmp_path, 3, infor_requests_per_second=50)["infor"]
    unlimited = _build_apps("127.0.0.1", 1, 2, tmp_path, 3)["infor"]

    assert isinstance(limited, InforEmulator)
    assert isinstance(unlimited, InforEmulator)
    assert (limited.requests_per_second, unlimited.requests_per_second) == (50, None)
