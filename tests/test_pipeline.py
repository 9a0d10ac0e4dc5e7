"""The district's full inputs: the DES against the expected level, and the merged result."""

from __future__ import annotations

import numpy as np
import pytest

from sim.runs.pipeline import run_replicate_all
from sim.scenario import draw, load_dict


@pytest.fixture(scope="module")
def unlimited_run():
    sc = draw(
        load_dict({"name": "unlimited", "des": {"discharge": "exact", "warmup_days": 365}}), 0
    )
    return run_replicate_all(sc, seed=2024, replicate=1, des=True, unlimited=True)


@pytest.mark.slow
def test_unlimited_des_agrees_with_expected_occupancy(unlimited_run):
    """With unlimited beds and exact discharge times the DES is an M(t)/G/inf system:
    its time-averaged occupancy must equal the expected level's within 1% (all pools, each
    year), and each pool within its own sampling error."""
    ds = unlimited_run
    years = ds["des_occupancy_mean"].dropna("year", how="all")["year"].values
    des = ds["des_occupancy_mean"].sel(year=years)
    exp = ds["occupied_beds_mean"].sel(year=years)
    total_gap = (des.sum("pool") - exp.sum("pool")) / exp.sum("pool")
    assert float(abs(total_gap).max()) < 0.01, f"relative gap by year: {total_gap.values}"
    # per pool over the six years: occupancy is Poisson with mean m on any day, and the
    # yearly mean of a process with correlation time ~ALOS has sd ~ sqrt(m * 2 * alos / 365)
    for pool in ds["pool"].values:
        m = float(exp.sel(pool=pool).mean())
        alos = float(ds["alos"].sel(pool=pool, year=years).mean())
        sd = np.sqrt(m * 2 * max(alos, 1.0) / 365 / len(years))
        gap = float(des.sel(pool=pool).mean() - m)
        assert abs(gap) < 4 * sd + 0.005 * m, f"{pool}: DES {m + gap:.1f} vs expected {m:.1f} beds"


@pytest.mark.slow
def test_unlimited_run_has_no_queues_and_conserves_patients(unlimited_run):
    ds = unlimited_run
    assert float(ds["des_p_bed_wait"].max()) == 0.0, "no patient waits when beds are unlimited"
    np.testing.assert_allclose(
        ds["des_bed_arrivals"] + ds["des_bed_in_system_start"],
        ds["des_bed_departures"] + ds["des_bed_in_system_end"],
        err_msg="arrivals + present at start = departures + present at end, every pool",
    )


@pytest.mark.slow
def test_merged_dataset_has_units_and_the_three_levels(unlimited_run):
    ds = unlimited_run
    for name in ("population_by_age", "occupied_beds_mean", "des_midnight_census"):
        assert name in ds, name
    missing = [v for v in ds.data_vars if "units" not in ds[v].attrs]
    assert missing == [], f"variables without units: {missing}"
    assert ds["des_midnight_census"].dims == ("pool", "date")
