"""The library interface: the command line's features as functions returning Datasets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from sim.base.errors import ScenarioError
from sim.runs import batch
from sim.runs.store import open_results
from sim.scenario import Scenario, load

__all__ = ["default_batch_folder", "open_results", "run_batch"]

ROOT = Path(__file__).resolve().parents[2]


def default_batch_folder(plan: batch.Plan, results: Path | None = None) -> Path:
    """``results/batch-<plan fingerprint>``: the same command resumes the same batch."""
    return (results or ROOT / "results") / f"batch-{plan.fingerprint()[:10]}"


def run_batch(
    scenarios: Sequence[str | Path | Scenario],
    *,
    replicates: int = 1,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    des_replicates: int | None = None,
    engine: str | None = None,
    options: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Run (or resume) a batch of scenario files or Scenario objects and return its
    Dataset (dims scenario, replicate, ...), as ``run.py run`` does.

    ``seed`` defaults to ``run.seed`` of the first scenario; ``des_replicates=K`` runs
    the DES on replicates 0..K-1 only (default: every replicate; 0: expected level
    only); ``engine`` is the DES engine, ``"compiled"`` (the default: numba, compiled
    once before the tasks, then loaded from its cache) or ``"reference"`` (SimPy). The
    batch folder (default ``results/batch-<plan hash>``) keeps the task
    files, ``results.nc`` and ``manifest.json``; its path is in the Dataset's
    ``batch_folder`` attribute. See ``sim.runs.batch`` for resuming and faults."""
    loaded = [s if isinstance(s, Scenario) else load(s) for s in scenarios]
    if not loaded:
        raise ScenarioError(None, "scenarios", [], "name at least one scenario")
    opts = dict(options or {})
    if des_replicates is not None:
        opts["des_replicates"] = des_replicates
    if engine is not None:
        opts["engine"] = engine
    root_seed = loaded[0].run.seed if seed is None else seed
    plan = batch.make_plan(loaded, replicates, root_seed, options=opts)
    out = Path(folder) if folder is not None else default_batch_folder(plan)
    result = batch.run_batch(plan, out, workers=workers, scheduler=scheduler)
    ds = result.dataset
    ds.attrs.update(
        {
            "batch_folder": str(result.folder),
            "tasks_computed": result.computed,
            "tasks_reused": result.reused,
        }
    )
    return ds
