"""Benchmark of the model with a sample dimension: per-sample cost of each stage done
for many samples in one call, against the same stage one sample at a time, in the same
run (so that the noise of a shared machine falls on both alike).

Run: ``.venv/bin/python benchmarks/bench_vectorised.py --projection 1 100 1000 10000``

``--projection N ...``: ``sim.model.demography.project_many`` on N drawn replicates of
``--scenario`` (calls of at most ``--chunk`` samples), against ``project`` one at a time
on ``--reference`` of them; CPU seconds (``time.process_time``) per sample, the minimum
of ``--repeats`` runs; and the peak of memory allocated during one call of ``--chunk``
samples (``tracemalloc``, which numpy reports its arrays to).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.data import load_demographic_tables  # noqa: E402
from sim.model.demography import project, project_many  # noqa: E402
from sim.scenario import Scenario, draw, load  # noqa: E402

DRAWN = 200
"""Replicates drawn; larger N reuse them in turn (no stage looks for repeats)."""


def samples(path: Path, n: int) -> list[Scenario]:
    sc = load(path)
    drawn = [draw(sc, r) for r in range(min(n, DRAWN))]
    return [drawn[i % len(drawn)] for i in range(n)]


def cpu_seconds(run: Callable[[], object], repeats: int) -> float:
    """Least CPU time of ``repeats`` calls of ``run``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def peak_mib(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_projection(
    path: Path, ns: Sequence[int], chunk: int, reference: int, repeats: int
) -> None:
    tables = load_demographic_tables()
    pool = samples(path, max(ns))
    project_many(pool[:2], tables)  # warm: the alpha table of the standard, imports
    one = pool[:reference]
    single = cpu_seconds(lambda: [project(sc, tables) for sc in one], repeats) / len(one)
    print(f"projection, {path.name}, end {pool[0].run.end_year}, chunks of {chunk}")
    print(f"  project one at a time ({len(one)} samples): {single * 1e3:8.3f} ms per sample")
    for n in ns:
        batch = pool[:n]

        def many(batch: list[Scenario] = batch) -> None:
            for lo in range(0, len(batch), chunk):
                project_many(batch[lo : lo + chunk], tables)

        per = cpu_seconds(many, repeats) / n
        print(
            f"  project_many N = {n:6d}: {per * 1e3:8.3f} ms per sample "
            f"({single / per:5.1f} x faster than one at a time)"
        )
    mib = peak_mib(lambda: project_many(pool[:chunk], tables))
    print(f"  peak memory allocated by one call of {chunk} samples: {mib:.0f} MiB")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projection", type=int, nargs="+", metavar="N")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.toml")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--reference", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.projection:
        parser.error("name a stage to time, e.g. --projection 1 100 1000")
    bench_projection(args.scenario, args.projection, args.chunk, args.reference, args.repeats)


if __name__ == "__main__":
    main()
