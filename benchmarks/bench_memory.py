"""Benchmark of the worker's heap policy (``sim.runs.memory.keep_freed_memory``).

Run: ``.venv/bin/python benchmarks/bench_memory.py [--repeat 4] [--rounds 2]``

A batch's worker runs one district DES replicate after another in one process. This
runs ``--repeat`` replicates of the shipped baseline in a fresh process with glibc's
default policy and in one with the kept heap, alternately for ``--rounds`` rounds (so a
slow spell of the machine touches both), and prints each replicate's CPU seconds, the
mean of all but each process's first (the steady state of a worker), their ratio, and
each process's peak resident memory. Compile time is excluded (the kernels are loaded
from numba's cache before the first replicate).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20250101


def _one_process(policy: str, repeat: int) -> None:
    """Inside a child: the replicates, as JSON on stdout."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_des import district_config

    from sim.des.engine import compile_kernels, run_replicate
    from sim.runs.memory import keep_freed_memory

    if policy == "kept":
        keep_freed_memory()
    compile_kernels()
    cfg = district_config()
    seconds = []
    for r in range(1, repeat + 1):
        start = time.process_time()
        run_replicate(cfg, SEED, r)
        seconds.append(time.process_time() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"seconds": seconds, "peak_gib": peak}))


def _child(policy: str, repeat: int) -> dict[str, list[float] | float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", policy, "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, list[float] | float] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=4, help="replicates per process")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of processes")
    parser.add_argument("--child", choices=["default", "kept"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _one_process(args.child, args.repeat)
        return
    steady: dict[str, list[float]] = {"default": [], "kept": []}
    for _ in range(args.rounds):
        for policy in ("default", "kept"):
            res = _child(policy, args.repeat)
            secs = res["seconds"]
            assert isinstance(secs, list)
            steady[policy] += secs[1:]
            shown = " ".join(f"{s:.2f}" for s in secs)
            print(f"{policy:>7}: replicates {shown} s CPU; peak {res['peak_gib']:.2f} GiB")
    mean = {p: statistics.mean(v) for p, v in steady.items()}
    print(
        f"steady state (all but each process's first replicate): default {mean['default']:.2f} s,"
        f" kept {mean['kept']:.2f} s, ratio {mean['default'] / mean['kept']:.2f}"
    )


if __name__ == "__main__":
    main()
