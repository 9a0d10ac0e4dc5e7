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

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import special

from sim.des.clinics import ClinicOutcome, compile_clinics, simulate_clinic
from sim.des.config import (
    _UNIT_DAYS,
    ED_MODES,
    ArrivalRate,
    DesConfig,
    Duration,
    EmergencyDepartment,
)
from sim.los import gamma_params, lognormal_params
from sim.rng import generator

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
    points = np.cumsum(rng.standard_exponential(int(total + 6.0 * np.sqrt(total) + 16)))
    chunks = [points]
    while chunks[-1][-1] < total:
        chunks.append(
            chunks[-1][-1] + np.cumsum(rng.standard_exponential(int(np.sqrt(total)) + 16))
        )
    if len(chunks) > 1:
        points = np.concatenate(chunks)
    del chunks
    # The points are sorted: those below the total are a prefix.
    points = points[: int(np.searchsorted(points, total, side="left"))]
    # Hour bin j holds cum[j] <= point < cum[j + 1]; such a bin has a positive rate.
    return _hour_bins_to_times(points, cum, per_hour, t0)


@numba.njit(cache=True, nogil=True)
def _hour_bins_to_times(points: Any, cum: Any, per_hour: Any, t0: float) -> Any:
    """``t0 + (j + (point - cum[j]) / per_hour[j]) / 24`` for the bin j of each sorted
    point (cum[j] <= point < cum[j + 1]), by one merge of points and bins."""
    out = np.empty(points.size)
    j = 0
    for k in range(points.size):
        p = points[k]
        while p >= cum[j + 1]:
            j += 1
        out[k] = t0 + (j + (p - cum[j]) / per_hour[j]) / 24.0
    return out


@numba.njit(cache=True, nogil=True)
def _count_le(u: Any, cum: Any) -> Any:
    """``np.searchsorted(cum, u, side="right")``: entries of the sorted ``cum`` <= u."""
    out = np.empty(u.size, np.int64)
    n = cum.size
    for k in range(u.size):
        x = u[k]
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if cum[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        out[k] = lo
    return out


_LUT_CELLS = 4096
"""Cells of [0, 1) (a power of 2: ``u * cells`` is exact) for the bin search of u."""


@numba.njit(cache=True, nogil=True)
def _piecewise(u: Any, shares: Any, cum: Any) -> Any:
    """The bins of :func:`piecewise_uniform_ppf`: ``searchsorted(cum, u, "right")``
    started from the count at the cell of u (m / cells <= u < (m + 1) / cells)."""
    n_cum = cum.size
    start = _count_le(np.arange(_LUT_CELLS) / _LUT_CELLS, cum)
    out = np.empty(u.size)
    top = 1.0 - 1e-12
    for k in range(u.size):
        x = u[k]
        c = start[int(x * _LUT_CELLS)]
        while c < n_cum and cum[c] <= x:
            c += 1
        h = min(max(c - 1, 0), 23)
        width = shares[h] if shares[h] > 0 else 1.0
        out[k] = (h + min(max((x - cum[h]) / width, 0.0), top)) / 24.0
    return out


def piecewise_uniform_ppf(u: FloatArray, hourly: FloatArray) -> FloatArray:
    """Time of day (fraction of a day) at probability ``u`` for hourly shares.

    The inverse CDF of the density that is ``hourly[h]`` spread uniformly over
    hour h: one uniform gives both the hour and the minute.
    """
    shares = np.asarray(hourly, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(shares)])
    cum[-1] = 1.0
    # A zero-share hour is never chosen (its bin is empty); its width is not used.
    return _piecewise(np.ascontiguousarray(u, dtype=float), shares, cum)


def ppf_days(duration: Duration, u: FloatArray) -> FloatArray:
    """``duration.ppf_days(u)``, the very same numbers, without scipy's per-call checks:
    the lognormal as ``exp(sigma * ndtri(u)) * scale``, the gamma as ``gammaincinv``
    (what ``scipy.stats`` computes for u in [0, 1))."""
    dist = duration.dist
    factor = _UNIT_DAYS[duration.unit]
    if dist.family == "lognormal":
        mu, sigma = lognormal_params(dist.mean_days, dist.cv)
        out: FloatArray = np.asarray(special.ndtri(u), dtype=np.float64)
        out *= np.float64(sigma)
        np.exp(out, out=out)
        out *= math.exp(mu)
    elif dist.family in ("gamma", "exponential"):  # as LosDistribution: a gamma
        shape, scale = gamma_params(dist.mean_days, dist.cv)
        out = np.asarray(special.gammaincinv(shape, u), dtype=np.float64)
        out *= scale
    else:
        return duration.ppf_days(u)
    out *= factor
    return out


def _rate_series(rate: ArrivalRate, config: DesConfig) -> FloatArray:
    return extend_for_warmup(np.asarray(rate.daily, dtype=float), config.warmup_days, config.warmup)


@numba.njit(cache=True, nogil=True)
def _scatter(values: Any, pos: Any, at: int, out: Any) -> None:
    """``out[pos[at + k]] = values[k]``: one run's column into the merged order."""
    for k in range(values.size):
        out[pos[at + k]] = values[k]


@numba.njit(cache=True, nogil=True)
def _positions(order: Any, offsets: Any) -> tuple[Any, Any]:
    """The merged row of each input element (the inverse of ``order``) and the run of
    each merged row (runs ``offsets[r]:offsets[r + 1]`` of the input)."""
    pos = np.empty(order.size, np.int64)
    for k in range(order.size):
        pos[order[k]] = k
    run_of = np.empty(order.size, np.int32)
    for r in range(offsets.size - 1):
        for k in range(offsets[r], offsets[r + 1]):
            run_of[pos[k]] = r
    return pos, run_of


def _merged(parts: list[NDArray[Any]], pos: NDArray[np.int64]) -> NDArray[Any]:
    """The columns of the runs ``parts`` in merged order (``pos`` from :func:`_merge`),
    read-only: each run scattered straight into place, no concatenation."""
    out = np.empty(pos.size, dtype=parts[0].dtype)
    at = 0
    for part in parts:
        _scatter(part, pos, at, out)
        at += part.size
    out.flags.writeable = False
    return out


def _merge(times: list[FloatArray]) -> tuple[FloatArray, IntArray, NDArray[np.int64]]:
    """Stable merge of the sorted runs ``times``: by time, equal times by run, within
    a run in order. Returns the merged times (read-only), the run of each merged row
    and the merged row of each input element (the runs concatenated).

    numpy's stable sort is a timsort, which finds the sorted runs and merges them
    (galloping): a k-way merge in compiled code.
    """
    offsets = np.cumsum([0, *(t.size for t in times)]).astype(np.int64)
    cat = times[0] if len(times) == 1 else np.concatenate(times)
    pos, run_of = _positions(np.argsort(cat, kind="stable"), offsets)
    del cat
    return _merged(times, pos), run_of, pos


def _draw_beds(config: DesConfig, seed: int, rep: int) -> BedDraws:
    t0 = -float(config.warmup_days)
    cols: dict[str, list[NDArray[Any]]] = {k: [] for k in ("time", "los", "dh")}
    hourly = np.asarray(config.discharge.hourly)
    for s in config.admissions:
        times = nhpp_times(
            generator(seed, rep, f"des.arrivals.{s.name}"),
            _rate_series(s.arrivals, config),
            np.asarray(s.arrivals.hourly),
            t0,
        )
        n = times.size
        cols["time"].append(times)
        cols["los"].append(ppf_days(s.los, generator(seed, rep, f"des.los.{s.name}").random(n)))
        cols["dh"].append(
            piecewise_uniform_ppf(
                generator(seed, rep, f"des.discharge_hour.{s.name}").random(n), hourly
            )
        )
    if not cols["time"]:
        empty = np.empty(0)
        return BedDraws(empty, np.empty(0, dtype=np.int32), empty, empty)
    time, stream, pos = _merge(cols.pop("time"))  # the stream is the run
    stream.flags.writeable = False
    return BedDraws(
        time=time,
        stream=stream,
        los=_merged(cols.pop("los"), pos),
        discharge_hour=_merged(cols.pop("dh"), pos),
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
    # np.unique(acuity), without its hash pass when the stream has one level
    single = acuity.size > 0 and not (acuity != acuity[0]).any()
    levels = acuity[:1].copy() if single else np.unique(acuity)
    u_treat = generator(seed, rep, f"des.ed.treatment.{key}").random(n)
    treatment = np.empty(n)
    for a, dur in ed.treatment:
        if levels.size == 1 and levels[0] == a:
            treatment = ppf_days(dur, u_treat)
        elif a in levels:
            sel = acuity == a
            treatment[sel] = ppf_days(dur, u_treat[sel])
    del u_treat
    u_disp = generator(seed, rep, f"des.ed.disposition.{key}").random(n)
    disposition = np.empty(n, dtype=np.int32)
    table = {(d.acuity, d.age_band): d for d in ed.dispositions}
    for a in levels:
        cum = np.cumsum(table[(int(a), age_band)].probabilities(pools))
        cum[-1] = 1.0
        if levels.size == 1:
            disposition[:] = np.minimum(_count_le(u_disp, cum), cum.size - 1)
        else:
            sel = acuity == a
            disposition[sel] = np.minimum(_count_le(u_disp[sel], cum), cum.size - 1)
    del u_disp
    u_los = generator(seed, rep, f"des.los.ed.{key}").random(n)
    los = np.full(n, np.nan)
    admitted = np.flatnonzero(disposition >= FIRST_POOL_DISPOSITION)
    pool_of = disposition[admitted] - FIRST_POOL_DISPOSITION
    los_by_pool = dict(ed.admitted_los)
    for k, pool in enumerate(pools):
        rows = admitted[pool_of == k]
        if rows.size:
            los[rows] = ppf_days(los_by_pool[pool], u_los[rows])
    del u_los
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
        k: [] for k in ("time", "acuity", "treatment", "disposition", "los", "dh")
    }
    run_source: list[int] = []
    run_mode: list[int] = []

    def add(
        times: FloatArray, source: int, acuity: NDArray[np.int8], mode: int, key: str, band: str
    ) -> None:
        treatment, disposition, los, dh = _ed_attributes(config, ed, seed, rep, key, acuity, band)
        run_source.append(source)
        run_mode.append(mode)
        for name, values in (
            ("time", times),
            ("acuity", acuity),
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
        acuity = (_count_le(u_acuity, cum) + 1).astype(np.int8)
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
    time, run_of, pos = _merge(cols.pop("time"))  # type: ignore[arg-type]
    merged = {name: _merged(cols.pop(name), pos) for name in list(cols)}
    del pos
    return EDDraws(
        time=time,
        source=frozen(np.array(run_source, dtype=np.int32)[run_of]),
        acuity=merged["acuity"],
        mode=frozen(np.array(run_mode, dtype=np.int8)[run_of]),
        treatment=merged["treatment"],
        disposition=merged["disposition"],
        los=merged["los"],
        discharge_hour=merged["dh"],
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
    travel = ppf_days(amb.travel, generator(seed, rep, "des.ambulance.travel").random(n))
    job = ppf_days(amb.job, generator(seed, rep, "des.ambulance.job").random(n))
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
    _count_le(one, np.array([0.0, 1.0]))
    _merge([one, one])
    for dtype in (np.int8, np.int32):
        _merged([np.zeros(1, dtype)], np.zeros(1, np.int64))
    compile_clinics()


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
