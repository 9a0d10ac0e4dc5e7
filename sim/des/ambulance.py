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

import math
from dataclasses import dataclass
from typing import Any

import numba
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


@numba.njit(cache=True, nogil=True)
def _push(heap: Any, size: int, x: float) -> int:
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= x:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = x
    return size + 1


@numba.njit(cache=True, nogil=True)
def _sift_down(heap: Any, size: int, x: float) -> None:
    """Put ``x`` in place of the root of the min-heap ``heap[:size]``."""
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and heap[c + 1] < heap[c]:
            c += 1
        if x <= heap[c]:
            break
        heap[i] = heap[c]
        i = c
    heap[i] = x


@numba.njit(cache=True, nogil=True)
def _fifo_delays(times: Any, busy: Any, fleet: Any, t0: float) -> tuple[Any, int]:
    """Each call, in order, takes the ambulance free first (a min-heap of "free again
    at" times); returns the delays and the first call that finds no ambulance (-1)."""
    heap = np.empty(max(int(fleet.max()), 1))
    size = 0
    for _ in range(fleet[0]):
        size = _push(heap, size, t0)
    delay = np.zeros(times.size)
    d = 1
    for i in range(times.size):
        t = times[i]
        while d < fleet.size and t0 + d <= t:  # fleet changes at 00:00 of day d
            change = fleet[d] - fleet[d - 1]
            for _ in range(change):  # added ambulances are free at once
                size = _push(heap, size, t0 + d)
            for _ in range(min(-change, size)):  # the first free are retired
                size -= 1
                if size > 0:
                    _sift_down(heap, size, heap[size])
            d += 1
        if size == 0:
            return delay, i
        start = max(t, heap[0])
        delay[i] = start - t
        _sift_down(heap, size, start + busy[i])
    return delay, -1


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
    delay, empty_at = _fifo_delays(
        np.ascontiguousarray(times, dtype=np.float64),
        np.ascontiguousarray(busy, dtype=np.float64),
        fleet,
        float(t0),
    )
    if empty_at >= 0:
        raise ValueError(f"an ambulance call at day {times[empty_at]:.3f} finds an empty fleet")
    if not math.isfinite(float(delay.max(initial=0.0))):
        raise ValueError("an ambulance delay is not finite")
    return AmbulanceOutcome(times, delay, delay + draws.travel, busy)
