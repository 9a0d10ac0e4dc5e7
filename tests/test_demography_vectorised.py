"""The projection with a sample dimension (sim/model/demography.py, ``project_many``):
each sample equals the projection of its scenario alone, on samples drawn at random from
the shipped scenarios' ranges and at the corners of every range (the schema's own bounds
for the life-table inputs); the accounts hold along the sample axis; the life tables
solved for many targets at once hit them (against scipy's brentq, row by row); scenarios
of different run lengths are refused in one line."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import brentq

from sim.base import names
from sim.base.errors import ScenarioError
from sim.data import load_demographic_tables
from sim.model.demography import (
    ALPHA_BRACKET,
    RUNNING_SUM_ROWS,
    ProjectionInputs,
    brass_life_table,
    cohort_component,
    project,
    project_many,
    solve_life_tables,
    standard_lx,
    sum_in_order,
)
from sim.scenario import Scenario, load_dict

RANGES = {
    # the shipped scenarios' ranges (scenarios/*.toml), widest of each
    "tfr_2030": (0.7, 1.45),
    "srb": (1.08, 1.11),
    "e0_2030": (85.2, 86.0),
    "e0_extra_gain": (0.0, 0.25),
    "elderly_2026": (0.0, 15_000.0),
    "young_2026": (-30_000.0, 0.0),
    "population_2025": (4_100_000.0, 4_130_000.0),
    "infant_mortality": (0.0011, 0.0011),
}
BOUNDS = {
    # the schema's bounds (sim/scenario/model.py) where the life tables are solved
    "tfr_2030": (0.0, 8.0),
    "srb": (1.0, 1.3),
    "e0_2030": (60.0, 95.0),
    "infant_mortality": (0.0, 0.1),
}
RELATIVE = 1e-9
"""Tolerance of the brief: a sample of project_many against project of its scenario."""
END_YEAR = 2032
PER_SAMPLE = ("tfr", "srb", "e0", "infant_mortality", "migration")
"""The inputs of the core with sample axes in the test of any leading axes."""


def _scenario(
    point: dict[str, float],
    end_year: int = END_YEAR,
    cal_year: int = 2025,
    net: float | None = None,
) -> Scenario:
    """A resolved scenario (every input a number) at ``point``; ``net``: net migrants per
    year after the calibration year (None: the calibrated level continues)."""
    sc = load_dict(
        {
            "name": "v",
            "run": {"end_year": end_year},
            "demography": {
                "tfr": {"2021": 1.2, "2023": 1.0, "2030": point["tfr_2030"]},
                "srb": point["srb"],
                "e0": {"2021": 83.73, "2030": point["e0_2030"]},
                "e0_extra_gain": point["e0_extra_gain"],
                "infant_mortality": point["infant_mortality"],
            },
            "migration": {
                "elderly_parents": {"2025": 0.0, "2026": point["elderly_2026"]},
                "young_workers": {"2025": 0.0, "2026": point["young_2026"]},
                **({} if net is None else {"net_total": {"2026": 0.0, "2030": net}}),
            },
            "calibration": {"year": cal_year, "population": point["population_2025"]},
        }
    )
    return sc


CORNERS = 16
"""Corners of a range set taken besides all-low and all-high (of 2^8 for the shipped
ranges: a seeded choice, so that every input is at both of its extremes many times)."""


def _points(ranges: dict[str, tuple[float, float]], n_random: int, seed: int) -> list[dict]:
    """Corners of ``ranges`` (the other inputs central): all low, all high and
    :data:`CORNERS` others (all of them if fewer), then random points inside."""
    mid = {k: 0.5 * (lo + hi) for k, (lo, hi) in {**RANGES, **ranges}.items()}
    keys = list(ranges)
    picks = list(itertools.product((0, 1), repeat=len(keys)))
    rng = np.random.default_rng(seed)
    inner = picks[1:-1]
    if len(inner) > CORNERS:
        inner = [inner[i] for i in rng.choice(len(inner), CORNERS, replace=False)]
    corners = [
        {**mid, **{k: ranges[k][i] for k, i in zip(keys, pick, strict=True)}}
        for pick in [picks[0], picks[-1], *inner]
    ]
    random = [{**mid, **{k: float(rng.uniform(*ranges[k])) for k in keys}} for _ in range(n_random)]
    return corners + random


def _reachable(point: dict[str, float]) -> bool:
    """e0 95 with 1q0 = 0.1 lies beyond the Brass family (alpha -4 gives less)."""
    return not (point["e0_2030"] > 90.0 and point["infant_mortality"] > 0.05)


@pytest.fixture(scope="module")
def tables():
    return load_demographic_tables()


def _assert_close(many: xr.Dataset, one: xr.Dataset, label: str) -> None:
    assert list(many.data_vars) == list(one.data_vars)
    assert many.attrs == one.attrs, "the attributes are the first scenario's projection's"
    for name in one.data_vars:
        assert many[name].dims == one[name].dims, name
        assert many[name].attrs == one[name].attrs, f"{name}: units and long name"
        np.testing.assert_allclose(
            many[name].values,
            one[name].values,
            rtol=RELATIVE,
            atol=0.0,
            err_msg=f"{label}: {name} of project_many differs from project one at a time",
        )


@pytest.mark.parametrize(
    ("ranges", "n_random", "seed"),
    [(RANGES, 24, 1), (BOUNDS, 12, 2)],
    ids=["shipped ranges", "schema bounds"],
)
def test_each_sample_is_its_scenario_projected_alone(tables, ranges, n_random, seed):
    points = [p for p in _points(ranges, n_random, seed) if _reachable(p)]
    # the schema's bounds of net migration after calibration, among samples without it
    scenarios = [_scenario(p) for p in points] + [
        _scenario(points[-1], net=-500_000.0),
        _scenario(points[-2], net=500_000.0),
    ]
    many = project_many(scenarios, tables)
    assert many.sizes[names.SAMPLE] == len(scenarios)
    one = xr.concat([project(sc, tables) for sc in scenarios], dim=names.SAMPLE)
    _assert_close(many, one, f"{len(scenarios)} samples")


def test_a_sample_does_not_depend_on_the_others_of_its_call(tables):
    """To the bit: a batch may group its samples into calls in any way."""
    scenarios = [_scenario(p) for p in _points(RANGES, 9, 3)[-10:]]
    whole = project_many(scenarios, tables)
    part = project_many(scenarios[3:7], tables)
    xr.testing.assert_identical(
        whole.isel({names.SAMPLE: slice(3, 7)}).drop_attrs(), part.drop_attrs()
    )
    xr.testing.assert_identical(
        whole.isel({names.SAMPLE: 5}), project(scenarios[5], tables).assign_attrs(whole.attrs)
    )


def test_accounts_hold_for_every_sample(tables):
    scenarios = [_scenario(p) for p in _points(RANGES, 6, 4)[-8:]]
    ds = project_many(scenarios, tables)
    pop, deaths, mig = (ds[v].values for v in ("population", "deaths", "net_migration"))
    births, bdeaths = ds["births"].values, ds["deaths_of_births"].values
    # full years (step >= 1): each cohort of every sample moves up one year of age
    survivors = pop[:, :-1] - deaths[:, 1:]
    expect = np.zeros_like(survivors)
    expect[..., 1:] = survivors[..., :-1]
    expect[..., -1] += survivors[..., -1]
    expect[..., 0] = births[:, 1:] - bdeaths[:, 1:]
    expect += mig[:, 1:]
    np.testing.assert_allclose(pop[:, 1:], expect, rtol=1e-12, atol=1e-6)
    change = pop[:, -1].sum(axis=(1, 2)) - ds["population_census"].values.sum(axis=(1, 2))
    flows = (
        births.sum(axis=(1, 2)) - bdeaths.sum(axis=(1, 2)) - deaths.sum(axis=(1, 2, 3))
    ) + mig.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(change, flows, rtol=1e-12, err_msg="change = B - D + M")
    # every sample reaches its own calibration population at the end of 2025
    target = [p["population_2025"] for p in _points(RANGES, 6, 4)[-8:]]
    np.testing.assert_allclose(
        ds["population_total"].sel(year=2025).values, target, rtol=1e-9, atol=0.0
    )


def test_life_tables_for_many_targets_hit_them(tables):
    """Each row's alpha against scipy's brentq on the same tables, one row at a time."""
    std = np.stack([standard_lx(m) for m in tables.mortality_standard])
    rng = np.random.default_rng(5)
    n = 40
    e0 = np.concatenate([[60.0, 95.0, 60.0, 60.0], rng.uniform(60.0, 95.0, n)])
    srb = np.concatenate([[1.0, 1.3, 1.3, 1.0], rng.uniform(1.0, 1.3, n)])
    q0 = np.concatenate([[0.0, 0.0, 0.1, np.nan], rng.uniform(0.0, 0.02, n)])
    q0[rng.random(q0.size) < 0.3] = np.nan
    male, female, alpha = solve_life_tables(
        std, e0.reshape(4, -1), srb.reshape(4, -1), q0.reshape(4, -1)
    )
    assert male.lx.shape == (4, e0.size // 4, std.shape[1]), "the targets' shape, then age"
    w = srb / (1.0 + srb)
    both = w * male.e0.ravel() + (1.0 - w) * female.e0.ravel()
    np.testing.assert_allclose(both, e0, rtol=0.0, atol=1e-9, err_msg="both-sex e0 = target")
    for i in range(e0.size):
        q = None if np.isnan(q0[i]) else q0[i]

        def gap(a: float, i: int = i, q: float | None = q) -> float:
            lt = brass_life_table(std, a, q)
            return float(w[i] * lt.e0[0] + (1.0 - w[i]) * lt.e0[1] - e0[i])

        reference = brentq(gap, *ALPHA_BRACKET, xtol=1e-12)
        assert alpha.ravel()[i] == pytest.approx(reference, abs=1e-9), (e0[i], srb[i], q0[i])


def test_scenarios_of_different_run_lengths_are_refused_in_one_line(tables):
    point = _points(RANGES, 0, 0)[0]
    with pytest.raises(ScenarioError) as err:
        project_many([_scenario(point), _scenario(point, end_year=END_YEAR + 3)], tables)
    line = str(err.value)
    assert "\n" not in line and "run.end_year = 2035" in line and "scenario 1" in line, line
    with pytest.raises(ScenarioError, match=re.escape("calibration.year = 2024")):
        project_many([_scenario(point), _scenario(point, cal_year=2024)], tables)


def test_the_core_takes_any_leading_sample_axes(tables):
    """cohort_component on inputs with sample axes [2, 3] equals it on each sample alone."""
    rng = np.random.default_rng(6)
    steps, shape = 5, (2, 3)
    std = np.stack([standard_lx(m) for m in tables.mortality_standard])
    q0 = rng.uniform(0.0, 0.01, (*shape, steps))
    q0[0, 1] = np.nan
    inp = ProjectionInputs(
        base_population=tables.base_population,
        years=np.arange(2020, 2020 + steps),
        period_length=np.array([names.CENSUS_YEAR_FRACTION_LEFT, 1.0, 1.0, 1.0, 1.0]),
        tfr=rng.uniform(0.5, 3.0, (*shape, steps)),
        fertility_share=tables.fertility_share,
        srb=rng.uniform(1.0, 1.3, (*shape, steps)),
        e0=rng.uniform(65.0, 90.0, (*shape, steps)),
        infant_mortality=q0,
        mortality_std_lx=std,
        migration=rng.uniform(-100.0, 100.0, (*shape, steps, 2, names.N_AGES)),
    )
    many = cohort_component(inp)
    for index in np.ndindex(*shape):
        alone = cohort_component(
            dataclasses.replace(
                inp,
                **{k: getattr(inp, k)[index] for k in PER_SAMPLE},
            )
        )
        for field in dataclasses.fields(alone):
            got, want = getattr(many, field.name)[index], getattr(alone, field.name)
            assert got.shape == want.shape, field.name
            np.testing.assert_array_equal(got, want, err_msg=f"{field.name} of sample {index}")


def test_running_sums_give_the_same_bits_for_few_rows_and_many():
    """sum_in_order adds term by term whichever way it takes (few rows or many), so a
    sample's sums are the same alone and among many."""
    x = np.random.default_rng(7).lognormal(0.0, 3.0, (RUNNING_SUM_ROWS + 5, 2, 131))
    many = sum_in_order(x, 2)
    few = np.array([sum_in_order(row[None], 2)[0] for row in x])
    np.testing.assert_array_equal(many, few)
    assert not np.array_equal(many, x.sum(axis=(1, 2))), "this data is sensitive to the order"
