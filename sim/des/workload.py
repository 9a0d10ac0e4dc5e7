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
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sim.des.arrivals import FIRST_POOL_DISPOSITION, RandomInputs, extend_for_warmup
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
    "finish_log",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]

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


def _with_warmup(values: FloatArray, config: DesConfig) -> FloatArray:
    """Per-day capacity from day -warmup: warm-up days take day 0's value."""
    w = config.warmup_days
    return np.concatenate([np.full(w, values[0]), values]) if w else values


def _stages(
    pool: IntArray,
    los: FloatArray,
    plan: NDArray[np.int64],
    plans: list[tuple[tuple[int, float], ...]],
) -> tuple[NDArray[np.int64], IntArray, FloatArray]:
    """Stage arrays of patients with home pool ``pool``, whole stay ``los`` (days) and
    onward stages ``plans[plan[b]]``, each (pool, share of the whole stay); the first
    stage, in the home pool, takes the rest of the stay."""
    lengths = np.array([len(p) for p in plans], dtype=np.int64)
    n_stages = 1 + (lengths[plan] if plans else np.zeros(pool.size, np.int64))
    offset = np.concatenate([[0], np.cumsum(n_stages)]).astype(np.int64)
    first = offset[:-1]
    stage_pool = np.empty(int(offset[-1]), dtype=np.int32)
    stage_los = np.empty(int(offset[-1]))
    stage_pool[first] = pool
    stage_los[first] = los
    for j, rest in enumerate(plans):
        rows = np.flatnonzero(plan == j)
        if rows.size == 0 or not rest:
            continue
        stage_los[first[rows]] = los[rows] * (1.0 - sum(w for _, w in rest))
        for i, (p, w) in enumerate(rest, start=1):
            stage_pool[first[rows] + i] = p
            stage_los[first[rows] + i] = los[rows] * w
    return offset, stage_pool, stage_los


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
    n_pools = len(config.pools)
    capacity = np.array(
        [_with_warmup(p.capacity.by_day(config.start, config.n_days), config) for p in config.pools]
    ).reshape(n_pools, -1)
    shared = np.zeros_like(capacity)
    pooling = config.pooling
    if pooling is not None:
        share = np.asarray(pooling.share, dtype=float) if pooling.share else np.ones(config.n_days)
        share = _with_warmup(share, config)
        members = pooling.pools if pooling.pools is not None else config.pool_names
        for name in members:
            k = config.pool_index(name)
            with np.errstate(invalid="ignore"):
                # inf beds x a share of 0 is no pooling, not NaN
                shared[k] = np.where(share > 0, np.floor(share * capacity[k]), 0.0)
    ed = config.ed
    ed_spaces = (
        _with_warmup(ed.spaces.by_day(config.start, config.n_days), config)
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
    return -float(w) + np.flatnonzero(flags) + config.electives.retry_hour / 24.0


def _bed_patients(
    config: DesConfig, inputs: RandomInputs
) -> tuple[dict[str, np.ndarray], NDArray[np.int64], IntArray, FloatArray]:
    """Per-patient columns and stage arrays: non-ED streams, then ED admissions."""
    beds, ed = inputs.beds, inputs.ed
    by_stream, by_pool = _onward(config)
    n_streams = len(config.admissions)
    stream_pool = np.array([config.pool_index(s.pool) for s in config.admissions], dtype=np.int32)
    stream_route = np.array([ROUTE_CODE[s.route] for s in config.admissions], dtype=np.int8)
    stream_lose = np.array([s.when_full == "lose" for s in config.admissions], dtype=bool)
    nb = beds.time.size
    if ed is not None:
        admitted = np.flatnonzero(ed.disposition >= FIRST_POOL_DISPOSITION).astype(np.int32)
        pool_e = (ed.disposition[admitted] - FIRST_POOL_DISPOSITION).astype(np.int32)
        los_e, dh_e = ed.los[admitted], ed.discharge_hour[admitted]
    else:
        admitted, pool_e = np.empty(0, np.int32), np.empty(0, np.int32)
        los_e, dh_e = np.empty(0), np.empty(0)
    # one stage plan per stream, then one per pool for ED admissions
    plans = [next(iter(d.values())) for d in by_stream] + [
        by_pool.get(k, ()) for k in range(len(config.pools))
    ]
    plan = np.concatenate([beds.stream.astype(np.int64), n_streams + pool_e.astype(np.int64)])
    home = np.concatenate([stream_pool[beds.stream] if nb else np.empty(0, np.int32), pool_e])
    offset, stage_pool, stage_los = _stages(
        home.astype(np.int32), np.concatenate([beds.los, los_e]), plan, plans
    )
    cols = {
        "arrival": np.concatenate([beds.time, np.full(admitted.size, np.nan)]),
        "home_pool": home.astype(np.int32),
        "route": np.concatenate(
            [
                stream_route[beds.stream] if nb else np.empty(0, np.int8),
                np.full(admitted.size, EMERGENCY, np.int8),
            ]
        ).astype(np.int8),
        "lose": np.concatenate(
            [stream_lose[beds.stream] if nb else np.empty(0, bool), np.zeros(admitted.size, bool)]
        ),
        "ed_index": np.concatenate([np.full(nb, -1, np.int32), admitted]).astype(np.int32),
        "discharge_hour": np.concatenate([beds.discharge_hour, dh_e]),
    }
    return cols, offset, stage_pool, stage_los


def build_workload(config: DesConfig, inputs: RandomInputs) -> Workload:
    """The workload of one replicate (see :class:`Workload`)."""
    cols, offset, stage_pool, stage_los = _bed_patients(config, inputs)
    capacity, shared, ed_spaces = _per_day_tables(config)
    ed = inputs.ed
    n_ed = ed.time.size if ed is not None else 0
    ed_patient = np.full(n_ed, -1, dtype=np.int32)
    admitted = cols["ed_index"][cols["ed_index"] >= 0]
    ed_patient[admitted] = inputs.beds.time.size + np.arange(admitted.size, dtype=np.int32)
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
        **{k: _frozen(v) for k, v in cols.items()},
        stage_offset=_frozen(offset),
        stage_pool=_frozen(stage_pool),
        stage_los=_frozen(stage_los),
        ed_arrival=ed.time if ed is not None else np.empty(0),
        ed_acuity=ed.acuity if ed is not None else np.empty(0, np.int8),
        ed_treatment=ed.treatment if ed is not None else np.empty(0),
        ed_patient=_frozen(ed_patient),
        ed_unlimited=bool(ed_spaces.size and np.isinf(ed_spaces).all()),
        capacity=_frozen(capacity),
        shared=_frozen(shared),
        ed_spaces=_frozen(ed_spaces),
        change_days=_frozen(_change_days(capacity, shared, ed_spaces)),
        sessions=_frozen(_sessions(config)),
        reserve=_frozen(np.array([p.elective_reserve for p in config.pools], dtype=np.int32)),
        member=_frozen(member),
        borrow_route=_frozen(borrow_route),
        los_multiplier=float(pooling.los_multiplier) if pooling is not None else 1.0,
        daytime=config.discharge.kind == "daytime",
        ed_policy=ed_policy.name,
        ed_max_wait=_frozen(np.array(ed_policy.max_wait_days(), dtype=float)),
        bed_policy=pooling.policy.name if pooling is not None else MostFreeBeds.name,
    )


def _frozen(a: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(a)
    out.flags.writeable = False
    return out


def _cut(times: FloatArray, t_end: float) -> FloatArray:
    out = np.array(times, dtype=float)
    out[out >= t_end] = np.nan
    return out


def finish_log(work: Workload, raw: RawLog, config: DesConfig) -> HospitalLog:
    """Cut the raw log at the end of the run and derive the per-patient view."""
    t_end = work.t_end
    first = work.stage_offset[:-1]
    last = work.stage_offset[1:] - 1
    stage_end = _cut(raw.stage_end, t_end)
    stages = StageLog(
        pool=work.stage_pool,
        request=_cut(raw.stage_request, t_end),
        start=_cut(raw.stage_start, t_end),
        end=stage_end,
        bed_pool=np.where(np.isnan(_cut(raw.stage_start, t_end)), -1, raw.stage_bed_pool).astype(
            np.int32
        ),
        outlier=raw.stage_outlier,
        patient=np.repeat(np.arange(work.n_patients, dtype=np.int32), np.diff(work.stage_offset)),
    )
    beds = BedLog(
        home_pool=work.home_pool,
        route=work.route,
        request=stages.request[first],
        bed_start=stages.start[first],
        bed_end=stage_end[last],
        bed_pool=stages.bed_pool[first],
        lost=raw.lost,
        ed_index=work.ed_index,
        deferral_events=raw.deferral_events,
    )
    ed = None
    if config.ed is not None:
        ed = EDLog(
            arrival=work.ed_arrival,
            space_start=_cut(raw.ed_space_start, t_end),
            treated=_cut(raw.ed_treated, t_end),
            space_end=_cut(raw.ed_space_end, t_end),
        )
    return HospitalLog(
        beds=beds,
        stages=stages,
        ed=ed,
        capacity=work.capacity,
        shared=work.shared,
        ed_spaces=work.ed_spaces,
        booking_sessions=work.sessions,
        end_in_bed=raw.end_in_bed,
        end_queued=raw.end_queued,
        end_waitlist=raw.end_waitlist,
        end_in_ed=raw.end_in_ed,
    )
