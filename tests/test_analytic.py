"""Queueing formulas and M(t)/G/∞ occupancy against exact or independent references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from sim.base.los import LosDistribution
from sim.model.analytic import (
    beds_for_occupancy,
    erlang_b,
    erlang_c,
    halfin_whitt_beta,
    halfin_whitt_wait_prob,
    mmc_mean_wait,
    mmc_wait_exceeds,
    mtginf_occupancy,
    mtginf_occupancy_quantile,
    prob_occupancy_at_least,
    servers_for_blocking,
    servers_for_delay,
    square_root_staffing,
)

# The recursion's rounding error grows at most like c × 1e-16; measured ≤ 1.2e-14
# for every case below, so 1e-12 is tight but leaves room for other platforms.
EXACT_RTOL = 1e-12


def exact_erlang_b(c: int, a: Fraction) -> Fraction:
    """B(c, a) = (a^c/c!) / Σ_{j≤c} a^j/j! in exact rational arithmetic.

    With a = p/q, multiplying through by q^c·c! gives B = p^c / T_c with the
    integer Horner sum T_k = k·q·T_{k−1} + p^k, T_0 = 1 (not the B recursion).
    """
    p, q = a.numerator, a.denominator
    total, p_power = 1, 1
    for k in range(1, c + 1):
        p_power *= p
        total = k * q * total + p_power
    return Fraction(p**c, total)


def exact_erlang_c(c: int, a: Fraction) -> Fraction:
    b = exact_erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def _loads(c: int) -> list[float]:
    """Loads exactly representable in binary: near c, at c, above c and one far below.

    The far-below load makes Erlang B tiny (1e-13 … 1e-140) but still a normal float.
    """
    tiny = {1: 2.0**-20, 2: 2.0**-20, 5: 2.0**-20, 5000: 3500.0}.get(c, 0.4 * c)
    near = {1: 0.75}.get(c, c - 0.5)
    return sorted({tiny, round(0.9 * c * 4) / 4, near, float(c), 1.25 * c})


ERLANG_CASES = [(c, a) for c in (1, 2, 5, 10, 50, 100, 500, 1000, 5000) for a in _loads(c)]


# --- Erlang B and C -----------------------------------------------------------
@pytest.mark.parametrize(("c", "a"), ERLANG_CASES)
def test_erlang_b_and_c_match_exact_rational_values(c, a):
    exact_b = exact_erlang_b(c, Fraction(a))
    assert float(exact_b) > 1e-300, "test loads must keep B a normal float"
    assert erlang_b(c, a) == pytest.approx(float(exact_b), rel=EXACT_RTOL)
    assert erlang_b(c, np.array([a]))[0] == pytest.approx(float(exact_b), rel=EXACT_RTOL)
    if a < c:
        exact_c = float(exact_erlang_c(c, Fraction(a)))
        assert erlang_c(c, a) == pytest.approx(exact_c, rel=EXACT_RTOL)
    else:
        assert erlang_c(c, a) == 1.0, "an unstable queue makes everyone wait"


def test_erlang_b_covers_tiny_probabilities():
    assert erlang_b(1000, 400.0) == pytest.approx(
        float(exact_erlang_b(1000, Fraction(400))), rel=EXACT_RTOL
    )
    assert erlang_b(1000, 400.0) < 1e-100


def test_no_overflow_or_nan_at_twenty_thousand_servers():
    b = erlang_b(20_000, 19_000.0)
    assert b == pytest.approx(float(exact_erlang_b(20_000, Fraction(19_000))), rel=EXACT_RTOL)
    assert 0.0 < erlang_c(20_000, 19_000.0) < 1.0
    loads = np.array([1.0, 500.0, 19_000.0, 19_999.0, 20_000.0, 25_000.0])
    many_b = erlang_b(20_000, loads)
    many_c = erlang_c(20_000, loads)
    assert np.all(np.isfinite(many_b)) and np.all(np.isfinite(many_c))
    assert np.all((many_b >= 0.0) & (many_b < 1.0))
    assert np.all(np.diff(many_b) >= 0.0), "blocking must rise with the load"
    assert many_b[2] == b


def test_mm1_and_mm2_closed_forms():
    lam, mu = 0.7, 1.0
    assert erlang_c(1, lam / mu) == pytest.approx(lam / mu, rel=1e-14)
    assert mmc_mean_wait(1, lam, mu) == pytest.approx(lam / (mu * (mu - lam)), rel=1e-14)
    assert mmc_wait_exceeds(1, lam, mu, 2.5) == pytest.approx(
        lam / mu * math.exp(-(mu - lam) * 2.5), rel=1e-14
    )
    rho = 1.5 / 2
    assert erlang_c(2, 1.5) == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-14)
    assert mmc_mean_wait(2, 3.0, 2.0) == pytest.approx(
        (2 * rho**2 / (1 + rho)) / (2 * 2.0 - 3.0), rel=1e-14
    )


def test_unstable_queue_waits_forever():
    assert mmc_mean_wait(3, 3.0, 1.0) == math.inf
    assert mmc_wait_exceeds(3, 4.0, 1.0, 10.0) == 1.0


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: erlang_b(0, 1.0), "servers"),
        (lambda: erlang_b(3, 0.0), "offered load"),
        (lambda: erlang_b(3, np.array([1.0, -1.0])), "offered loads"),
        (lambda: erlang_c(3, math.nan), "offered load"),
        (lambda: mmc_mean_wait(2, -1.0, 1.0), "arrival rate"),
        (lambda: servers_for_blocking(10.0, 1.0), "blocking target"),
        (lambda: servers_for_delay(10.0, 1.0), "max_wait_prob"),
        (lambda: servers_for_delay(10.0, 1.0, max_mean_wait=1.0, wait_threshold=1.0), "needs"),
        (lambda: halfin_whitt_beta(0.0), "target wait probability"),
        (lambda: beds_for_occupancy(100.0, 0.0), "target occupancy"),
    ],
)
def test_bad_arguments_raise(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


# --- sizing -------------------------------------------------------------------
@pytest.mark.parametrize("a", [0.5, 8.0, 95.3, 2000.0, 19_000.0])
@pytest.mark.parametrize("target", [0.1, 0.01, 1e-4])
def test_servers_for_blocking_is_minimal(a, target):
    c = servers_for_blocking(a, target)
    assert erlang_b(c, a) <= target
    assert c == 1 or erlang_b(c - 1, a) > target


DELAY_TARGETS = [
    {"max_wait_prob": 0.2},
    {"max_wait_prob": 0.05, "wait_threshold": 0.5},
    {"max_mean_wait": 0.01},
    {"max_wait_prob": 0.5, "max_mean_wait": 0.001},
]


def _meets(c: int, a: float, mu: float, targets: dict[str, float]) -> bool:
    lam = a * mu
    ok = True
    if "max_wait_prob" in targets:
        t = targets.get("wait_threshold", 0.0)
        ok = mmc_wait_exceeds(c, lam, mu, t) <= targets["max_wait_prob"]
    if "max_mean_wait" in targets:
        ok = ok and mmc_mean_wait(c, lam, mu) <= targets["max_mean_wait"]
    return ok


@pytest.mark.parametrize("targets", DELAY_TARGETS, ids=",".join)
@pytest.mark.parametrize(("a", "mu"), [(0.8, 1.0), (12.0, 0.25), (450.0, 1 / 8), (9000.0, 2.0)])
def test_servers_for_delay_is_minimal(a, mu, targets):
    c = servers_for_delay(a, mu, **targets)
    assert c > a, "a stable queue needs more servers than the load"
    assert _meets(c, a, mu, targets)
    assert not _meets(c - 1, a, mu, targets) if c - 1 >= 1 else True


@pytest.mark.parametrize("p", [0.5, 0.2, 0.05, 1e-3, 1e-12])
def test_halfin_whitt_beta_solves_the_halfin_whitt_function(p):
    beta = halfin_whitt_beta(p)
    assert beta > 0
    norm = stats.norm
    direct = 1.0 / (1.0 + beta * norm.cdf(beta) / norm.pdf(beta))
    assert direct == pytest.approx(p, rel=1e-9)
    assert halfin_whitt_wait_prob(beta) == pytest.approx(p, rel=1e-9)


def test_square_root_staffing_approaches_erlang_c_for_large_loads():
    a = 10_000.0
    beta = halfin_whitt_beta(0.2)
    c = square_root_staffing(a, beta)
    assert c == math.ceil(a + beta * 100.0)
    # Halfin–Whitt is a heavy-traffic limit: at 10,000 erlangs it is within 0.01
    # of the exact waiting probability (rounding c up only lowers it).
    assert 0.19 < erlang_c(c, a) <= 0.2
    assert abs(servers_for_delay(a, 1.0, max_wait_prob=0.2) - c) <= 1


def test_square_root_staffing_rounds_up():
    assert square_root_staffing(100.0, 1.0) == 110
    assert square_root_staffing(100.0, 1.05) == 111
    assert square_root_staffing(0.01, -5.0) == 1


def test_beds_for_occupancy_is_the_planning_formula():
    # 700,000 admissions a year × 7.5 days / 365 = mean occupied beds.
    occupied = 700_000 * 7.5 / 365
    assert beds_for_occupancy(occupied) == pytest.approx(occupied / 0.85, rel=1e-15)
    assert beds_for_occupancy(80.0, 0.8) == pytest.approx(100.0, rel=1e-15)


# --- M(t)/G/∞ -------------------------------------------------------------------
LOS_CASES = [
    LosDistribution("lognormal", 7.5, 0.8),
    LosDistribution("gamma", 9.0, 1.4),
    LosDistribution("lognormal", 30.0, 1.2),
]


@pytest.mark.parametrize("los", LOS_CASES, ids=lambda d: f"{d.family}-{d.mean_days}")
@pytest.mark.parametrize("midnight", [False, True])
def test_constant_arrivals_give_lambda_times_mean_stay(los, midnight):
    lam = 1900.0
    n_days = 400
    cyclic = mtginf_occupancy(np.full(n_days, lam), los, midnight=midnight)
    np.testing.assert_allclose(cyclic, lam * los.mean, rtol=1e-6)
    warm = mtginf_occupancy(np.full(n_days, lam), los, midnight=midnight, warmup=los.support_days())
    np.testing.assert_allclose(warm, lam * los.mean, rtol=1e-6)
    empty = mtginf_occupancy(np.full(n_days, lam), los, midnight=midnight, warmup="empty")
    assert empty[0] < lam, "an empty system holds only day 0's admissions on day 0"
    assert np.all(np.diff(empty) >= -1e-9), "an empty system fills monotonically"


def test_an_impulse_of_admissions_traces_the_kernel():
    los = LosDistribution("gamma", 4.0, 0.7)
    impulse = np.zeros(30)
    impulse[0] = 1.0
    for midnight in (False, True):
        out = mtginf_occupancy(impulse, los, midnight=midnight, warmup="empty")
        np.testing.assert_allclose(out, los.daily_kernel(30, midnight=midnight), rtol=1e-14)
    np.testing.assert_array_equal(
        mtginf_occupancy(impulse, los, warmup=0), mtginf_occupancy(impulse, los, warmup="empty")
    )


def test_cyclic_occupancy_conserves_bed_days_and_keeps_leading_axes():
    """Over one period, bed-days = admissions × mean stay (Little's law), per row."""
    days = np.arange(365)
    rows = np.stack([1000 + 300 * np.cos(2 * np.pi * days / 7), 50 + days % 3])
    los = LosDistribution("lognormal", 60.0, 1.5)  # stays longer than the period fold back
    for midnight in (False, True):
        out = mtginf_occupancy(rows, los, midnight=midnight)
        assert out.shape == rows.shape
        np.testing.assert_allclose(out.sum(axis=-1), rows.sum(axis=-1) * los.mean, rtol=1e-9)
        np.testing.assert_allclose(out[1], mtginf_occupancy(rows[1], los, midnight=midnight))


@pytest.mark.parametrize("mean_stay", [8.0, 30.0])
def test_seasonal_arrivals_give_damped_lagged_occupancy(mean_stay):
    """λ(t) = λ̄(1 + ε sin ωt) with exponential stays of rate μ: the occupancy has
    amplitude λ̄/μ · ε/√(1 + (ω/μ)²) and lags by arctan(ω/μ)/ω days."""
    lam_bar, eps = 1900.0, 0.2
    period = 365
    omega = 2 * np.pi / period
    mu = 1.0 / mean_stay
    day = np.arange(period)
    # Exact integral of λ(t) over each day [d, d + 1).
    admissions = lam_bar * (1 + eps * (np.cos(omega * day) - np.cos(omega * (day + 1))) / omega)
    occupancy = mtginf_occupancy(admissions, LosDistribution("exponential", mean_stay))

    def first_harmonic(x: np.ndarray) -> complex:
        return complex(2.0 / period * np.sum(x * np.exp(-1j * omega * day)))

    h_in, h_out = first_harmonic(admissions), first_harmonic(occupancy)
    expected_amplitude = lam_bar / mu * eps / math.sqrt(1 + (omega / mu) ** 2)
    expected_lag = math.atan(omega / mu) / omega
    lag = (np.angle(h_in) - np.angle(h_out)) % (2 * np.pi) / omega
    assert abs(h_out) == pytest.approx(expected_amplitude, rel=0.01)
    assert lag == pytest.approx(expected_lag, abs=0.5)
    assert occupancy.mean() == pytest.approx(lam_bar * mean_stay, rel=1e-9)


def test_bad_occupancy_inputs_raise():
    los = LosDistribution("gamma", 4.0, 0.7)
    with pytest.raises(ValueError, match="warmup"):
        mtginf_occupancy(np.ones(10), los, warmup="hot")
    with pytest.raises(ValueError, match="warmup"):
        mtginf_occupancy(np.ones(10), los, warmup=-1)
    with pytest.raises(ValueError, match=">= 0"):
        mtginf_occupancy(np.array([1.0, -1.0]), los)
    with pytest.raises(ValueError, match="at least one day"):
        mtginf_occupancy(np.array([]), los)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.999])
def test_poisson_quantile_is_the_smallest_count_reaching_q(q):
    means = np.array([0.3, 4.0, 95.5, 14_250.0])
    n = mtginf_occupancy_quantile(means, q)
    np.testing.assert_array_equal(n, stats.poisson.ppf(q, means))
    assert np.all(stats.poisson.cdf(n, means) >= q)
    assert np.all(stats.poisson.cdf(n - 1, means) < q)


def test_prob_occupancy_at_least_sums_the_poisson_tail():
    mean = 95.5
    for k in (0, 1, 80, 96, 130):
        counts = np.arange(k, 1000)
        tail = float(np.sum(stats.poisson.pmf(counts, mean)))
        assert prob_occupancy_at_least(mean, k) == pytest.approx(tail, rel=1e-10)
