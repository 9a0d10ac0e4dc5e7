"""Capacity timeline: beds by pool and date, GPs, centres, ED spaces, ambulances, workforce.

The base is the calibration year's capacity (beds split over pools by the demand
calibration, see ``sim.model.demand.calibrate``); dated changes come from the scenario's
``[capacity]`` section (:class:`~sim.scenario.capacity.CapacitySection`):

* the 2025 projects (+2,510 beds, unless already in the base), spread over every
  pool in proportion to its base beds (CAP-POOL-SPLIT);
* the Second TCM Hospital: its medical beds over medicine, surgery and ICU in
  proportion to their base beds, its elderly-care beds to ``elderly_care``;
* the user's ``additions``;
* the plan's target (23,000 available beds by the end of 2030): the beds still
  missing at the end of the target year after all the above open in equal tranches
  on 1 July of each year from ``first_year`` to the target year, spread over the
  pools that count toward the target in proportion to their base beds.

Beds are whole numbers: every split uses the largest-remainder rule, so the parts
add up to the whole exactly. A change takes effect at the start of its opening day.
The DES reads :func:`bed_changes` (dated events); the expected level reads
:func:`timeline` (a labelled Dataset by year and day).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sim.base import names
from sim.data.service_tables import POOLS
from sim.scenario import YearPath, number, path_at
from sim.scenario.capacity import CapacitySection

__all__ = [
    "TCM_ACUTE_POOLS",
    "BaseCapacity",
    "BedChange",
    "allocate",
    "base_pool_beds",
    "bed_changes",
    "beds_on",
    "date_of_decimal_year",
    "timeline",
]

TCM_ACUTE_POOLS: tuple[str, ...] = ("medicine", "surgery", "icu")
"""Pools that receive the Second TCM Hospital's medical beds (CAP-TCM2)."""
PLAN_TRANCHE_MONTH_DAY = (7, 1)
"""Tranches toward the plan's target open on 1 July (CAP-PLAN-PHASING, assumption)."""

FloatArray = NDArray[np.float64]


def date_of_decimal_year(x: float) -> dt.date:
    """Date of a decimal year: the integer part is the year, the fraction the share of
    its days elapsed (2028.0 = 1 January 2028; 2028.5 = 2 July 2028)."""
    if not math.isfinite(x):
        raise ValueError(f"a decimal year must be finite, got {x!r}")
    year = math.floor(x)
    jan1 = dt.date(year, 1, 1)
    n_days = (dt.date(year + 1, 1, 1) - jan1).days
    return jan1 + dt.timedelta(days=min(round((x - year) * n_days), n_days - 1))


def allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split a whole number over keys in proportion to non-negative weights
    (largest-remainder rule: the parts are whole and add up to ``total``; a negative
    total is split as minus the split of its absolute value)."""
    sign = -1 if total < 0 else 1
    n = abs(int(total))
    keys = list(weights)
    w = np.array([max(float(weights[k]), 0.0) for k in keys])
    if w.sum() <= 0:
        raise ValueError("cannot split beds over pools whose weights are all zero")
    exact = n * w / w.sum()
    parts = np.floor(exact).astype(int)
    short = n - int(parts.sum())
    # ties broken by key order, so the split is deterministic
    order = sorted(range(len(keys)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:short]:
        parts[i] += 1
    return {k: sign * int(parts[i]) for i, k in enumerate(keys)}


def base_pool_beds(total_beds: float, pool_weights: Mapping[str, float]) -> dict[str, int]:
    """Whole beds of each pool at the base date: ``round(total_beds)`` split in
    proportion to ``pool_weights`` (the calibration's unrounded pool beds)."""
    return allocate(round(total_beds), {p: pool_weights.get(p, 0.0) for p in POOLS})


@dataclass(frozen=True)
class BedChange:
    """Beds of one pool that open (or close, if negative) on a date."""

    date: dt.date
    pool: str
    beds: int
    label: str


@dataclass(frozen=True)
class BaseCapacity:
    """Capacity at the end of the calibration year, from the calibration."""

    year: int
    pool_beds: dict[str, int]
    """Whole beds of each pool."""
    ed_spaces: float
    """ED treatment spaces used when the scenario gives none."""
    ambulances: float
    """Ambulances used when the scenario gives none."""
    visits_per_gp: float
    """Community-centre visits per GP per year used when the scenario gives none."""


def _split_changes(
    when: dt.date, beds: int, pools: Sequence[str], base: Mapping[str, int], label: str
) -> list[BedChange]:
    weights = {p: float(base[p]) for p in pools}
    if sum(weights.values()) <= 0:
        weights = dict.fromkeys(pools, 1.0)
    return [BedChange(when, p, n, label) for p, n in allocate(beds, weights).items() if n != 0]


def bed_changes(section: CapacitySection, base: BaseCapacity) -> list[BedChange]:
    """Dated bed changes of a *resolved* capacity section, sorted by date (module docstring)."""
    changes: list[BedChange] = []
    pools = base.pool_beds
    p25 = section.projects_2025
    if not p25.in_base and p25.beds > 0:
        changes += _split_changes(
            date_of_decimal_year(number(p25.opening)),
            p25.beds,
            POOLS,
            pools,
            "2025 district hospital projects",
        )
    tcm = section.second_tcm
    if tcm.enabled:
        when = date_of_decimal_year(number(tcm.opening))
        if tcm.acute_beds:
            changes += _split_changes(
                when, tcm.acute_beds, TCM_ACUTE_POOLS, pools, "Second TCM Hospital, medical beds"
            )
        if tcm.elderly_care_beds:
            changes.append(
                BedChange(
                    when,
                    "elderly_care",
                    tcm.elderly_care_beds,
                    "Second TCM Hospital, elderly-care beds",
                )
            )
    for add in section.additions:
        changes.append(
            BedChange(
                date_of_decimal_year(add.opening), add.pool, add.beds, add.label or "addition"
            )
        )
    target = section.plan_target
    if target.enabled:
        counted = [p for p in POOLS if target.count_elderly_care or p != "elderly_care"]
        end = dt.date(target.year, 12, 31)
        reached = sum(pools[p] for p in counted) + sum(
            c.beds for c in changes if c.pool in counted and c.date <= end
        )
        missing = math.ceil(target.beds - reached)
        if missing > 0:
            years = list(range(max(target.first_year, base.year + 1), target.year + 1))
            if not years:
                years = [target.year]
            per_year = allocate(missing, {str(y): 1.0 for y in years})
            month, day = PLAN_TRANCHE_MONTH_DAY
            for y in years:
                changes += _split_changes(
                    dt.date(y, month, day),
                    per_year[str(y)],
                    counted,
                    pools,
                    f"plan target {target.beds:,.0f} beds by {target.year}",
                )
    return sorted(changes, key=lambda c: (c.date, POOLS.index(c.pool), c.label))


def beds_on(
    base: BaseCapacity, changes: Sequence[BedChange], dates: Sequence[dt.date]
) -> FloatArray:
    """Beds of each pool on each date: array [pool, date] (pool order ``POOLS``)."""
    return _beds_on_ordinals(base, changes, np.array([d.toordinal() for d in dates]))


def _beds_on_ordinals(
    base: BaseCapacity, changes: Sequence[BedChange], ordinals: NDArray[np.int_]
) -> FloatArray:
    """:func:`beds_on` for dates given as proleptic Gregorian ordinals."""
    start = np.array([float(base.pool_beds[p]) for p in POOLS])
    out = np.repeat(start[:, None], len(ordinals), axis=1)
    for c in changes:
        out[POOLS.index(c.pool), ordinals >= c.date.toordinal()] += c.beds
    return out


def _daily_beds(base: BaseCapacity, changes: Sequence[BedChange], years: list[int]) -> FloatArray:
    """Beds in service, array [year, pool, day of year 1..366] (NaN on day 366 of a
    common year)."""
    beds = np.full((len(years), len(POOLS), 366), np.nan)
    for i, y in enumerate(years):
        jan1 = dt.date(y, 1, 1).toordinal()
        days = np.arange(jan1, dt.date(y + 1, 1, 1).toordinal())
        beds[i, :, : len(days)] = _beds_on_ordinals(base, changes, days)
    return beds


def _by_year(value: YearPath | None, default: float, years: list[int]) -> FloatArray:
    """A scenario path (or constant) at each year; ``default`` everywhere when unset."""
    if value is None:
        return np.full(len(years), default)
    return np.asarray(path_at(value, years), dtype=float)


_Variables = dict[str, tuple[tuple[str, ...], object, dict[str, str]]]
"""Data variables for :class:`xarray.Dataset`: name -> (dims, values, attrs)."""


def _bed_variables(beds: FloatArray, years: list[int]) -> _Variables:
    """Beds by day, their yearly mean and the 31 December value, beds."""
    Y, P, D = names.YEAR, names.POOL, names.DAY
    return {
        "beds": (
            (Y, P, D),
            beds,
            names.var_attrs(names.UNIT_BEDS, "hospital beds in service on the day"),
        ),
        "beds_mean": (
            (Y, P),
            np.nanmean(beds, axis=2),
            names.var_attrs(names.UNIT_BEDS, "hospital beds, mean over the year"),
        ),
        "beds_end": (
            (Y, P),
            beds[np.arange(len(years)), :, [names.days_in_year(y) - 1 for y in years]],
            names.var_attrs(names.UNIT_BEDS, "hospital beds on 31 December"),
        ),
    }


def _gp_variables(section: CapacitySection, base: BaseCapacity, years: list[int]) -> _Variables:
    """GPs in post, their visits per year and the productivity multiplier, by year."""
    gp = section.gp
    visits_per_gp = base.visits_per_gp if gp.visits_per_gp is None else number(gp.visits_per_gp)
    Y = names.YEAR
    return {
        "gps": (
            (Y,),
            _by_year(gp.count, math.nan, years),
            names.var_attrs("GPs", "general practitioners in post"),
        ),
        "gp_visits_per_gp": (
            (Y,),
            np.full(len(years), visits_per_gp),
            names.var_attrs(
                "visits year-1",
                "community-centre visits one GP provides per year, before the productivity "
                "multiplier",
            ),
        ),
        "gp_productivity": (
            (Y,),
            _by_year(gp.productivity, 1.0, years),
            names.var_attrs("1", "multiplier of visits per GP (e.g. AI assistance)"),
        ),
    }


def _other_variables(section: CapacitySection, base: BaseCapacity, years: list[int]) -> _Variables:
    """Centres, ED spaces, ambulances and the workforce per 1,000 residents, by year."""
    Y = names.YEAR
    workforce = section.workforce
    return {
        "chc_centres": (
            (Y,),
            _by_year(section.chc_centres, math.nan, years),
            names.var_attrs("centres", "community health centres (社康机构)"),
        ),
        "ed_spaces": (
            (Y,),
            _by_year(section.ed_spaces, base.ed_spaces, years),
            names.var_attrs("spaces", "ED treatment spaces"),
        ),
        "ambulances": (
            (Y,),
            _by_year(section.ambulances, base.ambulances, years),
            names.var_attrs("ambulances", "ambulances in service"),
        ),
        "physicians_per_1000": (
            (Y,),
            _by_year(workforce.physicians_per_1000, math.nan, years),
            names.var_attrs(
                names.UNIT_PER_1000, "licensed (assistant) physicians per 1,000 residents"
            ),
        ),
        "nurses_per_1000": (
            (Y,),
            _by_year(workforce.nurses_per_1000, math.nan, years),
            names.var_attrs(names.UNIT_PER_1000, "registered nurses per 1,000 residents"),
        ),
    }


def timeline(section: CapacitySection, base: BaseCapacity, years: Sequence[int]) -> xr.Dataset:
    """Capacity by year (and by day for beds) of a *resolved* capacity section.

    Variables: ``beds(year, pool, day)`` (day of year 1..366, NaN on day 366 of a
    common year), ``beds_mean`` and ``beds_end`` (31 December) by pool,
    ``gps``, ``gp_visits_per_gp``, ``gp_productivity``, ``chc_centres``, ``ed_spaces``,
    ``ambulances``, ``physicians_per_1000`` and ``nurses_per_1000`` by year.
    """
    years = [int(y) for y in years]
    beds = _daily_beds(base, bed_changes(section, base), years)
    return xr.Dataset(
        {
            **_bed_variables(beds, years),
            **_gp_variables(section, base, years),
            **_other_variables(section, base, years),
        },
        coords={names.YEAR: years, names.POOL: list(POOLS), names.DAY: np.arange(1, 367)},
        attrs={"base_year": base.year},
    )
