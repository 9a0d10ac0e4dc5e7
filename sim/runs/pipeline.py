"""One replicate of one scenario, end to end: projection → expected level → DES.

The discrete-event configuration is built from the very objects the expected
level computed (demand by year, admission components with their length-of-stay
distributions, the capacity timeline), so with unlimited capacity the DES is an
M(t)/G/∞ system with the expected level's means. Approximations made in the
translation, each bounded in bed-days (which are kept exactly):

* admissions through the ED take one length-of-stay distribution per pool, a
  lognormal with the mean and variance of the pool's emergency mixture over the
  horizon; the other emergency admissions keep their own distributions;
* ED admission probabilities by triage level are fixed over the horizon, scaled
  so the horizon's admissions through the ED equal the expected level's;
* a stay split over pools (the integrated elderly-care transfer, the ICU
  step-down: ``AdmissionComponent.weights``) is one patient with onward stages
  (``AdmissionStream.onward``): share 1 − w of the drawn stay in the first pool,
  then share w in the next; every stay of the component is split, where the
  expected level moves only the transferred patients' excess (same bed-days);
* ED admissions to a pool share one set of onward shares, the bed-day-weighted
  share of its via-ED components' stays spent in each later pool (``_ed_onward``);
* the one-bed-pool reform takes each simulated day's year's share of the
  scenario's path (``capacity.bed_pool.share``), as the expected level does.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from sim.base import catalogue, names
from sim.base.los import LosDistribution
from sim.data import DemographicTables, load_demographic_tables
from sim.data.profiles import (
    AMBULANCE_DISPATCH,
    CLINIC,
    ED_AMBULANCE,
    ED_WALK_IN,
    HolidayCalendar,
    TimeProfile,
    load_holidays,
    load_profiles,
    working_days,
)
from sim.data.service_tables import (
    ACUITIES,
    POOLS,
    ServiceLine,
    ServiceTables,
    load_service_tables,
)
from sim.des.config import (
    AdmissionStream,
    AmbulanceService,
    ArrivalRate,
    BedPool,
    CapacitySchedule,
    ClinicGroup,
    DesConfig,
    DischargeRule,
    Disposition,
    Duration,
    EDArrivalStream,
    ElectiveBooking,
    EmergencyDepartment,
    Route,
    WholeHospitalPooling,
)
from sim.des.engine import run_replicate
from sim.model.capacity import bed_changes, beds_on
from sim.model.demand import SERVICES, AdmissionComponent
from sim.model.demography import project
from sim.model.expected import ExpectedState, expected_level, prepare_expected
from sim.runs.memory import keep_freed_memory
from sim.scenario import Scenario, check_drawn, number, path_at

MATERNITY_POOLS = ("obstetrics", "neonatal")
UNLIMITED = math.inf

DES_DAILY_KEEP = ("bed_capacity", "midnight_census", "occupancy_daily_peak", "ed_boarders_midnight")
"""Daily DES series kept in batch results (the rest are summarised by year)."""

DES_PREFIX = catalogue.DES_PREFIX
"""Prefix of the DES's variables in a replicate's Dataset (beside the expected level's)."""


@dataclass(frozen=True)
class BaseInputs:
    """Tables a replicate reads; loaded once per process."""

    demographic: DemographicTables
    service: ServiceTables
    profiles: dict[str, TimeProfile]
    calendar: HolidayCalendar


@lru_cache(maxsize=8)
def _cached_inputs(refs: tuple[tuple[str, str], ...]) -> BaseInputs:
    return BaseInputs(
        load_demographic_tables(dict(refs)), load_service_tables(), load_profiles(), load_holidays()
    )


def base_inputs(sc: Scenario) -> BaseInputs:
    return _cached_inputs(tuple(sorted(sc.data.model_dump().items())))


# ------------------------------------------------------------------ DES configuration
def _horizon(state: ExpectedState) -> tuple[dt.date, int, list[tuple[int, int, int]]]:
    """(first day, number of days, [(year, first index, days)])."""
    start = dt.date(state.years[0], 1, 1)
    spans, k = [], 0
    for y in state.years:
        n = (dt.date(y + 1, 1, 1) - dt.date(y, 1, 1)).days
        spans.append((y, k, n))
        k += n
    return start, k, spans


def _whole(values: np.ndarray) -> tuple[float, ...]:
    """Whole numbers per day that keep the running total (largest-remainder style)."""
    cum = np.floor(np.cumsum(values) + 1e-9)
    return tuple(np.diff(np.concatenate([[0.0], cum])).tolist())


def _schedule(levels: dict[int, float]) -> CapacitySchedule:
    """Capacity by calendar year as a schedule that changes on 1 January."""
    years = sorted(levels)
    changes = tuple(
        (dt.date(y, 1, 1), float(levels[y]))
        for prev, y in pairwise(years)
        if levels[y] != levels[prev]
    )
    return CapacitySchedule(float(levels[years[0]]), changes)


class _Mixture:
    """Running count, mean and second moment of stays, for a moment-matched lognormal."""

    def __init__(self) -> None:
        self.n = self.s1 = self.s2 = 0.0

    def add(self, n: float, los: LosDistribution) -> None:
        self.n += n
        self.s1 += n * los.mean
        self.s2 += n * (los.variance + los.mean**2)

    def distribution(self) -> LosDistribution:
        mean = self.s1 / self.n
        cv = math.sqrt(max(self.s2 / self.n / mean**2 - 1.0, 1e-6))
        return LosDistribution("lognormal", mean, cv)


_StreamKey = tuple[str, Route, LosDistribution, str, tuple[tuple[str, float], ...]]
"""(pool, kind, length of stay, arrival profile, onward stages) of an admission stream."""


def _onward_stages(c: AdmissionComponent) -> tuple[tuple[str, float], ...]:
    """The stages after the first of a component's stay: ``c.weights`` after its own pool
    (the first stage, which takes the rest of the stay), parts of zero left out."""
    (first, _), *rest = c.weights
    if first != c.pool:
        raise ValueError(f"component of {c.pool}: its first weight is for {first}")
    return tuple((pool, float(w)) for pool, w in rest if w > 0)


def _ed_onward(
    mix: dict[str, _Mixture], later: dict[str, dict[str, float]], admitted: dict[str, float]
) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """Onward stages of ED admissions by the pool admitted to.

    The ED admits to a pool with one length-of-stay mixture (``_Mixture``) over all of
    the pool's via-ED components and years, so the onward share of pool q is the
    bed-day-weighted share of those components' stays spent in q:
    Σ n·L·w_q / Σ n·L (n admissions, L mean stay, w_q the component's share in q; 0 for
    a component that does not move). The ED's bed-days in each pool over the horizon
    are then exactly the expected level's; within a year, only while w_q is the same
    every year (a transfer share that rises over the horizon is averaged over it)."""
    out = []
    for pool in POOLS:
        if admitted.get(pool, 0.0) <= 0 or not later.get(pool):
            continue
        stages = tuple((q, bd / mix[pool].s1) for q, bd in later[pool].items() if bd > 0)
        if stages:
            out.append((pool, stages))
    return tuple(out)


def _admit_probabilities(
    visits: np.ndarray, weights: np.ndarray, transfer: np.ndarray, admissions: float
) -> np.ndarray:
    """Admission probability by triage level: ``weights × scale``, capped at 1 − transfer,
    with the scale chosen so that visits · probabilities = ``admissions`` (the capped
    levels' shortfall is spread over the others; all capped if even that falls short)."""
    cap = 1.0 - transfer
    capped = np.zeros(weights.size, dtype=bool)
    for _ in range(weights.size + 1):
        rest = admissions - float(visits[capped] @ cap[capped])
        free = float(visits[~capped] @ weights[~capped])
        scale = rest / free if free > 0 and rest > 0 else 0.0
        p = np.where(capped, cap, np.minimum(weights * scale, cap))
        newly = ~capped & (weights * scale >= cap)
        if not newly.any():
            return p
        capped |= newly
    return cap.copy()


@dataclass(frozen=True)
class _Days:
    """The simulated horizon: first day, number of days, the years as (year, index of
    the year's first day, days), and the tables that spread a year's volume over days."""

    start: dt.date
    n_days: int
    spans: list[tuple[int, int, int]]
    shapes: Callable[[str, int], np.ndarray]
    profiles: dict[str, TimeProfile]

    def series(self, volume: dict[int, float], profile: str) -> np.ndarray:
        """Arrivals a day (count/day): each year's ``volume`` (count/year) spread over the
        year's days by the profile's unit daily shape."""
        out = np.zeros(self.n_days)
        for y, k, n in self.spans:
            out[k : k + n] = volume[y] * self.shapes(profile, y)[:n]
        return out

    def rate(self, daily: np.ndarray, profile: str) -> ArrivalRate:
        """Arrival rate: ``daily`` (count/day) over the hours of the profile's day."""
        return ArrivalRate(tuple(daily.tolist()), self.profiles[profile].hourly)


def _yearly_output(expected: xr.Dataset, var: str) -> dict[int, float]:
    """An expected-level variable by year (in the variable's units)."""
    return {
        int(y): float(v)
        for y, v in zip(expected[names.YEAR].values, expected[var].values, strict=True)
    }


def _whole_capacity(levels: dict[int, float], *, unlimited: bool) -> CapacitySchedule:
    """Capacity by year rounded up to whole units (ED spaces, vehicles), or unlimited."""
    if unlimited:
        return CapacitySchedule(UNLIMITED)
    return _schedule({y: math.ceil(v) for y, v in levels.items()})


def _lognormal(mean: float, cv: float, unit: Literal["hours", "minutes"]) -> Duration:
    """A lognormal duration of ``mean`` (in ``unit``) and coefficient of variation ``cv``."""
    return Duration(LosDistribution("lognormal", mean, cv), unit)


class _Admissions:
    """Admissions a day (count/day) over the horizon: by stream (``_StreamKey``) for
    those admitted directly, by pool for those through the ED, with the ED admissions'
    length-of-stay mixture and bed-days of later stages by pool (``_ed_onward``)."""

    def __init__(self, n_days: int) -> None:
        self.streams: dict[_StreamKey, np.ndarray] = defaultdict(lambda: np.zeros(n_days))
        self.via_ed: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days))
        self.ed_mix: dict[str, _Mixture] = defaultdict(_Mixture)
        self.ed_onward: dict[str, dict[str, float]] = defaultdict(dict)

    def add(
        self, c: AdmissionComponent, line: ServiceLine, days: _Days, span: tuple[int, int, int]
    ) -> None:
        """Add one year's component; ``span`` is the year's (year, first index, days)."""
        y, k, n = span
        profile = line.elective_profile if c.route == "elective" else line.emergency_profile
        shape = days.shapes(profile, y)[:n]
        f_ed = 0.0 if c.route == "elective" else line.via_ed_share
        kind: Route = (
            "elective"
            if c.route == "elective"
            else ("maternity" if c.pool in MATERNITY_POOLS else "direct")
        )
        onward = _onward_stages(c)
        if f_ed > 0:
            self.ed_mix[c.pool].add(c.admissions * f_ed, c.los)
            self.via_ed[c.pool][k : k + n] += c.admissions * f_ed * shape
            for pool, w in onward:
                later = self.ed_onward[c.pool]
                later[pool] = later.get(pool, 0.0) + c.admissions * f_ed * c.los.mean * w
        if f_ed < 1:
            self.streams[(c.pool, kind, c.los, profile, onward)][k : k + n] += (
                c.admissions * (1.0 - f_ed) * shape
            )


def _admissions(state: ExpectedState, lines: dict[str, ServiceLine], days: _Days) -> _Admissions:
    """The expected level's admission components of every year, as daily admissions.

    One stream per (pool, kind, length of stay, profile, onward stages): a stay split
    over pools (elderly-care transfer, ICU step-down) is one patient who moves on
    (``AdmissionStream.onward``), never a second, independent stream."""
    out = _Admissions(days.n_days)
    for span in days.spans:
        d = state.demands[span[0]]
        for c in state.model.components(d, d.elderly_care_transfer):
            out.add(c, lines[c.pool], days, span)
    return out


def _admission_streams(
    streams: dict[_StreamKey, np.ndarray], days: _Days
) -> tuple[AdmissionStream, ...]:
    """The direct admission streams with any admissions, in a fixed order (pool, kind,
    mean and CV of the stay, onward stages), named ``pool.kind.i``."""
    return tuple(
        AdmissionStream(
            f"{pool}.{kind}.{i}",
            pool,
            kind,
            days.rate(daily, profile),
            Duration(los),
            onward=onward,
        )
        for i, ((pool, kind, los, profile, onward), daily) in enumerate(
            sorted(
                streams.items(),
                key=lambda kv: (kv[0][0], kv[0][1], kv[0][2].mean, kv[0][2].cv, kv[0][4]),
            )
        )
        if daily.sum() > 0
    )


def _bed_pools(
    sc: Scenario, state: ExpectedState, days: _Days, *, unlimited: bool
) -> tuple[BedPool, ...]:
    """Beds by pool over the horizon, changing on the days the capacity path changes."""
    changes = bed_changes(sc.capacity, state.base)
    start = days.start
    end = start + dt.timedelta(days=days.n_days - 1)
    dates = sorted({start} | {c.date for c in changes if start < c.date <= end})
    levels = beds_on(state.base, changes, dates)
    return tuple(
        BedPool(
            pool,
            CapacitySchedule(UNLIMITED)
            if unlimited
            else CapacitySchedule(
                float(levels[i, 0]),
                tuple(
                    (dates[j], float(levels[i, j]))
                    for j in range(1, len(dates))
                    if levels[i, j] != levels[i, j - 1]
                ),
            ),
        )
        for i, pool in enumerate(POOLS)
    )


def _ed_arrivals(state: ExpectedState, days: _Days) -> tuple[EDArrivalStream, ...]:
    """ED walk-in and ambulance arrivals by triage level."""
    out = []
    for i, a in enumerate(ACUITIES):
        amb = {y: float(state.demands[y].ed_ambulance[i]) for y in state.years}
        walk = {y: float(state.demands[y].ed_visits[i]) - amb[y] for y in state.years}
        out.append(
            EDArrivalStream(
                f"ed.{a}.walk_in",
                a,
                "walk_in",
                days.rate(days.series(walk, ED_WALK_IN), ED_WALK_IN),
            )
        )
        out.append(
            EDArrivalStream(
                f"ed.{a}.ambulance",
                a,
                "ambulance",
                days.rate(days.series(amb, ED_AMBULANCE), ED_AMBULANCE),
            )
        )
    return tuple(out)


def _ed_dispositions(
    sc: Scenario, state: ExpectedState, via_ed: dict[str, np.ndarray]
) -> tuple[tuple[Disposition, ...], dict[str, float]]:
    """ED dispositions by triage level, and the share of ED admissions by pool (fraction):
    admission probabilities such that the horizon's ED admissions are the expected
    level's (``_admit_probabilities``), spread over pools by those shares."""
    total_visits = np.array(
        [
            sum(float(state.demands[y].ed_visits[i]) for y in state.years)
            for i in range(len(ACUITIES))
        ]
    )
    total_admit = sum(float(v.sum()) for v in via_ed.values())
    transfer = np.array(sc.des.ed.transfer, dtype=float)
    p_admit = _admit_probabilities(
        total_visits, np.array(sc.des.ed.admit_weights, dtype=float), transfer, total_admit
    )
    pool_share = {
        p: float(via_ed[p].sum()) / total_admit for p in POOLS if p in via_ed and total_admit > 0
    }
    dispositions = tuple(
        Disposition(
            a,
            max(float(1.0 - p_admit[i] - transfer[i]), 0.0),
            float(transfer[i]),
            tuple((p, float(p_admit[i] * s)) for p, s in pool_share.items() if s > 0),
        )
        for i, a in enumerate(ACUITIES)
    )
    return dispositions, pool_share


def _emergency_department(
    sc: Scenario,
    state: ExpectedState,
    expected: xr.Dataset,
    days: _Days,
    adm: _Admissions,
    *,
    unlimited: bool,
) -> EmergencyDepartment:
    """The ED: its spaces (the expected level's, whole), arrivals, treatment times (hours,
    the first year's), dispositions and the stays of those it admits."""
    arrivals = _ed_arrivals(state, days)
    dispositions, pool_share = _ed_dispositions(sc, state, adm.via_ed)
    first = state.demands[state.years[0]]
    treat_cv = number(sc.des.ed.treatment_cv)
    return EmergencyDepartment(
        spaces=_whole_capacity(_yearly_output(expected, "ed_spaces"), unlimited=unlimited),
        arrivals=arrivals,
        treatment=tuple(
            (a, _lognormal(float(first.ed_treatment_hours[i]), treat_cv, "hours"))
            for i, a in enumerate(ACUITIES)
        ),
        dispositions=dispositions,
        admitted_los=tuple(
            (p, Duration(adm.ed_mix[p].distribution())) for p in POOLS if p in pool_share
        ),
        admitted_onward=_ed_onward(adm.ed_mix, adm.ed_onward, pool_share),
    )


def _clinics(
    sc: Scenario,
    state: ExpectedState,
    expected: xr.Dataset,
    days: _Days,
    work: np.ndarray,
    *,
    unlimited: bool,
) -> tuple[ClinicGroup, ...]:
    """Community clinic groups: requests a day (the expected level's visits) and whole
    appointments a day (its GP capacity, on working days and, at a weight, weekends),
    split evenly over ``des.clinics.groups`` groups."""
    cl = sc.des.clinics
    chc = SERVICES.index("chc")
    visits = {y: float(state.demands[y].visits[chc]) for y in state.years}
    gp_cap = _yearly_output(expected, "gp_capacity")
    weekday_weight = np.where(work, 1.0, number(cl.weekend_capacity))
    capacity = np.zeros(days.n_days)
    for y, k, n in days.spans:
        day_w = weekday_weight[k : k + n]
        capacity[k : k + n] = gp_cap[y] * day_w / day_w.sum()
    demand = days.series(visits, CLINIC) / cl.groups
    capacity = capacity / cl.groups
    if unlimited:
        capacity = np.ceil(demand * 10.0 + 1000.0)
    ed_diverted_acuity = (0.0, 0.0, 0.2, 0.8)
    return tuple(
        ClinicGroup(
            f"group_{g + 1:02d}",
            tuple(demand.tolist()),
            _whole(capacity),
            number(cl.p_abandon),
            number(cl.p_divert_ed),
            number(cl.p_divert_outpatient),
            ed_diverted_acuity,
            days.profiles[ED_WALK_IN].hourly,
        )
        for g in range(cl.groups)
    )


def _ambulance(
    sc: Scenario, state: ExpectedState, expected: xr.Dataset, days: _Days, *, unlimited: bool
) -> AmbulanceService:
    """Ambulance dispatches, the fleet (the expected level's, whole) and the durations of
    travel and of a whole job (minutes)."""
    amb = sc.des.ambulance
    dispatches = {y: float(state.demands[y].ambulance) for y in state.years}
    return AmbulanceService(
        dispatches=days.rate(days.series(dispatches, AMBULANCE_DISPATCH), AMBULANCE_DISPATCH),
        fleet=_whole_capacity(_yearly_output(expected, "ambulances"), unlimited=unlimited),
        travel=_lognormal(number(amb.travel_minutes), number(amb.travel_cv), "minutes"),
        job=_lognormal(
            number(sc.capacity.ambulance_job_hours) * 60.0, number(amb.job_cv), "minutes"
        ),
    )


def _pooling(sc: Scenario, days: _Days, *, unlimited: bool) -> WholeHospitalPooling | None:
    """The one-bed-pool reform: each day takes its year's share (fraction), as the
    expected level does; None where the share is never above 0 or capacity is unlimited."""
    reform = np.zeros(days.n_days)
    for y, k, n in days.spans:
        reform[k : k + n] = float(path_at(sc.capacity.bed_pool.share, y))
    if reform.max() > 0 and not unlimited:
        return WholeHospitalPooling(
            number(sc.des.pooling_los_multiplier),
            pools=tuple(sc.capacity.bed_pool.pools),
            share=tuple(reform.tolist()),
        )
    return None


def des_config(
    sc: Scenario,
    state: ExpectedState,
    expected: xr.Dataset,
    inputs: BaseInputs,
    *,
    unlimited: bool = False,
) -> DesConfig:
    """The discrete-event configuration of a resolved scenario replicate (module docstring)."""
    days = _Days(*_horizon(state), state.shapes, inputs.profiles)
    adm = _admissions(state, inputs.service.lines, days)
    admissions = _admission_streams(adm.streams, days)
    pools = _bed_pools(sc, state, days, unlimited=unlimited)
    ed = _emergency_department(sc, state, expected, days, adm, unlimited=unlimited)
    work = working_days(inputs.calendar, days.start, days.n_days)
    return DesConfig(
        start=days.start,
        n_days=days.n_days,
        pools=pools,
        admissions=admissions,
        ed=ed,
        clinics=_clinics(sc, state, expected, days, work, unlimited=unlimited),
        ambulance=_ambulance(sc, state, expected, days, unlimited=unlimited),
        pooling=_pooling(sc, days, unlimited=unlimited),
        discharge=DischargeRule(sc.des.discharge, inputs.profiles["discharge"].hourly),
        electives=ElectiveBooking(tuple(bool(x) for x in work), sc.des.elective_retry_hour),
        warmup_days=sc.des.warmup_days,
        warmup="first_year",
    )


# ------------------------------------------------------------------ the plan's targets
def plan_target_variables(sc: Scenario) -> xr.Dataset:
    """The targets and norms of a *resolved* (drawn) scenario that its results are judged
    against, as scalar variables (:data:`sim.base.names.TARGET_VARIABLES`), so that a batch's
    summary, figures and report read the very numbers the task ran with: a drawn
    occupancy target is the one the beds were sized at. Defaults are the scenario
    schema's (``sim/scenario/capacity.py``); ``target_beds`` is NaN when the scenario
    has no bed target (``capacity.plan_target.enabled = false``)."""
    plan, tg = sc.capacity.plan_target, sc.capacity.targets
    per_1000, frac = names.UNIT_PER_1000, names.UNIT_FRACTION
    values: dict[str, tuple[float | int, str, str]] = {
        names.TARGET_YEAR: (plan.year, names.UNIT_YEAR, "year of the plan's targets"),
        names.TARGET_BEDS: (
            float(plan.beds) if plan.enabled else math.nan,
            names.UNIT_BEDS,
            "plan's available beds at the end of the target year (NaN: no bed target)",
        ),
        names.TARGET_PHYSICIANS: (tg.physicians_per_1000, per_1000, "plan: physicians, at least"),
        names.TARGET_NURSES: (tg.nurses_per_1000, per_1000, "plan: registered nurses, at least"),
        names.TARGET_NURSE_RATIO: (tg.nurse_physician_ratio, "1", "plan: nurses per physician"),
        names.TARGET_LIFE_EXPECTANCY: (
            tg.life_expectancy,
            names.UNIT_YEARS,
            "plan: life expectancy at birth, both sexes, at least",
        ),
        names.TARGET_OCCUPANCY: (number(tg.occupancy), frac, "target bed occupancy (bed need)"),
        names.TARGET_BED_WAIT: (tg.bed_wait_probability, frac, "largest P(wait for a bed)"),
        names.TARGET_ED_WAIT_HOURS: (tg.ed_wait_hours, names.UNIT_HOURS, "ED wait target"),
        names.TARGET_ED_WAIT: (tg.ed_wait_probability, frac, "largest P(ED wait > target)"),
        names.TARGET_AMBULANCE_WAIT: (
            tg.ambulance_wait_probability,
            frac,
            "largest P(no ambulance free) at the peak hour",
        ),
    }
    attrs = {k: {"units": u, "long_name": ln} for k, (_, u, ln) in values.items()}
    return xr.Dataset({k: xr.DataArray(v[0], attrs=attrs[k]) for k, v in values.items()})


def resolved_scenario_variable(sc: Scenario) -> xr.Dataset:
    """The drawn scenario a task runs with, as the JSON text of its every key
    (``model_dump_json``, about 3 kB) in the scalar variable
    :data:`sim.base.names.RESOLVED_SCENARIO`; a batch gives it the task's scenario, point
    and replicate, and ``sim.runs.store.resolved_scenario`` turns it into the Scenario."""
    text = xr.DataArray(
        sc.model_dump_json(),
        attrs={
            "long_name": "the drawn scenario the task ran with, as JSON",
            # text has no unit; "1" because every variable of the results states one
            "units": "1",
        },
    )
    return xr.Dataset({names.RESOLVED_SCENARIO: text})


# ------------------------------------------------------------------ one replicate
ENGINES: tuple[str, ...] = ("compiled", "reference")
"""The DES engines ``run_replicate_all`` can use (``sim.des.engine.run_replicate``)."""
DEFAULT_ENGINE = "compiled"


def _des_part(ds: xr.Dataset) -> xr.Dataset:
    keep = []
    for name, var in ds.data_vars.items():
        if "day" in var.dims and name not in DES_DAILY_KEEP:
            continue
        keep.append(name)
    out = ds[keep].rename({"day": "date"})
    for name in out.data_vars:
        if "date" in out[name].dims:
            out[name] = out[name].astype("float32", keep_attrs=True)
    return out.rename({name: f"{DES_PREFIX}{name}" for name in out.data_vars})


def run_replicate_all(
    sc: Scenario,
    seed: int,
    replicate: int,
    *,
    des: bool = True,
    unlimited: bool = False,
    inputs: BaseInputs | None = None,
    engine: str = DEFAULT_ENGINE,
) -> xr.Dataset:
    """Projection, expected level and (optionally) DES of a *resolved* scenario replicate,
    merged into one Dataset with the scenario's targets (:func:`plan_target_variables`)
    and the scenario itself (:func:`resolved_scenario_variable`); projection variables
    that clash are renamed; DES variables carry the prefix ``des_`` and a ``date``
    dimension. A distribution left in ``sc`` is refused before any work
    (:func:`sim.scenario.check_drawn`). ``engine`` is the DES engine
    (:data:`ENGINES`): ``"compiled"`` (numba) or ``"reference"`` (SimPy); both give the
    same numbers (``sim/des/RULES.md``)."""
    check_drawn(sc)
    inputs = inputs or base_inputs(sc)
    projection = project(sc, inputs.demographic)
    state = prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)
    expected = expected_level(
        sc, projection, inputs.service, inputs.profiles, inputs.calendar, state
    )
    parts = [
        projection.rename(catalogue.PROJECTION_RENAMES),
        expected.rename({"day": "day_of_year"}),
        plan_target_variables(sc),
        resolved_scenario_variable(sc),
    ]
    if des:
        keep_freed_memory()  # the DES's large arrays: see sim.runs.memory
        config = des_config(sc, state, expected, inputs, unlimited=unlimited)
        parts.append(_des_part(run_replicate(config, seed, replicate, engine=engine)))
    merged = xr.merge(parts, compat="no_conflicts", join="outer", combine_attrs="drop_conflicts")
    merged.attrs = {}
    return merged


def prepare_engine(engine: str) -> float:
    """Make the DES ready before a batch's tasks start: its numba kernels (drawing,
    outputs and, for ``engine="compiled"``, the engine itself) are compiled the first
    time or loaded from numba's on-disk cache, so that the worker processes load the
    cache and no task's time includes a compilation. Returns the wall seconds it took
    (numba's import included).

    A first compilation takes about 85 s of one core (55 s the engine, 30 s the
    kernels; 2 December 2026), so the engine is then compiled in a second process
    beside the kernels (:func:`_compile_engine_beside`) and loaded from the cache it
    writes: about 58 s on two cores."""
    import time

    start = time.perf_counter()
    beside = _compile_engine_beside() if engine == "compiled" else None
    try:
        from sim.des.engine import compile_kernels  # numba: only when a batch needs it

        compile_kernels()
        if beside is not None:
            beside.wait()  # its failure is not ours: compiling here then says why
    finally:
        if beside is not None and beside.poll() is None:  # stopped (Ctrl-C) part-way
            beside.kill()
            beside.wait()
    if engine == "compiled":
        from sim.des.compiled import compile_engine

        compile_engine()
    return time.perf_counter() - start


ENGINE_CACHE_INDEX = "compiled._run-*.nbi"
"""numba's cache index of the engine's main loop, beside ``sim/des/compiled.py``; none
there means a first compilation (a fresh clone, or a cache kept elsewhere)."""


def _compile_engine_beside() -> subprocess.Popen[bytes] | None:
    """A process compiling the engine into numba's cache, when its cache is empty
    (else None: loading the cache takes a second, less than starting a process)."""
    cache = Path(__file__).parents[1] / "des" / "__pycache__"
    if any(cache.glob(ENGINE_CACHE_INDEX)):
        return None
    code = "from sim.des.compiled import compile_engine; compile_engine()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
    )
