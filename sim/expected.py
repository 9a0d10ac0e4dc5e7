"""The expected (analytic) level: demography + demand + capacity + queueing formulas.

For each replicate (0 = central values) of a scenario:

1. project the population (:func:`sim.demography.project`);
2. calibrate the use rates on that replicate's own base-year population
   (:func:`sim.demand.calibrate`) and evaluate every year's expected demand, with an
   attribution of the change since the base year to :data:`sim.demand.STEPS`;
3. spread each year's admissions over its days with the arrival profiles of
   ``sim.data.profiles`` (weekday, month, holidays) and convolve them with the
   length-of-stay kernels: the expected occupied beds by day of year of an
   M(t)/G/∞ system (:func:`sim.analytic.mtginf_occupancy`, each year in its own
   periodic steady state: the lag of the year-on-year trend, under 0.2% of
   occupancy, is ignored);
4. build the capacity timeline (:func:`sim.capacity.timeline`) and size beds, ED
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
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from sim import analytic, names
from sim.capacity import BaseCapacity, base_pool_beds, timeline
from sim.data import DemographicTables, load_demographic_tables
from sim.data.profiles import (
    HolidayCalendar,
    TimeProfile,
    daily_expected,
    load_holidays,
    load_profiles,
)
from sim.data.service_tables import ACUITIES, POOLS, ROUTES, ServiceTables, load_service_tables
from sim.demand import (
    ROUTE,
    SERVICES,
    STEPS,
    Calibration,
    DemandModel,
    Measures,
    YearDemand,
    attribution,
    base_inputs,
    calibrate,
    days_in_year,
    year_inputs,
)
from sim.demography import project
from sim.errors import ScenarioError
from sim.los import LosDistribution
from sim.scenario import Scenario, draw, path_at
from sim.scenario.capacity import Targets

__all__ = [
    "DESIGN_DAY_QUANTILE",
    "KERNEL_TOL",
    "base_capacity",
    "expected_level",
    "run_expected",
    "summary_table",
]

FloatArray = NDArray[np.float64]

DESIGN_DAY_QUANTILE = 0.9
"""Capacity is sized for the day at this quantile of the year's expected daily load
(CAP-DESIGN-DAY, assumption: a busy but not exceptional day)."""
KERNEL_TOL = 1e-9
"""LOS kernels are cut where they lose this fraction of the mean stay (bed-days)."""
ED_WALK_IN, ED_AMBULANCE, CLINIC, DISPATCH = (
    "ed_walk_in",
    "ed_ambulance",
    "clinic",
    "ambulance_dispatch",
)
N_DAYS_MAX = 366


def _attrs(units: str, long_name: str) -> dict[str, str]:
    return {"units": units, "long_name": long_name}


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
    return np.divide(num, den, out=out, where=den != 0)


def _design(values: FloatArray) -> float:
    return float(np.quantile(values, DESIGN_DAY_QUANTILE))


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


def _servers_for_delay(load: float, mean_service: float, **targets: float) -> float:
    if load <= 0.0:
        return 0.0
    return float(analytic.servers_for_delay(load, 1.0 / mean_service, **targets))


def _beds_for_wait_and_blocking(
    load: float, mean_stay: float, targets: Targets
) -> tuple[float, float]:
    """(beds for the wait target (Erlang C), beds for the turn-away target (Erlang B))."""
    if load <= 0.0:
        return 0.0, 0.0
    wait, block = analytic.servers_for_delay_and_blocking(
        load,
        1.0 / mean_stay,
        targets.bed_blocking_probability,
        max_wait_prob=targets.bed_wait_probability,
    )
    return float(wait), float(block)


def _sqrt_staffing(load: float, beta: float) -> float:
    return 0.0 if load <= 0.0 else float(analytic.square_root_staffing(load, beta))


def _ed_peak_load(demand: YearDemand, year: int, shapes: _Shapes) -> tuple[float, float]:
    """(peak-hour ED arrivals per hour on the design day, mean treatment hours)."""
    amb = float(demand.ed_ambulance.sum())
    walk = float(demand.ed_visits.sum()) - amb
    daily_walk = walk * shapes(ED_WALK_IN, year)
    daily_amb = amb * shapes(ED_AMBULANCE, year)
    day = int(np.argsort(daily_walk + daily_amb)[int(DESIGN_DAY_QUANTILE * (len(daily_walk) - 1))])
    hourly = daily_walk[day] * np.array(shapes.profiles[ED_WALK_IN].hourly) + daily_amb[
        day
    ] * np.array(shapes.profiles[ED_AMBULANCE].hourly)
    visits = float(demand.ed_visits.sum())
    hours = float(demand.ed_visits @ demand.ed_treatment_hours) / visits if visits > 0 else 1.0
    return float(hourly.max()), hours


def _peak_hour_rate(annual: float, profile: str, year: int, shapes: _Shapes) -> float:
    daily = annual * shapes(profile, year)
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


def prepare_expected(
    sc: Scenario,
    projection: xr.Dataset,
    tables: ServiceTables,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
) -> ExpectedState:
    """Calibrate and evaluate demand of each year of a *resolved* scenario."""
    base_year = sc.demand.calibration.year
    proj_years = [int(y) for y in projection[names.YEAR].values]
    if base_year > proj_years[-1] or base_year - 1 < proj_years[0]:
        raise ScenarioError(
            None,
            "demand.calibration.year",
            base_year,
            f"must lie within the projection, {proj_years[0] + 1} to run.end_year "
            f"({proj_years[-1]})",
        )
    first = max(sc.run.start_year, proj_years[0] + 1)
    years = list(range(first, sc.run.end_year + 1))
    # numpy rows by year: label lookups through xarray cost more than the arithmetic
    row = {y: i for i, y in enumerate(proj_years)}
    pop_end = projection["population"].transpose(names.YEAR, ...).values  # [year, sex, age]
    births_by_year = projection["births"].transpose(names.YEAR, ...).values  # [year, sex]

    def mid(y: int) -> FloatArray:
        return np.asarray(0.5 * (pop_end[row[y - 1]] + pop_end[row[y]]))

    def births(y: int) -> float:
        return float(births_by_year[row[y]].sum())

    def end(y: int) -> float:
        return float(pop_end[row[y]].sum())

    pop_base, births_base = mid(base_year), births(base_year)
    cal = calibrate(
        pop_base,
        end(base_year),
        births_base,
        tables,
        sc.demand,
        float(sc.capacity.beds_per_1000),
    )
    model = DemandModel(tables, sc.demand, cal)
    inputs_base = base_inputs(sc.demand)
    shapes = _Shapes(profiles, calendar)

    demands: dict[int, YearDemand] = {}
    parts: dict[int, dict[str, Measures]] = {}
    totals: dict[int, Measures] = {}
    for y in years:
        inp = year_inputs(sc.demand, y)
        demands[y] = model.evaluate(mid(y), births(y), inp)
        parts[y], totals[y] = attribution(
            model, pop_base, births_base, mid(y), births(y), inputs_base, inp
        )
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
        {y: mid(y) for y in years},
        {y: births(y) for y in years},
        {y: end(y) for y in years},
    )


def expected_level(
    sc: Scenario,
    projection: xr.Dataset,
    tables: ServiceTables,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
    state: ExpectedState | None = None,
) -> xr.Dataset:
    """Expected-level results of one *resolved* scenario replicate.

    Args:
        sc: a resolved scenario (:func:`sim.scenario.draw`).
        projection: its population projection (:func:`sim.demography.project`).
        tables: service tables (:func:`sim.data.service_tables.load_service_tables`).
        profiles, calendar: arrival profiles and holidays (``sim.data.profiles``).
        state: the result of :func:`prepare_expected` when the caller has it already.

    Returns:
        Dataset with dims ``year``, ``service``, ``acuity``, ``pool``, ``route``,
        ``day`` (day of year 1..366) and ``step``; every variable has ``units`` and
        ``long_name``.
    """
    if state is None:
        state = prepare_expected(sc, projection, tables, profiles, calendar)
    years, cal, model, demands = state.years, state.cal, state.model, state.demands
    parts, totals, base, cap, shapes = (
        state.parts,
        state.totals,
        state.base,
        state.cap,
        state.shapes,
    )
    targets = sc.capacity.targets
    ny, npool = len(years), len(POOLS)
    occupied = np.full((ny, npool, N_DAYS_MAX), np.nan)
    sizing = {
        k: np.zeros((ny, npool))
        for k in ("mean", "design", "p95", "occ", "wait", "block", "sqrt", "alos")
    }
    group = [POOLS.index(p) for p in sc.capacity.bed_pool.pools]
    pooled = np.zeros((ny, 3))  # separate, pooled, with the reform's share
    ed = np.zeros((ny, 3))  # peak arrivals per hour, mean hours, spaces needed
    amb = np.zeros((ny, 2))  # peak dispatches per hour, ambulances needed
    beta = analytic.halfin_whitt_beta(targets.bed_wait_probability)
    job_hours = float(sc.capacity.ambulance_job_hours)
    for i, y in enumerate(years):
        d = demands[y]
        occ = _occupancy(model, d, y, shapes)
        n = occ.shape[1]
        occupied[i, :, :n] = occ
        episodes = _episodes(model, d)
        row = {k: v[i] for k, v in sizing.items()}  # views: filled in place
        _size_pools(row, occ, d, episodes, targets, beta)
        group_occ = occ[group].sum(axis=0)
        group_alos = (
            float(d.bed_days[group].sum() / episodes[group].sum())
            if episodes[group].sum() > 0
            else 1.0
        )
        separate = float(sizing["wait"][i, group].sum())
        together = _servers_for_delay(
            _design(group_occ), group_alos, max_wait_prob=targets.bed_wait_probability
        )
        share = float(path_at(sc.capacity.bed_pool.share, y))
        pooled[i] = (separate, together, separate - share * (separate - together))
        rate, hours = _ed_peak_load(d, y, shapes)
        ed[i] = (
            rate,
            hours,
            _servers_for_delay(
                rate * hours,
                hours,
                max_wait_prob=targets.ed_wait_probability,
                wait_threshold=targets.ed_wait_hours,
            ),
        )
        amb_rate = _peak_hour_rate(d.ambulance, DISPATCH, y, shapes)
        amb[i] = (
            amb_rate,
            _servers_for_delay(
                amb_rate * job_hours, job_hours, max_wait_prob=targets.ambulance_wait_probability
            ),
        )

    return _dataset(
        sc,
        years,
        cal,
        base,
        demands,
        parts,
        totals,
        cap,
        occupied,
        sizing,
        pooled,
        ed,
        amb,
        state.mid,
        state.births,
        state.pop_end,
    )


def _episodes(model: DemandModel, d: YearDemand) -> FloatArray:
    """Stays begun in each pool in a year: admissions, plus the elderly-care transfers
    and the ICU step-down stays on the ward that takes them."""
    adm_pool = d.admissions.sum(axis=(1, 2))
    episodes = adm_pool.copy()
    episodes[POOLS.index("elderly_care")] += d.transfers
    step_pool, step_share = model.icu_step_down()
    if step_share > 0.0:  # every ICU stay ends with a step-down stay on a ward
        episodes[POOLS.index(step_pool)] += adm_pool[POOLS.index("icu")]
    return episodes


def _size_pools(
    row: dict[str, FloatArray],
    occ: FloatArray,
    d: YearDemand,
    episodes: FloatArray,
    targets: Targets,
    beta: float,
) -> None:
    """Fill one year's sizing figures by pool (``row[k][pool]``, beds or days) from its
    expected occupied beds ``occ`` [pool, day]."""
    for p in range(len(POOLS)):
        mean_occ = float(occ[p].mean())
        design = _design(occ[p])
        alos = float(d.bed_days[p] / episodes[p]) if episodes[p] > 0 else 1.0
        row["mean"][p] = mean_occ
        row["design"][p] = design
        row["occ"][p] = float(analytic.beds_for_occupancy(mean_occ, float(targets.occupancy)))
        row["wait"][p], row["block"][p] = _beds_for_wait_and_blocking(design, alos, targets)
        row["sqrt"][p] = _sqrt_staffing(design, beta)
        row["alos"][p] = alos
    # one call for all pools: scipy's per-call overhead dwarfs the (elementwise) ppf
    row["p95"][:] = analytic.mtginf_occupancy_quantile(row["design"], 0.95)


def base_capacity(
    sc: Scenario,
    cal: Calibration,
    base_demand: YearDemand,
    pop_base: FloatArray,
    profiles: dict[str, TimeProfile],
    calendar: HolidayCalendar,
) -> BaseCapacity:
    """Capacity at the end of the calibration year, for :func:`sim.capacity.timeline` and
    :func:`sim.capacity.bed_changes` (the DES gets it from the batch layer as an argument).

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
    rate, hours = _ed_peak_load(d, year, shapes)
    ed_spaces = _servers_for_delay(
        rate * hours,
        hours,
        max_wait_prob=targets.ed_wait_probability,
        wait_threshold=targets.ed_wait_hours,
    )
    ambulances = math.ceil(float(pop_base.sum()) / targets.residents_per_ambulance)
    gps = float(path_at(sc.capacity.gp.count, year))
    visits_per_gp = float(d.visits[SERVICES.index("chc")]) / gps if gps > 0 else math.nan
    return BaseCapacity(
        year, base_pool_beds(cal.beds_total, cal.pool_beds), ed_spaces, ambulances, visits_per_gp
    )


def _dataset(
    sc: Scenario,
    years: list[int],
    cal: Calibration,
    base: BaseCapacity,
    demands: dict[int, YearDemand],
    parts: dict[int, dict[str, Measures]],
    totals: dict[int, Measures],
    cap: xr.Dataset,
    occupied: FloatArray,
    sizing: dict[str, FloatArray],
    pooled: FloatArray,
    ed: FloatArray,
    amb: FloatArray,
    pop_mid: dict[int, FloatArray],
    births: dict[int, float],
    pop_end: dict[int, float],
) -> xr.Dataset:
    Y, S, A, P, D, ST = names.YEAR, names.SERVICE, names.ACUITY, names.POOL, names.DAY, names.STEP
    R = ROUTE
    per_year = [demands[y] for y in years]
    pop = np.array([pop_mid[y].sum() for y in years])
    old = np.array([pop_mid[y][:, 65:].sum() for y in years])
    visits = np.array([d.visits for d in per_year])
    chc = SERVICES.index("chc")
    adm = np.array([d.admissions.sum(axis=3 - 1) for d in per_year])  # [year, pool, route]
    bed_days = np.array([d.bed_days for d in per_year])
    gps = cap["gps"].values
    # no GPs provide no visits, even where visits per GP are undefined (no GPs in the
    # calibration year and capacity.gp.visits_per_gp unset: NaN)
    gp_capacity = np.where(
        gps == 0, 0.0, gps * cap["gp_visits_per_gp"].values * cap["gp_productivity"].values
    )
    phys = cap["physicians_per_1000"].values * pop / 1000.0
    nurses = cap["nurses_per_1000"].values * pop / 1000.0
    targets = sc.capacity.targets
    beds_total_end = cap["beds_end"].sum(P).values

    def step_array(get: Any) -> FloatArray:
        return np.array([[get(parts[y][s]) for s in STEPS] for y in years])

    data: dict[str, tuple[tuple[str, ...], Any, dict[str, str]]] = {
        # population
        "population": ((Y,), pop, _attrs(names.UNIT_PERSONS, "mid-year resident population")),
        "population_end": (
            (Y,),
            np.array([pop_end[y] for y in years]),
            _attrs(names.UNIT_PERSONS, "resident population on 31 December"),
        ),
        "population_65plus": (
            (Y,),
            old,
            _attrs(names.UNIT_PERSONS, "mid-year residents aged 65 and over"),
        ),
        "births": (
            (Y,),
            np.array([births[y] for y in years]),
            _attrs(names.UNIT_PERSONS_PER_YEAR, "live births during the year"),
        ),
        # visits
        "visits": (
            (Y, S),
            visits,
            _attrs(names.UNIT_VISITS_PER_YEAR, "visits served in the district"),
        ),
        "visits_resident": (
            (Y, S),
            np.array([d.visits_resident for d in per_year]),
            _attrs(names.UNIT_VISITS_PER_YEAR, "residents' visits wherever served"),
        ),
        "chc_share": (
            (Y,),
            visits[:, chc] / visits.sum(axis=1),
            _attrs(names.UNIT_FRACTION, "community centres' share of all visits served"),
        ),
        "ed_visits": (
            (Y, A),
            np.array([d.ed_visits for d in per_year]),
            _attrs(names.UNIT_VISITS_PER_YEAR, "ED visits served in the district, by triage level"),
        ),
        "ed_ambulance_arrivals": (
            (Y, A),
            np.array([d.ed_ambulance for d in per_year]),
            _attrs(names.UNIT_VISITS_PER_YEAR, "ED visits arriving by ambulance, by triage level"),
        ),
        "ed_diverted": (
            (Y,),
            np.array([d.ed_diverted for d in per_year]),
            _attrs(
                names.UNIT_VISITS_PER_YEAR,
                "residents' level-4 ED visits diverted to community centres",
            ),
        ),
        "chc_shifted": (
            (Y,),
            np.array([d.chc_shifted for d in per_year]),
            _attrs(
                names.UNIT_VISITS_PER_YEAR,
                "residents' outpatient visits moved to community centres",
            ),
        ),
        "ambulance_dispatches": (
            (Y,),
            np.array([d.ambulance for d in per_year]),
            _attrs("dispatches year-1", "120 ambulance dispatches"),
        ),
        # admissions and beds
        "admissions": (
            (Y, P, R),
            adm,
            _attrs(names.UNIT_ADMISSIONS_PER_YEAR, "admissions to district hospitals"),
        ),
        "admissions_resident": (
            (Y, P),
            np.array([d.admissions_resident.sum(axis=(1, 2)) for d in per_year]),
            _attrs(names.UNIT_ADMISSIONS_PER_YEAR, "residents' admissions wherever treated"),
        ),
        "admissions_via_ed": (
            (Y,),
            np.array([d.via_ed for d in per_year]),
            _attrs(names.UNIT_ADMISSIONS_PER_YEAR, "emergency admissions through the ED"),
        ),
        "ed_admitted_fraction": (
            (Y,),
            _ratio(
                np.array([d.via_ed for d in per_year]),
                np.array([d.ed_visits.sum() for d in per_year]),
            ),
            _attrs(names.UNIT_FRACTION, "share of ED visits admitted"),
        ),
        "day_cases": (
            (Y,),
            np.array([d.day_cases for d in per_year]),
            _attrs("cases year-1", "elective surgical day cases added by the day-surgery reform"),
        ),
        "elderly_care_transfers": (
            (Y,),
            np.array([d.transfers for d in per_year]),
            _attrs("patients year-1", "medical patients moved to elderly-care beds"),
        ),
        "bed_days": (
            (Y, P),
            bed_days,
            _attrs(names.UNIT_BED_DAYS_PER_YEAR, "bed-days in district hospitals"),
        ),
        "bed_days_per_1000": (
            (Y,),
            bed_days.sum(axis=1) / pop * 1000.0,
            _attrs("bed-days year-1 per 1000 residents", "bed-days per 1,000 mid-year residents"),
        ),
        "alos": (
            (Y, P),
            sizing["alos"],
            _attrs(
                names.UNIT_DAYS,
                "mean length of stay in the pool (bed-days per admission or transfer in)",
            ),
        ),
        "occupied_beds": (
            (Y, P, D),
            occupied,
            _attrs(
                names.UNIT_BEDS, "expected occupied beds (M(t)/G/inf, time-averaged over the day)"
            ),
        ),
        "occupied_beds_mean": (
            (Y, P),
            sizing["mean"],
            _attrs(names.UNIT_BEDS, "expected occupied beds, mean over the year"),
        ),
        "occupied_beds_design": (
            (Y, P),
            sizing["design"],
            _attrs(
                names.UNIT_BEDS,
                "expected occupied beds on the design day "
                f"({DESIGN_DAY_QUANTILE:.0%} quantile of days)",
            ),
        ),
        "occupied_beds_p95": (
            (Y, P),
            sizing["p95"],
            _attrs(names.UNIT_BEDS, "95% Poisson quantile of occupied beds on the design day"),
        ),
        "beds": (
            (Y, P),
            cap["beds_mean"].values,
            _attrs(names.UNIT_BEDS, "hospital beds in service, mean over the year"),
        ),
        "beds_end": (
            (Y, P),
            cap["beds_end"].values,
            _attrs(names.UNIT_BEDS, "hospital beds in service on 31 December"),
        ),
        "beds_per_1000": (
            (Y,),
            beds_total_end / np.array([pop_end[y] for y in years]) * 1000.0,
            _attrs(names.UNIT_PER_1000, "hospital beds on 31 December per 1,000 residents"),
        ),
        "bed_occupancy": (
            (Y, P),
            _ratio(sizing["mean"], cap["beds_mean"].values),
            _attrs(names.UNIT_FRACTION, "expected occupied / available beds"),
        ),
        "beds_needed_occupancy": (
            (Y, P),
            sizing["occ"],
            _attrs(
                names.UNIT_BEDS,
                f"beds for the target occupancy {float(targets.occupancy):.0%} "
                "(mean occupied / target)",
            ),
        ),
        "beds_needed_wait": (
            (Y, P),
            sizing["wait"],
            _attrs(
                names.UNIT_BEDS,
                f"beds for P(wait for a bed) <= {targets.bed_wait_probability:g} "
                "on the design day (Erlang C)",
            ),
        ),
        "beds_needed_blocking": (
            (Y, P),
            sizing["block"],
            _attrs(
                names.UNIT_BEDS,
                f"beds for P(turn-away) <= {targets.bed_blocking_probability:g} "
                "on the design day (Erlang B)",
            ),
        ),
        "beds_needed_sqrt": (
            (Y, P),
            sizing["sqrt"],
            _attrs(
                names.UNIT_BEDS,
                "beds by square-root staffing at the Erlang C wait target (Halfin-Whitt)",
            ),
        ),
        "bed_gap": (
            (Y, P),
            sizing["occ"] - cap["beds_mean"].values,
            _attrs(
                names.UNIT_BEDS,
                "beds needed at the target occupancy minus beds available (positive: shortfall)",
            ),
        ),
        "bed_pool_needed_separate": (
            (Y,),
            pooled[:, 0],
            _attrs(
                names.UNIT_BEDS,
                "beds for the wait target, pools of the one-bed-pool group kept apart",
            ),
        ),
        "bed_pool_needed_pooled": (
            (Y,),
            pooled[:, 1],
            _attrs(names.UNIT_BEDS, "beds for the wait target, the group as one pool"),
        ),
        "bed_pool_needed": (
            (Y,),
            pooled[:, 2],
            _attrs(
                names.UNIT_BEDS,
                "beds for the wait target with the scenario's share of beds pooled "
                "(linear approximation)",
            ),
        ),
        # community centres and GPs
        "gps": ((Y,), gps, _attrs("GPs", "general practitioners in post")),
        "gp_capacity": (
            (Y,),
            gp_capacity,
            _attrs(names.UNIT_VISITS_PER_YEAR, "community-centre visits the GPs can provide"),
        ),
        "gp_utilisation": (
            (Y,),
            _ratio(visits[:, chc], gp_capacity),
            _attrs(names.UNIT_FRACTION, "community-centre visits / GP capacity"),
        ),
        "gps_needed": (
            (Y,),
            visits[:, chc] / (cap["gp_visits_per_gp"].values * cap["gp_productivity"].values),
            _attrs("GPs", "GPs needed for the community-centre visits"),
        ),
        "chc_centres": (
            (Y,),
            cap["chc_centres"].values,
            _attrs("centres", "community health centres"),
        ),
        "residents_per_centre": (
            (Y,),
            pop / cap["chc_centres"].values,
            _attrs("persons", "mid-year residents per community centre"),
        ),
        "chc_centres_norm": (
            (Y,),
            pop / targets.residents_per_centre,
            _attrs("centres", f"centres at one per {targets.residents_per_centre:,.0f} residents"),
        ),
        # ED and ambulances
        "ed_peak_arrivals": (
            (Y,),
            ed[:, 0],
            _attrs("visits hour-1", "ED arrivals in the busiest hour of the design day"),
        ),
        "ed_treatment_hours": (
            (Y,),
            ed[:, 1],
            _attrs(names.UNIT_HOURS, "mean time in an ED treatment space"),
        ),
        "ed_spaces_needed": (
            (Y,),
            ed[:, 2],
            _attrs(
                "spaces",
                f"ED spaces for P(wait > {targets.ed_wait_hours:g} h) "
                f"<= {targets.ed_wait_probability:g} (Erlang C)",
            ),
        ),
        "ed_spaces": ((Y,), cap["ed_spaces"].values, _attrs("spaces", "ED treatment spaces")),
        "ambulance_peak_dispatches": (
            (Y,),
            amb[:, 0],
            _attrs("dispatches hour-1", "120 dispatches in the busiest hour of the design day"),
        ),
        "ambulances_needed_wait": (
            (Y,),
            amb[:, 1],
            _attrs(
                "ambulances",
                f"ambulances for P(no ambulance free) "
                f"<= {targets.ambulance_wait_probability:g} (Erlang C)",
            ),
        ),
        "ambulances_needed_norm": (
            (Y,),
            pop / targets.residents_per_ambulance,
            _attrs(
                "ambulances",
                f"ambulances at one per {targets.residents_per_ambulance:,.0f} residents",
            ),
        ),
        "ambulances": (
            (Y,),
            cap["ambulances"].values,
            _attrs("ambulances", "ambulances in service"),
        ),
        # workforce
        "physicians": ((Y,), phys, _attrs("persons", "licensed (assistant) physicians")),
        "physicians_target": (
            (Y,),
            targets.physicians_per_1000 * pop / 1000.0,
            _attrs(
                "persons", f"physicians at the plan's {targets.physicians_per_1000:g} per 1,000"
            ),
        ),
        "nurses": ((Y,), nurses, _attrs("persons", "registered nurses")),
        "nurses_target": (
            (Y,),
            targets.nurses_per_1000 * pop / 1000.0,
            _attrs("persons", f"nurses at the plan's {targets.nurses_per_1000:g} per 1,000"),
        ),
        "physicians_per_1000": (
            (Y,),
            cap["physicians_per_1000"].values,
            _attrs(names.UNIT_PER_1000, "licensed (assistant) physicians per 1,000 residents"),
        ),
        "nurses_per_1000": (
            (Y,),
            cap["nurses_per_1000"].values,
            _attrs(names.UNIT_PER_1000, "registered nurses per 1,000 residents"),
        ),
        "nurse_physician_ratio": (
            (Y,),
            _ratio(nurses, phys),
            _attrs(names.UNIT_FRACTION, "registered nurses per physician (plan: 1.1)"),
        ),
        # attribution
        "change_visits": (
            (Y, ST, S),
            step_array(lambda m: m.visits),
            _attrs(
                names.UNIT_VISITS_PER_YEAR, "change in visits served since the base year, by step"
            ),
        ),
        "change_ambulance": (
            (Y, ST),
            step_array(lambda m: m.ambulance),
            _attrs("dispatches year-1", "change in 120 dispatches since the base year, by step"),
        ),
        "change_admissions": (
            (Y, ST, P),
            step_array(lambda m: m.admissions),
            _attrs(
                names.UNIT_ADMISSIONS_PER_YEAR, "change in admissions since the base year, by step"
            ),
        ),
        "change_bed_days": (
            (Y, ST, P),
            step_array(lambda m: m.bed_days),
            _attrs(names.UNIT_BED_DAYS_PER_YEAR, "change in bed-days since the base year, by step"),
        ),
        "change_visits_total": (
            (Y, S),
            np.array([totals[y].visits for y in years]),
            _attrs(names.UNIT_VISITS_PER_YEAR, "change in visits served since the base year"),
        ),
        "change_bed_days_total": (
            (Y, P),
            np.array([totals[y].bed_days for y in years]),
            _attrs(names.UNIT_BED_DAYS_PER_YEAR, "change in bed-days since the base year"),
        ),
    }
    ds = xr.Dataset(
        {
            k: xr.Variable(dims, np.asarray(v, dtype=float), attrs)
            for k, (dims, v, attrs) in data.items()
        },
        coords={
            Y: years,
            S: list(SERVICES),
            A: list(ACUITIES),
            P: list(POOLS),
            R: list(ROUTES),
            D: np.arange(1, N_DAYS_MAX + 1),
            ST: list(STEPS),
        },
    )
    # the other coordinates are described when saved (sim.names.COORDINATE_ATTRS);
    # this day is a day of the year here, a date in the DES
    ds[D].attrs["long_name"] = "day of the year (366 only in leap years)"
    ds.attrs.update(
        {
            "title": "Expected (analytic) level: demand, occupancy and capacity needs",
            "base_year": cal.year,
            **{f"calibration_{k}": float(v) for k, v in cal.figures.items()},
            "calibration_occupancy": cal.occupancy,
            "calibration_alos_days": cal.alos_days,
            "base_visits_per_gp": base.visits_per_gp,
            "design_day_quantile": DESIGN_DAY_QUANTILE,
        }
    )
    return ds


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
