"""Queueing formulas and capacity sizing for the expected (analytic) level.

Units: an offered load ``a`` is in erlangs (arrival rate × mean service time,
i.e. the mean number of busy servers if none were ever short). Rates are per
unit of time and waits come back in that same unit (the caller chooses: hours
for ED cubicles, days for beds).

* Erlang B (M/M/c/c, also M/G/c/c by insensitivity) and Erlang C (M/M/c) by the
  forward recursion B_k = a·B_{k−1} / (k + a·B_{k−1}), B_0 = 1. Every step is a
  ratio of positive numbers in (0, 1], so it neither overflows nor loses
  precision for c up to tens of thousands of servers (error ≲ c × 1e-16); the
  textbook formula with a^c / c! overflows beyond c ≈ 170.
* Staffing: the smallest c meeting a blocking or waiting target, and the
  Halfin–Whitt square-root rule c = a + β·√a.
* M(t)/G/∞ bed occupancy: daily admissions convolved with the length-of-stay
  kernel of :meth:`sim.base.los.LosDistribution.daily_kernel`. With Poisson
  admissions the occupancy at any instant is Poisson with that mean (Eick,
  Massey & Whitt 1993, "The physics of the M_t/G/∞ queue", Oper. Res. 41:731),
  so its quantiles are Poisson quantiles.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import count
from typing import Final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from sim.base.los import DEFAULT_KERNEL_TOL, LosDistribution

__all__ = [
    "PLANNING_OCCUPANCY",
    "beds_for_occupancy",
    "erlang_b",
    "erlang_c",
    "halfin_whitt_beta",
    "halfin_whitt_wait_prob",
    "mmc_mean_wait",
    "mmc_wait_exceeds",
    "mtginf_occupancy",
    "mtginf_occupancy_quantile",
    "prob_occupancy_at_least",
    "servers_for_blocking",
    "servers_for_delay",
    "servers_for_delay_and_blocking",
    "square_root_staffing",
]

FloatArray = NDArray[np.float64]

PLANNING_OCCUPANCY: Final = 0.85
"""Conventional planning bed occupancy (DATA_NOTES §4, 'Bed occupancy (planning)';
grade C as a national norm). Assumption; sensitivity range 0.80–0.93 (§5.6)."""


# --- Erlang B and C --------------------------------------------------------------
def _check_servers(c: int) -> None:
    if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
        raise ValueError(f"number of servers must be an integer >= 1, got {c!r}")


def _check_load(a: float) -> None:
    if not (math.isfinite(a) and a > 0.0):
        raise ValueError(f"offered load must be a finite number of erlangs > 0, got {a!r}")


def _erlang_b_scalar(c: int, a: float, *, start: tuple[int, float] = (0, 1.0)) -> float:
    """B(c, a) by the recursion, continued from ``start`` = (c0, B(c0, a)), c0 <= c."""
    c0, b = start
    for k in range(c0 + 1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def _erlang_b_array(c: int, a: FloatArray) -> FloatArray:
    b = np.ones_like(a)
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


@overload
def erlang_b(c: int, a: float) -> float: ...
@overload
def erlang_b(c: int, a: NDArray[np.floating]) -> FloatArray: ...
def erlang_b(c: int, a: float | NDArray[np.floating]) -> float | FloatArray:
    """Blocking probability of an M/G/c/c loss system (Erlang B).

    Args:
        c: number of servers (>= 1).
        a: offered load in erlangs (> 0); a float, or an array to evaluate many
            loads at once (same shape out).

    Returns:
        B(c, a) = (a^c/c!) / Σ_{k=0}^{c} a^k/k!, by the stable recursion. Values
        below ~1e-308 underflow to 0.
    """
    _check_servers(c)
    if isinstance(a, np.ndarray):
        arr = np.asarray(a, dtype=float)
        if not np.all(np.isfinite(arr) & (arr > 0.0)):
            raise ValueError("offered loads must be finite numbers of erlangs > 0")
        return _erlang_b_array(int(c), arr)
    a = float(a)
    _check_load(a)
    return _erlang_b_scalar(int(c), a)


def _c_from_b(c: int, a: float, b: float) -> float:
    if a >= c:
        return 1.0
    return c * b / (c - a * (1.0 - b))


@overload
def erlang_c(c: int, a: float) -> float: ...
@overload
def erlang_c(c: int, a: NDArray[np.floating]) -> FloatArray: ...
def erlang_c(c: int, a: float | NDArray[np.floating]) -> float | FloatArray:
    """Probability that an arrival must wait in an M/M/c queue (Erlang C).

    C(c, a) = c·B / (c − a·(1 − B)) with B = Erlang B(c, a), for a < c. For
    a >= c the queue is unstable and every arrival eventually waits: 1.0 is
    returned (documented convention, not an error).
    """
    if isinstance(a, np.ndarray):
        arr = np.asarray(a, dtype=float)
        b = erlang_b(c, arr)
        stable = arr < c
        with np.errstate(divide="ignore", invalid="ignore"):
            value = c * b / (c - arr * (1.0 - b))
        return np.where(stable, value, 1.0)
    b_scalar = erlang_b(c, float(a))
    return _c_from_b(int(c), float(a), b_scalar)


def _check_rates(arrival_rate: float, service_rate: float) -> None:
    if not (math.isfinite(arrival_rate) and arrival_rate > 0.0):
        raise ValueError(f"arrival rate must be finite and > 0, got {arrival_rate!r}")
    if not (math.isfinite(service_rate) and service_rate > 0.0):
        raise ValueError(f"service rate must be finite and > 0, got {service_rate!r}")


def mmc_mean_wait(c: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue Wq of an M/M/c queue (time unit of 1/rate).

    Wq = C(c, a) / (c·μ − λ) with a = λ/μ; ``math.inf`` when λ >= c·μ.
    """
    _check_servers(c)
    _check_rates(arrival_rate, service_rate)
    spare = c * service_rate - arrival_rate
    if spare <= 0.0:
        return math.inf
    return erlang_c(c, arrival_rate / service_rate) / spare


def mmc_wait_exceeds(c: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """P(W > t) for the queueing delay W of an M/M/c queue (FCFS).

    P(W > t) = C(c, a)·exp(−(c·μ − λ)·t) for t >= 0; 1.0 when λ >= c·μ.
    ``t`` is in the time unit of 1/rate.
    """
    _check_servers(c)
    _check_rates(arrival_rate, service_rate)
    if not (math.isfinite(t) and t >= 0.0):
        raise ValueError(f"wait threshold must be finite and >= 0, got {t!r}")
    spare = c * service_rate - arrival_rate
    if spare <= 0.0:
        return 1.0
    return erlang_c(c, arrival_rate / service_rate) * math.exp(-spare * t)


# --- sizing ------------------------------------------------------------------
def _check_probability(name: str, p: float) -> None:
    if not (math.isfinite(p) and 0.0 < p < 1.0):
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {p!r}")


def servers_for_blocking(a: float, target: float) -> int:
    """Smallest number of servers c >= 1 with Erlang B(c, a) <= ``target``.

    ``a`` in erlangs; ``target`` in (0, 1). Walks the Erlang B recursion once,
    so it costs O(c).
    """
    _check_load(a)
    _check_probability("blocking target", target)
    return _blocking_walk(a, target)[0]


def _blocking_walk(a: float, target: float) -> tuple[int, float]:
    """(smallest c with B(c, a) <= target, that B(c, a))."""
    b = 1.0
    for c in count(1):
        ab = a * b
        b = ab / (c + ab)
        if b <= target:
            return c, b
    raise AssertionError("unreachable: Erlang B falls to 0 as c grows")


def servers_for_delay(
    a: float,
    service_rate: float,
    *,
    max_wait_prob: float | None = None,
    max_mean_wait: float | None = None,
    wait_threshold: float | None = None,
) -> int:
    """Smallest number of servers of an M/M/c queue meeting every given target.

    Args:
        a: offered load in erlangs (λ/μ).
        service_rate: μ, services per unit time per server (sets the time unit
            of ``max_mean_wait`` and ``wait_threshold``).
        max_wait_prob: p. Without ``wait_threshold``: require P(wait > 0) =
            C(c, a) <= p. With it: require P(W > wait_threshold) <= p.
        max_mean_wait: w: require the mean queueing delay Wq <= w.
        wait_threshold: t, used only together with ``max_wait_prob``.

    Every criterion falls with c, so the first c (above a) that meets all of
    them is the smallest. At least one target is required.
    """
    _check_delay_targets(a, service_rate, max_wait_prob, max_mean_wait, wait_threshold)
    return _delay_search(a, service_rate, max_wait_prob, max_mean_wait, wait_threshold)


def servers_for_delay_and_blocking(
    a: float,
    service_rate: float,
    blocking_target: float,
    *,
    max_wait_prob: float | None = None,
    max_mean_wait: float | None = None,
    wait_threshold: float | None = None,
) -> tuple[int, int]:
    """(:func:`servers_for_delay`, :func:`servers_for_blocking`) of one load, the same
    numbers, with one walk of the Erlang B recursion for both: for loads of thousands
    of beds the walk is the whole cost, and the delay search continues where the
    blocking one stopped (the blocking answer is usually just below ``a``)."""
    _check_delay_targets(a, service_rate, max_wait_prob, max_mean_wait, wait_threshold)
    _check_probability("blocking target", blocking_target)
    blocking = _blocking_walk(a, blocking_target)
    start = blocking if blocking[0] <= a else (0, 1.0)  # c0 <= a: a prefix of the walk
    delay = _delay_search(a, service_rate, max_wait_prob, max_mean_wait, wait_threshold, start)
    return delay, blocking[0]


def _delay_search(
    a: float,
    service_rate: float,
    max_wait_prob: float | None,
    max_mean_wait: float | None,
    wait_threshold: float | None,
    start: tuple[int, float] = (0, 1.0),
) -> int:
    """The search of :func:`servers_for_delay`, the recursion continued from ``start``
    = (c0, B(c0, a)) with c0 <= a."""
    arrival_rate = a * service_rate
    # No c <= a is stable: walk the Erlang B recursion up to floor(a) without testing
    # (the bulk of the cost for loads of thousands of beds), then test each c above.
    first = math.floor(a) + 1
    b = _erlang_b_scalar(first - 1, a, start=start)
    for c in count(first):
        ab = a * b
        b = ab / (c + ab)
        wait_prob = _c_from_b(c, a, b)
        spare = c * service_rate - arrival_rate
        ok = True
        if max_wait_prob is not None:
            tail = (
                wait_prob
                if wait_threshold is None
                else wait_prob * math.exp(-spare * wait_threshold)
            )
            ok = tail <= max_wait_prob
        if ok and max_mean_wait is not None:
            ok = wait_prob / spare <= max_mean_wait
        if ok:
            return c
    raise AssertionError("unreachable: the wait criteria fall to 0 as c grows")


def _check_delay_targets(
    a: float,
    service_rate: float,
    max_wait_prob: float | None,
    max_mean_wait: float | None,
    wait_threshold: float | None,
) -> None:
    """Validate the arguments of :func:`servers_for_delay` (``ValueError``)."""
    _check_load(a)
    if not (math.isfinite(service_rate) and service_rate > 0.0):
        raise ValueError(f"service rate must be finite and > 0, got {service_rate!r}")
    if max_wait_prob is None and max_mean_wait is None:
        raise ValueError("give max_wait_prob and/or max_mean_wait")
    if wait_threshold is not None:
        if max_wait_prob is None:
            raise ValueError("wait_threshold needs max_wait_prob (the P(W > t) target)")
        if not (math.isfinite(wait_threshold) and wait_threshold >= 0.0):
            raise ValueError(f"wait_threshold must be finite and >= 0, got {wait_threshold!r}")
    if max_wait_prob is not None:
        _check_probability("max_wait_prob", max_wait_prob)
    if max_mean_wait is not None and not (math.isfinite(max_mean_wait) and max_mean_wait >= 0.0):
        raise ValueError(f"max_mean_wait must be finite and >= 0, got {max_mean_wait!r}")
    if max_mean_wait == 0.0:
        raise ValueError("max_mean_wait = 0 can never be met by a queue with Poisson arrivals")


def halfin_whitt_wait_prob(beta: float) -> float:
    """Halfin–Whitt limit of P(wait) at c = a + β√a: [1 + β·Φ(β)/φ(β)]⁻¹, β > 0.

    Halfin & Whitt (1981), "Heavy-traffic limits for queues with many
    exponential servers", Oper. Res. 29:567.
    """
    if not (math.isfinite(beta) and beta > 0.0):
        raise ValueError(f"Halfin–Whitt beta must be finite and > 0, got {beta!r}")
    return float(special.expit(-_log_hw_ratio(beta)))


def _log_hw_ratio(beta: float) -> float:
    """log(β·Φ(β)/φ(β)) for β > 0, kept in logs so a large β does not overflow."""
    log_phi = -0.5 * beta * beta - 0.5 * math.log(2.0 * math.pi)
    return float(math.log(beta) + special.log_ndtr(beta) - log_phi)


def halfin_whitt_beta(target_wait_prob: float) -> float:
    """β > 0 with Halfin–Whitt P(wait) = ``target_wait_prob`` (in (0, 1)).

    Solves β·Φ(β)/φ(β) = 1/p − 1 in logs (monotone in β) by Brent's method.
    """
    _check_probability("target wait probability", target_wait_prob)
    goal = math.log1p(-target_wait_prob) - math.log(target_wait_prob)

    def excess(beta: float) -> float:
        return _log_hw_ratio(beta) - goal

    lo, hi = 1e-300, 1.0
    while excess(hi) < 0.0:
        hi *= 2.0
    return float(optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))


def square_root_staffing(a: float, beta: float) -> int:
    """Servers by the square-root rule: ceil(a + β·√a), at least 1.

    ``a`` in erlangs; ``beta`` the quality-of-service margin (see
    :func:`halfin_whitt_beta`). An approximation: :func:`servers_for_delay`
    gives the exact M/M/c answer.
    """
    _check_load(a)
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta!r}")
    return max(1, math.ceil(a + beta * math.sqrt(a)))


def beds_for_occupancy(mean_occupied: float, target_occupancy: float = PLANNING_OCCUPANCY) -> float:
    """Beds needed to hold ``mean_occupied`` beds at ``target_occupancy`` (fraction).

    The conventional bed-need formula (DATA_NOTES §4, 'Bed-need formula',
    Guangdong 14th-FYP bed-planning paper): beds = admissions × ALOS / 365 ÷
    target occupancy, where admissions × ALOS / 365 is the mean number of
    occupied beds. Default target 0.85 (§4, 'Bed occupancy (planning)');
    works elementwise on arrays too.
    """
    if not (0.0 < target_occupancy <= 1.0):
        raise ValueError(f"target occupancy must lie in (0, 1], got {target_occupancy!r}")
    if np.any(np.asarray(mean_occupied) < 0.0):
        raise ValueError(f"mean occupied beds must be >= 0, got {mean_occupied!r}")
    return mean_occupied / target_occupancy


# --- M(t)/G/∞ -----------------------------------------------------------------
def mtginf_occupancy(
    daily_admissions: ArrayLike,
    los: LosDistribution,
    *,
    midnight: bool = False,
    warmup: str | int = "cyclic",
    kernel_tol: float = DEFAULT_KERNEL_TOL,
) -> FloatArray:
    """Expected occupied beds on each day of an M(t)/G/∞ system.

    Admissions on day d (expected count, arriving uniformly within the day)
    each stay a ``los`` length of stay; no bed limit. Occupancy on day t is
    Σ_k admissions[t − k] · kernel[k] with ``los.daily_kernel`` (time-averaged
    over day t, or the census at the midnight ending day t if ``midnight``).

    Args:
        daily_admissions: expected admissions per day, days on the last axis
            (leading axes, e.g. pools, are kept).
        los: length-of-stay distribution (days).
        midnight: midnight census instead of the time-averaged occupancy.
        warmup: what happened before day 0:
            ``"cyclic"``: the series repeats with its own length (steady state
            of a repeating year); the kernel is folded onto that period.
            int ``n`` >= 0: ``n`` days at the mean of the first ``min(n, T)``
            days are prepended, before which the system is empty.
            ``"empty"``: no patients before day 0 (same as ``0``).
        kernel_tol: kernel cut-off, see ``LosDistribution.support_days``.

    Returns:
        Expected occupied beds, same shape as ``daily_admissions``.
    """
    adm = np.asarray(daily_admissions, dtype=float)
    if adm.ndim == 0 or adm.shape[-1] == 0:
        raise ValueError("daily_admissions needs at least one day on its last axis")
    if not np.all(np.isfinite(adm) & (adm >= 0.0)):
        raise ValueError("daily admissions must be finite and >= 0")
    n_days = adm.shape[-1]
    if warmup == "cyclic":
        # Circular convolution: the series preceded by its own last T - 1 days; only
        # the T outputs that see the whole folded kernel are computed.
        extended = np.concatenate([adm[..., 1:], adm], axis=-1)
        return _convolve_last(
            extended, _folded_kernel(los, kernel_tol, midnight, n_days), valid=True
        )
    kernel = _kernel(los, kernel_tol, midnight)

    if warmup == "empty":
        n_warm = 0
    elif isinstance(warmup, int | np.integer) and not isinstance(warmup, bool) and warmup >= 0:
        n_warm = int(warmup)
    else:
        raise ValueError(f"warmup must be 'cyclic', 'empty' or an int >= 0 of days, got {warmup!r}")
    if n_warm > 0:
        level = adm[..., : min(n_warm, n_days)].mean(axis=-1, keepdims=True)
        prefix = np.broadcast_to(level, (*adm.shape[:-1], n_warm))
        adm = np.concatenate([prefix, adm], axis=-1)
    return _convolve_last(adm, kernel)[..., n_warm : n_warm + n_days]


KERNEL_CACHE_SIZE: Final = 1024
"""Daily kernels kept per process: a replicate uses a few dozen distinct LOS
distributions, each in several years and pools."""


@lru_cache(maxsize=KERNEL_CACHE_SIZE)
def _kernel(los: LosDistribution, kernel_tol: float, midnight: bool) -> FloatArray:
    """``los.daily_kernel`` cut at ``los.support_days(kernel_tol)``, cached (read-only).

    Computing a kernel costs milliseconds (scipy's frozen distributions and a search
    for the support); the same distribution recurs in every year and pool it feeds.
    ``LosDistribution`` is frozen and hashed by value, so equal distributions share
    one (bit-identical) kernel."""
    kernel = los.daily_kernel(los.support_days(kernel_tol), midnight=midnight)
    kernel.flags.writeable = False
    return kernel


@lru_cache(maxsize=KERNEL_CACHE_SIZE)
def _folded_kernel(
    los: LosDistribution, kernel_tol: float, midnight: bool, n_days: int
) -> FloatArray:
    """The kernel folded onto a period of ``n_days`` (cached, read-only): an admission
    k days back with k >= n_days is the admission k mod n_days days back of an earlier
    repeat of the series."""
    kernel = _kernel(los, kernel_tol, midnight)
    folded = np.zeros(n_days)
    np.add.at(folded, np.arange(kernel.size) % n_days, kernel)
    folded.flags.writeable = False
    return folded


def _convolve_last(series: FloatArray, kernel: FloatArray, *, valid: bool = False) -> FloatArray:
    """Causal convolution along the last axis, truncated to the series length; with
    ``valid``, only the outputs that use the whole kernel (series length − kernel
    length + 1 of them: the last ones of the truncated convolution, same values)."""
    n = series.shape[-1]
    width = n - kernel.size + 1 if valid else n
    flat = series.reshape(-1, n)
    out = np.empty((flat.shape[0], width))
    for row, values in enumerate(flat):
        out[row] = (
            np.convolve(values, kernel, "valid") if valid else np.convolve(values, kernel)[:n]
        )
    return out.reshape(*series.shape[:-1], width)


def mtginf_occupancy_quantile(mean: ArrayLike, q: float) -> FloatArray:
    """Quantile ``q`` of the occupancy (beds) of an M(t)/G/∞ system at an instant.

    The occupancy at any instant is Poisson with the expected occupancy at that
    instant as its mean (Eick, Massey & Whitt 1993). Apply it to the midnight
    census, or to a time-averaged mean as an approximation of a typical instant.
    Returns the smallest integer n with P(N ≤ n) >= q (float array).
    """
    if not (0.0 <= q <= 1.0):
        raise ValueError(f"quantile must lie in [0, 1], got {q!r}")
    return np.asarray(stats.poisson.ppf(q, np.asarray(mean, dtype=float)), dtype=float)


def prob_occupancy_at_least(mean: ArrayLike, k: ArrayLike) -> FloatArray:
    """P(N >= k) for Poisson occupancy N with the given mean (e.g. beds k full)."""
    k_arr = np.asarray(k)
    return np.asarray(stats.poisson.sf(k_arr - 1, np.asarray(mean, dtype=float)), dtype=float)
