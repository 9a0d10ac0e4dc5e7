"""Behaviour and invariants of the discrete-event model's outputs (sim.des.engine)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from sim.des.arrivals import draw_inputs
from sim.des.builder import small_district
from sim.des.config import ArrivalRate, DesConfig, WholeHospitalPooling
from sim.des.engine import run, run_replicate, simulate_hospital
from sim.des.policies import MaxWaitTriage


@pytest.fixture(scope="module")
def base_run() -> xr.Dataset:
    return run_replicate(small_district(), 42, 0)


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
        "elective_deferral_events_year",
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
    xr.testing.assert_identical(base_run, run_replicate(small_district(), 42, 0))
    other = run_replicate(small_district(), 42, 1)
    assert not other.midnight_census.equals(base_run.midnight_census)


def test_fewer_beds_mean_more_boarding_and_deferrals(base_run: xr.Dataset) -> None:
    fewer = run_replicate(small_district(medicine=235, surgery=150), 42, 0)  # same seed: paired
    assert float(fewer.ed_boarding_total.sum()) > float(base_run.ed_boarding_total.sum())
    assert float(fewer.elective_deferral_events_year.sum()) > float(
        base_run.elective_deferral_events_year.sum()
    )
    assert float(fewer.elective_patients_deferred_year.sum()) > float(
        base_run.elective_patients_deferred_year.sum()
    )
    assert bool((fewer.occupancy_rate_mean > base_run.occupancy_rate_mean).all())


def test_both_engines_give_the_same_outputs() -> None:
    cfg = small_district(
        medicine=230,
        ed_spaces=22,
        pooling=WholeHospitalPooling(1.1, frozenset({"emergency", "direct", "elective"})),
        n_days=120,
    )
    inputs = draw_inputs(cfg, 3, 0)
    fast, slow = run(cfg, inputs, engine="compiled"), run(cfg, inputs, engine="reference")
    assert fast.attrs["des_engine"] == "compiled" and slow.attrs["des_engine"] == "reference"
    xr.testing.assert_identical(fast.drop_attrs(), slow.drop_attrs())
    assert float(fast.ed_boarding_total.sum()) > 0, "the ED should have boarded in this test"


def test_whole_hospital_pooling_moves_patients_and_cuts_boarding() -> None:
    tight = small_district(medicine=215, surgery=200)
    pooled = replace(tight, pooling=WholeHospitalPooling(1.2))
    a, b = run_replicate(tight, 8, 0), run_replicate(pooled, 8, 0)
    assert float(a.admissions_outlying.sum()) == 0
    assert float(b.admissions_outlying.sel(pool="medicine").sum()) > 0
    assert float(b.ed_boarding_total.sum()) < float(a.ed_boarding_total.sum())
    np.testing.assert_array_equal(
        b.bed_in_system_start + b.bed_arrivals, b.bed_departures + b.bed_in_system_end
    )


def test_daytime_discharge_keeps_the_midnight_census_exactly() -> None:
    unlimited = small_district(
        medicine=math.inf, surgery=math.inf, ed_spaces=math.inf, discharge="exact", n_days=120
    )
    daytime = replace(unlimited, discharge=replace(unlimited.discharge, kind="daytime"))
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
    cfg = small_district(n_days=90)
    closed = replace(cfg, clinics=(replace(cfg.clinics[0], capacity=tuple([100.0] * 90)),))
    a, b = run_replicate(cfg, 6, 0), run_replicate(closed, 6, 0)
    assert float(b.clinic_diverted_ed.sum()) > float(a.clinic_diverted_ed.sum())
    extra = float(b.ed_arrivals.sum() - a.ed_arrivals.sum())
    diverted = float(b.clinic_diverted_ed.sum() - a.clinic_diverted_ed.sum())
    assert extra == pytest.approx(diverted, rel=0.02), (
        "each diverted request is one more ED arrival"
    )


def _onward(c: DesConfig, stages: tuple[tuple[str, float], ...]) -> DesConfig:
    """``c`` with these onward stages on its first admission stream (surgical electives)."""
    return replace(c, admissions=(replace(c.admissions[0], onward=stages), *c.admissions[1:]))


def _ed(c: DesConfig, **changes: object) -> DesConfig:
    assert c.ed is not None
    return replace(c, ed=replace(c.ed, **changes))


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
        (lambda c: _onward(c, (("icu", 0.2),)), r"admissions\[surgery_elective\]\.onward.*'icu'"),
        (lambda c: _onward(c, (("surgery", 0.2),)), "must differ from the stage before"),
        (
            lambda c: _onward(c, (("medicine", 0.3), ("medicine", 0.2))),
            "must differ from the stage before",
        ),
        (lambda c: _onward(c, (("medicine", 0.0),)), r"share = 0\.0: .*\(0, 1\)"),
        (lambda c: _onward(c, (("medicine", math.nan),)), "share = nan"),
        (lambda c: _onward(c, (("medicine", 0.6), ("surgery", 0.4))), "must sum to < 1"),
        (
            lambda c: _ed(c, admitted_onward=(("icu", (("medicine", 0.2),)),)),
            "ed.admitted_onward = 'icu': keys must be pools the ED admits to",
        ),
        (
            lambda c: _ed(c, admitted_onward=(("medicine", (("medicine", 0.2),)),)),
            r"ed\.admitted_onward\[medicine\]\[0\]\.pool",
        ),
        (lambda c: _ed(c, policy="triage"), "ed.policy = 'triage': must be an EDQueuePolicy"),
        (
            lambda c: replace(c, pooling=WholeHospitalPooling(1.2, share=(0.5,) * 29)),
            r"pooling\.share = '29 values'.*\(30\)",
        ),
        (
            lambda c: replace(c, pooling=WholeHospitalPooling(1.2, share=(0.5,) * 29 + (1.5,))),
            r"pooling\.share = 1\.5: .*\[0, 1\]",
        ),
        (
            lambda c: replace(c, pooling=WholeHospitalPooling(1.2, policy=None)),  # type: ignore[arg-type]
            "pooling.policy = None: must be a BedAllocationPolicy",
        ),
    ],
)
def test_bad_configurations_fail_naming_the_field(change: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        change(small_district(n_days=30))  # type: ignore[operator]


def test_onward_stages_policies_and_the_reforms_path_are_accepted() -> None:
    cfg = small_district(
        n_days=30,
        onward={"surgery": (("medicine", 0.3),)},
        ed_policy=MaxWaitTriage(),
        pooling=WholeHospitalPooling(1.2, share=(0.0,) * 10 + (0.5,) * 20),
    )
    assert cfg.admissions[0].onward == (("medicine", 0.3),)
    assert cfg.ed is not None and cfg.ed.admitted_onward == (("surgery", (("medicine", 0.3),)),)
    assert cfg.ed.policy == MaxWaitTriage()
    two_stages = (("medicine", 0.4), ("surgery", 0.5))  # back to the first pool is allowed
    assert _onward(cfg, two_stages).admissions[0].onward == two_stages
