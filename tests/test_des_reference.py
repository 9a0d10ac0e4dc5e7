"""The SimPy reference model of the hospital (sim.des.hospital) on tiny hand-made
workloads whose logs can be worked out by hand from sim/des/RULES.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from sim.des.hospital import simulate
from sim.des.policies import (
    BedAllocationPolicy,
    Borrower,
    EDQueuePolicy,
    FirstListedPool,
    Lender,
    MostFreeBeds,
    QueueHead,
    StrictTriage,
)
from sim.des.workload import DIRECT, ELECTIVE, EMERGENCY, RawLog, Workload

NAN = math.nan
INF = math.inf

Stay = Sequence[tuple[int, float]]
"""Stages of one bed patient: (pool, length in days)."""
EDVisit = tuple[float, int, float, int]
"""(arrival, acuity, treatment days, bed-patient row or -1)."""


def _by_day(values: Sequence[float | Sequence[float]], n_all: int) -> np.ndarray:
    """Per pool: one value for every day, or one value per day."""
    rows = [
        [float(v)] * n_all if isinstance(v, int | float) else [float(x) for x in v] for v in values
    ]
    return np.array(rows, dtype=float).reshape(len(values), n_all)


def make_workload(
    stays: Sequence[Stay],
    arrival: Sequence[float],
    beds: Sequence[float | Sequence[float]],
    *,
    route: Sequence[int] | None = None,
    lose: Sequence[bool] | None = None,
    ed: Sequence[EDVisit] = (),
    ed_spaces: float | Sequence[float] | None = None,
    shared: Sequence[float | Sequence[float]] | None = None,
    member: Sequence[bool] | None = None,
    borrow_routes: Sequence[int] = (),
    los_multiplier: float = 1.0,
    reserve: Sequence[int] | None = None,
    sessions: Sequence[float] = (),
    daytime: bool = False,
    discharge_hour: float = 0.4,
    t0: float = 0.0,
    t_end: float = 10.0,
) -> Workload:
    """A workload of bed patients ``stays`` (first stage = home pool) arriving at
    ``arrival`` (NaN for ED admissions, listed in ``ed``), in pools of ``beds``."""
    n, n_pools, n_all = len(stays), len(beds), int(t_end - t0)
    capacity = _by_day(beds, n_all)
    shared_t = _by_day(shared if shared is not None else [0.0] * n_pools, n_all)
    spaces = np.empty(0) if ed_spaces is None and not ed else _by_day([ed_spaces or 0.0], n_all)[0]
    changed = np.any(capacity[:, 1:] != capacity[:, :-1], axis=0) | np.any(
        shared_t[:, 1:] != shared_t[:, :-1], axis=0
    )
    if spaces.size:
        changed |= spaces[1:] != spaces[:-1]
    ed_index = np.full(n, -1, np.int32)
    for i, visit in enumerate(ed):
        if visit[3] >= 0:
            ed_index[visit[3]] = i
    offset = np.concatenate([[0], np.cumsum([len(s) for s in stays])]).astype(np.int64)
    borrow = np.zeros(4, bool)
    borrow[list(borrow_routes)] = True
    return Workload(
        t0=t0,
        t_end=t_end,
        n_pools=n_pools,
        arrival=np.array(arrival, dtype=float),
        home_pool=np.array([s[0][0] for s in stays], np.int32),
        route=np.array(route if route is not None else [DIRECT] * n, np.int8),
        lose=np.array(lose if lose is not None else [False] * n, bool),
        ed_index=ed_index,
        discharge_hour=np.full(n, discharge_hour),
        stage_offset=offset,
        stage_pool=np.array([p for s in stays for p, _ in s], np.int32),
        stage_los=np.array([x for s in stays for _, x in s], float),
        ed_arrival=np.array([v[0] for v in ed], float),
        ed_acuity=np.array([v[1] for v in ed], np.int8),
        ed_treatment=np.array([v[2] for v in ed], float),
        ed_patient=np.array([v[3] for v in ed], np.int32),
        ed_unlimited=bool(spaces.size and np.isinf(spaces).all()),
        capacity=capacity,
        shared=shared_t,
        ed_spaces=spaces,
        change_days=(np.flatnonzero(changed) + 1).astype(np.int64),
        sessions=np.array(sessions, float),
        reserve=np.array(reserve if reserve is not None else [0] * n_pools, np.int32),
        member=np.array(member if member is not None else [False] * n_pools, bool),
        borrow_route=borrow,
        los_multiplier=los_multiplier,
        daytime=daytime,
        ed_policy="triage",
        ed_max_wait=np.full(4, INF),
        bed_policy="most_free",
    )


def run(
    work: Workload,
    ed: EDQueuePolicy | None = None,
    bed: BedAllocationPolicy | None = None,
) -> RawLog:
    return simulate(work, ed or StrictTriage(), bed or MostFreeBeds())


def test_one_bed_three_patients_first_come_first_served() -> None:
    work = make_workload([[(0, 1.0)]] * 3, [0.0, 0.1, 0.2], [1])
    log = run(work)
    np.testing.assert_array_equal(log.stage_request, [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(log.stage_start, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(log.stage_end, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(log.stage_bed_pool, [0, 0, 0])
    assert log.end_in_bed.tolist() == [0] and log.end_queued.tolist() == [0]
    assert log.end_in_ed == 0  # no ED


def test_a_full_pool_turns_away_patients_of_a_lose_stream() -> None:
    work = make_workload([[(0, 1.0)]] * 3, [0.0, 0.1, 1.5], [1], lose=[True] * 3)
    log = run(work)
    assert log.lost.tolist() == [False, True, False]
    np.testing.assert_array_equal(log.stage_start, [0.0, NAN, 1.5])
    assert log.stage_bed_pool.tolist() == [0, -1, 0]


def test_a_discharge_at_the_time_of_a_request_frees_the_bed_first_for_the_queue() -> None:
    # Patient 0 leaves at 1.0 (class 0) before patient 1's request at 1.0 (class 4);
    # the bed goes to patient 2, queued since 0.5, before patient 1 even asks.
    work = make_workload([[(0, 1.0)]] * 3, [0.0, 1.0, 0.5], [1])
    log = run(work)
    np.testing.assert_array_equal(log.stage_start, [0.0, 2.0, 1.0])
    np.testing.assert_array_equal(log.stage_end, [1.0, 3.0, 2.0])


def test_equal_request_times_are_served_by_patient_row_not_by_event_order() -> None:
    # Pool 1 is held by patient 0 until 5. At 1.0 patient 2's stage end (class 0)
    # asks for pool 1 before patient 1's bed request (class 4) at 1.0, but patient 1
    # has the lower row and is served first; patient 2 keeps its bed in pool 0.
    stays = [[(1, 5.0)], [(1, 1.0)], [(0, 1.0), (1, 1.0)]]
    log = run(make_workload(stays, [0.0, 1.0, 0.0], [2, 1]))
    np.testing.assert_array_equal(log.stage_request, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(log.stage_start, [0.0, 5.0, 0.0, 6.0])
    np.testing.assert_array_equal(log.stage_end, [5.0, 6.0, 6.0, 7.0])


def test_a_capacity_reduction_never_evicts() -> None:
    # 2 beds on day 0, 1 bed from day 1: both patients stay; patient 2 (1.5) waits
    # until occupancy is below 1, i.e. until both have left (3.0 and 3.5).
    work = make_workload([[(0, 3.0)], [(0, 3.0)], [(0, 1.0)]], [0.0, 0.5, 1.5], [[2] + [1] * 9])
    assert work.change_days.tolist() == [1]
    log = run(work)
    np.testing.assert_array_equal(log.stage_start, [0.0, 0.5, 3.5])
    np.testing.assert_array_equal(log.stage_end, [3.0, 3.5, 4.5])


def test_a_capacity_rise_at_midnight_admits_the_queue() -> None:
    work = make_workload([[(0, 5.0)], [(0, 1.0)]], [0.0, 0.25], [[1, 1, 2] + [2] * 8], t0=-1.0)
    log = run(work)  # day 2 of the table starts at t0 + 2 = 1.0
    np.testing.assert_array_equal(log.stage_start, [0.0, 1.0])


def test_an_elective_is_deferred_then_admitted_at_a_booking_session() -> None:
    # The bed frees at 2.0 but is not offered to the waiting list; the session at 2.25
    # admits the elective. Deferral events: 1 at booking + 1 for the session at 1.25.
    work = make_workload(
        [[(0, 2.0)], [(0, 1.0)]],
        [0.0, 0.5],
        [1],
        route=[DIRECT, ELECTIVE],
        sessions=[1.25, 2.25, 3.25],
    )
    log = run(work)
    np.testing.assert_array_equal(log.stage_start, [0.0, 2.25])
    np.testing.assert_array_equal(log.stage_end, [2.0, 3.25])
    assert log.deferral_events.tolist() == [0, 2]
    assert log.end_waitlist.tolist() == [0]


def test_the_elective_reserve_and_the_end_counters() -> None:
    # 2 beds, reserve 1: the elective never gets the last bed; it stays on the list
    # through both sessions before the end (1 + 2 deferral events).
    work = make_workload(
        [[(0, 9.0)], [(0, 1.0)]],
        [0.0, 0.5],
        [2],
        route=[DIRECT, ELECTIVE],
        reserve=[1],
        sessions=[1.5, 2.5, 10.5],
        t_end=4.0,
    )
    log = run(work)
    assert log.deferral_events.tolist() == [0, 3]
    assert log.end_waitlist.tolist() == [1] and log.end_in_bed.tolist() == [1]


def test_a_two_stage_stay_is_blocked_keeping_its_first_bed() -> None:
    # Pools 0 and 1 have a bed each. Patient 0 holds pool 1 until 5. Patient 1 ends
    # stage 0 (pool 0) at 1, waits for pool 1 in its pool-0 bed; patient 2 (pool 0,
    # at 2) waits for that bed. At 5 patient 1 moves on, freeing pool 0 for patient 2.
    stays = [[(1, 5.0)], [(0, 1.0), (1, 1.0)], [(0, 1.0)]]
    log = run(make_workload(stays, [0.0, 0.0, 2.0], [1, 1], t_end=5.5))
    # rows: patient 0 -> 0; patient 1 -> 1, 2; patient 2 -> 3
    np.testing.assert_array_equal(log.stage_request, [0.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(log.stage_start, [0.0, 0.0, 5.0, 5.0])
    np.testing.assert_array_equal(log.stage_end, [5.0, 5.0, 6.0, 6.0])
    assert log.stage_bed_pool.tolist() == [1, 0, 1, 0]
    assert log.end_in_bed.tolist() == [2, 0]  # patients 1 and 2, both of home pool 0


def test_blocked_at_the_end_of_the_run_the_first_stage_end_is_not_yet_written() -> None:
    stays = [[(1, 9.0)], [(0, 1.0), (1, 1.0)]]
    log = run(make_workload(stays, [0.0, 0.0], [1, 1], t_end=3.0))
    np.testing.assert_array_equal(log.stage_end, [9.0, NAN, NAN])
    assert log.end_queued.tolist() == [0, 1] and log.end_in_bed.tolist() == [1, 1]


def test_daytime_discharge_moves_overnight_last_stages_only() -> None:
    stays = [[(0, 1.0)], [(0, 0.3)], [(0, 1.0), (0, 1.0)]]
    log = run(make_workload(stays, [0.5, 0.1, 0.5], [5], daytime=True, discharge_hour=0.4))
    # 0.5 + 1 = 1.5 -> day 1 at 0.4; same-day 0.4 unchanged; the 2-stage stay's first
    # stage ends at 1.5 exactly, its last at 2.5 -> 2.4.
    np.testing.assert_array_equal(log.stage_end, [1.4, 0.4, 1.5, 2.4])


def _ed_fixture() -> list[EDVisit]:
    # one space: a triage-3 patient in treatment until 1.0; then a triage-1 (0.1) and
    # a triage-4 (0.2) wait
    return [(0.0, 3, 1.0, -1), (0.1, 1, 1.0, -1), (0.2, 4, 1.0, -1)]


def test_strict_triage_treats_the_most_urgent_first() -> None:
    log = run(make_workload([], [], [1], ed=_ed_fixture(), ed_spaces=1))
    np.testing.assert_array_equal(log.ed_space_start, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(log.ed_treated, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(log.ed_space_end, [1.0, 2.0, 3.0])


@dataclass(frozen=True)
class LeastUrgentFirst(EDQueuePolicy):
    """A modeller's own discipline (for the test): the least urgent waiting first."""

    name: ClassVar[str] = "least_urgent"

    def choose(self, heads: Sequence[QueueHead], now: float) -> int:
        return len(heads) - 1


def test_a_custom_ed_policy_changes_who_is_treated_first() -> None:
    log = run(make_workload([], [], [1], ed=_ed_fixture(), ed_spaces=1), ed=LeastUrgentFirst())
    np.testing.assert_array_equal(log.ed_space_start, [0.0, 2.0, 1.0])


def test_an_admitted_ed_patient_boards_holding_the_space() -> None:
    # Patient 0 holds the only bed until 2. ED patient 0 (bed patient 1) is treated by
    # 0.5 and boards until 2; ED patient 1 (0.25) waits for the space until then.
    work = make_workload(
        [[(0, 2.0)], [(0, 1.0)]],
        [0.0, NAN],
        [1],
        route=[DIRECT, EMERGENCY],
        ed=[(0.0, 2, 0.5, 1), (0.25, 3, 1.0, -1)],
        ed_spaces=1,
    )
    log = run(work)
    np.testing.assert_array_equal(log.ed_space_start, [0.0, 2.0])
    np.testing.assert_array_equal(log.ed_treated, [0.5, 3.0])
    np.testing.assert_array_equal(log.ed_space_end, [2.0, 3.0])
    np.testing.assert_array_equal(log.stage_request, [0.0, 0.5])
    np.testing.assert_array_equal(log.stage_start, [0.0, 2.0])


def test_unlimited_ed_computes_the_unadmitted_directly() -> None:
    work = make_workload(
        [[(0, 1.0)]],
        [NAN],
        [1],
        route=[EMERGENCY],
        ed=[(0.5, 2, 0.25, -1), (1.0, 2, 0.5, 0), (12.0, 3, 1.0, -1)],
        ed_spaces=INF,
    )
    log = run(work)
    assert work.ed_unlimited and log.end_in_ed == -1
    np.testing.assert_array_equal(log.ed_space_start, [0.5, 1.0, NAN])
    np.testing.assert_array_equal(log.ed_treated, [0.75, 1.5, NAN])
    np.testing.assert_array_equal(log.ed_space_end, [0.75, 1.5, NAN])
    np.testing.assert_array_equal(log.stage_start, [1.5])


def _pooled(n_beds: Sequence[float], stays: Sequence[Stay], arrival: Sequence[float]) -> Workload:
    """Pools of ``n_beds``, all in the reform with every bed shared; emergencies and
    directs may borrow; outliers stay 1.5 times longer."""
    return make_workload(
        stays,
        arrival,
        n_beds,
        shared=n_beds,
        member=[True] * len(n_beds),
        borrow_routes=[EMERGENCY, DIRECT],
        los_multiplier=1.5,
    )


@dataclass(frozen=True)
class FewestFreeBeds(BedAllocationPolicy):
    """A modeller's own rule (for the test): the lender with the fewest free beds, and
    the most recent borrower."""

    name: ClassVar[str] = "fewest_free"

    def choose_lender(self, lenders: Sequence[Lender]) -> int:
        return min(range(len(lenders)), key=lambda i: (lenders[i].free, i))

    def choose_borrower(self, borrowers: Sequence[Borrower]) -> int:
        return max(range(len(borrowers)), key=lambda i: borrowers[i].request)


@pytest.mark.parametrize(
    ("policy", "lender"), [(MostFreeBeds(), 2), (FirstListedPool(), 1), (FewestFreeBeds(), 1)]
)
def test_the_bed_policy_chooses_the_lender(policy: BedAllocationPolicy, lender: int) -> None:
    # pool 0 (1 bed) is full at 1.0; pools 1 (2 beds) and 2 (3 beds) may lend
    work = _pooled([1, 2, 3], [[(0, 9.0)], [(0, 1.0)]], [0.0, 1.0])
    log = run(work, bed=policy)
    assert log.stage_bed_pool.tolist() == [0, lender]
    assert log.stage_outlier.tolist() == [False, True]
    np.testing.assert_array_equal(log.stage_end, [9.0, 2.5])  # 1 + 1 x 1.5


@pytest.mark.parametrize(("policy", "first"), [(MostFreeBeds(), 3), (FewestFreeBeds(), 4)])
def test_the_bed_policy_chooses_the_borrower(policy: BedAllocationPolicy, first: int) -> None:
    # One bed per pool. Pools 0 and 1 are held until 9; patients 3 (pool 0, at 1) and
    # 4 (pool 1, at 2) wait as borrowers; pool 2's bed frees at 3 and goes to one.
    stays = [[(2, 3.0)], [(0, 9.0)], [(1, 9.0)], [(0, 1.0)], [(1, 1.0)]]
    log = run(_pooled([1, 1, 1], stays, [0.0, 0.0, 0.0, 1.0, 2.0]), bed=policy)
    other = 7 - first
    assert log.stage_start[first] == 3.0 and log.stage_bed_pool[first] == 2
    assert log.stage_outlier[first]
    # the other borrower gets the same bed when the first leaves (3 + 1.5 = 4.5)
    assert log.stage_start[other] == 4.5 and log.stage_bed_pool[other] == 2


def test_a_lender_keeps_no_more_outliers_than_its_shared_beds() -> None:
    work = make_workload(
        [[(0, 9.0)], [(0, 1.0)], [(0, 1.0)]],
        [0.0, 1.0, 1.5],
        [1, 3],
        shared=[0, 1],
        member=[True, True],
        borrow_routes=[DIRECT],
    )
    log = run(work)
    assert log.stage_bed_pool.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(log.stage_start, [0.0, 1.0, 2.0])  # waits for the shared bed
