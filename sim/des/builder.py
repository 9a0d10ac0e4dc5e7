"""Builders of DES configurations for tests and benchmarks: the one place outside the
pipeline that makes a :class:`~sim.des.config.DesConfig`.

Every number here is a test fixture, not a model input (the model's inputs come from a
scenario through ``sim.runs.pipeline``). Daily series use the shipped time profiles and
holiday calendar from 2025-01-01 (:data:`START`).

* :func:`small_district` — two acute pools, an ED, electives, clinics and ambulances;
  tight enough to fill up (engine behaviour and invariants).
* :func:`single_pool` — constant Poisson arrivals into one pool: M/G/c queue or loss
  system (queueing theory; drawing of random inputs).
* :func:`mixed_pool` — one pool fed by direct, elective and maternity streams on their
  profiles (the expected M(t)/G/∞ level).
* :func:`ambulance_only` — an ambulance fleet and no hospital beds (Erlang C).
* :func:`synthetic_district` — a full-scale district for benchmarks, 2025-2030.
* :func:`beds_only`, :func:`slice_days` — derived configurations: the bed pools alone,
  and a run cut to some of its days.

Helpers :func:`los`, :func:`profiled_rate` and :func:`flat_rate` make the parts.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final, Literal

import numpy as np

from sim.base.los import LosDistribution, LosFamily
from sim.data.profiles import (
    ADMISSION_DIRECT,
    ADMISSION_ELECTIVE,
    ADMISSION_MATERNITY,
    AMBULANCE_DISPATCH,
    ED_WALK_IN,
    HolidayCalendar,
    TimeProfile,
    daily_expected,
    load_holidays,
    load_profiles,
    working_days,
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
    WholeHospitalPooling,
)
from sim.des.policies import EDQueuePolicy, StrictTriage

__all__ = [
    "FLAT_HOURLY",
    "START",
    "SYNTHETIC_END",
    "ambulance_only",
    "beds_only",
    "flat_rate",
    "los",
    "mixed_pool",
    "profiled_rate",
    "single_pool",
    "slice_days",
    "small_district",
    "synthetic_district",
]

START: Final = dt.date(2025, 1, 1)
FLAT_HOURLY: Final[tuple[float, ...]] = tuple([1.0 / 24.0] * 24)
"""Equal hour-of-day shares."""

Onward = tuple[tuple[str, float], ...]
Unit = Literal["days", "hours", "minutes"]


# --- parts ----------------------------------------------------------------------------
@functools.cache
def _tables() -> tuple[dict[str, TimeProfile], HolidayCalendar]:
    return load_profiles(), load_holidays()


def los(
    mean: float, cv: float = 1.0, unit: Unit = "days", family: LosFamily = "lognormal"
) -> Duration:
    """A duration of ``mean`` (in ``unit``) and coefficient of variation ``cv``."""
    return Duration(LosDistribution(family, mean, cv), unit)


def profiled_rate(
    annual: float | Mapping[int, float], profile: str, n_days: int, start: dt.date = START
) -> ArrivalRate:
    """``annual`` arrivals per year spread over days and hours by a shipped profile."""
    profiles, calendar = _tables()
    daily = daily_expected(annual, profiles[profile], calendar, start, n_days)
    return ArrivalRate(tuple(daily), profiles[profile].hourly)


def flat_rate(per_day: float, n_days: int) -> ArrivalRate:
    """``per_day`` arrivals every day, equally likely at any hour."""
    return ArrivalRate(tuple([float(per_day)] * n_days), FLAT_HOURLY)


def _booking(n_days: int, start: dt.date = START) -> ElectiveBooking:
    """Booking sessions at 08:00 on working days."""
    days = working_days(_tables()[1], start, n_days)
    return ElectiveBooking(tuple(bool(x) for x in days), retry_hour=8.0)


# --- the small district ---------------------------------------------------------------
_SMALL_ED: Final = [  # (acuity, mode, visits per year)
    (1, "ambulance", 1500),
    (2, "ambulance", 4000),
    (2, "walk_in", 8000),
    (3, "walk_in", 30000),
    (4, "walk_in", 35000),
]
_SMALL_TREAT_HOURS: Final = {1: 4.0, 2: 3.5, 3: 2.5, 4: 1.5}


def _small_ed(
    spaces: float, n_days: int, onward: Mapping[str, Onward], policy: EDQueuePolicy
) -> EmergencyDepartment:
    arrivals = tuple(
        EDArrivalStream(f"a{a}_{m}", a, m, profiled_rate(v, f"ed_{m}", n_days))  # type: ignore[arg-type]
        for a, m, v in _SMALL_ED
    )
    return EmergencyDepartment(
        spaces=CapacitySchedule(spaces),
        arrivals=arrivals,
        treatment=tuple((a, los(h, 0.8, "hours")) for a, h in _SMALL_TREAT_HOURS.items()),
        dispositions=(
            Disposition(1, 0.25, 0.05, (("medicine", 0.5), ("surgery", 0.2))),
            Disposition(2, 0.5, 0.05, (("medicine", 0.3), ("surgery", 0.15))),
            Disposition(3, 0.85, 0.01, (("medicine", 0.1), ("surgery", 0.04))),
            Disposition(4, 0.98, 0.0, (("medicine", 0.02),)),
        ),
        admitted_los=(("medicine", los(7.0)), ("surgery", los(6.0))),
        admitted_onward=tuple((p, tuple(o)) for p, o in onward.items() if o),
        policy=policy,
    )


def _small_clinics(n_days: int) -> ClinicGroup:
    profiles, calendar = _tables()
    return ClinicGroup(
        "all",
        tuple(daily_expected(250_000, profiles["clinic"], calendar, START, n_days)),
        tuple([700.0] * n_days),
        p_abandon=0.2,
        p_divert_ed=0.05,
        p_divert_outpatient=0.1,
        ed_acuity=(0.0, 0.0, 0.3, 0.7),
        ed_hourly=profiles[ED_WALK_IN].hourly,
    )


def _small_admissions(n_days: int, onward: Mapping[str, Onward]) -> tuple[AdmissionStream, ...]:
    """Surgical electives (7,000 a year) and direct medical admissions (4,000)."""
    return (
        AdmissionStream(
            "surgery_elective",
            "surgery",
            "elective",
            profiled_rate(7000, ADMISSION_ELECTIVE, n_days),
            los(5.0),
            onward=tuple(onward.get("surgery", ())),
        ),
        AdmissionStream(
            "medicine_direct",
            "medicine",
            "direct",
            profiled_rate(4000, ADMISSION_DIRECT, n_days),
            los(8.0),
            onward=tuple(onward.get("medicine", ())),
        ),
    )


def small_district(
    medicine: float = 260,
    surgery: float = 170,
    ed_spaces: float = 30,
    pooling: WholeHospitalPooling | None = None,
    discharge: Literal["exact", "daytime"] = "daytime",
    n_days: int = 240,
    *,
    onward: Mapping[str, Onward] | None = None,
    ed_policy: EDQueuePolicy | None = None,
    warmup_days: int = 60,
) -> DesConfig:
    """A small district from 2025-01-01: pools ``medicine`` and ``surgery`` (beds; inf
    allowed; surgery gains 20 beds on day 120 and keeps 3 from electives), an ED of
    ``ed_spaces`` (~78,500 visits a year in 4 acuities), surgical electives (7,000 a
    year), direct medical admissions (4,000), one clinic group (250,000 requests,
    700 appointments a day) and 6 ambulances (12,000 dispatches).

    Args:
        pooling: the one-bed-pool reform, or None.
        discharge: ``"daytime"`` (on the shipped discharge profile) or ``"exact"``.
        n_days: simulated days (after ``warmup_days`` of warm-up).
        onward: onward stages by first-stage pool (``{"surgery": (("medicine", 0.3),)}``),
            for that pool's admission streams and for ED admissions to it.
        ed_policy: the ED queue discipline (default: strict triage).
    """
    onward = dict(onward or {})
    surgery_opens = ((START + dt.timedelta(days=120), surgery + 20),)
    return DesConfig(
        start=START,
        n_days=n_days,
        warmup_days=warmup_days,
        pools=(
            BedPool("medicine", CapacitySchedule(medicine)),
            BedPool("surgery", CapacitySchedule(surgery, surgery_opens), elective_reserve=3),
        ),
        admissions=_small_admissions(n_days, onward),
        ed=_small_ed(ed_spaces, n_days, onward, ed_policy or StrictTriage()),
        clinics=(_small_clinics(n_days),),
        ambulance=AmbulanceService(
            profiled_rate(12_000, AMBULANCE_DISPATCH, n_days),
            CapacitySchedule(6),
            los(10.0, 0.5, "minutes"),
            los(50.0, 0.5, "minutes"),
        ),
        pooling=pooling,
        discharge=DischargeRule(discharge, _tables()[0]["discharge"].hourly),
        electives=_booking(n_days),
    )


# --- single-pool systems --------------------------------------------------------------
def single_pool(
    beds: float,
    arrivals_per_day: float,
    mean_los: float,
    cv: float = 1.0,
    n_days: int = 365,
    when_full: Literal["queue", "lose"] = "queue",
    *,
    family: LosFamily = "lognormal",
    warmup_days: int = 30,
    warmup: Literal["cyclic", "first_year", "mean"] = "mean",
    streams: tuple[str, ...] = ("patients",),
    pool: str = "ward",
) -> DesConfig:
    """Constant Poisson arrivals (``arrivals_per_day``, any hour alike) into one pool of
    ``beds`` (inf allowed), stays of ``family`` with ``mean_los`` days and ``cv`` (ignored
    for ``"exponential"``): an M/G/c queue (FIFO) or, with ``when_full="lose"``, an
    M/G/c/c loss system. Each name in ``streams`` is one such direct stream."""
    rate = flat_rate(arrivals_per_day, n_days)
    stay = los(mean_los, cv, family=family)
    return DesConfig(
        start=START,
        n_days=n_days,
        warmup_days=warmup_days,
        warmup=warmup,
        pools=(BedPool(pool, CapacitySchedule(beds)),),
        admissions=tuple(
            AdmissionStream(name, pool, "direct", rate, stay, when_full) for name in streams
        ),
    )


_MIXED: Final = [  # (route, profile, admissions per year, LOS)
    ("direct", ADMISSION_DIRECT, 30_000.0, LosDistribution("lognormal", 8.0, 1.0)),
    ("elective", ADMISSION_ELECTIVE, 20_000.0, LosDistribution("gamma", 4.0, 0.8)),
    ("maternity", ADMISSION_MATERNITY, 12_000.0, LosDistribution("lognormal", 3.5, 0.5)),
]


def mixed_pool(
    beds: float = math.inf, n_days: int = 365, warmup_days: int | None = None
) -> DesConfig:
    """One pool ``"beds"`` fed by a direct (30,000 a year, lognormal 8 d), an elective
    (20,000, gamma 4 d) and a maternity stream (12,000, lognormal 3.5 d) on their
    shipped profiles; stream names are the routes. Cyclic warm-up of ``warmup_days``
    (default ``n_days``)."""
    streams = tuple(
        AdmissionStream(
            route,
            "beds",
            route,  # type: ignore[arg-type]
            profiled_rate(volume, profile, n_days),
            Duration(dist),
        )
        for route, profile, volume, dist in _MIXED
    )
    return DesConfig(
        start=START,
        n_days=n_days,
        warmup_days=n_days if warmup_days is None else warmup_days,
        warmup="cyclic",
        pools=(BedPool("beds", CapacitySchedule(beds)),),
        admissions=streams,
        electives=_booking(n_days),
    )


def ambulance_only(
    fleet: float,
    per_hour: float,
    job_minutes: float,
    n_days: int = 200,
    *,
    travel_minutes: float = 1e-6,
    warmup_days: int = 10,
) -> DesConfig:
    """``per_hour`` dispatches (any hour alike) against ``fleet`` ambulances with
    exponential job and travel times (means in minutes; the default travel is ~0, so the
    response delay is the M/M/c wait); one empty bed pool ``"none"``."""
    return DesConfig(
        start=START,
        n_days=n_days,
        pools=(BedPool("none", CapacitySchedule(0)),),
        warmup_days=warmup_days,
        warmup="mean",
        ambulance=AmbulanceService(
            flat_rate(per_hour * 24.0, n_days),
            CapacitySchedule(fleet),
            los(travel_minutes, unit="minutes", family="exponential"),
            los(job_minutes, unit="minutes", family="exponential"),
        ),
    )


# --- the synthetic full-scale district (benchmarks) ------------------------------------
SYNTHETIC_END: Final = dt.date(2030, 12, 31)
_GROWTH: Final = 0.02  # per year, applied to every volume
# pool: (ED admissions share, direct /yr, elective /yr, maternity /yr, LOS mean days, LOS cv)
_POOLS: Final = {
    "medicine": (0.48, 55_000, 12_000, 0, 10.0, 1.1),
    "surgery": (0.18, 12_000, 42_000, 0, 8.0, 1.0),
    "orthopaedics": (0.10, 6_000, 18_000, 0, 10.0, 0.9),
    "obstetrics": (0.02, 2_000, 4_000, 46_000, 4.5, 0.6),
    "paediatrics": (0.10, 26_000, 3_000, 0, 5.5, 0.9),
    "critical_care": (0.06, 1_500, 2_000, 0, 6.0, 1.2),
    "oncology": (0.06, 18_000, 14_000, 0, 11.0, 1.0),
    "elderly_care": (0.00, 32_000, 0, 0, 60.0, 1.0),
}
# Openings (date, pool, extra beds): Second TCM hospital (500 medical + 500 elderly care),
# Sixth Hospital phase 2 (240 elderly care) and further growth toward 23,000 beds.
_OPENINGS: Final = [
    (dt.date(2026, 7, 1), "elderly_care", 240),
    (dt.date(2027, 1, 1), "medicine", 500),
    (dt.date(2027, 1, 1), "elderly_care", 500),
    (dt.date(2028, 1, 1), "surgery", 400),
    (dt.date(2028, 1, 1), "orthopaedics", 200),
    (dt.date(2029, 1, 1), "oncology", 300),
    (dt.date(2029, 7, 1), "medicine", 500),
    (dt.date(2030, 1, 1), "elderly_care", 1_000),
    (dt.date(2030, 1, 1), "paediatrics", 200),
    (dt.date(2030, 1, 1), "critical_care", 150),
]
_ED_VISITS: Final = 1_000_000  # per year in 2025
_ACUITY_SHARE: Final = {1: 0.01, 2: 0.06, 3: 0.35, 4: 0.58}
_AMBULANCE_SHARE: Final = {1: 0.6, 2: 0.35, 3: 0.08, 4: 0.02}  # share arriving by ambulance
_ADMIT: Final = {1: 0.60, 2: 0.45, 3: 0.15, 4: 0.03}
_TRANSFER: Final = {1: 0.05, 2: 0.03, 3: 0.01, 4: 0.0}
_TREAT_HOURS: Final = {1: 4.0, 2: 3.5, 3: 2.5, 4: 1.2}
_CLINIC_REQUESTS: Final = 10_000_000  # per year in 2025
_CLINIC_GROUPS: Final = 11  # sub-districts
_AMBULANCE_DISPATCHES: Final = 100_000  # per year in 2025


def _growing(volume: float) -> dict[int, float]:
    """``volume`` in 2025, growing by ``_GROWTH`` a year to 2030."""
    years = range(START.year, SYNTHETIC_END.year + 1)
    return {y: volume * (1 + _GROWTH) ** (y - START.year) for y in years}


def _synthetic_pools(n_days: int) -> tuple[tuple[BedPool, ...], tuple[AdmissionStream, ...]]:
    """Pools sized for 85% occupancy of the 2025 demand, with their openings; and the
    non-ED streams."""
    ed_admissions = _ED_VISITS * sum(_ACUITY_SHARE[a] * _ADMIT[a] for a in _ACUITY_SHARE)
    kinds = (("direct", 1), ("elective", 2), ("maternity", 3))
    pools: list[BedPool] = []
    streams: list[AdmissionStream] = []
    for name, spec in _POOLS.items():
        stay = los(spec[4], spec[5])
        for route, col in kinds:
            if spec[col]:
                rate = profiled_rate(_growing(spec[col]), f"admission_{route}", n_days)
                streams.append(AdmissionStream(f"{name}_{route}", name, route, rate, stay))  # type: ignore[arg-type]
        per_day = (spec[0] * ed_admissions + spec[1] + spec[2] + spec[3]) / 365.0
        beds = math.ceil(per_day * spec[4] / 0.85)
        level, changes = beds, []
        for d in sorted({d for d, p, _ in _OPENINGS if p == name}):
            level += sum(extra for dd, p, extra in _OPENINGS if p == name and dd == d)
            changes.append((d, float(level)))
        pools.append(BedPool(name, CapacitySchedule(float(beds), tuple(changes))))
    return tuple(pools), tuple(streams)


def _synthetic_ed(n_days: int) -> EmergencyDepartment:
    arrivals = []
    for a, share in _ACUITY_SHARE.items():
        for mode, m_share in (
            ("ambulance", _AMBULANCE_SHARE[a]),
            ("walk_in", 1 - _AMBULANCE_SHARE[a]),
        ):
            rate = profiled_rate(_growing(_ED_VISITS * share * m_share), f"ed_{mode}", n_days)
            arrivals.append(EDArrivalStream(f"a{a}_{mode}", a, mode, rate))  # type: ignore[arg-type]
    admit_share = {name: spec[0] for name, spec in _POOLS.items()}
    dispositions = tuple(
        Disposition(
            a,
            1 - _ADMIT[a] - _TRANSFER[a],
            _TRANSFER[a],
            tuple((p, _ADMIT[a] * s) for p, s in admit_share.items() if s > 0),
        )
        for a in _ACUITY_SHARE
    )
    return EmergencyDepartment(
        spaces=CapacitySchedule(450.0, ((dt.date(2028, 1, 1), 520.0),)),
        arrivals=tuple(arrivals),
        treatment=tuple((a, los(h, 0.8, "hours")) for a, h in _TREAT_HOURS.items()),
        dispositions=dispositions,
        admitted_los=tuple((name, los(spec[4], spec[5])) for name, spec in _POOLS.items()),
    )


def _synthetic_clinics(n_days: int) -> tuple[ClinicGroup, ...]:
    profiles, calendar = _tables()
    per_group = _CLINIC_REQUESTS / _CLINIC_GROUPS
    demand = tuple(daily_expected(_growing(per_group), profiles["clinic"], calendar, START, n_days))
    work = working_days(calendar, START, n_days)
    capacity = np.where(work, 1.15, 0.8) * _CLINIC_REQUESTS / _CLINIC_GROUPS / 365.0
    appointments = tuple(np.floor(capacity).tolist())
    return tuple(
        ClinicGroup(
            f"subdistrict_{g + 1:02d}",
            demand,
            appointments,
            p_abandon=0.3,
            p_divert_ed=0.05,
            p_divert_outpatient=0.15,
            ed_acuity=(0.0, 0.0, 0.2, 0.8),
            ed_hourly=profiles[ED_WALK_IN].hourly,
        )
        for g in range(_CLINIC_GROUPS)
    )


def synthetic_district(warmup_days: int = 365) -> DesConfig:
    """A synthetic but district-sized system, 2025-01-01 .. 2030-12-31 (2,191 days) plus
    a warm-up that repeats the first 52 weeks: 8 bed pools sized for 85% occupancy of the
    2025 demand, growing by scheduled openings to about 23,000 beds in 2030; about 2.5 M
    admissions over the six years (ED, direct, elective, maternity, long-stay elderly
    care), growing 2% a year; about 1 M ED visits a year into 450 treatment spaces (520
    from 2028); about 10 M clinic requests a year in 11 groups; about 100 k ambulance
    dispatches a year against 138 ambulances (143 from 2028). None of these volumes is an
    estimate of Longgang's real figures."""
    n_days = (SYNTHETIC_END - START).days + 1
    pools, streams = _synthetic_pools(n_days)
    return DesConfig(
        start=START,
        n_days=n_days,
        pools=pools,
        admissions=streams,
        ed=_synthetic_ed(n_days),
        clinics=_synthetic_clinics(n_days),
        ambulance=AmbulanceService(
            dispatches=profiled_rate(_growing(_AMBULANCE_DISPATCHES), AMBULANCE_DISPATCH, n_days),
            fleet=CapacitySchedule(138.0, ((dt.date(2028, 1, 1), 143.0),)),
            travel=los(11.0, 0.5, "minutes"),
            job=los(60.0, 0.5, "minutes"),
        ),
        discharge=DischargeRule("daytime", _tables()[0]["discharge"].hourly),
        electives=_booking(n_days),
        warmup_days=warmup_days,
        warmup="first_year",
    )


# --- derived configurations -----------------------------------------------------------
def beds_only(cfg: DesConfig) -> DesConfig:
    """``cfg``'s bed pools alone at their initial capacity, FIFO, each with one direct
    stream ``"<pool>_all"`` of no arrivals (for bed requests supplied from outside)."""
    pools = tuple(BedPool(p.name, CapacitySchedule(p.capacity.initial)) for p in cfg.pools)
    zero = flat_rate(0.0, cfg.n_days)
    stay = los(1.0, family="exponential")
    return DesConfig(
        start=cfg.start,
        n_days=cfg.n_days,
        pools=pools,
        admissions=tuple(
            AdmissionStream(f"{p.name}_all", p.name, "direct", zero, stay) for p in pools
        ),
        warmup_days=cfg.warmup_days,
    )


def slice_days(cfg: DesConfig, first: int, n_days: int, warmup_days: int) -> DesConfig:
    """The same system restricted to days ``first`` .. ``first + n_days - 1`` (every
    per-day series cut alike), with its own warm-up."""

    def cut(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return values[first : first + n_days]

    def cut_rate(rate: ArrivalRate) -> ArrivalRate:
        return replace(rate, daily=cut(rate.daily))

    changes: dict[str, Any] = {
        "admissions": tuple(replace(s, arrivals=cut_rate(s.arrivals)) for s in cfg.admissions),
        "clinics": tuple(
            replace(c, demand=cut(c.demand), capacity=cut(c.capacity)) for c in cfg.clinics
        ),
    }
    if cfg.ed is not None:
        ed_arrivals = tuple(replace(s, arrivals=cut_rate(s.arrivals)) for s in cfg.ed.arrivals)
        changes["ed"] = replace(cfg.ed, arrivals=ed_arrivals)
    if cfg.ambulance is not None:
        changes["ambulance"] = replace(cfg.ambulance, dispatches=cut_rate(cfg.ambulance.dispatches))
    if cfg.electives is not None:
        changes["electives"] = replace(cfg.electives, booking_days=cut(cfg.electives.booking_days))
    if cfg.pooling is not None and cfg.pooling.share:
        changes["pooling"] = replace(cfg.pooling, share=cut(cfg.pooling.share))
    return replace(
        cfg,
        start=cfg.start + dt.timedelta(days=first),
        n_days=n_days,
        warmup_days=warmup_days,
        **changes,
    )
