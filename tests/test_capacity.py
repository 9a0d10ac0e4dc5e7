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
    TCM_ACUTE_POOLS,
    BaseCapacity,
    allocate,
    base_pool_beds,
    bed_changes,
    beds_on,
    date_of_decimal_year,
    timeline,
)
from sim.scenario import draw, load, load_dict

BASE_BEDS = {
    "medicine": 8471,
    "surgery": 6826,
    "paediatrics": 1354,
    "obstetrics": 524,
    "neonatal": 96,
    "icu": 270,
    "elderly_care": 235,
}
BASE = BaseCapacity(2025, BASE_BEDS, ed_spaces=380.0, ambulances=137.0, visits_per_gp=4010.0)


def _capacity(**section: Any):  # type: ignore[no-untyped-def]
    return draw(load_dict({"name": "c", "capacity": section}), 0).capacity


def test_allocate_splits_whole_beds_in_proportion() -> None:
    parts = allocate(2510, BASE_BEDS)
    assert sum(parts.values()) == 2510
    share = {p: 2510 * b / sum(BASE_BEDS.values()) for p, b in BASE_BEDS.items()}
    assert all(abs(parts[p] - share[p]) < 1 for p in BASE_BEDS)
    assert allocate(-7, {"a": 1.0, "b": 1.0}) in ({"a": -4, "b": -3}, {"a": -3, "b": -4})
    assert allocate(3, {"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 1, "b": 1, "c": 1}


def test_base_pool_beds_keep_the_rounded_total() -> None:
    beds = base_pool_beds(
        17776.8,
        {
            "medicine": 8471.4,
            "surgery": 6826.2,
            "paediatrics": 1354.3,
            "obstetrics": 524.1,
            "neonatal": 96.2,
            "icu": 270.3,
            "elderly_care": 234.3,
        },
    )
    assert sum(beds.values()) == 17777 and set(beds) == set(POOLS)


def test_decimal_years_map_to_dates() -> None:
    assert date_of_decimal_year(2028.0) == dt.date(2028, 1, 1)
    assert date_of_decimal_year(2027.5) == dt.date(2027, 7, 2)
    assert date_of_decimal_year(2026.9999) == dt.date(2026, 12, 31)


def test_default_timeline_reaches_the_plan_target_by_the_end_of_2030() -> None:
    cap = _capacity()
    changes = bed_changes(cap, BASE)
    end_2030 = beds_on(BASE, changes, [dt.date(2030, 12, 31)])[:, 0]
    assert end_2030.sum() == 23_000
    projects = [c for c in changes if c.label.startswith("2025")]
    assert sum(c.beds for c in projects) == 2510 and {c.date for c in projects} == {
        dt.date(2026, 1, 1)
    }
    tcm = [c for c in changes if "Second TCM" in c.label]
    assert sum(c.beds for c in tcm if c.pool == "elderly_care") == 500
    assert sum(c.beds for c in tcm if c.pool != "elderly_care") == 500
    assert {c.pool for c in tcm if c.pool != "elderly_care"} <= set(TCM_ACUTE_POOLS)
    assert {c.date for c in tcm} == {dt.date(2028, 7, 2)}  # central opening 2028.5
    tranches = [c for c in changes if c.label.startswith("plan target")]
    assert {c.date for c in tranches} == {dt.date(y, 7, 1) for y in range(2026, 2031)}
    assert sum(c.beds for c in tranches) == 23_000 - 17_776 - 2510 - 1000


def test_projects_counted_in_the_base_are_not_added_twice() -> None:
    changes = bed_changes(_capacity(projects_2025={"in_base": True}), BASE)
    assert not [c for c in changes if c.label.startswith("2025")]
    assert beds_on(BASE, changes, [dt.date(2030, 12, 31)]).sum() == 23_000


def test_without_the_plan_target_only_named_projects_open() -> None:
    changes = bed_changes(_capacity(plan_target={"enabled": False}), BASE)
    assert beds_on(BASE, changes, [dt.date(2030, 12, 31)]).sum() == 17_776 + 2510 + 1000


def test_elderly_care_beds_outside_the_target_get_no_tranche() -> None:
    changes = bed_changes(_capacity(plan_target={"count_elderly_care": False}), BASE)
    tranches = [c for c in changes if c.label.startswith("plan target")]
    assert all(c.pool != "elderly_care" for c in tranches)
    on = beds_on(BASE, changes, [dt.date(2030, 12, 31)])[:, 0]
    assert on.sum() - on[POOLS.index("elderly_care")] == 23_000


def test_additions_and_closures_take_effect_on_their_day() -> None:
    cap = _capacity(
        plan_target={"enabled": False},
        second_tcm={"enabled": False},
        additions=[
            {"pool": "icu", "beds": 60, "opening": 2027.0, "label": "ICU wing"},
            {"pool": "paediatrics", "beds": -100, "opening": 2029.0},
        ],
    )
    changes = bed_changes(cap, BASE)
    icu, paed = POOLS.index("icu"), POOLS.index("paediatrics")
    days = [dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2029, 1, 1)]
    on = beds_on(BASE, changes, days)
    assert on[icu, 1] - on[icu, 0] == 60
    assert on[paed, 2] - on[paed, 1] == -100


def test_timeline_dataset_by_year_and_day() -> None:
    cap = _capacity(
        gp={"count": {"2025": 2528, "2030": 3028}, "productivity": {"2025": 1.0, "2030": 1.2}},
        ambulances=150,
    )
    ds = timeline(cap, BASE, [2025, 2026, 2028])
    assert ds["beds"].sel(year=2026, day=366).isnull().all()
    assert not ds["beds"].sel(year=2028, day=366).isnull().any()
    medicine_2026 = ds["beds"].sel(year=2026, pool="medicine")
    assert medicine_2026.sel(day=1) > BASE_BEDS["medicine"]  # the 2025 projects opened on 1 January
    assert medicine_2026.sel(day=181) == medicine_2026.sel(day=1)
    assert medicine_2026.sel(day=182) > medicine_2026.sel(
        day=181
    )  # a tranche opens on 1 July, day 182
    assert ds["beds_end"].sel(year=2025).sum() == 17_776
    assert float(ds["gps"].sel(year=2028)) == pytest.approx(2528 + 300)
    assert float(ds["gp_productivity"].sel(year=2028)) == pytest.approx(1.12)
    assert np.allclose(ds["ambulances"].values, 150)
    assert np.allclose(ds["ed_spaces"].values, BASE.ed_spaces)  # none given: the base value
    assert float(ds["gp_visits_per_gp"].sel(year=2025)) == BASE.visits_per_gp
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
