"""The compiled hospital engine (sim.des.compiled) on tiny workloads worked out by hand.

Each test builds a :class:`Workload` directly (no DesConfig) so that every time in
the answer follows from RULES.md in a line or two. Times are days from t0 = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from sim.des.compiled import compile_engine, simulate
from sim.des.policies import MaxWaitTriage
from sim.des.workload import DIRECT, ELECTIVE, EMERGENCY, RawLog, Workload

N_DAYS = 10


@dataclass
class Bed:
    """A bed patient of a non-ED stream: stages are (pool, length in days)."""

    arrival: float
    stages: list[tuple[int, float]]
    route: int = DIRECT
    lose: bool = False


@dataclass
class Ed:
    """An ED patient; ``admit`` = the stages of an admission (empty: goes home)."""

    arrival: float
    acuity: int
    treatment: float
    admit: list[tuple[int, float]] = field(default_factory=list)


def workload(
    beds: list[Bed],
    ed: tuple[Ed, ...] = (),
    *,
    capacity: list[list[float]] | None = None,
    ed_spaces: float | None = None,
    sessions: tuple[float, ...] = (),
    reserve: tuple[int, ...] | None = None,
    member: tuple[bool, ...] | None = None,
    borrow_routes: tuple[int, ...] = (),
    multiplier: float = 1.0,
    ed_policy: str = "triage",
    bed_policy: str = "most_free",
    t_end: float = N_DAYS,
) -> Workload:
    """A workload of one pool with one bed unless ``capacity`` (beds by pool and day)."""
    cap = np.array(capacity if capacity is not None else [[1.0] * N_DAYS], dtype=float)
    n_pools = cap.shape[0]
    admitted = [(i, p) for i, p in enumerate(ed) if p.admit]
    rows = [(b.arrival, b.stages, b.route, b.lose, -1) for b in beds] + [
        (math.nan, p.admit, EMERGENCY, False, i) for i, p in admitted
    ]
    ed_patient = np.full(len(ed), -1, dtype=np.int32)
    for n, (i, _) in enumerate(admitted):
        ed_patient[i] = len(beds) + n
    counts = [len(r[1]) for r in rows]
    spaces = np.full(N_DAYS, ed_spaces if ed_spaces is not None else 0.0)
    changed = np.flatnonzero(np.any(cap[:, 1:] != cap[:, :-1], axis=0)) + 1
    return Workload(
        t0=0.0,
        t_end=float(t_end),
        n_pools=n_pools,
        arrival=np.array([r[0] for r in rows], dtype=float),
        home_pool=np.array([r[1][0][0] for r in rows], dtype=np.int32),
        route=np.array([r[2] for r in rows], dtype=np.int8),
        lose=np.array([r[3] for r in rows], dtype=bool),
        ed_index=np.array([r[4] for r in rows], dtype=np.int32),
        discharge_hour=np.full(len(rows), 0.5),
        stage_offset=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        stage_pool=np.array([p for r in rows for p, _ in r[1]], dtype=np.int32),
        stage_los=np.array([d for r in rows for _, d in r[1]], dtype=float),
        ed_arrival=np.array([p.arrival for p in ed], dtype=float),
        ed_acuity=np.array([p.acuity for p in ed], dtype=np.int8),
        ed_treatment=np.array([p.treatment for p in ed], dtype=float),
        ed_patient=ed_patient,
        ed_unlimited=bool(ed) and ed_spaces == math.inf,
        capacity=cap,
        shared=np.where(np.array(member or [False] * n_pools)[:, None], cap, 0.0),
        ed_spaces=spaces if ed else np.empty(0),
        change_days=changed.astype(np.int64),
        sessions=np.array(sessions, dtype=float),
        reserve=np.array(reserve or [0] * n_pools, dtype=np.int32),
        member=np.array(member or [False] * n_pools, dtype=bool),
        borrow_route=np.isin(np.arange(4), borrow_routes),
        los_multiplier=multiplier,
        daytime=False,
        ed_policy=ed_policy,
        ed_max_wait=np.array(MaxWaitTriage().max_wait_days()),
        bed_policy=bed_policy,
    )


def test_compile_engine_reports_seconds() -> None:
    assert compile_engine() >= 0.0


def test_one_bed_three_patients_each_waits_for_the_one_before() -> None:
    raw = simulate(workload([Bed(0.1, [(0, 1.0)]), Bed(0.2, [(0, 1.0)]), Bed(0.3, [(0, 1.0)])]))
    np.testing.assert_array_equal(raw.stage_request, [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(raw.stage_start, [0.1, 0.1 + 1.0, 0.1 + 1.0 + 1.0])
    np.testing.assert_array_equal(raw.stage_end, raw.stage_start + 1.0)
    assert raw.end_in_bed.tolist() == [0] and raw.end_queued.tolist() == [0]


def test_a_capacity_cut_never_evicts_and_admits_once_below_it() -> None:
    # two beds on day 0, one from day 1: both stay; the third waits until one bed is
    # occupied fewer than capacity, i.e. until both have left
    cap = [[2.0] + [1.0] * (N_DAYS - 1)]
    raw = simulate(
        workload([Bed(0.5, [(0, 2.0)]), Bed(0.5, [(0, 2.1)]), Bed(1.5, [(0, 1.0)])], capacity=cap)
    )
    np.testing.assert_array_equal(raw.stage_start, [0.5, 0.5, 0.5 + 2.1])
    np.testing.assert_array_equal(raw.stage_end, [2.5, 0.5 + 2.1, 0.5 + 2.1 + 1.0])


def test_an_elective_is_deferred_and_admitted_only_at_a_session() -> None:
    # the bed frees at 1.1 but electives take beds only at sessions (1.0: still full)
    beds = [Bed(0.1, [(0, 1.0)]), Bed(0.5, [(0, 1.0)], route=ELECTIVE)]
    raw = simulate(workload(beds, sessions=(1.0, 2.0, 3.0)))
    assert raw.stage_start[1] == 2.0 and raw.stage_end[1] == 3.0
    assert raw.deferral_events.tolist() == [0, 2]  # deferred at booking, still listed after 1.0
    assert raw.end_waitlist.tolist() == [0]


def test_an_elective_still_listed_at_the_end_counts_every_session() -> None:
    beds = [Bed(0.1, [(0, 9.0)]), Bed(0.5, [(0, 1.0)], route=ELECTIVE)]
    raw = simulate(workload(beds, sessions=(1.0, 2.0, 3.0, 12.0)))  # 12.0: after t_end
    assert math.isnan(raw.stage_start[1])
    assert raw.deferral_events[1] == 1 + 3
    assert raw.end_waitlist.tolist() == [1]


def test_a_two_stage_stay_is_blocked_until_the_second_pool_frees_a_bed() -> None:
    cap = [[1.0] * N_DAYS, [1.0] * N_DAYS]
    beds = [
        Bed(0.0, [(1, 3.0)]),  # holds pool 1's bed until 3.0
        Bed(0.5, [(0, 1.0), (1, 1.0)]),  # stage 1 asked at 1.5, moves at 3.0
        Bed(2.0, [(0, 1.0)]),  # gets pool 0's bed when the move frees it
    ]
    raw = simulate(workload(beds, capacity=cap))
    # stage rows: 0 | 1, 2 | 3
    np.testing.assert_array_equal(raw.stage_request, [0.0, 0.5, 1.5, 2.0])
    np.testing.assert_array_equal(raw.stage_start, [0.0, 0.5, 3.0, 3.0])
    np.testing.assert_array_equal(raw.stage_end, [3.0, 3.0, 4.0, 4.0])
    np.testing.assert_array_equal(raw.stage_bed_pool, [1, 0, 1, 0])


def test_blocked_patient_is_counted_in_bed_and_queued_at_the_end() -> None:
    cap = [[1.0] * N_DAYS, [1.0] * N_DAYS]
    raw = simulate(workload([Bed(0.0, [(1, 20.0)]), Bed(0.5, [(0, 1.0), (1, 1.0)])], capacity=cap))
    assert raw.end_in_bed.tolist() == [1, 1]  # by home pool
    assert raw.end_queued.tolist() == [0, 1]  # by the pool waited for
    assert math.isnan(raw.stage_end[1])  # still in the first stage's bed


def test_a_full_pool_turns_away_a_lose_stream() -> None:
    raw = simulate(workload([Bed(0.1, [(0, 1.0)]), Bed(0.2, [(0, 1.0)], lose=True)]))
    assert raw.lost.tolist() == [False, True]
    assert raw.stage_request[1] == 0.2 and math.isnan(raw.stage_start[1])


def test_a_borrower_takes_a_lent_bed_and_stays_longer() -> None:
    cap = [[1.0] * N_DAYS, [1.0] * N_DAYS]
    beds = [
        Bed(0.0, [(0, 5.0)]),
        Bed(0.1, [(1, 1.0)]),  # pool 1 full from 0.1 to 1.1
        Bed(0.5, [(0, 2.0)]),  # pool 0 full, pool 1 full: waits as a borrower
    ]
    w = workload(beds, capacity=cap, member=(True, True), borrow_routes=(DIRECT,), multiplier=1.5)
    raw = simulate(w)
    # pool 1's bed frees at 1.1; its own queue is empty, so it is lent to pool 0's borrower
    assert raw.stage_start[2] == 1.1 and raw.stage_bed_pool[2] == 1
    assert raw.stage_outlier.tolist() == [False, False, True]
    assert raw.stage_end[2] == 1.1 + 2.0 * 1.5


def test_ed_boarder_leaves_the_ed_when_the_bed_is_taken() -> None:
    # one space, one bed: the boarder holds the space until the bed frees at 1.0
    ed = (Ed(0.0, 1, 0.2, admit=[(0, 1.0)]), Ed(0.1, 3, 0.1))
    raw = simulate(workload([Bed(0.0, [(0, 1.0)])], ed, ed_spaces=1.0))
    np.testing.assert_array_equal(raw.ed_space_start, [0.0, 1.0])
    np.testing.assert_array_equal(raw.ed_treated, [0.2, 1.0 + 0.1])
    np.testing.assert_array_equal(raw.ed_space_end, [1.0, 1.0 + 0.1])
    assert raw.stage_request[1] == 0.2 and raw.stage_start[1] == 1.0


def test_equal_request_times_queue_by_patient_row_not_by_event_class() -> None:
    # at 2.0 the ED patient of the higher row asks first (class 0: end of its first
    # stage), the lower row second (class 1: end of treatment); the lower row is served
    # first when pool 0's bed frees at 3.0
    ed = (Ed(0.0, 2, 2.0, admit=[(0, 1.0)]), Ed(0.1, 2, 0.4, admit=[(1, 1.5), (0, 1.0)]))
    cap = [[1.0] * N_DAYS, [1.0] * N_DAYS]
    raw = simulate(workload([Bed(0.0, [(0, 3.0)])], ed, capacity=cap, ed_spaces=5.0))
    # stage rows: bed patient 0 | ED row 0 | ED row 1 (two stages)
    np.testing.assert_array_equal(raw.stage_request, [0.0, 2.0, 0.5, 2.0])
    np.testing.assert_array_equal(raw.stage_start, [0.0, 3.0, 0.5, 4.0])
    np.testing.assert_array_equal(raw.ed_space_end, [3.0, 0.5])


def test_unlimited_ed_computes_the_unadmitted_directly() -> None:
    ed = (Ed(0.0, 3, 0.25), Ed(0.1, 1, 0.5, admit=[(0, 1.0)]), Ed(11.0, 4, 0.1))
    raw = simulate(workload([], ed, ed_spaces=math.inf))
    np.testing.assert_array_equal(raw.ed_space_start[:2], [0.0, 0.1])
    np.testing.assert_array_equal(raw.ed_space_end[:2], [0.25, 0.1 + 0.5])
    assert np.isnan(raw.ed_treated[2])  # arrives after t_end
    assert raw.end_in_ed == -1


@pytest.mark.parametrize(("policy", "first"), [("triage", 2), ("max_wait", 1)])
def test_max_wait_serves_an_overdue_acuity_4_patient_first(policy: str, first: int) -> None:
    # the space frees at 1.0; waiting: acuity 4 since 0.1 (0.9 d > 4 h: overdue) and
    # acuity 2 since 0.5 (overdue too, but arrived later)
    ed = (Ed(0.0, 1, 1.0), Ed(0.1, 4, 0.5), Ed(0.5, 2, 0.5))
    raw: RawLog = simulate(workload([], ed, ed_spaces=1.0, ed_policy=policy))
    assert raw.ed_space_start[first] == 1.0
    assert raw.ed_space_start[3 - first] == 1.5
    assert raw.end_in_ed == 0


def test_unknown_policies_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="ED policy 'fifo' is not implemented"):
        simulate(workload([], ed_policy="fifo"))
    with pytest.raises(ValueError, match="bed policy 'random' is not implemented"):
        simulate(workload([], bed_policy="random"))
