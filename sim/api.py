"""The library interface: the command line's features as functions returning Datasets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim import batch
from sim.scenario import Scenario, load
from sim.store import open_results

__all__ = ["default_batch_folder", "open_results", "run_batch"]

ROOT = Path(__file__).resolve().parent.parent


def default_batch_folder(plan: batch.Plan, results: Path | None = None) -> Path:
    """``results/batch-<plan fingerprint>``: the same command resumes the same batch."""
    return (results or ROOT / "results") / f"batch-{plan.fingerprint()[:10]}"


def run_batch(
    scenarios: Sequence[str | Path | Scenario],
    *,
    replicates: int = 1,
    seed: int = 20251124,
    workers: int = 1,
    scheduler: str | None = None,
    folder: str | Path | None = None,
    options: dict[str, Any] | None = None,
) -> batch.BatchResult:
    """Run (or resume) a batch of scenario files or Scenario objects; see ``sim.batch``."""
    loaded = [s if isinstance(s, Scenario) else load(s) for s in scenarios]
    plan = batch.make_plan(loaded, replicates, seed, options=options)
    out = Path(folder) if folder is not None else default_batch_folder(plan)
    return batch.run_batch(plan, out, workers=workers, scheduler=scheduler)
