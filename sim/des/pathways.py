"""Patient pathways through the ED and the bed pools, on a SimPy scheduler.

SimPy is the event scheduler; the resources are plain counters and deques
(never ``simpy.Resource``, whose release is O(pool size)). Each event is a
``simpy.Timeout`` with a callback, not a process per patient: arrivals of a
sorted pre-drawn array chain one Timeout to the next, a bed stay is one
Timeout, a treatment is one Timeout.

Rules:

* **ED**: a patient takes a free treatment space, or waits — by acuity (1
  first), first come first served within an acuity. After treatment they go
  home, are transferred (both leave at once) or are admitted: they keep the
  space and board until a bed is theirs, then leave the ED.
* **Beds**: each pool is a counter with two queues of the *emergency class*
  (ED boarders, direct and maternity admissions), served first come first
  served whenever a bed frees or capacity rises; electives never take a bed
  while the emergency class waits for that pool, nor the beds of the pool's
  elective reserve. Non-elective streams may be set to ``lose`` (turned away
  when full: the Erlang-B system).
* **Electives** (see ``ElectiveBooking``) are admitted at their booked time if a
  bed is free, else join the pool's waiting list, which is offered free beds
  at each booking session.
* **Whole hospital, one bed pool**: when the own pool is full an eligible
  patient takes a free bed in the pool (among the eligible) with the most free
  beds, and stays ``los_multiplier`` times longer; a bed freed in a pool whose
  own queues are empty goes to the longest-waiting eligible patient of another
  pool.
* **Capacity changes** take effect at 00:00 of their day; a reduction never
  evicts anyone, it only stops admissions until occupancy falls below it.

With unlimited ED spaces the ED patients who go home or are transferred meet no
queue and nothing depends on them, so they are not simulated: their ED times
are exact functions of their pre-drawn arrival and treatment times. Only ED
patients who are admitted enter the event loop, at the end of their treatment.

Everything measured is logged as times per patient (arrays); all statistics
are computed afterwards by :mod:`sim.des.monitor`.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from numpy.typing import NDArray
from simpy.events import Timeout

from sim.des.arrivals import FIRST_POOL_DISPOSITION, RandomInputs, extend_for_warmup
from sim.des.config import ROUTES, DesConfig

__all__ = ["BedLog", "EDLog", "HospitalLog", "simulate_hospital"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]

ROUTE_CODE = {r: i for i, r in enumerate(ROUTES)}
EMERGENCY, ELECTIVE = ROUTE_CODE["emergency"], ROUTE_CODE["elective"]


@dataclass(frozen=True, eq=False)
class BedLog:
    """One row per bed request (non-ED streams first, then ED admissions).

    Times in days; NaN = did not happen before the end of the run.
    """

    home_pool: IntArray
    """Pool the patient belongs to."""
    route: NDArray[np.int8]
    """Index into ``config.ROUTES``."""
    request: FloatArray
    """Time the bed was requested (booking time of electives; end of ED treatment)."""
    bed_start: FloatArray
    """Time the patient took a bed (NaN: turned away, or still waiting at the end)."""
    bed_end: FloatArray
    """Discharge time (NaN: still in bed at the end, or never in bed)."""
    bed_pool: IntArray
    """Pool whose bed the patient took (-1 if none)."""
    lost: NDArray[np.bool_]
    """Turned away because the pool was full (``when_full="lose"``)."""
    ed_index: IntArray
    """Row of the patient in the ED log (-1 for non-ED streams)."""


@dataclass(frozen=True, eq=False)
class EDLog:
    """One row per ED arrival (order of ``RandomInputs.ed``); times in days."""

    arrival: FloatArray
    space_start: FloatArray
    """Time a treatment space was taken (NaN: still waiting at the end)."""
    treated: FloatArray
    """End of treatment (NaN: not yet)."""
    space_end: FloatArray
    """Time the space was left (NaN: still in the ED at the end)."""


@dataclass(frozen=True, eq=False)
class HospitalLog:
    beds: BedLog
    ed: EDLog | None
    capacity: FloatArray
    """Beds by pool and day, shape (n_pools, warm-up + simulated days)."""
    ed_spaces: FloatArray
    """ED spaces by day (warm-up days first); empty without an ED."""
    booking_sessions: FloatArray
    """Times of the elective booking sessions (days)."""
    end_in_bed: IntArray
    """Patients in bed at the end of the run, by their home pool (engine counters)."""
    end_queued: IntArray
    """Emergency-class patients waiting for a bed at the end, by home pool."""
    end_waitlist: IntArray
    """Electives on the waiting list at the end, by pool."""
    end_in_ed: int
    """Patients in treatment, boarding or waiting in the ED at the end (engine
    counters; -1 when ED spaces are unlimited and the ED is not event-driven)."""


def _series_with_warmup(values: FloatArray, config: DesConfig) -> FloatArray:
    """Per-day capacity from day -warmup: warm-up days take day 0's value."""
    w = config.warmup_days
    return np.concatenate([np.full(w, values[0]), values]) if w else values


def simulate_hospital(config: DesConfig, inputs: RandomInputs, *, lazy: bool = True) -> HospitalLog:
    """Run the ED and the bed pools of one replicate; return the patient logs.

    ``lazy=False`` turns every arrival, discharge and ED departure into its own
    SimPy event (no batching, no lazy resolution): slower, and the reference the
    tests compare the default against (the logs must be identical).
    """
    log = _simulate(config, inputs, lazy)
    # The event callbacks are closures that refer to one another, a reference cycle
    # that keeps every per-patient Python list of the run alive after it returns
    # until a full collection. Measured on the district baseline: 2.5 GiB held while
    # the outputs were computed (peak 7.4 GiB); a batch worker kept 2.9 GiB after one
    # replicate and 5.8 GiB after two. A collection here frees it at once (0.3 GiB
    # after each of two replicates).
    gc.collect()
    return log


def _simulate(config: DesConfig, inputs: RandomInputs, lazy: bool) -> HospitalLog:
    t0 = -float(config.warmup_days)
    t_end = float(config.n_days)
    n_pools = len(config.pools)
    cap_days = np.array(
        [
            _series_with_warmup(p.capacity.by_day(config.start, config.n_days), config)
            for p in config.pools
        ]
    ).reshape(n_pools, -1)
    ed = config.ed
    ed_draws = inputs.ed
    ed_days = (
        _series_with_warmup(ed.spaces.by_day(config.start, config.n_days), config)
        if ed is not None
        else np.empty(0)
    )
    ed_unlimited = bool(ed is not None and np.isinf(ed_days).all())

    # --- bed requests: non-ED streams, then ED admissions ----------------------------
    beds = inputs.beds
    nb = beds.time.size
    stream_pool = np.array([config.pool_index(s.pool) for s in config.admissions], dtype=np.int32)
    stream_route = np.array([ROUTE_CODE[s.route] for s in config.admissions], dtype=np.int8)
    stream_lose = np.array([s.when_full == "lose" for s in config.admissions], dtype=bool)
    if ed_draws is not None:
        ed_admitted = np.flatnonzero(ed_draws.disposition >= FIRST_POOL_DISPOSITION).astype(
            np.int32
        )
    else:
        ed_admitted = np.empty(0, dtype=np.int32)
    na = ed_admitted.size
    n_req = nb + na
    home_pool = np.concatenate(
        [
            stream_pool[beds.stream] if nb else np.empty(0, np.int32),
            (ed_draws.disposition[ed_admitted] - FIRST_POOL_DISPOSITION).astype(np.int32)
            if ed_draws is not None
            else np.empty(0, np.int32),
        ]
    ).astype(np.int32)
    route = np.concatenate(
        [
            stream_route[beds.stream] if nb else np.empty(0, np.int8),
            np.full(na, EMERGENCY, dtype=np.int8),
        ]
    )
    lose = np.concatenate(
        [stream_lose[beds.stream] if nb else np.empty(0, bool), np.zeros(na, bool)]
    )
    los_all = np.concatenate(
        [beds.los, ed_draws.los[ed_admitted] if ed_draws is not None else np.empty(0)]
    )
    dh_all = np.concatenate(
        [
            beds.discharge_hour,
            ed_draws.discharge_hour[ed_admitted] if ed_draws is not None else np.empty(0),
        ]
    )
    ed_index = np.concatenate([np.full(nb, -1, dtype=np.int32), ed_admitted])

    pooling = config.pooling
    lend_ok = [False] * n_pools
    route_pools = [False] * len(ROUTES)
    multiplier = 1.0
    if pooling is not None:
        members = (
            set(config.pool_index(p) for p in pooling.pools)
            if pooling.pools
            else set(range(n_pools))
        )
        lend_ok = [k in members for k in range(n_pools)]
        route_pools = [r in pooling.routes for r in ROUTES]
        multiplier = pooling.los_multiplier
    partners = [
        [j for j in range(n_pools) if j != k and lend_ok[j]] if lend_ok[k] else []
        for k in range(n_pools)
    ]
    reserve = [p.elective_reserve for p in config.pools]

    # --- state (plain Python for speed) ------------------------------------------------
    env = simpy.Environment(initial_time=t0)
    eager_everything = not lazy
    inf = math.inf
    nan = math.nan
    heappush, heappop = heapq.heappush, heapq.heappop
    cap = [float(c) for c in cap_days[:, 0]]
    occ = [0] * n_pools
    occ_home = [0] * n_pools
    q_pool: list[deque[int]] = [deque() for _ in range(n_pools)]  # may borrow a bed elsewhere
    q_own: list[deque[int]] = [deque() for _ in range(n_pools)]  # must wait for their own pool
    waitlist: list[deque[int]] = [deque() for _ in range(n_pools)]
    n_waiting = [0]  # patients in any q_pool: while > 0 every lender pool is eager
    in_bed: list[list[tuple[float, int]]] = [
        [] for _ in range(n_pools)
    ]  # (discharge time, patient)
    bed_wake = [inf] * n_pools

    request = [nan] * n_req
    bed_start = [nan] * n_req
    bed_end = [nan] * n_req
    bed_pool = [-1] * n_req
    lost = [False] * n_req
    los_l = los_all.tolist()
    dh_l = dh_all.tolist()
    route_l = route.tolist()
    home_l = home_pool.tolist()
    lose_l = lose.tolist()
    ed_index_l = ed_index.tolist()
    daytime = config.discharge.kind == "daytime"
    floor = math.floor

    def at(t: float, value: int, callback: Callable[[simpy.Event], None]) -> None:
        """Schedule ``callback`` at absolute time ``t`` (days)."""
        delay = t - env.now
        Timeout(env, delay if delay > 0.0 else 0.0, value).callbacks.append(callback)

    # --- beds -------------------------------------------------------------------------
    def eager(k: int) -> bool:
        """Whether a discharge from pool k must be processed at its own time."""
        return eager_everything or bool(q_pool[k] or q_own[k]) or (lend_ok[k] and n_waiting[0] > 0)

    def rearm(k: int) -> None:
        h = in_bed[k]
        if h and h[0][0] < bed_wake[k] and eager(k):
            bed_wake[k] = h[0][0]
            at(h[0][0], k, on_bed_wake)

    def flush(k: int, t: float) -> None:
        """Process pool k's discharges due by time t, in time order."""
        h = in_bed[k]
        while h and h[0][0] <= t:
            d, b = heappop(h)
            occ[k] -= 1
            occ_home[home_l[b]] -= 1
            serve(k, d)

    def on_bed_wake(ev: simpy.Event) -> None:
        k: int = ev.value  # type: ignore[assignment]
        now = env.now
        if bed_wake[k] == now:
            bed_wake[k] = inf
        flush(k, now)
        rearm(k)

    def take_bed(b: int, k: int, now: float, outlier: bool) -> None:
        occ[k] += 1
        occ_home[home_l[b]] += 1
        bed_start[b] = now
        bed_pool[b] = k
        stay = los_l[b] * multiplier if outlier else los_l[b]
        end = now + stay
        if daytime:
            day = floor(end)
            if day > floor(now):
                end = day + dh_l[b]
        bed_end[b] = end
        heappush(in_bed[k], (end, b))
        if end < bed_wake[k] and eager(k):
            bed_wake[k] = end
            at(end, k, on_bed_wake)
        i = ed_index_l[b]
        if i >= 0:
            leave_ed(i, now)

    def pop_own(k: int) -> int:
        """Head of pool k's emergency class, first come first served across both queues."""
        a, o = q_pool[k], q_own[k]
        if a and (not o or request[a[0]] <= request[o[0]]):
            n_waiting[0] -= 1
            return a.popleft()
        return o.popleft()

    def serve(k: int, now: float) -> None:
        """Give free beds of pool k to waiting patients (pool k flushed to ``now``)."""
        while occ[k] < cap[k] and (q_pool[k] or q_own[k]):
            take_bed(pop_own(k), k, now, False)
        if n_waiting[0] and lend_ok[k]:
            while occ[k] < cap[k]:
                best = -1
                best_t = inf
                for j in partners[k]:
                    qj = q_pool[j]
                    if qj and request[qj[0]] < best_t:
                        best, best_t = j, request[qj[0]]
                if best < 0:
                    break
                n_waiting[0] -= 1
                take_bed(q_pool[best].popleft(), k, now, True)

    def lender(k: int, now: float, elective: bool) -> int:
        best, most = -1, 0.0
        for j in partners[k]:
            flush(j, now)
            free = cap[j] - occ[j] - (reserve[j] if elective else 0)
            if free > most and not (elective and (q_pool[j] or q_own[j])):
                best, most = j, free
        return best

    def request_bed(b: int, now: float) -> None:
        k = home_l[b]
        flush(k, now)
        request[b] = now
        r = route_l[b]
        if r == ELECTIVE:
            if occ[k] < cap[k] - reserve[k] and not (q_pool[k] or q_own[k]):
                take_bed(b, k, now, False)
            elif route_pools[r] and (j := lender(k, now, True)) >= 0:
                take_bed(b, j, now, True)
            else:
                waitlist[k].append(b)
            return
        if occ[k] < cap[k]:
            take_bed(b, k, now, False)
            return
        if route_pools[r] and (j := lender(k, now, False)) >= 0:
            take_bed(b, j, now, True)
            return
        if lose_l[b]:
            lost[b] = True
            return
        if route_pools[r] and lend_ok[k]:
            q_pool[k].append(b)
            n_waiting[0] += 1
            if n_waiting[0] == 1:
                for j in partners[k]:
                    rearm(j)
        else:
            q_own[k].append(b)
        rearm(k)

    def offer_electives(k: int, now: float) -> None:
        wl = waitlist[k]
        if not wl:
            return
        flush(k, now)
        while wl and occ[k] < cap[k] - reserve[k] and not (q_pool[k] or q_own[k]):
            take_bed(wl.popleft(), k, now, False)
        if wl and route_pools[ELECTIVE]:
            while wl and (j := lender(k, now, True)) >= 0:
                take_bed(wl.popleft(), j, now, True)

    # --- ED ---------------------------------------------------------------------------
    n_ed = ed_draws.time.size if ed_draws is not None else 0
    ed_treat = ed_draws.treatment.tolist() if ed_draws is not None else []
    ed_disp = ed_draws.disposition.tolist() if ed_draws is not None else []
    ed_acuity = ed_draws.acuity.tolist() if ed_draws is not None else []
    space_start = [nan] * n_ed
    treated = [nan] * n_ed
    space_end = [nan] * n_ed
    bed_of_ed = [-1] * n_ed
    for b_off, i in enumerate(ed_admitted.tolist()):
        bed_of_ed[i] = nb + b_off
    ed_cap = [float(ed_days[0]) if ed_days.size else 0.0]
    ed_busy = [0]
    ed_queue: list[deque[int]] = [deque() for _ in range(4)]
    ed_n_queued = [0]
    ed_leaving: list[
        tuple[float, int]
    ] = []  # (end of treatment, patient) of those going home / transferred
    ed_wake = [inf]

    def ed_rearm() -> None:
        if (ed_n_queued[0] or eager_everything) and ed_leaving and ed_leaving[0][0] < ed_wake[0]:
            ed_wake[0] = ed_leaving[0][0]
            at(ed_wake[0], 0, on_ed_wake)

    def ed_flush(t: float) -> None:
        """Free the spaces of patients who went home or were transferred by time t."""
        while ed_leaving and ed_leaving[0][0] <= t:
            d, _ = heappop(ed_leaving)
            ed_busy[0] -= 1
            if ed_n_queued[0]:
                start_waiting_ed(d)

    def on_ed_wake(ev: simpy.Event) -> None:
        now = env.now
        if ed_wake[0] == now:
            ed_wake[0] = inf
        ed_flush(now)
        if ed_n_queued[0] or eager_everything:
            ed_rearm()

    def start_treatment(i: int, now: float) -> None:
        ed_busy[0] += 1
        space_start[i] = now
        end = now + ed_treat[i]
        if ed_disp[i] < FIRST_POOL_DISPOSITION:
            treated[i] = end
            space_end[i] = end
            heappush(ed_leaving, (end, i))
            if (ed_n_queued[0] or eager_everything) and end < ed_wake[0]:
                ed_wake[0] = end
                at(end, 0, on_ed_wake)
        else:
            at(end, i, on_treated)

    def on_ed_arrival(i: int, now: float) -> None:
        ed_flush(now)
        if ed_busy[0] < ed_cap[0]:
            start_treatment(i, now)
        else:
            ed_queue[ed_acuity[i] - 1].append(i)
            ed_n_queued[0] += 1
            ed_rearm()

    def on_treated(ev: simpy.Event) -> None:
        i: int = ev.value  # type: ignore[assignment]
        now = env.now
        treated[i] = now
        request_bed(bed_of_ed[i], now)

    def leave_ed(i: int, now: float) -> None:
        space_end[i] = now
        if ed_unlimited:
            return
        ed_flush(now)
        ed_busy[0] -= 1
        if ed_n_queued[0]:
            start_waiting_ed(now)

    def start_waiting_ed(now: float) -> None:
        while ed_busy[0] < ed_cap[0] and ed_n_queued[0]:
            for q in ed_queue:
                if q:
                    ed_n_queued[0] -= 1
                    start_treatment(q.popleft(), now)
                    break

    # --- control: capacity changes at midnight, elective sessions -----------------------
    controls: list[tuple[float, int, int]] = []  # (time, kind, day index): 0 capacity, 1 electives
    n_all = cap_days.shape[1]
    for d in range(1, n_all):
        if np.any(cap_days[:, d] != cap_days[:, d - 1]) or (
            ed_days.size and ed_days[d] != ed_days[d - 1]
        ):
            controls.append((t0 + d, 0, d))
    sessions: list[float] = []
    if config.electives is not None:
        flags = np.asarray(config.electives.booking_days, dtype=bool)
        w = config.warmup_days
        if w:
            if config.warmup == "mean":
                flags = np.concatenate([np.ones(w, bool), flags])
            else:
                flags = extend_for_warmup(flags.astype(float), w, config.warmup) > 0.5
        hour = config.electives.retry_hour / 24.0
        for d in np.flatnonzero(flags).tolist():
            sessions.append(t0 + d + hour)
            controls.append((t0 + d + hour, 1, d))
    controls.sort()

    def on_control(j: int, now: float) -> None:
        _, kind, d = controls[j]
        if kind == 0:
            for k in range(n_pools):
                flush(k, now)
            for k in range(n_pools):
                cap[k] = float(cap_days[k, d])
            for k in range(n_pools):
                serve(k, now)
                rearm(k)
            if ed_days.size and not ed_unlimited:
                ed_flush(now)
                ed_cap[0] = float(ed_days[d])
                start_waiting_ed(now)
                ed_rearm()
        else:
            for k in range(n_pools):
                offer_electives(k, now)

    # --- one driver over every pre-drawn time, merged and sorted ----------------------------
    # kind 0: bed request of a non-ED stream; 1: ED arrival; 2: bed request of an ED
    # admission at the end of its treatment (unlimited ED); 3: control event.
    parts_t: list[FloatArray] = [beds.time]
    parts_k: list[NDArray[np.int8]] = [np.zeros(nb, np.int8)]
    parts_i: list[NDArray[np.int64]] = [np.arange(nb)]
    if ed_draws is not None:
        if ed_unlimited:
            # Go-home and transferred patients meet no queue: exact without simulation.
            done = ed_draws.time + ed_draws.treatment
            space_start = ed_draws.time.tolist()
            treated = done.tolist()
            space_end = np.where(
                ed_draws.disposition < FIRST_POOL_DISPOSITION, done, np.nan
            ).tolist()
            parts_t.append(done[ed_admitted])
            parts_k.append(np.full(na, 2, np.int8))
            parts_i.append(np.arange(nb, nb + na))
        else:
            parts_t.append(ed_draws.time)
            parts_k.append(np.ones(n_ed, np.int8))
            parts_i.append(np.arange(n_ed))
    parts_t.append(np.array([c[0] for c in controls], dtype=float))
    parts_k.append(np.full(len(controls), 3, np.int8))
    parts_i.append(np.arange(len(controls)))
    all_t = np.concatenate(parts_t)
    order = np.argsort(all_t, kind="stable")
    times = all_t[order].tolist()
    kinds = np.concatenate(parts_k)[order].tolist()
    items = np.concatenate(parts_i)[order].tolist()
    n_items = len(times)
    peek = env.peek

    def fire(ev: simpy.Event) -> None:
        # Handle this item and every following one that comes before the next pending
        # event: nothing else can happen in between, so the order of state changes is
        # exactly that of one event per item.
        j: int = ev.value  # type: ignore[assignment]
        while True:
            t = times[j]
            kind = kinds[j]
            if kind == 0:
                request_bed(items[j], t)
            elif kind == 1:
                on_ed_arrival(items[j], t)
            elif kind == 2:
                request_bed(items[j], t)
            else:
                on_control(items[j], t)
            j += 1
            if j >= n_items:
                return
            if eager_everything or times[j] >= peek():
                break
        at(times[j], j, fire)

    if n_items:
        at(times[0], 0, fire)
    env.run(until=t_end)
    # Discharges and ED departures due before the end but not yet needed by anyone.
    for k in range(n_pools):
        flush(k, t_end)
    if not ed_unlimited:
        ed_flush(t_end)
    bed_log = BedLog(
        home_pool=home_pool,
        route=route,
        request=np.array(request),
        bed_start=np.array(bed_start),
        bed_end=np.where(np.array(bed_end) >= t_end, np.nan, np.array(bed_end)),
        bed_pool=np.array(bed_pool, dtype=np.int32),
        lost=np.array(lost, dtype=bool),
        ed_index=ed_index,
    )
    ed_log = None
    if ed_draws is not None:
        ed_log = EDLog(
            arrival=ed_draws.time,
            space_start=np.asarray(space_start, dtype=float),
            treated=np.asarray(treated, dtype=float),
            space_end=np.asarray(space_end, dtype=float),
        )
        # Times known in advance but after the end of the run did not happen.
        for arr_ in (ed_log.space_start, ed_log.treated, ed_log.space_end):
            arr_[arr_ >= t_end] = np.nan
    return HospitalLog(
        beds=bed_log,
        ed=ed_log,
        capacity=cap_days,
        ed_spaces=ed_days,
        booking_sessions=np.array(sessions),
        end_in_bed=np.array(occ_home, dtype=np.int32),
        end_queued=np.array(
            [len(q_pool[k]) + len(q_own[k]) for k in range(n_pools)], dtype=np.int32
        ),
        end_waitlist=np.array([len(w) for w in waitlist], dtype=np.int32),
        end_in_ed=(
            -1 if ed_unlimited or ed_draws is None else ed_busy[0] + sum(len(q) for q in ed_queue)
        ),
    )
