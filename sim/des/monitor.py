"""Statistics of counts in a system, computed from logged entry and exit times.

The event loop only records, per patient, when they entered and left
(``sim.des.pathways``); every time-weighted statistic is computed here, with
numpy, from those arrays: the number present is a step function that rises at
each entry and falls at each exit. Midnight markers split the steps by day, so
daily means, daily peaks, the midnight census and the time spent at or above a
threshold are exact integrals of that step function.

Conventions: a patient is present on [entry, exit); NaN entry = never entered;
NaN exit = still present at the end. Only [0, n_days) is measured (warm-up
times are negative). At equal times exits are counted before entries, so a bed
handed over at a discharge never shows as a spurious peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LevelStats", "level_stats", "weighted_quantile_from_hist"]

FloatArray = NDArray[np.float64]


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
    s = np.asarray(entry, dtype=float)
    e = np.asarray(exit_, dtype=float)
    entered = ~np.isnan(s)
    s = s[entered]
    e = np.where(np.isnan(e[entered]), np.inf, e[entered])
    t_end = float(n_days)
    overlaps = (e > 0.0) & (s < t_end) & (e > s)
    s, e = s[overlaps], e[overlaps]
    at_start = int(np.count_nonzero(s <= 0.0))
    ins = s[s > 0.0]
    outs = e[e < t_end]
    markers = np.arange(1, n_days, dtype=float)
    times = np.concatenate([outs, markers, ins])
    delta = np.concatenate(
        [
            np.full(outs.size, -1, np.int64),
            np.zeros(markers.size, np.int64),
            np.ones(ins.size, np.int64),
        ]
    )
    order = np.lexsort((delta, times))
    times, delta = times[order], delta[order]
    level = at_start + np.cumsum(delta)
    seg_start = np.concatenate([[0.0], times])
    seg_level = np.concatenate([[at_start], level]).astype(float)
    seg_end = np.concatenate([times, [t_end]])
    dur = seg_end - seg_start
    marker_seg = np.flatnonzero(delta == 0) + 1  # segment that starts at each midnight 1..n-1
    day_start_seg = np.concatenate([[0], marker_seg])
    day = np.repeat(np.arange(n_days), np.diff(np.concatenate([day_start_seg, [seg_start.size]])))

    daily_mean = np.bincount(day, weights=dur * seg_level, minlength=n_days).astype(float)
    daily_peak: FloatArray = np.maximum.reduceat(seg_level, day_start_seg)
    midnight = np.empty(n_days)
    midnight[:-1] = seg_level[marker_seg]
    midnight[-1] = seg_level[-1]

    time_ge: dict[float, FloatArray] = {}
    if capacity is not None:
        cap_seg = np.asarray(capacity, dtype=float)[day]
        for f in fractions:
            hit = np.isfinite(cap_seg) & (seg_level >= f * cap_seg - 1e-9)
            time_ge[f] = np.bincount(day, weights=dur * hit, minlength=n_days).astype(float)

    year_hist: list[FloatArray] = []
    if year_of_day is not None:
        seg_year = np.asarray(year_of_day)[day]
        levels = seg_level.astype(np.int64)
        for y in range(n_years):
            m = seg_year == y
            year_hist.append(np.bincount(levels[m], weights=dur[m]).astype(float))
    return LevelStats(daily_mean, daily_peak, midnight, at_start, time_ge, year_hist)


def weighted_quantile_from_hist(hist: FloatArray, q: float) -> float:
    """Smallest count whose cumulative time share reaches ``q`` (NaN if no time)."""
    total = float(hist.sum())
    if total <= 0.0:
        return float("nan")
    cum = np.cumsum(hist) / total
    return float(np.searchsorted(cum, q - 1e-12, side="left"))
