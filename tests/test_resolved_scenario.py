"""The drawn scenario of every task, saved with its results: the check that a drawn
scenario holds no distribution, the JSON variable ``resolved_scenario`` in the task files
and results.nc, and :func:`sim.runs.store.resolved_scenario`, which reads it back.

The batch: two scenarios of the small district, 2025-2027, three replicates, no DES;
``uniform`` draws its target occupancy from ``{dist = "uniform", low = 0.88, high =
0.92}`` (central value 0.90), ``baseline`` keeps the schema's defaults; and a sweep of
``uniform`` over two occupancy targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import ValidationError

from sim.base import names
from sim.base.errors import ScenarioError
from sim.model import summary
from sim.runs.batch import make_plan, run_batch, task_scenario
from sim.runs.pipeline import run_replicate_all
from sim.runs.store import open_results, resolved_scenario
from sim.scenario import Scenario, check_drawn, draw, load_dict, load_drawn, number
from sim.scenario.types import DRAWN_CONTEXT, Bounds, Strict, YearPath
from tests.small_district import small_district

UNIFORM = {"dist": "uniform", "low": 0.88, "high": 0.92}
REPLICATES = 3
SEED = 11
SWEPT = (0.8, 0.95)


def _scenarios() -> list[Scenario]:
    small = small_district(2027)
    return [
        load_dict({"name": "uniform", **small, "capacity": {"targets": {"occupancy": UNIFORM}}}),
        load_dict({"name": "baseline", **small}),
    ]


def _batch(folder: Path, points: dict[str, list[dict[str, float]]] | None = None):
    scenarios = _scenarios() if points is None else _scenarios()[:1]
    plan = make_plan(scenarios, REPLICATES, SEED, points, options={"des_replicates": 0})
    run_batch(plan, folder, workers=0)
    return plan, open_results(folder)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):
    """The plan and its results.nc, as saved and opened again."""
    return _batch(tmp_path_factory.mktemp("resolved"))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory):
    points = {"uniform": [{"capacity.targets.occupancy": v} for v in SWEPT]}
    return _batch(tmp_path_factory.mktemp("resolved_sweep"), points)


# ------------------------------------------------------------------ saved and read back
def test_the_saved_resolved_scenario_round_trips_to_the_drawn_one(batch):
    plan, ds = batch
    assert ds[names.RESOLVED_SCENARIO].dims == (names.SCENARIO, names.REPLICATE)
    for task in plan.tasks():
        drawn = draw(task_scenario(plan, task), task.replicate, task.seed)
        saved = resolved_scenario(ds, task.scenario, task.replicate)
        assert saved == drawn, task.id
        check_drawn(saved)
    first, second = (resolved_scenario(ds, "uniform", r) for r in (1, 2))
    assert first != second, "replicates draw their own values"


def test_a_uniform_occupancy_target_is_its_midpoint_in_replicate_0(batch):
    _, ds = batch
    occupancy = [
        resolved_scenario(ds, "uniform", r).capacity.targets.occupancy for r in range(REPLICATES)
    ]
    stored = ds[names.TARGET_OCCUPANCY].sel(scenario="uniform").values.tolist()
    assert occupancy == stored, "the saved scenario and target_occupancy agree"
    assert occupancy[0] == pytest.approx(0.90, abs=1e-12)
    assert all(0.88 <= v <= 0.92 for v in occupancy)
    assert len(set(occupancy)) == REPLICATES, "replicates 1 and 2 draw from the uniform"


def test_plan_targets_agree_with_the_saved_resolved_scenario_of_every_scenario(batch):
    plan, ds = batch
    targets = summary.plan_targets(ds)
    assert set(targets) == set(plan.scenarios)
    for name, t in targets.items():
        sc = resolved_scenario(ds, name, 0).capacity
        assert t.year == sc.plan_target.year
        assert t.beds == (sc.plan_target.beds if sc.plan_target.enabled else None)
        tg = sc.targets
        assert (t.physicians_per_1000, t.nurses_per_1000, t.nurse_physician_ratio) == (
            tg.physicians_per_1000,
            tg.nurses_per_1000,
            tg.nurse_physician_ratio,
        )
        assert (t.life_expectancy, t.occupancy, t.bed_wait_probability) == (
            tg.life_expectancy,
            tg.occupancy,
            tg.bed_wait_probability,
        )
        assert (t.ed_wait_hours, t.ed_wait_probability, t.ambulance_wait_probability) == (
            tg.ed_wait_hours,
            tg.ed_wait_probability,
            tg.ambulance_wait_probability,
        )


def test_a_sweep_saves_the_resolved_scenario_of_each_point(sweep):
    plan, ds = sweep
    assert ds[names.RESOLVED_SCENARIO].dims == (names.SCENARIO, "point", names.REPLICATE)
    for task in plan.tasks():
        saved = resolved_scenario(ds, task.scenario, task.replicate, task.point)
        assert saved == draw(task_scenario(plan, task), task.replicate, task.seed)
        assert saved.capacity.targets.occupancy == SWEPT[task.point]
    with pytest.raises(ScenarioError, match="give the sweep point"):
        resolved_scenario(ds, "uniform", 0)


def test_results_without_resolved_scenarios_or_the_task_are_refused(batch):
    _, ds = batch
    with pytest.raises(ScenarioError, match="written before"):
        resolved_scenario(ds.drop_vars(names.RESOLVED_SCENARIO), "uniform", 0)
    with pytest.raises(ScenarioError, match="no such task"):
        resolved_scenario(ds, "uniform", REPLICATES)
    # a batch resumed from task files of before: xarray fills the missing text as ""
    # in results.nc (NaN before it is saved)
    for gap in ("", float("nan")):
        cells = ds[names.RESOLVED_SCENARIO].astype(object)
        cells.loc[{names.SCENARIO: "uniform", names.REPLICATE: 1}] = gap
        with pytest.raises(ScenarioError, match="not stored with it"):
            resolved_scenario(ds.assign({names.RESOLVED_SCENARIO: cells}), "uniform", 1)


# ------------------------------------------------------------------ no distribution left
def test_check_drawn_names_every_distribution_left():
    sc = load_dict(
        {"name": "x", "demography": {"tfr": {"2021": 1.2, "2030": {"low": 0.9, "high": 1.1}}}}
    )
    with pytest.raises(TypeError) as info:
        check_drawn(sc)
    assert "demography.tfr.2030" in str(info.value)
    assert "capacity.targets.occupancy" not in str(info.value), "a number is no distribution"
    check_drawn(draw(sc, 1))
    tri = sc.capacity.second_tcm.opening
    hidden = sc.model_copy(update={"capacity": sc.capacity.model_copy(update={"additions": [tri]})})
    with pytest.raises(TypeError, match=r"capacity\.additions\[0\]"):
        check_drawn(hidden)  # a list is searched too (the draw resolves no list)


def test_the_pipeline_refuses_an_undrawn_scenario_before_any_work():
    with pytest.raises(TypeError, match=r"capacity\.second_tcm\.opening"):
        run_replicate_all(load_dict({"name": "x"}), SEED, 0, des=False)


def test_number_refuses_a_distribution():
    sc = load_dict({"name": "x"})
    # the default opening is triangular 2027.5 / 2028.5 / 2030
    assert number(draw(sc, 0).capacity.second_tcm.opening) == pytest.approx(
        2030 - (2.5 * 1.5 / 2) ** 0.5
    ), "replicate 0 takes the median"
    with pytest.raises(TypeError, match="draw first"):
        number(sc.capacity.second_tcm.opening)


def test_a_draw_that_breaks_a_check_of_central_values_is_still_read_back():
    """p_abandon + p_divert_ed + p_divert_outpatient is at most 1 at the central values
    (0.45 + 0.02 + 0.40), not in every draw: the saved draw must be read back as it ran."""
    clinics = {
        "p_abandon": {"dist": "uniform", "low": 0.3, "high": 0.6},
        "p_divert_outpatient": {"dist": "uniform", "low": 0.3, "high": 0.5},
    }
    sc = load_dict({"name": "x", "des": {"clinics": clinics}})
    drawn = next(
        d
        for d in (draw(sc, r) for r in range(1, 50))
        if d.des.clinics.p_abandon + d.des.clinics.p_divert_ed + d.des.clinics.p_divert_outpatient
        > 1.0
    )
    text = drawn.model_dump_json()
    assert load_drawn(text) == drawn
    with pytest.raises(ValidationError, match="must not exceed 1"):
        Scenario.model_validate_json(text)  # as a scenario file it breaks the check
    assert Scenario.model_validate_json(text, context=DRAWN_CONTEXT) == drawn


def test_load_drawn_refuses_what_is_no_drawn_scenario():
    with pytest.raises(ScenarioError, match="not a drawn scenario"):
        load_drawn("[1, 2]")
    with pytest.raises(ScenarioError, match="occupancy"):
        load_drawn('{"name": "x", "capacity": {"targets": {"occupancy": 2.0}}}')
    with pytest.raises(TypeError, match="distributions"):
        load_drawn(load_dict({"name": "x"}).model_dump_json())


# ------------------------------------------------------------------ the schema's types
def test_bounds_of_a_value_on_a_year_path_fail_when_the_model_is_made():
    with pytest.raises(TypeError, match="Bounds annotates an Uncertain"):

        class Wrong(Strict):
            path: Annotated[YearPath, Bounds(0.0, 1.0, "fraction")] = 0.0
