"""Community clinics (社康): daily demand against a daily appointment book.

Clinic visits are far too many (≈10 M a year) to simulate one by one, and no
queue forms between them within a day, so the model is aggregated by day: each
request is a count in a bucket by the whole days it has waited. Each day:

1. the day's new requests (Poisson, drawn by inversion of one uniform per day)
   join the book with wait 0;
2. the day's appointments serve the longest-waiting requests first;
3. every request still unmet is, independently, diverted to the ED
   (``p_divert_ed``), diverted to hospital outpatients (``p_divert_outpatient``),
   abandons (``p_abandon``), or waits one more day — a multinomial split drawn
   as a chain of binomials per wait bucket.

Waits are counted in whole days (0 = served on the day of the request); waits
of ``max_wait_days`` or more share the last bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from sim.base.rng import generator
from sim.des.config import ClinicGroup
from sim.des.sampling import poisson_ppf

__all__ = ["ClinicOutcome", "compile_clinics", "simulate_clinic"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ClinicOutcome:
    """Daily results of one clinic group over the simulated days (warm-up cut).

    All counts are requests (persons) per day; ``served_by_wait[d, w]`` counts
    the requests served on day d after waiting w whole days.
    """

    name: str
    demand: IntArray
    capacity: IntArray
    served: IntArray
    waiting_end: IntArray
    diverted_ed: IntArray
    diverted_outpatient: IntArray
    abandoned: IntArray
    served_by_wait: IntArray
    waiting_start: int
    """Requests waiting at 00:00 of day 0 (carried over from the warm-up)."""
    diverted_ed_all_days: IntArray
    """Diversions to the ED on every day including the warm-up (feeds the ED draws)."""


@numba.njit(cache=True, nogil=True)
def _thin(rng: Any, n: Any, p: float, out: Any) -> None:
    """Binomial thinning of each count into ``out`` (the draws of ``rng.binomial(n, p)``)."""
    for k in range(n.size):
        if p <= 0.0 or n[k] == 0:  # Binomial(0, p) is 0 and consumes no random number
            out[k] = 0
        elif p >= 1.0:
            out[k] = n[k]
        else:
            out[k] = rng.binomial(n[k], p)


@numba.njit(cache=True, nogil=True)
def _serve(book: Any, cap: int, served: Any) -> None:
    """The day's appointments go to the longest-waiting first (walk from the oldest)."""
    before = 0
    for w in range(book.size - 1, -1, -1):
        served[w] = min(max(cap - before, 0), book[w])
        before += book[w]


@numba.njit(cache=True, nogil=True)
def _run_book(
    rng: Any,
    demand: Any,
    cap: Any,
    buckets: int,
    warmup_days: int,
    p_ed: float,
    q_op: float,
    q_ab: float,
) -> tuple[Any, Any, int]:
    """The day loop: served by wait (n_all, buckets), the daily totals (5, n_all:
    served, to the ED, to outpatients, abandoned, waiting at the end) and the count
    waiting at the start of day ``warmup_days``."""
    n_all = demand.size
    served_by_wait = np.zeros((n_all, buckets), np.int64)
    totals = np.zeros((5, n_all), np.int64)
    waiting_start = 0
    book = np.zeros(buckets, np.int64)
    # per wait bucket: served, then the unmet split to the ED, to outpatients, gone
    served, rest, to_ed, to_op, gone = np.zeros((5, buckets), np.int64)
    for d in range(n_all):
        if d == warmup_days:
            waiting_start = book.sum()
        book[0] += demand[d]
        _serve(book, cap[d], served)
        rest[:] = book - served
        _thin(rng, rest, p_ed, to_ed)
        rest -= to_ed
        _thin(rng, rest, q_op, to_op)
        rest -= to_op
        _thin(rng, rest, q_ab, gone)
        rest -= gone
        served_by_wait[d] = served
        totals[0, d] = served.sum()
        totals[1, d] = to_ed.sum()
        totals[2, d] = to_op.sum()
        totals[3, d] = gone.sum()
        totals[4, d] = rest.sum()
        # Age the book by one day; the last bucket is open.
        book[1:] = rest[:-1]
        book[0] = 0
        book[-1] += rest[-1]
    return served_by_wait, totals, waiting_start


def simulate_clinic(
    group: ClinicGroup,
    demand_mean: NDArray[np.float64],
    capacity: NDArray[np.float64],
    warmup_days: int,
    *,
    demand_rng: np.random.Generator,
    outcome_rng: np.random.Generator,
) -> ClinicOutcome:
    """Run one clinic group over warm-up + simulated days.

    Args:
        group: the clinic group (probabilities, wait buckets).
        demand_mean: expected requests per day, warm-up days first.
        capacity: appointments per day, same days (fractions are floored).
        warmup_days: leading days to discard from the outputs.
        demand_rng: stream of daily demand (one uniform per day, inverted).
        outcome_rng: stream of the daily diversion / abandonment binomials.
    """
    n_all = demand_mean.size
    buckets = group.max_wait_days + 1
    # Inversion of one uniform per day keeps common random numbers across scenarios
    # (numpy's own Poisson sampler uses a varying count of uniforms per draw).
    u = demand_rng.random(n_all)
    demand = poisson_ppf(u, np.ascontiguousarray(demand_mean, dtype=float))
    cap = np.floor(capacity).astype(np.int64)
    p_ed, p_op, p_ab = group.p_divert_ed, group.p_divert_outpatient, group.p_abandon
    # Conditional probabilities of the binomial chain ED -> outpatients -> abandon.
    q_op = p_op / (1.0 - p_ed) if p_ed < 1.0 else 0.0
    q_ab = p_ab / (1.0 - p_ed - p_op) if p_ed + p_op < 1.0 else 0.0

    served_by_wait, totals, waiting_start = _run_book(
        outcome_rng, demand, cap, buckets, warmup_days, p_ed, q_op, q_ab
    )
    out = dict(zip(("served", "ed", "op", "ab", "waiting"), totals, strict=True))
    run = slice(warmup_days, n_all)
    return ClinicOutcome(
        name=group.name,
        demand=demand[run],
        capacity=cap[run],
        served=out["served"][run],
        waiting_end=out["waiting"][run],
        diverted_ed=out["ed"][run],
        diverted_outpatient=out["op"][run],
        abandoned=out["ab"][run],
        served_by_wait=served_by_wait[run],
        waiting_start=int(waiting_start),
        diverted_ed_all_days=out["ed"],
    )


def compile_clinics() -> None:
    """Compile (or load from numba's on-disk cache) the day book, on a tiny input."""
    ones = np.ones(2, np.int64)
    _run_book(generator(0, 0, "des.compile"), ones, ones, 2, 1, 0.1, 0.1, 0.1)
    poisson_ppf(np.array([0.5]), np.array([3.0]))
