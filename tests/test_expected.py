"""The expected (analytic) level end to end: calibration targets, M(t)/G/inf occupancy,
capacity sizing, reforms on the capacity side, replicates and the summary table."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, stats

from sim.base import catalogue, names
from sim.base.los import LosDistribution
from sim.data import load_demographic_tables
from sim.data.profiles import PROFILE_NAMES, TimeProfile, daily_expected, load_holidays
from sim.data.service_tables import load_service_tables
from sim.model import analytic
from sim.model.demography import project
from sim.model.expected import expected_level, run_expected, summary_table
from sim.scenario import draw, load_dict
from tests.test_report import _datamd_grades

PLAN: dict[str, Any] = {
    "name": "plan",
    "demand": {"reforms": {"day_surgery": {"2025": 0, "2030": 0.2}}},
    "capacity": {
        "bed_pool": {"share": {"2025": 0.0, "2030": 0.5}},
        "gp": {"productivity": {"2025": 1.0, "2030": 1.2}},
    },
}


@pytest.fixture(scope="module")
def central() -> xr.Dataset:
    return run_expected(load_dict({"name": "baseline"}), 1).isel(scenario=0, replicate=0)


def _profile(name: str, month: list[float]) -> TimeProfile:
    return TimeProfile(name, tuple([1 / 24] * 24), (1.0,) * 7, tuple(month), 1.0, 1.0, 1.0, 0, 0)


def _level_with_profiles(
    month: list[float], end_year: int = 2026
) -> tuple[xr.Dataset, dict[str, TimeProfile]]:
    sc = draw(load_dict({"name": "p", "run": {"end_year": end_year}}), 0)
    profiles = {n: _profile(n, month) for n in PROFILE_NAMES}
    ds = expected_level(
        sc, project(sc, load_demographic_tables()), load_service_tables(), profiles, load_holidays()
    )
    return ds, profiles


def test_base_year_reproduces_the_calibration_targets(central: xr.Dataset) -> None:
    y = central.sel(year=2025)
    assert float(y["visits"].sel(service="chc")) == pytest.approx(10_137_700, rel=0.01)
    assert float(y["chc_share"]) == pytest.approx(0.5151, rel=0.01)
    assert float(y["beds_per_1000"]) == pytest.approx(4.32, rel=0.01)
    occupied = float(y["occupied_beds_mean"].sum())
    assert occupied / float(y["beds"].sum()) == pytest.approx(
        0.825, rel=0.01
    )  # central CAL-OCCUPANCY
    alos = draw(load_dict({"name": "baseline"}), 0).demand.calibration.alos_days
    assert float(y["bed_days"].sum() / y["admissions"].sum()) == pytest.approx(
        alos, rel=0.01
    )  # CAL-ALOS at replicate 0: its median, 7.72 days
    assert np.allclose(y["bed_occupancy"], 0.825, rtol=0.01), "every pool at the base occupancy"
    assert float(y["gp_utilisation"]) == pytest.approx(1.0, rel=1e-9)
    assert 13 <= central.attrs["calibration_resident_admissions_per_100"] <= 19
    assert float(y["ambulances"]) == math.ceil(float(y["population"]) / 30_000)


def test_constant_arrivals_give_lambda_times_mean_stay_and_poisson_spread() -> None:
    ds, _ = _level_with_profiles([1.0] * 12)
    for year in (2025, 2026):
        y = ds.sel(year=year)
        n = 365
        daily = y["occupied_beds"].isel(day=slice(0, n)).transpose("pool", "day").values
        expected = (y["bed_days"] / n).values  # = (admissions per day) × E[LOS], summed over stays
        assert np.allclose(daily, expected[:, None], rtol=1e-7), (
            "flat arrivals: flat at lambda E[S]"
        )
        assert np.allclose(y["occupied_beds_p95"], stats.poisson.ppf(0.95, expected))
        assert y["occupied_beds"].sel(day=366).isnull().all()


def test_seasonal_occupancy_lags_arrivals_as_theory_says() -> None:
    month = [1.0 + 0.3 * math.cos(2 * math.pi * m / 12) for m in range(12)]
    ds, profiles = _level_with_profiles(month)
    y = ds.sel(year=2026)
    occupied = y["occupied_beds"].sel(pool="neonatal").values[:365]  # one stay distribution
    arrivals = daily_expected(
        1.0, profiles["admission_maternity"], load_holidays(), dt.date(2026, 1, 1), 365
    )
    omega = 2 * math.pi / 365
    t = np.arange(365)
    harmonic = lambda x: np.sum(x * np.exp(-1j * omega * t))  # noqa: E731
    lag = (np.angle(harmonic(arrivals)) - np.angle(harmonic(occupied))) / omega
    gain = (
        abs(harmonic(occupied)) / float(occupied.sum()) / (abs(harmonic(arrivals)) / arrivals.sum())
    )
    # M(t)/G/inf: the first harmonic passes through the transform of P(S > u)
    los = LosDistribution("lognormal", float(y["alos"].sel(pool="neonatal")), 1.0)
    re = integrate.quad(
        lambda u: math.cos(omega * u) * float(los.survival(u)), 0, np.inf, limit=400
    )[0]
    im = integrate.quad(
        lambda u: -math.sin(omega * u) * float(los.survival(u)), 0, np.inf, limit=400
    )[0]
    assert lag == pytest.approx(-np.angle(re + 1j * im) / omega, abs=0.05)
    assert lag == pytest.approx(
        los.mean * (1 + 1.0**2) / 2, rel=0.05
    )  # E[S^2] / 2E[S] for slow cycles
    assert gain == pytest.approx(abs(re + 1j * im) / los.mean, rel=1e-3)
    assert gain < 1, "the occupancy cycle is damped"


def test_older_population_gives_more_bed_days_per_head(central: xr.Dataset) -> None:
    older = run_expected(load_dict({"name": "older", "migration": {"elderly_parents": 40_000}}), 1)
    older = older.isel(scenario=0, replicate=0)
    share = lambda d: float(d["population_65plus"].sel(year=2030) / d["population"].sel(year=2030))  # noqa: E731
    assert share(older) > share(central)
    assert float(older["bed_days_per_1000"].sel(year=2030)) > float(
        central["bed_days_per_1000"].sel(year=2030)
    )


def test_capacity_sizing_is_consistent(central: xr.Dataset) -> None:
    y = central.sel(year=2030)
    assert np.all(y["beds_needed_occupancy"] == pytest.approx(y["occupied_beds_mean"] / 0.85))
    for pool in y["pool"].values:
        load = float(y["occupied_beds_design"].sel(pool=pool))
        wait, block = (
            int(y["beds_needed_wait"].sel(pool=pool)),
            int(y["beds_needed_blocking"].sel(pool=pool)),
        )
        assert analytic.erlang_c(wait, load) <= 0.10 < analytic.erlang_c(wait - 1, load), pool
        assert analytic.erlang_b(block, load) <= 0.01 < analytic.erlang_b(block - 1, load), pool
    assert np.all(y["occupied_beds_design"] >= y["occupied_beds_mean"])
    assert float(y["bed_pool_needed_pooled"]) <= float(y["bed_pool_needed_separate"])
    assert float(y["ed_spaces_needed"]) > float(y["ed_peak_arrivals"] * y["ed_treatment_hours"])
    assert float(y["ambulances_needed_norm"]) == pytest.approx(float(y["population"]) / 30_000)
    assert float(y["physicians_target"]) == pytest.approx(3.0 * float(y["population"]) / 1000)
    # bed-days grow with ageing, and the attribution adds up inside the Dataset too
    total = central["change_bed_days_total"].sel(year=2030)
    assert np.allclose(
        central["change_bed_days"].sel(year=2030).sum("step"), total, rtol=1e-9, atol=1e-6
    )
    assert float(central["change_bed_days"].sel(year=2030, step="age_structure").sum()) > 0


def test_capacity_side_reforms_move_their_measures(central: xr.Dataset) -> None:
    plan = run_expected(load_dict(PLAN), 1).isel(scenario=0, replicate=0).sel(year=2030)
    base = central.sel(year=2030)
    assert float(plan["gp_capacity"]) == pytest.approx(1.2 * float(base["gp_capacity"]), rel=1e-9)
    assert float(plan["gps_needed"]) == pytest.approx(float(base["gps_needed"]) / 1.2, rel=1e-9)
    separate, pooled = (
        float(plan["bed_pool_needed_separate"]),
        float(plan["bed_pool_needed_pooled"]),
    )
    assert float(plan["bed_pool_needed"]) == pytest.approx(separate - 0.5 * (separate - pooled))
    assert float(plan["bed_days"].sel(pool="surgery")) < float(base["bed_days"].sel(pool="surgery"))
    assert float(plan["day_cases"]) > 0


def test_replicates_are_reproducible_and_differ(tmp_path: Path) -> None:
    sc = load_dict({"name": "reps"})
    a = run_expected(sc, [0, 2], seed=7)
    b = run_expected(sc, [0, 2], seed=7)
    xr.testing.assert_identical(a, b)
    assert a.sizes[names.REPLICATE] == 2 and list(a[names.SCENARIO].values) == ["reps"]
    beds = a["beds_needed_occupancy"].isel(scenario=0).sel(year=2030).sum("pool")
    assert float(beds.sel(replicate=0)) != float(beds.sel(replicate=2))
    for name, var in a.data_vars.items():
        assert var.attrs.get("units") and var.attrs.get("long_name"), (
            f"{name} lacks units or long_name"
        )
    path = tmp_path / "expected.nc"
    a.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        assert float(
            back["visits"].sel(year=2025, service="chc", replicate=0, scenario="reps")
        ) == pytest.approx(10_137_700)


def test_summary_table_has_one_row_per_scenario_year_measure(tmp_path: Path) -> None:
    ds = run_expected(load_dict({"name": "table"}), 3)
    table = summary_table(ds)
    assert not table.duplicated(["scenario", "year", "measure"]).any()
    assert set(table["year"]) == set(range(2025, 2031))
    row = table[(table.measure == "visits[chc]") & (table.year == 2025)].iloc[0]
    assert (
        row["central"] == pytest.approx(10_137_700) and row["units"] == names.UNIT_VISITS_PER_YEAR
    )
    assert row["p10"] <= row["p50"] <= row["p90"]
    assert "change_bed_days[growth,medicine]" in set(table.measure)
    assert not table.measure.str.startswith("occupied_beds[").any(), (
        "daily series stay in the Dataset"
    )
    path = tmp_path / "summary.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    back = pd.read_csv(path, encoding="utf-8")
    assert len(back) == len(table)


# ------------------------------------------------------------------ catalogue
def test_the_catalogue_describes_every_variable_with_its_dims(central: xr.Dataset) -> None:
    assert list(central.data_vars) == [v.name for v in catalogue.EXPECTED]
    for v in catalogue.EXPECTED:
        var = central[v.name]
        assert var.dims == v.dims and var.attrs["units"] == v.units, v.name
        assert "{" not in var.attrs["long_name"], f"{v.name}: a placeholder left unfilled"
    # a placeholder is filled from the scenario's own targets
    assert (
        central["beds_needed_occupancy"]
        .attrs["long_name"]
        .startswith("beds for the target occupancy 85%")
    )


def test_the_catalogue_describes_the_projection_under_its_stored_names() -> None:
    sc = draw(load_dict({"name": "p"}), 0)
    ds = project(sc, load_demographic_tables())
    assert list(ds.data_vars) == [v.name for v in catalogue.PROJECTION]
    for v in catalogue.PROJECTION:
        assert ds[v.name].dims == v.dims and ds[v.name].attrs["units"] == v.units, v.name
    assert names.CENSUS_DATE in ds["population_census"].attrs["long_name"]
    # in a replicate's results the projection's population is population_by_age
    by_age = catalogue.variable(catalogue.PROJECTION_RENAMES["population"])
    assert by_age.dims == (names.YEAR, names.SEX, names.AGE)
    assert catalogue.variable("population").dims == (names.YEAR,), "the expected level's"


def test_catalogue_inputs_cite_datamd_rows() -> None:
    grades = _datamd_grades()
    for v in (*catalogue.EXPECTED, *catalogue.PROJECTION):
        for data_id in v.inputs:
            assert data_id in grades, f"{v.name}: {data_id} is not a row of DATA.md"
    both = catalogue.inputs("ambulances", "ambulances_needed_wait")
    assert both[0] == "CAP-AMB-NORM" and len(both) == len(set(both)), "each id once, in order"


def test_a_dataset_needs_a_value_for_every_entry_and_an_entry_for_every_value() -> None:
    entry = catalogue.variable("births")
    ds = catalogue.dataset([entry], {"births": [1, 2]}, {names.YEAR: [2025, 2026]}, {})
    assert ds["births"].dtype == np.float64 and ds["births"].attrs == {
        "units": entry.units,
        "long_name": entry.long_name,
    }
    with pytest.raises(ValueError, match="missing"):
        catalogue.dataset([entry], {}, {}, {})
    with pytest.raises(ValueError, match="undescribed"):
        catalogue.dataset([entry], {"births": [1.0], "other": [1.0]}, {}, {})
