"""The engine against queueing theory: Erlang C, Erlang B, M/G/∞, Little's law and the
expected (M(t)/G/∞) level. Statistical: each compares a replicate mean with the
analytic value through a confidence interval of independent replicates. The
module makes CHECKS such comparisons; each interval is at level 1 - 0.05/CHECKS
(Bonferroni), so the module as a whole is a 95% test: an exact engine fails
it with probability at most 5%, not 1 - 0.95^CHECKS ≈ 49%."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from sim.analytic import erlang_b, erlang_c, mmc_mean_wait, mtginf_occupancy
from sim.data.profiles import daily_expected, load_holidays, load_profiles, working_days
from sim.des.ambulance import simulate_ambulance
from sim.des.arrivals import draw_inputs
from sim.des.config import (
    AdmissionStream,
    AmbulanceService,
    ArrivalRate,
    BedPool,
    CapacitySchedule,
    DesConfig,
    Duration,
    ElectiveBooking,
)
from sim.des.engine import run_replicate
from sim.los import LosDistribution

START = dt.date(2025, 1, 1)
FLAT = tuple([1.0 / 24.0] * 24)
SEED = 20250101
CHECKS = 13
LEVEL = 1.0 - 0.05 / CHECKS


def one_pool(
    servers: float,
    per_day: float,
    los: LosDistribution,
    n_days: int,
    when_full: str = "queue",
    warmup: int = 30,
) -> DesConfig:
    """Constant Poisson arrivals into one pool of ``servers`` beds (FIFO queue or loss)."""
    return DesConfig(
        start=START,
        n_days=n_days,
        warmup_days=warmup,
        warmup="mean",
        pools=(BedPool("ward", CapacitySchedule(servers)),),
        admissions=(
            AdmissionStream(
                "patients",
                "ward",
                "direct",
                ArrivalRate(tuple([per_day] * n_days), FLAT),
                Duration(los),
                when_full,
            ),
        ),  # type: ignore[arg-type]
    )


def ci95(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(1.0 - (1.0 - LEVEL) / 2.0, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("servers", "rho", "n_days", "replicates"),
    [(20, 0.80, 365, 12), (100, 0.90, 200, 10), (500, 0.97, 120, 10)],
)
def test_mmc_matches_erlang_c(servers: int, rho: float, n_days: int, replicates: int) -> None:
    lam = rho * servers  # per day, mean stay 1 day
    cfg = one_pool(servers, lam, LosDistribution("exponential", 1.0), n_days)
    p_wait, mean_wait = [], []
    for r in range(replicates):
        ds = run_replicate(cfg, SEED, r)
        p_wait.append(float(ds.p_bed_wait.sel(pool="ward").mean()))
        mean_wait.append(float(ds.emergency_bed_wait_mean.sel(pool="ward").mean()) / 24.0)
    want_p = erlang_c(servers, lam)
    want_w = mmc_mean_wait(servers, lam, 1.0)
    lo, hi = ci95(p_wait)
    assert lo <= want_p <= hi, (
        f"P(wait) {want_p:.4f} outside the replicates' CI [{lo:.4f}, {hi:.4f}]"
    )
    lo, hi = ci95(mean_wait)
    assert lo <= want_w <= hi, (
        f"mean wait {want_w:.5f} d outside the replicates' CI [{lo:.5f}, {hi:.5f}]"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("servers", "load"), [(50, 45.0), (500, 490.0)])
def test_loss_system_matches_erlang_b(servers: int, load: float) -> None:
    # Lognormal stays: the blocking probability does not depend on their shape.
    cfg = one_pool(
        servers,
        load / 2.0,
        LosDistribution("lognormal", 2.0, 1.5),
        240,
        when_full="lose",
        warmup=60,
    )
    blocked = []
    for r in range(10):
        ds = run_replicate(cfg, SEED, r)
        blocked.append(float(ds.turned_away.sum() / ds.bed_arrivals.sum()))
    want = erlang_b(servers, load)
    lo, hi = ci95(blocked)
    assert lo <= want <= hi, f"blocking {want:.4f} outside the replicates' CI [{lo:.4f}, {hi:.4f}]"


@pytest.mark.slow
def test_unlimited_beds_give_poisson_occupancy_lambda_es() -> None:
    lam, los = 100.0, LosDistribution("lognormal", 5.0, 1.5)
    cfg = one_pool(math.inf, lam, los, 365, warmup=200)
    means, variances = [], []
    for r in range(8):
        census = run_replicate(cfg, SEED, r).midnight_census.sel(pool="ward").values
        means.append(float(census.mean()))
        variances.append(float(census.var(ddof=1)))
    target = lam * los.mean  # M/G/inf: occupancy ~ Poisson(lambda E[S])
    lo, hi = ci95(means)
    assert lo <= target <= hi, f"mean occupancy {target} outside [{lo:.1f}, {hi:.1f}]"
    lo, hi = ci95(variances)
    assert lo <= target <= hi, f"occupancy variance {target} outside [{lo:.1f}, {hi:.1f}]"


@pytest.mark.slow
def test_littles_law_holds_on_simulated_output() -> None:
    ds = run_replicate(one_pool(60, 55.0, LosDistribution("gamma", 1.0, 0.7), 730), SEED, 0)
    big_l = float(ds.bed_time_avg_in_system.sel(pool="ward"))
    lam = float(ds.bed_throughput.sel(pool="ward"))
    w = float(ds.bed_mean_time_in_system.sel(pool="ward"))
    assert big_l == pytest.approx(lam * w, rel=0.01), (
        f"L = {big_l:.3f} but lambda W = {lam * w:.3f}"
    )


@pytest.mark.slow
def test_unlimited_district_matches_the_expected_level() -> None:
    """With no bed limit the time-averaged occupancy is the M(t)/G/∞ mean computed by
    sim.analytic from the same daily admissions (profiles, holidays, electives)."""
    profiles, cal = load_profiles(), load_holidays()
    n = 365
    specs = [
        ("direct", "admission_direct", 30_000.0, LosDistribution("lognormal", 8.0, 1.0)),
        ("elective", "admission_elective", 20_000.0, LosDistribution("gamma", 4.0, 0.8)),
        ("maternity", "admission_maternity", 12_000.0, LosDistribution("lognormal", 3.5, 0.5)),
    ]
    streams = tuple(
        AdmissionStream(
            route,
            "beds",
            route,  # type: ignore[arg-type]
            ArrivalRate(tuple(daily_expected(v, profiles[p], cal, START, n)), profiles[p].hourly),
            Duration(los),
        )
        for route, p, v, los in specs
    )
    cfg = DesConfig(
        start=START,
        n_days=n,
        warmup_days=n,
        warmup="cyclic",
        pools=(BedPool("beds", CapacitySchedule(math.inf)),),
        admissions=streams,
        electives=ElectiveBooking(tuple(bool(x) for x in working_days(cal, START, n)), 8.0),
    )
    expected = sum(
        mtginf_occupancy(np.array(s.arrivals.daily), s.los.dist, warmup="cyclic") for s in streams
    )
    yearly = [
        float(run_replicate(cfg, SEED, r).occupancy_mean.sel(pool="beds").item()) for r in range(6)
    ]
    lo, hi = ci95(yearly)
    want = float(np.mean(expected))
    assert lo <= want <= hi, (
        f"expected occupancy {want:.1f} outside the replicates' CI [{lo:.1f}, {hi:.1f}]"
    )
    assert abs(np.mean(yearly) / want - 1) < 0.01


@pytest.mark.slow
def test_ambulance_fleet_matches_erlang_c() -> None:
    fleet, per_hour, job_minutes = 8, 6.0, 60.0  # offered load 6 ambulances
    cfg = DesConfig(
        start=START,
        n_days=200,
        pools=(BedPool("none", CapacitySchedule(0)),),
        warmup_days=10,
        warmup="mean",
        ambulance=AmbulanceService(
            ArrivalRate(tuple([per_hour * 24] * 200), FLAT),
            CapacitySchedule(fleet),
            Duration(LosDistribution("exponential", 1e-6), "minutes"),
            Duration(LosDistribution("exponential", job_minutes), "minutes"),
        ),
    )
    waited, mean_wait = [], []
    for r in range(10):
        draws = draw_inputs(cfg, SEED, r).ambulance
        assert draws is not None
        out = simulate_ambulance(draws, np.full(210, float(fleet)), -10.0)
        run = out.time >= 0
        waited.append(float(np.mean(out.delay[run] > 0)))
        mean_wait.append(float(np.mean(out.delay[run])) * 24.0)  # hours
    lam, mu = per_hour, 60.0 / job_minutes
    lo, hi = ci95(waited)
    assert lo <= erlang_c(fleet, lam / mu) <= hi
    lo, hi = ci95(mean_wait)
    assert lo <= mmc_mean_wait(fleet, lam, mu) <= hi
