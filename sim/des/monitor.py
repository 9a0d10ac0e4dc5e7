"""Statistics of counts in a system, computed from logged entry and exit times.

The engines only record when each patient (or stage of a stay) entered and left;
every time-weighted statistic is computed here from those arrays: the number
present is a step function that rises at each entry and falls at each exit.
Midnights split the steps by day, so daily means, daily peaks, the midnight
census and the time spent at or above a threshold are exact integrals of that
step function.

Conventions: a patient is present on [entry, exit); NaN entry = never entered;
NaN exit = still present at the end. Only [0, n_days) is measured (warm-up
times are negative). At equal times exits are counted before entries, so a bed
handed over at a discharge never shows as a spurious peak; an exit at exactly
midnight belongs to the day it ends, an entry at midnight to the day it starts.

Two paths:

* :func:`level_stats` needs the order of events within each day (peaks, time at or
  above a threshold, the time-at-level histogram): it sorts entries and exits and
  sweeps them in one compiled pass (numba, cached on disk).
* :func:`census` needs no order (the midnight count and the time-averaged count of
  each day): a few ``bincount``\\ s, no sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Census",
    "Grouped",
    "LevelStats",
    "census",
    "compile_monitor",
    "counts_by_day",
    "grouped_stats",
    "level_stats",
    "level_stats_by_group",
    "readonly",
    "weighted_quantile_from_hist",
]

FloatArray = NDArray[np.float64]
_ABOVE_TOL = 1e-9
"""Slack of ``count >= f * capacity`` (a full pool at f = 1 is never missed by rounding)."""


@dataclass(frozen=True, eq=False)
class Census:
    """The midnight count and the time-averaged count of each day 0..n_days-1."""

    daily_mean: FloatArray
    midnight: FloatArray
    at_start: Any
    """Count at time 0 (an array by group when grouped)."""


@dataclass(frozen=True, eq=False)
class LevelStats:
    """Time-weighted statistics of a count over days 0..n_days-1.

    Attributes:
        daily_mean: time-averaged count over each day.
        daily_peak: largest count during each day.
        midnight: count at the midnight ending each day.
        at_start: count at time 0.
        time_ge: {fraction f: time (days) in each day with count >= f * capacity}
            (empty without a capacity; zero where capacity is infinite).
        year_hist: per year index, time (days) spent at each count 0, 1, 2, ...
    """

    daily_mean: FloatArray
    daily_peak: FloatArray
    midnight: FloatArray
    at_start: int
    time_ge: dict[float, FloatArray]
    year_hist: list[FloatArray]


@numba.njit(cache=True, nogil=True)
def _split(
    entry: Any, exit_: Any, group: Any, n_groups: int, n_days: int
) -> tuple[Any, Any, Any, Any, Any]:
    """Entries in (0, n_days) and exits in (0, n_days) of the individuals present at
    some time in [0, n_days), by group (group < 0: left out): ``ins[in_at[g]:in_at[g +
    1]]`` are group g's entries (order kept), likewise the exits; and the count of
    each group present at 0."""
    t_end = float(n_days)
    n_in = np.zeros(n_groups + 1, np.int64)
    n_out = np.zeros(n_groups + 1, np.int64)
    at_start = np.zeros(n_groups, np.int64)
    for k in range(entry.size):
        g = group[k]
        s = entry[k]
        e = exit_[k]
        if g < 0 or not s < t_end or e <= 0.0 or e <= s:  # never entered / not in [0, n)
            continue
        if s <= 0.0:
            at_start[g] += 1
        else:
            n_in[g + 1] += 1
        if e < t_end:
            n_out[g + 1] += 1
    in_at = np.cumsum(n_in)
    out_at = np.cumsum(n_out)
    ins = np.empty(in_at[-1])
    outs = np.empty(out_at[-1])
    fill_in = in_at[:-1].copy()
    fill_out = out_at[:-1].copy()
    for k in range(entry.size):
        g = group[k]
        s = entry[k]
        e = exit_[k]
        if g < 0 or not s < t_end or e <= 0.0 or e <= s:
            continue
        if s > 0.0:
            ins[fill_in[g]] = s
            fill_in[g] += 1
        if e < t_end:
            outs[fill_out[g]] = e
            fill_out[g] += 1
    return ins, in_at, outs, out_at, at_start


@numba.njit(cache=True, nogil=True)
def _census(entry: Any, exit_: Any, group: Any, n_groups: int, n_days: int) -> tuple[Any, Any, Any]:
    """Daily mean and midnight count by group in one pass over unsorted intervals."""
    n = n_days
    t_end = float(n)
    daily = np.zeros((n_groups, n + 1))
    whole = np.zeros((n_groups, n + 2), np.int64)
    step = np.zeros((n_groups, n + 2), np.int64)
    at_start = np.zeros(n_groups, np.int64)
    for k in range(entry.size):
        g = group[k]
        s = entry[k]
        e = exit_[k]
        if g < 0 or not s < t_end or e <= 0.0 or e <= s:  # never entered / not in [0, n)
            continue
        if not e < t_end:  # NaN (still present) or at/after the end
            e = np.inf
        if s <= 0.0:
            at_start[g] += 1
            step[g, 0] += 1
            a = 0.0
        else:
            step[g, int(np.floor(s)) + 1] += 1
            a = s
        b = min(e, t_end)
        if e < np.inf:
            step[g, int(np.ceil(e))] -= 1
        fa = int(np.floor(a))
        fb = min(int(np.floor(b)), n)
        if fa == fb:
            daily[g, fa] += b - a
        else:
            daily[g, fa] += fa + 1.0 - a
            daily[g, fb] += b - fb
            whole[g, fa + 1] += 1
            whole[g, fb] -= 1
    midnight = np.empty((n_groups, n))
    mean = np.empty((n_groups, n))
    for g in range(n_groups):
        level = step[g, 0]
        cover = 0
        for d in range(n):
            level += step[g, d + 1]
            midnight[g, d] = level
            cover += whole[g, d]
            mean[g, d] = daily[g, d] + cover
    return mean, midnight, at_start


def readonly(values: Any, dtype: type[np.generic] = np.float64) -> NDArray[Any]:
    """A contiguous read-only view of ``values`` as ``dtype`` (copied only if needed).

    Every kernel is handed read-only arrays, so that one compiled signature (loaded
    by the ``compile_*`` warm-ups) serves the engines' read-only logs and the
    arrays computed on the way alike: numba compiles writable and read-only
    arrays apart."""
    out = np.ascontiguousarray(values, dtype=dtype).view()
    out.flags.writeable = False
    return out


def _groups(group: NDArray[np.integer] | None, size: int) -> NDArray[np.int32]:
    if group is None:
        return readonly(np.zeros(size, np.int32), np.int32)
    return readonly(group, np.int32)


def census(
    entry: FloatArray,
    exit_: FloatArray,
    n_days: int,
    group: NDArray[np.integer] | None = None,
    n_groups: int = 1,
) -> Census:
    """Midnight count and daily mean of the number present (one pass, no sort).

    With ``group`` (one per individual, < 0 = left out) the arrays are
    (n_groups, n_days) and ``at_start`` an array; without, one series.
    """
    s = readonly(entry)
    e = readonly(exit_)
    mean, midnight, at_start = _census(s, e, _groups(group, s.size), n_groups, n_days)
    if group is None:
        return Census(mean[0], midnight[0], int(at_start[0]))
    return Census(mean, midnight, at_start)


@numba.njit(cache=True, nogil=True)
def _day_ends(times: Any, n_days: int, exits: bool) -> Any:
    """End of each day's slice of the sorted ``times`` (all in (0, n_days)): entries
    before the midnight ending day d; exits up to it included (but before the end)."""
    out = np.empty(n_days, np.int64)
    k = 0
    for d in range(n_days):
        day_end = float(d + 1)
        while k < times.size and (
            times[k] < day_end or (exits and times[k] == day_end and d < n_days - 1)
        ):
            k += 1
        out[d] = k
    return out


@numba.njit(cache=True, nogil=True)
def _sweep(
    ins: Any,
    outs: Any,
    at_start: int,
    n_days: int,
    thresholds: Any,
    year_of_day: Any,
    hist: Any,
) -> tuple[Any, Any, Any, Any]:
    """One pass over sorted entries ``ins`` and sorted exits ``outs`` (all in
    (0, n_days)): per-day mean, peak and midnight count, time at or above each row
    of ``thresholds`` (n_f, n_days), and time at each level by year added to ``hist``
    (n_years, levels: no level reaches beyond; none kept if it has one column). Within
    a day the next event is chosen without a branch (exits first at equal times)."""
    mean = np.zeros(n_days)
    peak = np.zeros(n_days)
    midnight = np.zeros(n_days)
    n_f = thresholds.shape[0]
    time_ge = np.zeros((n_f, n_days))
    track = hist.shape[1] > 1
    in_end = _day_ends(ins, n_days, False)
    out_end = _day_ends(outs, n_days, True)
    i = 0
    j = 0
    level = at_start
    for d in range(n_days):
        t = float(d)
        ie = in_end[d]
        oe = out_end[d]
        y = year_of_day[d] if track else 0
        top = level
        acc = 0.0
        for _ in range(ie - i + oe - j + 1):  # the day's events, then its end
            t_out = outs[j] if j < oe else np.inf
            t_in = ins[i] if i < ie else np.inf
            is_out = t_out <= t_in
            t_next = min(t_out, t_in, d + 1.0)
            dur = t_next - t
            acc += dur * level
            for f in range(n_f):
                time_ge[f, d] += dur * (level >= thresholds[f, d])
            if track:
                hist[y, level] += dur
            t = t_next
            out = int(is_out)
            level += 1 - 2 * out
            top = max(top, level)
            j += out
            i += 1 - out
        # the last pass was the day's end (both heads inf, taken as an exit): undo it
        level += 1
        j -= 1
        mean[d] = acc
        peak[d] = top
        midnight[d] = level
    return mean, peak, midnight, time_ge


@numba.njit(cache=True, nogil=True)
def _insertion_sort(values: Any, budget: int, reach: int) -> bool:
    """Sort ``values`` in place by insertion while at most ``budget`` element moves in
    all and ``reach`` for any one element suffice (nearly sorted input: e.g. the ED's
    space starts, in arrival order); else stop and return False (``values`` is then a
    permutation of the input, left for another sort)."""
    moves = 0
    for k in range(1, values.size):
        x = values[k]
        j = k - 1
        while j >= 0 and values[j] > x:
            values[j + 1] = values[j]
            j -= 1
            moves += 1
            if moves > budget or k - j > reach:
                values[j + 1] = x
                return False
        values[j + 1] = x
    return True


def _sorted(values: FloatArray) -> FloatArray:
    """``values`` in ascending order, sorted in place: by insertion when nearly sorted
    (at most one move per element on average, none by more than 4096 places), else by
    numpy's sort (the same array either way)."""
    if not _insertion_sort(values, values.size, 4096):
        values.sort()
    return values


def level_stats(
    entry: FloatArray,
    exit_: FloatArray,
    n_days: int,
    *,
    capacity: FloatArray | None = None,
    fractions: tuple[float, ...] = (),
    year_of_day: NDArray[np.int64] | None = None,
    n_years: int = 0,
) -> LevelStats:
    """Statistics of the number present, from entry and exit times (days).

    Args:
        entry, exit_: times per individual (NaN rules in the module doc).
        n_days: days measured, from time 0.
        capacity: per-day capacity for ``fractions`` (inf allowed).
        fractions: thresholds as fractions of capacity (1.0 = full).
        year_of_day: year index (0..n_years-1) of each day, for ``year_hist``.
        n_years: number of years.
    """
    cap = None if capacity is None else np.asarray(capacity, dtype=np.float64)[None, :]
    return level_stats_by_group(
        entry,
        exit_,
        np.zeros(np.size(entry), np.int32),
        1,
        n_days,
        capacity=cap,
        fractions=fractions,
        year_of_day=year_of_day,
        n_years=n_years,
    )[0]


def level_stats_by_group(
    entry: FloatArray,
    exit_: FloatArray,
    group: NDArray[np.integer],
    n_groups: int,
    n_days: int,
    *,
    capacity: FloatArray | None = None,
    fractions: tuple[float, ...] = (),
    year_of_day: NDArray[np.int64] | None = None,
    n_years: int = 0,
) -> list[LevelStats]:
    """:func:`level_stats` of each group 0..n_groups-1 (``group`` < 0: left out), in
    one pass to split them; ``capacity`` is (n_groups, n_days)."""
    ins, in_at, outs, out_at, at_start = _split(
        readonly(entry),
        readonly(exit_),
        _groups(group, np.size(entry)),
        n_groups,
        n_days,
    )
    fr = fractions if capacity is not None else ()
    ny = n_years if year_of_day is not None else 0
    years = np.ascontiguousarray(year_of_day, dtype=np.int64) if ny else np.zeros(n_days, np.int64)
    out = []
    for g in range(n_groups):
        thresholds = np.full((len(fr), n_days), np.inf)
        if fr:
            cap = np.asarray(capacity, dtype=np.float64)[g]
            finite = np.isfinite(cap)
            for k, f in enumerate(fr):
                thresholds[k, finite] = f * cap[finite] - _ABOVE_TOL
        entries = _sorted(ins[in_at[g] : in_at[g + 1]])
        # levels never pass at_start + entries (zeroed lazily: untouched pages stay free)
        hist = np.zeros((ny, int(at_start[g]) + entries.size + 2) if ny else (1, 1))
        mean, peak, midnight, time_ge = _sweep(
            entries,
            _sorted(outs[out_at[g] : out_at[g + 1]]),
            int(at_start[g]),
            n_days,
            thresholds,
            years,
            hist,
        )
        hist = hist[:, : int(peak.max(initial=at_start[g])) + 1].copy()
        out.append(
            LevelStats(
                daily_mean=mean,
                daily_peak=peak,
                midnight=midnight,
                at_start=int(at_start[g]),
                time_ge={f: time_ge[k] for k, f in enumerate(fr)},
                year_hist=[hist[y] for y in range(ny)],
            )
        )
    return out


@numba.njit(cache=True, nogil=True)
def _day_counts(times: Any, group: Any, n_groups: int, n_days: int) -> Any:
    out = np.zeros((n_groups, n_days))
    t_end = float(n_days)
    for k in range(times.size):
        t = times[k]
        g = group[k]
        if g >= 0 and t >= 0.0 and t < t_end:  # NaN fails
            out[g, int(t)] += 1.0
    return out


def counts_by_day(
    times: FloatArray, group: NDArray[np.integer], n_groups: int, n_days: int
) -> FloatArray:
    """Events per (group, day) in [0, n_days): ``times`` NaN or ``group`` < 0 left out."""
    return _day_counts(
        readonly(times),
        _groups(group, np.size(times)),
        n_groups,
        n_days,
    )


@numba.njit(cache=True, nogil=True)
def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation of ``np.quantile``."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


@numba.njit(cache=True, nogil=True, inline="always")
def _value(values: Any, since: Any, scale: float, k: int) -> float:
    """Element k of ``(values - since) * scale`` (``since`` empty: of ``values * scale``)."""
    if since.size:
        return (values[k] - since[k]) * scale
    return values[k] * scale


@numba.njit(cache=True, nogil=True)
def _keys(
    values: Any, since: Any, scale: float, when: Any, group: Any, year_of_day: Any, n_years: int
) -> Any:
    """Key ``group * n_years + year of when`` of each element (-1: left out), int32."""
    out = np.empty(values.size, np.int32)
    n_days = year_of_day.size
    for k in range(values.size):
        g = group[k]
        t = when[k]
        if g < 0 or not (t >= 0.0 and t < n_days) or np.isnan(_value(values, since, scale, k)):
            out[k] = -1
        else:
            out[k] = g * n_years + year_of_day[int(t)]
    return out


@numba.njit(cache=True, nogil=True)
def _kth(bucket: Any, n_neg: int, n_zero: int, k: int) -> float:
    """The k-th smallest of a group whose non-zero values are ``bucket`` (``n_neg`` of
    them negative) and which has ``n_zero`` zeros besides."""
    if n_neg <= k < n_neg + n_zero:
        return 0.0
    j = k if k < n_neg else k - n_zero
    return float(np.partition(bucket, j)[j])


@numba.njit(cache=True, nogil=True)
def _grouped(
    values: Any,
    since: Any,
    scale: float,
    when: Any,
    group: Any,
    n_groups: int,
    year_of_day: Any,
    n_years: int,
    q: float,
) -> tuple[Any, Any, Any, Any]:
    """Two passes: counts and sums by key, then the non-zero values bucketed by key (the
    zeros, most waits, are only counted); quantiles by selection in each bucket."""
    n_keys = n_groups * n_years
    count = np.zeros(n_keys, np.int64)
    n_zero = np.zeros(n_keys, np.int64)
    n_neg = np.zeros(n_keys, np.int64)
    total = np.zeros(n_keys)
    positive = np.zeros(n_keys)
    key = _keys(values, since, scale, when, group, year_of_day, n_years)
    for k in range(values.size):
        c = key[k]
        if c < 0:
            continue
        v = _value(values, since, scale, k)
        count[c] += 1
        total[c] += v
        if v > 0.0:
            positive[c] += 1.0
        elif v == 0.0:
            n_zero[c] += 1
        else:
            n_neg[c] += 1
    at = np.zeros(n_keys + 1, np.int64)
    for c in range(n_keys):
        at[c + 1] = at[c] + count[c] - n_zero[c]
    bucket = np.empty(at[n_keys])
    fill = at[:n_keys].copy()
    for k in range(values.size):
        c = key[k]
        if c < 0:
            continue
        v = _value(values, since, scale, k)
        if v != 0.0:
            bucket[fill[c]] = v
            fill[c] += 1
    mean = np.full(n_keys, np.nan)
    share = np.full(n_keys, np.nan)
    quant = np.full(n_keys, np.nan)
    for c in range(n_keys):
        m = count[c]
        if m == 0:
            continue
        mean[c] = total[c] / m
        share[c] = positive[c] / m
        idx = q * (m - 1)
        lo = int(np.floor(idx))
        mine = bucket[at[c] : at[c + 1]]
        x_lo = _kth(mine, n_neg[c], n_zero[c], lo)
        x_hi = _kth(mine, n_neg[c], n_zero[c], lo + 1) if lo + 1 < m else x_lo
        quant[c] = _lerp(x_lo, x_hi, idx - lo)
    return mean, quant, share, count


@dataclass(frozen=True, eq=False)
class Grouped:
    """Per-individual values summarised by (group, year): arrays (n_groups, n_years)."""

    mean: FloatArray
    quantile: FloatArray
    share_positive: FloatArray
    count: NDArray[np.int64]


def grouped_stats(
    values: FloatArray,
    when: FloatArray,
    group: NDArray[np.integer],
    n_groups: int,
    year_of_day: NDArray[np.int64],
    n_years: int,
    q: float = 0.9,
    *,
    since: FloatArray | None = None,
    scale: float = 1.0,
) -> Grouped:
    """Mean, ``q``-quantile (as ``np.quantile``) and share > 0 of ``values`` by group and
    year of ``when`` (a time in days, counted in [0, len(year_of_day))); ``group`` < 0,
    NaN values and times outside the run are left out. One pass, no sort.

    With ``since`` (e.g. request times, days) the values summarised are
    ``(values - since) * scale`` (e.g. waits in hours with ``scale=24``), computed on
    the fly, element by element, with no temporary array (and the very same numbers);
    without, ``values * scale``."""
    mean, quant, share, count = _grouped(
        readonly(values),
        readonly(np.empty(0) if since is None else since),
        float(scale),
        readonly(when),
        _groups(group, np.size(values)),
        n_groups,
        readonly(year_of_day, np.int64),
        n_years,
        q,
    )
    shape = (n_groups, n_years)
    return Grouped(
        mean.reshape(shape), quant.reshape(shape), share.reshape(shape), count.reshape(shape)
    )


def weighted_quantile_from_hist(hist: FloatArray, q: float) -> float:
    """Smallest count whose cumulative time share reaches ``q`` (NaN if no time)."""
    total = float(hist.sum())
    if total <= 0.0:
        return float("nan")
    cum = np.cumsum(hist) / total
    return float(np.searchsorted(cum, q - 1e-12, side="left"))


def compile_monitor() -> None:
    """Compile (or load from the on-disk cache) the kernels, on a tiny input."""
    one, two = np.array([0.5]), np.array([1.5])
    level_stats(one, two, 2, capacity=np.ones(2), fractions=(1.0,))
    level_stats(one, two, 2, year_of_day=np.zeros(2, np.int64), n_years=1)
    census(one, two, 2)
    counts_by_day(one, np.zeros(1, np.int32), 1, 2)
    grouped_stats(one, one, np.zeros(1, np.int32), 1, np.zeros(2, np.int64), 1)
    grouped_stats(one, one, np.zeros(1, np.int32), 1, np.zeros(2, np.int64), 1, since=one)
