"""The reference model of the hospital, in SimPy: the rules of ``sim/des/RULES.md`` as
objects a modeller can read.

The hospital is an :class:`EmergencyDepartment` (treatment spaces, four acuity
queues, an :class:`~sim.des.policies.EDQueuePolicy`), one :class:`BedPool` per
specialty (beds, occupancy, outliers, the emergency-class queue and its borrowers),
a :class:`WaitingList` of deferred electives, a :class:`BedManager` (own pool first,
the one-bed-pool rule through the :class:`~sim.des.policies.BedAllocationPolicy`,
and the :class:`OfferList` of freed beds and spaces) and :class:`CapacityControl`
(capacity changes at midnight, elective booking sessions). :class:`Hospital` wires
them to the :class:`Clock` and holds the event handlers; :func:`simulate` runs one
:class:`~sim.des.workload.Workload` and returns its :class:`~sim.des.workload.RawLog`.

Every event of RULES.md is an :class:`OrderedTimeout`: a SimPy event at an exact
time whose priority encodes ``(class, id)``, so SimPy's heap, which orders entries by
``(time, priority, insertion count)``, takes simultaneous events in the order of the
data, never in the order they were scheduled. All of a patient's changes of state
happen inside the handler of such an event, followed by working through the offer
list, before the next event is taken. Nothing waits for a process resumption: the
patient pathway is the chain of handlers ``on_bed_request`` / ``on_ed_arrival`` →
``on_treatment_end`` → ``on_stage_end`` (one per stage), with the waits in queues.

The compiled engine (:mod:`sim.des.compiled`) implements the same rules on the same
arrays; the two must return identical logs, so the float arithmetic here is written
exactly as RULES.md states it. Times are days from 00:00 of the first simulated day.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray
from simpy.events import Event, EventPriority

from sim.des.policies import (
    BedAllocationPolicy,
    Borrower,
    EDQueuePolicy,
    Lender,
    QueueHead,
)
from sim.des.workload import ELECTIVE, RawLog, Workload

__all__ = [
    "BedManager",
    "BedPool",
    "CapacityControl",
    "Clock",
    "EmergencyDepartment",
    "EventClass",
    "Hospital",
    "OrderedTimeout",
    "WaitingList",
    "simulate",
]


# --- the event list ------------------------------------------------------------------


class EventClass(IntEnum):
    """Classes of events (RULES.md, "Events and their order"): lower first at equal times."""

    STAGE_END = 0
    TREATMENT_END = 1
    CAPACITY_CHANGE = 2
    BOOKING_SESSION = 3
    BED_REQUEST = 4
    ED_ARRIVAL = 5


_FIRST_PRIORITY = 2
"""SimPy's own priorities are URGENT = 0 and NORMAL = 1; ordered events come after."""
_CLASS_STRIDE = 2**40
"""Priority step between event classes (more than any event id)."""


class HospitalEnvironment(simpy.Environment):
    """A SimPy environment that can schedule an event at an exact time.

    ``Environment.schedule`` takes a delay and stores ``now + delay``, which in floats
    need not equal the intended time (``now + (t - now) != t`` in general); an event
    time must be bit-exact because it becomes ``now`` and is logged. So this pushes
    onto SimPy's heap directly, the entry ``(time, priority, eid, event)`` that
    ``schedule`` makes (SimPy 4.1: ``Environment._queue``, ``_eid``, ``_now``). The
    model starts no SimPy process, so no URGENT/NORMAL event is ever on the heap.
    """

    def schedule_at(self, event: Event, priority: int, time: float) -> None:
        """Put ``event`` on the heap at ``time`` (days, >= now) with ``priority``."""
        if not time >= self._now:
            raise ValueError(f"event at {time} before the current time {self._now}")
        heapq.heappush(self._queue, (time, EventPriority(priority), next(self._eid), event))

    def run_before(self, t_end: float) -> None:
        """Process every event whose time is before ``t_end`` (days); none at or after."""
        while self.peek() < t_end:
            self.step()


class OrderedTimeout(Event):
    """An event at ``time`` whose ties follow the key ``(time, kind, ident)`` of RULES.md.

    It is triggered on creation (like ``simpy.Timeout``); when processed, its callbacks
    receive it with ``value == ident`` and ``action`` set.
    """

    def __init__(
        self,
        env: HospitalEnvironment,
        time: float,
        kind: EventClass,
        ident: int,
        action: Callable[[int], None],
    ) -> None:
        self.env = env
        self.callbacks: list[Callable[[Any], None]] = []
        self._ok = True
        self._value = ident
        self.ident = ident
        self.action = action
        env.schedule_at(self, _FIRST_PRIORITY + int(kind) * _CLASS_STRIDE + ident, time)


class Clock:
    """The hospital's event list: ordered events, each followed by ``after_each``."""

    def __init__(self, t0: float) -> None:
        """``t0``: start of the run (days, negative with a warm-up)."""
        self.env = HospitalEnvironment(initial_time=t0)
        self.after_each: Callable[[float], None] = lambda now: None

    @property
    def now(self) -> float:
        """Current time, days."""
        return float(self.env.now)

    def at(self, time: float, kind: EventClass, ident: int, action: Callable[[int], None]) -> None:
        """Run ``action(ident)`` at ``time`` (days), in key order ``(time, kind, ident)``."""
        OrderedTimeout(self.env, time, kind, ident, action).callbacks.append(self._fire)

    def _fire(self, event: OrderedTimeout) -> None:
        event.action(event.ident)
        self.after_each(self.env.now)

    def run_before(self, t_end: float) -> None:
        """Run every event before ``t_end`` (days)."""
        self.env.run_before(t_end)


class ArrivalStream:
    """Pre-drawn arrivals as a chain of ordered events: each schedules the next.

    Equivalent to scheduling them all at once (the chain is in key order), with one
    pending event per stream instead of a million.
    """

    def __init__(
        self,
        clock: Clock,
        kind: EventClass,
        times: NDArray[np.float64],
        ids: NDArray[np.int64],
        action: Callable[[int], None],
    ) -> None:
        """``times[ids]`` (days) are the arrivals of patients ``ids``."""
        order = ids[np.lexsort((ids, times[ids]))]
        self._times: list[float] = times[order].tolist()
        self._ids: list[int] = order.tolist()
        self._next = 0
        self._clock, self._kind, self._action = clock, kind, action
        self._schedule_next()

    def _schedule_next(self) -> None:
        j = self._next
        if j < len(self._ids):
            self._clock.at(self._times[j], self._kind, self._ids[j], self._arrive)
            self._next = j + 1

    def _arrive(self, ident: int) -> None:
        self._schedule_next()
        self._action(ident)


# --- patients: what they bring (the workload) and what happens to them (the log) ---------


class Patients:
    """The bed patients' and ED patients' data as Python lists, and their log.

    Stage rows of bed patient b are ``first[b] .. first[b + 1] - 1``.
    """

    def __init__(self, work: Workload) -> None:
        nan = math.nan
        self.home: list[int] = work.home_pool.tolist()
        self.route: list[int] = work.route.tolist()
        self.lose: list[bool] = work.lose.tolist()
        self.ed_index: list[int] = work.ed_index.tolist()
        self.discharge_hour: list[float] = work.discharge_hour.tolist()
        self.first: list[int] = work.stage_offset.tolist()
        self.stage_pool: list[int] = work.stage_pool.tolist()
        self.stage_los: list[float] = work.stage_los.tolist()
        self.ed_acuity: list[int] = work.ed_acuity.tolist()
        self.ed_arrival: list[float] = work.ed_arrival.tolist()
        self.ed_treatment: list[float] = work.ed_treatment.tolist()
        self.ed_patient: list[int] = work.ed_patient.tolist()
        n_stages, n, n_ed = len(self.stage_pool), work.n_patients, work.n_ed
        self.stage_request = [nan] * n_stages
        self.stage_start = [nan] * n_stages
        self.stage_end = [nan] * n_stages
        self.stage_bed_pool = [-1] * n_stages
        self.stage_outlier = [False] * n_stages
        self.lost = [False] * n
        self.deferral_events = [0] * n
        self.ed_space_start = [nan] * n_ed
        self.ed_treated = [nan] * n_ed
        self.ed_space_end = [nan] * n_ed
        self.bed_row = [-1] * n
        """Stage row whose bed patient b holds (-1: none)."""

    def is_last(self, b: int, row: int) -> bool:
        """Whether ``row`` is patient b's last stage."""
        return row == self.first[b + 1] - 1


# --- beds ----------------------------------------------------------------------------


@dataclass(slots=True)
class BedRequest:
    """A patient waiting for the bed of one stage."""

    patient: int
    row: int
    """Stage row."""
    time: float
    """Request time, days."""
    borrower: bool
    """May take another pool's bed (first stage, route may borrow, pool a member)."""
    answered: bool = False


class WaitQueue:
    """Bed requests, first come first served by (request time, patient row).

    A request answered through another queue stays here until it reaches the head
    (lazy removal); ``len`` counts only the requests still waiting.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, BedRequest]] = []
        self._waiting = 0

    def __len__(self) -> int:
        return self._waiting

    def push(self, req: BedRequest) -> None:
        """Add a request."""
        heapq.heappush(self._heap, (req.time, req.patient, req.row, req))
        self._waiting += 1

    def head(self) -> BedRequest:
        """The longest-waiting request (the queue must not be empty)."""
        heap = self._heap
        while heap[0][3].answered:
            heapq.heappop(heap)
        return heap[0][3]

    def pop(self) -> BedRequest:
        """Remove and answer the head."""
        req = self.head()
        heapq.heappop(self._heap)
        req.answered = True
        self._waiting -= 1
        return req

    def forget_answered(self) -> None:
        """One of the requests was answered through another queue."""
        self._waiting -= 1


class BedPool:
    """The beds of one specialty."""

    def __init__(self, index: int, capacity: float, shared: float, reserve: int, member: bool):
        """``capacity`` and ``shared`` are beds (inf = unlimited); ``reserve`` beds an
        elective may not take; ``member`` of the one-bed-pool reform."""
        self.index = index
        self.capacity = capacity
        self.shared = shared
        self.reserve = reserve
        self.member = member
        self.occupied = 0
        """Patients in a bed of this pool, outliers included."""
        self.outlying = 0
        """Other pools' patients in a bed of this pool."""
        self.queue = WaitQueue()
        """The emergency-class queue."""
        self.borrowers = WaitQueue()
        """The part of the emergency-class queue that may take another pool's bed."""

    def free(self) -> float:
        """Free beds (capacity − occupied; may be inf or, after a reduction, negative)."""
        return self.capacity - self.occupied

    def free_for_electives(self) -> float:
        """Free beds less the elective reserve."""
        return self.capacity - self.occupied - self.reserve

    def elective_may_enter(self) -> bool:
        """An elective may take a bed: free − reserve > 0 and no emergency waits."""
        return self.free_for_electives() > 0 and len(self.queue) == 0

    def may_lend(self) -> bool:
        """Member of the reform with a shared bed not yet taken by an outlier."""
        return self.member and self.outlying < self.shared

    def join_queue(self, req: BedRequest) -> None:
        """Join the emergency-class queue (and the borrowers, if ``req.borrower``)."""
        self.queue.push(req)
        if req.borrower:
            self.borrowers.push(req)

    def next_in_queue(self) -> BedRequest:
        """Take the head of the emergency-class queue."""
        req = self.queue.pop()
        if req.borrower:
            self.borrowers.forget_answered()
        return req

    def next_borrower(self) -> BedRequest:
        """Take the longest-waiting borrower."""
        req = self.borrowers.pop()
        self.queue.forget_answered()
        return req


class OfferList:
    """Pools (by index) and the ED (:data:`ED`) with a bed or space freed, in order."""

    ED = -1

    def __init__(self) -> None:
        self._entries: deque[int] = deque()
        self._listed: set[int] = set()

    def add(self, entry: int) -> None:
        """Put ``entry`` at the end, unless it is on the list already."""
        if entry not in self._listed:
            self._listed.add(entry)
            self._entries.append(entry)

    def pop(self) -> int | None:
        """Take the first entry off the list (None when empty)."""
        if not self._entries:
            return None
        entry = self._entries.popleft()
        self._listed.discard(entry)
        return entry


# --- the emergency department --------------------------------------------------------------


class EmergencyDepartment:
    """Treatment spaces, four acuity queues and the queue discipline."""

    def __init__(
        self,
        spaces: float,
        policy: EDQueuePolicy,
        patients: Patients,
        clock: Clock,
        offers: OfferList,
        on_treatment_end: Callable[[int], None],
    ) -> None:
        """``spaces``: treatment spaces today (inf = unlimited)."""
        self.spaces = spaces
        self.policy = policy
        self.busy = 0
        """Spaces held: in treatment or boarding."""
        self.queues: list[deque[int]] = [deque() for _ in range(4)]
        self.n_waiting = 0
        self._patients, self._clock, self._offers = patients, clock, offers
        self._on_treatment_end = on_treatment_end

    def arrive(self, i: int, now: float) -> None:
        """ED patient i arrives: takes a free space, or joins the queue of their acuity."""
        if self.busy < self.spaces:
            self.start_treatment(i, now)
        else:
            self.queues[self._patients.ed_acuity[i] - 1].append(i)
            self.n_waiting += 1

    def start_treatment(self, i: int, now: float) -> None:
        """Take a space; the end of treatment is now + treatment time (days)."""
        p = self._patients
        self.busy += 1
        treated = now + p.ed_treatment[i]
        p.ed_space_start[i] = now
        p.ed_treated[i] = treated
        if p.ed_patient[i] < 0:
            p.ed_space_end[i] = treated
        self._clock.at(treated, EventClass.TREATMENT_END, i, self._on_treatment_end)

    def release_space(self) -> None:
        """A patient leaves their space; the ED goes on the offer list."""
        self.busy -= 1
        self._offers.add(OfferList.ED)

    def board_out(self, i: int, now: float) -> None:
        """Boarder i has a bed: they leave their space at ``now`` (days)."""
        self._patients.ed_space_end[i] = now
        self.release_space()

    def offer(self, now: float) -> None:
        """Fill free spaces with waiting patients chosen by the policy."""
        while self.busy < self.spaces and self.n_waiting:
            queues = [q for q in self.queues if q]
            heads = [
                QueueHead(self._patients.ed_acuity[q[0]], self._patients.ed_arrival[q[0]])
                for q in queues
            ]
            i = queues[self.policy.choose(heads, now)].popleft()
            self.n_waiting -= 1
            self.start_treatment(i, now)

    def present(self) -> int:
        """Patients in the ED: in treatment, boarding or waiting."""
        return self.busy + self.n_waiting


# --- electives ------------------------------------------------------------------------------


class WaitingList:
    """Electives deferred for want of a bed, by pool: first deferred, first served.

    Deferral events (RawLog): 1 when deferred, plus 1 for each booking session the
    patient stays on the list through; counted when they leave the list (or at the
    end of the run) from the number of sessions held meanwhile.
    """

    def __init__(self, n_pools: int, patients: Patients) -> None:
        self.lists: list[deque[int]] = [deque() for _ in range(n_pools)]
        self.sessions_held = 0
        self._joined: dict[int, int] = {}
        """Sessions held when each waiting patient was deferred."""
        self._patients = patients

    def waiting(self, k: int) -> int:
        """Electives on pool k's list."""
        return len(self.lists[k])

    def defer(self, b: int, k: int) -> None:
        """Elective b joins pool k's list (one deferral event)."""
        self.lists[k].append(b)
        self._joined[b] = self.sessions_held
        self._patients.deferral_events[b] = 1

    def admit_next(self, k: int) -> int:
        """Take the head of pool k's list off it (during a session)."""
        b = self.lists[k].popleft()
        self._patients.deferral_events[b] += self.sessions_held - self._joined.pop(b)
        return b

    def end_session(self) -> None:
        """Everyone still on a list stayed through one more session."""
        self.sessions_held += 1

    def settle(self) -> None:
        """Count the sessions of those still on a list at the end of the run."""
        for waiting in self.lists:
            for b in waiting:
                self._patients.deferral_events[b] += self.sessions_held - self._joined[b]


# --- bed management ---------------------------------------------------------------------------


class BedManager:
    """Who gets which bed: the own pool first, then the one-bed-pool rule (through the
    bed-allocation policy); freed beds and spaces are handed out from the offer list."""

    def __init__(
        self,
        work: Workload,
        pools: list[BedPool],
        ed: EmergencyDepartment,
        waiting: WaitingList,
        patients: Patients,
        clock: Clock,
        offers: OfferList,
        policy: BedAllocationPolicy,
    ) -> None:
        self.pools = pools
        self.policy = policy
        self.in_bed = [0] * len(pools)
        """Patients in a bed, by home pool."""
        self._ed, self._waiting, self._p = ed, waiting, patients
        self._clock, self._offers = clock, offers
        self._borrow_route: list[bool] = work.borrow_route.tolist()
        self._multiplier = float(work.los_multiplier)
        self._daytime = bool(work.daytime)

    # --- requests ---------------------------------------------------------------------

    def request_bed(self, b: int, row: int, now: float) -> None:
        """Patient b asks at ``now`` (days) for the bed of stage ``row``."""
        self._p.stage_request[row] = now
        if row > self._p.first[b]:
            self._request_later_stage(b, row, now)
        elif self._p.route[b] == ELECTIVE:
            self._request_elective(b, row, now)
        else:
            self._request_first_stage(b, row, now)

    def _request_later_stage(self, b: int, row: int, now: float) -> None:
        """A free bed of the stage's pool, else wait in its queue keeping the bed held."""
        pool = self.pools[self._p.stage_pool[row]]
        if pool.free() > 0:
            self.take_bed(b, row, pool.index, now, outlier=False)
        else:
            pool.join_queue(BedRequest(b, row, now, borrower=False))

    def _request_elective(self, b: int, row: int, now: float) -> None:
        """Own bed (reserve kept, no emergency waiting), else a lender's, else defer."""
        pool = self.pools[self._p.stage_pool[row]]
        if pool.elective_may_enter():
            self.take_bed(b, row, pool.index, now, outlier=False)
            return
        if self._borrow_route[ELECTIVE]:
            lenders = self.lenders(pool.index, elective=True)
            if lenders:
                self.take_lenders_bed(b, row, lenders, now)
                return
        self._waiting.defer(b, pool.index)

    def _request_first_stage(self, b: int, row: int, now: float) -> None:
        """Own bed, else a lender's (if allowed), else turned away or queue."""
        pool = self.pools[self._p.stage_pool[row]]
        if pool.free() > 0:
            self.take_bed(b, row, pool.index, now, outlier=False)
            return
        borrower = self._borrow_route[self._p.route[b]] and pool.member
        if borrower:
            lenders = self.lenders(pool.index, elective=False)
            if lenders:
                self.take_lenders_bed(b, row, lenders, now)
                return
        if self._p.lose[b]:
            self._p.lost[b] = True
        else:
            pool.join_queue(BedRequest(b, row, now, borrower=borrower))

    def lenders(self, k: int, elective: bool) -> list[Lender]:
        """Member pools other than k (pool order) that can take an outlier of pool k."""
        if not self.pools[k].member:
            return []
        out = []
        for pool in self.pools:
            if pool.index == k or not pool.may_lend():
                continue
            if elective:
                if pool.elective_may_enter():
                    out.append(Lender(pool.index, pool.free_for_electives()))
            elif pool.free() > 0:
                out.append(Lender(pool.index, pool.free()))
        return out

    def take_lenders_bed(self, b: int, row: int, lenders: list[Lender], now: float) -> None:
        """Place patient b as an outlier in the lender the policy chooses."""
        j = lenders[self.policy.choose_lender(lenders)].pool
        self.take_bed(b, row, j, now, outlier=True)

    # --- beds taken and left -----------------------------------------------------------

    def take_bed(self, b: int, row: int, j: int, now: float, outlier: bool) -> None:
        """Patient b takes a bed of pool j for stage ``row`` at ``now`` (days)."""
        p, pool = self._p, self.pools[j]
        pool.occupied += 1
        if outlier:
            pool.outlying += 1
        p.stage_start[row] = now
        p.stage_bed_pool[row] = j
        p.stage_outlier[row] = outlier
        end = self.stage_end_time(b, row, now, outlier)
        if p.is_last(b, row):
            p.stage_end[row] = end
        held, p.bed_row[b] = p.bed_row[b], row
        self._clock.at(end, EventClass.STAGE_END, b, self._on_stage_end)
        if held >= 0:
            p.stage_end[held] = now
            self._leave_bed(held)
        else:
            self.in_bed[p.home[b]] += 1
            i = p.ed_index[b]
            if i >= 0:
                self._ed.board_out(i, now)

    def stage_end_time(self, b: int, row: int, start: float, outlier: bool) -> float:
        """start + length (× the outlier multiplier); the daytime rule on the last stage."""
        los = self._p.stage_los[row]
        end = start + (los * self._multiplier if outlier else los)
        if self._daytime and self._p.is_last(b, row):
            day = math.floor(end)
            if day > math.floor(start):
                end = day + self._p.discharge_hour[b]
        return end

    def _leave_bed(self, row: int) -> None:
        """The bed of stage ``row`` is left; its pool goes on the offer list."""
        pool = self.pools[self._p.stage_bed_pool[row]]
        pool.occupied -= 1
        if self._p.stage_outlier[row]:
            pool.outlying -= 1
        self._offers.add(pool.index)

    def _on_stage_end(self, b: int) -> None:
        """Stage end of patient b: ask for the next stage's bed, or go home."""
        row, now = self._p.bed_row[b], self._clock.now
        if self._p.is_last(b, row):
            self._p.bed_row[b] = -1
            self.in_bed[self._p.home[b]] -= 1
            self._leave_bed(row)
        else:
            self.request_bed(b, row + 1, now)

    # --- the offer list ------------------------------------------------------------------

    def work_offer_list(self, now: float) -> None:
        """Offer each listed pool or the ED in turn until the list is empty."""
        while (entry := self._offers.pop()) is not None:
            if entry == OfferList.ED:
                self._ed.offer(now)
            else:
                self.offer_pool(self.pools[entry], now)

    def offer_pool(self, pool: BedPool, now: float) -> None:
        """Free beds of ``pool``: its emergency-class queue first, then borrowers."""
        while pool.free() > 0:
            if len(pool.queue):
                req = pool.next_in_queue()
                self.take_bed(req.patient, req.row, pool.index, now, outlier=False)
            elif not self._lend_to_borrower(pool, now):
                return

    def _lend_to_borrower(self, pool: BedPool, now: float) -> bool:
        """Give a bed of ``pool`` to another pool's borrower the policy chooses."""
        if not pool.may_lend():
            return False
        others = [q for q in self.pools if q is not pool and q.member and len(q.borrowers)]
        if not others:
            return False
        heads = [Borrower(q.index, q.borrowers.head().time) for q in others]
        req = others[self.policy.choose_borrower(heads)].next_borrower()
        self.take_bed(req.patient, req.row, pool.index, now, outlier=True)
        return True


# --- capacity control -------------------------------------------------------------------------


class CapacityControl:
    """Dated capacity changes at 00:00 (never evicting anyone) and booking sessions."""

    def __init__(
        self,
        work: Workload,
        pools: list[BedPool],
        ed: EmergencyDepartment,
        beds: BedManager,
        waiting: WaitingList,
        offers: OfferList,
        patients: Patients,
    ) -> None:
        self._capacity: list[list[float]] = work.capacity.tolist()
        self._shared: list[list[float]] = work.shared.tolist()
        self._ed_spaces: list[float] = work.ed_spaces.tolist()
        self._electives_borrow = bool(work.borrow_route[ELECTIVE])
        self._pools, self._ed, self._beds = pools, ed, beds
        self._waiting, self._offers, self._first = waiting, offers, patients.first

    def change_capacity(self, d: int) -> None:
        """Day d's beds, shared beds and ED spaces; every pool, then the ED, offered."""
        for pool in self._pools:
            pool.capacity = self._capacity[pool.index][d]
            pool.shared = self._shared[pool.index][d]
        if self._ed_spaces:
            self._ed.spaces = self._ed_spaces[d]
        for pool in self._pools:
            self._offers.add(pool.index)
        if self._ed_spaces:
            self._offers.add(OfferList.ED)

    def booking_session(self, now: float) -> None:
        """Offer beds to each pool's waiting list, in pool order."""
        for pool in self._pools:
            self._admit_electives(pool, now)
        self._waiting.end_session()

    def _admit_electives(self, pool: BedPool, now: float) -> None:
        """Own beds first (reserve kept, no emergency waiting), then lenders' beds."""
        k, waiting, first = pool.index, self._waiting, self._first
        while waiting.waiting(k) and pool.elective_may_enter():
            b = waiting.admit_next(k)
            self._beds.take_bed(b, first[b], k, now, outlier=False)
        if not self._electives_borrow:
            return
        while waiting.waiting(k):
            lenders = self._beds.lenders(k, elective=True)
            if not lenders:
                return
            b = waiting.admit_next(k)
            self._beds.take_lenders_bed(b, first[b], lenders, now)


# --- the hospital -------------------------------------------------------------------------------


class Hospital:
    """The departments wired to the clock; the handlers of the events of RULES.md."""

    def __init__(
        self, work: Workload, ed_policy: EDQueuePolicy, bed_policy: BedAllocationPolicy
    ) -> None:
        self.work = work
        self.clock = Clock(work.t0)
        self.patients = Patients(work)
        self.offers = OfferList()
        self.pools = [
            BedPool(
                k,
                float(work.capacity[k, 0]),
                float(work.shared[k, 0]),
                int(work.reserve[k]),
                bool(work.member[k]),
            )
            for k in range(work.n_pools)
        ]
        spaces = float(work.ed_spaces[0]) if work.ed_spaces.size else 0.0
        self.ed = EmergencyDepartment(
            spaces, ed_policy, self.patients, self.clock, self.offers, self.on_treatment_end
        )
        self.waiting = WaitingList(work.n_pools, self.patients)
        self.beds = BedManager(
            work,
            self.pools,
            self.ed,
            self.waiting,
            self.patients,
            self.clock,
            self.offers,
            bed_policy,
        )
        self.control = CapacityControl(
            work, self.pools, self.ed, self.beds, self.waiting, self.offers, self.patients
        )
        self.clock.after_each = self.beds.work_offer_list
        self._streams = self._schedule_inputs()

    def _schedule_inputs(self) -> list[ArrivalStream]:
        """Capacity changes, booking sessions and the two arrival streams."""
        work, clock = self.work, self.clock
        for d in work.change_days.tolist():
            clock.at(work.day_start(d), EventClass.CAPACITY_CHANGE, d, self.on_capacity_change)
        for j, t in enumerate(work.sessions.tolist()):
            clock.at(t, EventClass.BOOKING_SESSION, j, self.on_booking_session)
        non_ed = np.flatnonzero(work.ed_index < 0)
        streams = [
            ArrivalStream(clock, EventClass.BED_REQUEST, work.arrival, non_ed, self.on_bed_request)
        ]
        if work.ed_unlimited:
            self._treat_unadmitted_directly()
            simulated = np.flatnonzero(work.ed_patient >= 0)
        else:
            simulated = np.arange(work.n_ed)
        streams.append(
            ArrivalStream(
                clock, EventClass.ED_ARRIVAL, work.ed_arrival, simulated, self.on_ed_arrival
            )
        )
        return streams

    def _treat_unadmitted_directly(self) -> None:
        """Unlimited ED: those not admitted are treated on arrival (if before the end)."""
        w, p = self.work, self.patients
        rows = np.flatnonzero((w.ed_patient < 0) & (w.ed_arrival < w.t_end))
        arrival = w.ed_arrival[rows]
        treated = arrival + w.ed_treatment[rows]
        for i, a, t in zip(rows.tolist(), arrival.tolist(), treated.tolist(), strict=True):
            p.ed_space_start[i] = a
            p.ed_treated[i] = t
            p.ed_space_end[i] = t

    # --- event handlers (each is followed by the offer list) ------------------------------

    def on_bed_request(self, b: int) -> None:
        """Class 4: non-ED patient b asks for their first bed."""
        self.beds.request_bed(b, self.patients.first[b], self.clock.now)

    def on_ed_arrival(self, i: int) -> None:
        """Class 5: ED patient i arrives."""
        self.ed.arrive(i, self.clock.now)

    def on_treatment_end(self, i: int) -> None:
        """Class 1: ED patient i is treated: leaves, or asks for a bed and boards."""
        b = self.patients.ed_patient[i]
        if b < 0:
            self.ed.release_space()
        else:
            self.beds.request_bed(b, self.patients.first[b], self.clock.now)

    def on_capacity_change(self, d: int) -> None:
        """Class 2: 00:00 of day d."""
        self.control.change_capacity(d)

    def on_booking_session(self, j: int) -> None:
        """Class 3: booking session j."""
        self.control.booking_session(self.clock.now)

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> RawLog:
        """Process every event before ``t_end``; the log and the end counters."""
        self.clock.run_before(self.work.t_end)
        self.waiting.settle()
        p, n = self.patients, self.work.n_pools
        return RawLog(
            stage_request=np.array(p.stage_request, dtype=np.float64),
            stage_start=np.array(p.stage_start, dtype=np.float64),
            stage_end=np.array(p.stage_end, dtype=np.float64),
            stage_bed_pool=np.array(p.stage_bed_pool, dtype=np.int32),
            stage_outlier=np.array(p.stage_outlier, dtype=np.bool_),
            lost=np.array(p.lost, dtype=np.bool_),
            deferral_events=np.array(p.deferral_events, dtype=np.int32),
            ed_space_start=np.array(p.ed_space_start, dtype=np.float64),
            ed_treated=np.array(p.ed_treated, dtype=np.float64),
            ed_space_end=np.array(p.ed_space_end, dtype=np.float64),
            end_in_bed=np.array(self.beds.in_bed, dtype=np.int32),
            end_queued=np.array([len(pool.queue) for pool in self.pools], dtype=np.int32),
            end_waitlist=np.array([self.waiting.waiting(k) for k in range(n)], dtype=np.int32),
            end_in_ed=-1 if self.work.ed_unlimited else self.ed.present(),
        )


def simulate(work: Workload, ed_policy: EDQueuePolicy, bed_policy: BedAllocationPolicy) -> RawLog:
    """Run the hospital of one replicate by the rules of ``sim/des/RULES.md``.

    Args:
        work: the replicate's patients, capacities and rules (times in days).
        ed_policy: which waiting ED patient a free treatment space goes to.
        bed_policy: lender and borrower choice under the one-bed-pool reform.

    Returns:
        The raw patient log (times as simulated; not yet cut at ``work.t_end``).
    """
    return Hospital(work, ed_policy, bed_policy).run()
