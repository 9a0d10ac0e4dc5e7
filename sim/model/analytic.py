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
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, overload

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from sim.base.los import DEFAULT_KERNEL_TOL, LosDistribution

__all__ = [
    "PLANNING_OCCUPANCY",
    "DelayTargets",
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
    "servers_for_delay_and_blocking_many",
    "square_root_staffing",
    "square_root_staffing_many",
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


def _erlang_b_scalar(c: int, a: float) -> float:
    """B(c, a) by the recursion."""
    b = 1.0
    for k in range(1, c + 1):
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
    _, blocking = _server_walk(np.array([float(a)]), 1.0, np.array([float(target)]), None)
    return int(blocking[0])


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
    delay, _ = _server_walk(
        np.array([float(a)]),
        float(service_rate),
        None,
        DelayTargets.of(max_wait_prob, max_mean_wait, wait_threshold),
    )
    return int(delay[0])


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
    numbers, with one walk of the Erlang B recursion for both (see
    :func:`servers_for_delay_and_blocking_many`)."""
    _check_delay_targets(a, service_rate, max_wait_prob, max_mean_wait, wait_threshold)
    _check_probability("blocking target", blocking_target)
    delay, blocking = _server_walk(
        np.array([float(a)]),
        float(service_rate),
        np.array([float(blocking_target)]),
        DelayTargets.of(max_wait_prob, max_mean_wait, wait_threshold),
    )
    return int(delay[0]), int(blocking[0])


@dataclass(frozen=True)
class DelayTargets:
    """Targets of the delay search, each an array broadcast against the loads (or
    ``None``: not asked), see :func:`servers_for_delay`."""

    max_wait_prob: FloatArray | None = None
    max_mean_wait: FloatArray | None = None
    wait_threshold: FloatArray | None = None

    @classmethod
    def of(cls, p: ArrayLike | None, w: ArrayLike | None, t: ArrayLike | None) -> DelayTargets:
        def arr(x: ArrayLike | None) -> FloatArray | None:
            return None if x is None else np.asarray(x, dtype=float)

        return cls(arr(p), arr(w), arr(t))

    def flat(self, shape: tuple[int, ...]) -> DelayTargets:
        """Each target broadcast to ``shape`` and flattened."""

        def arr(x: FloatArray | None) -> FloatArray | None:
            return None if x is None else np.broadcast_to(x, shape).ravel().copy()

        return DelayTargets(
            arr(self.max_wait_prob), arr(self.max_mean_wait), arr(self.wait_threshold)
        )

    def take(self, keep: NDArray[np.bool_]) -> DelayTargets:
        def arr(x: FloatArray | None) -> FloatArray | None:
            return None if x is None else x[keep]

        return DelayTargets(
            arr(self.max_wait_prob), arr(self.max_mean_wait), arr(self.wait_threshold)
        )


def servers_for_delay_and_blocking_many(
    a: ArrayLike,
    service_rate: ArrayLike,
    blocking_target: ArrayLike | None,
    delay: DelayTargets | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Servers for the delay targets and for the blocking target of many loads at once.

    The array form of :func:`servers_for_delay` and :func:`servers_for_blocking`
    (every argument broadcast against ``a``; a load <= 0 needs 0 servers): one walk of
    the Erlang B recursion B_c = a·B_{c−1} / (c + a·B_{c−1}) for every load at once,
    each load stopping when its answers are found. Each element goes through the
    same floating-point operations as a walk on its own, so the answers do not
    depend on what else is in the batch. ``None`` for a target not asked (its
    answers are 0). Inputs are not checked: the scalar functions check theirs.
    """
    loads = np.asarray(a, dtype=float)
    shape = loads.shape
    flat = loads.ravel()
    positive = flat > 0.0
    rate = np.broadcast_to(np.asarray(service_rate, dtype=float), shape).ravel()[positive]
    block_t = (
        None
        if blocking_target is None
        else np.broadcast_to(np.asarray(blocking_target, dtype=float), shape).ravel()[positive]
    )
    targets = None if delay is None else delay.flat(shape).take(positive)
    d_pos, b_pos = _server_walk(flat[positive], rate, block_t, targets)
    out_d = np.zeros(flat.size, dtype=np.int64)
    out_b = np.zeros(flat.size, dtype=np.int64)
    out_d[positive], out_b[positive] = d_pos, b_pos
    return out_d.reshape(shape), out_b.reshape(shape)


def _server_walk(
    a: FloatArray,
    rate: FloatArray | float,
    block_t: FloatArray | None,
    targets: DelayTargets | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(smallest c > a meeting ``targets``, smallest c >= 1 with B(c, a) <= ``block_t``)
    of each load a > 0 (0 where not asked), by :func:`_walk_kernel`."""
    n = a.size
    tg = targets.flat(a.shape) if targets is not None else DelayTargets()
    unused = np.zeros(n)

    def arr(x: FloatArray | None) -> FloatArray:
        return unused if x is None else np.ascontiguousarray(x, dtype=float)

    out_d = np.zeros(n, dtype=np.int64)
    out_b = np.zeros(n, dtype=np.int64)
    _walk_kernel(
        np.ascontiguousarray(a, dtype=float),
        np.ascontiguousarray(np.broadcast_to(np.asarray(rate, dtype=float), a.shape)),
        arr(block_t),
        arr(tg.max_wait_prob),
        arr(tg.max_mean_wait),
        arr(tg.wait_threshold),
        np.array(
            [
                block_t is not None,
                targets is not None,
                tg.max_wait_prob is not None,
                tg.max_mean_wait is not None,
                tg.wait_threshold is not None,
            ]
        ),
        out_d,
        out_b,
    )
    return out_d, out_b


@numba.njit(cache=True, nogil=True)
def _walk_kernel(
    a: FloatArray,
    rate: FloatArray,
    block_t: FloatArray,
    wait_p: FloatArray,
    mean_w: FloatArray,
    thr: FloatArray,
    asked: NDArray[np.bool_],
    out_d: NDArray[np.int64],
    out_b: NDArray[np.int64],
) -> None:
    """The server searches, one load after another: the Erlang B recursion
    B_c = a·B_{c−1} / (c + a·B_{c−1}) from B_0 = 1, stopping when both answers are
    found. ``asked`` = (blocking, delay, wait probability, mean wait, wait threshold).
    No c <= a is stable, so the delay test starts above a; every criterion falls with
    c, so the first c that meets it is the smallest. Compiled: a walk of c steps costs
    c multiply-adds, where a numpy step over a batch costs microseconds whatever its
    size."""
    for i in range(a.size):
        ai = a[i]
        b = 1.0
        c = 0
        need_b, need_d = asked[0], asked[1]
        while need_b or need_d:
            c += 1
            ab = ai * b
            b = ab / (c + ab)
            if need_b and b <= block_t[i]:
                out_b[i] = c
                need_b = False
            if need_d and c > ai:
                wait_prob = c * b / (c - ai * (1.0 - b))  # Erlang C for a < c
                spare = c * rate[i] - ai * rate[i]
                ok = True
                if asked[2]:
                    tail = wait_prob * math.exp(-spare * thr[i]) if asked[4] else wait_prob
                    ok = tail <= wait_p[i]
                if asked[3]:
                    ok = ok and wait_prob / spare <= mean_w[i]
                if ok:
                    out_d[i] = c
                    need_d = False


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


def square_root_staffing_many(a: ArrayLike, beta: ArrayLike) -> FloatArray:
    """:func:`square_root_staffing` of many loads (broadcast), 0 where the load is <= 0."""
    loads = np.asarray(a, dtype=float)
    with np.errstate(invalid="ignore"):
        servers = np.maximum(1.0, np.ceil(loads + beta * np.sqrt(loads)))
    return np.asarray(np.where(loads > 0.0, servers, 0.0), dtype=float)


def square_root_staffing(a: float, beta: float) -> int:
    """Servers by the square-root rule: ceil(a + β·√a), at least 1.

    ``a`` in erlangs; ``beta`` the quality-of-service margin (see
    :func:`halfin_whitt_beta`). An approximation: :func:`servers_for_delay`
    gives the exact M/M/c answer.
    """
    _check_load(a)
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta!r}")
    return int(square_root_staffing_many(a, beta))


@overload
def beds_for_occupancy(mean_occupied: float, target_occupancy: float = ...) -> float: ...
@overload
def beds_for_occupancy(
    mean_occupied: FloatArray, target_occupancy: ArrayLike = ...
) -> FloatArray: ...
def beds_for_occupancy(
    mean_occupied: float | FloatArray, target_occupancy: ArrayLike = PLANNING_OCCUPANCY
) -> float | FloatArray:
    """Beds needed to hold ``mean_occupied`` beds at ``target_occupancy`` (fraction).

    The conventional bed-need formula (DATA_NOTES §4, 'Bed-need formula',
    Guangdong 14th-FYP bed-planning paper): beds = admissions × ALOS / 365 ÷
    target occupancy, where admissions × ALOS / 365 is the mean number of
    occupied beds. Default target 0.85 (§4, 'Bed occupancy (planning)');
    works elementwise on arrays too.
    """
    target = np.asarray(target_occupancy)
    if not np.all((target > 0.0) & (target <= 1.0)):
        raise ValueError(f"target occupancy must lie in (0, 1], got {target_occupancy!r}")
    if np.any(np.asarray(mean_occupied) < 0.0):
        raise ValueError(f"mean occupied beds must be >= 0, got {mean_occupied!r}")
    return mean_occupied / target


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
