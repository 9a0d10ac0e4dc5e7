"""Draw every random number of one replicate up front, as arrays.

:func:`draw_inputs` turns a :class:`~sim.des.config.DesConfig` and a
``(root_seed, replicate)`` pair into :class:`RandomInputs`: arrival times, lengths
of stay, acuity, dispositions, treatment, discharge-hour, ambulance travel and
job times. Each random process has its own named stream
``sim.rng.generator(root_seed, replicate, name)``; adding a stream (a new pool,
a new ED stream) never changes the numbers of the others, and a given patient's
length of stay or disposition comes from the same uniform in every scenario
(inversion), so replicate r of two scenarios differ only where the scenarios do.

Stream names (``<s>`` = the configured stream name, ``<c>`` = clinic group):

=====================================  =====================================
``des.arrivals.<s>``                   arrival times of admission stream s
``des.los.<s>``                        its lengths of stay (uniforms)
``des.discharge_hour.<s>``             its discharge hours (uniforms)
``des.arrivals.ed.<s>``                ED arrivals of ED stream s
``des.ed.treatment.<s>``               their treatment times
``des.ed.disposition.<s>``             their dispositions
``des.los.ed.<s>``                     their lengths of stay if admitted
``des.discharge_hour.ed.<s>``          their discharge hours if admitted
``des.clinic.<c>.demand``              daily requests of clinic group c
``des.clinic.<c>.outcomes``            its daily diversion / abandonment
``des.arrivals.ed.diverted.<c>``       times of its patients diverted to the ED
``des.ed.acuity.diverted.<c>``         their acuity (and, as above,
                                       ``des.ed.treatment.diverted.<c>`` ...)
``des.arrivals.ambulance``             ambulance dispatch times
``des.ambulance.travel`` / ``.job``    travel and job times
=====================================  =====================================

Arrivals are a non-homogeneous Poisson process with a rate that is constant
within each hour (day's expected count × the hour's share). They are drawn by
time change: the points of a unit-rate Poisson process (cumulated standard
exponentials) mapped through the inverse of the cumulative rate. This is exact
and keeps common random numbers: raising a rate slightly moves arrivals
slightly and adds a few, instead of redrawing them all.

The community-clinic model is aggregated by day and meets no capacity shared
with the rest of the system, so it is run here (:func:`sim.des.clinics.simulate`)
and the requests it diverts to the ED join the pre-drawn ED arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from sim.des.clinics import ClinicOutcome, simulate_clinic
from sim.des.config import ED_MODES, ArrivalRate, DesConfig, Duration, EmergencyDepartment
from sim.rng import generator

__all__ = [
    "DISPOSITION_HOME",
    "DISPOSITION_TRANSFER",
    "FIRST_POOL_DISPOSITION",
    "AmbulanceDraws",
    "BedDraws",
    "EDDraws",
    "RandomInputs",
    "draw_inputs",
    "extend_for_warmup",
    "nhpp_times",
    "piecewise_uniform_ppf",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]
ArrayT = TypeVar("ArrayT", bound=NDArray[Any])

FIRST_YEAR_DAYS = 364
"""Period of the ``first_year`` warm-up: 52 weeks, so weekdays stay aligned."""

DISPOSITION_HOME = 0
DISPOSITION_TRANSFER = 1
FIRST_POOL_DISPOSITION = 2
"""ED disposition codes: 0 home, 1 transferred, 2 + k admitted to pool k."""


@dataclass(frozen=True, eq=False)
class BedDraws:
    """Admissions of the non-ED streams, merged and sorted by time.

    Attributes:
        time: arrival (booking) time, days since start (< 0 in the warm-up).
        stream: index into ``DesConfig.admissions``.
        los: length of stay, days (before any outlier penalty).
        discharge_hour: time of day of discharge under the daytime rule,
            fraction of a day in [0, 1).
    """

    time: FloatArray
    stream: IntArray
    los: FloatArray
    discharge_hour: FloatArray


@dataclass(frozen=True, eq=False)
class EDDraws:
    """ED arrivals (configured streams and clinic diversions) sorted by time.

    Attributes:
        time: arrival time, days since start.
        source: index into ``ed.arrivals``; ``len(ed.arrivals) + c`` for
            patients diverted from clinic group c.
        acuity: triage level 1..4.
        mode: 0 ambulance, 1 walk-in (``config.ED_MODES``).
        treatment: treatment time, days.
        disposition: 0 home, 1 transferred, 2 + k admitted to pool k.
        los: length of stay if admitted, days (NaN otherwise).
        discharge_hour: discharge time of day if admitted, fraction of a day.
    """

    time: FloatArray
    source: IntArray
    acuity: NDArray[np.int8]
    mode: NDArray[np.int8]
    treatment: FloatArray
    disposition: IntArray
    los: FloatArray
    discharge_hour: FloatArray


@dataclass(frozen=True, eq=False)
class AmbulanceDraws:
    """Ambulance dispatches: call time (days), travel and job durations (days)."""

    time: FloatArray
    travel: FloatArray
    job: FloatArray


@dataclass(frozen=True, eq=False)
class RandomInputs:
    """All random input of one replicate (arrays are read-only)."""

    root_seed: int
    replicate: int
    beds: BedDraws
    ed: EDDraws | None
    clinics: tuple[ClinicOutcome, ...]
    ambulance: AmbulanceDraws | None


def extend_for_warmup(series: FloatArray, warmup_days: int, mode: str) -> FloatArray:
    """Prepend ``warmup_days`` days to a per-day series (see ``DesConfig.warmup``)."""
    values = np.asarray(series, dtype=float)
    n = values.size
    if warmup_days == 0:
        return values.copy()
    if mode == "cyclic":
        # Warm-up day -k repeats day (n - k) mod n: the series as a repeating cycle.
        prefix = values[(np.arange(-warmup_days, 0) % n)]
    elif mode == "first_year":
        # Repeat the first 52 weeks (weekdays stay aligned; a growing series does
        # not start from its last, highest year).
        prefix = values[(np.arange(-warmup_days, 0) % min(FIRST_YEAR_DAYS, n))]
    elif mode == "mean":
        prefix = np.full(warmup_days, values[: min(warmup_days, n)].mean())
    else:
        raise ValueError(f"warm-up mode must be 'cyclic', 'first_year' or 'mean', got {mode!r}")
    return np.concatenate([prefix, values])


def nhpp_times(
    rng: np.random.Generator, daily: FloatArray, hourly: FloatArray, t0: float
) -> FloatArray:
    """Arrival times (days) of a Poisson process whose rate is constant in each hour.

    Args:
        rng: generator of this arrival stream.
        daily: expected arrivals on each day (day k covers [t0 + k, t0 + k + 1)).
        hourly: 24 shares of a day's arrivals by hour of day (sum 1).
        t0: time of the start of the first day, days.

    Returns:
        Sorted arrival times in days. The count in each hour is Poisson with
        mean ``daily[k] * hourly[h]``, independently across hours.
    """
    per_hour = (
        np.asarray(daily, dtype=float)[:, None] * np.asarray(hourly, dtype=float)[None, :]
    ).ravel()
    cum = np.concatenate([[0.0], np.cumsum(per_hour)])
    total = float(cum[-1])
    if total <= 0.0:
        return np.empty(0)
    # Unit-rate Poisson points on [0, total): draw in chunks from one stream; the
    # sequence of exponentials does not depend on the chunk sizes.
    chunks = [np.cumsum(rng.standard_exponential(int(total + 6.0 * np.sqrt(total) + 16)))]
    while chunks[-1][-1] < total:
        chunks.append(
            chunks[-1][-1] + np.cumsum(rng.standard_exponential(int(np.sqrt(total)) + 16))
        )
    points = np.concatenate(chunks)
    points = points[points < total]
    # Hour bin j holds cum[j] <= point < cum[j + 1]; such a bin has a positive rate.
    j = np.searchsorted(cum, points, side="right") - 1
    return t0 + (j + (points - cum[j]) / per_hour[j]) / 24.0


def piecewise_uniform_ppf(u: FloatArray, hourly: FloatArray) -> FloatArray:
    """Time of day (fraction of a day) at probability ``u`` for hourly shares.

    The inverse CDF of the density that is ``hourly[h]`` spread uniformly over
    hour h: one uniform gives both the hour and the minute.
    """
    shares = np.asarray(hourly, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(shares)])
    cum[-1] = 1.0
    h = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, 23)
    # A zero-share hour is never chosen (its bin is empty); guard the division.
    width = np.where(shares[h] > 0, shares[h], 1.0)
    return (h + np.clip((u - cum[h]) / width, 0.0, 1.0 - 1e-12)) / 24.0


def _rate_series(rate: ArrivalRate, config: DesConfig) -> FloatArray:
    return extend_for_warmup(np.asarray(rate.daily, dtype=float), config.warmup_days, config.warmup)


def _draw_beds(config: DesConfig, seed: int, rep: int) -> BedDraws:
    t0 = -float(config.warmup_days)
    parts: list[tuple[FloatArray, IntArray, FloatArray, FloatArray]] = []
    for k, s in enumerate(config.admissions):
        times = nhpp_times(
            generator(seed, rep, f"des.arrivals.{s.name}"),
            _rate_series(s.arrivals, config),
            np.asarray(s.arrivals.hourly),
            t0,
        )
        n = times.size
        los = s.los.ppf_days(generator(seed, rep, f"des.los.{s.name}").random(n))
        dh = piecewise_uniform_ppf(
            generator(seed, rep, f"des.discharge_hour.{s.name}").random(n),
            np.asarray(config.discharge.hourly),
        )
        parts.append((times, np.full(n, k, dtype=np.int32), los, dh))
    if not parts:
        empty = np.empty(0)
        return BedDraws(empty, np.empty(0, dtype=np.int32), empty, empty)
    time = np.concatenate([p[0] for p in parts])
    order = np.argsort(time, kind="stable")
    return BedDraws(
        time=_frozen(time[order]),
        stream=_frozen(np.concatenate([p[1] for p in parts])[order]),
        los=_frozen(np.concatenate([p[2] for p in parts])[order]),
        discharge_hour=_frozen(np.concatenate([p[3] for p in parts])[order]),
    )


def _ed_attributes(
    config: DesConfig,
    ed: EmergencyDepartment,
    seed: int,
    rep: int,
    key: str,
    acuity: NDArray[np.int8],
    age_band: str,
) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
    """Treatment, disposition, LOS and discharge hour of n ED patients of one stream."""
    n = acuity.size
    pools = config.pool_names
    treat_by_acuity: dict[int, Duration] = dict(ed.treatment)
    u_treat = generator(seed, rep, f"des.ed.treatment.{key}").random(n)
    treatment = np.empty(n)
    for a, dur in treat_by_acuity.items():
        sel = acuity == a
        treatment[sel] = dur.ppf_days(u_treat[sel])
    u_disp = generator(seed, rep, f"des.ed.disposition.{key}").random(n)
    disposition = np.empty(n, dtype=np.int32)
    table = {(d.acuity, d.age_band): d for d in ed.dispositions}
    for a in np.unique(acuity):
        sel = acuity == a
        cum = np.cumsum(table[(int(a), age_band)].probabilities(pools))
        cum[-1] = 1.0
        disposition[sel] = np.minimum(np.searchsorted(cum, u_disp[sel], side="right"), cum.size - 1)
    u_los = generator(seed, rep, f"des.los.ed.{key}").random(n)
    los = np.full(n, np.nan)
    los_by_pool = dict(ed.admitted_los)
    for k, pool in enumerate(pools):
        sel = disposition == FIRST_POOL_DISPOSITION + k
        if sel.any():
            los[sel] = los_by_pool[pool].ppf_days(u_los[sel])
    dh = piecewise_uniform_ppf(
        generator(seed, rep, f"des.discharge_hour.ed.{key}").random(n),
        np.asarray(config.discharge.hourly),
    )
    return treatment, disposition, los, dh


def _draw_ed(
    config: DesConfig, seed: int, rep: int, clinics: tuple[ClinicOutcome, ...]
) -> EDDraws | None:
    ed = config.ed
    if ed is None:
        return None
    t0 = -float(config.warmup_days)
    cols: dict[str, list[NDArray[np.generic]]] = {
        k: [] for k in ("time", "source", "acuity", "mode", "treatment", "disposition", "los", "dh")
    }

    def add(
        times: FloatArray, source: int, acuity: NDArray[np.int8], mode: int, key: str, band: str
    ) -> None:
        treatment, disposition, los, dh = _ed_attributes(config, ed, seed, rep, key, acuity, band)
        n = times.size
        for name, values in (
            ("time", times),
            ("source", np.full(n, source, dtype=np.int32)),
            ("acuity", acuity),
            ("mode", np.full(n, mode, dtype=np.int8)),
            ("treatment", treatment),
            ("disposition", disposition),
            ("los", los),
            ("dh", dh),
        ):
            cols[name].append(values)

    for k, s in enumerate(ed.arrivals):
        times = nhpp_times(
            generator(seed, rep, f"des.arrivals.ed.{s.name}"),
            _rate_series(s.arrivals, config),
            np.asarray(s.arrivals.hourly),
            t0,
        )
        add(
            times,
            k,
            np.full(times.size, s.acuity, dtype=np.int8),
            ED_MODES.index(s.mode),
            s.name,
            s.age_band,
        )
    for c, (group, outcome) in enumerate(zip(config.clinics, clinics, strict=True)):
        counts = outcome.diverted_ed_all_days
        n = int(counts.sum())
        if n == 0:
            continue
        day = np.repeat(np.arange(counts.size, dtype=float), counts.astype(np.int64)) + t0
        u = generator(seed, rep, f"des.arrivals.ed.diverted.{group.name}").random(n)
        times = np.sort(day + piecewise_uniform_ppf(u, np.asarray(group.ed_hourly)))
        cum = np.cumsum(group.ed_acuity)
        cum[-1] = 1.0
        u_acuity = generator(seed, rep, f"des.ed.acuity.diverted.{group.name}").random(n)
        acuity = (np.searchsorted(cum, u_acuity, side="right") + 1).astype(np.int8)
        add(
            times,
            len(ed.arrivals) + c,
            np.minimum(acuity, 4).astype(np.int8),
            ED_MODES.index("walk_in"),
            f"diverted.{group.name}",
            "all",
        )
    if not cols["time"]:
        empty = np.empty(0)
        return EDDraws(
            empty,
            np.empty(0, np.int32),
            np.empty(0, np.int8),
            np.empty(0, np.int8),
            empty,
            np.empty(0, np.int32),
            empty,
            empty,
        )
    time = np.concatenate(cols["time"])
    order = np.argsort(time, kind="stable")

    def merged(name: str) -> NDArray[np.generic]:
        return _frozen(np.concatenate(cols[name])[order])

    return EDDraws(
        time=merged("time"),  # type: ignore[arg-type]
        source=merged("source"),  # type: ignore[arg-type]
        acuity=merged("acuity"),  # type: ignore[arg-type]
        mode=merged("mode"),  # type: ignore[arg-type]
        treatment=merged("treatment"),  # type: ignore[arg-type]
        disposition=merged("disposition"),  # type: ignore[arg-type]
        los=merged("los"),  # type: ignore[arg-type]
        discharge_hour=merged("dh"),  # type: ignore[arg-type]
    )


def _draw_ambulance(config: DesConfig, seed: int, rep: int) -> AmbulanceDraws | None:
    amb = config.ambulance
    if amb is None:
        return None
    times = nhpp_times(
        generator(seed, rep, "des.arrivals.ambulance"),
        _rate_series(amb.dispatches, config),
        np.asarray(amb.dispatches.hourly),
        -float(config.warmup_days),
    )
    n = times.size
    travel = amb.travel.ppf_days(generator(seed, rep, "des.ambulance.travel").random(n))
    job = amb.job.ppf_days(generator(seed, rep, "des.ambulance.job").random(n))
    return AmbulanceDraws(_frozen(times), _frozen(travel), _frozen(job))


def _frozen(a: ArrayT) -> ArrayT:
    out = np.ascontiguousarray(a)
    out.flags.writeable = False
    return out  # type: ignore[return-value]


def draw_inputs(config: DesConfig, root_seed: int, replicate: int) -> RandomInputs:
    """Draw all random input of replicate ``replicate`` (see the module doc).

    Same ``(config, root_seed, replicate)`` ⇒ identical arrays, bit for bit.
    """
    clinics = tuple(
        simulate_clinic(
            group,
            extend_for_warmup(
                np.asarray(group.demand, dtype=float), config.warmup_days, config.warmup
            ),
            extend_for_warmup(
                np.asarray(group.capacity, dtype=float), config.warmup_days, config.warmup
            ),
            config.warmup_days,
            demand_rng=generator(root_seed, replicate, f"des.clinic.{group.name}.demand"),
            outcome_rng=generator(root_seed, replicate, f"des.clinic.{group.name}.outcomes"),
        )
        for group in config.clinics
    )
    return RandomInputs(
        root_seed=root_seed,
        replicate=replicate,
        beds=_draw_beds(config, root_seed, replicate),
        ed=_draw_ed(config, root_seed, replicate, clinics),
        clinics=clinics,
        ambulance=_draw_ambulance(config, root_seed, replicate),
    )
