"""Benchmark of the discrete-event model: the compiled engine against the SimPy reference.

Run: ``.venv/bin/python benchmarks/bench_des.py [--district] [--reference-days N] [--repeats N]``

Prints, on one core:

1. the compiled engine's first-run compile (or cache load) time, never counted in a run;
2. one whole replicate on the compiled engine, as ``run_replicate`` runs it: the CPU
   seconds of each phase (drawing, clinic and ambulance outputs, workload, engine,
   ``finish_log``, outputs) and the process's peak resident memory after each; with
   ``--repeats N``, N times in the same process (the first run's phases include the
   first touch of fresh memory, the later ones are the steady state of a worker that
   runs replicate after replicate);
3. compiled against reference on the very same workload of the first
   ``--reference-days`` days (default 365: the reference takes minutes for six years),
   their times, the ratio, and whether the two patient logs are identical.

``--district`` uses the shipped baseline scenario's central replicate, built by the same
pipeline the batches use; without it, ``sim.des.builder.synthetic_district()`` (synthetic
but district-sized: every volume is stated there).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from sim.des import compiled, hospital
from sim.des.arrivals import draw_inputs, run_clinics
from sim.des.builder import slice_days, synthetic_district
from sim.des.config import DesConfig
from sim.des.engine import _keep, _outputs, _side_outputs, _slim, compile_kernels
from sim.des.policies import MostFreeBeds, StrictTriage
from sim.des.workload import RawLog, Workload, build_workload, finish_log

SEED = 20250101


def district_config() -> DesConfig:
    """The shipped baseline scenario's central replicate, through the batch pipeline."""
    from sim.model.demography import project
    from sim.model.expected import expected_level, prepare_expected
    from sim.runs.pipeline import base_inputs, des_config
    from sim.scenario import draw, load

    root = Path(__file__).resolve().parent.parent
    sc = draw(load(root / "scenarios" / "baseline.toml"), 0)
    inputs = base_inputs(sc)
    projection = project(sc, inputs.demographic)
    state = prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)
    expected = expected_level(
        sc, projection, inputs.service, inputs.profiles, inputs.calendar, state
    )
    return des_config(sc, state, expected, inputs)


def _peak_gib() -> float:
    """Peak resident memory of this process so far, GiB (``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _identical(a: RawLog, b: RawLog) -> bool:
    for f in fields(RawLog):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return False
        elif x != y:
            return False
    return True


def whole_replicate(cfg: DesConfig) -> None:
    """One replicate as ``sim.des.engine.run_replicate`` runs it (each array let go as
    soon as nothing reads it), phase by phase: CPU seconds of this process
    (``time.process_time``, so another process on the machine does not count) and the
    peak resident memory after each phase."""
    phases: list[tuple[str, float, float]] = []
    clock = time.process_time()

    def done(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        phases.append((name, now - clock, _peak_gib()))
        clock = now

    clinics = run_clinics(cfg, SEED, 1)  # the clinics' day book: their diversions join the ED
    inputs = draw_inputs(cfg, SEED, 1, clinics)
    done("draw")
    side = _side_outputs(cfg, inputs, clinics)  # clinics and ambulances: part of the outputs
    kept = _keep(inputs)
    done("side outputs")
    work = build_workload(cfg, inputs)
    n_patients, n_ed = work.n_patients, work.n_ed
    del inputs
    done("workload")
    raw = compiled.simulate(work)
    done("engine")
    log = finish_log(_slim(work), raw, cfg)
    del raw, work
    done("finish_log")
    ds = _outputs(cfg, kept, [log], side, "compiled")
    del log
    done("outputs")
    total = sum(cpu for _, cpu, _ in phases)
    print(
        f"whole replicate, compiled engine: {n_patients:,} bed patients and {n_ed:,} ED "
        f"patients incl. warm-up; CPU seconds and peak resident memory after each phase:"
    )
    for name, cpu, peak in phases:
        print(f"  {name:<13} {cpu:6.2f} s   peak {peak:.2f} GiB")
    print(f"  {'total':<13} {total:6.2f} s   peak {_peak_gib():.2f} GiB")
    print("occupancy rate by year (pool x year):")
    print(ds["occupancy_rate_mean"].round(3).to_pandas().to_string())


def against_reference(cfg: DesConfig, days: int) -> None:
    part = slice_days(cfg, 0, days, min(cfg.warmup_days, 180))
    work: Workload = build_workload(part, draw_inputs(part, SEED, 1))
    ed_policy = part.ed.policy if part.ed is not None else StrictTriage()
    bed_policy = part.pooling.policy if part.pooling is not None else MostFreeBeds()
    t0 = time.process_time()
    fast = compiled.simulate(work)
    t1 = time.process_time()
    slow = hospital.simulate(work, ed_policy, bed_policy)
    t2 = time.process_time()
    print(
        f"same workload ({days} days + {part.warmup_days} warm-up, {work.n_patients:,} bed and "
        f"{work.n_ed:,} ED patients), CPU: compiled {t1 - t0:.2f} s, reference {t2 - t1:.1f} s, "
        f"ratio {(t2 - t1) / (t1 - t0):.0f}x; logs identical: {_identical(fast, slow)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--district", action="store_true", help="the shipped baseline scenario")
    parser.add_argument("--reference-days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=1, help="whole replicates, one by one")
    args = parser.parse_args()
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    ready = compiled.compile_engine() + compile_kernels()
    print(f"compiled kernels ready in {ready:.1f} s (compile or cache load, never counted)")
    cfg = district_config() if args.district else synthetic_district()
    print(f"config: {cfg.n_days} days + {cfg.warmup_days} warm-up, {len(cfg.pools)} pools")
    for _ in range(args.repeats):
        whole_replicate(cfg)
    against_reference(cfg, args.reference_days)


if __name__ == "__main__":
    main()
