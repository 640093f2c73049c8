"""Handing memory the process no longer uses back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


def trim_heap() -> None:
    """Return the free pages of the C heap to the operating system (glibc's `malloc_trim`; elsewhere nothing).

    glibc keeps memory freed by SQLite's page cache and by large Python objects mapped, so a sweep that read every
    schedule would otherwise leave the process that much larger until the next allocation reuses it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
