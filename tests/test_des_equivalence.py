"""The two hospital engines against each other and against the rules' invariants.

``sim/des/RULES.md`` is the contract: the SimPy reference model
(:mod:`sim.des.hospital`) and the compiled engine (:mod:`sim.des.compiled`) must
return identical :class:`~sim.des.workload.RawLog` arrays, bit for bit, for every
:class:`~sim.des.workload.Workload`. Here:

* a hypothesis strategy builds small valid workloads directly (1-4 pools, capacities
  by day with reductions, 0 and inf, the reform's shared beds from a share path,
  reserves, electives and booking sessions, lose streams, an ED with limited or
  unlimited spaces, stays of 1-3 stages across pools, daytime discharge, both ED and
  both bed policies, a warm-up); times are often drawn on a coarse grid (multiples of
  a quarter day) and stages and treatments may last 0 days, so that simultaneous
  events — and the rules' order of them — are exercised on purpose;
* every generated case is checked against :func:`check_invariants` (capacity, order of
  times, conservation, the end counters) on both engines, then the logs compared;
* the real front door (``DesConfig`` -> ``draw_inputs`` -> ``build_workload``) on the
  small district of ``tests/test_des_engine.py``, with pooling and onward stages;
* a golden digest of the compiled engine's log (``tests/data/des_golden.json``;
  ``UPDATE_GOLDEN=1`` rewrites it);
* two directional checks on paired replicates (same random numbers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from sim.base.los import LosDistribution
from sim.des import compiled
from sim.des import hospital as reference
from sim.des.arrivals import draw_inputs
from sim.des.builder import START, small_district
from sim.des.config import (
    AdmissionStream,
    ArrivalRate,
    BedPool,
    CapacitySchedule,
    DesConfig,
    Duration,
    WholeHospitalPooling,
)
from sim.des.policies import (
    BedAllocationPolicy,
    EDQueuePolicy,
    FirstListedPool,
    MaxWaitTriage,
    MostFreeBeds,
    StrictTriage,
)
from sim.des.workload import (
    DIRECT,
    ELECTIVE,
    EMERGENCY,
    MATERNITY,
    RawLog,
    Workload,
    build_workload,
)

GOLDEN = Path(__file__).resolve().parent / "data" / "des_golden.json"
GRID = 0.25
"""Coarse grid of times (days): draws on it make simultaneous events."""
INF = math.inf
FloatArray = NDArray[np.float64]
Case = tuple[Workload, EDQueuePolicy, BedAllocationPolicy]


# --- running both engines ---------------------------------------------------------------
def run_reference(work: Workload, ed: EDQueuePolicy, bed: BedAllocationPolicy) -> RawLog:
    return reference.simulate(work, ed, bed)


def run_compiled(work: Workload) -> RawLog:
    return compiled.simulate(work)


def _where(work: Workload, name: str, i: int) -> str:
    """Which patient / stage / ED row an index of a RawLog field is."""
    if name.startswith("stage_"):
        b = int(np.searchsorted(work.stage_offset, i, side="right") - 1)
        return f"stage row {i} = patient {b} stage {i - int(work.stage_offset[b])}"
    if name.startswith("ed_"):
        return f"ED row {i} (bed patient {int(work.ed_patient[i])})"
    if name.startswith("end_"):
        return f"pool {i}"
    return f"patient {i}"


def log_differences(work: Workload, a: RawLog, b: RawLog) -> list[str]:
    """Every field of two raw logs that is not identical (same dtype and shape, the same
    bits; NaN equal to NaN), described."""
    out = []
    for f in dataclasses.fields(RawLog):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if np.isscalar(x) or np.isscalar(y) or np.ndim(x) == 0:
            if x != y:
                out.append(f"{f.name}: reference {x!r} != compiled {y!r}")
            continue
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            out.append(f"{f.name}: shape {x.shape} != {y.shape}")
            continue
        if x.dtype != y.dtype:
            out.append(f"{f.name}: dtype {x.dtype} (reference) != {y.dtype} (compiled)")
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            # bit for bit (0.0 is not -0.0), any NaN equal to any NaN
            xb, yb = x.astype(np.float64), y.astype(np.float64)
            same = (xb.view(np.int64) == yb.view(np.int64)) | (np.isnan(xb) & np.isnan(yb))
        else:
            same = x == y
        if not same.all():
            bad = np.flatnonzero(~same)
            first = [f"{_where(work, f.name, int(i))}: {x[i]!r} vs {y[i]!r}" for i in bad[:5]]
            out.append(f"{f.name}: {bad.size} rows differ (reference vs compiled): {first}")
    return out


def assert_same_log(work: Workload, a: RawLog, b: RawLog) -> None:
    diffs = log_differences(work, a, b)
    assert not diffs, "the engines disagree:\n  " + "\n  ".join(diffs)


# --- invariants of any run ---------------------------------------------------------------
def _after(plus: FloatArray, minus: FloatArray, at: FloatArray) -> NDArray[np.int64]:
    """Level just after every event at time ``at`` (counting up at ``plus``, down at
    ``minus``), i.e. #plus <= at - #minus <= at."""
    p = np.sort(plus[~np.isnan(plus)])
    m = np.sort(minus[~np.isnan(minus)])
    return np.searchsorted(p, at, side="right") - np.searchsorted(m, at, side="right")


def _limit_at(work: Workload, table: FloatArray, at: FloatArray) -> FloatArray:
    """Capacity in force at times ``at`` from a per-day table; at 00:00 of a day the
    larger of the two days' values (events of class 0-1 at that instant precede the
    capacity change, those of class 3-5 follow it)."""
    rel = at - work.t0
    d = np.clip(np.floor(rel).astype(np.int64), 0, table.shape[-1] - 1)
    now = table[..., d]
    boundary = (rel == np.floor(rel)) & (d >= 1)
    before = table[..., np.maximum(d - 1, 0)]
    return np.where(boundary, np.maximum(now, before), now)


def _same(a: Any, b: Any) -> NDArray[np.bool_]:
    """Elementwise equality, NaN equal to NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return (a == b) | (np.isnan(a) & np.isnan(b))


def check_invariants(work: Workload, raw: RawLog, engine: str = "") -> None:
    """Rules every run must satisfy (``sim/des/RULES.md``); raises AssertionError naming
    the engine, the rule and the rows."""
    tag = f"[{engine}] " if engine else ""

    def need(ok: Any, what: str, rows: Any = None) -> None:
        ok_all = bool(np.all(ok))
        if not ok_all:
            where = ""
            if rows is not None:
                bad = np.flatnonzero(~np.asarray(ok, dtype=bool))[:5]
                where = f" at rows {[int(np.asarray(rows)[i]) for i in bad]}"
            raise AssertionError(f"{tag}{what}{where}")

    t0, t_end = work.t0, work.t_end
    off = work.stage_offset
    n, ns, n_ed = work.n_patients, int(off[-1]), work.n_ed
    first, last = off[:-1], off[1:] - 1
    stage_of = np.arange(ns) - np.repeat(first, np.diff(off))
    patient_of = np.repeat(np.arange(n), np.diff(off))
    req, start, end = raw.stage_request, raw.stage_start, raw.stage_end
    bed_pool, outlier = raw.stage_bed_pool, raw.stage_outlier
    for name, arr, size in [
        ("stage_request", req, ns),
        ("stage_start", start, ns),
        ("stage_end", end, ns),
        ("stage_bed_pool", bed_pool, ns),
        ("stage_outlier", outlier, ns),
        ("lost", raw.lost, n),
        ("deferral_events", raw.deferral_events, n),
        ("ed_space_start", raw.ed_space_start, n_ed),
        ("ed_treated", raw.ed_treated, n_ed),
        ("ed_space_end", raw.ed_space_end, n_ed),
        ("end_in_bed", raw.end_in_bed, work.n_pools),
        ("end_queued", raw.end_queued, work.n_pools),
        ("end_waitlist", raw.end_waitlist, work.n_pools),
    ]:
        need(np.shape(arr) == (size,), f"{name} has shape {np.shape(arr)}, not ({size},)")
    rows = np.arange(ns)
    # -- nothing happens at or after t_end; nothing before t0
    has_req, has_start, has_end = ~np.isnan(req), ~np.isnan(start), ~np.isnan(end)
    need(~has_req | ((req >= t0) & (req < t_end)), "a stage request outside [t0, t_end)", rows)
    need(~has_start | (start < t_end), "a bed taken at or after t_end", rows)
    # -- request <= start <= end
    need(~has_start | has_req, "a stage started without a request", rows)
    need(~has_start | (req <= start), "a stage started before its request", rows)
    need(~has_end | has_start, "a stage ended without a start", rows)
    need(~has_end | (start <= end), "a stage ended before it started", rows)
    need(
        (has_start & (bed_pool >= 0) & (bed_pool < work.n_pools)) | (~has_start & (bed_pool == -1)),
        "stage_bed_pool is not a pool exactly when the stage started",
        rows,
    )
    need(~outlier | has_start, "an outlier stage that never started", rows)
    # -- outliers: first stages of borrowing routes, a member's bed of another member pool
    home_s = work.home_pool[patient_of]
    route_s = work.route[patient_of]
    bp = np.where(has_start, bed_pool, 0)
    need(~has_start | outlier | (bed_pool == work.stage_pool), "a stage in a foreign bed", rows)
    need(~outlier | (stage_of == 0), "a later stage borrowed a bed", rows)
    need(
        ~outlier
        | (
            (bed_pool != work.stage_pool)
            & work.member[bp]
            & work.member[home_s]
            & work.borrow_route[route_s]
        ),
        "an outlier that may not borrow, or in its own pool",
        rows,
    )
    # -- stage lengths and the daytime rule
    mult = np.where(outlier, work.los_multiplier, 1.0)
    sched = start + work.stage_los * mult
    is_last = np.zeros(ns, dtype=bool)
    is_last[last] = True
    dh = work.discharge_hour[patient_of]
    if work.daytime:
        moved = np.floor(sched) > np.floor(start)
        sched_last = np.where(moved, np.floor(sched) + dh, sched)
    else:
        sched_last = sched
    need(
        ~is_last | (has_start == has_end),
        "a last stage's end is not written when its bed is taken",
        rows,
    )
    need(
        ~(is_last & has_start) | (end == sched_last),
        "a last stage's end is not start + length (daytime rule)",
        rows,
    )
    # -- later stages: requested at the scheduled end of the stage before, which is left
    #    exactly when the later stage starts
    later = np.flatnonzero(stage_of >= 1)
    prev = later - 1
    want_req = np.where(has_start[prev] & (sched[prev] < t_end), sched[prev], np.nan)
    need(
        _same(req[later], want_req),
        "a later stage's request is not the end (start + length) of the stage before",
        later,
    )
    need(
        _same(end[prev], start[later]),
        "a stage's bed was not left exactly when the next stage's bed was taken",
        prev,
    )
    # -- first stages: the bed request is the arrival (ED: end of treatment)
    ed_rows = work.ed_index
    from_ed = ed_rows >= 0
    arrival_req = np.where(work.arrival < t_end, work.arrival, np.nan)
    if n_ed:
        treated = raw.ed_treated[np.where(from_ed, ed_rows, 0)]
        ed_req = np.where(treated < t_end, treated, np.nan)
    else:
        ed_req = np.full(n, np.nan)
    want_first = np.where(from_ed, ed_req, arrival_req)
    need(
        _same(req[first], want_first),
        "a first stage's request is not the arrival / the end of ED treatment",
        np.arange(n),
    )
    # -- turned away: only lose streams; never a bed
    need(~raw.lost | (work.lose & (work.route != ELECTIVE)), "lost, but not of a lose stream")
    need(~raw.lost | (has_req[first] & ~has_start[first]), "lost, yet requested no bed / had one")
    # -- deferrals: electives only; admitted from the waiting list only at sessions
    elective = work.route == ELECTIVE
    defer = raw.deferral_events
    need((defer == 0) | elective, "deferral events of a non-elective", np.arange(n))
    need(defer >= 0, "negative deferral events")
    s0, r0 = start[first], req[first]
    idx = np.flatnonzero(elective & has_req[first])
    sessions = work.sessions[work.sessions < t_end]
    for b in idx:
        if defer[b] == 0:
            need(s0[b] == r0[b], "an elective neither admitted at booking nor deferred", [b])
            continue
        until = s0[b] if not np.isnan(s0[b]) else t_end
        want = 1 + int(np.count_nonzero((sessions > r0[b]) & (sessions < until)))
        need(defer[b] == want, f"deferral events {defer[b]} != 1 + sessions waited ({want})", [b])
        if not np.isnan(s0[b]):
            need(bool(np.any(sessions == s0[b])), "a deferred elective admitted off-session", [b])
    # -- beds: no admission while the pool is full (capacity as in force then)
    for name, in_pool, table in [
        ("beds", np.ones(ns, dtype=bool), work.capacity),
        ("shared beds (outliers)", outlier, work.shared),
    ]:
        for k in range(work.n_pools):
            here = has_start & (bed_pool == k) & in_pool
            if not here.any():
                continue
            at = start[here]
            level = _after(start[here], end[here], at)
            limit = _limit_at(work, table[k], at)
            need(level <= limit, f"pool {k}: {name} held above their number", rows[here])
    # -- ED
    if n_ed:
        ss, tr, se = raw.ed_space_start, raw.ed_treated, raw.ed_space_end
        ed_ids = np.arange(n_ed)
        has_ss = ~np.isnan(ss)
        need(~has_ss | ((ss >= work.ed_arrival) & (ss < t_end)), "ED start out of order", ed_ids)
        need(
            _same(tr, np.where(has_ss, ss + work.ed_treatment, np.nan)),
            "ED treated != space_start + treatment",
            ed_ids,
        )
        admitted = work.ed_patient >= 0
        bed_first = (
            start[first[np.where(admitted, work.ed_patient, 0)]]
            if work.n_patients
            else np.full(n_ed, np.nan)  # nobody admitted: the value is never used
        )
        want_end = np.where(admitted, bed_first, tr)
        need(
            _same(se, want_end),
            "ED space_end is not the first bed's start (admitted) / the end of treatment",
            ed_ids,
        )
        if work.ed_unlimited:
            need(ss == work.ed_arrival, "unlimited ED, yet a wait for a space", ed_ids)
        at = ss[has_ss]
        busy = _after(ss, se, at)
        need(busy <= _limit_at(work, work.ed_spaces, at), "ED spaces over-used", ed_ids[has_ss])
    # -- conservation at the end and the end counters
    arrived = has_req[first]
    discharged = has_start[last] & (end[last] < t_end)
    in_bed = has_start[first] & ~discharged
    waiting = arrived & ~has_start[first] & ~raw.lost
    need(
        int(arrived.sum()) == int(discharged.sum() + raw.lost.sum() + in_bed.sum() + waiting.sum()),
        "bed patients in != out + lost + in a bed + waiting",
    )
    by_home = lambda sel: np.bincount(work.home_pool[sel], minlength=work.n_pools)  # noqa: E731
    blocked = has_req & ~has_start & (stage_of >= 1)
    queued = by_home(waiting & ~elective) + np.bincount(
        work.stage_pool[blocked], minlength=work.n_pools
    )
    need(np.array_equal(raw.end_in_bed, by_home(in_bed)), "end_in_bed != patients in a bed")
    need(np.array_equal(raw.end_queued, queued), f"end_queued {raw.end_queued} != {queued}")
    need(
        np.array_equal(raw.end_waitlist, by_home(waiting & elective)),
        "end_waitlist != electives waiting",
    )
    if n_ed:
        in_ed = int(np.count_nonzero((work.ed_arrival < t_end) & ~(raw.ed_space_end < t_end)))
        if raw.end_in_ed == -1:
            need(work.ed_unlimited, "end_in_ed = -1 with a limited ED")
        else:
            need(raw.end_in_ed == in_ed, f"end_in_ed {raw.end_in_ed} != {in_ed} in the ED")
    else:
        need(raw.end_in_ed in (0, -1), f"end_in_ed {raw.end_in_ed} without an ED")


# --- workloads drawn by hypothesis ---------------------------------------------------------
@functools.cache
def _time(lo: float, hi: float, grid: float = GRID) -> st.SearchStrategy[float]:
    """A time in [lo, hi): often on the coarse grid (ties), else anywhere."""
    steps = round((hi - lo) / grid)
    on_grid = st.integers(0, max(steps - 1, 0)).map(lambda k: lo + k * grid)
    anywhere = st.floats(lo, hi, exclude_max=True, allow_nan=False, allow_infinity=False)
    return st.one_of(on_grid, on_grid, anywhere)


@functools.cache
def _length(hi: float, grid: float = GRID) -> st.SearchStrategy[float]:
    """A duration: 0 (often), on the grid, or anywhere up to ``hi`` days."""
    ticks = st.integers(1, max(1, round(hi / grid))).map(lambda k: k * grid)
    return st.one_of(st.just(0.0), ticks, ticks, st.floats(0.0, hi, allow_nan=False))


def _by_day(draw: st.DrawFn, values: st.SearchStrategy[float], n_all: int) -> list[float]:
    """A per-day series: a value on day 0, then on each day the same or a new one."""
    out = [draw(values)]
    for _ in range(n_all - 1):
        out.append(draw(values) if draw(ONE_IN_4) == 0 else out[-1])
    return out


ONE_IN_4 = st.integers(0, 3)
ONE_IN_3 = st.integers(0, 2)
ACUITY = st.integers(1, 4)
BED_ROUTES = st.sampled_from([ELECTIVE, ELECTIVE, MATERNITY, DIRECT])


@functools.cache
def _pool(n_pools: int) -> st.SearchStrategy[int]:
    return st.integers(0, n_pools - 1)


@functools.cache
def _other_pool(n_pools: int, previous: int) -> st.SearchStrategy[int]:
    return st.sampled_from([k for k in range(n_pools) if k != previous])


def _stay(draw: st.DrawFn, home: int, n_pools: int, grid: float) -> tuple[list[int], list[float]]:
    """Stages of one stay: the home pool, then up to 2 more, each in another pool."""
    pools, lengths = [home], [draw(_length(3.0, grid))]
    n_more = draw(ONE_IN_3) if n_pools > 1 else 0
    for _ in range(n_more):
        pools.append(draw(_other_pool(n_pools, pools[-1])))
        lengths.append(draw(_length(2.0, grid)))
    return pools, lengths


def _frozen(a: Any, dtype: Any) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(a, dtype=dtype))
    out.flags.writeable = False
    return out


def change_days(capacity: FloatArray, shared: FloatArray, ed_spaces: FloatArray) -> np.ndarray:
    """Days d >= 1 on which beds, shared beds or ED spaces differ from day d - 1."""
    changed = np.any(capacity[:, 1:] != capacity[:, :-1], axis=0) | np.any(
        shared[:, 1:] != shared[:, :-1], axis=0
    )
    if ed_spaces.size:
        changed |= ed_spaces[1:] != ed_spaces[:-1]
    return np.flatnonzero(changed) + 1


@st.composite
def workloads(
    draw: st.DrawFn,
    max_patients: int = 30,
    max_ed: int = 40,
    max_days: int = 5,
    grid: float = GRID,
) -> Case:
    """A small valid workload and the policy objects its names stand for; times and
    durations are often multiples of ``grid`` days."""
    n_pools = draw(st.integers(1, 4))
    warmup = draw(st.integers(1, 2))
    n_days = draw(st.integers(1, max_days))
    n_all = warmup + n_days
    t0, t_end = -float(warmup), float(n_days)
    beds = st.sampled_from([0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, INF])
    capacity = np.array([_by_day(draw, beds, n_all) for _ in range(n_pools)], dtype=float)
    # the one-bed-pool reform: members, routes, a share path by day (0 = off that day)
    pooling = n_pools > 1 and draw(st.integers(0, 2)) > 0
    member = np.zeros(n_pools, dtype=bool)
    borrow_route = np.zeros(4, dtype=bool)
    shared = np.zeros_like(capacity)
    los_multiplier = 1.0
    if pooling:
        often = st.sampled_from([True, True, False])
        member = np.array([draw(often) for _ in range(n_pools)], dtype=bool)
        borrow_route = np.array([draw(often) for _ in range(4)], dtype=bool)
        share = np.array(_by_day(draw, st.sampled_from([0.0, 0.5, 1.0, 1.0]), n_all))
        with np.errstate(invalid="ignore"):
            shared = np.where(member[:, None] & (share > 0), np.floor(share * capacity), 0.0)
        los_multiplier = draw(st.sampled_from([1.0, 1.25, 1.1, 2.0]))
    reserve = [draw(st.integers(0, 2)) for _ in range(n_pools)]
    # non-ED bed patients (sorted by arrival)
    rows: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, max_patients))):
        route = draw(BED_ROUTES)
        home = draw(_pool(n_pools))
        pools, lengths = _stay(draw, home, n_pools, grid)
        rows.append(
            {
                "arrival": draw(_time(t0, t_end, grid)),
                "home": home,
                "route": route,
                "lose": route != ELECTIVE and draw(ONE_IN_4) == 0,
                "ed": -1,
                "dh": draw(_time(0.0, 1.0, grid)),
                "pools": pools,
                "lengths": lengths,
            }
        )
    rows.sort(key=lambda r: r["arrival"])
    # the ED: arrivals (sorted), acuity, treatment; some admitted (bed rows after the others)
    has_ed = draw(st.booleans())
    ed_arrival: list[float] = []
    ed_acuity: list[int] = []
    ed_treatment: list[float] = []
    ed_patient: list[int] = []
    ed_spaces = np.empty(0)
    if has_ed:
        unlimited = draw(st.integers(0, 3)) == 0
        spaces = st.sampled_from([0.0, 1.0, 1.0, 2.0, 3.0, INF])
        ed_spaces = np.full(n_all, INF) if unlimited else np.array(_by_day(draw, spaces, n_all))
        n_ed = draw(st.integers(0, max_ed))
        times = st.lists(_time(t0, t_end, grid), min_size=n_ed, max_size=n_ed)
        ed_arrival = sorted(draw(times))
        for _ in ed_arrival:
            ed_acuity.append(draw(ACUITY))
            ed_treatment.append(draw(_length(0.5, grid)))
            if draw(ONE_IN_3) == 0:
                home = draw(_pool(n_pools))
                pools, lengths = _stay(draw, home, n_pools, grid)
                ed_patient.append(len(rows))
                rows.append(
                    {
                        "arrival": math.nan,
                        "home": home,
                        "route": EMERGENCY,
                        "lose": False,
                        "ed": len(ed_patient) - 1,
                        "dh": draw(_time(0.0, 1.0, grid)),
                        "pools": pools,
                        "lengths": lengths,
                    }
                )
            else:
                ed_patient.append(-1)
    sessions = sorted(set(draw(st.lists(_time(t0, t_end, grid), max_size=2 * n_all))))
    if draw(st.booleans()):
        ed: EDQueuePolicy = StrictTriage()
    else:
        waits = st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 6.0, INF])
        ed = MaxWaitTriage(tuple(draw(waits) for _ in range(4)))  # type: ignore[arg-type]
    bed: BedAllocationPolicy = draw(st.sampled_from([MostFreeBeds(), FirstListedPool()]))
    n_stages = np.array([len(r["pools"]) for r in rows], dtype=np.int64)
    work = Workload(
        t0=t0,
        t_end=t_end,
        n_pools=n_pools,
        arrival=_frozen([r["arrival"] for r in rows], np.float64),
        home_pool=_frozen([r["home"] for r in rows], np.int32),
        route=_frozen([r["route"] for r in rows], np.int8),
        lose=_frozen([r["lose"] for r in rows], np.bool_),
        ed_index=_frozen([r["ed"] for r in rows], np.int32),
        discharge_hour=_frozen([r["dh"] for r in rows], np.float64),
        stage_offset=_frozen(np.concatenate([[0], np.cumsum(n_stages)]), np.int64),
        stage_pool=_frozen([p for r in rows for p in r["pools"]], np.int32),
        stage_los=_frozen([x for r in rows for x in r["lengths"]], np.float64),
        ed_arrival=_frozen(ed_arrival, np.float64),
        ed_acuity=_frozen(ed_acuity, np.int8),
        ed_treatment=_frozen(ed_treatment, np.float64),
        ed_patient=_frozen(ed_patient, np.int32),
        ed_unlimited=bool(ed_spaces.size and np.isinf(ed_spaces).all()),
        capacity=_frozen(capacity, np.float64),
        shared=_frozen(shared, np.float64),
        ed_spaces=_frozen(ed_spaces, np.float64),
        change_days=_frozen(change_days(capacity, shared, ed_spaces), np.int64),
        sessions=_frozen(sessions, np.float64),
        reserve=_frozen(reserve, np.int32),
        member=_frozen(member, np.bool_),
        borrow_route=_frozen(borrow_route, np.bool_),
        los_multiplier=float(los_multiplier),
        daytime=draw(st.booleans()),
        ed_policy=ed.name,
        ed_max_wait=_frozen(ed.max_wait_days(), np.float64),
        bed_policy=bed.name,
    )
    return work, ed, bed


def describe(work: Workload) -> str:
    """The workload, field by field, for hypothesis' report of a failing case."""
    parts = []
    for f in dataclasses.fields(Workload):
        v = getattr(work, f.name)
        if isinstance(v, np.ndarray):
            v = np.array2string(v, threshold=10_000, max_line_width=150, separator=", ")
        else:
            v = repr(v)
        parts.append(f"{f.name}={v}")
    return "Workload(" + ",\n  ".join(parts) + ")"


def both_engines(case: Case) -> None:
    work, ed, bed = case
    note(describe(work))
    note(f"policies: {ed!r}, {bed!r}")
    ref = run_reference(work, ed, bed)
    comp = run_compiled(work)
    check_invariants(work, ref, "reference")
    check_invariants(work, comp, "compiled")
    assert_same_log(work, ref, comp)


SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=200, **SETTINGS)
@given(case=workloads())
def test_engines_give_identical_logs_and_obey_the_rules(case: Case) -> None:
    both_engines(case)


@pytest.mark.slow
@settings(max_examples=400, **SETTINGS)
@given(
    case=st.one_of(
        workloads(max_patients=150, max_ed=250, max_days=10),
        workloads(max_patients=60, max_ed=60, max_days=3, grid=1.0),
    )
)
def test_engines_give_identical_logs_on_many_more_cases(case: Case) -> None:
    both_engines(case)


# --- the front door: DesConfig -> draw_inputs -> build_workload ----------------------------
def _front_door_configs() -> dict[str, DesConfig]:
    base = dataclasses.replace(small_district(n_days=90), warmup_days=30)
    med_direct = dataclasses.replace(base.admissions[1], onward=(("surgery", 0.3),))
    assert base.ed is not None
    staged = dataclasses.replace(
        base,
        pools=(dataclasses.replace(base.pools[0], capacity=CapacitySchedule(215)), base.pools[1]),
        admissions=(base.admissions[0], med_direct),
        ed=dataclasses.replace(
            base.ed,
            spaces=CapacitySchedule(
                22, ((START + dt.timedelta(days=20), 18), (START + dt.timedelta(days=50), 25))
            ),
            admitted_onward=(("medicine", (("surgery", 0.2),)), ("surgery", (("medicine", 0.4),))),
            policy=MaxWaitTriage((0.0, 0.5, 3.0, 6.0)),
        ),
        pooling=WholeHospitalPooling(
            1.1,
            frozenset({"emergency", "direct", "elective"}),
            share=tuple([0.0] * 20 + [0.05] * 40 + [0.15] * 30),
            policy=FirstListedPool(),
        ),
        discharge=dataclasses.replace(base.discharge, kind="exact"),
    )
    pooled_daytime = dataclasses.replace(
        staged,
        ed=dataclasses.replace(staged.ed, policy=StrictTriage()),  # type: ignore[arg-type]
        pooling=WholeHospitalPooling(1.2),
        discharge=base.discharge,
    )
    return {"district": base, "staged_pooled": staged, "pooled_daytime": pooled_daytime}


def _config_policies(cfg: DesConfig) -> tuple[EDQueuePolicy, BedAllocationPolicy]:
    ed = cfg.ed.policy if cfg.ed is not None else StrictTriage()
    bed = cfg.pooling.policy if cfg.pooling is not None else MostFreeBeds()
    return ed, bed


@pytest.mark.parametrize("name", ["district", "staged_pooled", "pooled_daytime"])
def test_engines_agree_on_the_small_district(name: str) -> None:
    cfg = _front_door_configs()[name]
    work = build_workload(cfg, draw_inputs(cfg, 11, 0))
    ed, bed = _config_policies(cfg)
    ref, comp = run_reference(work, ed, bed), run_compiled(work)
    check_invariants(work, comp, "compiled")
    check_invariants(work, ref, "reference")
    assert_same_log(work, ref, comp)
    # the case is not trivial: queues, boarding and (where configured) outliers happened
    assert np.nanmax(comp.stage_start - comp.stage_request) > 0
    if cfg.pooling is not None:
        assert comp.stage_outlier.any()


# --- golden regression of the compiled engine --------------------------------------------------
def digest(raw: RawLog) -> dict[str, Any]:
    """A compact, exact fingerprint of a raw log: per field its dtype, shape, count of
    values that happened, sum (rounded to 1e-9) and sha256 of its bytes."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(RawLog):
        v = getattr(raw, f.name)
        if np.ndim(v) == 0:
            out[f.name] = int(v)
            continue
        a = np.ascontiguousarray(v)
        entry: dict[str, Any] = {"dtype": str(a.dtype), "shape": list(a.shape)}
        if a.dtype.kind == "f":
            ok = ~np.isnan(a)
            entry["count"] = int(ok.sum())
            entry["sum"] = round(float(a[ok].sum()), 9)
        else:
            entry["count"] = int(np.count_nonzero(a))
            entry["sum"] = int(a.astype(np.int64).sum())
        entry["sha256"] = hashlib.sha256(a.tobytes()).hexdigest()
        out[f.name] = entry
    return out


def test_compiled_engine_matches_the_golden_log() -> None:
    cfg = small_district(n_days=120)
    work = build_workload(cfg, draw_inputs(cfg, 20250101, 0))
    got = digest(run_compiled(work))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        return
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with UPDATE_GOLDEN=1 to write it"
    want = json.loads(GOLDEN.read_text())
    changed = [k for k in want if want[k] != got.get(k)]
    assert not changed, (
        f"the compiled engine's log changed in {changed} (if intended, rerun with "
        f"UPDATE_GOLDEN=1): " + "; ".join(f"{k}: {want[k]} -> {got.get(k)}" for k in changed)
    )


# --- directional checks on paired replicates ------------------------------------------------
def _boarding_and_deferrals(cfg: DesConfig, seed: int) -> tuple[float, int]:
    work = build_workload(cfg, draw_inputs(cfg, seed, 0))
    raw = run_compiled(work)
    check_invariants(work, raw, "compiled")
    first = work.stage_offset[:-1]
    ed = work.ed_index >= 0  # ED admissions
    req, start = raw.stage_request[first][ed], raw.stage_start[first][ed]
    got = ~np.isnan(req)
    # time from the decision to admit to a bed (to the end of the run if still boarding)
    wait = np.where(np.isnan(start[got]), work.t_end, start[got]) - req[got]
    return float(wait.sum()), int(raw.deferral_events.sum())


def test_fewer_beds_mean_more_boarding_and_more_deferrals() -> None:
    base, fewer = small_district(n_days=150), small_district(medicine=235, surgery=150, n_days=150)
    b_board, b_defer = _boarding_and_deferrals(base, 42)
    f_board, f_defer = _boarding_and_deferrals(fewer, 42)
    assert f_board > b_board, f"boarding {f_board:.1f} d with fewer beds vs {b_board:.1f} d"
    assert f_defer > b_defer, f"deferrals {f_defer} with fewer beds vs {b_defer}"


def _icu_config(n: int) -> DesConfig:
    flat = tuple([1.0 / 24.0] * 24)
    return DesConfig(
        start=START,
        n_days=n,
        warmup_days=30,
        warmup="mean",
        pools=(BedPool("icu", CapacitySchedule(8)), BedPool("ward", CapacitySchedule(56))),
        admissions=(
            AdmissionStream(
                "icu",
                "icu",
                "direct",
                ArrivalRate(tuple([2.0] * n), flat),
                Duration(LosDistribution("exponential", 4.5)),
                onward=(("ward", 0.45),),
            ),
            AdmissionStream(
                "ward",
                "ward",
                "direct",
                ArrivalRate(tuple([9.0] * n), flat),
                Duration(LosDistribution("lognormal", 5.0, 1.0)),
            ),
        ),
        pooling=WholeHospitalPooling(1.0, frozenset({"direct"}), share=tuple([0.25] * n)),
    )


def step_down_blocking(work: Workload, raw: RawLog) -> float:
    """Days that patients spent blocked before their second stage's bed (to the end of
    the run if still blocked)."""
    second = work.stage_offset[:-1][np.diff(work.stage_offset) >= 2] + 1
    req, start = raw.stage_request[second], raw.stage_start[second]
    got = ~np.isnan(req)
    return float((np.where(np.isnan(start[got]), work.t_end, start[got]) - req[got]).sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_longer_icu_stage_means_more_step_down_blocking(seed: int) -> None:
    """ICU patients (first stage in the ICU, then a ward step-down stage) and ward
    patients; ICU patients who find the ICU full borrow ward beds (the reform, a
    quarter of the ward's beds). A longer ICU stage (x1.5, the same patients, the same
    ward stages) fills the ICU more often, so more ICU patients lie in ward beds and the
    step-down patients wait longer for one. (Without the reform the ward's load would
    not change — the same step-downs, only later — and the sign would be noise.)"""
    cfg = _icu_config(730)
    work = build_workload(cfg, draw_inputs(cfg, seed, 0))
    first = work.stage_offset[:-1]
    multi = first[np.diff(work.stage_offset) >= 2]
    los = np.array(work.stage_los)
    los[multi] *= 1.5
    longer = dataclasses.replace(work, stage_los=_frozen(los, np.float64))
    raw_a, raw_b = run_compiled(work), run_compiled(longer)
    check_invariants(work, raw_a, "compiled")
    check_invariants(longer, raw_b, "compiled")
    a, b = step_down_blocking(work, raw_a), step_down_blocking(longer, raw_b)
    assert a > 0
    assert b > a, f"step-down blocking {b:.1f} d with a longer ICU stage vs {a:.1f} d"
