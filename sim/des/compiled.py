"""The compiled hospital engine: the rules of ``sim/des/RULES.md`` in numba.

:func:`simulate` reads a :class:`~sim.des.workload.Workload` and returns the
:class:`~sim.des.workload.RawLog` that the SimPy reference model
(:mod:`sim.des.hospital`) returns for it, bit for bit. There is no Python object
per patient, and the workload is not copied: the engine reads the Workload's own
arrays (read only) and writes the RawLog's arrays in place. Its only other arrays
per row are the links of the bed queues (every queue is a linked list threaded
through an int32 array indexed by stage row; the ED's, through ``ed_treated``: see
:class:`Links`) and the patient of each stage row.

Events are keyed ``(time, class, id)`` as in RULES.md. Classes 0 (stage end) and 1
(end of ED treatment) are dynamic, one calendar queue each, keyed ``(time, id)``.
Classes 2 to 5 (capacity changes, booking sessions, bed requests of non-ED
streams, ED arrivals) are known in advance and read from four streams in event
order. Each source holds one class, so the next event is the earliest head, the
lower class at equal times.

Queues that lose members from the middle (a borrower leaves its pool's
emergency-class queue when it takes another pool's bed) use lazy deletion: an
entry whose stage has started is skipped when it reaches the head, and the count
(``QUEUED``) is kept exact. Each stage row enters each kind of queue at most once,
so stale entries never corrupt a chain.

The arrays are grouped in named tuples (:class:`Inputs`, :class:`Log`,
:class:`Links`, :class:`State`, :class:`EventQueue`); the per-pool and whole-hospital
state are small int64 tables whose rows (or slots) have the names below.

Every jitted function is compiled with ``_nrt=False`` (numba's private switch for
its reference-counting runtime; see ``_OPTIONS``).

Times are days (float64), as in the workload.
"""

from __future__ import annotations

import math
import time
from typing import Any, Final, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sim.des.monitor import readonly
from sim.des.workload import ELECTIVE, RawLog, Workload

__all__ = ["BED_POLICY_CODES", "ED_POLICY_CODES", "compile_engine", "simulate"]

ED_POLICY_CODES: Final = {"triage": 0, "max_wait": 1}
"""ED queue disciplines this engine implements (names of ``sim.des.policies``)."""
BED_POLICY_CODES: Final = {"most_free": 0, "first_listed": 1}
"""Bed-allocation rules this engine implements (names of ``sim.des.policies``)."""

# numba's options, through a dict: ``_nrt`` is not in numba's type stubs. The engine
# allocates nothing, so numba's reference-counting runtime would only count
# references to the array arguments of every call that is not inlined.
_OPTIONS: Final[dict[str, Any]] = {"cache": True, "_nrt": False}
_compiled = njit(**_OPTIONS)
_inlined = njit(inline="always", **_OPTIONS)
"""Helpers on the hot path, inlined into their (single, or few) callers."""

_MAX_WAIT: Final = 1
_MOST_FREE: Final = 0

# --- the small state tables -------------------------------------------------------
# State.pools, int64 (_N_POOL_FIELDS, n_pools): a row per field.
OCCUPIED = 0  # patients in a bed of the pool, outliers included
OUTLIERS = 1  # other pools' patients in a bed of the pool
IN_BED = 2  # patients in a bed, by home pool
QUEUE_HEAD, QUEUE_TAIL, QUEUED = 3, 4, 5  # emergency-class queue (stage rows)
BORROWER_HEAD, BORROWER_TAIL = 6, 7  # its borrowers (stage rows)
WAITLIST_HEAD, WAITLIST_TAIL, WAITLISTED = 8, 9, 10  # elective waiting list (stage rows)
RESERVE = 11  # elective reserve (beds)
MEMBER = 12  # 1 for a pool of the one-bed-pool reform
ON_OFFER_LIST = 13  # 1 while the pool is on the offer list
_N_POOL_FIELDS: Final = 14
# State.beds, float64 (2, n_pools + 1): a row per field; column n_pools is the ED.
BEDS = 0  # beds of each pool today (inf = unlimited), then the ED's spaces
SHARED = 1  # shared beds of each pool today (lent to other pools' patients)
# State.counters, int64: the hospital's slots.
OFFER_FIRST = 0  # position of the offer list's first entry in State.offers
OFFER_COUNT = 1  # entries on the offer list
SESSIONS_HELD = 2
ED_BUSY = 3  # ED spaces in use (treatment or boarding)
ED_WAITING = 4  # ED patients waiting for a space
ED_ON_OFFER_LIST = 5
DAYTIME = 6  # 1: the daytime discharge rule
ED_POLICY = 7  # ED_POLICY_CODES
BED_POLICY = 8  # BED_POLICY_CODES
ED_QUEUE_HEAD = 9  # four slots: head of each acuity's queue (ED rows)
ED_QUEUE_TAIL = 13  # four slots: tail of each acuity's queue
_N_COUNTERS: Final = 17
# State.rules, float64.
LOS_MULTIPLIER = 0  # stay multiplier of an outlier
MAX_WAIT = 1  # four slots: the ED's maximum wait by acuity 1..4 (days)
_N_RULES: Final = 5

# A stage end's key packs what a discharge needs, so that the commonest event
# reads nothing from the big per-stage arrays: bits 0-9 bed pool, 10 outlier, 11
# last stage, 12-21 home pool, 22-31 stage within the stay, 32-62 patient row. Its
# patient row in the top bits orders entries of equal times by patient (RULES' id).
_OUTLIER_BIT: Final = 1 << 10
_LAST_BIT: Final = 1 << 11
_MAX_POOLS: Final = 1 << 10
_MAX_STAGES: Final = 1 << 10

Arr = NDArray[Any]


class Inputs(NamedTuple):
    """The Workload's arrays (read only), and the order of two event streams."""

    arrival: Arr
    home_pool: Arr
    route: Arr
    lose: Arr
    ed_index: Arr
    discharge_hour: Arr
    stage_offset: Arr
    stage_pool: Arr
    stage_los: Arr
    ed_arrival: Arr
    ed_acuity: Arr
    ed_treatment: Arr
    ed_patient: Arr
    may_borrow: Arr
    """By route (int64): 1 if its patients may take another pool's bed."""
    request_order: Arr
    """Rows of the non-ED bed requests (class 4) in event order; empty: rows 0, 1, ..."""
    ed_order: Arr
    """ED rows of the ED arrivals (class 5) in event order; empty: rows 0, 1, ..."""


class Log(NamedTuple):
    """The RawLog's arrays, written in place."""

    stage_request: Arr
    stage_start: Arr
    stage_end: Arr
    stage_bed_pool: Arr
    stage_outlier: Arr
    lost: Arr
    deferral_events: Arr
    ed_space_start: Arr
    ed_treated: Arr
    ed_space_end: Arr


class Links(NamedTuple):
    """The bed queues' links (int32, -1: end of a chain) and the patient of each stage.

    The ED's acuity queues are linked through ``Log.ed_treated`` instead: a waiting
    patient's treatment time is not known yet, so the slot holds the next ED row
    (-1.0: none) until treatment starts, and :func:`_finish_ed_queues` writes NaN
    back for those still waiting at the end."""

    stage_patient: Arr
    queue_next: Arr
    """By stage row: the next in the emergency-class queue or the waiting list (an
    elective on a waiting list is never in an emergency-class queue)."""
    borrower_next: Arr
    """By stage row: the next borrower (empty when no pool is a member)."""


class State(NamedTuple):
    pools: Arr
    beds: Arr
    counters: Arr
    rules: Arr
    offers: Arr
    """The offer list, a ring of n_pools + 1 entries (pools, then the ED = n_pools)."""


class EventQueue(NamedTuple):
    """Pending events ``(time, key)`` in slots, ordered by time, then key (see the
    calendar queue below)."""

    time: Arr
    key: Arr
    day: Arr
    """Bucket day of each slot."""
    next: Arr
    """Next slot in the bucket (or in the chain of free slots); -1: none."""
    bucket_head: Arr
    """First slot of each bucket (a power of two of them); -1: empty."""
    state: Arr
    scale: Arr


class Streams(NamedTuple):
    """The pre-scheduled events of classes 2 to 5."""

    change_time: Arr
    change_day: Arr
    session_time: Arr
    position: Arr
    """Events of each stream (classes 2 to 5) already taken (int64, 4)."""
    head: Arr
    """Time of each stream's next event (inf: none left)."""
    length: Arr
    """Events of each stream (int64, 4)."""


# --- event queues -----------------------------------------------------------------
# A calendar queue (R. Brown, 1988): events are hashed by "day" (a bucket of
# ``1 / buckets_per_day`` days; bucket day = floor((time - origin) * buckets_per_day))
# into a ring of buckets, each a linked list sorted by (time, key). The bucket day is
# monotone in time, so the earliest event is the head of the first bucket, from the
# current one's day on, whose head is of that very day: the order is exactly (time,
# key), and the bucket width only sets the speed. With half to one bucket per event
# per day, most buckets hold at most one event and a pop scans a bucket or two, where
# a heap of thousands of events would sift through its levels.
#
# EventQueue.state, int64 slots:
SIZE = 0  # pending events
FREE = 1  # first free slot (a chain through EventQueue.next)
FIRST = 2  # slot of the earliest event (the sentinel, the last slot, when none)
FIRST_DAY = 3  # its bucket day
# EventQueue.scale, float64 slots:
ORIGIN = 0  # time of bucket day 0 (the run's start)
BUCKETS_PER_DAY = 1
_FAR_DAY: Final = 1 << 62  # bucket day of every time beyond (or NaN)


@_inlined
def _before(q: EventQueue, a: int, b: int) -> bool:
    """Whether event slot a comes before slot b: by time, then key."""
    return q.time[a] < q.time[b] or (q.time[a] == q.time[b] and q.key[a] < q.key[b])


@_inlined
def _schedule(q: EventQueue, t: float, key: int) -> None:
    """Add the event ``(t, key)`` (t in days, not before the earliest popped)."""
    slot = q.state[FREE]
    if slot < 0:
        raise RuntimeError("compiled engine: event queue overflow")
    q.state[FREE] = q.next[slot]
    q.time[slot] = t
    q.key[slot] = key
    x = (t - q.scale[ORIGIN]) * q.scale[BUCKETS_PER_DAY]
    day = np.int64(x) if x < _FAR_DAY else _FAR_DAY
    q.day[slot] = day
    bucket = day & (q.bucket_head.size - 1)
    e = q.bucket_head[bucket]
    if e < 0 or _before(q, slot, e):
        q.next[slot] = e
        q.bucket_head[bucket] = slot
    else:
        while q.next[e] >= 0 and _before(q, q.next[e], slot):
            e = q.next[e]
        q.next[slot] = q.next[e]
        q.next[e] = slot
    n = q.state[SIZE]
    q.state[SIZE] = n + 1
    if n == 0 or _before(q, slot, q.state[FIRST]):
        q.state[FIRST] = slot
        q.state[FIRST_DAY] = day


@_inlined
def _find_first(q: EventQueue, day: int) -> None:
    """The earliest event, searching from bucket day ``day`` on: a year of buckets,
    then (events more than a year ahead) every bucket's head."""
    mask = q.bucket_head.size - 1
    for _ in range(q.bucket_head.size):
        h = q.bucket_head[day & mask]
        if h >= 0 and q.day[h] == day:
            q.state[FIRST] = h
            q.state[FIRST_DAY] = day
            return
        day += 1
    _search_first(q)


@_compiled
def _search_first(q: EventQueue) -> None:
    """The earliest event, among every bucket's head."""
    best = -1
    for b in range(q.bucket_head.size):
        h = q.bucket_head[b]
        if h >= 0 and (best < 0 or _before(q, h, best)):
            best = h
    q.state[FIRST] = best
    q.state[FIRST_DAY] = q.day[best]


@_inlined
def _pop(q: EventQueue) -> None:
    """Remove the earliest event (the caller has read it at slot ``state[FIRST]``)."""
    first = q.state[FIRST]
    day = q.state[FIRST_DAY]
    bucket = day & (q.bucket_head.size - 1)
    h = q.next[first]
    q.bucket_head[bucket] = h
    q.next[first] = q.state[FREE]
    q.state[FREE] = first
    q.state[SIZE] -= 1
    if q.state[SIZE] == 0:
        q.state[FIRST] = q.time.size - 1  # the sentinel
    elif h >= 0 and q.day[h] == day:
        q.state[FIRST] = h
    else:
        _find_first(q, day + 1)


# --- queues -----------------------------------------------------------------------
@_compiled
def _insert(head: int, tail: int, nxt: Arr, request: Arr, e: int) -> tuple[int, int]:
    """Insert stage row ``e`` into the linked FIFO (links ``nxt``) ordered by (request
    time, row); return the new (head, tail).

    Requests come in time order, so this is an append except at equal times, where a
    lower row whose event class is higher (so processed later) must go first."""
    t = request[e]
    if tail < 0:
        nxt[e] = -1
        return e, e
    if request[tail] < t or (request[tail] == t and tail < e):
        nxt[tail] = e
        nxt[e] = -1
        return head, e
    prev = -1
    cur = head
    while cur >= 0 and (request[cur] < t or (request[cur] == t and cur < e)):
        prev = cur
        cur = nxt[cur]
    nxt[e] = cur
    if prev < 0:
        return e, tail
    nxt[prev] = e
    return head, tail


@_inlined
def _offer(st: State, x: int) -> None:
    """Put pool x (or the ED, x = n_pools) at the end of the offer list."""
    m = st.offers.size
    c = st.counters
    if x == m - 1:
        if c[ED_ON_OFFER_LIST]:
            return
        c[ED_ON_OFFER_LIST] = 1
    else:
        if st.pools[ON_OFFER_LIST, x]:
            return
        st.pools[ON_OFFER_LIST, x] = 1
    pos = c[OFFER_FIRST] + c[OFFER_COUNT]
    st.offers[pos - m if pos >= m else pos] = x
    c[OFFER_COUNT] += 1


@_inlined
def _offer_freed(j: int, st: State) -> None:
    """Pool j freed a bed: offer it, unless offering would do nothing (no queue and
    not a lender; queues are joined only at events, never while offering)."""
    if st.pools[QUEUED, j] > 0 or st.pools[MEMBER, j]:
        _offer(st, j)


@_inlined
def _enqueue(s: int, k: int, borrower: bool, log: Log, links: Links, st: State) -> None:
    """Stage row s joins pool k's emergency-class queue (and its borrowers)."""
    p = st.pools
    p[QUEUE_HEAD, k], p[QUEUE_TAIL, k] = _insert(
        p[QUEUE_HEAD, k], p[QUEUE_TAIL, k], links.queue_next, log.stage_request, s
    )
    p[QUEUED, k] += 1
    if borrower:
        p[BORROWER_HEAD, k], p[BORROWER_TAIL, k] = _insert(
            p[BORROWER_HEAD, k], p[BORROWER_TAIL, k], links.borrower_next, log.stage_request, s
        )


@_inlined
def _left_queue(k: int, st: State) -> None:
    """One patient of pool k's emergency-class queue took a bed."""
    p = st.pools
    p[QUEUED, k] -= 1
    if p[QUEUED, k] == 0:
        # only stale entries are left in both chains: drop them
        p[QUEUE_HEAD, k] = -1
        p[QUEUE_TAIL, k] = -1
        p[BORROWER_HEAD, k] = -1
        p[BORROWER_TAIL, k] = -1


@_inlined
def _pop_emergency(k: int, log: Log, links: Links, st: State) -> int:
    """Remove and return the head of pool k's emergency-class queue (not empty)."""
    e = st.pools[QUEUE_HEAD, k]
    while not math.isnan(log.stage_start[e]):  # stale: left as a borrower
        e = links.queue_next[e]
    st.pools[QUEUE_HEAD, k] = links.queue_next[e]
    _left_queue(k, st)
    return e


@_compiled
def _choose_borrower(k: int, start: Arr, request: Arr, borrower_next: Arr, pools: Arr) -> int:
    """Member pool (not k) whose head borrower asked first (equal: the first pool), or
    -1; drops stale heads on the way."""
    best = -1
    best_t = math.inf
    for j in range(pools.shape[1]):
        if j == k or not pools[MEMBER, j]:
            continue
        e = pools[BORROWER_HEAD, j]
        while e >= 0 and not math.isnan(start[e]):
            e = borrower_next[e]
        pools[BORROWER_HEAD, j] = e
        if e < 0:
            pools[BORROWER_TAIL, j] = -1
        elif best < 0 or request[e] < best_t:
            best = j
            best_t = request[e]
    return best


@_inlined
def _pop_borrower(j: int, links: Links, st: State) -> int:
    """Remove and return the (live) head of pool j's borrowers."""
    p = st.pools
    s = p[BORROWER_HEAD, j]
    p[BORROWER_HEAD, j] = links.borrower_next[s]
    if links.borrower_next[s] < 0:
        p[BORROWER_TAIL, j] = -1
    _left_queue(j, st)
    return s


@_inlined
def _join_waitlist(s: int, b: int, k: int, log: Log, links: Links, st: State) -> None:
    """Elective stage row s of patient b is deferred onto pool k's waiting list."""
    p = st.pools
    links.queue_next[s] = -1
    if p[WAITLIST_TAIL, k] < 0:
        p[WAITLIST_HEAD, k] = s
    else:
        links.queue_next[p[WAITLIST_TAIL, k]] = s
    p[WAITLIST_TAIL, k] = s
    p[WAITLISTED, k] += 1
    # one event now; the sessions held while listed are added when it leaves
    log.deferral_events[b] = 1 - st.counters[SESSIONS_HELD]


@_inlined
def _pop_waitlist(k: int, log: Log, links: Links, st: State) -> int:
    """Remove and return the head of pool k's waiting list (stage row)."""
    p = st.pools
    s = p[WAITLIST_HEAD, k]
    p[WAITLIST_HEAD, k] = links.queue_next[s]
    if links.queue_next[s] < 0:
        p[WAITLIST_TAIL, k] = -1
    p[WAITLISTED, k] -= 1
    log.deferral_events[links.stage_patient[s]] += st.counters[SESSIONS_HELD]
    return s


# --- beds -------------------------------------------------------------------------
@_inlined
def _leave_bed(j: int, outlier: bool, st: State) -> None:
    """A bed of pool j is left: a bed more free, and the pool goes on the offer list."""
    st.pools[OCCUPIED, j] -= 1
    if outlier:
        st.pools[OUTLIERS, j] -= 1
    _offer_freed(j, st)


@_inlined
def _take_bed(
    s: int, b: int, j: int, outlier: bool, t: float,
    inp: Inputs, log: Log, st: State, stage_ends: EventQueue,
) -> None:  # fmt: skip
    """Stage row s of patient b takes a bed of pool j at time t; schedules its end."""
    st.pools[OCCUPIED, j] += 1
    if outlier:
        st.pools[OUTLIERS, j] += 1
    log.stage_start[s] = t
    log.stage_bed_pool[s] = j
    log.stage_outlier[s] = outlier
    los = inp.stage_los[s]
    end = t + (los * st.rules[LOS_MULTIPLIER] if outlier else los)
    first = inp.stage_offset[b]
    last = s == inp.stage_offset[b + 1] - 1
    if last:
        if st.counters[DAYTIME] and math.floor(end) > math.floor(t):
            end = math.floor(end) + inp.discharge_hour[b]
        log.stage_end[s] = end
    home = inp.home_pool[b]
    key = (np.int64(b) << 32) | (np.int64(s - first) << 22) | (np.int64(home) << 12) | j
    key |= (_LAST_BIT if last else 0) | (_OUTLIER_BIT if outlier else 0)
    _schedule(stage_ends, end, key)
    if s > first:
        log.stage_end[s - 1] = t
        _leave_bed(log.stage_bed_pool[s - 1], log.stage_outlier[s - 1], st)
        return
    st.pools[IN_BED, home] += 1
    i = inp.ed_index[b]
    if i >= 0:  # the boarder leaves the ED
        log.ed_space_end[i] = t
        st.counters[ED_BUSY] -= 1
        if st.counters[ED_WAITING] > 0:  # else offering the ED does nothing
            _offer(st, st.offers.size - 1)


@_compiled
def _lender(k: int, elective: bool, pools: Arr, beds: Arr, counters: Arr) -> int:
    """The pool whose bed a patient of pool k takes as an outlier, or -1."""
    if not pools[MEMBER, k]:
        return -1
    best = -1
    most = 0.0
    for j in range(pools.shape[1]):
        if j == k or not pools[MEMBER, j] or not pools[OUTLIERS, j] < beds[SHARED, j]:
            continue
        free = beds[BEDS, j] - pools[OCCUPIED, j]
        if elective:
            if pools[QUEUED, j] > 0:
                continue
            free = free - pools[RESERVE, j]
        if not free > 0:
            continue
        if counters[BED_POLICY] != _MOST_FREE:
            return j  # first_listed: the first in pool order
        if best < 0 or free > most:
            best = j
            most = free
    return best


@_inlined
def _may_borrow(b: int, inp: Inputs, st: State) -> bool:
    """Electives if their route may (a lender then needs a member pool); others if
    their route may and the home pool is a member."""
    r = inp.route[b]
    if r == ELECTIVE:
        return inp.may_borrow[r] != 0
    return inp.may_borrow[r] != 0 and st.pools[MEMBER, inp.home_pool[b]] != 0


@_inlined
def _request(
    s: int, b: int, t: float, inp: Inputs, log: Log, links: Links, st: State, stage_ends: EventQueue
) -> None:
    """Stage row s of patient b asks for its bed at time t (days)."""
    log.stage_request[s] = t
    k = inp.stage_pool[s]
    p = st.pools
    free = st.beds[BEDS, k] - p[OCCUPIED, k]
    later = s > inp.stage_offset[b]  # later stages never borrow, are never turned away
    elective = not later and inp.route[b] == ELECTIVE
    j = -1
    if elective:
        if free - p[RESERVE, k] > 0 and p[QUEUED, k] == 0:
            j = k
    elif free > 0:
        j = k
    borrow = j < 0 and not later and _may_borrow(b, inp, st)
    if borrow:
        j = _lender(k, elective, p, st.beds, st.counters)
    if j >= 0:
        _take_bed(s, b, j, borrow, t, inp, log, st, stage_ends)
    elif elective:
        _join_waitlist(s, b, k, log, links, st)
    elif not later and inp.lose[b]:
        log.lost[b] = True
    else:
        _enqueue(s, k, borrow, log, links, st)


@_inlined
def _offer_pool(
    k: int, t: float, inp: Inputs, log: Log, links: Links, st: State, stage_ends: EventQueue
) -> None:
    """Give pool k's free beds to its emergency class, then lend them to borrowers."""
    p = st.pools
    while p[OCCUPIED, k] < st.beds[BEDS, k]:
        outlier = p[QUEUED, k] == 0
        if not outlier:
            s = _pop_emergency(k, log, links, st)
        else:
            if not (p[MEMBER, k] and p[OUTLIERS, k] < st.beds[SHARED, k]):
                return
            j = _choose_borrower(k, log.stage_start, log.stage_request, links.borrower_next, p)
            if j < 0:
                return
            s = _pop_borrower(j, links, st)
        _take_bed(s, links.stage_patient[s], k, outlier, t, inp, log, st, stage_ends)


# --- emergency department -----------------------------------------------------------
@_inlined
def _start_treatment(
    i: int, t: float, inp: Inputs, log: Log, st: State, ed_ends: EventQueue
) -> None:
    """ED patient i takes a space at time t; schedules the end of treatment (class 1)."""
    st.counters[ED_BUSY] += 1
    log.ed_space_start[i] = t
    done = t + inp.ed_treatment[i]
    log.ed_treated[i] = done
    if inp.ed_patient[i] < 0:
        log.ed_space_end[i] = done
    _schedule(ed_ends, done, i)


@_inlined
def _choose_acuity(t: float, inp: Inputs, st: State) -> int:
    """Acuity queue (0..3) whose head is treated next (``policies.choose``): the most
    urgent, or under ``max_wait`` the earliest arrival among overdue heads (equal: the
    more urgent)."""
    c = st.counters
    first = -1
    best = -1
    best_t = math.inf
    for a in range(4):
        i = c[ED_QUEUE_HEAD + a]
        if i < 0:
            continue
        if first < 0:
            first = a
            if c[ED_POLICY] != _MAX_WAIT:
                return a
        arrival = inp.ed_arrival[i]
        if t - arrival >= st.rules[MAX_WAIT + a] and (best < 0 or arrival < best_t):
            best = a
            best_t = arrival
    return best if best >= 0 else first


@_inlined
def _offer_ed(t: float, inp: Inputs, log: Log, st: State, ed_ends: EventQueue) -> None:
    """Give free ED spaces to waiting patients."""
    c = st.counters
    spaces = st.beds[BEDS, st.offers.size - 1]
    while c[ED_BUSY] < spaces and c[ED_WAITING] > 0:
        a = _choose_acuity(t, inp, st)
        i = c[ED_QUEUE_HEAD + a]
        nxt = int(log.ed_treated[i])  # the queue's link (see Links)
        c[ED_QUEUE_HEAD + a] = nxt
        if nxt < 0:
            c[ED_QUEUE_TAIL + a] = -1
        c[ED_WAITING] -= 1
        _start_treatment(i, t, inp, log, st, ed_ends)


@_inlined
def _ed_arrival(i: int, t: float, inp: Inputs, log: Log, st: State, ed_ends: EventQueue) -> None:
    """Class 5: ED patient i arrives; treated at once or queued by acuity (FIFO: the
    arrivals come in (time, row) order)."""
    c = st.counters
    if c[ED_BUSY] < st.beds[BEDS, st.offers.size - 1]:
        _start_treatment(i, t, inp, log, st, ed_ends)
        return
    a = inp.ed_acuity[i] - 1
    log.ed_treated[i] = -1.0  # the queue's link (see Links)
    if c[ED_QUEUE_TAIL + a] < 0:
        c[ED_QUEUE_HEAD + a] = i
    else:
        log.ed_treated[c[ED_QUEUE_TAIL + a]] = float(i)
    c[ED_QUEUE_TAIL + a] = i
    c[ED_WAITING] += 1


@_inlined
def _end_treatment(
    t: float,
    inp: Inputs,
    log: Log,
    links: Links,
    st: State,
    stage_ends: EventQueue,
    ed_ends: EventQueue,
) -> None:
    """Class 1: an admitted patient asks for a bed (and boards); anyone else leaves."""
    b = inp.ed_patient[ed_ends.key[ed_ends.state[FIRST]]]
    _pop(ed_ends)
    if b >= 0:
        _request(inp.stage_offset[b], b, t, inp, log, links, st, stage_ends)
        return
    st.counters[ED_BUSY] -= 1
    if st.counters[ED_WAITING] > 0:  # else offering the ED does nothing
        _offer(st, st.offers.size - 1)


# --- the other events ---------------------------------------------------------------
@_inlined
def _stage_end(
    t: float, inp: Inputs, log: Log, links: Links, st: State, stage_ends: EventQueue
) -> None:
    """Class 0: after the last stage the patient is discharged (from the packed key
    alone); else the next stage's bed is requested."""
    key = stage_ends.key[stage_ends.state[FIRST]]
    _pop(stage_ends)
    if not key & _LAST_BIT:
        b = key >> 32
        s = inp.stage_offset[b] + ((key >> 22) & (_MAX_STAGES - 1)) + 1
        _request(s, b, t, inp, log, links, st, stage_ends)
        return
    _leave_bed(key & (_MAX_POOLS - 1), (key & _OUTLIER_BIT) != 0, st)
    st.pools[IN_BED, (key >> 12) & (_MAX_POOLS - 1)] -= 1


@_compiled
def _capacity_change(d: int, tab: Arr, st: State) -> None:
    """Class 2: beds, shared beds and ED spaces take day d's values (``tab`` rows:
    beds by pool, shared beds by pool, ED spaces); every pool, then the ED, is offered."""
    n = st.pools.shape[1]
    for k in range(n):
        st.beds[BEDS, k] = tab[k, d]
        st.beds[SHARED, k] = tab[n + k, d]
        _offer(st, k)
    st.beds[BEDS, n] = tab[2 * n, d]
    _offer(st, n)


@_inlined
def _session(
    t: float, inp: Inputs, log: Log, links: Links, st: State, stage_ends: EventQueue
) -> None:
    """Class 3: each pool's waiting list, in pool order, is offered its own beds, then
    (electives borrowing) lenders' beds. Taking a lender's bed leaves pool k's own
    state unchanged, so one loop trying its own beds first is the two passes of RULES."""
    p = st.pools
    for k in range(p.shape[1]):
        while p[WAITLISTED, k] > 0:
            j = -1
            if (st.beds[BEDS, k] - p[OCCUPIED, k]) - p[RESERVE, k] > 0 and p[QUEUED, k] == 0:
                j = k
            elif inp.may_borrow[ELECTIVE]:
                j = _lender(k, True, p, st.beds, st.counters)
            if j < 0:
                break
            s = _pop_waitlist(k, log, links, st)
            _take_bed(s, links.stage_patient[s], j, j != k, t, inp, log, st, stage_ends)
    st.counters[SESSIONS_HELD] += 1


@_inlined
def _work_offers(
    t: float,
    inp: Inputs,
    log: Log,
    links: Links,
    st: State,
    stage_ends: EventQueue,
    ed_ends: EventQueue,
) -> None:
    """Work through the offer list until it is empty."""
    c = st.counters
    m = st.offers.size
    while c[OFFER_COUNT] > 0:
        h = c[OFFER_FIRST]
        x = st.offers[h]
        c[OFFER_FIRST] = h + 1 if h + 1 < m else 0
        c[OFFER_COUNT] -= 1
        if x == m - 1:
            c[ED_ON_OFFER_LIST] = 0
            _offer_ed(t, inp, log, st, ed_ends)
        else:
            st.pools[ON_OFFER_LIST, x] = 0
            _offer_pool(x, t, inp, log, links, st, stage_ends)


@_inlined
def _next_event(
    st: State, stage_ends: EventQueue, ed_ends: EventQueue, head: Arr
) -> tuple[int, float]:
    """Class and time of the next event, looking at the sources in class order (the
    two event queues, then the streams of classes 2 to 5): at equal times the lower class."""
    c = 0
    t = stage_ends.time[stage_ends.state[FIRST]]  # inf: none pending
    t_ed = ed_ends.time[ed_ends.state[FIRST]]
    if t_ed < t:
        t = t_ed
        c = 1
    for j in range(4):
        if head[j] < t:
            t = head[j]
            c = 2 + j
    return c, t


@_inlined
def _row(order: Arr, p: int) -> int:
    """The p-th row of a stream in event order (``order`` empty: row p)."""
    return p if order.size == 0 else order[p]


@_inlined
def _advance(j: int, inp: Inputs, sm: Streams) -> None:
    """Stream j (class 2 + j) moves on to its next event (j is a constant at every
    call, so each call compiles to its own branch)."""
    p = sm.position[j] + 1
    sm.position[j] = p
    if p >= sm.length[j]:
        sm.head[j] = math.inf
    elif j == 0:
        sm.head[0] = sm.change_time[p]
    elif j == 1:
        sm.head[1] = sm.session_time[p]
    elif j == 2:
        sm.head[2] = inp.arrival[_row(inp.request_order, p)]
    else:
        sm.head[3] = inp.ed_arrival[_row(inp.ed_order, p)]


@_compiled
def _run(
    inp: Inputs, log: Log, links: Links, st: State, stage_ends: EventQueue, ed_ends: EventQueue,
    sm: Streams, tab: Arr, t_end: float,
) -> None:  # fmt: skip
    """Process every event before ``t_end`` (days) in ``(time, class, id)`` order."""
    while True:
        c, t = _next_event(st, stage_ends, ed_ends, sm.head)
        if not t < t_end:  # (inf: no event left)
            return
        if c == 1:
            _end_treatment(t, inp, log, links, st, stage_ends, ed_ends)
        elif c == 0:
            _stage_end(t, inp, log, links, st, stage_ends)
        elif c == 5:
            i = _row(inp.ed_order, sm.position[3])
            _advance(3, inp, sm)
            _ed_arrival(i, t, inp, log, st, ed_ends)
        elif c == 4:
            b = _row(inp.request_order, sm.position[2])
            _advance(2, inp, sm)
            _request(inp.stage_offset[b], b, t, inp, log, links, st, stage_ends)
        elif c == 3:
            _advance(1, inp, sm)
            _session(t, inp, log, links, st, stage_ends)
        else:
            d = sm.change_day[sm.position[0]]
            _advance(0, inp, sm)
            _capacity_change(d, tab, st)
        if st.counters[OFFER_COUNT] > 0:
            _work_offers(t, inp, log, links, st, stage_ends, ed_ends)


@_compiled
def _finish_waitlists(log: Log, links: Links, st: State) -> None:
    """Electives still listed at the end count every session held since they joined."""
    for k in range(st.pools.shape[1]):
        s = st.pools[WAITLIST_HEAD, k]
        while s >= 0:
            log.deferral_events[links.stage_patient[s]] += st.counters[SESSIONS_HELD]
            s = links.queue_next[s]


@_compiled
def _finish_ed_queues(log: Log, st: State) -> None:
    """ED patients still waiting at the end: their link slot is NaN again."""
    for a in range(4):
        i = st.counters[ED_QUEUE_HEAD + a]
        while i >= 0:
            nxt = int(log.ed_treated[i])
            log.ed_treated[i] = np.nan
            i = nxt


# --- preparation (jitted: no temporaries the size of the workload) -----------------
@_compiled
def _fill_stage_patient(stage_offset: Arr, stage_patient: Arr) -> int:
    """The patient of each stage row; return the most stages of a stay."""
    most = 0
    for b in range(stage_offset.size - 1):
        most = max(most, stage_offset[b + 1] - stage_offset[b])
        for s in range(stage_offset[b], stage_offset[b + 1]):
            stage_patient[s] = b
    return most


@_compiled
def _identity_order(times: Arr, rows_wanted: Arr, want: int) -> int:
    """The number of rows r with ``rows_wanted[r] == want`` if they are rows 0, 1, ...
    (a prefix) in time order, else -1 (an explicit order is then needed)."""
    n = 0
    while n < rows_wanted.size and rows_wanted[n] == want:
        if n > 0 and not times[n] >= times[n - 1]:
            return -1
        n += 1
    for r in range(n, rows_wanted.size):
        if rows_wanted[r] == want:
            return -1
    return n


@_compiled
def _is_sorted(times: Arr) -> bool:
    """Whether ``times`` is ascending (no NaN)."""
    ok = True
    for r in range(1, times.size):
        if not times[r] >= times[r - 1]:
            ok = False
            break
    return ok


@_compiled
def _unlimited_ed_direct(t_end: float, inp: Inputs, log: Log) -> None:
    """Unlimited ED: the patients who are not admitted meet no queue (RULES.md)."""
    for i in range(inp.ed_arrival.size):
        if inp.ed_patient[i] < 0 and inp.ed_arrival[i] < t_end:
            done = inp.ed_arrival[i] + inp.ed_treatment[i]
            log.ed_space_start[i] = inp.ed_arrival[i]
            log.ed_treated[i] = done
            log.ed_space_end[i] = done


# --- Python side --------------------------------------------------------------------
def _event_order(times: Arr, rows: Arr) -> Arr:
    """``rows`` in event order (time, then row)."""
    t = times[rows]
    if t.size > 1 and not bool(np.all(t[1:] >= t[:-1])):
        rows = rows[np.argsort(t, kind="stable")]
    return readonly(rows, np.int32)


def _policy_codes(work: Workload) -> tuple[int, int]:
    if work.ed_policy not in ED_POLICY_CODES:
        raise ValueError(
            f"compiled engine: ED policy {work.ed_policy!r} is not implemented; "
            "run it with --engine reference"
        )
    if work.bed_policy not in BED_POLICY_CODES:
        raise ValueError(
            f"compiled engine: bed policy {work.bed_policy!r} is not implemented; "
            "run it with --engine reference"
        )
    return ED_POLICY_CODES[work.ed_policy], BED_POLICY_CODES[work.bed_policy]


def _event_queue(size: int, n_events: int, work: Workload) -> EventQueue:
    """Room for ``size`` pending events; half to one bucket per event per day (half
    the run's ``n_events`` spread over its days, rounded up to a power of two) and a
    ring of 16 days of buckets. Fewer buckets mean longer chains; more, a bucket array
    that leaves the cache: on the district replicate (2,100 stage ends and 2,450 ED
    ends a day) 2,048 buckets a day ran the engine 13 % faster than 8,192 (minimum of
    five runs each, AMD EPYC, 2026-12-02)."""
    per_day = max(1.0, 0.5 * n_events / max(1.0, work.t_end - work.t0))
    per_day = float(2 ** min(16, math.ceil(math.log2(per_day))))
    n_buckets = 2 ** min(17, max(6, math.ceil(math.log2(16 * per_day))))
    nxt = np.arange(1, size + 2, dtype=np.int32)
    nxt[size - 1 :] = -1
    times = np.zeros(size + 1)
    times[size] = math.inf  # the sentinel: the earliest event of an empty queue
    state = np.array([0, 0, size, 0], dtype=np.int64)
    return EventQueue(
        times, np.zeros(size + 1, dtype=np.int64), np.zeros(size + 1, dtype=np.int64), nxt,
        np.full(n_buckets, -1, dtype=np.int32), state, np.array([work.t0, per_day]),
    )  # fmt: skip


def _event_queues(work: Workload, n_stages: int, n_ed_events: int) -> tuple[EventQueue, EventQueue]:
    """Most events ever pending: one per occupied bed (occupancy never exceeds the
    largest capacity of its pool); one per ED space in treatment."""
    n = work.n_patients
    beds = 0
    for k in range(work.n_pools):
        top = float(np.max(work.capacity[k])) if work.capacity.shape[1] else 0.0
        beds += n if not math.isfinite(top) else min(n, math.ceil(top))
    spaces = float(np.max(work.ed_spaces)) if work.ed_spaces.size else 0.0
    ed = n_ed_events if not math.isfinite(spaces) else min(n_ed_events, math.ceil(spaces))
    return (
        _event_queue(min(n, beds) + 1, n_stages, work),
        _event_queue(ed + 1, n_ed_events, work),
    )


def _inputs(work: Workload) -> Inputs:
    """The Workload's arrays as the engine reads them, and the order of classes 4, 5."""
    f8, i4 = np.float64, np.int32
    arrival = readonly(work.arrival, f8)
    ed_index = readonly(work.ed_index, i4)
    ed_arrival = readonly(work.ed_arrival, f8)
    ed_patient = readonly(work.ed_patient, i4)
    if _identity_order(arrival, ed_index, -1) >= 0:
        request_order = readonly(np.empty(0), i4)
    else:
        request_order = _event_order(work.arrival, np.flatnonzero(ed_index < 0))
    if not work.ed_unlimited and _is_sorted(ed_arrival):
        ed_order = readonly(np.empty(0), i4)
    else:
        rows = np.flatnonzero(ed_patient >= 0) if work.ed_unlimited else np.arange(work.n_ed)
        ed_order = _event_order(ed_arrival, rows)
    return Inputs(
        arrival, readonly(work.home_pool, i4), readonly(work.route, np.int8),
        readonly(work.lose, np.bool_), ed_index, readonly(work.discharge_hour, f8),
        readonly(work.stage_offset, np.int64), readonly(work.stage_pool, i4),
        readonly(work.stage_los, f8), ed_arrival, readonly(work.ed_acuity, np.int8),
        readonly(work.ed_treatment, f8), ed_patient,
        readonly(work.borrow_route, np.int64), request_order, ed_order,
    )  # fmt: skip


def _log(work: Workload, n_stages: int) -> Log:
    """The RawLog's arrays before the run (NaN: did not happen)."""
    nan = np.nan
    n, n_ed = work.n_patients, work.n_ed
    return Log(
        np.full(n_stages, nan), np.full(n_stages, nan), np.full(n_stages, nan),
        np.full(n_stages, -1, dtype=np.int32), np.zeros(n_stages, dtype=np.bool_),
        np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.int32),
        np.full(n_ed, nan), np.full(n_ed, nan), np.full(n_ed, nan),
    )  # fmt: skip


def _links(work: Workload, inp: Inputs, n_stages: int) -> Links:
    stage_patient = np.empty(n_stages, dtype=np.int32)
    if _fill_stage_patient(inp.stage_offset, stage_patient) > _MAX_STAGES:
        raise ValueError(f"compiled engine: at most {_MAX_STAGES} stages per stay")
    n_borrowers = n_stages if bool(np.any(work.member)) else 0
    return Links(
        stage_patient,
        np.empty(n_stages, dtype=np.int32),
        np.empty(n_borrowers, dtype=np.int32),
    )


def _tables(work: Workload) -> Arr:
    """Per day (columns): beds by pool, shared beds by pool, ED spaces (0 without an ED)."""
    n_days = work.capacity.shape[1] if work.capacity.ndim == 2 else 1
    ed = work.ed_spaces if work.ed_spaces.size else np.zeros(n_days)
    cap = np.asarray(work.capacity, dtype=np.float64).reshape(work.n_pools, n_days)
    shared = np.asarray(work.shared, dtype=np.float64).reshape(work.n_pools, n_days)
    return np.vstack([cap, shared, np.asarray(ed, dtype=np.float64).reshape(1, n_days)])


def _state(work: Workload, tab: Arr, codes: tuple[int, int]) -> State:
    """The state at t0 (capacities of day 0)."""
    n = work.n_pools
    pools = np.zeros((_N_POOL_FIELDS, n), dtype=np.int64)
    for row in (QUEUE_HEAD, QUEUE_TAIL, BORROWER_HEAD, BORROWER_TAIL, WAITLIST_HEAD, WAITLIST_TAIL):
        pools[row] = -1
    pools[RESERVE] = work.reserve
    pools[MEMBER] = work.member
    beds = np.zeros((2, n + 1))
    beds[BEDS, :n] = tab[:n, 0]
    beds[BEDS, n] = tab[2 * n, 0]
    beds[SHARED, :n] = tab[n : 2 * n, 0]
    counters = np.zeros(_N_COUNTERS, dtype=np.int64)
    counters[ED_QUEUE_HEAD : ED_QUEUE_TAIL + 4] = -1
    counters[DAYTIME] = work.daytime
    counters[ED_POLICY], counters[BED_POLICY] = codes
    rules = np.zeros(_N_RULES)
    rules[LOS_MULTIPLIER] = work.los_multiplier
    rules[MAX_WAIT : MAX_WAIT + 4] = work.ed_max_wait
    return State(pools, beds, counters, rules, np.zeros(n + 1, dtype=np.int64))


def _streams(work: Workload, inp: Inputs) -> Streams:
    """The pre-scheduled events (classes 2 to 5), each in event order."""
    days = np.sort(np.asarray(work.change_days, dtype=np.int64))
    sessions = np.array(work.sessions, dtype=np.float64)
    if sessions.size > 1 and not bool(np.all(sessions[1:] >= sessions[:-1])):
        raise ValueError("compiled engine: Workload.sessions must be ascending")
    n_req = inp.request_order.size or int(np.count_nonzero(inp.ed_index < 0))
    n_ed = inp.ed_order.size or (0 if work.ed_unlimited else work.n_ed)
    length = np.array([days.size, sessions.size, n_req, n_ed], dtype=np.int64)
    change_time = work.t0 + days.astype(np.float64)
    head = np.array([
        change_time[0] if days.size else math.inf,
        sessions[0] if sessions.size else math.inf,
        inp.arrival[inp.request_order[0] if inp.request_order.size else 0] if n_req else math.inf,
        inp.ed_arrival[inp.ed_order[0] if inp.ed_order.size else 0] if n_ed else math.inf,
    ])  # fmt: skip
    return Streams(change_time, days, sessions, np.zeros(4, dtype=np.int64), head, length)


def simulate(work: Workload) -> RawLog:
    """Run the hospital of one replicate by RULES.md; return the raw patient log.

    Raises ValueError (one line) for a policy this engine does not implement."""
    codes = _policy_codes(work)
    if work.n_pools > _MAX_POOLS:
        raise ValueError(f"compiled engine: at most {_MAX_POOLS} bed pools (packed events)")
    inp = _inputs(work)
    n_stages = int(inp.stage_offset[-1]) if inp.stage_offset.size else 0
    log = _log(work, n_stages)
    links = _links(work, inp, n_stages)
    if work.ed_unlimited:
        _unlimited_ed_direct(work.t_end, inp, log)
    tab = _tables(work)
    st = _state(work, tab, codes)
    sm = _streams(work, inp)
    stage_ends, ed_ends = _event_queues(work, n_stages, int(sm.length[3]))
    _run(inp, log, links, st, stage_ends, ed_ends, sm, tab, work.t_end)
    _finish_waitlists(log, links, st)
    _finish_ed_queues(log, st)
    c = st.counters
    return RawLog(
        stage_request=log.stage_request,
        stage_start=log.stage_start,
        stage_end=log.stage_end,
        stage_bed_pool=log.stage_bed_pool,
        stage_outlier=log.stage_outlier,
        lost=log.lost,
        deferral_events=log.deferral_events,
        ed_space_start=log.ed_space_start,
        ed_treated=log.ed_treated,
        ed_space_end=log.ed_space_end,
        end_in_bed=st.pools[IN_BED].astype(np.int32),
        end_queued=st.pools[QUEUED].astype(np.int32),
        end_waitlist=st.pools[WAITLISTED].astype(np.int32),
        end_in_ed=-1 if work.ed_unlimited else int(c[ED_BUSY] + c[ED_WAITING]),
    )


def _tiny_workload() -> Workload:
    """Two pools, three bed patients (one elective, one two-stage ED admission) and
    two ED patients: enough to reach every jitted function."""
    f = np.asarray
    return Workload(
        t0=-1.0,
        t_end=5.0,
        n_pools=2,
        arrival=f([0.5, 1.0, np.nan]),
        home_pool=f([0, 1, 0], np.int32),
        route=f([2, 1, 0], np.int8),
        lose=f([False, False, False]),
        ed_index=f([-1, -1, 1], np.int32),
        discharge_hour=f([0.4, 0.5, 0.6]),
        stage_offset=f([0, 1, 2, 4], np.int64),
        stage_pool=f([0, 1, 0, 1], np.int32),
        stage_los=f([1.0, 2.0, 1.5, 0.5]),
        ed_arrival=f([0.1, 0.2]),
        ed_acuity=f([3, 2], np.int8),
        ed_treatment=f([0.1, 0.1]),
        ed_patient=f([-1, 2], np.int32),
        ed_unlimited=False,
        capacity=f([[1.0, 1.0, 2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]),
        shared=f([[1.0] * 6, [1.0] * 6]),
        ed_spaces=f([1.0] * 6),
        change_days=f([2], np.int64),
        sessions=f([1.3, 2.3]),
        reserve=f([0, 0], np.int32),
        member=f([True, True]),
        borrow_route=f([True, True, True, True]),
        los_multiplier=1.2,
        daytime=True,
        ed_policy="max_wait",
        ed_max_wait=f([0.0, 0.01, 0.1, 0.2]),
        bed_policy="most_free",
    )


def compile_engine() -> float:
    """Compile the engine (or load it from numba's cache) on a tiny workload; return
    the seconds taken, so that callers can report it apart from run times."""
    start = time.perf_counter()
    simulate(_tiny_workload())
    return time.perf_counter() - start
