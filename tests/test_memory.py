"""gis_town.memory: freed memory goes back to the operating system."""

from __future__ import annotations

import sys

import pytest

from gis_town.memory import release_memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_memory_returns_freed_heap_to_the_os():
    release_memory()
    # 200 MB of 1 kB strings (malloc'd on the heap), every 100th kept: the freed
    # ones sit between live ones, so the heap cannot just shrink from its top
    data = [bytes(1000) + i.to_bytes(4, "little") for i in range(200_000)]
    kept = data[::100]
    del data
    before = _rss_mb()
    release_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert len(kept) == 2000  # the live ones are untouched
    assert all(len(b) == 1004 for b in kept)
