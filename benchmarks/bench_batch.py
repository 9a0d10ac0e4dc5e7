"""Benchmark of batches of the shipped scenario set: wall time, speed-up, memory, disk.

Run: ``.venv/bin/python benchmarks/bench_batch.py [--replicates N] [--des-replicates K]
[--workers 1 2] [--scenarios FILE ...]``

For each worker count it runs the batch into a fresh temporary folder and prints the
wall time, the time per task, the peak resident memory of this process and of its
worker processes, and the size of the results on disk. The default is the main job
(the 8 shipped scenarios, 20 replicates of the expected level, the DES on replicate 0).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from sim.runs.batch import make_plan, run_batch
from sim.scenario import load

ROOT = Path(__file__).resolve().parent.parent


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class MemoryWatch:
    """Samples the resident memory of this process and all its descendants (worker
    processes are grandchildren under forkserver, which getrusage does not see)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_total = 0
        self.peak_worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = []
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss.append(proc.memory_info().rss)
                except psutil.Error:
                    continue
            self.peak_total = max(self.peak_total, sum(rss))
            self.peak_worker = max(self.peak_worker, max(rss[1:], default=0))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--des-replicates", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scenarios", nargs="+", default=None)
    args = parser.parse_args()
    files = args.scenarios or sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    scenarios = [load(f) for f in files]
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(
        f"batch: {len(scenarios)} scenarios x {args.replicates} replicates, "
        f"DES on {args.des_replicates} of them"
    )
    plan = make_plan(
        scenarios, args.replicates, seed=20251124, options={"des_replicates": args.des_replicates}
    )
    base = None
    for workers in args.workers:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-batch-w{workers}-"))
        t0 = time.perf_counter()
        with MemoryWatch() as memory:
            result = run_batch(plan, folder, workers=workers)
        wall = time.perf_counter() - t0
        tasks = result.computed
        base = base or wall
        print(
            f"workers {workers}: {wall:.1f} s for {tasks} tasks ({wall / tasks:.2f} s a task), "
            f"speed-up {base / wall:.2f}; "
            f"peak RSS all processes {memory.peak_total / 2**30:.1f} GiB, "
            f"largest worker {memory.peak_worker / 2**30:.1f} GiB; "
            f"results {_size(folder) / 2**20:.1f} MiB "
            f"({(folder / 'results.nc').stat().st_size / 2**20:.1f} MiB results.nc)"
        )
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
