"""Giving freed memory back to the operating system between the phases of a large run.

A county-wide run (a million plots, 13 million check results) frees
gigabytes of short-lived Python strings and Arrow buffers between its
phases. The allocators keep much of it for reuse (Python's and glibc's
malloc arenas, Arrow's mimalloc pool), so the process's resident memory
only grows, phase after phase, beyond what is alive. :func:`release_memory`
hands it back; the analyses call it after their heaviest steps.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys

__all__ = ["release_memory"]

log = logging.getLogger(__name__)

_LIBC: ctypes.CDLL | None | bool = None


def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                _LIBC = ctypes.CDLL("libc.so.6")
                _LIBC.malloc_trim  # noqa: B018 - glibc only (not musl)
            except (OSError, AttributeError):
                _LIBC = False
    return _LIBC or None


def release_memory() -> None:
    """Collect garbage, then return freed memory to the OS (Arrow's pool, glibc's heap).

    Cheap (milliseconds) when little was freed; results never depend on it.
    On platforms without ``malloc_trim`` (Windows, macOS, musl) only the
    first two steps run.
    """
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - pyarrow missing or an old version
        pass
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
