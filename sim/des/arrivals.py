"""Draw every random number of one replicate up front, as arrays.

:func:`draw_inputs` turns a :class:`~sim.des.config.DesConfig` and a
``(root_seed, replicate)`` pair into :class:`RandomInputs`: arrival times, lengths
of stay, acuity, dispositions, treatment, discharge-hour, ambulance travel and
job times. Each random process has its own named stream
``sim.base.rng.generator(root_seed, replicate, name)``; adding a stream (a new pool,
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
with the rest of the system, so it runs before the ED's draw (:func:`run_clinics`)
and the requests it diverts to the ED join the pre-drawn ED arrays; its outcomes
are outputs, handed to the engine's outputs beside the draws, not kept in them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import special

from sim.base.los import gamma_params, lognormal_params
from sim.base.rng import generator
from sim.des.clinics import ClinicOutcome, compile_clinics, simulate_clinic
from sim.des.config import (
    _UNIT_DAYS,
    ED_MODES,
    ArrivalRate,
    DesConfig,
    Duration,
    EmergencyDepartment,
)
from sim.des.sampling import (
    count_le,
    day_fractions,
    hour_lookup,
    place_beds,
    place_ed,
    poisson_points,
)

__all__ = [
    "DISPOSITION_HOME",
    "DISPOSITION_TRANSFER",
    "FIRST_POOL_DISPOSITION",
    "AmbulanceDraws",
    "BedDraws",
    "EDDraws",
    "RandomInputs",
    "compile_draws",
    "draw_inputs",
    "extend_for_warmup",
    "frozen",
    "nhpp_times",
    "piecewise_uniform_ppf",
    "ppf_days",
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
    # The unit-rate process's exponentials come from one stream in chunks; the
    # sequence does not depend on the chunk sizes. The first chunk almost surely
    # suffices (6 standard deviations above the expected count).
    chunk = int(total + 6.0 * math.sqrt(total) + 16)
    out = np.empty(chunk)
    carry: tuple[int, float, int] = (0, 0.0, 0)
    done = False
    while not done:
        exponentials = rng.standard_exponential(chunk)
        if out.size < carry[0] + chunk:
            out = np.concatenate([out[: carry[0]], np.empty(chunk)])
        n, p, j, done = poisson_points(exponentials, cum, per_hour, t0, out, carry)
        carry = (n, p, j)
        chunk = int(math.sqrt(total)) + 16
    return out[: carry[0]]


def piecewise_uniform_ppf(u: FloatArray, hourly: FloatArray) -> FloatArray:
    """Time of day (fraction of a day) at probability ``u`` for hourly shares.

    The inverse CDF of the density that is ``hourly[h]`` spread uniformly over
    hour h: one uniform gives both the hour and the minute.
    """
    return day_fractions(np.ascontiguousarray(u, dtype=float), *_hour_table(hourly))


def _hour_table(hourly: Any) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Shares, their cumulative sums from 0 (the last set to exactly 1) and the lookup
    that starts the hour search (:func:`sim.des.sampling.hour_lookup`)."""
    shares = np.ascontiguousarray(hourly, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(shares)])
    cum[-1] = 1.0
    # A zero-share hour is never chosen (its bin is empty); its width is not used.
    return shares, cum, hour_lookup(cum)


def ppf_days(duration: Duration, u: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """``duration.ppf_days(u)``, the very same numbers, without scipy's per-call checks:
    the lognormal as ``exp(sigma * ndtri(u)) * scale``, the gamma as ``gammaincinv``
    (what ``scipy.stats`` computes for u in [0, 1)). Days; into ``out`` if given
    (u's size; u itself will do), which saves a fresh array of a run's size."""
    dist = duration.dist
    factor = _UNIT_DAYS[duration.unit]
    if dist.family == "lognormal":
        mu, sigma = lognormal_params(dist.mean_days, dist.cv)
        out = _into(special.ndtri, (u,), out)
        out *= np.float64(sigma)
        np.exp(out, out=out)
        out *= math.exp(mu)
    elif dist.family in ("gamma", "exponential"):  # as LosDistribution: a gamma
        shape, scale = gamma_params(dist.mean_days, dist.cv)
        out = _into(special.gammaincinv, (shape, u), out)
        out *= scale
    else:
        days = duration.ppf_days(u)
        if out is None:
            return days
        out[...] = days
        return out
    out *= factor
    return out


def _into(ufunc: Any, args: tuple[Any, ...], out: FloatArray | None) -> FloatArray:
    """``ufunc(*args)`` as float64, into ``out`` if given."""
    if out is None:
        return np.asarray(ufunc(*args), dtype=np.float64)
    ufunc(*args, out=out)
    return out


def _ppf_in_place(duration: Duration, u: FloatArray) -> FloatArray:
    """:func:`ppf_days` written over the probabilities u (a fresh draw no one else
    reads), which saves an array of the run's size."""
    return ppf_days(duration, u, out=u)


def _rate_series(rate: ArrivalRate, config: DesConfig) -> FloatArray:
    return extend_for_warmup(np.asarray(rate.daily, dtype=float), config.warmup_days, config.warmup)


@numba.njit(cache=True, nogil=True)
def _gather(cat: Any, offsets: Any, order: Any) -> tuple[Any, Any, Any]:
    """From the stable order of the concatenated runs: the merged times, the merged row
    of each input element (the inverse of ``order``) and the run of each merged row
    (runs ``offsets[r]:offsets[r + 1]`` of the input), in one pass over the order."""
    run_in = np.empty(cat.size, np.int32)
    for r in range(offsets.size - 1):
        run_in[offsets[r] : offsets[r + 1]] = r
    merged = np.empty(cat.size)
    pos = np.empty(cat.size, np.int32)  # half of int64 (a replicate has < 2**31 rows)
    run_of = np.empty(cat.size, np.int32)
    for m in range(order.size):
        i = order[m]
        merged[m] = cat[i]
        pos[i] = m
        run_of[m] = run_in[i]
    return merged, pos, run_of


def _merge(times: list[FloatArray]) -> tuple[FloatArray, IntArray, IntArray]:
    """Stable merge of the sorted runs ``times``: by time, equal times by run, within
    a run in order. Returns the merged times (read-only), the run of each merged row
    and the merged row of each input element (the runs concatenated).

    numpy's stable sort is a timsort, which finds the sorted runs and merges them
    (galloping): a k-way merge in compiled code.
    """
    offsets = np.cumsum([0, *(t.size for t in times)]).astype(np.int64)
    cat = times[0] if len(times) == 1 else np.concatenate(times)
    merged, pos, run_of = _gather(cat, offsets, np.argsort(cat, kind="stable"))
    merged.flags.writeable = False
    return merged, run_of, pos


def _draw_beds(config: DesConfig, seed: int, rep: int) -> BedDraws:
    t0 = -float(config.warmup_days)
    times = [
        nhpp_times(
            generator(seed, rep, f"des.arrivals.{s.name}"),
            _rate_series(s.arrivals, config),
            np.asarray(s.arrivals.hourly),
            t0,
        )
        for s in config.admissions
    ]
    if not times:
        empty = np.empty(0)
        return BedDraws(empty, np.empty(0, dtype=np.int32), empty, empty)
    time, stream, pos = _merge(times)  # the stream is the run
    los, hour = np.empty(time.size), np.empty(time.size)
    hours = _hour_table(config.discharge.hourly)
    at = 0
    for s, run in zip(config.admissions, times, strict=True):
        n = run.size
        place_beds(
            pos[at : at + n],
            _ppf_in_place(s.los, generator(seed, rep, f"des.los.{s.name}").random(n)),
            generator(seed, rep, f"des.discharge_hour.{s.name}").random(n),
            hours,
            (los, hour),
        )
        at += n
    return BedDraws(time=time, stream=frozen(stream), los=frozen(los), discharge_hour=frozen(hour))


@dataclass(frozen=True, eq=False)
class _EDRun:
    """One run of ED arrivals before the merge: a configured ED stream, or the
    patients one clinic group diverts to the ED (``key`` names their streams)."""

    times: FloatArray
    source: int
    acuity: NDArray[np.int8]
    mode: int
    key: str
    band: str


def _ed_runs(
    config: DesConfig,
    ed: EmergencyDepartment,
    seed: int,
    rep: int,
    clinics: tuple[ClinicOutcome, ...],
) -> list[_EDRun]:
    t0 = -float(config.warmup_days)
    runs = []
    for k, s in enumerate(ed.arrivals):
        times = nhpp_times(
            generator(seed, rep, f"des.arrivals.ed.{s.name}"),
            _rate_series(s.arrivals, config),
            np.asarray(s.arrivals.hourly),
            t0,
        )
        acuity = np.full(times.size, s.acuity, dtype=np.int8)
        runs.append(_EDRun(times, k, acuity, ED_MODES.index(s.mode), s.name, s.age_band))
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
        acuity = np.minimum(count_le(u_acuity, cum) + 1, 4).astype(np.int8)
        key = f"diverted.{group.name}"
        runs.append(
            _EDRun(times, len(ed.arrivals) + c, acuity, ED_MODES.index("walk_in"), key, "all")
        )
    return runs


def _levels(acuity: NDArray[np.int8]) -> NDArray[np.int8]:
    """``np.unique(acuity)``, without its hash pass when the run has one level."""
    single = acuity.size > 0 and not (acuity != acuity[0]).any()
    return acuity[:1].copy() if single else np.unique(acuity)


def _treatment_days(
    ed: EmergencyDepartment, u: FloatArray, acuity: NDArray[np.int8], levels: NDArray[np.int8]
) -> FloatArray:
    """Treatment times (days) at probabilities u, each by its acuity's duration."""
    treatment = np.empty(u.size)
    for a, dur in ed.treatment:
        if levels.size == 1 and levels[0] == a:
            return _ppf_in_place(dur, u)
        if a in levels:
            sel = acuity == a
            treatment[sel] = ppf_days(dur, u[sel])
    return treatment


def _disposition_table(
    ed: EmergencyDepartment, pools: tuple[str, ...], band: str, levels: NDArray[np.int8]
) -> FloatArray:
    """Cumulative disposition probabilities, one row per acuity 0..4 (row a for the
    run's level a; the others unused): home, transferred, admitted to each pool."""
    table = {(d.acuity, d.age_band): d for d in ed.dispositions}
    rows = np.ones((5, FIRST_POOL_DISPOSITION + len(pools)))
    for a in levels:
        rows[a] = np.cumsum(table[(int(a), band)].probabilities(pools))
        rows[a, -1] = 1.0
    return rows


def _admitted_los(
    ed: EmergencyDepartment, pools: tuple[str, ...], u: FloatArray, pool: IntArray
) -> FloatArray:
    """Lengths of stay (days) at probabilities u of ED patients admitted to ``pool``."""
    los = np.empty(u.size)
    by_pool = dict(ed.admitted_los)
    for k, name in enumerate(pools):
        sel = pool == k
        if sel.any():
            los[sel] = ppf_days(by_pool[name], u[sel])
    return los


def _place_ed_run(
    config: DesConfig,
    ed: EmergencyDepartment,
    draw: tuple[int, int],
    run: _EDRun,
    rows: IntArray,
    out: dict[str, NDArray[Any]],
) -> None:
    """Draw the attributes of one run's patients into the merged columns at ``rows``."""
    seed, rep = draw
    n, key = run.acuity.size, run.key
    levels = _levels(run.acuity)
    u_treat = generator(seed, rep, f"des.ed.treatment.{key}").random(n)
    admitted = place_ed(
        rows,
        run.acuity,
        _treatment_days(ed, u_treat, run.acuity, levels),
        generator(seed, rep, f"des.ed.disposition.{key}").random(n),
        _disposition_table(ed, config.pool_names, run.band, levels),
        generator(seed, rep, f"des.discharge_hour.ed.{key}").random(n),
        _hour_table(config.discharge.hourly),
        (out["acuity"], out["treatment"], out["disposition"], out["dh"]),
        FIRST_POOL_DISPOSITION,
    )
    u_los = generator(seed, rep, f"des.los.ed.{key}").random(n)
    where = rows[admitted]
    pool = out["disposition"][where] - FIRST_POOL_DISPOSITION
    out["los"][where] = _admitted_los(ed, config.pool_names, u_los[admitted], pool)


def _draw_ed(
    config: DesConfig, seed: int, rep: int, clinics: tuple[ClinicOutcome, ...]
) -> EDDraws | None:
    ed = config.ed
    if ed is None:
        return None
    runs = _ed_runs(config, ed, seed, rep, clinics)
    if not runs:
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
    time, run_of, pos = _merge([r.times for r in runs])
    n = time.size
    out: dict[str, NDArray[Any]] = {
        "acuity": np.empty(n, np.int8),
        "treatment": np.empty(n),
        "disposition": np.empty(n, np.int32),
        "los": np.full(n, np.nan),
        "dh": np.empty(n),
    }
    at = 0
    for run in runs:
        _place_ed_run(config, ed, (seed, rep), run, pos[at : at + run.times.size], out)
        at += run.times.size
    del pos
    return EDDraws(
        time=time,
        source=frozen(np.array([r.source for r in runs], dtype=np.int32)[run_of]),
        acuity=frozen(out["acuity"]),
        mode=frozen(np.array([r.mode for r in runs], dtype=np.int8)[run_of]),
        treatment=frozen(out["treatment"]),
        disposition=frozen(out["disposition"]),
        los=frozen(out["los"]),
        discharge_hour=frozen(out["dh"]),
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
    travel = _ppf_in_place(amb.travel, generator(seed, rep, "des.ambulance.travel").random(n))
    job = _ppf_in_place(amb.job, generator(seed, rep, "des.ambulance.job").random(n))
    return AmbulanceDraws(frozen(times), frozen(travel), frozen(job))


def frozen(a: ArrayT) -> ArrayT:
    """A contiguous read-only copy (or the array itself if it is one already)."""
    out = np.ascontiguousarray(a)
    out.flags.writeable = False
    return out  # type: ignore[return-value]


def compile_draws() -> None:
    """Compile (or load from numba's on-disk cache) the kernels of the drawing and of
    the clinic day book, on tiny inputs."""
    rng = generator(0, 0, "des.compile")
    one = np.array([0.5])
    nhpp_times(rng, np.ones(1), np.full(24, 1.0 / 24.0), 0.0)
    piecewise_uniform_ppf(one, np.full(24, 1.0 / 24.0))
    count_le(one, np.array([0.0, 1.0]))
    hours = _hour_table(np.full(24, 1.0 / 24.0))
    rows = np.zeros(1, np.int32)
    place_beds(rows, one, one, hours, (one.copy(), one.copy()))
    acuity = np.ones(1, np.int8)
    place_ed(
        rows,
        acuity,
        one,
        one,
        np.ones((5, 3)),
        one,
        hours,
        (acuity.copy(), one.copy(), np.zeros(1, np.int32), one.copy()),
        2,
    )
    _merge([one, one])
    compile_clinics()


def run_clinics(config: DesConfig, root_seed: int, replicate: int) -> tuple[ClinicOutcome, ...]:
    """The community clinics' day book of a replicate, one outcome per clinic group: a
    simulation on its own random streams, not a draw. It runs before the ED's draw
    because its diversions are ED arrivals; its outcomes are the clinics' outputs
    (:mod:`sim.des.engine`) and are not kept with the draws."""
    return tuple(
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


def draw_inputs(
    config: DesConfig,
    root_seed: int,
    replicate: int,
    clinics: tuple[ClinicOutcome, ...] | None = None,
) -> RandomInputs:
    """Draw all random input of replicate ``replicate`` (see the module doc). The ED's
    arrivals include the clinics' diversions: ``clinics`` is the replicate's day book
    (:func:`run_clinics`), run here when not given.

    Same ``(config, root_seed, replicate)`` ⇒ identical arrays, bit for bit.
    """
    if clinics is None:
        clinics = run_clinics(config, root_seed, replicate)
    return RandomInputs(
        root_seed=root_seed,
        replicate=replicate,
        beds=_draw_beds(config, root_seed, replicate),
        ed=_draw_ed(config, root_seed, replicate, clinics),
        ambulance=_draw_ambulance(config, root_seed, replicate),
    )
