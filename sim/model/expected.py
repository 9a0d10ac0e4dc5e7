"""The expected (analytic) level: demography + demand + capacity + queueing formulas.

For each replicate (0 = central values) of a scenario:

1. project the population (:func:`sim.model.demography.project`);
2. calibrate the use rates on that replicate's own base-year population
   (:func:`sim.model.demand.calibrate`) and evaluate every year's expected demand, with an
   attribution of the change since the base year to :data:`sim.model.demand.STEPS`;
3. spread each year's admissions over its days with the arrival profiles of
   ``sim.data.profiles`` (weekday, month, holidays) and convolve them with the
   length-of-stay kernels: the expected occupied beds by day of year of an
   M(t)/G/∞ system (:func:`sim.model.analytic.mtginf_occupancy`, each year in its own
   periodic steady state: the lag of the year-on-year trend, under 0.2% of
   occupancy, is ignored);
4. build the capacity timeline (:func:`sim.model.capacity.timeline`) and size beds, ED
   treatment spaces, ambulances and GPs against the scenario's targets.

Capacity is sized for a *design day*: the day at the :data:`DESIGN_DAY_QUANTILE` of
the year's expected daily load (CAP-DESIGN-DAY, assumption), and for the ED and
ambulances its busiest hour. Erlang B / C treat that load as stationary.

Everything is deterministic given the replicate's drawn inputs: the same scenario,
replicate and seed give the same Dataset.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product
from typing import Any, Final

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from sim.base import catalogue, names
from sim.base.errors import ScenarioError
from sim.base.los import LosDistribution
from sim.data import DemographicTables, load_demographic_tables
from sim.data.profiles import (
    AMBULANCE_DISPATCH,
    ED_AMBULANCE,
    ED_WALK_IN,
    HolidayCalendar,
    TimeProfile,
    daily_expected,
    load_holidays,
    load_profiles,
)
from sim.data.service_tables import ACUITIES, POOLS, ROUTES, ServiceTables, load_service_tables
from sim.model import analytic
from sim.model.capacity import BaseCapacity, base_pool_beds, timeline
from sim.model.demand import (
    ROUTE,
    SERVICES,
    STEPS,
    Calibration,
    DemandModel,
    Measures,
    YearDemand,
    YearInputs,
    attribution,
    base_inputs,
    calibrate,
    days_in_year,
    year_inputs,
)
from sim.model.demography import project
from sim.scenario import Scenario, draw, number, path_at
from sim.scenario.capacity import Targets

__all__ = [
    "DESIGN_DAY_QUANTILE",
    "KERNEL_TOL",
    "base_capacity",
    "expected_level",
    "expected_many",
    "run_expected",
    "summary_table",
]

FloatArray = NDArray[np.float64]

DESIGN_DAY_QUANTILE = 0.9
"""Capacity is sized for the day at this quantile of the year's expected daily load
(CAP-DESIGN-DAY, assumption: a busy but not exceptional day)."""
KERNEL_TOL = 1e-9
"""LOS kernels are cut where they lose this fraction of the mean stay (bed-days)."""
N_DAYS_MAX = 366


_SHAPE_CACHE_SIZE = 4096
_shape_cache: dict[tuple[int, int, int], tuple[TimeProfile, HolidayCalendar, FloatArray]] = {}
"""Unit daily shapes by (id(profile), id(calendar), year), shared by every replicate
of a process: building one walks the year day by day (milliseconds), and the batch
layer passes the same profile and calendar objects to all its tasks. The objects are
kept in the value, so their ids cannot be reused while the entry lives."""


def _unit_shape(profile: TimeProfile, calendar: HolidayCalendar, year: int) -> FloatArray:
    """Daily shares (sum 1) of a year's arrivals under ``profile``; cached, read-only.

    Raises ``ValueError`` where ``daily_expected`` does (a year the calendar lacks)."""
    key = (id(profile), id(calendar), year)
    hit = _shape_cache.get(key)
    if hit is not None and hit[0] is profile and hit[1] is calendar:
        return hit[2]
    shape = daily_expected(1.0, profile, calendar, dt.date(year, 1, 1), days_in_year(year))
    shape.flags.writeable = False
    if len(_shape_cache) >= _SHAPE_CACHE_SIZE:
        _shape_cache.clear()
    _shape_cache[key] = (profile, calendar, shape)
    return shape


class _Shapes:
    """Unit daily shapes (sum 1 over the year) of each profile and year, cached
    (read-only arrays)."""

    def __init__(self, profiles: dict[str, TimeProfile], calendar: HolidayCalendar) -> None:
        self.profiles = profiles
        self.calendar = calendar
        self._cache: dict[tuple[str, int], FloatArray] = {}

    def __call__(self, profile: str, year: int) -> FloatArray:
        key = (profile, year)
        if key not in self._cache:
            if profile not in self.profiles:
                raise ScenarioError(
                    None,
                    "arrival profile",
                    profile,
                    f"is not in the profiles table; known: {', '.join(self.profiles)}",
                )
            try:
                self._cache[key] = _unit_shape(self.profiles[profile], self.calendar, year)
            except ValueError as exc:
                which = "run.start_year" if year < self.calendar.first_year else "run.end_year"
                raise ScenarioError(None, which, year, str(exc)) from None
        return self._cache[key]

    def peak_hour_share(self, profile: str) -> float:
        return float(max(self.profiles[profile].hourly))


def _ratio(numerator: Any, denominator: Any) -> FloatArray:
    """``numerator / denominator``, NaN (undefined) where the denominator is 0: the
    occupancy of a pool with no beds, the utilisation of no GPs, the admitted share of
    no ED visits. Elsewhere exactly the quotient."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, math.nan)
    quotient: FloatArray = np.divide(num, den, out=out, where=den != 0)
    return quotient


def _design(values: FloatArray) -> FloatArray:
    """The design day's load: the :data:`DESIGN_DAY_QUANTILE` over the last axis (days)."""
    return np.asarray(np.quantile(values, DESIGN_DAY_QUANTILE, axis=-1), dtype=float)


def _occupancy(model: DemandModel, demand: YearDemand, year: int, shapes: _Shapes) -> FloatArray:
    """Expected occupied beds [pool, day] of a year (time-averaged over each day)."""
    n = days_in_year(year)
    out = np.zeros((len(POOLS), n))
    groups: dict[tuple[LosDistribution, str, tuple[tuple[str, float], ...]], float] = {}
    for c in model.components(demand, demand.elderly_care_transfer):
        line = model.tables.lines[c.pool]
        profile = line.emergency_profile if c.route == "emergency" else line.elective_profile
        key = (c.los, profile, c.weights)
        groups[key] = groups.get(key, 0.0) + c.admissions
    for (los, profile, weights), admissions in groups.items():
        occ = analytic.mtginf_occupancy(
            admissions * shapes(profile, year), los, warmup="cyclic", kernel_tol=KERNEL_TOL
        )
        for pool, w in weights:
            out[POOLS.index(pool)] += w * occ
    return out


def _servers_for_delay(load: Any, mean_service: Any, **targets: Any) -> FloatArray:
    """Servers of M/M/c queues for the delay targets (each broadcast against ``load``,
    erlangs; ``mean_service`` in the targets' time unit); 0 where the load is 0."""
    delay, _ = analytic.servers_for_delay_and_blocking_many(
        load,
        1.0 / np.asarray(mean_service, dtype=float),
        None,
        analytic.DelayTargets.of(targets.get("max_wait_prob"), None, targets.get("wait_threshold")),
    )
    return delay.astype(float)


def _ed_peak_load(
    ed_visits: FloatArray,
    ed_ambulance: FloatArray,
    ed_hours: FloatArray,
    year: int,
    shapes: _Shapes,
) -> tuple[FloatArray, FloatArray]:
    """(peak-hour ED arrivals per hour on the design day, mean treatment hours), each
    [sample], from ED visits, ambulance arrivals and treatment hours [sample, acuity]."""
    amb = ed_ambulance.sum(axis=-1)
    visits = ed_visits.sum(axis=-1)
    daily_walk = (visits - amb)[:, None] * shapes(ED_WALK_IN, year)
    daily_amb = amb[:, None] * shapes(ED_AMBULANCE, year)
    rank = int(DESIGN_DAY_QUANTILE * (daily_walk.shape[-1] - 1))
    day = np.argsort(daily_walk + daily_amb, axis=-1)[:, rank : rank + 1]
    hourly = np.take_along_axis(daily_walk, day, axis=-1) * np.array(
        shapes.profiles[ED_WALK_IN].hourly
    ) + np.take_along_axis(daily_amb, day, axis=-1) * np.array(shapes.profiles[ED_AMBULANCE].hourly)
    # a dot product per sample, as one sample's arithmetic (the same bits whatever the batch)
    hours = np.array(
        [
            float(v @ h) / float(n) if n > 0 else 1.0
            for v, h, n in zip(ed_visits, ed_hours, visits, strict=True)
        ]
    )
    return hourly.max(axis=-1), hours


def _peak_hour_rate(annual: FloatArray, profile: str, year: int, shapes: _Shapes) -> FloatArray:
    """Arrivals per hour in the busiest hour of the design day, [sample], of ``annual``
    arrivals a year [sample]."""
    daily = annual[:, None] * shapes(profile, year)
    return _design(daily) * shapes.peak_hour_share(profile)


@dataclass(frozen=True)
class ExpectedState:
    """The expected level's inputs and demand by year, before results are computed;
    the batch layer builds the discrete-event configuration from the same objects."""

    years: list[int]
    cal: Calibration
    model: DemandModel
    demands: dict[int, YearDemand]
    parts: dict[int, dict[str, Measures]]
    totals: dict[int, Measures]
    base: BaseCapacity
    cap: xr.Dataset
    shapes: _Shapes
    mid: dict[int, FloatArray]
    births: dict[int, float]
    pop_end: dict[int, float]


class _Projection:
    """A projection's population and births as numpy rows by year: label lookups
    through xarray cost more than the arithmetic."""

    def __init__(self, projection: xr.Dataset) -> None:
        self.years = [int(y) for y in projection[names.YEAR].values]
        self._row = {y: i for i, y in enumerate(self.years)}
        self._end = projection["population"].transpose(names.YEAR, ...).values  # [year, sex, age]
        self._births = projection["births"].transpose(names.YEAR, ...).values  # [year, sex]

    def mid(self, y: int) -> FloatArray:
        """Mid-year population [sex, age] (persons): the mean of the two year ends."""
        return np.asarray(0.5 * (self._end[self._row[y - 1]] + self._end[self._row[y]]))

    def births(self, y: int) -> float:
        """Live births during year ``y`` (persons)."""
        return float(self._births[self._row[y]].sum())

    def end(self, y: int) -> float:
        """Population on 31 December of ``y`` (persons)."""
        return float(self._end[self._row[y]].sum())


def _model_years(sc: Scenario, proj_years: list[int]) -> list[int]:
    """Years with results: the run's years that have a previous projected year (for the
    mid-year population). Raises ``ScenarioError`` for a calibration year outside it."""
    base_year = sc.demand.calibration.year
    if base_year > proj_years[-1] or base_year - 1 < proj_years[0]:
        raise ScenarioError(
            None,
            "demand.calibration.year",
            base_year,
            f"must lie within the projection, {proj_years[0] + 1} to run.end_year "
            f"({proj_years[-1]})",
        )
    first = max(sc.run.start_year, proj_years[0] + 1)
    return list(range(first, sc.run.end_year + 1))


def _year_demands(
    sc: Scenario,
    model: DemandModel,
    proj: _Projection,
    years: list[int],
    inputs_base: YearInputs,
) -> tuple[dict[int, YearDemand], dict[int, dict[str, Measures]], dict[int, Measures]]:
    """Each year's expected demand and its change since the base year, by step and in
    total (:func:`sim.model.demand.attribution`)."""
    base_year = sc.demand.calibration.year
    pop_base, births_base = proj.mid(base_year), proj.births(base_year)
    demands: dict[int, YearDemand] = {}
    parts: dict[int, dict[str, Measures]] = {}
    totals: dict[int, Measures] = {}
    for y in years:
        inp = year_inputs(sc.demand, y)
        demands[y] = model.evaluate(proj.mid(y), proj.births(y), inp)
        parts[y], totals[y] = attribution(
            model, pop_base, births_base, proj.mid(y), proj.births(y), inputs_base, inp
        )
    return demands, parts, totals


def prepare_expected(
    sc: Scenario,
    projection: xr.Dataset,
    tables: ServiceTables,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
) -> ExpectedState:
    """Calibrate and evaluate demand of each year of a *resolved* scenario."""
    proj = _Projection(projection)
    years = _model_years(sc, proj.years)
    base_year = sc.demand.calibration.year
    pop_base, births_base = proj.mid(base_year), proj.births(base_year)
    cal = calibrate(
        pop_base,
        proj.end(base_year),
        births_base,
        tables,
        sc.demand,
        number(sc.capacity.beds_per_1000),
    )
    model = DemandModel(tables, sc.demand, cal)
    inputs_base = base_inputs(sc.demand)
    shapes = _Shapes(profiles, calendar)
    demands, parts, totals = _year_demands(sc, model, proj, years, inputs_base)
    base_demand = (
        demands[base_year]
        if base_year in demands
        else model.evaluate(pop_base, births_base, inputs_base)
    )
    base = _base_capacity(sc, cal, base_demand, pop_base, shapes)
    cap = timeline(sc.capacity, base, years)
    return ExpectedState(
        years,
        cal,
        model,
        demands,
        parts,
        totals,
        base,
        cap,
        shapes,
        {y: proj.mid(y) for y in years},
        {y: proj.births(y) for y in years},
        {y: proj.end(y) for y in years},
    )


_SIZING = ("mean", "design", "p95", "occ", "wait", "block", "sqrt", "alos")


@dataclass(frozen=True)
class _Results:
    """The expected level's results of a batch of samples (first axis: sample, second:
    index in ``state.years``)."""

    occupied: FloatArray
    """[sample, year, pool, day] expected occupied beds; NaN after the year's last day."""
    sizing: dict[str, FloatArray]
    """[sample, year, pool] by :data:`_SIZING` key: beds, except ``alos`` (days)."""
    pooled: FloatArray
    """[sample, year, 3] beds for the wait target: pools separate, pooled, with the
    reform's share."""
    ed: FloatArray
    """[sample, year, 3] ED: peak arrivals per hour, mean treatment hours, spaces needed."""
    amb: FloatArray
    """[sample, year, 2] ambulances: peak dispatches per hour, ambulances needed."""

    @classmethod
    def empty(cls, n_samples: int, n_years: int) -> _Results:
        pools = (n_samples, n_years, len(POOLS))
        return cls(
            np.full((*pools, N_DAYS_MAX), np.nan),
            {k: np.zeros(pools) for k in _SIZING},
            np.zeros((n_samples, n_years, 3)),
            np.zeros((n_samples, n_years, 3)),
            np.zeros((n_samples, n_years, 2)),
        )

    def sample(self, s: int) -> _Results:
        """The results of sample ``s`` (views, first axis: year)."""
        return _Results(
            self.occupied[s],
            {k: v[s] for k, v in self.sizing.items()},
            self.pooled[s],
            self.ed[s],
            self.amb[s],
        )


@dataclass(frozen=True)
class _Targets:
    """The sizing targets of a batch of samples, each [sample] (sim.scenario.capacity)."""

    occupancy: FloatArray
    bed_wait: FloatArray
    bed_blocking: FloatArray
    beta: FloatArray
    """Halfin–Whitt β of the bed wait target (square-root staffing)."""
    ed_wait: FloatArray
    ed_wait_hours: FloatArray
    ambulance_wait: FloatArray
    ambulance_job_hours: FloatArray

    @classmethod
    def of(cls, scs: Sequence[Scenario]) -> _Targets:
        t = [sc.capacity.targets for sc in scs]
        return cls(
            np.array([number(x.occupancy) for x in t]),
            np.array([x.bed_wait_probability for x in t]),
            np.array([x.bed_blocking_probability for x in t]),
            np.array([_beta(x.bed_wait_probability) for x in t]),
            np.array([x.ed_wait_probability for x in t]),
            np.array([x.ed_wait_hours for x in t]),
            np.array([x.ambulance_wait_probability for x in t]),
            np.array([number(sc.capacity.ambulance_job_hours) for sc in scs]),
        )


@lru_cache(maxsize=4096)
def _beta(wait_probability: float) -> float:
    """:func:`sim.model.analytic.halfin_whitt_beta`, cached: a root search per call,
    and a batch repeats the same few targets."""
    return analytic.halfin_whitt_beta(wait_probability)


def expected_level(
    sc: Scenario,
    projection: xr.Dataset,
    tables: ServiceTables,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
    state: ExpectedState | None = None,
) -> xr.Dataset:
    """Expected-level results of one *resolved* scenario replicate: :func:`expected_many`
    of one sample, without the ``sample`` dimension.

    Args:
        sc: a resolved scenario (:func:`sim.scenario.draw`).
        projection: its population projection (:func:`sim.model.demography.project`).
        tables: service tables (:func:`sim.data.service_tables.load_service_tables`).
        profiles, calendar: arrival profiles and holidays (``sim.data.profiles``).
        state: the result of :func:`prepare_expected` when the caller has it already.

    Returns:
        Dataset with dims ``year``, ``service``, ``acuity``, ``pool``, ``route``,
        ``day`` (day of year 1..366) and ``step``; every variable has ``units`` and
        ``long_name`` (:data:`sim.base.catalogue.EXPECTED`).
    """
    if state is None:
        state = prepare_expected(sc, projection, tables, profiles, calendar)
    return _expected_samples([sc], [state]).isel({names.SAMPLE: 0})


def expected_many(
    scenarios: Sequence[Scenario],
    projection: xr.Dataset,
    tables: ServiceTables,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
) -> xr.Dataset:
    """Expected-level results of many *resolved* scenarios at once.

    Args:
        scenarios: resolved scenarios (draws or sweep points) that differ only in
            numbers: the same run years, calibration year, one-bed-pool group and data.
        projection: their projections, with a leading ``sample`` dimension
            (:data:`sim.base.names.SAMPLE`), in the order of ``scenarios``.
        tables, profiles, calendar: as for :func:`expected_level`.

    Returns:
        The Dataset of :func:`expected_level` with a leading ``sample`` dimension (no
        coordinate): sample i equals ``expected_level(scenarios[i], ...)``; the
        attributes (calibration figures) and the long names are those of sample 0.

    Raises:
        ScenarioError: scenarios that cannot be stacked.
    """
    scs = list(scenarios)
    _check_stackable(scs, projection)
    states = [
        prepare_expected(sc, projection.isel({names.SAMPLE: i}), tables, profiles, calendar)
        for i, sc in enumerate(scs)
    ]
    return _expected_samples(scs, states)


def _check_stackable(scs: list[Scenario], projection: xr.Dataset) -> None:
    """Raise a one-line ``ScenarioError`` unless ``scs`` can share one batch."""
    n = projection.sizes.get(names.SAMPLE)
    if not scs or n != len(scs):
        raise ScenarioError(
            None,
            "projection",
            f"{n} samples" if n is not None else "no sample dimension",
            f"needs a leading '{names.SAMPLE}' dimension of one sample per scenario "
            f"({len(scs)}, at least one)",
        )
    first = scs[0]
    for key, get in _STACK_KEYS.items():
        ref = get(first)
        for i, sc in enumerate(scs[1:], start=1):
            if get(sc) != ref:
                raise ScenarioError(
                    None,
                    key,
                    get(sc),
                    f"must be the same in every sample of a batch: sample 0 has {ref}, "
                    f"sample {i} differs",
                )


_STACK_KEYS: dict[str, Callable[[Scenario], Any]] = {
    "run.start_year": lambda sc: sc.run.start_year,
    "run.end_year": lambda sc: sc.run.end_year,
    "demand.calibration.year": lambda sc: sc.demand.calibration.year,
    "capacity.bed_pool.pools": lambda sc: tuple(sc.capacity.bed_pool.pools),
    "data": lambda sc: sc.data.model_dump(),
}
"""Inputs every sample of a batch shares: they set the results' shape or the tables."""


def _expected_samples(scs: Sequence[Scenario], states: Sequence[ExpectedState]) -> xr.Dataset:
    """The expected level of prepared samples (one Dataset, leading ``sample`` dim)."""
    years = states[0].years
    res = _Results.empty(len(scs), len(years))
    targets = _Targets.of(scs)
    group = [POOLS.index(p) for p in scs[0].capacity.bed_pool.pools]
    # sample by sample, then year by year: the years of a sample share its LOS
    # distributions, whose kernels are cached (analytic.KERNEL_CACHE_SIZE)
    for s, st in enumerate(states):
        for i, y in enumerate(years):
            occ = _occupancy(st.model, st.demands[y], y, st.shapes)
            res.occupied[s, i, :, : occ.shape[1]] = occ
    for i, y in enumerate(years):
        demands = [st.demands[y] for st in states]
        n = days_in_year(y)
        occ_y = res.occupied[:, i, :, :n]
        bed_days = np.array([d.bed_days for d in demands])
        episodes = np.array([_episodes(st.model, d) for st, d in zip(states, demands, strict=True)])
        _size_pools({k: v[:, i] for k, v in res.sizing.items()}, occ_y, bed_days, episodes, targets)
        share = np.array([float(path_at(sc.capacity.bed_pool.share, y)) for sc in scs])
        res.pooled[:, i] = _pooled_beds(
            occ_y[:, group],
            bed_days[:, group],
            episodes[:, group],
            res.sizing["wait"][:, i, group],
            share,
            targets,
        )
        _fill_ed_ambulance(res, i, y, demands, states[0].shapes, targets)
    return _dataset_many(scs, states, res)


def _fill_ed_ambulance(
    res: _Results,
    i: int,
    y: int,
    demands: list[YearDemand],
    shapes: _Shapes,
    targets: _Targets,
) -> None:
    """Fill year ``i``'s ED and ambulance figures of every sample."""
    rate, hours = _ed_peak_load(
        np.array([d.ed_visits for d in demands]),
        np.array([d.ed_ambulance for d in demands]),
        np.array([d.ed_treatment_hours for d in demands]),
        y,
        shapes,
    )
    spaces = _ed_spaces_needed(rate, hours, targets.ed_wait, targets.ed_wait_hours)
    res.ed[:, i] = np.stack([rate, hours, spaces], axis=-1)
    job = targets.ambulance_job_hours
    amb_rate = _peak_hour_rate(
        np.array([d.ambulance for d in demands]), AMBULANCE_DISPATCH, y, shapes
    )
    needed = _servers_for_delay(amb_rate * job, job, max_wait_prob=targets.ambulance_wait)
    res.amb[:, i] = np.stack([amb_rate, needed], axis=-1)


def _ed_spaces_needed(
    rate: FloatArray, hours: FloatArray, wait_prob: Any, wait_hours: Any
) -> FloatArray:
    """ED treatment spaces for the ED wait target (P(wait > ``wait_hours``) <=
    ``wait_prob``) at ``rate`` arrivals per hour, each staying ``hours`` (Erlang C)."""
    return _servers_for_delay(
        rate * hours, hours, max_wait_prob=wait_prob, wait_threshold=wait_hours
    )


def _pooled_beds(
    group_occ: FloatArray,
    bed_days: FloatArray,
    episodes: FloatArray,
    wait_beds: FloatArray,
    share: FloatArray,
    targets: _Targets,
) -> FloatArray:
    """Beds for the wait target of the one-bed-pool group, [sample, 3]: (pools kept
    apart, the group as one pool, with the scenario's pooled share of the year: linear
    in between), from the group's occupancy [sample, pool, day], bed-days, stays begun
    and beds for the wait target [sample, pool]."""
    occ = group_occ.sum(axis=1)
    days, stays = bed_days.sum(axis=-1), episodes.sum(axis=-1)
    alos = np.divide(days, stays, out=np.ones_like(days), where=stays > 0)
    separate = wait_beds.sum(axis=-1)
    together = _servers_for_delay(_design(occ), alos, max_wait_prob=targets.bed_wait)
    return np.stack([separate, together, separate - share * (separate - together)], axis=-1)


def _episodes(model: DemandModel, d: YearDemand) -> FloatArray:
    """Stays begun in each pool in a year: admissions, plus the elderly-care transfers
    and the ICU step-down stays on the ward that takes them."""
    adm_pool = d.admissions.sum(axis=(1, 2))
    episodes: FloatArray = adm_pool.copy()
    episodes[POOLS.index("elderly_care")] += d.transfers
    step_pool, step_share = model.icu_step_down()
    if step_share > 0.0:  # every ICU stay ends with a step-down stay on a ward
        episodes[POOLS.index(step_pool)] += adm_pool[POOLS.index("icu")]
    return episodes


def _size_pools(
    row: dict[str, FloatArray],
    occ: FloatArray,
    bed_days: FloatArray,
    episodes: FloatArray,
    targets: _Targets,
) -> None:
    """Fill one year's sizing figures by sample and pool (``row[k][sample, pool]``, beds
    or days) from the expected occupied beds ``occ`` [sample, pool, day], bed-days and
    stays begun [sample, pool]."""
    mean_occ = occ.mean(axis=-1)
    design = _design(occ)
    alos = np.divide(bed_days, episodes, out=np.ones_like(bed_days), where=episodes > 0)
    row["mean"][:] = mean_occ
    row["design"][:] = design
    row["occ"][:] = analytic.beds_for_occupancy(mean_occ, targets.occupancy[:, None])
    wait, block = analytic.servers_for_delay_and_blocking_many(
        design,
        1.0 / alos,
        targets.bed_blocking[:, None],
        analytic.DelayTargets.of(targets.bed_wait[:, None], None, None),
    )
    row["wait"][:], row["block"][:] = wait, block
    row["sqrt"][:] = analytic.square_root_staffing_many(design, targets.beta[:, None])
    row["alos"][:] = alos
    row["p95"][:] = analytic.mtginf_occupancy_quantile(design, 0.95)


def base_capacity(
    sc: Scenario,
    cal: Calibration,
    base_demand: YearDemand,
    pop_base: FloatArray,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
) -> BaseCapacity:
    """Capacity at the end of the calibration year, for :func:`sim.model.capacity.timeline` and
    :func:`sim.model.capacity.bed_changes` (the DES gets it from the batch layer as an argument).

    Beds by pool come from the calibration; ED spaces, ambulances and visits per GP
    from the scenario, or where it gives none, from the base year's demand: ED spaces
    sized to its busiest hour at the ED wait target, the national ambulance norm at its
    mid-year population, and its observed community-centre visits per GP.
    """
    return _base_capacity(sc, cal, base_demand, pop_base, _Shapes(profiles, calendar))


def _base_capacity(
    sc: Scenario, cal: Calibration, d: YearDemand, pop_base: FloatArray, shapes: _Shapes
) -> BaseCapacity:
    """Base-year capacity; where the scenario gives none, sized to base-year demand."""
    targets = sc.capacity.targets
    year = cal.year
    rate, hours = _ed_peak_load(
        d.ed_visits[None], d.ed_ambulance[None], d.ed_treatment_hours[None], year, shapes
    )
    ed_spaces = float(
        _ed_spaces_needed(rate, hours, targets.ed_wait_probability, targets.ed_wait_hours)[0]
    )
    ambulances = math.ceil(float(pop_base.sum()) / targets.residents_per_ambulance)
    gps = float(path_at(sc.capacity.gp.count, year))
    visits_per_gp = float(d.visits[SERVICES.index("chc")]) / gps if gps > 0 else math.nan
    return BaseCapacity(
        year, base_pool_beds(cal.beds_total, cal.pool_beds), ed_spaces, ambulances, visits_per_gp
    )


def _sample_values(sc: Scenario, state: ExpectedState, res: _Results) -> dict[str, Any]:
    """The arrays of every :data:`catalogue.EXPECTED` variable of one sample."""
    years, cap, targets = state.years, state.cap, sc.capacity.targets
    per_year = [state.demands[y] for y in years]
    pop = np.array([state.mid[y].sum() for y in years])  # mid-year residents
    return {
        **_population_values(state, pop),
        **_visit_values(per_year),
        **_admission_values(per_year, pop, res),
        **_bed_values(state, res),
        **_community_values(cap, per_year, pop, targets),
        **_ed_ambulance_values(cap, res, pop, targets),
        **_workforce_values(cap, pop, targets),
        **_attribution_values(state),
    }


_SAMPLE_ENTRIES: Final = tuple(replace(v, dims=(names.SAMPLE, *v.dims)) for v in catalogue.EXPECTED)
"""The catalogue's expected-level variables with the leading ``sample`` dimension."""


def _dataset_many(
    scs: Sequence[Scenario], states: Sequence[ExpectedState], res: _Results
) -> xr.Dataset:
    """The expected level's Dataset of a batch: every :data:`catalogue.EXPECTED`
    variable with a leading ``sample`` dimension, described by the catalogue (long names
    from sample 0's targets), and sample 0's calibration as attributes."""
    per_sample = [
        _sample_values(sc, st, res.sample(s))
        for s, (sc, st) in enumerate(zip(scs, states, strict=True))
    ]
    values = {k: np.stack([v[k] for v in per_sample]) for k in per_sample[0]}
    ds = catalogue.dataset(
        _SAMPLE_ENTRIES,
        values,
        _coords(states[0].years),
        _long_name_fields(scs[0].capacity.targets),
    )
    # the other coordinates are described when saved (sim.base.names.COORDINATE_ATTRS);
    # this day is a day of the year here, a date in the DES
    ds[names.DAY].attrs["long_name"] = "day of the year (366 only in leap years)"
    ds.attrs.update(_calibration_attrs(states[0]))
    return ds


def _coords(years: list[int]) -> dict[str, Any]:
    return {
        names.YEAR: years,
        names.SERVICE: list(SERVICES),
        names.ACUITY: list(ACUITIES),
        names.POOL: list(POOLS),
        ROUTE: list(ROUTES),
        names.DAY: np.arange(1, N_DAYS_MAX + 1),
        names.STEP: list(STEPS),
    }


def _long_name_fields(targets: Targets) -> dict[str, Any]:
    """Values of the ``{field}`` placeholders in the catalogue's long names."""
    fields = {
        k: getattr(targets, k)
        for k in (
            "bed_wait_probability",
            "bed_blocking_probability",
            "residents_per_centre",
            "ed_wait_hours",
            "ed_wait_probability",
            "ambulance_wait_probability",
            "residents_per_ambulance",
            "physicians_per_1000",
            "nurses_per_1000",
        )
    }
    return {
        **fields,
        "occupancy": number(targets.occupancy),
        "design_day_quantile": DESIGN_DAY_QUANTILE,
    }


def _calibration_attrs(state: ExpectedState) -> dict[str, Any]:
    cal = state.cal
    return {
        "title": "Expected (analytic) level: demand, occupancy and capacity needs",
        "base_year": cal.year,
        **{f"calibration_{k}": float(v) for k, v in cal.figures.items()},
        "calibration_occupancy": cal.occupancy,
        "calibration_alos_days": cal.alos_days,
        "base_visits_per_gp": state.base.visits_per_gp,
        "design_day_quantile": DESIGN_DAY_QUANTILE,
    }


def _population_values(state: ExpectedState, pop: FloatArray) -> dict[str, Any]:
    """Persons, or births per year, by year."""
    years = state.years
    return {
        "population": pop,
        "population_end": np.array([state.pop_end[y] for y in years]),
        "population_65plus": np.array([state.mid[y][:, 65:].sum() for y in years]),
        "births": np.array([state.births[y] for y in years]),
    }


def _visit_values(per_year: list[YearDemand]) -> dict[str, Any]:
    """Visits and 120 dispatches per year, and the community centres' share."""
    visits = np.array([d.visits for d in per_year])
    return {
        "visits": visits,
        "visits_resident": np.array([d.visits_resident for d in per_year]),
        "chc_share": visits[:, SERVICES.index("chc")] / visits.sum(axis=1),
        "ed_visits": np.array([d.ed_visits for d in per_year]),
        "ed_ambulance_arrivals": np.array([d.ed_ambulance for d in per_year]),
        "ed_diverted": np.array([d.ed_diverted for d in per_year]),
        "chc_shifted": np.array([d.chc_shifted for d in per_year]),
        "ambulance_dispatches": np.array([d.ambulance for d in per_year]),
    }


def _admission_values(per_year: list[YearDemand], pop: FloatArray, res: _Results) -> dict[str, Any]:
    """Admissions, cases and transfers per year, bed-days per year and stays (days)."""
    bed_days = np.array([d.bed_days for d in per_year])
    via_ed = np.array([d.via_ed for d in per_year])
    return {
        "admissions": np.array([d.admissions.sum(axis=2) for d in per_year]),  # [y, pool, route]
        "admissions_resident": np.array([d.admissions_resident.sum(axis=(1, 2)) for d in per_year]),
        "admissions_via_ed": via_ed,
        "ed_admitted_fraction": _ratio(via_ed, np.array([d.ed_visits.sum() for d in per_year])),
        "day_cases": np.array([d.day_cases for d in per_year]),
        "elderly_care_transfers": np.array([d.transfers for d in per_year]),
        "bed_days": bed_days,
        "bed_days_per_1000": bed_days.sum(axis=1) / pop * 1000.0,
        "alos": res.sizing["alos"],
    }


def _bed_values(state: ExpectedState, res: _Results) -> dict[str, Any]:
    """Occupied, available and needed beds (beds; occupancy as a fraction)."""
    sizing, cap = res.sizing, state.cap
    beds_mean = cap["beds_mean"].values
    beds_total_end = cap["beds_end"].sum(names.POOL).values
    pop_end = np.array([state.pop_end[y] for y in state.years])
    return {
        "occupied_beds": res.occupied,
        "occupied_beds_mean": sizing["mean"],
        "occupied_beds_design": sizing["design"],
        "occupied_beds_p95": sizing["p95"],
        "beds": beds_mean,
        "beds_end": cap["beds_end"].values,
        "beds_per_1000": beds_total_end / pop_end * 1000.0,
        "bed_occupancy": _ratio(sizing["mean"], beds_mean),
        "beds_needed_occupancy": sizing["occ"],
        "beds_needed_wait": sizing["wait"],
        "beds_needed_blocking": sizing["block"],
        "beds_needed_sqrt": sizing["sqrt"],
        "bed_gap": sizing["occ"] - beds_mean,
        "bed_pool_needed_separate": res.pooled[:, 0],
        "bed_pool_needed_pooled": res.pooled[:, 1],
        "bed_pool_needed": res.pooled[:, 2],
    }


def _community_values(
    cap: xr.Dataset, per_year: list[YearDemand], pop: FloatArray, targets: Targets
) -> dict[str, Any]:
    """GPs and community health centres: counts, visits per year and utilisation."""
    chc_visits = np.array([d.visits for d in per_year])[:, SERVICES.index("chc")]
    gps, visits_per_gp = cap["gps"].values, cap["gp_visits_per_gp"].values
    productivity = cap["gp_productivity"].values
    # no GPs provide no visits, even where visits per GP are undefined (no GPs in the
    # calibration year and capacity.gp.visits_per_gp unset: NaN)
    gp_capacity = np.where(gps == 0, 0.0, gps * visits_per_gp * productivity)
    return {
        "gps": gps,
        "gp_capacity": gp_capacity,
        "gp_utilisation": _ratio(chc_visits, gp_capacity),
        "gps_needed": chc_visits / (visits_per_gp * productivity),
        "chc_centres": cap["chc_centres"].values,
        "residents_per_centre": pop / cap["chc_centres"].values,
        "chc_centres_norm": pop / targets.residents_per_centre,
    }


def _ed_ambulance_values(
    cap: xr.Dataset, res: _Results, pop: FloatArray, targets: Targets
) -> dict[str, Any]:
    """ED treatment spaces and ambulances: peak-hour loads, needs and capacity."""
    return {
        "ed_peak_arrivals": res.ed[:, 0],
        "ed_treatment_hours": res.ed[:, 1],
        "ed_spaces_needed": res.ed[:, 2],
        "ed_spaces": cap["ed_spaces"].values,
        "ambulance_peak_dispatches": res.amb[:, 0],
        "ambulances_needed_wait": res.amb[:, 1],
        "ambulances_needed_norm": pop / targets.residents_per_ambulance,
        "ambulances": cap["ambulances"].values,
    }


def _workforce_values(cap: xr.Dataset, pop: FloatArray, targets: Targets) -> dict[str, Any]:
    """Physicians and nurses (persons, per 1,000 residents) against the plan."""
    phys = cap["physicians_per_1000"].values * pop / 1000.0
    nurses = cap["nurses_per_1000"].values * pop / 1000.0
    return {
        "physicians": phys,
        "physicians_target": targets.physicians_per_1000 * pop / 1000.0,
        "nurses": nurses,
        "nurses_target": targets.nurses_per_1000 * pop / 1000.0,
        "physicians_per_1000": cap["physicians_per_1000"].values,
        "nurses_per_1000": cap["nurses_per_1000"].values,
        "nurse_physician_ratio": _ratio(nurses, phys),
    }


def _attribution_values(state: ExpectedState) -> dict[str, Any]:
    """Change since the base year, by step of :data:`sim.model.demand.STEPS` and in total."""
    years, parts, totals = state.years, state.parts, state.totals

    def by_step(get: Callable[[Measures], Any]) -> FloatArray:
        return np.array([[get(parts[y][s]) for s in STEPS] for y in years])

    return {
        "change_visits": by_step(lambda m: m.visits),
        "change_ambulance": by_step(lambda m: m.ambulance),
        "change_admissions": by_step(lambda m: m.admissions),
        "change_bed_days": by_step(lambda m: m.bed_days),
        "change_visits_total": np.array([totals[y].visits for y in years]),
        "change_bed_days_total": np.array([totals[y].bed_days for y in years]),
    }


def run_expected(
    scenario: Scenario,
    replicates: int | Sequence[int] = 1,
    seed: int | None = None,
    *,
    tables: DemographicTables | None = None,
    service_tables: ServiceTables | None = None,
    profiles: dict[str, TimeProfile] | None = None,
    calendar: HolidayCalendar | None = None,
) -> xr.Dataset:
    """Expected level of a scenario for several replicates (0 = central values).

    Args:
        scenario: the scenario as loaded (uncertain inputs not yet drawn).
        replicates: a count ``n`` (replicates 0..n-1) or the replicate numbers.
        seed: root seed (default ``scenario.run.seed``).
        tables, service_tables, profiles, calendar: base tables; default: the
            scenario's demographic tables and the shipped service tables and profiles.

    Returns:
        Dataset with dims ``scenario`` (one), ``replicate`` and those of
        :func:`expected_level`.
    """
    reps = list(range(replicates)) if isinstance(replicates, int) else [int(r) for r in replicates]
    if not reps or min(reps) < 0:
        raise ScenarioError(
            None,
            "replicates",
            replicates,
            "must be a whole number >= 1 (or replicate numbers >= 0)",
        )
    root = scenario.run.seed if seed is None else seed
    tables = tables if tables is not None else load_demographic_tables(scenario.data.model_dump())
    service_tables = service_tables if service_tables is not None else load_service_tables()
    profiles = profiles if profiles is not None else load_profiles()
    calendar = calendar if calendar is not None else load_holidays()
    parts = []
    for r in reps:
        resolved = draw(scenario, r, root)
        parts.append(
            expected_level(resolved, project(resolved, tables), service_tables, profiles, calendar)
        )
    out = xr.concat(parts, dim=names.REPLICATE, combine_attrs="drop_conflicts")
    out = out.assign_coords({names.REPLICATE: reps}).expand_dims({names.SCENARIO: [scenario.name]})
    out.attrs.update({"scenario": scenario.name, "scenario_label": scenario.label, "seed": root})
    return out


def summary_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per scenario × year × measure: the central replicate (0) and, over
    replicates, the mean and the 10%, 50% and 90% quantiles.

    A measure is a variable with its non-year coordinates in brackets, e.g.
    ``beds_needed_occupancy[medicine]`` or ``change_bed_days[growth,surgery]``.
    Variables by day of year are left out (they are in the Dataset).
    """
    if names.SCENARIO not in ds.dims:
        ds = ds.expand_dims({names.SCENARIO: [str(ds.attrs.get("scenario", "scenario"))]})
    if names.REPLICATE not in ds.dims:
        ds = ds.expand_dims({names.REPLICATE: [0]})
    rows: list[dict[str, Any]] = []
    reps = ds[names.REPLICATE].values
    central_rep = 0 if 0 in reps else int(reps[0])
    for name, var in ds.data_vars.items():
        if names.YEAR not in var.dims or names.DAY in var.dims:
            continue
        extra = [d for d in var.dims if d not in (names.SCENARIO, names.REPLICATE, names.YEAR)]
        ordered = var.transpose(names.SCENARIO, names.YEAR, *extra, names.REPLICATE)
        n_cells = int(np.prod([var.sizes[d] for d in extra])) if extra else 1
        values = ordered.values.reshape(ordered.shape[0], ordered.shape[1], n_cells, -1)
        central = values[..., list(reps).index(central_rep)]
        quant = np.quantile(values, [0.1, 0.5, 0.9], axis=-1)
        mean = values.mean(axis=-1)
        labels = (
            [name]
            if not extra
            else [
                f"{name}[{','.join(str(c) for c in combo)}]"
                for combo in product(*(var[d].values.tolist() for d in extra))
            ]
        )
        for i, sc_name in enumerate(ds[names.SCENARIO].values):
            for j, year in enumerate(ds[names.YEAR].values):
                for k, label in enumerate(labels):
                    rows.append(
                        {
                            "scenario": str(sc_name),
                            "year": int(year),
                            "measure": label,
                            "units": var.attrs.get("units", ""),
                            "central": float(central[i, j, k]),
                            "mean": float(mean[i, j, k]),
                            "p10": float(quant[0, i, j, k]),
                            "p50": float(quant[1, i, j, k]),
                            "p90": float(quant[2, i, j, k]),
                        }
                    )
    return pd.DataFrame(
        rows,
        columns=["scenario", "year", "measure", "units", "central", "mean", "p10", "p50", "p90"],
    )
