"""Benchmark of the up-front drawing (``sim.des.arrivals.draw_inputs``) on the district,
and proof that a change to it leaves every drawn array bit for bit as it was.

Run: ``.venv/bin/python benchmarks/bench_draw.py [--against REV] [--repeats N]``

Without ``--against``: the CPU seconds (``time.process_time``) of the first call in
this process (fresh memory: page faults) and of ``--repeats`` further calls.

With ``--against REV --first-of old|new``: only the first call of one of them (run
each in a process of its own).

With ``--against REV``: the drawing modules of git revision REV (``arrivals``,
``sampling``, ``clinics``) are written to a temporary package and imported next to
today's; both draw replicates 0, 1 and 2 of the district, every array of the two
``RandomInputs`` is compared with ``np.array_equal`` (NaN equal to NaN), and then the
two are timed alternately in this one process (old, new, old, new, ...), so that the
noise of a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import importlib
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_des import SEED, district_config

from sim.des import arrivals

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("arrivals", "sampling", "clinics")


def old_arrivals(rev: str, into: Path) -> ModuleType:
    """The drawing of revision ``rev`` as the package ``old_draw`` under ``into``."""
    package = into / "old_draw"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name in MODULES:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:sim/des/{name}.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for other in MODULES:
            text = text.replace(f"from sim.des.{other} import", f"from old_draw.{other} import")
        (package / f"{name}.py").write_text(text, encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module("old_draw.arrivals")


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """The places where two drawn results differ (dtype, shape or any bit of a value)."""
    if isinstance(a, np.ndarray):
        same = a.dtype == b.dtype and a.shape == b.shape
        same = same and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        return [] if same else [where]
    if is_dataclass(a) and not isinstance(a, type):
        return [
            d
            for f in fields(a)
            for d in differences(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        ]
    if isinstance(a, tuple):
        if len(a) != len(b):
            return [where]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for k, (x, y) in pairs for d in differences(x, y, f"{where}[{k}]")]
    return [] if a == b else [where]


def _cpu(draw: Any, cfg: Any, more: dict[str, list[float]] | None = None) -> float:
    """CPU seconds of one draw (user + system: the system part is mostly the page
    faults of fresh memory); its user seconds and minor page faults go to ``more``."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.process_time()
    draw(cfg, SEED, 1)
    seconds = time.process_time() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    if more is not None:
        more.setdefault("user", []).append(after.ru_utime - before.ru_utime)
        more.setdefault("faults", []).append(after.ru_minflt - before.ru_minflt)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", help="git revision whose drawing is the reference")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--first-of",
        choices=("old", "new"),
        help="with --against: time only the first call of this one (run each in its own process)",
    )
    args = parser.parse_args()
    cfg = district_config()
    arrivals.compile_draws()
    if args.against is None:
        print(f"first call {_cpu(arrivals.draw_inputs, cfg):.3f} s")
        steady = [_cpu(arrivals.draw_inputs, cfg) for _ in range(args.repeats)]
        listed = " ".join(f"{t:.3f}" for t in steady)
        print(f"steady state {listed}  min {min(steady):.3f} s, median {np.median(steady):.3f} s")
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = old_arrivals(args.against, Path(tmp))
        old.compile_draws()
        if args.first_of is not None:
            draw = old.draw_inputs if args.first_of == "old" else arrivals.draw_inputs
            print(f"first call of {args.first_of}: {_cpu(draw, cfg):.3f} s")
            return
        for rep in (0, 1, 2):
            bad = differences(old.draw_inputs(cfg, SEED, rep), arrivals.draw_inputs(cfg, SEED, rep))
            print(f"replicate {rep}: " + ("identical" if not bad else f"DIFFER in {bad}"))
        times: dict[str, list[float]] = {"old": [], "new": []}
        more: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
        for _ in range(args.repeats):
            times["old"].append(_cpu(old.draw_inputs, cfg, more["old"]))
            times["new"].append(_cpu(arrivals.draw_inputs, cfg, more["new"]))
        for name, ts in times.items():
            listed = " ".join(f"{t:.3f}" for t in ts)
            user, faults = more[name]["user"], more[name]["faults"]
            print(
                f"{name}: {listed}  min {min(ts):.3f} s, median {np.median(ts):.3f} s; "
                f"user min {min(user):.3f} median {np.median(user):.3f} s; "
                f"median {np.median(faults):.0f} page faults"
            )


if __name__ == "__main__":
    main()
