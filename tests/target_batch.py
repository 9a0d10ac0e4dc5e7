"""A small expected-level batch whose scenarios move their plan targets, for the tests of
the targets the summary, figures and report compare with. Built once per test session
(about 3 s on one core).

Two scenarios of the small district, 2025-2030, three replicates, no DES:
``accelerated`` (first in alphabetical order, as the shipped
``accelerated_investment`` is) moves its plan's target year to 2028 and draws its target
occupancy from ``{low = 0.88, high = 0.92}``; ``baseline`` keeps the schema's defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runs.batch import make_plan, run_batch
from sim.scenario import Scenario, load_dict
from tests.small_district import small_district

MOVED = "accelerated"
DEFAULT = "baseline"
MOVED_YEAR = 2028
OCCUPANCY = {"low": 0.88, "high": 0.92}
END_YEAR = 2030
REPLICATES = 3
SEED = 11


def scenarios() -> list[Scenario]:
    small = small_district(END_YEAR)
    moved = {"plan_target": {"year": MOVED_YEAR}, "targets": {"occupancy": OCCUPANCY}}
    return [
        load_dict({"name": MOVED, **small, "capacity": moved}),
        load_dict({"name": DEFAULT, **small}),
    ]


_BUILT: dict[str, Path] = {}


def target_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The batch folder (results.nc, manifest.json); built on first use in the session."""
    if "folder" not in _BUILT:
        folder = tmp_path_factory.mktemp("target_batch")
        plan = make_plan(scenarios(), REPLICATES, SEED, options={"des_replicates": 0})
        run_batch(plan, folder, workers=0)
        _BUILT["folder"] = folder
    return _BUILT["folder"]
