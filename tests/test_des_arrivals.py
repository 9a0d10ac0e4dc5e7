"""Arrival processes, time profiles and the drawing of random inputs (sim.des.arrivals,
sim.data.profiles)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.base.errors import ScenarioError
from sim.base.los import LosDistribution
from sim.base.rng import generator
from sim.data import DATA_DIR
from sim.data.profiles import (
    daily_expected,
    day_weights,
    load_holidays,
    load_profiles,
    working_days,
)
from sim.des.arrivals import (
    draw_inputs,
    extend_for_warmup,
    nhpp_times,
    piecewise_uniform_ppf,
    ppf_days,
)
from sim.des.builder import START, single_pool
from sim.des.config import DesConfig, Duration
from sim.des.sampling import poisson_points, poisson_ppf


def test_nhpp_counts_per_hour_and_day_match_the_rate_function() -> None:
    profiles = load_profiles()
    hourly = np.array(profiles["ed_walk_in"].hourly)
    n_days = 365
    # A daily rate with a seasonal swing and a weekly pattern, as the profiles make.
    daily = (
        300.0
        * (1 + 0.3 * np.sin(2 * np.pi * np.arange(n_days) / 365.0))
        * np.tile([1.0, 1.0, 1.0, 1.0, 1.1, 0.7, 0.6], 53)[:n_days]
    )
    times = nhpp_times(generator(7, 0, "test.nhpp"), daily, hourly, 0.0)
    assert np.all(np.diff(times) >= 0), "arrival times must come sorted"
    assert times.min() >= 0 and times.max() < n_days
    # Counts by hour of day, summed over days: chi-square against the intended means.
    hour = np.floor((times % 1.0) * 24).astype(int)
    observed_h = np.bincount(hour, minlength=24)
    expected_h = daily.sum() * hourly
    chi2_h = float(((observed_h - expected_h) ** 2 / expected_h).sum())
    assert stats.chi2.sf(chi2_h, 23) > 0.001, (
        f"hour-of-day counts deviate: chi2 = {chi2_h:.1f} on 23 df"
    )
    # Counts by day: Poisson with the day's mean, so sum (o - e)^2 / e ~ chi2(n_days).
    observed_d = np.bincount(np.floor(times).astype(int), minlength=n_days)
    chi2_d = float(((observed_d - daily) ** 2 / daily).sum())
    assert stats.chi2.sf(chi2_d, n_days) > 0.001, (
        f"daily counts deviate: chi2 = {chi2_d:.1f} on {n_days} df"
    )
    assert stats.chi2.cdf(chi2_d, n_days) > 0.001, (
        "daily counts are too regular for a Poisson process"
    )
    # Total: z-test.
    z = (times.size - daily.sum()) / math.sqrt(daily.sum())
    assert abs(z) < 3.3, f"total count off by {z:.2f} standard deviations"


def test_nhpp_never_places_arrivals_in_zero_rate_hours() -> None:
    hourly = np.zeros(24)
    hourly[8:12] = 0.25
    times = nhpp_times(generator(1, 0, "test.zero"), np.full(50, 40.0), hourly, -10.0)
    hour = np.floor((times % 1.0) * 24).astype(int)
    assert set(np.unique(hour)) <= {8, 9, 10, 11}
    assert times.min() >= -10.0 and times.max() < 40.0


def test_nhpp_is_the_same_process_whatever_the_chunks_of_exponentials() -> None:
    """The time change continues the running sum from chunk to chunk: exponentials fed
    seven at a time give the very times of one long chunk."""
    daily, hourly = np.full(20, 5.0), np.array(load_profiles()["discharge"].hourly)
    per_hour = (daily[:, None] * hourly[None, :]).ravel()
    cum = np.concatenate([[0.0], np.cumsum(per_hour)])
    e = generator(3, 0, "test.chunks").standard_exponential(400)
    whole = np.empty(e.size)
    n, *_ = poisson_points(e, cum, per_hour, -2.0, whole, (0, 0.0, 0))
    pieces = np.empty(e.size)
    carry, done = (0, 0.0, 0), False
    for k in range(0, e.size, 7):
        if not done:
            n_out, p, j, done = poisson_points(e[k : k + 7], cum, per_hour, -2.0, pieces, carry)
            carry = (n_out, p, j)
    assert done and carry[0] == n > 50
    np.testing.assert_array_equal(pieces[:n], whole[:n])


def test_poisson_quantiles_match_scipy() -> None:
    """The clinics' Poisson inversion against scipy's: equal wherever u is not within
    rounding of a step of the cdf (small, large and huge means; u near 0 and 1)."""
    rng = np.random.default_rng(11)
    mean = np.concatenate([10 ** rng.uniform(-3, 5, 20_000), [0.0, -1.0, 0.5, 745.0, 746.0]])
    u = rng.random(mean.size)
    # the ends of what Generator.random gives: 0 and multiples of 2**-53 below 1
    u[:6] = [0.0, 2.0**-53, 1e-12, 0.5, 1 - 2.0**-53, 0.999999]
    got = poisson_ppf(u, mean)
    want = np.where(mean > 0, stats.poisson.ppf(u, np.maximum(mean, 1e-300)), 0.0)
    want = np.maximum(np.nan_to_num(want, nan=0.0), 0.0).astype(np.int64)
    differ = np.flatnonzero(got != want)
    for i in differ:  # only where u is within rounding of the cdf at the lower answer
        lo = min(got[i], want[i])
        assert abs(stats.poisson.cdf(lo, mean[i]) - u[i]) < 1e-12, (
            f"u={u[i]!r} mean={mean[i]!r}: {got[i]} against scipy's {want[i]}"
        )
    assert differ.size <= 2


def test_piecewise_uniform_ppf_inverts_hour_shares() -> None:
    shares = np.array(load_profiles()["discharge"].hourly)
    u = (np.arange(100_000) + 0.5) / 100_000
    frac = piecewise_uniform_ppf(u, shares)
    counts = np.bincount(np.floor(frac * 24).astype(int), minlength=24) / u.size
    np.testing.assert_allclose(counts, shares, atol=2e-5)


def test_warmup_extension_cycles_or_holds_the_mean() -> None:
    series = np.arange(10.0)
    np.testing.assert_array_equal(extend_for_warmup(series, 3, "cyclic")[:3], [7.0, 8.0, 9.0])
    np.testing.assert_array_equal(extend_for_warmup(series, 3, "mean")[:3], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(extend_for_warmup(series, 12, "cyclic")[:2], [8.0, 9.0])
    long = np.arange(400.0)
    np.testing.assert_array_equal(extend_for_warmup(long, 2, "first_year")[:2], [362.0, 363.0])


def _config(stream_names: tuple[str, ...], mean_los: float = 4.0) -> DesConfig:
    """60 days of 20 direct admissions a day per stream into unlimited beds, no warm-up."""
    return single_pool(math.inf, 20.0, mean_los, n_days=60, warmup_days=0, streams=stream_names)


def test_adding_a_stream_leaves_the_others_unchanged() -> None:
    one = draw_inputs(_config(("medicine",)), 11, 3).beds
    two = draw_inputs(_config(("medicine", "surgery")), 11, 3).beds
    first = two.stream == 0
    np.testing.assert_array_equal(one.time, two.time[first])
    np.testing.assert_array_equal(one.los, two.los[first])
    np.testing.assert_array_equal(one.discharge_hour, two.discharge_hour[first])
    assert (two.stream == 1).sum() > 0


def test_same_seed_same_draws_other_replicate_other_draws() -> None:
    cfg = _config(("medicine",))
    a, b, c = draw_inputs(cfg, 5, 0), draw_inputs(cfg, 5, 0), draw_inputs(cfg, 5, 1)
    np.testing.assert_array_equal(a.beds.time, b.beds.time)
    np.testing.assert_array_equal(a.beds.los, b.beds.los)
    assert a.beds.time.size != c.beds.time.size or not np.array_equal(a.beds.time, c.beds.time)


def test_common_random_numbers_keep_a_patients_los_when_the_mean_changes() -> None:
    base, longer = _config(("medicine",)), _config(("medicine",), mean_los=5.0)
    a, b = draw_inputs(base, 2, 0).beds, draw_inputs(longer, 2, 0).beds
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_allclose(b.los / a.los, 5.0 / 4.0, rtol=1e-9)


# --- profiles and holidays ------------------------------------------------------------
def test_default_profiles_load_with_shares_summing_to_one() -> None:
    profiles = load_profiles()
    assert {"ed_walk_in", "admission_elective", "discharge", "clinic", "ambulance_dispatch"} <= set(
        profiles
    )
    for p in profiles.values():
        assert sum(p.hourly) == pytest.approx(1.0)
    low, high = load_profiles(bound="low"), load_profiles(bound="high")
    assert low["ed_walk_in"].lny_window_factor < high["ed_walk_in"].lny_window_factor


def test_daily_expected_keeps_each_years_volume() -> None:
    profiles, cal = load_profiles(), load_holidays()
    n = (dt.date(2031, 1, 1) - START).days
    annual = {y: 1000.0 * (y - 2000) for y in range(2025, 2031)}
    series = daily_expected(annual, profiles["ed_walk_in"], cal, START, n)
    years = np.array([(START + dt.timedelta(days=k)).year for k in range(n)])
    for y, volume in annual.items():
        assert series[years == y].sum() == pytest.approx(volume, rel=1e-12)


def test_electives_only_on_working_days_and_festival_lowers_clinic_demand() -> None:
    profiles, cal = load_profiles(), load_holidays()
    n = 365
    elective = daily_expected(40_000.0, profiles["admission_elective"], cal, START, n)
    work = working_days(cal, START, n)
    assert np.all(elective[~work] == 0.0), "no elective bookings on weekends or official days off"
    assert np.all(elective[work] > 0.0)
    # 2025-01-26 (a Sunday) was an official make-up working day; 2025-01-29 the lunar new year.
    assert work[(dt.date(2025, 1, 26) - START).days]
    assert not work[(dt.date(2025, 1, 29) - START).days]
    clinic = day_weights(profiles["clinic"], cal, START, n)
    festival = clinic[(dt.date(2025, 1, 29) - START).days]
    ordinary_wednesday = clinic[(dt.date(2025, 3, 12) - START).days]
    assert festival < 0.5 * ordinary_wednesday


def test_calendar_outside_its_coverage_is_an_error() -> None:
    cal = load_holidays()
    with pytest.raises(ValueError, match="covers"):
        working_days(cal, dt.date(cal.last_year, 12, 1), 60)


def test_a_user_profile_table_with_a_missing_row_is_rejected(tmp_path: Path) -> None:
    rows = (DATA_DIR / "arrival_profiles.csv").read_text(encoding="utf-8").splitlines()
    broken = [r for r in rows if not r.startswith("clinic,hour,3,")]
    path = tmp_path / "profiles.csv"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"hour\.3"):
        load_profiles(path)


def test_ppf_days_into_the_probabilities_gives_the_very_same_days() -> None:
    """The drawing writes durations over their uniforms (``out=u``) to save an array:
    the same bits as a fresh result, and scipy's numbers, for each family and unit."""
    for dist, unit in (
        (LosDistribution("lognormal", 3.0, 0.8), "hours"),
        (LosDistribution("gamma", 25.9, 1.0), "days"),
        (LosDistribution("exponential", 2.0, 1.0), "minutes"),
    ):
        duration = Duration(dist, unit)
        u = generator(4, 0, "test.ppf").random(1000)
        u[0] = 0.0
        fresh = ppf_days(duration, u)
        np.testing.assert_allclose(fresh, duration.ppf_days(u), rtol=1e-12)
        assert ppf_days(duration, u, out=u) is u
        np.testing.assert_array_equal(u.view(np.int64), fresh.view(np.int64))


def test_draws_keep_no_clinic_outcome_and_a_given_day_book_draws_the_same() -> None:
    """The clinics' day book is a simulation, not a draw: RandomInputs holds none of its
    outcomes, and handing the replicate's day book in gives the very same draws."""
    from dataclasses import fields

    from sim.des.arrivals import RandomInputs, run_clinics
    from sim.des.builder import small_district

    cfg = small_district()
    assert "clinics" not in {f.name for f in fields(RandomInputs)}
    given = draw_inputs(cfg, 3, 1, run_clinics(cfg, 3, 1))
    alone = draw_inputs(cfg, 3, 1)
    assert given.ed is not None and alone.ed is not None and cfg.ed is not None
    for name in ("time", "source", "acuity", "treatment", "disposition"):
        assert np.array_equal(getattr(given.ed, name), getattr(alone.ed, name)), name
    diverted = given.ed.source >= len(cfg.ed.arrivals)
    assert diverted.any(), "the clinics' diversions join the ED's arrivals"
