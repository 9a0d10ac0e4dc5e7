"""How a worker process's C heap treats the DES's large arrays, once per process.

A district DES replicate allocates and frees about 1 GiB of arrays of 5–6 M elements.
glibc serves each array over 32 MiB from its own ``mmap`` and gives it back to the
kernel when freed, so every task of a long-lived worker page-faults its whole working
set in again. Serving them from the heap and keeping freed memory for the next task
removes that: a replicate took 2.44 s of CPU in steady state against 2.33 s with the heap
kept on a quiet machine, and 3.2 s against 2.5 s with other processes on its two cores
(2 December 2026, AMD EPYC, ``benchmarks/bench_memory.py``), at the price of a resident
size that stays near the tasks' peak: 1.3-1.5 GiB against 1.05 GiB.
Other C libraries, and other systems, are left as they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_KEEP_BYTES = 2**31 - 1
"""Freed memory at the top of the heap kept for the next task, bytes (mallopt's ``int``:
the largest it takes; a replicate's working set is below it)."""

_applied: list[bool] = []


def keep_freed_memory() -> bool:
    """Make this process's glibc serve large blocks from its heap and keep what is
    freed; once per process (later calls do nothing). Returns whether it took effect
    (False off Linux/glibc)."""
    if _applied:
        return _applied[0]
    ok = False
    if sys.platform.startswith("linux"):
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            ok = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(
                libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
            )
    _applied.append(ok)
    return ok
