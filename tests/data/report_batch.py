"""A small real batch for the summary, plot and report tests, built once per test session.

Two scenarios of a 1/20-size district (``small_district_population.csv``), 2025-2027,
three replicates, the DES on replicates 0 and 1: the reform scenario turns day surgery
on and carries a label and a description with HTML in them. About 12 s on one core.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runs.batch import make_plan, run_batch
from sim.scenario import Scenario, load_dict
from tests.small_district import small_district

REFORM_LABEL = '<script>alert("x")</script> & <b>day surgery</b>'
REFORM_DESCRIPTION = "Day surgery <i>rises</i> to 30% & beds stay as planned"
REPLICATES = 3
DES_REPLICATES = 2
SEED = 7


def scenarios() -> list[Scenario]:
    small = small_district(2027)
    reform_demand = {**small["demand"], "reforms": {"day_surgery": {"2025": 0.0, "2027": 0.3}}}
    return [
        load_dict({"name": "baseline", "label": "Baseline", **small}),
        load_dict(
            {
                "name": "reform",
                "label": REFORM_LABEL,
                "description": REFORM_DESCRIPTION,
                **{**small, "demand": reform_demand},
            }
        ),
    ]


_BUILT: dict[str, Path] = {}


def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The batch folder (results.nc, manifest.json); built on first use in the session."""
    if "folder" not in _BUILT:
        folder = tmp_path_factory.mktemp("report_batch")
        plan = make_plan(scenarios(), REPLICATES, SEED, options={"des_replicates": DES_REPLICATES})
        run_batch(plan, folder, workers=0)
        _BUILT["folder"] = folder
    return _BUILT["folder"]
