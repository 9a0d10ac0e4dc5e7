"""Benchmark of the vectorised expected level (``sim.model.expected.expected_many``)
against ``expected_level`` one sample at a time, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_expected_many.py [--sizes 1,100,1000]
[--reference 20] [--chunk 1000] [--repeats 3]``

The samples are points of ``sweeps/sobol_beds_2030.toml``'s four inputs (ALOS,
admissions growth, the older-patient LOS multiplier, TFR 2030), uniform in their
ranges (stream ``bench_expected_many`` of ``sim.base.rng``), applied to
``scenarios/baseline.toml``. Projections are computed before the clock starts (the
projection is another module's work). Printed: CPU seconds (``time.process_time``) per
sample of ``expected_many`` at each batch size, the minimum over ``--repeats``, and of
``expected_level`` over ``--reference`` samples one at a time, the two alternating;
then the peak of Python's allocations (tracemalloc) of one ``expected_many`` call on a
chunk of ``--chunk`` samples.
"""

from __future__ import annotations

import argparse
import time
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import xarray as xr

from sim.base.names import SAMPLE
from sim.base.rng import generator
from sim.data import load_demographic_tables
from sim.data.profiles import load_holidays, load_profiles
from sim.data.service_tables import load_service_tables
from sim.model.demography import project
from sim.model.expected import expected_level, expected_many
from sim.scenario import Scenario, draw, load_dict
from sim.scenario.load import read_layers
from sim.scenario.sweep import apply_point

ROOT = Path(__file__).resolve().parents[1]


def samples(n: int) -> list[Scenario]:
    """``n`` resolved scenarios at random points of the Sobol sweep's ranges."""
    params = tomllib.loads((ROOT / "sweeps" / "sobol_beds_2030.toml").read_text())["parameters"]
    gen = generator(12, 0, "bench_expected_many")
    raw, _ = read_layers(ROOT / "scenarios" / "baseline.toml")
    out = []
    for _ in range(n):
        point = {k: float(gen.uniform(v["low"], v["high"])) for k, v in params.items()}
        out.append(draw(load_dict(apply_point(raw, point)), 0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000")
    ap.add_argument("--reference", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    n = max([*sizes, args.reference, args.chunk])
    scs = samples(n)
    tables = load_demographic_tables(scs[0].data.model_dump())
    projections = [project(sc, tables) for sc in scs]
    common: tuple[Any, ...] = (load_service_tables(), load_profiles(), load_holidays())
    expected_many(scs[:2], xr.concat(projections[:2], dim=SAMPLE), *common)  # warm caches, jit
    for size in sizes:
        stacked = xr.concat(projections[:size], dim=SAMPLE)
        many, one = [], []
        for _ in range(args.repeats):
            t0 = time.process_time()
            expected_many(scs[:size], stacked, *common)
            many.append((time.process_time() - t0) / size)
            k = min(args.reference, size)
            t0 = time.process_time()
            for sc, p in zip(scs[:k], projections[:k], strict=True):
                expected_level(sc, p, *common)
            one.append((time.process_time() - t0) / k)
        print(
            f"N = {size:5d}: expected_many {min(many) * 1e3:8.2f} ms a sample, "
            f"expected_level one at a time {min(one) * 1e3:8.2f} ms "
            f"(ratio {min(one) / min(many):.2f})"
        )
    stacked = xr.concat(projections[: args.chunk], dim=SAMPLE)
    tracemalloc.start()
    expected_many(scs[: args.chunk], stacked, *common)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak allocations of expected_many on {args.chunk} samples: {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
