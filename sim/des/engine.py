"""Run one discrete-event replicate and return its results as an xarray Dataset.

:func:`run` takes a frozen :class:`~sim.des.config.DesConfig` and the
pre-drawn :class:`~sim.des.arrivals.RandomInputs`; :func:`run_replicate` draws
the inputs first. Both build the :class:`~sim.des.workload.Workload`, run one of
the two hospital engines on it (``"compiled"``: :mod:`sim.des.compiled`, numba;
``"reference"``: :mod:`sim.des.hospital`, SimPy, and the only one that runs a
policy of your own), cut the log (:func:`~sim.des.workload.finish_log`) and compute
the outputs from it. The engine knows no files, scenarios or sweeps: the runner
combines replicates (``xarray.concat(..., dim="replicate")``).

Every variable carries ``units`` and ``long_name``. Dimensions: ``pool``,
``day`` (dates, warm-up excluded), ``year``, ``acuity`` and ``clinic``. Per-day
series are float32. Percentiles are time-weighted for occupancy (share of time)
and per patient for waits.

Conventions of the outputs:

* **Occupancy** of a pool counts every stage in one of its beds (outliers
  included), from the stage's start to its end; ``bed_queue_midnight`` counts the
  emergency class waiting for the pool (ED boarders, direct and maternity
  admissions, and patients blocked in an earlier stage of their stay).
* **Waits for a bed** are from the first stage's request to its start, by home
  pool and year of the start (the bed taken): by route (``bed_wait_*_emergency``
  = through the ED, from the decision to admit; ``_direct``; ``_maternity``), all
  non-electives together (``emergency_bed_wait_*``, the emergency class), and
  electives apart in days (booked date to admission).
* **Step-down blocking**: a later stage of a stay (e.g. the ward after the ICU)
  waits from its request (the end of the earlier stage's stay) to its start,
  keeping the earlier stage's bed: ``stepdown_wait_mean`` by the pool waited for
  and year of the start; ``stepdown_blocked_bed_days`` by the pool of the bed held,
  counted in the year the bed is held.
* **Elective deferrals**: a deferral *event* at booking when no bed is free and at
  each later booking session the patient is still on the waiting list
  (``BedLog.deferral_events``); events are counted on the day and in the year they
  happen (the booking date for the first, the session's date for the others).
  ``elective_patients_deferred_year`` counts *persons* deferred at least once, by
  the year of their booking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Final

import numba
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sim.base import catalogue
from sim.base.names import (
    ACUITIES,
    ACUITY,
    CLINIC,
    DAY,
    POOL,
    YEAR,
)
from sim.des.ambulance import AmbulanceOutcome, simulate_ambulance
from sim.des.arrivals import (
    DISPOSITION_HOME,
    DISPOSITION_TRANSFER,
    FIRST_POOL_DISPOSITION,
    AmbulanceDraws,
    RandomInputs,
    compile_draws,
    draw_inputs,
    run_clinics,
)
from sim.des.clinics import ClinicOutcome
from sim.des.config import ROUTES, AmbulanceService, DesConfig
from sim.des.monitor import (
    COUNTING,
    Census,
    Grouped,
    LevelStats,
    Tally,
    census,
    census_add,
    census_days,
    compile_monitor,
    counts_by_day,
    grouped_stats,
    level_stats,
    level_stats_by_group,
    new_tally,
    readonly,
    tallied_stats,
    tally_add,
    weighted_quantile_from_hist,
)
from sim.des.policies import MostFreeBeds, StrictTriage
from sim.des.workload import (
    DIRECT,
    ELECTIVE,
    EMERGENCY,
    MATERNITY,
    EDLog,
    HospitalLog,
    RawLog,
    Workload,
    build_workload,
    capacity_with_warmup,
    compile_log,
    finish_log,
)

__all__ = [
    "ENGINES",
    "compile_kernels",
    "outputs",
    "run",
    "run_replicate",
    "simulate_hospital",
]

ENGINES: Final = ("compiled", "reference")
"""The hospital engines :func:`run` can use."""
HOURS_PER_DAY = 24.0
OCCUPANCY_THRESHOLDS = (0.85, 0.95, 1.0)
WAIT_QUANTILE = 0.9
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Data = dict[str, xr.Variable]


# ------------------------------------------------------------------ running
@dataclass(frozen=True, eq=False)
class _Kept:
    """What the outputs read of the random inputs once the workload is built."""

    root_seed: int
    replicate: int
    ed_disposition: NDArray[np.int16] | None
    ed_acuity: NDArray[np.int8] | None


@dataclass(frozen=True, eq=False)
class _Axes:
    """The days and years of the outputs."""

    n: int
    """Simulated days."""
    dates: NDArray[np.datetime64]
    years: IntArray
    year_of_day: IntArray
    year_first_day: IntArray
    """First day of each year (for ``np.add.reduceat``)."""

    @property
    def ny(self) -> int:
        return int(self.years.size)

    @property
    def t_end(self) -> float:
        return float(self.n)

    def per_year(self, values: FloatArray, how: str = "sum") -> FloatArray:
        """Reduce a per-day series (last axis) over the days of each year."""
        total = np.add.reduceat(np.asarray(values, dtype=np.float64), self.year_first_day, axis=-1)
        return total if how == "sum" else total / np.diff([*self.year_first_day, self.n])


def _axes(config: DesConfig) -> _Axes:
    n = config.n_days
    dates = np.datetime64(config.start, "D") + np.arange(n)
    years_of_day = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    years, first = np.unique(years_of_day, return_index=True)
    return _Axes(
        n=n,
        dates=dates,
        years=years.astype(np.int64),
        year_of_day=np.searchsorted(years, years_of_day).astype(np.int64),
        year_first_day=first.astype(np.int64),
    )


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}")


def _simulate(work: Workload, config: DesConfig, engine: str) -> RawLog:
    if engine == "compiled":
        from sim.des import compiled

        return compiled.simulate(work)
    from sim.des import hospital

    ed_policy = config.ed.policy if config.ed is not None else StrictTriage()
    bed_policy = config.pooling.policy if config.pooling is not None else MostFreeBeds()
    return hospital.simulate(work, ed_policy, bed_policy)


def run_replicate(
    config: DesConfig, root_seed: int, replicate: int, engine: str = "compiled"
) -> xr.Dataset:
    """Draw the inputs of ``(root_seed, replicate)`` and run them (the draws are let go
    as soon as the workload holds them).

    Raises:
        ValueError: ``engine`` is not one of :data:`ENGINES`.
    """
    _check_engine(engine)
    clinics = run_clinics(config, root_seed, replicate)
    inputs = draw_inputs(config, root_seed, replicate, clinics)
    side = _side_outputs(config, inputs, clinics)  # before the engine, and let go
    del clinics
    kept = _keep(inputs)
    work = [build_workload(config, inputs)]
    del inputs
    return _run(config, work, kept, side, engine)


def run(config: DesConfig, inputs: RandomInputs, engine: str = "compiled") -> xr.Dataset:
    """Simulate one replicate from pre-drawn inputs; see the module doc for the outputs.

    Raises:
        ValueError: ``engine`` is not one of :data:`ENGINES`.
    """
    _check_engine(engine)
    side = _side_outputs(config, inputs, run_clinics(config, inputs.root_seed, inputs.replicate))
    return _run(config, [build_workload(config, inputs)], _keep(inputs), side, engine)


def simulate_hospital(
    config: DesConfig, inputs: RandomInputs, engine: str = "compiled"
) -> HospitalLog:
    """The patient log of one replicate from pre-drawn inputs, cut at the end of the
    run (:func:`~sim.des.workload.finish_log`), without the outputs.

    Raises:
        ValueError: ``engine`` is not one of :data:`ENGINES`.
    """
    _check_engine(engine)
    work = build_workload(config, inputs)
    return finish_log(work, _simulate(work, config, engine), config)


def _keep(inputs: RandomInputs) -> _Kept:
    return _Kept(
        root_seed=inputs.root_seed,
        replicate=inputs.replicate,
        # int16 (codes 0 .. 1 + pools): half the drawn int32 column
        ed_disposition=inputs.ed.disposition.astype(np.int16) if inputs.ed is not None else None,
        ed_acuity=inputs.ed.acuity if inputs.ed is not None else None,
    )


def _slim(work: Workload) -> Workload:
    """The workload without the arrays only the engines read (``finish_log`` does not)."""
    none_f, none_i = np.empty(0), np.empty(0, np.int32)
    return replace(
        work,
        lose=np.empty(0, np.bool_),
        discharge_hour=none_f,
        stage_los=none_f,
        ed_treatment=none_f,
        ed_patient=none_i,
    )


def _run(
    config: DesConfig, box: list[Workload], kept: _Kept, side: Data, engine: str
) -> xr.Dataset:
    """Run the workload in the one-item list ``box`` (emptied, so that each array can
    be let go as soon as nothing reads it) and compute the outputs."""
    work = box.pop()
    raw = _simulate(work, config, engine)
    work = _slim(work)
    log = finish_log(work, raw, config)
    del raw, work  # the log holds what the outputs read
    return _outputs(config, kept, [log], side, engine)


def outputs(
    config: DesConfig, inputs: RandomInputs, log: HospitalLog, engine: str = "compiled"
) -> xr.Dataset:
    """The outputs (see the module doc) of a replicate's cut patient log; ``engine``
    only names the engine that wrote it (``attrs["des_engine"]``)."""
    _check_engine(engine)
    clinics = run_clinics(config, inputs.root_seed, inputs.replicate)
    return _outputs(config, _keep(inputs), [log], _side_outputs(config, inputs, clinics), engine)


def _outputs(
    config: DesConfig, kept: _Kept, box: list[HospitalLog], side: Data, engine: str
) -> xr.Dataset:
    log = box.pop()
    ax = _axes(config)
    data: Data = {}
    _bed_outputs(log, config.warmup_days, ax, data)
    if log.ed is not None and kept.ed_disposition is not None and kept.ed_acuity is not None:
        _ed_outputs(log, kept.ed_disposition, kept.ed_acuity, config.warmup_days, ax, data)
    del log
    data.update(side)
    return _dataset(config, kept, ax, data, engine)


def _side_outputs(
    config: DesConfig, inputs: RandomInputs, clinics: tuple[ClinicOutcome, ...]
) -> Data:
    """The outputs of the clinics (``clinics``: their day book, :func:`run_clinics`) and
    the ambulances (they share nothing with the hospital, so they are done before it,
    and their arrays let go)."""
    ax = _axes(config)
    data: Data = {}
    if config.clinics:
        _clinic_outputs(clinics, ax, data)
    if config.ambulance is not None and inputs.ambulance is not None:
        w = config.warmup_days
        fleet = config.ambulance.fleet.by_day(config.start, ax.n)
        fleet_all = capacity_with_warmup(fleet, w)
        amb = simulate_ambulance(inputs.ambulance, fleet_all, -float(w))
        _ambulance_outputs(config.ambulance, amb, fleet, ax, data)
    return data


def compile_kernels() -> float:
    """Compile (the first time) or load from numba's on-disk cache the kernels of the
    drawing, the ambulances and the outputs, which both engines use, and the modules
    xarray imports on its first variable (dask, when installed: about a second, once
    per process); returns the wall seconds."""
    start = time.perf_counter()
    compile_draws()
    compile_log()
    compile_monitor()
    one = readonly(np.ones(1))
    simulate_ambulance(AmbulanceDraws(one, one, one), np.ones(2), 0.0)
    zero = readonly(np.zeros(1, np.int32), np.int32)
    route, lost = readonly(np.zeros(1, np.int8), np.int8), readonly(np.zeros(1, np.bool_), np.bool_)
    tally = np.zeros((6, 1, 4))
    _stage_flows(zero, zero, one, one, one, zero, route, lost, tally)
    waits = new_tally(1, np.zeros(2, np.int64), 1, 1)
    beds = (route, lost, zero, zero, one, one, one)
    _patient_flows(beds, tally, np.zeros((4, 1, 4)), np.zeros((5, 1)), waits)
    _midnights(tally)
    ed = (
        one,
        one,
        one,
        one,
        readonly(np.zeros(1, np.int16), np.int16),
        readonly(np.ones(1, np.int8), np.int8),
    )
    _ed_pass(ed, 2, np.zeros((4, 2, 4)), np.zeros((6, 2)), np.zeros(5), (waits, waits))
    _var("ed_spaces", np.ones(1))
    return time.perf_counter() - start


def _dataset(config: DesConfig, kept: _Kept, ax: _Axes, data: Data, engine: str) -> xr.Dataset:
    coords: dict[str, Any] = {
        POOL: list(config.pool_names),
        DAY: ax.dates,
        YEAR: ax.years,
        ACUITY: list(ACUITIES),
    }
    if config.clinics:
        coords[CLINIC] = [c.name for c in config.clinics]
    ds = xr.Dataset(data, coords=coords)
    # the other coordinates are described when saved (sim.base.names.COORDINATE_ATTRS);
    # this day is a date here, a day of the year in the expected level
    ds[DAY].attrs.update(long_name="simulated day (00:00 to 24:00)")
    ds.attrs.update(
        root_seed=kept.root_seed,
        replicate=kept.replicate,
        start=config.start.isoformat(),
        n_days=ax.n,
        warmup_days=config.warmup_days,
        warmup=config.warmup,
        discharge_rule=config.discharge.kind,
        whole_hospital_pooling=int(config.pooling is not None),
        n_pools=len(config.pools),
        des_engine=engine,
    )
    return ds


# ------------------------------------------------------------------ helpers
def _var(name: str, data: Any) -> xr.Variable:
    """DES variable ``name`` with its dims, units and long name from the catalogue
    (:data:`sim.base.catalogue.DES`); a daily series is stored as float32."""
    entry = catalogue.des_variable(name)
    values = np.asarray(data)
    if DAY in entry.dims:
        values = values.astype(np.float32)
    return xr.Variable(entry.dims, values, {"units": entry.units, "long_name": entry.long_name})


def _put(data: Data, name: str, values: Any) -> None:
    data[name] = _var(name, values)


def _stats(
    values: FloatArray,
    when: FloatArray,
    group: NDArray[np.integer],
    n_groups: int,
    ax: _Axes,
    since: FloatArray | None = None,
    scale: float = 1.0,
) -> Grouped:
    """Mean, 90th percentile and share > 0 of ``values`` (``(values - since) * scale``
    with ``since``) by group and year of ``when``."""
    return grouped_stats(
        values,
        when,
        group,
        n_groups,
        ax.year_of_day,
        ax.ny,
        WAIT_QUANTILE,
        since=since,
        scale=scale,
    )


# ------------------------------------------------------------------ beds
def _bed_outputs(log: HospitalLog, w: int, ax: _Axes, data: Data) -> None:
    cap = log.capacity[:, w:]
    n_pools = cap.shape[0]
    _occupancy_outputs(log, cap, ax, data)
    tallies = _bed_tallies(log, n_pools, ax)
    _flow_outputs(tallies, data)
    _wait_outputs(tallies.by_route, n_pools, data)
    later = _later(log)
    _stepdown_outputs(log, later, n_pools, ax, data)
    _deferral_outputs(log, n_pools, ax, data)
    _little_outputs(log, later, tallies, n_pools, ax, data)


def _occupancy_outputs(log: HospitalLog, cap: FloatArray, ax: _Axes, data: Data) -> None:
    st = log.stages
    n_pools = cap.shape[0]
    occ = level_stats_by_group(
        st.start,
        st.end,
        st.bed_pool,
        n_pools,
        ax.n,
        capacity=cap,
        fractions=OCCUPANCY_THRESHOLDS,
        year_of_day=ax.year_of_day,
        n_years=ax.ny,
    )
    mean = np.array([o.daily_mean for o in occ]).reshape(n_pools, ax.n)
    peak = np.array([o.daily_peak for o in occ]).reshape(n_pools, ax.n)
    _put(data, "bed_capacity", cap)
    _put(data, "midnight_census", np.array([o.midnight for o in occ]).reshape(n_pools, ax.n))
    _put(data, "occupancy_daily_mean", mean)
    _put(data, "occupancy_daily_peak", peak)
    _occupancy_years(occ, mean, peak, cap, ax, data)


def _occupancy_years(
    occ: list[LevelStats],
    mean: FloatArray,
    peak: FloatArray,
    cap: FloatArray,
    ax: _Axes,
    data: Data,
) -> None:
    """The yearly occupancy statistics of the pools (``occ``: one per pool)."""
    n_pools = cap.shape[0]
    p95 = np.array(
        [[weighted_quantile_from_hist(h, 0.95) for h in o.year_hist] for o in occ]
    ).reshape(n_pools, ax.ny)
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(cap)
        rate = ax.per_year(np.where(finite, mean, np.nan)) / ax.per_year(
            np.where(finite, cap, np.nan)
        )
        any_finite = ax.per_year(finite.astype(float)) > 0
        p = {
            f: np.where(
                any_finite, ax.per_year(np.array([o.time_ge[f] for o in occ]), "mean"), np.nan
            ).reshape(n_pools, ax.ny)
            for f in OCCUPANCY_THRESHOLDS
        }
    _put(data, "occupancy_mean", ax.per_year(mean, "mean"))
    _put(data, "occupancy_p95", p95)
    _put(data, "occupancy_rate_mean", rate)
    for f, name in zip(
        OCCUPANCY_THRESHOLDS, ("p_occupancy_ge_85", "p_occupancy_ge_95", "p_full"), strict=True
    ):
        _put(data, name, p[f])
    _put(data, "days_full", ax.per_year((peak >= cap).astype(float)))


def _later(log: HospitalLog) -> IntArray:
    """Rows of the stages that are not a patient's first stage."""
    patient = log.stages.patient
    if patient.size == log.beds.home_pool.size:  # one stage each
        return np.zeros(0, np.int64)
    return np.flatnonzero(patient[1:] == patient[:-1]) + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _step_columns(s: float, e: float, t_end: float) -> tuple[int, int]:
    """Columns of the +1 and -1 steps of the midnight count (days 0..n-1 in columns
    1..n) of a stay [s, e) (days; NaN e = still there), under the rules of
    :func:`sim.des.monitor.census`: the -1 in column n + 1 (never read) if the stay
    outlasts the run; (-1, -1) if it is not in [0, n). Scalars only: with arrays
    handed to inlined helpers this pass took twice as long (numba 0.68, measured)."""
    if not s < t_end or e <= 0.0 or e <= s:  # never entered / not in [0, n)
        return -1, -1
    first = 0 if s <= 0.0 else int(np.floor(s)) + 1
    return first, int(np.ceil(e)) if e < t_end else int(t_end) + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _day_of(t: float, t_end: float) -> int:
    """Day of an event at time t (days), -1 outside [0, t_end) or NaN (as
    ``counts_by_day``)."""
    return int(t) if t >= 0.0 and t < t_end else -1


@numba.njit(cache=True, nogil=True)
def _stage_flows(
    patient: Any,
    s_pool: Any,
    s_request: Any,
    s_start: Any,
    s_end: Any,
    s_bed_pool: Any,
    route: Any,
    lost: Any,
    tally: Any,
) -> None:
    """The stages' part of the flows of :func:`_bed_tallies` (rows of ``tally``: 0 the
    steps of the emergency-class queue's midnight count, by the pool waited for, of
    first stages that are not electives and not turned away and of every later stage;
    4 the discharges per day (last stages), by the pool of the bed)."""
    t_end = float(tally.shape[2] - 2)
    n = patient.size
    for r in range(n):
        b = patient[r]
        first = r == 0 or patient[r - 1] != b
        if not (first and (route[b] == ELECTIVE or lost[b])):
            up, down = _step_columns(s_request[r], s_start[r], t_end)
            if up >= 0:
                tally[0, s_pool[r], up] += 1.0
                tally[0, s_pool[r], down] -= 1.0
        if r == n - 1 or patient[r + 1] != b:
            d = _day_of(s_end[r], t_end)
            if s_bed_pool[r] >= 0 and d >= 0:
                tally[4, s_bed_pool[r], d] += 1.0


@numba.njit(**COUNTING)
def _patient_flows(
    beds: tuple[Any, Any, Any, Any, Any, Any, Any],
    tally: Any,
    system: Any,
    flows: Any,
    waits: Any,
) -> int:
    """The patients' part of :func:`_bed_tallies`, in one pass over ``beds`` (route,
    lost, home pool, first bed's pool, request, bed start, bed end): rows of ``tally``
    1 (the steps of the waiting list's midnight count, by home pool), 2 and 3
    (admissions and outlying admissions per day), 5 (turned away per day); the census
    tally (:func:`sim.des.monitor.census_add`) and the flows (5, n_pools) of the
    patients in the system, from the request to the departure (the discharge; the
    request itself when turned away): requests in the run, present at its start,
    departures in the run, and the count and total time in the system of those who
    came and left in the run; and the waits for the first bed (hours) in ``waits``
    (:func:`sim.des.monitor.tally_add`, by ``route * n_pools + home``); returns the
    number of non-zero waits."""
    route, lost, home, bed_pool, request, bed_start, bed_end = beds
    n_pools = tally.shape[1]
    t_end = float(tally.shape[2] - 2)
    n_nz = 0
    for b in range(home.size):
        h, r = home[b], request[b]
        d = r if lost[b] else bed_end[b]
        census_add(system, h, r, d)
        came = r >= 0.0 and r < t_end
        flows[0, h] += came
        flows[1, h] += r < 0.0 and not d < 0.0
        flows[2, h] += d >= 0.0 and d < t_end
        if came and d < t_end:
            flows[3, h] += 1.0
            flows[4, h] += d - r
        start = bed_start[b]
        g = int(route[b]) * n_pools + h
        n_nz = tally_add(waits, n_nz, (start - r) * HOURS_PER_DAY, g, start)
        if h < 0:
            continue
        if route[b] == ELECTIVE:
            up, down = _step_columns(r, start, t_end)
            if up >= 0:
                tally[1, h, up] += 1.0
                tally[1, h, down] -= 1.0
        day = _day_of(start, t_end)
        if day >= 0:
            tally[2, h, day] += 1.0
            if bed_pool[b] != h and bed_pool[b] >= 0:  # outlying
                tally[3, h, day] += 1.0
        day = _day_of(r, t_end)
        if lost[b] and day >= 0:
            tally[5, h, day] += 1.0
    return n_nz


@numba.njit(cache=True, nogil=True)
def _midnights(tally: Any) -> Any:
    """The midnight counts (2, n_pools, n_days) of the steps in rows 0 and 1 of
    ``tally`` (column d + 1: the steps of day d; column 0: those before the run)."""
    n_pools, n_days = tally.shape[1], tally.shape[2] - 2
    midnight = np.empty((2, n_pools, n_days))
    for g in range(n_pools):
        q = tally[0, g, 0]
        w = tally[1, g, 0]
        for d in range(n_days):
            q += tally[0, g, d + 1]
            w += tally[1, g, d + 1]
            midnight[0, g, d] = q
            midnight[1, g, d] = w
    return midnight


@dataclass(frozen=True, eq=False)
class _BedTallies:
    """What one pass over the stages and one over the bed patients count
    (:func:`_bed_tallies`)."""

    midnight: FloatArray
    """Midnight counts (2, n_pools, n_days): the emergency-class queue by the pool
    waited for, the elective waiting list by home pool."""
    counts: FloatArray
    """Per (4, n_pools, n_days): admissions and outlying admissions (home pool),
    discharges (pool of the bed), turned away (home pool)."""
    system_mean: FloatArray
    """Patients in the bed system by (home pool, day), time-averaged."""
    flows: FloatArray
    """The flows of :func:`_patient_flows` (5, n_pools)."""
    by_route: Grouped
    """Waits for the first bed (hours) by the groups of :func:`_waits_tally`."""


def _bed_tallies(log: HospitalLog, n_pools: int, ax: _Axes) -> _BedTallies:
    """The bed outputs' counts, with no per-row array: :func:`_stage_flows` and
    :func:`_patient_flows` (counts as floats, exact)."""
    b, st = log.beds, log.stages
    tally = np.zeros((6, n_pools, ax.n + 2))
    _stage_flows(
        readonly(st.patient, np.int32),
        readonly(st.pool, np.int32),
        readonly(st.request),
        readonly(st.start),
        readonly(st.end),
        readonly(st.bed_pool, np.int32),
        readonly(b.route, np.int8),
        readonly(b.lost, np.bool_),
        tally,
    )
    system = np.zeros((4, n_pools, ax.n + 2))
    flows = np.zeros((5, n_pools))
    waits = _waits_tally(n_pools, ax, b.home_pool.size)
    n_nz = _patient_flows(_patient_columns(log), tally, system, flows, waits)
    return _BedTallies(
        midnight=_midnights(tally),
        counts=tally[2:, :, : ax.n].copy(),
        system_mean=census_days(system)[0],
        flows=flows,
        by_route=tallied_stats(waits, n_nz, WAIT_QUANTILE),
    )


def _patient_columns(log: HospitalLog) -> tuple[NDArray[Any], ...]:
    """The bed patients' columns :func:`_patient_flows` reads, as its kernel types."""
    b = log.beds
    return (
        readonly(b.route, np.int8),
        readonly(b.lost, np.bool_),
        readonly(b.home_pool, np.int32),
        readonly(b.bed_pool, np.int32),
        readonly(b.request),
        readonly(b.bed_start),
        readonly(b.bed_end),
    )


def _waits_tally(n_pools: int, ax: _Axes, size: int) -> Tally:
    """The tally of the waits for the first bed (hours) by (route, home pool) and year
    of the start, in groups ``route * n_pools + pool``; then, in the ``n_pools`` groups
    after those, the emergency class by pool (the routes but the electives, merged in
    the same pass)."""
    emergency_class = np.tile(np.arange(n_pools, dtype=np.int32), 4)
    emergency_class[ELECTIVE * n_pools : (ELECTIVE + 1) * n_pools] = -1
    return new_tally(4 * n_pools, ax.year_of_day, ax.ny, size, emergency_class)


def _flow_outputs(tallies: _BedTallies, data: Data) -> None:
    """The midnight queues and the daily flows of the beds (:func:`_bed_tallies`)."""
    queue_midnight, waitlist_midnight = tallies.midnight
    admissions, outlying, discharges, turned = tallies.counts
    _put(data, "bed_queue_midnight", queue_midnight)
    _put(data, "elective_waiting_list", waitlist_midnight)
    _put(data, "admissions", admissions)
    _put(data, "admissions_outlying", outlying)
    _put(data, "discharges", discharges)
    _put(data, "turned_away", turned)


def _wait_outputs(by_route: Grouped, n_pools: int, data: Data) -> None:
    """Waits for the first bed, by home pool and year of the start: the emergency class
    together, then by route (hours; electives in days); ``by_route``: groups ``route *
    n_pools + pool``, then the emergency class by pool (:func:`_waits_tally`)."""
    _emergency_wait_outputs(by_route, n_pools, data)
    _route_wait_outputs(by_route, n_pools, data)


def _emergency_wait_outputs(by_route: Grouped, n_pools: int, data: Data) -> None:
    """The emergency class's waits for a bed (hours; the share who waited, a fraction),
    from the merged groups of :func:`_waits_tally`."""
    rows = slice(4 * n_pools, None)  # the merged groups: the emergency class by pool
    em = Grouped(
        by_route.mean[rows],
        by_route.quantile[rows],
        by_route.share_positive[rows],
        by_route.count[rows],
    )
    _put(data, "emergency_bed_wait_mean", em.mean)
    _put(data, "emergency_bed_wait_p90", em.quantile)
    _put(data, "p_bed_wait", em.share_positive)


def _route_wait_outputs(by_route: Grouped, n_pools: int, data: Data) -> None:
    """Waits for a bed by route, from the route groups of :func:`_waits_tally`:
    hours, but days for the electives (booked date to admission)."""
    for route in (EMERGENCY, DIRECT, MATERNITY):
        rows = slice(route * n_pools, (route + 1) * n_pools)
        name = ROUTES[route]
        _put(data, f"bed_wait_mean_{name}", by_route.mean[rows])
        _put(data, f"bed_wait_p90_{name}", by_route.quantile[rows])
    rows = slice(ELECTIVE * n_pools, (ELECTIVE + 1) * n_pools)
    _put(data, "elective_wait_mean", by_route.mean[rows] / HOURS_PER_DAY)
    _put(data, "elective_wait_p90", by_route.quantile[rows] / HOURS_PER_DAY)


def _stepdown_outputs(
    log: HospitalLog, later: IntArray, n_pools: int, ax: _Axes, data: Data
) -> None:
    """Waits of the later stages of a stay (rows ``later``) and the beds they block."""
    st = log.stages
    request, start = st.request[later], st.start[later]
    wait = _stats((start - request) * HOURS_PER_DAY, start, st.pool[later], n_pools, ax)
    held = census(request, start, ax.n, st.bed_pool[later - 1], n_pools)
    _put(data, "stepdown_wait_mean", wait.mean)
    _put(data, "stepdown_blocked_bed_days", ax.per_year(held.daily_mean))


def _deferral_outputs(log: HospitalLog, n_pools: int, ax: _Axes, data: Data) -> None:
    """Deferral events by the day they happen: the booking, then the sessions after
    it (``deferral_events - 1`` of them: the patient is admitted at the next)."""
    b = log.beds
    deferred = np.flatnonzero(b.deferral_events > 0)
    pool = b.home_pool[deferred].astype(np.int64)
    request = b.request[deferred]
    sessions = log.booking_sessions
    n_s = sessions.size
    first = np.searchsorted(sessions, request, side="right")
    stop = np.minimum(first + b.deferral_events[deferred].astype(np.int64) - 1, n_s)
    width = n_s + 1
    step = np.bincount(pool * width + first, minlength=n_pools * width) - np.bincount(
        pool * width + stop, minlength=n_pools * width
    )
    waiting = np.cumsum(step.reshape(n_pools, width), axis=1)[:, :n_s]  # still listed after
    in_run = (sessions >= 0) & (sessions < ax.t_end)
    session_day = sessions[in_run].astype(np.int64)
    events = counts_by_day(request, pool, n_pools, ax.n)
    for k in range(n_pools):
        events[k] += np.bincount(session_day, weights=waiting[k, in_run], minlength=ax.n)
    persons = _stats(np.ones(deferred.size), request, pool, n_pools, ax).count
    _put(data, "elective_deferrals", events)
    _put(data, "elective_deferral_events_year", ax.per_year(events))
    _put(data, "elective_patients_deferred_year", persons.astype(np.float64))


def _little_outputs(
    log: HospitalLog, later: IntArray, tallies: _BedTallies, n_pools: int, ax: _Axes, data: Data
) -> None:
    """Conservation and Little's law, by home pool (``later``: the rows of the stages
    that are not a patient's first)."""
    _conservation_outputs(log, later, tallies.flows, n_pools, ax, data)
    _little_law_outputs(tallies.system_mean, tallies.flows, ax, data)


def _conservation_outputs(
    log: HospitalLog, later: IntArray, flows: FloatArray, n_pools: int, ax: _Axes, data: Data
) -> None:
    """Patients (persons) in the bed system at the start and the end of the run, and
    its arrivals and departures, by home pool (``flows``: of :func:`_patient_flows`)."""
    arrivals, in_start, left = flows[0], flows[1], flows[2]
    _put(data, "bed_arrivals", arrivals)
    _put(data, "bed_in_system_start", in_start)
    _put(data, "bed_departures", left)
    # A patient blocked in an earlier stage is in a bed (of their home pool's count)
    # and queued (for the pool they wait for): counted once, in the bed.
    st = log.stages
    blocked = later[(st.request[later] < ax.t_end) & np.isnan(st.start[later])]
    _put(
        data,
        "bed_in_system_end",
        log.end_in_bed
        + log.end_queued
        - np.bincount(st.pool[blocked], minlength=n_pools)
        + log.end_waitlist,
    )


def _little_law_outputs(system_mean: FloatArray, flows: FloatArray, ax: _Axes, data: Data) -> None:
    """Little's L (persons, from ``system_mean``: in the system by (pool, day)), lambda
    (per day) and W (days), by home pool (``flows``: of :func:`_patient_flows`)."""
    arrivals, n_done, w_sum = flows[0], flows[3], flows[4]
    with np.errstate(invalid="ignore", divide="ignore"):
        w_mean = w_sum / n_done
    _put(data, "bed_time_avg_in_system", system_mean.mean(axis=1))
    _put(data, "bed_throughput", arrivals / ax.t_end)
    _put(data, "bed_mean_time_in_system", w_mean)


# ------------------------------------------------------------------ ED
@dataclass(frozen=True, eq=False)
class _EdTallies:
    """What one pass over the ED patients counts (:func:`_ed_tallies`)."""

    board: Census
    """Admitted patients boarding (end of treatment to leaving the space), by day."""
    waiting: Census
    """Patients waiting for a treatment space, by day."""
    ends: FloatArray
    """Ends of treatment per (disposition, day)."""
    arrivals: FloatArray
    """Arrivals per (acuity index, day)."""
    flows: FloatArray
    """The flows of :func:`_patient_flows`, of the ED (arrival to leaving)."""
    space_wait: Grouped
    """Waits for a treatment space (hours) by acuity index and year of the start."""
    boarding_time: Grouped
    """Boarding times (hours, one group) by year of the end of boarding."""


@numba.njit(**COUNTING)
def _ed_pass(
    ed: tuple[Any, Any, Any, Any, Any, Any],
    n_ends: int,
    tally: Any,
    counts: Any,
    flows: Any,
    waits: tuple[Any, Any],
) -> tuple[int, int]:
    """One pass over the ED patients (``ed``: arrival, space start, treated, space end
    (days), disposition, triage level): the census tally
    (:func:`sim.des.monitor.census_add`) of the boarders (group 0) and of the queue
    (group 1); the ends of treatment per day by disposition (rows 0..n_ends-1 of
    ``counts``) and the arrivals per day by acuity index (rows after); the flows of
    :func:`_patient_flows`; the waits for a space by acuity and the boarding times
    (hours) in the two tallies ``waits`` (:func:`sim.des.monitor.tally_add`). Returns
    the number of non-zero values of each tally (the flows are written in ``flows``)."""
    arrival, space_start, treated, space_end, disposition, level = ed
    wait, boarding = waits
    t_end = float(counts.shape[1])
    n_wait = n_board = 0
    for i in range(arrival.size):
        r, s, t, d = arrival[i], space_start[i], treated[i], space_end[i]
        boarder = 0 if disposition[i] >= FIRST_POOL_DISPOSITION else -1
        acuity = int(level[i]) - ACUITIES[0]
        census_add(tally, boarder, t, d)
        census_add(tally, 1, r, s)
        n_wait = tally_add(wait, n_wait, (s - r) * HOURS_PER_DAY, acuity, s)
        n_board = tally_add(boarding, n_board, (d - t) * HOURS_PER_DAY, boarder, d)
        day = _day_of(t, t_end)
        if day >= 0 and disposition[i] >= 0:
            counts[disposition[i], day] += 1.0
        day = _day_of(r, t_end)
        if day >= 0 and acuity >= 0:
            counts[n_ends + acuity, day] += 1.0
        came = r >= 0.0 and r < t_end
        flows[0] += came
        flows[1] += r < 0.0 and not d < 0.0
        flows[2] += d >= 0.0 and d < t_end
        if came and d < t_end:
            flows[3] += 1.0
            flows[4] += d - r
    return n_wait, n_board


def _ed_tallies(
    ed: EDLog, disposition: NDArray[np.int16], level: NDArray[np.int8], n_ends: int, ax: _Axes
) -> _EdTallies:
    """The counts of :func:`_ed_pass` over the days of ``ax``, ``n_ends`` dispositions."""
    n = ed.arrival.size
    tally = np.zeros((4, 2, ax.n + 2))
    counts = np.zeros((n_ends + len(ACUITIES), ax.n))
    wait = new_tally(len(ACUITIES), ax.year_of_day, ax.ny, n)
    boarding = new_tally(1, ax.year_of_day, ax.ny, n)
    columns = (ed.arrival, ed.space_start, ed.treated, ed.space_end)
    flows = np.zeros(5)
    n_wait, n_board = _ed_pass(
        (
            *(readonly(c) for c in columns),
            readonly(disposition, np.int16),
            readonly(level, np.int8),
        ),
        n_ends,
        tally,
        counts,
        flows,
        (wait, boarding),
    )
    mean, midnight, at_start = census_days(tally)
    return _EdTallies(
        board=Census(mean[:1], midnight[:1], at_start[:1]),
        waiting=Census(mean[1], midnight[1], int(at_start[1])),
        ends=counts[:n_ends],
        arrivals=counts[n_ends:],
        flows=flows,
        space_wait=tallied_stats(wait, n_wait, WAIT_QUANTILE),
        boarding_time=tallied_stats(boarding, n_board, WAIT_QUANTILE),
    )


def _ed_outputs(
    log: HospitalLog,
    disposition: NDArray[np.int16],
    acuity_level: NDArray[np.int8],
    w: int,
    ax: _Axes,
    data: Data,
) -> None:
    ed = log.ed
    assert ed is not None
    n_ends = FIRST_POOL_DISPOSITION + log.capacity.shape[0]
    tallies = _ed_tallies(ed, disposition, acuity_level, n_ends, ax)
    occupied = _ed_levels(log, tallies, w, ax, data)
    _ed_counts(tallies, ax, data)
    _ed_waits(tallies, data)
    _ed_little(log, tallies, occupied, ax, data)


def _ed_levels(log: HospitalLog, tallies: _EdTallies, w: int, ax: _Axes, data: Data) -> FloatArray:
    """ED spaces, their occupancy, boarders and the queue; returns the daily means of
    the occupied spaces."""
    ed = log.ed
    assert ed is not None
    occ = level_stats(ed.space_start, ed.space_end, ax.n)
    board, waiting = tallies.board, tallies.waiting
    _put(data, "ed_spaces", log.ed_spaces[w:])
    _put(data, "ed_occupancy_daily_mean", occ.daily_mean)
    _put(data, "ed_occupancy_daily_peak", occ.daily_peak)
    _put(data, "ed_boarders_midnight", board.midnight[0])
    _put(data, "ed_waiting_midnight", waiting.midnight)
    _put(data, "ed_boarding_total", ax.per_year(board.daily_mean[0]) * HOURS_PER_DAY)
    return occ.daily_mean


def _ed_counts(tallies: _EdTallies, ax: _Axes, data: Data) -> None:
    """ED arrivals by triage level, and ends of treatment by disposition, per day."""
    ends = tallies.ends
    _put(data, "ed_arrivals", tallies.arrivals)
    _put(data, "ed_home", ends[DISPOSITION_HOME])
    _put(data, "ed_transferred", ends[DISPOSITION_TRANSFER])
    _put(data, "ed_admitted", ends[FIRST_POOL_DISPOSITION:])


def _ed_waits(tallies: _EdTallies, data: Data) -> None:
    """Waits for a treatment space by triage level, and boarding, by year (hours)."""
    wait, board = tallies.space_wait, tallies.boarding_time
    _put(data, "ed_boarding_mean", board.mean[0])
    _put(data, "ed_boarding_p90", board.quantile[0])
    _put(data, "ed_wait_mean", wait.mean)
    _put(data, "ed_wait_p90", wait.quantile)


def _ed_little(
    log: HospitalLog, tallies: _EdTallies, occupied: FloatArray, ax: _Axes, data: Data
) -> None:
    """Conservation and Little's law of the ED."""
    t_end = ax.t_end
    counts = tallies.flows
    n_in, n_start, n_left, n_done = (int(c) for c in counts[:4])
    time_done = float(counts[4])
    n_end = n_start + n_in - n_left  # arrived before the end and not left before it
    _put(data, "ed_arrivals_total", n_in)
    _put(data, "ed_in_system_start", n_start)
    _put(data, "ed_departures", n_left)
    _put(data, "ed_in_system_end", log.end_in_ed if log.end_in_ed >= 0 else n_end)
    _put(data, "ed_time_avg_in_system", (occupied.sum() + tallies.waiting.daily_mean.sum()) / t_end)
    _put(data, "ed_throughput", n_in / t_end)
    _put(data, "ed_mean_time_in_system", time_done / n_done if n_done else np.nan)


# ------------------------------------------------------------------ clinics, ambulances
def _clinic_outputs(cs: tuple[ClinicOutcome, ...], ax: _Axes, data: Data) -> None:
    """The community clinics' outputs, by clinic group and day, then by year."""
    served = _stack(cs, "served")
    capacity = _stack(cs, "capacity")
    waits = np.arange(cs[0].served_by_wait.shape[1], dtype=float)
    wait_sum = np.array([c.served_by_wait @ waits for c in cs])  # request-days waited
    _clinic_daily_outputs(cs, served, capacity, wait_sum, data)
    _clinic_year_outputs(cs, served, capacity, wait_sum, ax, data)


def _stack(cs: tuple[ClinicOutcome, ...], attr: str) -> FloatArray:
    """The clinic groups' arrays ``attr`` (by day) as one float (group, day) array."""
    return np.array([getattr(c, attr) for c in cs], dtype=float)


def _clinic_daily_outputs(
    cs: tuple[ClinicOutcome, ...],
    served: FloatArray,
    capacity: FloatArray,
    wait_sum: FloatArray,
    data: Data,
) -> None:
    """By clinic group and day: requests (per day, or persons waiting), utilisation (a
    fraction) and mean wait (days); ``wait_sum``: request-days of those served."""
    with np.errstate(invalid="ignore", divide="ignore"):
        util = served / capacity
        wait_mean = wait_sum / served
    daily = {
        "clinic_demand": _stack(cs, "demand"),
        "clinic_capacity": capacity,
        "clinic_served": served,
        "clinic_waiting": _stack(cs, "waiting_end"),
        "clinic_diverted_ed": _stack(cs, "diverted_ed"),
        "clinic_diverted_outpatient": _stack(cs, "diverted_outpatient"),
        "clinic_abandoned": _stack(cs, "abandoned"),
        "clinic_utilisation": util,
        "clinic_wait_mean": wait_mean,
    }
    for name, values in daily.items():
        _put(data, name, values)


def _clinic_year_outputs(
    cs: tuple[ClinicOutcome, ...],
    served: FloatArray,
    capacity: FloatArray,
    wait_sum: FloatArray,
    ax: _Axes,
    data: Data,
) -> None:
    """By clinic group and year: unmet requests (persons), waits (days) and utilisation
    (a fraction); and the requests waiting at the start (persons)."""
    unmet = _stack(cs, "abandoned") + _stack(cs, "diverted_ed") + _stack(cs, "diverted_outpatient")
    with np.errstate(invalid="ignore", divide="ignore"):
        util_y = ax.per_year(served) / ax.per_year(capacity)
        wait_y = ax.per_year(wait_sum) / ax.per_year(served)
    p90 = np.array(
        [
            [
                weighted_quantile_from_hist(h.astype(float), 0.9)
                for h in np.add.reduceat(c.served_by_wait, ax.year_first_day, axis=0)
            ]
            for c in cs
        ]
    )
    _put(data, "clinic_unmet_year", ax.per_year(unmet))
    _put(data, "clinic_wait_mean_year", wait_y)
    _put(data, "clinic_wait_p90_year", p90)
    _put(data, "clinic_utilisation_year", util_y)
    _put(data, "clinic_waiting_start", [c.waiting_start for c in cs])


def _ambulance_outputs(
    service: AmbulanceService, amb: AmbulanceOutcome, fleet: FloatArray, ax: _Axes, data: Data
) -> None:
    n = ax.n
    target = service.response_target_minutes / 1440.0
    t = amb.time
    run_ = (t >= 0) & (t < n)
    day = t[run_].astype(np.int64)
    delay_min = amb.delay[run_] * 1440.0
    met = (amb.response[run_] <= target).astype(float)
    count = np.bincount(day, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        delay_mean = np.bincount(day, weights=delay_min, minlength=n) / count
        met_share = np.bincount(day, weights=met, minlength=n) / count
        busy = np.bincount(day, weights=amb.busy[run_], minlength=n).astype(float)
        util_y = ax.per_year(busy) / ax.per_year(fleet)
    delay = _stats(delay_min, t[run_], np.zeros(day.size, np.int32), 1, ax)
    met_y = _stats(met, t[run_], np.zeros(day.size, np.int32), 1, ax).mean[0]
    _put(data, "ambulance_fleet", fleet)
    _put(data, "ambulance_dispatches", count)
    _put(data, "ambulance_delay_mean", delay_mean)
    _put(data, "ambulance_within_target", met_share)
    _put(data, "ambulance_delay_mean_year", delay.mean[0])
    _put(data, "ambulance_delay_p90_year", delay.quantile[0])
    _put(data, "ambulance_within_target_year", met_y)
    _put(data, "ambulance_utilisation_year", util_y)
