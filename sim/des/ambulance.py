"""Ambulance (120) dispatches against the fleet, first come first served.

The fleet is a multi-server FIFO queue that shares nothing with beds or the ED,
so it is computed with the exact recursion of a FIFO c-server queue (Kiefer and
Wolfowitz, 1955) rather than with SimPy events: each call, in order of arrival,
takes the ambulance that is free first; its delay is how long it waits for
that ambulance. A heap of "free again at" times makes each call O(log c).

Fleet changes take effect at 00:00 of their day: added ambulances are free at
once; removed ones are those free first (idle vehicles are retired first, a
busy one when it returns).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.des.arrivals import AmbulanceDraws

__all__ = ["AmbulanceOutcome", "simulate_ambulance"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AmbulanceOutcome:
    """Per-call results (days), calls in order of arrival (warm-up included)."""

    time: FloatArray
    delay: FloatArray
    """Wait from the call until an ambulance is free (days)."""
    response: FloatArray
    """Delay plus travel time to the scene (days)."""
    busy: FloatArray
    """Travel + job time: how long the call holds an ambulance (days)."""


def simulate_ambulance(
    draws: AmbulanceDraws, fleet_by_day: FloatArray, t0: float
) -> AmbulanceOutcome:
    """Delays of all calls.

    Args:
        draws: call times, travel and job durations (days).
        fleet_by_day: ambulances on each day from ``t0`` (warm-up days first);
            ``inf`` means no call ever waits.
        t0: time of the first day's 00:00 (days).

    Raises:
        ValueError: a call arrives while the fleet is empty.
    """
    times = draws.time
    busy = draws.travel + draws.job
    n = times.size
    if np.isinf(fleet_by_day).any():
        if not np.isinf(fleet_by_day).all():
            raise ValueError("an ambulance fleet is either unlimited on every day or on none")
        delay = np.zeros(n)
        return AmbulanceOutcome(times, delay, delay + draws.travel, busy)
    fleet = fleet_by_day.astype(np.int64)
    free: list[float] = [t0] * int(fleet[0])
    heapq.heapify(free)
    changes = [
        (t0 + d, int(fleet[d] - fleet[d - 1]))
        for d in range(1, fleet.size)
        if fleet[d] != fleet[d - 1]
    ]
    ci = 0
    delay_list = [0.0] * n
    t_list = times.tolist()
    busy_list = busy.tolist()
    heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    for i in range(n):
        t = t_list[i]
        while ci < len(changes) and changes[ci][0] <= t:
            at, delta = changes[ci]
            if delta > 0:
                for _ in range(delta):
                    heappush(free, at)
            else:
                for _ in range(min(-delta, len(free))):
                    heappop(free)
            ci += 1
        if not free:
            raise ValueError(f"an ambulance call at day {t:.3f} finds an empty fleet")
        first_free = free[0]
        start = t if first_free <= t else first_free
        delay_list[i] = start - t
        heapreplace(free, start + busy_list[i])
    delay = np.array(delay_list)
    if not math.isfinite(float(delay.max(initial=0.0))):
        raise ValueError("an ambulance delay is not finite")
    return AmbulanceOutcome(times, delay, delay + draws.travel, busy)
