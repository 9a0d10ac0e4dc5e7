"""Length-of-stay distributions: moments, inversion, sampling and daily kernels."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, stats

from sim.base.los import LosDistribution, gamma_params, lognormal_params
from sim.base.rng import generator

DISTRIBUTIONS = [
    LosDistribution("lognormal", 7.5, 0.8),
    LosDistribution("lognormal", 0.4, 2.0),
    LosDistribution("gamma", 8.0, 1.3),
    LosDistribution("gamma", 30.0, 0.3),
    LosDistribution("exponential", 12.0),
]
IDS = [f"{d.family}-{d.mean_days}-{d.cv}" for d in DISTRIBUTIONS]


def _quad(f, lo: float, hi: float, points: list[float] | None = None) -> float:
    value, _ = integrate.quad(f, lo, hi, points=points, epsabs=1e-15, epsrel=1e-12, limit=400)
    return float(value)


# --- construction ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "mean", "cv", "fragment"),
    [
        ("weibull", 5.0, 1.0, "family"),
        ("lognormal", 0.0, 1.0, "mean_days"),
        ("gamma", -3.0, 1.0, "mean_days"),
        ("gamma", math.nan, 1.0, "mean_days"),
        ("lognormal", 5.0, 0.0, "cv"),
        ("gamma", 5.0, math.inf, "cv"),
    ],
)
def test_invalid_parameters_raise_naming_the_field(family, mean, cv, fragment):
    with pytest.raises(ValueError, match=fragment):
        LosDistribution(family, mean, cv)


def test_exponential_cv_is_one_whatever_is_passed():
    assert LosDistribution("exponential", 4.0, 0.3).cv == 1.0
    assert LosDistribution("exponential", 4.0).variance == pytest.approx(16.0, rel=1e-15)


def test_parameter_helpers_reproduce_mean_and_cv():
    mu, sigma = lognormal_params(7.5, 0.8)
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(7.5, rel=1e-14)
    assert math.sqrt(math.exp(sigma**2) - 1) == pytest.approx(0.8, rel=1e-14)
    shape, scale = gamma_params(7.5, 0.8)
    assert shape * scale == pytest.approx(7.5, rel=1e-14)
    assert math.sqrt(shape) * scale / 7.5 == pytest.approx(0.8, rel=1e-14)


def test_with_mean_returns_a_rescaled_copy_and_leaves_the_original():
    base = LosDistribution("lognormal", 8.0, 0.9)
    shorter = base.with_mean(6.0)
    assert (shorter.family, shorter.mean, shorter.cv) == ("lognormal", 6.0, 0.9)
    assert base.mean == 8.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.mean_days = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="mean_days"):
        base.with_mean(0.0)


# --- distribution functions -------------------------------------------------------
@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_moments_match_integrals_of_the_survival_function(los):
    """E[S] = ∫ P(S > t) dt and E[S²] = 2 ∫ t P(S > t) dt, by quadrature."""
    upper = float(los.ppf(1 - 1e-15))
    first = _quad(los.survival, 0.0, upper, points=[los.mean])
    second = 2.0 * _quad(lambda t: t * los.survival(t), 0.0, upper, points=[los.mean])
    assert first == pytest.approx(los.mean, rel=1e-8)
    assert second - first**2 == pytest.approx(los.variance, rel=1e-6)


@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_ppf_inverts_cdf_and_survival_complements_it(los):
    u = np.array([1e-9, 0.01, 0.25, 0.5, 0.9, 0.999, 1 - 1e-9])
    t = los.ppf(u)
    assert np.all(np.diff(t) > 0), "quantiles must increase with probability"
    np.testing.assert_allclose(los.cdf(t), u, rtol=1e-9)
    np.testing.assert_allclose(los.cdf(t) + los.survival(t), 1.0, rtol=1e-14)
    np.testing.assert_allclose(los.ppf(los.cdf(np.array([0.5, 3.0, 40.0]))), [0.5, 3.0, 40.0])
    assert los.survival(np.array([0.0]))[0] == 1.0


@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_sample_is_ppf_of_the_generators_uniforms(los):
    draws = los.sample(generator(7, 0, "los"), 1000)
    expected = los.ppf(generator(7, 0, "los").random(1000))
    np.testing.assert_array_equal(draws, expected)


@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_sample_mean_and_cv_within_sampling_error(los):
    n = 400_000
    draws = los.sample(generator(2025, 1, "los-test"), n)
    # Standard errors from the distribution's own moments (excess kurtosis from scipy).
    sd = math.sqrt(los.variance)
    assert abs(draws.mean() - los.mean) < 5 * sd / math.sqrt(n)
    if los.family == "lognormal":
        mu, sigma = lognormal_params(los.mean, los.cv)
        kurt = float(stats.lognorm(s=sigma, scale=math.exp(mu)).stats(moments="k"))
    else:
        kurt = 6.0 * los.cv**2  # gamma (and exponential, cv = 1): 6 / shape
    se_var = los.variance * math.sqrt((kurt + 2.0) / n)
    assert abs(draws.var() - los.variance) < 5 * se_var, (draws.var(), los.variance, se_var)


# --- kernels ----------------------------------------------------------------------
@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
@pytest.mark.parametrize("midnight", [False, True])
def test_kernel_sums_to_the_mean_stay(los, midnight):
    kernel = los.daily_kernel(los.support_days(), midnight=midnight)
    assert np.all(kernel >= 0.0)
    assert kernel.sum() == pytest.approx(los.mean, rel=1e-9)


@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_kernel_matches_quadrature_of_the_survival_function(los):
    """Midnight: ∫_k^{k+1} S̄; time-averaged: tent-weighted ∫ (1 − |t − k|) S̄ (t ≥ 0)."""
    days = [0, 1, 2, 5, 17]
    timeavg = los.daily_kernel(18, midnight=False)
    census = los.daily_kernel(18, midnight=True)
    for k in days:
        ref_census = _quad(los.survival, k, k + 1)
        ref_tent = _quad(
            lambda t, k=k: (1 - abs(t - k)) * los.survival(t), max(k - 1, 0), k + 1, [k]
        )
        assert census[k] == pytest.approx(ref_census, rel=1e-9, abs=1e-15), k
        assert timeavg[k] == pytest.approx(ref_tent, rel=1e-9, abs=1e-15), k


def test_kernel_means_what_it_says_by_simulating_admissions():
    """Uniform arrival in day 0, stay S: census at midnight k and share of day k in bed."""
    los = LosDistribution("gamma", 2.5, 0.9)
    rng = generator(11, 0, "kernel-check")
    n = 200_000
    arrive = rng.random(n)
    leave = arrive + los.sample(rng, n)
    days = np.arange(8)
    in_bed_at_midnight = (leave[:, None] > days + 1).mean(axis=0)
    share_of_day = (
        np.clip(np.minimum(leave[:, None], days + 1) - np.maximum(arrive[:, None], days), 0, 1)
    ).mean(axis=0)
    census = los.daily_kernel(8, midnight=True)
    timeavg = los.daily_kernel(8, midnight=False)
    # A mean of indicators or of [0, 1] shares: sd <= sqrt(p(1 - p)).
    se_census = np.sqrt(census * (1 - census) / n)
    se_timeavg = np.sqrt(timeavg * (1 - timeavg) / n)
    assert np.all(np.abs(in_bed_at_midnight - census) < 5 * se_census + 1e-12)
    assert np.all(np.abs(share_of_day - timeavg) < 5 * se_timeavg + 1e-12)


@pytest.mark.parametrize("los", DISTRIBUTIONS, ids=IDS)
def test_support_days_is_the_shortest_kernel_meeting_the_tolerance(los):
    tol = 1e-9

    def excess(x: float) -> float:  # E[(S - x)+] = ∫_x^∞ P(S > t) dt
        return _quad(los.survival, x, np.inf)

    n = los.support_days(tol)
    assert excess(n - 1) <= tol * los.mean * (1 + 1e-6)
    if n > 1:
        assert excess(n - 2) > tol * los.mean * (1 - 1e-6)
    assert los.daily_kernel(n, midnight=False).sum() >= los.mean * (1 - tol)


def test_kernel_rejects_an_empty_length():
    with pytest.raises(ValueError, match="n_days"):
        LosDistribution("gamma", 3.0, 1.0).daily_kernel(0, midnight=True)
