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
  each day): one compiled pass, no sort (:func:`census_add` and :func:`census_days`,
  which the engine's own fused passes use too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COUNTING",
    "Census",
    "Grouped",
    "LevelStats",
    "Tally",
    "census",
    "census_add",
    "census_days",
    "compile_monitor",
    "counts_by_day",
    "grouped_stats",
    "level_stats",
    "level_stats_by_group",
    "new_tally",
    "readonly",
    "tallied_stats",
    "tally_add",
    "weighted_quantile_from_hist",
]

FloatArray = NDArray[np.float64]
COUNTING: Final[dict[str, Any]] = {"cache": True, "nogil": True, "_nrt": False}
"""numba's options of a counting pass that allocates nothing and reads a :class:`Tally`
(``_nrt``, numba's private switch for its reference-counting runtime, through a dict:
it is not in numba's type stubs). With the runtime on, each read of a tally's array
in the loop counted a reference: the engine's ED pass then took 20 times as long
(numba 0.68, measured)."""
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


@numba.njit(cache=True, nogil=True, inline="always")
def group_of(group: Any, k: int) -> int:
    """Group of individual k; an empty ``group`` puts everyone in group 0 (no array of
    zeros to build and read)."""
    return group[k] if group.size else 0


@numba.njit(cache=True, nogil=True)
def _split(
    entry: Any, exit_: Any, group: Any, n_days: int, ins: Any, outs: Any
) -> tuple[Any, Any, Any]:
    """Entries in (0, n_days) and exits in (0, n_days) of the individuals present at
    some time in [0, n_days), by group (group < 0: left out), in one pass:
    ``ins[g, :n_in[g]]`` are group g's entries (order kept), likewise the exits in
    ``outs``; returns ``n_in``, ``n_out`` and the count of each group present at 0.
    ``ins`` and ``outs`` (n_groups, len(entry)) come from numpy: only the pages
    written are touched, and numpy asks for huge pages (numba does not: a first touch
    of its large arrays costs twice as much)."""
    t_end = float(n_days)
    n_groups = ins.shape[0]
    n_in = np.zeros(n_groups, np.int64)
    n_out = np.zeros(n_groups, np.int64)
    at_start = np.zeros(n_groups, np.int64)
    for k in range(entry.size):
        g = group_of(group, k)
        s = entry[k]
        e = exit_[k]
        if g < 0 or not s < t_end or e <= 0.0 or e <= s:  # never entered / not in [0, n)
            continue
        if s <= 0.0:
            at_start[g] += 1
        else:
            ins[g, n_in[g]] = s
            n_in[g] += 1
        if e < t_end:
            outs[g, n_out[g]] = e
            n_out[g] += 1
    return n_in, n_out, at_start


@numba.njit(cache=True, nogil=True, inline="always")
def census_add(tally: Any, g: int, s: float, e: float) -> None:
    """Add the stay [s, e) (days; rules of the module doc) of group g (< 0: left out)
    to ``tally``, float (4, n_groups, n_days + 2): [0] the time present in each day,
    [1] the steps of the days wholly present, [2] those of the midnight count, [3, g,
    0] the count at time 0 (counts as floats, exact). One array: with four, an
    inlined call cost 30 times the work (numba 0.68, measured)."""
    n = tally.shape[2] - 2
    t_end = float(n)
    if g < 0 or not s < t_end or e <= 0.0 or e <= s:  # never entered / not in [0, n)
        return
    if not e < t_end:  # NaN (still present) or at/after the end
        e = np.inf
    if s <= 0.0:
        tally[3, g, 0] += 1.0
        tally[2, g, 0] += 1.0
        a = 0.0
    else:
        tally[2, g, int(np.floor(s)) + 1] += 1.0
        a = s
    b = min(e, t_end)
    if e < np.inf:
        tally[2, g, int(np.ceil(e))] -= 1.0
    fa = int(np.floor(a))
    fb = min(int(np.floor(b)), n)
    if fa == fb:
        tally[0, g, fa] += b - a
    else:
        tally[0, g, fa] += fa + 1.0 - a
        tally[0, g, fb] += b - fb
        tally[1, g, fa + 1] += 1.0
        tally[1, g, fb] -= 1.0


@numba.njit(cache=True, nogil=True)
def census_days(tally: Any) -> tuple[Any, Any, Any]:
    """Daily mean and midnight count by group (n_groups, n_days), and the count at 0
    (int), from the ``tally`` :func:`census_add` filled."""
    n_groups, n_days = tally.shape[1], tally.shape[2] - 2
    midnight = np.empty((n_groups, n_days))
    mean = np.empty((n_groups, n_days))
    for g in range(n_groups):
        level = tally[2, g, 0]
        cover = 0.0
        for d in range(n_days):
            level += tally[2, g, d + 1]
            midnight[g, d] = level
            cover += tally[1, g, d]
            mean[g, d] = tally[0, g, d] + cover
    return mean, midnight, tally[3, :, 0].astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _census(entry: Any, exit_: Any, group: Any, n_groups: int, n_days: int) -> tuple[Any, Any, Any]:
    """Daily mean and midnight count by group in one pass over unsorted intervals."""
    tally = np.zeros((4, n_groups, n_days + 2))
    for k in range(entry.size):
        census_add(tally, group_of(group, k), entry[k], exit_[k])
    return census_days(tally)


def readonly(values: Any, dtype: type[np.generic] = np.float64) -> NDArray[Any]:
    """A contiguous read-only view of ``values`` as ``dtype`` (copied only if needed).

    Every kernel is handed read-only arrays, so that one compiled signature (loaded
    by the ``compile_*`` warm-ups) serves the engines' read-only logs and the
    arrays computed on the way alike: numba compiles writable and read-only
    arrays apart."""
    out = np.ascontiguousarray(values, dtype=dtype).view()
    out.flags.writeable = False
    return out


def _groups(group: NDArray[np.integer] | None) -> NDArray[np.int32]:
    """``group`` for the kernels; None: an empty array (everyone in group 0, see
    :func:`group_of`)."""
    return readonly(np.empty(0, np.int32) if group is None else group, np.int32)


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
    mean, midnight, at_start = _census(s, e, _groups(group), n_groups, n_days)
    if group is None:
        return Census(mean[0], midnight[0], int(at_start[0]))
    return Census(mean, midnight, at_start)


@numba.njit(cache=True, nogil=True)
def _day_ends(times: Any, n_days: int, exits: bool) -> Any:
    """End of each day's slice of the sorted ``times`` (all in (0, n_days)): entries
    before the midnight ending day d; exits up to it included (but before the end).
    By bisection: a scan of all the times costs more than the sweep's bookkeeping."""
    midnights = np.arange(1, n_days + 1).astype(np.float64)
    if exits and n_days > 0:
        out = np.searchsorted(times, midnights, side="right")
        out[-1] = np.searchsorted(times, float(n_days), side="left")
        return out
    return np.searchsorted(times, midnights, side="left")


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
def _descents(values: Any) -> int:
    """Number of k with ``values[k + 1] < values[k]``."""
    n = 0
    for k in range(values.size - 1):
        n += values[k + 1] < values[k]
    return n


NEARLY_SORTED = 0.2
"""Share of neighbours out of order (among the first 2**16) up to which :func:`_sorted`
takes numpy's timsort, which merges the sorted runs it finds, rather than its quicksort.
Measured on the district replicate's 16 arrays of entries and exits (AMD EPYC, 2
December 2026): the ED's space starts and the pools' first-stage entries (1 to 15%
out of order) sort 1.1 to 3 times faster by timsort, the exits (about 50%) 2 to 3
times slower; at 15% the two are level."""


def _sorted(values: FloatArray) -> FloatArray:
    """``values`` in ascending order, sorted in place: by numpy's timsort when nearly
    sorted (at most :data:`NEARLY_SORTED` of the neighbours out of order among the
    first 2**16, e.g. entries in arrival order), else by its quicksort (e.g. exits).
    The values are positive and finite (times in (0, n_days)), so their bits read as
    int64 are in the same order (numpy sorts those faster than float64: no NaN to
    place), and equal values are equal bits: either sort gives the same array."""
    head = values[: 2**16]
    nearly = _descents(head) <= NEARLY_SORTED * head.size
    values.view(np.int64).sort(kind="stable" if nearly else "quicksort")
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
        None,
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
    group: NDArray[np.integer] | None,
    n_groups: int,
    n_days: int,
    *,
    capacity: FloatArray | None = None,
    fractions: tuple[float, ...] = (),
    year_of_day: NDArray[np.int64] | None = None,
    n_years: int = 0,
) -> list[LevelStats]:
    """:func:`level_stats` of each group 0..n_groups-1 (``group`` < 0: left out; None:
    all in group 0), in one pass to split them; ``capacity`` is (n_groups, n_days)."""
    ins = np.empty((n_groups, np.size(entry)))
    outs = np.empty((n_groups, np.size(entry)))
    n_in, n_out, at_start = _split(
        readonly(entry), readonly(exit_), _groups(group), n_days, ins, outs
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
        entries = _sorted(ins[g, : n_in[g]])
        # levels never pass at_start + entries (zeroed lazily: untouched pages stay free)
        hist = np.zeros((ny, int(at_start[g]) + entries.size + 2) if ny else (1, 1))
        mean, peak, midnight, time_ge = _sweep(
            entries,
            _sorted(outs[g, : n_out[g]]),
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
        _groups(group),
        n_groups,
        n_days,
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _value(values: Any, since: Any, scale: float, k: int) -> float:
    """Element k of ``(values - since) * scale`` (``since`` empty: of ``values * scale``)."""
    if since.size:
        return (values[k] - since[k]) * scale
    return values[k] * scale


class Tally(NamedTuple):
    """The arrays of one counting pass of :func:`grouped_stats` (:func:`tally_add`),
    from numpy (huge pages: see :func:`_split`): by key ``group * n_years + year`` (and
    the merged groups' keys after the groups') the count, the zeros, the negatives and
    the positives (``counts``, int64 (4, n_keys)) and the total (``total``); the
    non-zero values with their own key compacted into ``nz_val`` and ``nz_key``."""

    counts: NDArray[np.int64]
    total: FloatArray
    nz_key: NDArray[np.int32]
    nz_val: FloatArray
    merged: NDArray[np.int32]
    """The merged group of each group (-1: none; see :func:`grouped_stats`)."""
    year_of_day: NDArray[np.int64]
    n_years: int


def new_tally(
    n_groups: int,
    year_of_day: NDArray[np.int64],
    n_years: int,
    size: int,
    merged: NDArray[np.integer] | None = None,
) -> Tally:
    """Empty tally arrays for at most ``size`` values of ``n_groups`` groups by year."""
    m = readonly(np.full(n_groups, -1) if merged is None else merged, np.int32)
    n_keys = (m.size + int(m.max(initial=-1)) + 1) * n_years
    return Tally(
        np.zeros((4, n_keys), np.int64),
        np.zeros(n_keys),
        np.empty(size, np.int32),
        np.empty(size),
        m,
        readonly(year_of_day, np.int64),
        n_years,
    )


@numba.njit(cache=True, nogil=True, inline="always")
def tally_add(tally: Any, n_nz: int, v: float, g: int, t: float) -> int:
    """Count the value v of group g (< 0: left out) at time t (days; outside the run or
    NaN: left out; NaN v: left out) in ``tally`` (:class:`Tally`), whose first
    ``n_nz`` non-zero values are written; returns their number now."""
    year_of_day = tally.year_of_day
    if g < 0 or not (t >= 0.0 and t < year_of_day.size) or np.isnan(v):
        return n_nz
    counts, total, merged, n_years = tally.counts, tally.total, tally.merged, tally.n_years
    y = year_of_day[int(t)]
    sign = 1 + (v != 0.0) + (v > 0.0)  # the row of counts: 1 zero, 2 negative, 3 positive
    c = g * n_years + y
    counts[0, c] += 1
    counts[sign, c] += 1
    total[c] += v
    if merged[g] >= 0:
        c_m = (merged.size + merged[g]) * n_years + y
        counts[0, c_m] += 1
        counts[sign, c_m] += 1
        total[c_m] += v
    tally.nz_key[n_nz] = c  # kept only if non-zero (overwritten otherwise)
    tally.nz_val[n_nz] = v
    return n_nz + (v != 0.0)


@numba.njit(**COUNTING)
def _tally(values: Any, since: Any, scale: float, when: Any, group: Any, tally: Any) -> int:
    """One pass of :func:`tally_add` over ``values`` (``(values - since) * scale``) by
    ``group`` and year of ``when``; returns the number of non-zero values (the zeros,
    most waits, are only counted)."""
    n_nz = 0
    for k in range(values.size):
        n_nz = tally_add(tally, n_nz, _value(values, since, scale, k), group[k], when[k])
    return n_nz


@numba.njit(cache=True, nogil=True)
def _buckets(nz_key: Any, nz_val: Any, merged: Any, n_years: int, at: Any, bucket: Any) -> None:
    """Put the non-zero values in ``bucket`` by key (``bucket[at[c]:at[c + 1]]``), each
    also in its merged group's (keys of :func:`_tally`)."""
    n_groups = merged.size
    fill = at[:-1].copy()
    for i in range(nz_key.size):
        c = nz_key[i]
        bucket[fill[c]] = nz_val[i]
        fill[c] += 1
        m = merged[c // n_years]
        if m >= 0:
            c = (n_groups + m) * n_years + c % n_years
            bucket[fill[c]] = nz_val[i]
            fill[c] += 1


def _slot(n_neg: int, n_zero: int, k: int) -> int:
    """Index in the bucket of non-zero values of a group's k-th smallest value (-1: a
    zero; ``n_neg`` of the bucket's values are negative, ``n_zero`` zeros besides)."""
    if n_neg <= k < n_neg + n_zero:
        return -1
    return k if k < n_neg else k - n_zero


def _kth_two(bucket: FloatArray, n_neg: int, n_zero: int, k: int, m: int) -> tuple[float, float]:
    """The k-th and (k + 1)-th smallest of a group of m values (the k-th twice if k + 1
    = m) whose non-zero values are ``bucket`` (partitioned in place): one selection,
    the next value being the least to its right (two consecutive non-zero ranks are
    two consecutive slots)."""
    j = _slot(n_neg, n_zero, k)
    j_next = _slot(n_neg, n_zero, k + 1) if k + 1 < m else -2
    x = 0.0
    if j >= 0:
        bucket.partition(j)
        x = float(bucket[j])
        if j_next >= 0:
            return x, float(bucket[j + 1 :].min())
    if j_next == -2:
        return x, x
    if j_next == -1:
        return x, 0.0
    bucket.partition(j_next)  # the least positive value
    return x, float(bucket[j_next])


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation of ``np.quantile``."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def _quantiles(tally: Tally, n_nz: int, q: float) -> FloatArray:
    """The ``q``-quantile of each key of ``tally``: its non-zero values bucketed by key,
    then by selection in place in each bucket (NaN: no value)."""
    counts = tally.counts
    at = np.concatenate([[0], np.cumsum(counts[0] - counts[1])])
    bucket = np.empty(int(at[-1]))
    nz_key = readonly(tally.nz_key[:n_nz], np.int32)
    _buckets(nz_key, readonly(tally.nz_val[:n_nz]), tally.merged, tally.n_years, at, bucket)
    count = counts[0]
    quant = np.full(count.size, np.nan)
    for c in np.flatnonzero(count):
        m = int(count[c])
        idx = q * (m - 1)
        lo = int(np.floor(idx))
        mine = bucket[at[c] : at[c + 1]]
        x_lo, x_hi = _kth_two(mine, int(counts[2, c]), int(counts[1, c]), lo, m)
        quant[c] = _lerp(x_lo, x_hi, idx - lo)
    return quant


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
    merged: NDArray[np.integer] | None = None,
) -> Grouped:
    """Mean, ``q``-quantile (as ``np.quantile``) and share > 0 of ``values`` by group and
    year of ``when`` (a time in days, counted in [0, len(year_of_day))); ``group`` < 0,
    NaN values and times outside the run are left out. One pass, no sort.

    With ``since`` (e.g. request times, days) the values summarised are
    ``(values - since) * scale`` (e.g. waits in hours with ``scale=24``), computed on
    the fly, element by element, with no temporary array (and the very same numbers);
    without, ``values * scale``.

    With ``merged`` (one per group: m >= 0, or -1), the values of group g are also
    summarised in group ``n_groups + m`` (e.g. the routes of a pool together), in the
    same pass: the arrays have ``n_groups + max(merged) + 1`` rows."""
    tally = new_tally(n_groups, year_of_day, n_years, np.size(values), merged)
    n_nz = _tally(
        readonly(values),
        readonly(np.empty(0) if since is None else since),
        float(scale),
        readonly(when),
        _groups(group),
        tally,
    )
    return tallied_stats(tally, n_nz, q)


def tallied_stats(tally: Tally, n_nz: int, q: float = 0.9) -> Grouped:
    """:func:`grouped_stats` from its counting pass (``tally``, with ``n_nz`` non-zero
    values written; e.g. by :func:`tally_add` in a caller's own pass)."""
    quant = _quantiles(tally, n_nz, q)
    counts = tally.counts
    count = counts[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, tally.total / count, np.nan)
        share = np.where(count > 0, counts[3] / count, np.nan)
    shape = (count.size // max(tally.n_years, 1), tally.n_years)
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
    census_days(np.zeros((4, 1, 4)))  # as the engine's fused passes call it
    counts_by_day(one, np.zeros(1, np.int32), 1, 2)
    grouped_stats(one, one, np.zeros(1, np.int32), 1, np.zeros(2, np.int64), 1)
    grouped_stats(one, one, np.zeros(1, np.int32), 1, np.zeros(2, np.int64), 1, since=one)
    grouped_stats(
        one, one, np.zeros(1, np.int32), 1, np.zeros(2, np.int64), 1, merged=np.zeros(1, np.int32)
    )
