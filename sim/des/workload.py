"""What both DES engines read and write: the workload (flat arrays) and the patient log.

The rules of the hospital, which the SimPy reference model
(:mod:`sim.des.hospital`) and the compiled engine (:mod:`sim.des.compiled`) both
obey, event for event, are in ``sim/des/RULES.md``. Neither engine reads a
:class:`~sim.des.config.DesConfig` or the :class:`~sim.des.arrivals.RandomInputs`
directly: :func:`build_workload` turns them into a :class:`Workload` of plain
arrays, the engines return a :class:`RawLog` of plain arrays, and
:func:`finish_log` turns that into the :class:`HospitalLog` that the outputs
(:mod:`sim.des.engine`) read. So the two engines differ only in how they run the
rules, and their logs can be compared bit for bit.

Times are days from 00:00 of ``DesConfig.start`` (warm-up days negative). "Day d"
of the per-day tables is ``[t0 + d, t0 + d + 1)``, warm-up days first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numba
import numpy as np
from numpy.typing import NDArray

from sim.des.arrivals import FIRST_POOL_DISPOSITION, RandomInputs, extend_for_warmup, frozen
from sim.des.config import ROUTES, DesConfig
from sim.des.policies import MostFreeBeds, StrictTriage

__all__ = [
    "DIRECT",
    "ELECTIVE",
    "EMERGENCY",
    "MATERNITY",
    "BedLog",
    "EDLog",
    "HospitalLog",
    "RawLog",
    "StageLog",
    "Workload",
    "build_workload",
    "compile_log",
    "finish_log",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]

_NO_REFCOUNT: Final[dict[str, Any]] = {"cache": True, "nogil": True, "_nrt": False}
"""numba's options of a pass that allocates nothing (its arrays come from numpy):
without its reference-counting runtime (``_nrt``, a private switch, not in numba's
type stubs), which can count references to arrays on every row of a loop (an
inlined helper given four arrays made a pass ten times as long, numba 0.68,
measured)."""

ROUTE_CODE: Final = {r: i for i, r in enumerate(ROUTES)}
EMERGENCY: Final = ROUTE_CODE["emergency"]
ELECTIVE: Final = ROUTE_CODE["elective"]
MATERNITY: Final = ROUTE_CODE["maternity"]
DIRECT: Final = ROUTE_CODE["direct"]


@dataclass(frozen=True, eq=False)
class Workload:
    """Everything an engine needs for one replicate, as arrays (read-only).

    Bed patients: one row each, the non-ED streams first (in time order), then the
    ED's admitted patients (in ED order). A patient's stay is a sequence of
    *stages*, rows ``stage_offset[b]`` to ``stage_offset[b + 1] - 1`` of the stage
    arrays; the first stage is in the home pool.
    """

    t0: float
    """Start of the run (minus the warm-up), days."""
    t_end: float
    """End of the run, days: events at or after it do not happen."""
    n_pools: int
    # --- bed patients -------------------------------------------------------------
    arrival: FloatArray
    """Time of the first bed request (booking time of electives); NaN for ED
    admissions, whose request is the end of their ED treatment."""
    home_pool: IntArray
    route: NDArray[np.int8]
    """Index into ``config.ROUTES`` (0 emergency = through the ED)."""
    lose: NDArray[np.bool_]
    """Turned away when no bed can be had (``when_full="lose"``), instead of queueing."""
    ed_index: IntArray
    """Row in the ED arrays (-1 for non-ED streams)."""
    discharge_hour: FloatArray
    """Time of day of discharge under the daytime rule, fraction of a day."""
    stage_offset: NDArray[np.int64]
    """Stage rows of patient b: ``stage_offset[b]:stage_offset[b + 1]`` (n_patients + 1)."""
    stage_pool: IntArray
    """Pool of each stage."""
    stage_los: FloatArray
    """Length of each stage, days, before any outlier multiplier."""
    # --- emergency department -------------------------------------------------------
    ed_arrival: FloatArray
    ed_acuity: NDArray[np.int8]
    """Triage level 1..4."""
    ed_treatment: FloatArray
    """Treatment time, days."""
    ed_patient: IntArray
    """Bed-patient row of an admitted ED patient; -1 for those who go home or are
    transferred (they leave the ED at the end of treatment)."""
    ed_unlimited: bool
    """ED spaces are unlimited on every day (patients who are not admitted then meet
    no queue and may be computed directly)."""
    # --- per day, warm-up included ------------------------------------------------
    capacity: FloatArray
    """Beds by pool and day (n_pools, n_all); inf = unlimited."""
    shared: FloatArray
    """Beds of each pool open to other pools' patients, by day (n_pools, n_all):
    ``floor(share(d) * capacity)`` for a pool of the one-bed-pool reform, else 0."""
    ed_spaces: FloatArray
    """ED treatment spaces by day (n_all,); empty without an ED."""
    change_days: NDArray[np.int64]
    """Days d >= 1 whose beds, shared beds or ED spaces differ from day d - 1 (a
    capacity-change event at 00:00 of each)."""
    sessions: FloatArray
    """Times of the elective booking sessions, ascending."""
    # --- rules ------------------------------------------------------------------------
    reserve: IntArray
    """Beds of each pool an elective may not take (the elective reserve)."""
    member: NDArray[np.bool_]
    """Pools of the one-bed-pool reform (may borrow and lend beds)."""
    borrow_route: NDArray[np.bool_]
    """Routes (index into ROUTES) whose patients may take another pool's bed."""
    los_multiplier: float
    """Stay multiplier of a patient placed in another pool's bed (outlier)."""
    daytime: bool
    """Discharges happen in the daytime (``DischargeRule.kind == "daytime"``)."""
    ed_policy: str
    """ED queue discipline, a name of :data:`sim.des.policies.ED_POLICIES`."""
    ed_max_wait: FloatArray
    """Maximum wait by acuity 1..4, days (the ``max_wait`` discipline; inf = none)."""
    bed_policy: str
    """Bed-allocation rule, a name of :data:`sim.des.policies.BED_POLICIES`."""

    @property
    def n_patients(self) -> int:
        return int(self.arrival.size)

    @property
    def n_ed(self) -> int:
        return int(self.ed_arrival.size)

    @property
    def n_days_all(self) -> int:
        return int(self.capacity.shape[1])

    def day_start(self, d: int) -> float:
        """Time of 00:00 of day d of the per-day tables."""
        return self.t0 + d


@dataclass(frozen=True, eq=False)
class RawLog:
    """What an engine returns: times as simulated (NaN = did not happen), not yet cut
    at the end of the run. Both engines must return identical arrays."""

    stage_request: FloatArray
    """Time each stage asked for its bed (first stage: the patient's bed request)."""
    stage_start: FloatArray
    """Time the stage's bed was taken."""
    stage_end: FloatArray
    """Time the stage's bed was left (discharge, or the move into the next stage's bed)."""
    stage_bed_pool: IntArray
    """Pool whose bed the stage took (-1 if none)."""
    stage_outlier: NDArray[np.bool_]
    """The stage's bed was another pool's (one-bed-pool reform)."""
    lost: NDArray[np.bool_]
    """Patient turned away."""
    deferral_events: IntArray
    """Elective deferral events of each patient: 1 when deferred at booking, plus one
    at each booking session at which the patient stays on the waiting list."""
    ed_space_start: FloatArray
    ed_treated: FloatArray
    ed_space_end: FloatArray
    end_in_bed: IntArray
    """Patients in a bed at the end, by home pool."""
    end_queued: IntArray
    """Patients waiting for a bed (emergency class and blocked transfers) at the end,
    by the pool they wait for."""
    end_waitlist: IntArray
    """Electives on the waiting list at the end, by pool."""
    end_in_ed: int
    """Patients in the ED (treated, boarding or waiting) at the end; -1 when the ED is
    unlimited and its patients who are not admitted were not simulated."""


@dataclass(frozen=True, eq=False)
class StageLog:
    """One row per stage (rows of patient b: ``Workload.stage_offset``); times in days,
    NaN = did not happen before the end of the run."""

    pool: IntArray
    """Pool of the stage (the bed it is meant for)."""
    request: FloatArray
    start: FloatArray
    end: FloatArray
    bed_pool: IntArray
    outlier: NDArray[np.bool_]
    patient: IntArray
    """Bed-patient row of each stage."""


@dataclass(frozen=True, eq=False)
class BedLog:
    """One row per bed patient (non-ED streams first, then ED admissions).

    Times in days; NaN = did not happen before the end of the run.
    """

    home_pool: IntArray
    route: NDArray[np.int8]
    request: FloatArray
    """Time the first bed was requested (booking time of electives; end of ED treatment)."""
    bed_start: FloatArray
    """Time the first bed was taken (NaN: turned away, or still waiting at the end)."""
    bed_end: FloatArray
    """Discharge time from the last stage (NaN: still in hospital at the end)."""
    bed_pool: IntArray
    """Pool whose bed the first stage took (-1 if none)."""
    lost: NDArray[np.bool_]
    ed_index: IntArray
    deferral_events: IntArray
    """Elective deferral events (see :class:`RawLog`); events at or after the end of
    the run are not counted beyond the last session before it."""


@dataclass(frozen=True, eq=False)
class EDLog:
    """One row per ED arrival (order of ``RandomInputs.ed``); times in days."""

    arrival: FloatArray
    space_start: FloatArray
    treated: FloatArray
    space_end: FloatArray


@dataclass(frozen=True, eq=False)
class HospitalLog:
    beds: BedLog
    stages: StageLog
    ed: EDLog | None
    capacity: FloatArray
    """Beds by pool and day, shape (n_pools, warm-up + simulated days)."""
    shared: FloatArray
    """Beds open to other pools by pool and day (same shape)."""
    ed_spaces: FloatArray
    """ED spaces by day (warm-up days first); empty without an ED."""
    booking_sessions: FloatArray
    end_in_bed: IntArray
    end_queued: IntArray
    end_waitlist: IntArray
    end_in_ed: int


def capacity_with_warmup(values: FloatArray, warmup_days: int) -> FloatArray:
    """Per-day capacity (beds, shared beds, ED spaces, ambulances) from day -warmup: the
    warm-up days take day 0's value."""
    w = warmup_days
    return np.concatenate([np.full(w, values[0]), values]) if w else values


Plan = tuple[tuple[int, float], ...]


def _onward(config: DesConfig) -> tuple[list[dict[int, Plan]], dict[int, Plan]]:
    """Onward stages of each stream (keyed by its pool) and of ED admissions by pool."""
    by_stream = [
        {config.pool_index(s.pool): tuple((config.pool_index(p), w) for p, w in s.onward)}
        for s in config.admissions
    ]
    by_pool: dict[int, Plan] = {}
    if config.ed is not None:
        for p, rest in config.ed.admitted_onward:
            by_pool[config.pool_index(p)] = tuple((config.pool_index(q), w) for q, w in rest)
    return by_stream, by_pool


def _per_day_tables(config: DesConfig) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Beds, shared beds (n_pools, n_all) and ED spaces (n_all,), warm-up days first."""
    n_pools, w = len(config.pools), config.warmup_days
    capacity = np.array(
        [
            capacity_with_warmup(p.capacity.by_day(config.start, config.n_days), w)
            for p in config.pools
        ]
    ).reshape(n_pools, -1)
    shared = np.zeros_like(capacity)
    pooling = config.pooling
    if pooling is not None:
        share = np.asarray(pooling.share, dtype=float) if pooling.share else np.ones(config.n_days)
        share = capacity_with_warmup(share, w)
        members = pooling.pools if pooling.pools is not None else config.pool_names
        for name in members:
            k = config.pool_index(name)
            with np.errstate(invalid="ignore"):
                # inf beds x a share of 0 is no pooling, not NaN
                shared[k] = np.where(share > 0, np.floor(share * capacity[k]), 0.0)
    ed = config.ed
    ed_spaces = (
        capacity_with_warmup(ed.spaces.by_day(config.start, config.n_days), config.warmup_days)
        if ed is not None
        else np.empty(0)
    )
    return capacity, shared, ed_spaces


def _change_days(
    capacity: FloatArray, shared: FloatArray, ed_spaces: FloatArray
) -> NDArray[np.int64]:
    changed = np.any(capacity[:, 1:] != capacity[:, :-1], axis=0) | np.any(
        shared[:, 1:] != shared[:, :-1], axis=0
    )
    if ed_spaces.size:
        changed |= ed_spaces[1:] != ed_spaces[:-1]
    return (np.flatnonzero(changed) + 1).astype(np.int64)


def _sessions(config: DesConfig) -> FloatArray:
    """Times of the booking sessions (warm-up included), ascending."""
    if config.electives is None:
        return np.empty(0)
    flags = np.asarray(config.electives.booking_days, dtype=bool)
    w = config.warmup_days
    if w:
        if config.warmup == "mean":
            flags = np.concatenate([np.ones(w, bool), flags])
        else:
            flags = extend_for_warmup(flags.astype(float), w, config.warmup) > 0.5
    days = np.flatnonzero(flags).astype(np.float64)
    return np.asarray(days - float(w) + config.electives.retry_hour / 24.0, dtype=np.float64)


def _plan_tables(
    config: DesConfig,
) -> tuple[NDArray[np.int64], IntArray, FloatArray, FloatArray]:
    """Stage plans as flat tables: one plan per stream, then one per pool for ED
    admissions. Plan j's onward stages are rows ``start[j]:start[j + 1]`` of the pool
    and share (of the whole stay) tables; its first stage takes ``first_share[j]`` of
    the stay (exactly ``1.0 - sum(shares)``, summed left to right as before)."""
    by_stream, by_pool = _onward(config)
    plans = [next(iter(d.values())) for d in by_stream] + [
        by_pool.get(k, ()) for k in range(len(config.pools))
    ]
    start = np.cumsum([0, *(len(p) for p in plans)]).astype(np.int64)
    pool = np.array([q for p in plans for q, _ in p], dtype=np.int32)
    share = np.array([w for p in plans for _, w in p], dtype=np.float64)
    first_share = np.array([1.0 - sum(w for _, w in p) if p else 1.0 for p in plans])
    return start, pool, share, first_share


@numba.njit(cache=True, nogil=True)
def _count_patients(
    stream: Any, disposition: Any, n_streams: int, plan_start: Any
) -> tuple[int, int]:
    """Bed patients and stages: each non-ED patient and each ED patient admitted
    (``disposition >= FIRST_POOL_DISPOSITION``) has the first stage and the onward
    stages of its plan (plan ``n_streams + pool`` for an ED admission)."""
    n = stream.size
    n_stages = 0
    for k in range(stream.size):
        n_stages += 1 + plan_start[stream[k] + 1] - plan_start[stream[k]]
    for k in range(disposition.size):
        if disposition[k] >= FIRST_POOL_DISPOSITION:
            j = n_streams + disposition[k] - FIRST_POOL_DISPOSITION
            n += 1
            n_stages += 1 + plan_start[j + 1] - plan_start[j]
    return n, n_stages


@numba.njit(**_NO_REFCOUNT)
def _fill_patients(
    beds: tuple[Any, Any, Any, Any],
    ed: tuple[Any, Any, Any],
    streams: tuple[Any, Any, Any],
    plans: tuple[Any, Any, Any, Any],
    out: tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any],
) -> None:
    """The bed patients' columns and stages: the non-ED patients (``beds``: stream,
    arrival time, length of stay, discharge hour), then the ED patients admitted
    (``ed``: disposition, length of stay, discharge hour) in ED order.

    ``streams`` gives each stream's pool, route and loss rule; ``plans`` the stage
    tables of :func:`_plan_tables`. The first stage's length is ``los * first_share``
    of the patient's plan (multiplying by 1.0 when it has no onward stage is exact).
    Writes ``out`` (sized by :func:`_count_patients`): arrival (NaN for ED admissions,
    as given), home pool, route (emergency, as given, for ED admissions), loss rule
    (False, as given, for ED admissions), ED row (-1, as given, for the non-ED
    streams), discharge hour, stage offsets, stage pools, stage lengths (days).
    """
    stream, time, los, hour = beds
    disposition, ed_los, ed_hour = ed
    stream_pool, stream_route, stream_lose = streams
    plan_start, plan_pool, plan_share, first_share = plans
    arrival, home, route, lose, ed_index, discharge_hour, offset, stage_pool, stage_los = out
    nb = stream.size
    n = home.size
    n_streams = stream_pool.size
    b = 0
    r = 0
    for k in range(nb + disposition.size):
        if k < nb:
            j = stream[k]
            pool = stream_pool[j]
            whole = los[k]
            arrival[b] = time[k]
            route[b] = stream_route[j]
            lose[b] = stream_lose[j]
            discharge_hour[b] = hour[k]
        else:
            e = k - nb
            if disposition[e] < FIRST_POOL_DISPOSITION:
                continue
            pool = disposition[e] - FIRST_POOL_DISPOSITION
            j = n_streams + pool
            whole = ed_los[e]
            ed_index[b] = e
            discharge_hour[b] = ed_hour[e]
        home[b] = pool
        offset[b] = r
        stage_pool[r] = pool
        stage_los[r] = whole * first_share[j]
        r += 1
        for i in range(plan_start[j], plan_start[j + 1]):
            stage_pool[r] = plan_pool[i]
            stage_los[r] = whole * plan_share[i]
            r += 1
        b += 1
    offset[n] = r


def _bed_patients(
    config: DesConfig, inputs: RandomInputs
) -> tuple[dict[str, np.ndarray], NDArray[np.int64], IntArray, FloatArray]:
    """Per-patient columns and stage arrays: non-ED streams, then ED admissions."""
    beds, ed = inputs.beds, inputs.ed
    streams = (
        np.array([config.pool_index(s.pool) for s in config.admissions], dtype=np.int32),
        np.array([ROUTE_CODE[s.route] for s in config.admissions], dtype=np.int8),
        np.array([s.when_full == "lose" for s in config.admissions], dtype=np.bool_),
    )
    from_ed = (ed.disposition, ed.los, ed.discharge_hour) if ed is not None else _NO_ED
    plans = _plan_tables(config)
    out = _patient_arrays(*_count_patients(beds.stream, from_ed[0], streams[0].size, plans[0]))
    _fill_patients(
        (beds.stream, beds.time, beds.los, beds.discharge_hour), from_ed, streams, plans, out
    )
    *columns, offset, stage_pool, stage_los = out
    names = ("arrival", "home_pool", "route", "lose", "ed_index", "discharge_hour")
    return dict(zip(names, columns, strict=True)), offset, stage_pool, stage_los


def _patient_arrays(n: int, n_stages: int) -> tuple[np.ndarray, ...]:
    """The arrays :func:`_fill_patients` writes, for n bed patients and ``n_stages``
    stages, with the values it leaves as they are. From numpy, not numba: numpy asks
    for huge pages (numba does not: a first touch of its large arrays costs twice as
    much)."""
    return (
        np.full(n, np.nan),
        np.empty(n, np.int32),
        np.full(n, EMERGENCY, np.int8),
        np.zeros(n, np.bool_),
        np.full(n, -1, np.int32),
        np.empty(n),
        np.empty(n + 1, np.int64),
        np.empty(n_stages, np.int32),
        np.empty(n_stages),
    )


_NO_ED: Final = (frozen(np.empty(0, np.int32)), frozen(np.empty(0)), frozen(np.empty(0)))
"""The ED columns of a configuration without an ED."""


def build_workload(config: DesConfig, inputs: RandomInputs) -> Workload:
    """The workload of one replicate (see :class:`Workload`)."""
    cols, offset, stage_pool, stage_los = _bed_patients(config, inputs)
    capacity, shared, ed_spaces = _per_day_tables(config)
    ed = inputs.ed
    n_ed = ed.time.size if ed is not None else 0
    ed_patient = np.full(n_ed, -1, dtype=np.int32)
    nb = inputs.beds.time.size
    ed_patient[cols["ed_index"][nb:]] = np.arange(nb, cols["ed_index"].size, dtype=np.int32)
    pooling = config.pooling
    member = np.zeros(len(config.pools), dtype=bool)
    borrow_route = np.zeros(len(ROUTES), dtype=bool)
    if pooling is not None:
        for name in pooling.pools if pooling.pools is not None else config.pool_names:
            member[config.pool_index(name)] = True
        borrow_route[[ROUTE_CODE[r] for r in pooling.routes]] = True
    ed_policy = config.ed.policy if config.ed is not None else StrictTriage()
    return Workload(
        t0=-float(config.warmup_days),
        t_end=float(config.n_days),
        n_pools=len(config.pools),
        **{k: frozen(v) for k, v in cols.items()},
        stage_offset=frozen(offset),
        stage_pool=frozen(stage_pool),
        stage_los=frozen(stage_los),
        ed_arrival=ed.time if ed is not None else np.empty(0),
        ed_acuity=ed.acuity if ed is not None else np.empty(0, np.int8),
        ed_treatment=ed.treatment if ed is not None else np.empty(0),
        ed_patient=frozen(ed_patient),
        ed_unlimited=bool(ed_spaces.size and np.isinf(ed_spaces).all()),
        capacity=frozen(capacity),
        shared=frozen(shared),
        ed_spaces=frozen(ed_spaces),
        change_days=frozen(_change_days(capacity, shared, ed_spaces)),
        sessions=frozen(_sessions(config)),
        reserve=frozen(np.array([p.elective_reserve for p in config.pools], dtype=np.int32)),
        member=frozen(member),
        borrow_route=frozen(borrow_route),
        los_multiplier=float(pooling.los_multiplier) if pooling is not None else 1.0,
        daytime=config.discharge.kind == "daytime",
        ed_policy=ed_policy.name,
        ed_max_wait=frozen(np.array(ed_policy.max_wait_days(), dtype=float)),
        bed_policy=pooling.policy.name if pooling is not None else MostFreeBeds.name,
    )


def _owned(values: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    """``values`` itself when it is a writable contiguous ``dtype`` array, else a copy."""
    if values.dtype == dtype and values.flags.writeable and values.flags.c_contiguous:
        return values
    return np.array(values, dtype=dtype)


@numba.njit(cache=True, nogil=True)
def _cut_in_place(times: Any, t_end: float) -> None:
    """Times at or after ``t_end`` (days) become NaN, in place."""
    for k in range(times.size):
        if times[k] >= t_end:
            times[k] = np.nan


@numba.njit(cache=True, nogil=True)
def _cut_starts(start: Any, bed_pool: Any, t_end: float) -> None:
    """Cut the stage starts at ``t_end`` (days) in place; a stage that did not start
    before it has no bed (pool -1)."""
    for k in range(start.size):
        if start[k] >= t_end:
            start[k] = np.nan
        if np.isnan(start[k]):
            bed_pool[k] = -1


@numba.njit(cache=True, nogil=True)
def _per_patient(
    offset: Any, request: Any, start: Any, end: Any, bed_pool: Any
) -> tuple[Any, Any, Any, Any, Any]:
    """In one pass over the stage offsets: the bed-patient row of each stage (int32),
    and by patient the first stage's request, start and bed pool and the last
    stage's end."""
    n = offset.size - 1
    patient = np.empty(offset[-1], np.int32)
    b_request = np.empty(n)
    b_start = np.empty(n)
    b_end = np.empty(n)
    b_pool = np.empty(n, np.int32)
    for b in range(n):
        first = offset[b]
        stop = offset[b + 1]
        for r in range(first, stop):
            patient[r] = b
        b_request[b] = request[first]
        b_start[b] = start[first]
        b_pool[b] = bed_pool[first]
        b_end[b] = end[stop - 1]
    return patient, b_request, b_start, b_end, b_pool


def finish_log(work: Workload, raw: RawLog, config: DesConfig) -> HospitalLog:
    """Cut the raw log at the end of the run and derive the per-patient view.

    Consumes ``raw``: its writable time and pool arrays are cut in place (times at or
    after the end become NaN, the bed pool of a stage not started becomes -1) and
    become the log's arrays, so the caller must not read ``raw`` afterwards.
    """
    stages, per_patient = _stage_log(work, raw)
    beds = BedLog(
        home_pool=work.home_pool,
        route=work.route,
        request=per_patient[0],
        bed_start=per_patient[1],
        bed_end=per_patient[2],
        bed_pool=per_patient[3],
        lost=raw.lost,
        ed_index=work.ed_index,
        deferral_events=raw.deferral_events,
    )
    return HospitalLog(
        beds=beds,
        stages=stages,
        ed=_ed_log(work, raw) if config.ed is not None else None,
        capacity=work.capacity,
        shared=work.shared,
        ed_spaces=work.ed_spaces,
        booking_sessions=work.sessions,
        end_in_bed=raw.end_in_bed,
        end_queued=raw.end_queued,
        end_waitlist=raw.end_waitlist,
        end_in_ed=raw.end_in_ed,
    )


def _stage_log(work: Workload, raw: RawLog) -> tuple[StageLog, tuple[np.ndarray, ...]]:
    """The stages' log, cut at the end of the run (in place, see :func:`finish_log`),
    and by patient the first stage's request, start and bed pool and the last stage's
    end (days; pool -1 for a stage not started)."""
    t_end = work.t_end
    request = _owned(raw.stage_request, np.float64)
    start = _owned(raw.stage_start, np.float64)
    stage_end = _owned(raw.stage_end, np.float64)
    bed_pool = _owned(raw.stage_bed_pool, np.int32)
    _cut_in_place(request, t_end)
    _cut_starts(start, bed_pool, t_end)
    _cut_in_place(stage_end, t_end)
    n_stages = int(work.stage_offset[-1])
    if n_stages == work.n_patients:  # one stage each: stage rows are patient rows
        patient = np.arange(n_stages, dtype=np.int32)
        per_patient: tuple[np.ndarray, ...] = (request, start, stage_end, bed_pool)
    else:
        patient, *rest = _per_patient(work.stage_offset, request, start, stage_end, bed_pool)
        per_patient = tuple(rest)
    stages = StageLog(
        pool=work.stage_pool,
        request=request,
        start=start,
        end=stage_end,
        bed_pool=bed_pool,
        outlier=raw.stage_outlier,
        patient=patient,
    )
    return stages, per_patient


def _ed_log(work: Workload, raw: RawLog) -> EDLog:
    """The ED's log, its times cut at the end of the run (in place, days)."""
    cut = []
    for times in (raw.ed_space_start, raw.ed_treated, raw.ed_space_end):
        cut.append(_owned(times, np.float64))
        _cut_in_place(cut[-1], work.t_end)
    return EDLog(arrival=work.ed_arrival, space_start=cut[0], treated=cut[1], space_end=cut[2])


def compile_log() -> None:
    """Compile (or load from numba's on-disk cache) the kernels of the workload and of
    :func:`finish_log`, on tiny inputs of the types a replicate passes."""

    def ro(values: list[Any], dtype: type[np.generic]) -> np.ndarray:
        out = np.array(values, dtype=dtype)
        out.flags.writeable = False
        return out

    one = np.ones(1)
    stream = ro([0], np.int32)
    disposition = ro([FIRST_POOL_DISPOSITION], np.int32)
    plans = (np.array([0, 0, 0], np.int64), np.empty(0, np.int32), np.empty(0), np.ones(2))
    _fill_patients(
        (stream, ro([0.5], np.float64), ro([1.0], np.float64), ro([0.5], np.float64)),
        (disposition, ro([1.0], np.float64), ro([0.5], np.float64)),
        (np.zeros(1, np.int32), np.zeros(1, np.int8), np.zeros(1, np.bool_)),
        plans,
        _patient_arrays(*_count_patients(stream, disposition, 1, plans[0])),
    )
    _cut_in_place(one, 1.0)
    _cut_starts(one, np.zeros(1, np.int32), 1.0)
    _per_patient(ro([0, 1], np.int64), one, one, one, np.zeros(1, np.int32))
