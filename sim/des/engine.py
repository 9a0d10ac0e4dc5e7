"""Run one discrete-event replicate and return its results as an xarray Dataset.

:func:`run` takes a frozen :class:`~sim.des.config.DesConfig` and the
pre-drawn :class:`~sim.des.arrivals.RandomInputs`; :func:`run_replicate` draws
the inputs first. The engine knows no files, scenarios or sweeps: the runner
combines replicates (``xarray.concat(..., dim="replicate")``).

Every variable carries ``units`` and ``long_name``. Dimensions: ``pool``,
``day`` (dates, warm-up excluded), ``year``, ``acuity`` and ``clinic``.
Percentiles are time-weighted for occupancy (share of time) and per patient
for waits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sim.des.ambulance import AmbulanceOutcome, simulate_ambulance
from sim.des.arrivals import (
    DISPOSITION_HOME,
    DISPOSITION_TRANSFER,
    FIRST_POOL_DISPOSITION,
    EDDraws,
    RandomInputs,
    draw_inputs,
)
from sim.des.config import ACUITY_LEVELS, ELECTIVE_ROUTE, AmbulanceService, DesConfig
from sim.des.monitor import level_stats, weighted_quantile_from_hist
from sim.des.pathways import EDLog, HospitalLog, simulate_hospital
from sim.names import (
    ACUITY,
    DAY,
    POOL,
    UNIT_BEDS,
    UNIT_DAYS,
    UNIT_FRACTION,
    UNIT_HOURS,
    UNIT_PERSONS,
    YEAR,
)

__all__ = ["CLINIC", "run", "run_replicate"]

CLINIC = "clinic"
UNIT_MINUTES = "minutes"
UNIT_PER_DAY = "persons day-1"
HOURS_PER_DAY = 24.0
OCCUPANCY_THRESHOLDS = (0.85, 0.95, 1.0)
FloatArray = NDArray[np.float64]


def run_replicate(config: DesConfig, root_seed: int, replicate: int) -> xr.Dataset:
    """Draw the inputs of ``(root_seed, replicate)`` and run them."""
    return run(config, draw_inputs(config, root_seed, replicate))


def _var(dims: tuple[str, ...], data: Any, units: str, long_name: str) -> xr.Variable:
    return xr.Variable(dims, np.asarray(data), attrs={"units": units, "long_name": long_name})


def _per_year(
    values: FloatArray, year_of_day: NDArray[np.int64], n_years: int, how: str
) -> FloatArray:
    """Reduce a per-day series (last axis) over the days of each year."""
    out = np.empty((*values.shape[:-1], n_years))
    for y in range(n_years):
        sel = values[..., year_of_day == y]
        out[..., y] = sel.sum(axis=-1) if how == "sum" else sel.mean(axis=-1)
    return out


def _count_by_day(times: FloatArray, n_days: int) -> FloatArray:
    t = times[~np.isnan(times)]
    t = t[(t >= 0) & (t < n_days)]
    return np.bincount(t.astype(np.int64), minlength=n_days).astype(float)


def _by_year_stats(
    values: FloatArray,
    when: FloatArray,
    n_days: int,
    year_of_day: NDArray[np.int64],
    n_years: int,
    q: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean, q-quantile and sum of ``values`` grouped by the year of ``when`` (days)."""
    mean = np.full(n_years, np.nan)
    quant = np.full(n_years, np.nan)
    total = np.zeros(n_years)
    ok = ~np.isnan(when) & (when >= 0) & (when < n_days) & ~np.isnan(values)
    years = year_of_day[when[ok].astype(np.int64)]
    vals = values[ok]
    for y in range(n_years):
        v = vals[years == y]
        if v.size:
            mean[y] = v.mean()
            quant[y] = np.quantile(v, q)
            total[y] = v.sum()
    return mean, quant, total


def run(config: DesConfig, inputs: RandomInputs) -> xr.Dataset:
    """Simulate one replicate from pre-drawn inputs; see the module doc for the outputs."""
    n = config.n_days
    w = config.warmup_days
    t_end = float(n)
    dates = np.array([np.datetime64(config.start + dt.timedelta(days=k), "D") for k in range(n)])
    years_of_day = dates.astype("datetime64[Y]").astype(int) + 1970
    years = np.unique(years_of_day)
    year_idx = np.searchsorted(years, years_of_day).astype(np.int64)
    ny = years.size
    pools = config.pool_names
    n_pools = len(pools)

    log = simulate_hospital(config, inputs)
    data: dict[str, xr.Variable] = {}
    _bed_outputs(config, log, data, n, t_end, year_idx, ny)
    if log.ed is not None and inputs.ed is not None:
        _ed_outputs(config, log.ed, inputs.ed, log, data, n, t_end, year_idx, ny)
    if config.clinics:
        _clinic_outputs(inputs, data, year_idx, ny)
    if config.ambulance is not None and inputs.ambulance is not None:
        fleet = config.ambulance.fleet.by_day(config.start, n)
        fleet_all = np.concatenate([np.full(w, fleet[0]), fleet]) if w else fleet
        amb = simulate_ambulance(inputs.ambulance, fleet_all, -float(w))
        _ambulance_outputs(config.ambulance, amb, fleet, data, n, year_idx, ny)

    coords: dict[str, Any] = {
        POOL: list(pools),
        DAY: dates,
        YEAR: years,
        ACUITY: list(ACUITY_LEVELS),
    }
    if config.clinics:
        coords[CLINIC] = [c.name for c in config.clinics]
    ds = xr.Dataset(data, coords=coords)
    # the other coordinates are described when saved (sim.names.COORDINATE_ATTRS);
    # this day is a date here, a day of the year in the expected level
    ds[DAY].attrs.update(long_name="simulated day (00:00 to 24:00)")
    ds.attrs.update(
        root_seed=inputs.root_seed,
        replicate=inputs.replicate,
        start=config.start.isoformat(),
        n_days=n,
        warmup_days=w,
        warmup=config.warmup,
        discharge_rule=config.discharge.kind,
        whole_hospital_pooling=int(config.pooling is not None),
        n_pools=n_pools,
    )
    return ds


def _bed_outputs(
    config: DesConfig,
    log: HospitalLog,
    data: dict[str, xr.Variable],
    n: int,
    t_end: float,
    year_idx: NDArray[np.int64],
    ny: int,
) -> None:
    b = log.beds
    w = config.warmup_days
    cap = log.capacity[:, w:]
    n_pools = cap.shape[0]
    d2 = (POOL, DAY)
    d_y = (POOL, YEAR)
    shape = (n_pools, n)
    out: dict[str, FloatArray] = {
        k: np.zeros(shape)
        for k in (
            "mean",
            "peak",
            "midnight",
            "queue",
            "waitlist",
            "admissions",
            "outliers",
            "discharges",
            "lost",
            "deferrals",
            "deferred_patients",
            "ge85",
            "ge95",
            "full",
        )
    }
    year_stats = {
        k: np.full((n_pools, ny), np.nan)
        for k in (
            "p95",
            "emerg_wait_mean",
            "emerg_wait_p90",
            "emerg_wait_share",
            "elective_wait_mean",
        )
    }
    little = {k: np.zeros(n_pools) for k in ("arrivals", "in_start", "departures", "L", "W")}
    elective = b.route == ELECTIVE_ROUTE
    departure = np.where(b.lost, b.request, b.bed_end)
    sessions = log.booking_sessions
    run_sessions = sessions[(sessions >= 0) & (sessions < t_end)]
    for k in range(n_pools):
        in_k = b.bed_pool == k
        occ = level_stats(
            b.bed_start[in_k],
            b.bed_end[in_k],
            n,
            capacity=cap[k],
            fractions=OCCUPANCY_THRESHOLDS,
            year_of_day=year_idx,
            n_years=ny,
        )
        out["mean"][k], out["peak"][k], out["midnight"][k] = (
            occ.daily_mean,
            occ.daily_peak,
            occ.midnight,
        )
        out["ge85"][k], out["ge95"][k], out["full"][k] = (
            occ.time_ge[f] for f in OCCUPANCY_THRESHOLDS
        )
        for y in range(ny):
            year_stats["p95"][k, y] = weighted_quantile_from_hist(occ.year_hist[y], 0.95)
        home = b.home_pool == k
        waiting = home & ~elective & ~b.lost
        out["queue"][k] = level_stats(b.request[waiting], b.bed_start[waiting], n).midnight
        el = home & elective
        out["waitlist"][k] = level_stats(b.request[el], b.bed_start[el], n).midnight
        out["admissions"][k] = _count_by_day(b.bed_start[home], n)
        out["outliers"][k] = _count_by_day(
            b.bed_start[home & (b.bed_pool != k) & (b.bed_pool >= 0)], n
        )
        out["discharges"][k] = _count_by_day(b.bed_end[in_k], n)
        out["lost"][k] = _count_by_day(b.request[home & b.lost], n)
        # Deferrals: electives not admitted at their booked time, plus each booking
        # session at which a waiting-list patient is still not admitted.
        start_el = np.where(np.isnan(b.bed_start[el]), np.inf, b.bed_start[el])
        deferred = start_el > b.request[el]
        out["deferrals"][k] = _count_by_day(b.request[el][deferred], n)
        out["deferred_patients"][k] = out["deferrals"][k]
        if run_sessions.size:
            req_sorted = np.sort(b.request[el][deferred])
            start_sorted = np.sort(start_el[deferred])
            not_admitted = np.searchsorted(req_sorted, run_sessions, side="left") - np.searchsorted(
                start_sorted, run_sessions, side="right"
            )
            out["deferrals"][k] += np.bincount(
                run_sessions.astype(np.int64), weights=not_admitted, minlength=n
            )
        wait_h = (b.bed_start - b.request) * HOURS_PER_DAY
        em = home & ~elective
        m, q, _ = _by_year_stats(wait_h[em], b.bed_start[em], n, year_idx, ny, 0.9)
        year_stats["emerg_wait_mean"][k], year_stats["emerg_wait_p90"][k] = m, q
        year_stats["emerg_wait_share"][k], _, _ = _by_year_stats(
            (wait_h[em] > 0).astype(float), b.bed_start[em], n, year_idx, ny, 0.5
        )
        m, _, _ = _by_year_stats(
            b.bed_start[el] - b.request[el], b.bed_start[el], n, year_idx, ny, 0.5
        )
        year_stats["elective_wait_mean"][k] = m
        # Conservation and Little's law, by home pool.
        req = b.request[home]
        dep = departure[home]
        little["arrivals"][k] = np.count_nonzero((req >= 0) & (req < t_end))
        little["in_start"][k] = np.count_nonzero((req < 0) & ~(dep < 0))
        little["departures"][k] = np.count_nonzero((dep >= 0) & (dep < t_end))
        system = level_stats(req, dep, n)
        little["L"][k] = system.daily_mean.mean()
        done = (req >= 0) & (dep < t_end)
        little["W"][k] = float(np.mean(dep[done] - req[done])) if done.any() else np.nan

    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(cap)
        cap_f = np.where(finite, cap, np.nan)
        rate = _per_year(np.where(finite, out["mean"], np.nan), year_idx, ny, "sum") / _per_year(
            cap_f, year_idx, ny, "sum"
        )
        p = {
            f: np.where(
                _per_year(finite.astype(float), year_idx, ny, "sum") > 0,
                _per_year(out[key], year_idx, ny, "mean"),
                np.nan,
            )
            for f, key in zip(OCCUPANCY_THRESHOLDS, ("ge85", "ge95", "full"), strict=True)
        }
    data["bed_capacity"] = _var(d2, cap, UNIT_BEDS, "beds available")
    data["midnight_census"] = _var(
        d2, out["midnight"], UNIT_BEDS, "occupied beds at the midnight ending the day"
    )
    data["occupancy_daily_mean"] = _var(
        d2, out["mean"], UNIT_BEDS, "occupied beds, time-averaged over the day"
    )
    data["occupancy_daily_peak"] = _var(
        d2, out["peak"], UNIT_BEDS, "largest number of occupied beds in the day"
    )
    data["bed_queue_midnight"] = _var(
        d2,
        out["queue"],
        UNIT_PERSONS,
        "emergency-class patients (incl. ED boarders) waiting for a bed at midnight",
    )
    data["elective_waiting_list"] = _var(
        d2, out["waitlist"], UNIT_PERSONS, "deferred electives on the waiting list at midnight"
    )
    data["admissions"] = _var(
        d2, out["admissions"], UNIT_PER_DAY, "patients of the pool taking a bed (any pool)"
    )
    data["admissions_outlying"] = _var(
        d2, out["outliers"], UNIT_PER_DAY, "patients of the pool placed in another pool's bed"
    )
    data["discharges"] = _var(
        d2, out["discharges"], UNIT_PER_DAY, "discharges from the pool's beds"
    )
    data["turned_away"] = _var(
        d2, out["lost"], UNIT_PER_DAY, "admissions turned away because the pool was full"
    )
    data["elective_deferrals"] = _var(
        d2,
        out["deferrals"],
        UNIT_PER_DAY,
        "elective admissions deferred (at booking or at a booking session)",
    )
    data["occupancy_mean"] = _var(
        d_y,
        _per_year(out["mean"], year_idx, ny, "mean"),
        UNIT_BEDS,
        "occupied beds, time-averaged over the year",
    )
    data["occupancy_p95"] = _var(
        d_y, year_stats["p95"], UNIT_BEDS, "95th percentile of occupied beds over the year's time"
    )
    data["occupancy_rate_mean"] = _var(
        d_y, rate, UNIT_FRACTION, "time-averaged occupied beds / beds available (NaN if unlimited)"
    )
    data["p_occupancy_ge_85"] = _var(
        d_y, p[0.85], UNIT_FRACTION, "share of time with occupancy >= 85% of beds"
    )
    data["p_occupancy_ge_95"] = _var(
        d_y, p[0.95], UNIT_FRACTION, "share of time with occupancy >= 95% of beds"
    )
    data["p_full"] = _var(d_y, p[1.0], UNIT_FRACTION, "share of time with every bed occupied")
    data["days_full"] = _var(
        d_y,
        _per_year((out["peak"] >= cap).astype(float), year_idx, ny, "sum"),
        UNIT_DAYS,
        "days on which every bed was occupied at some moment",
    )
    data["elective_deferrals_year"] = _var(
        d_y,
        _per_year(out["deferrals"], year_idx, ny, "sum"),
        UNIT_PERSONS,
        "elective deferral events in the year: at the booked time, and again at each "
        "booking session a patient on the waiting list is still not admitted",
    )
    data["elective_patients_deferred_year"] = _var(
        d_y,
        _per_year(out["deferred_patients"], year_idx, ny, "sum"),
        UNIT_PERSONS,
        "elective patients not admitted at their booked time (by booked date)",
    )
    data["elective_wait_mean"] = _var(
        d_y,
        year_stats["elective_wait_mean"],
        UNIT_DAYS,
        "mean days from booked date to admission, electives admitted in the year",
    )
    data["emergency_bed_wait_mean"] = _var(
        d_y,
        year_stats["emerg_wait_mean"],
        UNIT_HOURS,
        "mean wait for a bed of emergency-class patients admitted in the year",
    )
    data["p_bed_wait"] = _var(
        d_y,
        year_stats["emerg_wait_share"],
        UNIT_FRACTION,
        "share of emergency-class patients admitted in the year who waited for a bed",
    )
    data["emergency_bed_wait_p90"] = _var(
        d_y,
        year_stats["emerg_wait_p90"],
        UNIT_HOURS,
        "90th percentile wait for a bed, emergency-class patients",
    )
    data["bed_arrivals"] = _var(
        (POOL,),
        little["arrivals"],
        UNIT_PERSONS,
        "bed requests (incl. deferred electives) during the run, by home pool",
    )
    data["bed_in_system_start"] = _var(
        (POOL,),
        little["in_start"],
        UNIT_PERSONS,
        "patients waiting for or in a bed at the start (after warm-up)",
    )
    data["bed_departures"] = _var(
        (POOL,),
        little["departures"],
        UNIT_PERSONS,
        "discharges and turned-away requests during the run, by home pool",
    )
    data["bed_in_system_end"] = _var(
        (POOL,),
        log.end_in_bed + log.end_queued + log.end_waitlist,
        UNIT_PERSONS,
        "patients in a bed, queued or on the waiting list at the end (engine counters)",
    )
    data["bed_time_avg_in_system"] = _var(
        (POOL,),
        little["L"],
        UNIT_PERSONS,
        "time-averaged patients waiting for or in a bed (Little's L)",
    )
    data["bed_throughput"] = _var(
        (POOL,), little["arrivals"] / t_end, UNIT_PER_DAY, "bed requests per day (Little's lambda)"
    )
    data["bed_mean_time_in_system"] = _var(
        (POOL,),
        little["W"],
        UNIT_DAYS,
        "mean time from request to departure, patients who arrived and left "
        "during the run (Little's W)",
    )


def _ed_outputs(
    config: DesConfig,
    ed: EDLog,
    draws: EDDraws,
    log: HospitalLog,
    data: dict[str, xr.Variable],
    n: int,
    t_end: float,
    year_idx: NDArray[np.int64],
    ny: int,
) -> None:
    w = config.warmup_days
    spaces = log.ed_spaces[w:]
    arr = ed.arrival
    admitted = draws.disposition >= FIRST_POOL_DISPOSITION
    occ = level_stats(ed.space_start, ed.space_end, n)
    board = level_stats(np.where(admitted, ed.treated, np.nan), ed.space_end, n)
    waiting = level_stats(arr, ed.space_start, n)
    arrivals = np.zeros((len(ACUITY_LEVELS), n))
    wait_mean = np.full((len(ACUITY_LEVELS), ny), np.nan)
    wait_p90 = np.full((len(ACUITY_LEVELS), ny), np.nan)
    wait_h = (ed.space_start - arr) * HOURS_PER_DAY
    for a_i, a in enumerate(ACUITY_LEVELS):
        sel = draws.acuity == a
        arrivals[a_i] = _count_by_day(arr[sel], n)
        wait_mean[a_i], wait_p90[a_i], _ = _by_year_stats(
            wait_h[sel], ed.space_start[sel], n, year_idx, ny, 0.9
        )
    boarding_h = (ed.space_end - ed.treated) * HOURS_PER_DAY
    b_mean, b_p90, _ = _by_year_stats(
        np.where(admitted, boarding_h, np.nan), ed.space_end, n, year_idx, ny, 0.9
    )
    pools = config.pool_names
    by_pool = np.array(
        [
            _count_by_day(
                np.where(draws.disposition == FIRST_POOL_DISPOSITION + k, ed.treated, np.nan), n
            )
            for k in range(len(pools))
        ]
    )
    in_run = (arr >= 0) & (arr < t_end)
    done = in_run & (ed.space_end < t_end)
    in_end_arrays = np.count_nonzero((arr < t_end) & ~(ed.space_end < t_end))
    d1 = (DAY,)
    data["ed_spaces"] = _var(d1, spaces, "spaces", "ED treatment spaces available")
    data["ed_arrivals"] = _var((ACUITY, DAY), arrivals, UNIT_PER_DAY, "ED arrivals by triage level")
    data["ed_occupancy_daily_mean"] = _var(
        d1,
        occ.daily_mean,
        "spaces",
        "occupied ED spaces (treatment + boarding), time-averaged over the day",
    )
    data["ed_occupancy_daily_peak"] = _var(
        d1, occ.daily_peak, "spaces", "largest number of occupied ED spaces"
    )
    data["ed_boarders_midnight"] = _var(
        d1, board.midnight, UNIT_PERSONS, "admitted patients boarding in the ED at midnight"
    )
    data["ed_waiting_midnight"] = _var(
        d1, waiting.midnight, UNIT_PERSONS, "patients waiting for an ED treatment space at midnight"
    )
    data["ed_home"] = _var(
        d1,
        _count_by_day(np.where(draws.disposition == DISPOSITION_HOME, ed.treated, np.nan), n),
        UNIT_PER_DAY,
        "ED patients sent home (by end of treatment)",
    )
    data["ed_transferred"] = _var(
        d1,
        _count_by_day(np.where(draws.disposition == DISPOSITION_TRANSFER, ed.treated, np.nan), n),
        UNIT_PER_DAY,
        "ED patients transferred out (by end of treatment)",
    )
    data["ed_admitted"] = _var((POOL, DAY), by_pool, UNIT_PER_DAY, "ED decisions to admit, by pool")
    data["ed_boarding_mean"] = _var(
        (YEAR,),
        b_mean,
        UNIT_HOURS,
        "mean boarding time (decision to admit -> bed), boarding ended in the year",
    )
    data["ed_boarding_p90"] = _var((YEAR,), b_p90, UNIT_HOURS, "90th percentile boarding time")
    data["ed_boarding_total"] = _var(
        (YEAR,),
        _per_year(board.daily_mean, year_idx, ny, "sum") * HOURS_PER_DAY,
        UNIT_HOURS,
        "patient-hours spent boarding in the ED in the year",
    )
    data["ed_wait_mean"] = _var(
        (ACUITY, YEAR),
        wait_mean,
        UNIT_HOURS,
        "mean wait from arrival to a treatment space, by triage level",
    )
    data["ed_wait_p90"] = _var(
        (ACUITY, YEAR), wait_p90, UNIT_HOURS, "90th percentile wait for a treatment space"
    )
    data["ed_arrivals_total"] = _var(
        (), np.count_nonzero(in_run), UNIT_PERSONS, "ED arrivals during the run"
    )
    data["ed_in_system_start"] = _var(
        (),
        np.count_nonzero((arr < 0) & ~(ed.space_end < 0)),
        UNIT_PERSONS,
        "patients in the ED at the start (after warm-up)",
    )
    data["ed_departures"] = _var(
        (),
        np.count_nonzero((ed.space_end >= 0) & (ed.space_end < t_end)),
        UNIT_PERSONS,
        "patients leaving the ED during the run",
    )
    data["ed_in_system_end"] = _var(
        (),
        log.end_in_ed if log.end_in_ed >= 0 else in_end_arrays,
        UNIT_PERSONS,
        "patients in the ED at the end (engine counters when event-driven)",
    )
    data["ed_time_avg_in_system"] = _var(
        (),
        (occ.daily_mean.sum() + waiting.daily_mean.sum()) / t_end,
        UNIT_PERSONS,
        "time-averaged patients in the ED (Little's L)",
    )
    data["ed_throughput"] = _var(
        (), np.count_nonzero(in_run) / t_end, UNIT_PER_DAY, "ED arrivals per day"
    )
    data["ed_mean_time_in_system"] = _var(
        (),
        float(np.mean(ed.space_end[done] - arr[done])) if done.any() else np.nan,
        UNIT_DAYS,
        "mean time in the ED, patients who arrived and left during the run",
    )


def _clinic_outputs(
    inputs: RandomInputs, data: dict[str, xr.Variable], year_idx: NDArray[np.int64], ny: int
) -> None:
    cs = inputs.clinics
    d2 = (CLINIC, DAY)
    dy = (CLINIC, YEAR)

    def stack(attr: str) -> FloatArray:
        return np.array([getattr(c, attr) for c in cs], dtype=float)

    served = stack("served")
    capacity = stack("capacity")
    waits = np.arange(cs[0].served_by_wait.shape[1], dtype=float)
    wait_sum = np.array([c.served_by_wait @ waits for c in cs])
    unmet = stack("abandoned") + stack("diverted_ed") + stack("diverted_outpatient")
    with np.errstate(invalid="ignore", divide="ignore"):
        util = served / capacity
        wait_mean = wait_sum / served
        util_y = _per_year(served, year_idx, ny, "sum") / _per_year(capacity, year_idx, ny, "sum")
        wait_y = _per_year(wait_sum, year_idx, ny, "sum") / _per_year(served, year_idx, ny, "sum")
    p90 = np.full((len(cs), ny), np.nan)
    for c_i, c in enumerate(cs):
        for y in range(ny):
            p90[c_i, y] = weighted_quantile_from_hist(
                c.served_by_wait[year_idx == y].sum(axis=0).astype(float), 0.9
            )
    data["clinic_demand"] = _var(d2, stack("demand"), UNIT_PER_DAY, "new community-clinic requests")
    data["clinic_capacity"] = _var(
        d2, capacity, UNIT_PER_DAY, "community-clinic appointments available"
    )
    data["clinic_served"] = _var(d2, served, UNIT_PER_DAY, "requests served")
    data["clinic_waiting"] = _var(
        d2, stack("waiting_end"), UNIT_PERSONS, "requests carried over at the end of the day"
    )
    data["clinic_diverted_ed"] = _var(
        d2, stack("diverted_ed"), UNIT_PER_DAY, "unmet requests diverted to the ED"
    )
    data["clinic_diverted_outpatient"] = _var(
        d2,
        stack("diverted_outpatient"),
        UNIT_PER_DAY,
        "unmet requests diverted to hospital outpatients",
    )
    data["clinic_abandoned"] = _var(
        d2, stack("abandoned"), UNIT_PER_DAY, "unmet requests abandoned"
    )
    data["clinic_utilisation"] = _var(d2, util, UNIT_FRACTION, "appointments used / available")
    data["clinic_wait_mean"] = _var(
        d2, wait_mean, UNIT_DAYS, "mean wait of the requests served that day"
    )
    data["clinic_unmet_year"] = _var(
        dy,
        _per_year(unmet, year_idx, ny, "sum"),
        UNIT_PERSONS,
        "requests diverted or abandoned in the year",
    )
    data["clinic_wait_mean_year"] = _var(
        dy, wait_y, UNIT_DAYS, "mean wait of requests served in the year"
    )
    data["clinic_wait_p90_year"] = _var(
        dy, p90, UNIT_DAYS, "90th percentile wait of requests served in the year"
    )
    data["clinic_utilisation_year"] = _var(
        dy, util_y, UNIT_FRACTION, "appointments used / available in the year"
    )
    data["clinic_waiting_start"] = _var(
        (CLINIC,),
        [c.waiting_start for c in cs],
        UNIT_PERSONS,
        "requests waiting at the start (after warm-up)",
    )


def _ambulance_outputs(
    service: AmbulanceService,
    amb: AmbulanceOutcome,
    fleet: FloatArray,
    data: dict[str, xr.Variable],
    n: int,
    year_idx: NDArray[np.int64],
    ny: int,
) -> None:
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
        util_y = _per_year(busy, year_idx, ny, "sum") / _per_year(fleet, year_idx, ny, "sum")
    years = year_idx[day]
    d_mean = np.full(ny, np.nan)
    d_p90 = np.full(ny, np.nan)
    met_y = np.full(ny, np.nan)
    for y in range(ny):
        sel = years == y
        if sel.any():
            d_mean[y] = delay_min[sel].mean()
            d_p90[y] = np.quantile(delay_min[sel], 0.9)
            met_y[y] = met[sel].mean()
    d1 = (DAY,)
    data["ambulance_fleet"] = _var(d1, fleet, "ambulances", "ambulances in service")
    data["ambulance_dispatches"] = _var(d1, count, UNIT_PER_DAY, "ambulance dispatches")
    data["ambulance_delay_mean"] = _var(
        d1, delay_mean, UNIT_MINUTES, "mean wait for a free ambulance"
    )
    data["ambulance_within_target"] = _var(
        d1, met_share, UNIT_FRACTION, "share of calls reached within the response target"
    )
    data["ambulance_delay_mean_year"] = _var(
        (YEAR,), d_mean, UNIT_MINUTES, "mean wait for a free ambulance"
    )
    data["ambulance_delay_p90_year"] = _var(
        (YEAR,), d_p90, UNIT_MINUTES, "90th percentile wait for a free ambulance"
    )
    data["ambulance_within_target_year"] = _var(
        (YEAR,), met_y, UNIT_FRACTION, "share of calls reached within the response target"
    )
    data["ambulance_utilisation_year"] = _var(
        (YEAR,),
        util_y,
        UNIT_FRACTION,
        "ambulance busy time / fleet time (busy time by day of the call)",
    )
