"""Behaviour and invariants of the discrete-event engine (sim.des.engine, sim.des.pathways)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from sim.data.profiles import daily_expected, load_holidays, load_profiles, working_days
from sim.des.arrivals import draw_inputs
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
    WholeHospitalPooling,
)
from sim.des.engine import run, run_replicate
from sim.des.pathways import simulate_hospital
from sim.los import LosDistribution

START = dt.date(2025, 1, 1)
N_DAYS = 240
PROFILES = load_profiles()
CALENDAR = load_holidays()


def _rate(annual: float, profile: str, n: int = N_DAYS) -> ArrivalRate:
    return ArrivalRate(
        tuple(daily_expected(annual, PROFILES[profile], CALENDAR, START, n)),
        PROFILES[profile].hourly,
    )


def _los(mean: float, cv: float = 1.0, unit: str = "days") -> Duration:
    return Duration(LosDistribution("lognormal", mean, cv), unit)  # type: ignore[arg-type]


def hospital(
    medicine: float = 260,
    surgery: float = 170,
    ed_spaces: float = 30,
    pooling: WholeHospitalPooling | None = None,
    discharge: str = "daytime",
    n: int = N_DAYS,
) -> DesConfig:
    """A small district: two acute pools, an ED, electives, clinics and ambulances."""
    arrivals = tuple(
        EDArrivalStream(
            f"a{a}_{m}", a, m, _rate(v, "ed_walk_in" if m == "walk_in" else "ed_ambulance", n)
        )  # type: ignore[arg-type]
        for a, m, v in [
            (1, "ambulance", 1500),
            (2, "ambulance", 4000),
            (2, "walk_in", 8000),
            (3, "walk_in", 30000),
            (4, "walk_in", 35000),
        ]
    )
    ed = EmergencyDepartment(
        spaces=CapacitySchedule(ed_spaces),
        arrivals=arrivals,
        treatment=tuple(
            (a, _los(h, 0.8, "hours")) for a, h in [(1, 4.0), (2, 3.5), (3, 2.5), (4, 1.5)]
        ),
        dispositions=(
            Disposition(1, 0.25, 0.05, (("medicine", 0.5), ("surgery", 0.2))),
            Disposition(2, 0.5, 0.05, (("medicine", 0.3), ("surgery", 0.15))),
            Disposition(3, 0.85, 0.01, (("medicine", 0.1), ("surgery", 0.04))),
            Disposition(4, 0.98, 0.0, (("medicine", 0.02),)),
        ),
        admitted_los=(("medicine", _los(7.0)), ("surgery", _los(6.0))),
    )
    return DesConfig(
        start=START,
        n_days=n,
        warmup_days=60,
        pools=(
            BedPool("medicine", CapacitySchedule(medicine)),
            BedPool(
                "surgery",
                CapacitySchedule(surgery, ((START + dt.timedelta(days=120), surgery + 20),)),
                elective_reserve=3,
            ),
        ),
        admissions=(
            AdmissionStream(
                "surgery_elective",
                "surgery",
                "elective",
                _rate(7000, "admission_elective", n),
                _los(5.0),
            ),
            AdmissionStream(
                "medicine_direct",
                "medicine",
                "direct",
                _rate(4000, "admission_direct", n),
                _los(8.0),
            ),
        ),
        ed=ed,
        clinics=(
            ClinicGroup(
                "all",
                tuple(daily_expected(250_000, PROFILES["clinic"], CALENDAR, START, n)),
                tuple([700.0] * n),
                p_abandon=0.2,
                p_divert_ed=0.05,
                p_divert_outpatient=0.1,
                ed_acuity=(0.0, 0.0, 0.3, 0.7),
                ed_hourly=PROFILES["ed_walk_in"].hourly,
            ),
        ),
        ambulance=AmbulanceService(
            _rate(12_000, "ambulance_dispatch", n),
            CapacitySchedule(6),
            _los(10.0, 0.5, "minutes"),
            _los(50.0, 0.5, "minutes"),
        ),
        pooling=pooling,
        discharge=DischargeRule(discharge, PROFILES["discharge"].hourly),  # type: ignore[arg-type]
        electives=ElectiveBooking(
            tuple(bool(x) for x in working_days(CALENDAR, START, n)), retry_hour=8.0
        ),
    )


@pytest.fixture(scope="module")
def base_run() -> xr.Dataset:
    return run_replicate(hospital(), 42, 0)


def test_every_variable_has_units_and_a_long_name(base_run: xr.Dataset) -> None:
    for name, var in base_run.data_vars.items():
        assert var.attrs.get("units"), f"{name} has no units"
        assert var.attrs.get("long_name"), f"{name} has no long_name"
    expected = {
        "midnight_census",
        "occupancy_daily_peak",
        "occupancy_mean",
        "occupancy_p95",
        "p_occupancy_ge_85",
        "p_occupancy_ge_95",
        "p_full",
        "days_full",
        "ed_boarding_mean",
        "ed_boarding_p90",
        "ed_boarding_total",
        "elective_deferrals_year",
        "clinic_unmet_year",
        "clinic_wait_mean_year",
        "ambulance_delay_mean_year",
        "ambulance_within_target_year",
        "bed_time_avg_in_system",
    }
    assert expected <= set(base_run.data_vars)


def test_patients_are_conserved(base_run: xr.Dataset) -> None:
    ds = base_run
    # Beds: in system at the start + arrivals = departures + in system at the end (engine counters).
    np.testing.assert_array_equal(
        ds.bed_in_system_start + ds.bed_arrivals, ds.bed_departures + ds.bed_in_system_end
    )
    assert int(ds.ed_in_system_start + ds.ed_arrivals_total) == int(
        ds.ed_departures + ds.ed_in_system_end
    )
    # Clinics: waiting at the start + demand = served + diverted + abandoned + waiting at the end.
    inflow = ds.clinic_waiting_start + ds.clinic_demand.sum("day")
    outflow = (
        ds.clinic_served
        + ds.clinic_diverted_ed
        + ds.clinic_diverted_outpatient
        + ds.clinic_abandoned
    ).sum("day") + ds.clinic_waiting.isel(day=-1)
    np.testing.assert_array_equal(inflow, outflow)
    # Every ED decision to admit becomes a bed request of that pool.
    assert int(ds.ed_admitted.sum()) > 0


def test_occupancy_never_exceeds_capacity(base_run: xr.Dataset) -> None:
    over = base_run.occupancy_daily_peak > base_run.bed_capacity
    assert not bool(over.any()), "a pool held more patients than beds"
    assert float(base_run.ed_occupancy_daily_peak.max()) <= float(base_run.ed_spaces.min())
    assert float(base_run.p_full.max()) > 0, "the test district should be tight enough to fill up"


def test_same_seed_gives_an_identical_dataset(base_run: xr.Dataset) -> None:
    xr.testing.assert_identical(base_run, run_replicate(hospital(), 42, 0))
    other = run_replicate(hospital(), 42, 1)
    assert not other.midnight_census.equals(base_run.midnight_census)


def test_fewer_beds_mean_more_boarding_and_deferrals(base_run: xr.Dataset) -> None:
    fewer = run_replicate(hospital(medicine=235, surgery=150), 42, 0)  # same seed: paired
    assert float(fewer.ed_boarding_total.sum()) > float(base_run.ed_boarding_total.sum())
    assert float(fewer.elective_deferrals_year.sum()) > float(
        base_run.elective_deferrals_year.sum()
    )
    assert bool((fewer.occupancy_rate_mean > base_run.occupancy_rate_mean).all())


def test_lazy_resolution_gives_the_same_patient_logs_as_one_event_each() -> None:
    cfg = hospital(
        medicine=230,
        ed_spaces=22,
        pooling=WholeHospitalPooling(1.1, frozenset({"emergency", "direct", "elective"})),
    )
    inputs = draw_inputs(cfg, 3, 0)
    fast, slow = simulate_hospital(cfg, inputs), simulate_hospital(cfg, inputs, lazy=False)
    for field in ("request", "bed_start", "bed_end", "bed_pool", "lost"):
        np.testing.assert_array_equal(
            getattr(fast.beds, field), getattr(slow.beds, field), err_msg=field
        )
    assert fast.ed is not None and slow.ed is not None
    for field in ("space_start", "treated", "space_end"):
        np.testing.assert_array_equal(
            getattr(fast.ed, field), getattr(slow.ed, field), err_msg=field
        )
    assert np.nanmax(fast.ed.space_start - fast.ed.arrival) > 0, (
        "the ED should have queued in this test"
    )


def test_whole_hospital_pooling_moves_patients_and_cuts_boarding() -> None:
    tight = hospital(medicine=215, surgery=200)
    pooled = replace(tight, pooling=WholeHospitalPooling(1.2))
    a, b = run_replicate(tight, 8, 0), run_replicate(pooled, 8, 0)
    assert float(a.admissions_outlying.sum()) == 0
    assert float(b.admissions_outlying.sel(pool="medicine").sum()) > 0
    assert float(b.ed_boarding_total.sum()) < float(a.ed_boarding_total.sum())
    np.testing.assert_array_equal(
        b.bed_in_system_start + b.bed_arrivals, b.bed_departures + b.bed_in_system_end
    )


def test_daytime_discharge_keeps_the_midnight_census_exactly() -> None:
    unlimited = hospital(
        medicine=math.inf, surgery=math.inf, ed_spaces=math.inf, discharge="exact", n=120
    )
    daytime = replace(unlimited, discharge=DischargeRule("daytime", PROFILES["discharge"].hourly))
    inputs = draw_inputs(unlimited, 4, 0)
    a, b = run(unlimited, inputs), run(daytime, inputs)
    np.testing.assert_array_equal(a.midnight_census, b.midnight_census)
    assert not np.array_equal(a.occupancy_daily_mean, b.occupancy_daily_mean)
    # Discharges then happen in the daytime: most before 17:00.
    log = simulate_hospital(daytime, inputs)
    ends = log.beds.bed_end[~np.isnan(log.beds.bed_end)]
    overnight = np.floor(ends) > np.floor(log.beds.bed_start[~np.isnan(log.beds.bed_end)])
    hours = (ends[overnight] % 1.0) * 24
    assert np.mean((hours >= 8) & (hours < 17)) > 0.8


def test_capacity_schedule_takes_effect_on_its_date(base_run: xr.Dataset) -> None:
    cap = base_run.bed_capacity.sel(pool="surgery")
    assert float(cap.isel(day=119)) == 170 and float(cap.isel(day=120)) == 190


def test_clinic_diversions_feed_the_ed() -> None:
    cfg = hospital(n=90)
    closed = replace(cfg, clinics=(replace(cfg.clinics[0], capacity=tuple([100.0] * 90)),))
    a, b = run_replicate(cfg, 6, 0), run_replicate(closed, 6, 0)
    assert float(b.clinic_diverted_ed.sum()) > float(a.clinic_diverted_ed.sum())
    extra = float(b.ed_arrivals.sum() - a.ed_arrivals.sum())
    diverted = float(b.clinic_diverted_ed.sum() - a.clinic_diverted_ed.sum())
    assert extra == pytest.approx(diverted, rel=0.02), (
        "each diverted request is one more ED arrival"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: replace(c, n_days=0), "n_days"),
        (lambda c: replace(c, pools=(c.pools[0], c.pools[0])), "unique"),
        (lambda c: replace(c, admissions=(replace(c.admissions[0], pool="icu"),)), "pool"),
        (
            lambda c: replace(
                c,
                admissions=(
                    replace(
                        c.admissions[0],
                        arrivals=ArrivalRate((1.0,), c.admissions[0].arrivals.hourly),
                    ),
                ),
            ),
            "one value per simulated day",
        ),
        (lambda c: replace(c, pooling=WholeHospitalPooling(0.8)), "los_multiplier"),
    ],
)
def test_bad_configurations_fail_naming_the_field(change: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        change(hospital(n=30))  # type: ignore[operator]
