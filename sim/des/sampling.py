"""Compiled kernels of the drawing (:mod:`sim.des.arrivals`): one pass each, no
temporaries of the size of a replicate.

* :func:`poisson_points`: a Poisson process with a rate that is constant within
  each hour, by time change of one running sum of standard exponentials.
* :func:`poisson_ppf`: the Poisson quantile by a walk over the probability mass
  from a normal approximation (clinic demand, one uniform per day); scipy's
  ``poisson.ppf`` inverts the same cdf through an iterative search, 5x slower.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

__all__ = ["poisson_points", "poisson_ppf"]


@numba.njit(cache=True, nogil=True)
def poisson_points(
    exponentials: Any,
    cum: Any,
    per_hour: Any,
    t0: float,
    out: Any,
    carry: tuple[int, float, int],
) -> tuple[int, float, int, bool]:
    """Continue a unit-rate Poisson process and write its points as arrival times.

    The unit-rate process is the running sum p of standard exponentials (one
    ``exponentials`` chunk per call). Its points below ``cum[-1]`` (the total
    expected count) are mapped through the inverse of the cumulative rate: p in
    hour bin j (``cum[j] <= p < cum[j + 1]``) becomes
    ``t0 + (j + (p - cum[j]) / per_hour[j]) / 24`` days. A zero-rate bin is never
    chosen (it is empty).

    Args:
        exponentials: this chunk of standard exponentials.
        cum: cumulative expected count at the start of each hour bin, then the total.
        per_hour: expected count in each hour bin.
        t0: time of the start of the first bin, days.
        out: the times; room for ``exponentials.size`` more after those written.
        carry: (times written, running sum, hour bin) from the previous call,
            ``(0, 0.0, 0)`` at first.

    Returns:
        The carry after this chunk and whether the process has passed the total.
    """
    n_out, p, j = carry
    total = cum[-1]
    for k in range(exponentials.size):
        p += exponentials[k]
        if p >= total:
            return n_out, p, j, True
        while p >= cum[j + 1]:
            j += 1
        out[n_out] = t0 + (j + (p - cum[j]) / per_hour[j]) / 24.0
        n_out += 1
    return n_out, p, j, False


_TAIL = 1e-17
"""Relative size below which a Poisson probability no longer changes a sum."""


@numba.njit(cache=True, nogil=True)
def _poisson_cdf_at(k: int, mean: float) -> tuple[float, float]:
    """P(X = k) and P(X <= k) for X ~ Poisson(mean), summing the mass downward from
    k (``p(i - 1) = p(i) * i / mean``) until the terms no longer count."""
    pmf = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1.0))
    cdf = pmf
    term = pmf
    i = k
    while i > 0:
        term *= i / mean
        cdf += term
        i -= 1
        if term < _TAIL * cdf and i < mean:  # below the mode the terms only shrink
            break
    return pmf, cdf


@numba.njit(cache=True, nogil=True, inline="always")
def _normal_quantile_guess(u: float) -> float:
    """Tukey's lambda approximation of the standard normal quantile (within about
    0.01 over most of (0, 1)): only the walk's starting point, which the walk makes
    exact."""
    return 4.91 * (u**0.14 - (1.0 - u) ** 0.14)


@numba.njit(cache=True, nogil=True)
def _poisson_quantile(u: float, mean: float) -> int:
    """The least k with P(X <= k) >= u, X ~ Poisson(mean > 0): from the normal
    approximation's k (with its skewness term), walk down while the cdf below is
    still >= u, or up until it reaches u (a few steps)."""
    if u <= 0.0:
        return 0
    z = _normal_quantile_guess(u)
    guess = mean + math.sqrt(mean) * z + (z * z - 1.0) / 6.0
    k = int(min(max(guess, 0.0), 2.0 * mean + 40.0 * math.sqrt(mean) + 40.0))
    pmf, cdf = _poisson_cdf_at(k, mean)
    if cdf >= u:
        while k > 0 and cdf - pmf >= u:
            cdf -= pmf
            pmf *= k / mean
            k -= 1
        return k
    while cdf < u:
        k += 1
        pmf *= mean / k
        if pmf < _TAIL * cdf:  # u within rounding of 1: the cdf cannot rise further
            break
        cdf += pmf
    return k


@numba.njit(cache=True, nogil=True)
def poisson_ppf(u: Any, mean: Any) -> Any:
    """Poisson quantiles (int64) of probabilities u for means ``mean`` (0 where the
    mean is not positive), as ``scipy.stats.poisson.ppf`` defines them, for u as
    ``Generator.random`` gives them (0, or at least 2**-53: the walk down from the
    guess subtracts probabilities, exact to far below that)."""
    out = np.zeros(u.size, np.int64)
    for d in range(u.size):
        if mean[d] > 0.0:
            out[d] = _poisson_quantile(u[d], mean[d])
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _count_le_one(x: float, cum: Any, c: int) -> int:
    """Entries of the sorted ``cum`` <= x, counting on from c (``cum[c - 1] <= x``)."""
    n = cum.size
    while c < n and cum[c] <= x:
        c += 1
    return c


@numba.njit(cache=True, nogil=True)
def count_le(u: Any, cum: Any) -> Any:
    """``np.searchsorted(cum, u, side="right")`` for a short sorted ``cum`` (a few
    categories: counting from the first is quicker than bisecting)."""
    out = np.empty(u.size, np.int64)
    for k in range(u.size):
        out[k] = _count_le_one(u[k], cum, 0)
    return out


LUT_CELLS = 4096
"""Cells of [0, 1) (a power of 2: ``u * cells`` is exact) for the hour search of u."""


@numba.njit(cache=True, nogil=True)
def hour_lookup(cum: Any) -> Any:
    """For each cell m of [0, 1), the entries of ``cum`` <= m / cells: where the hour
    search of a u in that cell starts."""
    start = np.empty(LUT_CELLS, np.int64)
    c = 0
    for m in range(LUT_CELLS):
        c = _count_le_one(m / LUT_CELLS, cum, c)
        start[m] = c
    return start


@numba.njit(cache=True, nogil=True, inline="always")
def _day_fraction(x: float, shares: Any, cum: Any, start: Any) -> float:
    """Time of day (fraction) at probability x: hour h with cum[h] <= x < cum[h + 1],
    and the place of x within it (``shares[h]`` spread evenly over the hour)."""
    c = _count_le_one(x, cum, start[int(x * LUT_CELLS)])
    h = min(max(c - 1, 0), 23)
    width = shares[h] if shares[h] > 0 else 1.0
    return (h + min(max((x - cum[h]) / width, 0.0), 1.0 - 1e-12)) / 24.0


@numba.njit(cache=True, nogil=True)
def day_fractions(u: Any, shares: Any, cum: Any, start: Any) -> Any:
    """:func:`_day_fraction` of each probability in u."""
    out = np.empty(u.size)
    for k in range(u.size):
        out[k] = _day_fraction(u[k], shares, cum, start)
    return out


@numba.njit(cache=True, nogil=True)
def place_ed(
    rows: Any,
    acuity: Any,
    treatment: Any,
    u_disposition: Any,
    disposition_cum: Any,
    u_hour: Any,
    hours: tuple[Any, Any, Any],
    out: tuple[Any, Any, Any, Any],
    first_pool: int,
) -> Any:
    """Write one run of ED patients into the merged columns at ``rows``: acuity,
    treatment (days), disposition (the category of ``u_disposition`` in the row of
    ``disposition_cum`` for the patient's acuity) and discharge hour; returns the
    run's indices of the patients admitted (disposition >= ``first_pool``)."""
    shares, cum, start = hours
    out_acuity, out_treatment, out_disposition, out_hour = out
    admitted = np.empty(rows.size, np.int64)
    n_admitted = 0
    last = disposition_cum.shape[1] - 1
    for k in range(rows.size):
        m = rows[k]
        a = acuity[k]
        d = min(_count_le_one(u_disposition[k], disposition_cum[a], 0), last)
        out_acuity[m] = a
        out_treatment[m] = treatment[k]
        out_disposition[m] = d
        out_hour[m] = _day_fraction(u_hour[k], shares, cum, start)
        if d >= first_pool:
            admitted[n_admitted] = k
            n_admitted += 1
    return admitted[:n_admitted]


@numba.njit(cache=True, nogil=True)
def place_beds(
    rows: Any, los: Any, u_hour: Any, hours: tuple[Any, Any, Any], out: tuple[Any, Any]
) -> None:
    """Write one run of bed patients into the merged columns at ``rows``: length of
    stay (days) and discharge hour."""
    shares, cum, start = hours
    out_los, out_hour = out
    for k in range(rows.size):
        m = rows[k]
        out_los[m] = los[k]
        out_hour[m] = _day_fraction(u_hour[k], shares, cum, start)
