"""Capacity timeline: bed splits, dated openings, the plan's target, GP and other resources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.base.errors import ScenarioError
from sim.data.service_tables import POOLS
from sim.model.capacity import (
    PLAN_TRANCHE_MONTH_DAY,
    TCM_ACUTE_POOLS,
    BaseCapacity,
    allocate,
    base_pool_beds,
    bed_changes,
    beds_on,
    date_of_decimal_year,
    timeline,
)
from sim.model.demography import project
from sim.model.expected import ExpectedState, prepare_expected
from sim.runs.pipeline import base_inputs
from sim.scenario import draw, load, load_dict
from sim.scenario.types import central

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def state() -> ExpectedState:
    """The shipped baseline at its central values, calibrated to its base year: the
    expectations below are read from it and from the schema's defaults, so that a change
    of a shipped number moves them from one place."""
    sc = draw(load(BASELINE), 0)
    inputs = base_inputs(sc)
    projection = project(sc, inputs.demographic)
    return prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)


@pytest.fixture(scope="module")
def base(state: ExpectedState) -> BaseCapacity:
    return state.base


def _capacity(**section: Any):  # type: ignore[no-untyped-def]
    return draw(load_dict({"name": "c", "capacity": section}), 0).capacity


def _base_beds(base: BaseCapacity) -> int:
    return sum(base.pool_beds.values())


def _tcm_beds(cap: Any) -> int:
    return cap.second_tcm.acute_beds + cap.second_tcm.elderly_care_beds


def _end_of(year: int) -> list[dt.date]:
    return [dt.date(year, 12, 31)]


def test_allocate_splits_whole_beds_in_proportion(base: BaseCapacity) -> None:
    beds, weights = _capacity().projects_2025.beds, base.pool_beds
    parts = allocate(beds, weights)
    assert sum(parts.values()) == beds
    share = {p: beds * b / sum(weights.values()) for p, b in weights.items()}
    assert all(abs(parts[p] - share[p]) < 1 for p in weights)
    assert allocate(-7, {"a": 1.0, "b": 1.0}) in ({"a": -4, "b": -3}, {"a": -3, "b": -4})
    assert allocate(3, {"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 1, "b": 1, "c": 1}


def test_base_pool_beds_keep_the_rounded_total(state: ExpectedState) -> None:
    sc, cal = draw(load(BASELINE), 0), state.cal
    # beds per 1,000 at the calibrated end-of-year population: not a whole number of beds
    per_1000 = float(sc.capacity.beds_per_1000) * central(sc.calibration.population) / 1000
    assert cal.beds_total == pytest.approx(per_1000, rel=1e-9)
    assert cal.beds_total != round(cal.beds_total)
    beds = base_pool_beds(cal.beds_total, cal.pool_beds)
    assert sum(beds.values()) == round(cal.beds_total) and set(beds) == set(POOLS)


def test_decimal_years_map_to_dates() -> None:
    assert date_of_decimal_year(2028.0) == dt.date(2028, 1, 1)
    assert date_of_decimal_year(2027.5) == dt.date(2027, 7, 2)
    assert date_of_decimal_year(2026.9999) == dt.date(2026, 12, 31)


def test_default_timeline_reaches_the_plan_target_by_the_end_of_its_year(
    base: BaseCapacity,
) -> None:
    cap = _capacity()
    target, p25, tcm = cap.plan_target, cap.projects_2025, cap.second_tcm
    changes = bed_changes(cap, base)
    assert beds_on(base, changes, _end_of(target.year))[:, 0].sum() == target.beds
    projects = [c for c in changes if c.label.startswith("2025")]
    assert sum(c.beds for c in projects) == p25.beds
    assert {c.date for c in projects} == {date_of_decimal_year(p25.opening)}
    tcm_changes = [c for c in changes if "Second TCM" in c.label]
    assert sum(c.beds for c in tcm_changes if c.pool == "elderly_care") == tcm.elderly_care_beds
    assert sum(c.beds for c in tcm_changes if c.pool != "elderly_care") == tcm.acute_beds
    assert {c.pool for c in tcm_changes if c.pool != "elderly_care"} <= set(TCM_ACUTE_POOLS)
    assert {c.date for c in tcm_changes} == {date_of_decimal_year(tcm.opening)}  # central
    tranches = [c for c in changes if c.label.startswith("plan target")]
    years = range(target.first_year, target.year + 1)
    assert {c.date for c in tranches} == {dt.date(y, *PLAN_TRANCHE_MONTH_DAY) for y in years}
    # the named projects open before the target's year ends: the tranches make up the rest
    rest = target.beds - _base_beds(base) - p25.beds - _tcm_beds(cap)
    assert sum(c.beds for c in tranches) == rest > 0


def test_projects_counted_in_the_base_are_not_added_twice(base: BaseCapacity) -> None:
    cap = _capacity(projects_2025={"in_base": True})
    changes = bed_changes(cap, base)
    assert not [c for c in changes if c.label.startswith("2025")]
    assert beds_on(base, changes, _end_of(cap.plan_target.year)).sum() == cap.plan_target.beds


def test_without_the_plan_target_only_named_projects_open(base: BaseCapacity) -> None:
    cap = _capacity(plan_target={"enabled": False})
    changes = bed_changes(cap, base)
    named = _base_beds(base) + cap.projects_2025.beds + _tcm_beds(cap)
    assert beds_on(base, changes, _end_of(cap.plan_target.year)).sum() == named


def test_elderly_care_beds_outside_the_target_get_no_tranche(base: BaseCapacity) -> None:
    cap = _capacity(plan_target={"count_elderly_care": False})
    changes = bed_changes(cap, base)
    tranches = [c for c in changes if c.label.startswith("plan target")]
    assert all(c.pool != "elderly_care" for c in tranches)
    on = beds_on(base, changes, _end_of(cap.plan_target.year))[:, 0]
    assert on.sum() - on[POOLS.index("elderly_care")] == cap.plan_target.beds


def test_additions_and_closures_take_effect_on_their_day(base: BaseCapacity) -> None:
    cap = _capacity(
        plan_target={"enabled": False},
        second_tcm={"enabled": False},
        additions=[
            {"pool": "icu", "beds": 60, "opening": 2027.0, "label": "ICU wing"},
            {"pool": "paediatrics", "beds": -100, "opening": 2029.0},
        ],
    )
    changes = bed_changes(cap, base)
    icu, paed = POOLS.index("icu"), POOLS.index("paediatrics")
    days = [dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2029, 1, 1)]
    on = beds_on(base, changes, days)
    assert on[icu, 1] - on[icu, 0] == 60
    assert on[paed, 2] - on[paed, 1] == -100


def _day(date: dt.date) -> dict[str, int]:
    return {"year": date.year, "day": date.timetuple().tm_yday}


def test_timeline_dataset_by_year_and_day(base: BaseCapacity) -> None:
    cap = _capacity(
        gp={"count": {"2025": 2528, "2030": 3028}, "productivity": {"2025": 1.0, "2030": 1.2}},
        ambulances=150,
    )
    opened = date_of_decimal_year(float(cap.projects_2025.opening))
    tranche = dt.date(cap.plan_target.first_year, *PLAN_TRANCHE_MONTH_DAY)
    ds = timeline(cap, base, sorted({base.year, opened.year, tranche.year, 2028}))
    assert ds["beds"].sel(year=2025, day=366).isnull().all()
    assert not ds["beds"].sel(year=2028, day=366).isnull().any()
    medicine = ds["beds"].sel(pool="medicine")
    assert medicine.sel(_day(opened)) > base.pool_beds["medicine"]  # the 2025 projects
    before = tranche - dt.timedelta(days=1)
    assert medicine.sel(_day(tranche)) > medicine.sel(_day(before))  # the first tranche
    assert ds["beds_end"].sel(year=base.year).sum() == _base_beds(base)
    assert float(ds["gps"].sel(year=2028)) == pytest.approx(2528 + 300)
    assert float(ds["gp_productivity"].sel(year=2028)) == pytest.approx(1.12)
    assert np.allclose(ds["ambulances"].values, 150)
    assert np.allclose(ds["ed_spaces"].values, base.ed_spaces)  # none given: the base value
    assert float(ds["gp_visits_per_gp"].sel(year=base.year)) == base.visits_per_gp
    for name, var in ds.data_vars.items():
        assert var.attrs.get("units") and var.attrs.get("long_name"), name


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '[[capacity.additions]]\npool = "medcine"\nbeds = 10\nopening = 2027.0',
            "capacity.additions.0.pool = 'medcine'",
        ),
        (
            "[capacity.plan_target]\nfirst_year = 2031",
            "capacity.plan_target.first_year = 2031: must not be after year (2030)",
        ),
        (
            '[capacity.bed_pool]\npools = ["medicine", "medicine"]',
            "capacity.bed_pool.pools = ['medicine', 'medicine']: "
            "must name at least two different pools",
        ),
        (
            "[capacity]\nbeds_per_1000 = 40",
            "capacity.beds_per_1000 = 40: must be a number from 0.5 to 20",
        ),
        (
            "[capacity.second_tcm]\nopenning = 2028.0",
            "capacity.second_tcm.openning = 2028.0: unknown key; allowed here: acute_beds",
        ),
        (
            "[capacity.gp]\nproductivity = {2025 = 1.0, 2030 = 9.0}",
            "capacity.gp.productivity.2030 = 9.0: must be a number from 0.5 to 3",
        ),
        (
            "[capacity.targets]\nbed_wait_probability = 1.5",
            "capacity.targets.bed_wait_probability = 1.5",
        ),
    ],
)
def test_bad_capacity_inputs_give_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text('name = "bad"\n' + text + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load(file)
    assert "\n" not in str(err.value) and fragment in str(err.value)
