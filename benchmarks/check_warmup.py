"""Is the DES's warm-up long enough? The first simulated year under two warm-ups.

Run: ``.venv/bin/python benchmarks/check_warmup.py [--warmups 365 182] [--replicates 8]``

The DES starts empty at minus the warm-up and repeats the first year's rates during it
(``DesConfig.warmup = "first_year"``). If a warm-up is long enough, the statistics of
the first simulated year (2025) do not depend on it. This runs the shipped baseline
scenario's central configuration (``bench_des.district_config``) on the compiled
engine, replicates 1..N, under each warm-up, and prints for 2025 the mean over the
replicates and its standard error of: mean occupancy (all pools), probability of a
bed wait, mean emergency bed wait (days), elective patients deferred, ED boarding
(patient-days) and mean ED wait (days). The replicates of two warm-ups are not paired
(their draws start on different days), so compare the difference with the two
standard errors combined.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
from bench_des import SEED, district_config

from sim.des import compiled
from sim.des.engine import compile_kernels, run_replicate

FIRST_YEAR = 2025
MEASURES = {
    "occupancy_rate_mean": "mean",
    "p_bed_wait": "sum",
    "bed_wait_mean_emergency": "sum",
    "elective_patients_deferred_year": "sum",
    "ed_boarding_total": "sum",
    "ed_wait_mean": "sum",
}
"""Output variable and how its 2025 values (by pool, acuity ...) are reduced."""


def first_year(warmup_days: int, replicates: int) -> dict[str, list[float]]:
    """The 2025 value of each measure on replicates 1..``replicates``."""
    cfg = dataclasses.replace(district_config(), warmup_days=warmup_days)
    values: dict[str, list[float]] = {name: [] for name in MEASURES}
    for rep in range(1, replicates + 1):
        ds = run_replicate(cfg, SEED, rep)
        for name, how in MEASURES.items():
            v = ds[name].sel(year=FIRST_YEAR)
            values[name].append(float(v.mean() if how == "mean" else v.sum()))
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warmups", type=int, nargs=2, default=[365, 182])
    parser.add_argument("--replicates", type=int, default=8)
    args = parser.parse_args()
    compiled.compile_engine()
    compile_kernels()
    results = {w: first_year(w, args.replicates) for w in args.warmups}
    (a, b) = args.warmups
    print(f"2025 under warm-ups of {a} and {b} days, {args.replicates} replicates each")
    for name in MEASURES:
        x, y = np.array(results[a][name]), np.array(results[b][name])
        se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z = (y.mean() - x.mean()) / se if se > 0 else 0.0
        print(f"  {name:<34} {x.mean():10.4f} {y.mean():10.4f}   difference {z:+.1f} s.e.")


if __name__ == "__main__":
    main()
