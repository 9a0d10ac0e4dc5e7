"""sim.runs.memory: a worker's second large array reuses the first one's memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from sim.runs.memory import keep_freed_memory
    assert keep_freed_memory() and keep_freed_memory()
np._core.multiarray._set_madvise_hugepage(False)  # 4 KiB pages: one fault each
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(2):
    before = faults()
    a = np.ones(8 * 2**20)  # 64 MiB, as a district DES column
    del a
print(faults() - before)
"""


def _second_faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_large_array_is_kept_for_the_next_one():
    pages = 64 * 2**20 // 4096
    assert _second_faults("default") > pages // 2  # given back, faulted in again
    assert _second_faults("keep") < pages // 20  # kept: the next array reuses it
