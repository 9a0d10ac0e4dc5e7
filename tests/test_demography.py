"""Cohort-component projection: accounting, life tables, stable population, seeds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import brentq

from sim.base import names
from sim.model.demography import (
    ProjectionInputs,
    cohort_component,
    project,
    project_replicates,
    solve_life_tables,
    standard_lx,
)
from sim.scenario import draw, load_dict
from tests.conftest import synthetic_tables


def _scenario(**sections):
    return load_dict({"name": "t", **sections})


def test_cohort_accounting_is_exact(tables):
    sc = draw(_scenario(migration={"net_total": 5000.0, "elderly_parents": 800.0}), 0)
    ds = project(sc, tables)
    pop, deaths, mig = ds["population"].values, ds["deaths"].values, ds["net_migration"].values
    births, bdeaths = ds["births"].values, ds["deaths_of_births"].values
    # full years (step index >= 1): each cohort moves up one year of age
    for k in range(1, ds.sizes[names.YEAR]):
        prev = pop[k - 1]
        expect = np.zeros_like(prev)
        survivors = prev - deaths[k]
        expect[:, 1:] = survivors[:, :-1]
        expect[:, -1] += survivors[:, -1]
        expect[:, 0] = births[k] - bdeaths[k]
        expect += mig[k]
        np.testing.assert_allclose(
            pop[k],
            expect,
            rtol=1e-12,
            atol=1e-6,
            err_msg=f"population(t+1, a+1) != survivors + migrants in step {k}",
        )
    total_change = pop[-1].sum() - ds["population_census"].values.sum()
    flows = births.sum() - bdeaths.sum() - deaths.sum() + mig.sum()
    assert total_change == pytest.approx(flows, rel=1e-12), "totals must add up: change = B - D + M"


def test_zero_tfr_gives_zero_births(tables):
    sc = draw(_scenario(demography={"tfr": 0.0}), 0)
    ds = project(sc, tables)
    assert float(ds["births"].sum()) == 0.0
    # from the first full year on, age 0 at the end of a year holds only that year's migrants
    full_years = ds.sel(year=slice(2021, None))
    np.testing.assert_allclose(
        full_years["population"].sel(age=0).values,
        full_years["net_migration"].sel(age=0).values,
        rtol=1e-12,
        err_msg="with no births, age 0 holds only migrants",
    )


@pytest.mark.parametrize("e0", [70.0, 80.0, 83.73, 85.63, 88.0])
@pytest.mark.parametrize("q0", [None, 0.0011])
def test_life_tables_hit_e0_target(tables, e0, q0):
    std = np.stack([standard_lx(tables.mortality_standard[s]) for s in range(2)])
    male, female, _ = solve_life_tables(std, e0, 1.10, q0)
    both = (1.10 * male.e0 + female.e0) / 2.10
    assert abs(both - e0) < 0.01, f"both-sex e0 {both:.4f} should equal the target {e0}"
    assert female.e0 > male.e0, "the standard's female advantage is kept"
    if q0 is not None:
        assert 1 - male.lx[1] == pytest.approx(q0) and 1 - female.lx[1] == pytest.approx(q0)


def test_projected_life_expectancy_follows_path(tables):
    sc = draw(_scenario(demography={"e0": {"2021": 80.0, "2030": 84.0}}), 0)
    ds = project(sc, tables)
    e0m = ds["life_expectancy"].sel(sex="male").values
    e0f = ds["life_expectancy"].sel(sex="female").values
    both = (1.10 * e0m + e0f) / 2.10
    expected = np.interp(ds[names.YEAR].values, [2021, 2030], [80.0, 84.0])
    np.testing.assert_allclose(both, expected, atol=0.01)


def _lotka_r(L: np.ndarray, fert_female: np.ndarray) -> float:
    """Intrinsic growth rate from Lotka's equation, 1 = sum_a exp(-r (a + 0.5)) L(a) f(a),
    with f the daughters per woman-year at age a and L person-years per female birth."""

    def gap(r: float) -> float:
        return float(np.sum(np.exp(-r * (np.arange(L.size) + 0.5)) * L * fert_female)) - 1.0

    return float(brentq(gap, -0.2, 0.2))


@pytest.mark.parametrize("tfr", [1.0, 2.6])
def test_constant_rates_converge_to_stable_population(tables, tfr):
    """With no migration and constant rates, the growth rate converges to Lotka's r and
    the age structure to the stable one, exp(-r a) L(a) (computed independently here)."""
    years = np.arange(2020, 2020 + 400)
    n = years.size
    std = np.stack([standard_lx(tables.mortality_standard[s]) for s in range(2)])
    srb, e0 = 1.06, 80.0
    inp = ProjectionInputs(
        base_population=tables.base_population,
        years=years,
        period_length=np.ones(n),
        tfr=np.full(n, tfr),
        fertility_share=tables.fertility_share,
        srb=np.full(n, srb),
        e0=np.full(n, e0),
        infant_mortality=np.full(n, np.nan),
        mortality_std_lx=std,
        migration=np.zeros((n, 2, names.N_AGES)),
    )
    out = cohort_component(inp)
    totals = out.population.sum(axis=(1, 2))
    r_sim = float(np.log(totals[-1] / totals[-2]))
    _, female, _ = solve_life_tables(std, e0, srb, None)
    f_share = 1.0 / (1.0 + srb)
    L = female.Lx[: names.N_AGES]
    r = _lotka_r(L, tfr * tables.fertility_share * f_share)
    assert r_sim == pytest.approx(r, abs=5e-5), f"simulated growth {r_sim:.5f} vs Lotka r {r:.5f}"
    # the age structure of women below 85 is stable: proportional to exp(-r a) L(a)
    ages = np.arange(85)
    stable = np.exp(-r_sim * (ages + 0.5)) * L[:85]
    shape = out.population[-1, 1, :85]
    np.testing.assert_allclose(shape / shape.sum(), stable / stable.sum(), rtol=0.02)
    # and the structure no longer changes
    prev = out.population[-2, 1, :85]
    np.testing.assert_allclose(shape / shape.sum(), prev / prev.sum(), rtol=1e-3)


def test_calibration_hits_target(tables):
    target = 1.2 * tables.base_population.sum()
    sc = draw(_scenario(calibration={"year": 2025, "population": target}), 0)
    ds = project(sc, tables)
    assert float(ds["population_total"].sel(year=2025)) == pytest.approx(target, rel=1e-9)


def test_ageing_levers_make_population_older(tables):
    base = project(draw(_scenario(), 0), tables)
    for lever in (
        {"migration": {"elderly_parents": 20_000.0}},
        {"migration": {"young_workers": -20_000.0}},
        {"demography": {"e0_extra_gain": 0.3}},
    ):
        older = project(draw(_scenario(**lever), 0), tables)
        assert float(older["share_65plus"].sel(year=2030)) > float(
            base["share_65plus"].sel(year=2030)
        ), lever
        # the levers act after the calibration year only
        xr.testing.assert_allclose(
            older["population"].sel(year=2025), base["population"].sel(year=2025)
        )


def test_same_seed_same_dataset_and_replicate_zero_is_central(tables):
    raw = {
        "demography": {
            "tfr": {"2021": 1.2, "2030": {"low": 0.8, "high": 1.3}},
            "srb": {"dist": "triangular", "low": 1.05, "mode": 1.1, "high": 1.12},
        }
    }
    sc = _scenario(**raw)
    a = project_replicates(sc, tables, [0, 1, 2, 3], seed=7)
    b = project_replicates(sc, tables, [0, 1, 2, 3], seed=7)
    xr.testing.assert_identical(a, b)
    central = project(draw(sc, 0), tables)
    xr.testing.assert_identical(a.sel(replicate=0, drop=True).drop_attrs(), central.drop_attrs())
    assert float(a["births"].sel(year=2030).sum("sex").std("replicate")) > 0, "replicates differ"
    c = project_replicates(sc, tables, [0, 1, 2, 3], seed=8)
    assert not a["population"].equals(c["population"]), "another seed gives other draws"


def test_replicate_draws_do_not_depend_on_other_inputs(tables):
    """Adding an uncertain input must not change the draws of the others."""
    one = draw(_scenario(demography={"srb": {"low": 1.05, "high": 1.12}}), 3)
    two = draw(
        _scenario(
            demography={
                "srb": {"low": 1.05, "high": 1.12},
                "e0_extra_gain": {"low": 0.0, "high": 0.2},
            }
        ),
        3,
    )
    assert one.demography.srb == two.demography.srb


def test_synthetic_tables_are_what_the_tests_assume():
    t = synthetic_tables()
    assert t.fertility_share.sum() == pytest.approx(1.0)
    assert dataclasses.is_dataclass(t)
