"""Benchmark of the discrete-event engine on a full-scale synthetic district.

Run: ``.venv/bin/python benchmarks/bench_des.py [--quick] [--no-resource] [--no-slices]``

The configuration is synthetic but district-sized (all volumes are stated
here, none is an estimate of Longgang's real figures):

* 2025-01-01 .. 2030-12-31 (2,191 days) plus a 365-day warm-up that repeats the first 52 weeks;
* 8 bed pools sized for 85% occupancy of the 2025 demand, growing by
  scheduled openings to about 23,000 beds in 2030 (the plan's target);
* about 2.5 M admissions over the six years (ED, direct, elective, maternity
  and long-stay elderly care), growing 2% a year;
* about 1 M ED visits a year in 4 triage levels, ambulance and walk-in,
  into 450 treatment spaces (520 from 2028);
* about 10 M community-clinic requests a year in 11 sub-district groups;
* about 100 k ambulance dispatches a year against 138 ambulances.

It prints the wall time of drawing and of running one replicate, admissions
and ED patients per second; then the bed pools alone with the counter engine
and with ``simpy.Resource`` on the very same pre-drawn requests (the waits
must agree); then one continuous run against six one-year slices with a
warm-up each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import time
from dataclasses import replace

import numpy as np
import simpy

from sim.data.profiles import daily_expected, load_holidays, load_profiles, working_days
from sim.des.arrivals import BedDraws, RandomInputs, draw_inputs
from sim.des.config import (
    AdmissionStream,
    AmbulanceService,
    ArrivalRate,
    BedPool,
    CapacitySchedule,
    ClinicGroup,
    DesConfig,
    DischargeRule,
    Disposition,
    Duration,
    EDArrivalStream,
    ElectiveBooking,
    EmergencyDepartment,
)
from sim.des.engine import run
from sim.des.pathways import simulate_hospital
from sim.los import LosDistribution

START = dt.date(2025, 1, 1)
END = dt.date(2030, 12, 31)
GROWTH = 0.02  # per year, applied to every volume

# pool: (ED admissions share, direct /yr, elective /yr, maternity /yr, LOS mean days, LOS cv)
POOLS = {
    "medicine": (0.48, 55_000, 12_000, 0, 10.0, 1.1),
    "surgery": (0.18, 12_000, 42_000, 0, 8.0, 1.0),
    "orthopaedics": (0.10, 6_000, 18_000, 0, 10.0, 0.9),
    "obstetrics": (0.02, 2_000, 4_000, 46_000, 4.5, 0.6),
    "paediatrics": (0.10, 26_000, 3_000, 0, 5.5, 0.9),
    "critical_care": (0.06, 1_500, 2_000, 0, 6.0, 1.2),
    "oncology": (0.06, 18_000, 14_000, 0, 11.0, 1.0),
    "elderly_care": (0.00, 32_000, 0, 0, 60.0, 1.0),
}
# Openings (date, pool, extra beds): Second TCM hospital (500 medical + 500 elderly care),
# Sixth Hospital phase 2 (240 elderly care) and further growth toward 23,000 beds.
OPENINGS = [
    (dt.date(2026, 7, 1), "elderly_care", 240),
    (dt.date(2027, 1, 1), "medicine", 500),
    (dt.date(2027, 1, 1), "elderly_care", 500),
    (dt.date(2028, 1, 1), "surgery", 400),
    (dt.date(2028, 1, 1), "orthopaedics", 200),
    (dt.date(2029, 1, 1), "oncology", 300),
    (dt.date(2029, 7, 1), "medicine", 500),
    (dt.date(2030, 1, 1), "elderly_care", 1_000),
    (dt.date(2030, 1, 1), "paediatrics", 200),
    (dt.date(2030, 1, 1), "critical_care", 150),
]
ED_VISITS = 1_000_000  # per year in 2025
ACUITY_SHARE = {1: 0.01, 2: 0.06, 3: 0.35, 4: 0.58}
AMBULANCE_SHARE = {1: 0.6, 2: 0.35, 3: 0.08, 4: 0.02}  # share arriving by ambulance
ADMIT = {1: 0.60, 2: 0.45, 3: 0.15, 4: 0.03}
TRANSFER = {1: 0.05, 2: 0.03, 3: 0.01, 4: 0.0}
TREAT_HOURS = {1: 4.0, 2: 3.5, 3: 2.5, 4: 1.2}
CLINIC_REQUESTS = 10_000_000  # per year in 2025
AMBULANCE_DISPATCHES = 100_000  # per year in 2025


def build_config(warmup_days: int = 365) -> DesConfig:
    profiles = load_profiles()
    cal = load_holidays()
    n = (END - START).days + 1
    years = range(START.year, END.year + 1)

    def annual(v: float) -> dict[int, float]:
        return {y: v * (1 + GROWTH) ** (y - START.year) for y in years}

    def rate(v: float, prof: str) -> ArrivalRate:
        return ArrivalRate(
            tuple(daily_expected(annual(v), profiles[prof], cal, START, n)), profiles[prof].hourly
        )

    ed_admissions = ED_VISITS * sum(ACUITY_SHARE[a] * ADMIT[a] for a in ACUITY_SHARE)
    streams = []
    pools = []
    for name, (ed_share, direct, elective, maternity, mean, cv) in POOLS.items():
        los = Duration(LosDistribution("lognormal", mean, cv))
        if direct:
            streams.append(
                AdmissionStream(
                    f"{name}_direct", name, "direct", rate(direct, "admission_direct"), los
                )
            )
        if elective:
            streams.append(
                AdmissionStream(
                    f"{name}_elective", name, "elective", rate(elective, "admission_elective"), los
                )
            )
        if maternity:
            streams.append(
                AdmissionStream(
                    f"{name}_maternity",
                    name,
                    "maternity",
                    rate(maternity, "admission_maternity"),
                    los,
                )
            )
        per_day = (ed_share * ed_admissions + direct + elective + maternity) / 365.0
        beds = math.ceil(per_day * mean / 0.85)
        level = beds
        resolved = []
        for d in sorted({d for d, p, _ in OPENINGS if p == name}):
            level += sum(extra for dd, p, extra in OPENINGS if p == name and dd == d)
            resolved.append((d, float(level)))
        pools.append(
            BedPool(name, CapacitySchedule(float(beds), tuple(resolved)), elective_reserve=0)
        )
    admit_share = {name: v[0] for name, v in POOLS.items()}
    ed_streams = []
    for a, share in ACUITY_SHARE.items():
        for mode, m_share in (
            ("ambulance", AMBULANCE_SHARE[a]),
            ("walk_in", 1 - AMBULANCE_SHARE[a]),
        ):
            prof = "ed_ambulance" if mode == "ambulance" else "ed_walk_in"
            ed_streams.append(
                EDArrivalStream(f"a{a}_{mode}", a, mode, rate(ED_VISITS * share * m_share, prof))
            )
    dispositions = tuple(
        Disposition(
            a,
            1 - ADMIT[a] - TRANSFER[a],
            TRANSFER[a],
            tuple((p, ADMIT[a] * s) for p, s in admit_share.items() if s > 0),
        )
        for a in ACUITY_SHARE
    )
    ed = EmergencyDepartment(
        spaces=CapacitySchedule(450.0, ((dt.date(2028, 1, 1), 520.0),)),
        arrivals=tuple(ed_streams),
        treatment=tuple(
            (a, Duration(LosDistribution("lognormal", h, 0.8), "hours"))
            for a, h in TREAT_HOURS.items()
        ),
        dispositions=dispositions,
        admitted_los=tuple(
            (name, Duration(LosDistribution("lognormal", v[4], v[5]))) for name, v in POOLS.items()
        ),
    )
    n_groups = 11  # sub-districts
    clinic_demand = daily_expected(
        annual(CLINIC_REQUESTS / n_groups), profiles["clinic"], cal, START, n
    )
    work = working_days(cal, START, n)
    capacity = np.where(work, 1.15, 0.8) * CLINIC_REQUESTS / n_groups / 365.0
    clinics = tuple(
        ClinicGroup(
            f"subdistrict_{g + 1:02d}",
            tuple(clinic_demand),
            tuple(np.floor(capacity).tolist()),
            p_abandon=0.3,
            p_divert_ed=0.05,
            p_divert_outpatient=0.15,
            ed_acuity=(0.0, 0.0, 0.2, 0.8),
            ed_hourly=profiles["ed_walk_in"].hourly,
        )
        for g in range(n_groups)
    )
    ambulance = AmbulanceService(
        dispatches=rate(AMBULANCE_DISPATCHES, "ambulance_dispatch"),
        fleet=CapacitySchedule(138.0, ((dt.date(2028, 1, 1), 143.0),)),
        travel=Duration(LosDistribution("lognormal", 11.0, 0.5), "minutes"),
        job=Duration(LosDistribution("lognormal", 60.0, 0.5), "minutes"),
    )
    return DesConfig(
        start=START,
        n_days=n,
        pools=tuple(pools),
        admissions=tuple(streams),
        ed=ed,
        clinics=clinics,
        ambulance=ambulance,
        discharge=DischargeRule("daytime", profiles["discharge"].hourly),
        electives=ElectiveBooking(tuple(bool(x) for x in work), retry_hour=8.0),
        warmup_days=warmup_days,
        warmup="first_year",
    )


def slice_config(cfg: DesConfig, first: int, n: int, warmup: int) -> DesConfig:
    """The same system restricted to days first..first+n-1, with its own warm-up."""

    def cut(values: tuple[float, ...]) -> tuple[float, ...]:
        return values[first : first + n]

    start = cfg.start + dt.timedelta(days=first)
    ed = cfg.ed
    assert ed is not None
    return replace(
        cfg,
        start=start,
        n_days=n,
        warmup_days=warmup,
        admissions=tuple(
            replace(s, arrivals=replace(s.arrivals, daily=cut(s.arrivals.daily)))
            for s in cfg.admissions
        ),
        ed=replace(
            ed,
            arrivals=tuple(
                replace(s, arrivals=replace(s.arrivals, daily=cut(s.arrivals.daily)))
                for s in ed.arrivals
            ),
        ),
        clinics=tuple(
            replace(c, demand=cut(c.demand), capacity=cut(c.capacity)) for c in cfg.clinics
        ),
        ambulance=replace(
            cfg.ambulance,
            dispatches=replace(
                cfg.ambulance.dispatches,  # type: ignore[union-attr]
                daily=cut(cfg.ambulance.dispatches.daily),
            ),
        ),  # type: ignore[union-attr]
        electives=replace(
            cfg.electives, booking_days=cfg.electives.booking_days[first : first + n]
        ),  # type: ignore[union-attr]
    )


def resource_beds(cfg: DesConfig, beds: BedDraws) -> tuple[float, np.ndarray]:
    """The same FIFO bed pools with ``simpy.Resource``: one process per patient."""
    env = simpy.Environment(initial_time=-float(cfg.warmup_days))
    caps = [int(p.capacity.initial) for p in cfg.pools]
    res = [simpy.Resource(env, capacity=c) for c in caps]
    pool_of_stream = [cfg.pool_index(s.pool) for s in cfg.admissions]
    wait = np.full(beds.time.size, np.nan)
    times = beds.time.tolist()
    streams = beds.stream.tolist()
    los = beds.los.tolist()

    def patient(i: int):  # type: ignore[no-untyped-def]
        t = env.now
        with res[pool_of_stream[streams[i]]].request() as req:
            yield req
            wait[i] = env.now - t
            yield env.timeout(los[i])

    def source():  # type: ignore[no-untyped-def]
        for i, t in enumerate(times):
            yield env.timeout(t - env.now)
            env.process(patient(i))

    env.process(source())
    t0 = time.perf_counter()
    env.run(until=float(cfg.n_days))
    return time.perf_counter() - t0, wait


def district_config() -> DesConfig:
    """The real district: the shipped baseline scenario's central replicate, built by
    the same pipeline the batches use (projection, expected level, DES configuration)."""
    from pathlib import Path

    from sim.demography import project
    from sim.expected import expected_level, prepare_expected
    from sim.pipeline import base_inputs, des_config
    from sim.scenario import draw, load

    root = Path(__file__).resolve().parent.parent
    sc = draw(load(root / "scenarios" / "baseline.toml"), 0)
    inputs = base_inputs(sc)
    projection = project(sc, inputs.demographic)
    state = prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)
    expected = expected_level(
        sc, projection, inputs.service, inputs.profiles, inputs.calendar, state
    )
    return des_config(sc, state, expected, inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--district",
        action="store_true",
        help="the real district (scenarios/baseline.toml) instead of the synthetic one",
    )
    parser.add_argument("--quick", action="store_true", help="one year instead of six (smoke test)")
    parser.add_argument(
        "--no-resource", action="store_true", help="skip the simpy.Resource comparison"
    )
    parser.add_argument(
        "--no-slices", action="store_true", help="skip the yearly-slices comparison"
    )
    args = parser.parse_args()
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    print(
        f"machine: {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}, simpy {simpy.__version__}"
    )
    cfg = district_config() if args.district else build_config()
    if args.quick:
        cfg = slice_config(cfg, 0, 365, 180)
    print(
        f"config: {cfg.n_days} days + {cfg.warmup_days} warm-up, {len(cfg.pools)} pools, "
        f"beds {sum(p.capacity.initial for p in cfg.pools):,.0f} at start -> "
        f"{sum(p.capacity.by_day(cfg.start, cfg.n_days)[-1] for p in cfg.pools):,.0f} at end"
    )

    t0 = time.perf_counter()
    inputs = draw_inputs(cfg, 20250101, 0)
    t_draw = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = run(cfg, inputs)
    t_run = time.perf_counter() - t0
    admissions = int(ds["bed_arrivals"].sum())
    ed_patients = int(ds["ed_arrivals_total"])
    n_all = (
        inputs.beds.time.size + int((inputs.ed.disposition >= 2).sum())
        if inputs.ed is not None
        else 0
    )
    ed_all = inputs.ed.time.size if inputs.ed is not None else 0
    print(
        f"draw: {t_draw:.1f} s; run: {t_run:.1f} s (warm-up included); total {t_draw + t_run:.1f} s"
    )
    print(
        f"bed requests in the run: {admissions:,} ({n_all:,} incl. warm-up) -> "
        f"{n_all / t_run:,.0f} admissions/s of run time, "
        f"{n_all / (t_draw + t_run):,.0f} incl. drawing"
    )
    print(
        f"ED patients: {ed_patients:,} ({ed_all:,} incl. warm-up) -> "
        f"{ed_all / t_run:,.0f} ED patients/s"
    )
    print(
        f"clinic requests: {int(ds['clinic_demand'].sum()):,}; "
        f"ambulance dispatches: {int(ds['ambulance_dispatches'].sum()):,}"
    )
    print("occupancy rate by year (pool x year):")
    print(ds["occupancy_rate_mean"].round(3).to_pandas().to_string())
    print(
        "ED boarding mean (h):",
        ds["ed_boarding_mean"].round(2).values,
        "p90 (h):",
        ds["ed_boarding_p90"].round(2).values,
    )
    print("elective deferrals / year:", ds["elective_deferrals_year"].sum("pool").values)
    print("ambulance within 15 min:", ds["ambulance_within_target_year"].round(4).values)

    if not args.no_resource:
        # Beds alone: the same requests through counters and through simpy.Resource.
        pools = tuple(BedPool(p.name, CapacitySchedule(p.capacity.initial)) for p in cfg.pools)
        zero = ArrivalRate(tuple([0.0] * cfg.n_days), tuple([1 / 24] * 24))
        streams = tuple(
            AdmissionStream(
                f"{p.name}_all",
                p.name,
                "direct",
                zero,
                Duration(LosDistribution("exponential", 1.0)),
            )
            for p in pools
        )
        simple = DesConfig(
            start=cfg.start,
            n_days=cfg.n_days,
            pools=pools,
            admissions=streams,
            warmup_days=cfg.warmup_days,
        )
        log = simulate_hospital(cfg, inputs)
        req = log.beds.request
        ok = ~np.isnan(req)
        order = np.argsort(req[ok], kind="stable")
        stream = log.beds.home_pool[ok][order].astype(np.int32)
        beds = BedDraws(
            req[ok][order],
            stream,
            np.asarray(
                [
                    *inputs.beds.los,
                    *(inputs.ed.los[inputs.ed.disposition >= 2] if inputs.ed is not None else []),
                ]
            )[ok][order],
            np.zeros(order.size),
        )
        simple_inputs = RandomInputs(0, 0, beds, None, (), None)
        t0 = time.perf_counter()
        counter_log = simulate_hospital(simple, simple_inputs)
        t_counter = time.perf_counter() - t0
        t_resource, wait = resource_beds(simple, beds)
        w_counter = counter_log.beds.bed_start - counter_log.beds.request
        both = ~np.isnan(w_counter) & ~np.isnan(wait)
        print(
            f"beds only, {beds.time.size:,} requests, FIFO, fixed capacity: "
            f"counter {t_counter:.1f} s "
            f"({beds.time.size / t_counter:,.0f}/s); simpy.Resource {t_resource:.1f} s "
            f"({beds.time.size / t_resource:,.0f}/s); max |wait difference| "
            f"{np.max(np.abs(w_counter[both] - wait[both])) * 24:.2e} h "
            f"over {both.sum():,} patients"
        )

    if not args.no_slices and not args.quick:
        t0 = time.perf_counter()
        parts = []
        first = 0
        for year in range(START.year, END.year + 1):
            n_year = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
            part = slice_config(cfg, first, n_year, 180)
            parts.append(run(part, draw_inputs(part, 20250101, 0)))
            first += n_year
        t_slices = time.perf_counter() - t0
        print(
            f"six one-year slices with 180-day warm-up each: {t_slices:.1f} s "
            f"(continuous, 365-day warm-up: {t_draw + t_run:.1f} s)"
        )
        import xarray as xr

        sliced = xr.concat(
            [p[["occupancy_mean", "p_full", "elective_deferrals_year"]] for p in parts], dim="year"
        )
        for var in ("occupancy_mean", "p_full", "elective_deferrals_year"):
            diff = (
                (sliced[var] - ds[var]).sum("pool")
                if "pool" in ds[var].dims
                else sliced[var] - ds[var]
            )
            print(
                f"{var}: continuous {ds[var].sum('pool').round(2).values}; "
                f"slices - continuous {diff.round(2).values}"
            )
        board = xr.concat([p["ed_boarding_mean"] for p in parts], dim="year")
        print(
            f"ed_boarding_mean: continuous {ds['ed_boarding_mean'].round(2).values}; "
            f"slices {board.round(2).values}"
        )


if __name__ == "__main__":
    main()
