"""The catalogue of output variables: name, dims, units, long_name and the rows of
``sim/data/DATA.md`` each depends on.

A producer computes its arrays by name and builds its Dataset with :func:`dataset` (the
DES: each variable with :func:`des_variable`, its daily series stored as float32), so
a variable is described once, here: adding one is one :class:`Variable` entry (and the
function that computes it). The report reads the inputs of its key figures from here
(:func:`inputs`). Catalogued: the projection (:data:`PROJECTION`), the expected level
(:data:`EXPECTED`) and the DES (:data:`DES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import xarray as xr

from sim.base import names

__all__ = [
    "DES",
    "DES_PREFIX",
    "EXPECTED",
    "PROJECTION",
    "PROJECTION_RENAMES",
    "Variable",
    "dataset",
    "des_variable",
    "inputs",
    "variable",
]

Y, SX, AG, S, A, P, D, ST, R = (
    names.YEAR,
    names.SEX,
    names.AGE,
    names.SERVICE,
    names.ACUITY,
    names.POOL,
    names.DAY,
    names.STEP,
    names.ROUTE,
)


@dataclass(frozen=True)
class Variable:
    """Description of one output variable (no computation)."""

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str
    """CF long name; ``{field}`` placeholders (``str.format``) are filled from the run,
    e.g. its targets, by :func:`dataset`."""
    inputs: tuple[str, ...] = ()
    """Ids of the rows of ``sim/data/DATA.md`` the variable mainly depends on (their
    grades: :func:`sim.data.data_grades`)."""


_V = Variable
_VISITS, _ADMISSIONS, _BED_DAYS = (
    names.UNIT_VISITS_PER_YEAR,
    names.UNIT_ADMISSIONS_PER_YEAR,
    names.UNIT_BED_DAYS_PER_YEAR,
)
_PERSONS = names.UNIT_PERSONS
_POPULATION = ("POP-CENSUS-TOTAL", "POP-2025", "POP-5YR-TABLE", "MIG-NET", "MIG-PROFILE")
_BED_NEED = ("CAL-OCCUPANCY", "CAL-ALOS", "USE-RR-ADM", "USE-SHAPE-ADM", "GROWTH-ADM")

EXPECTED: Final[tuple[Variable, ...]] = (
    # population
    _V("population", (Y,), _PERSONS, "mid-year resident population", _POPULATION),
    _V("population_end", (Y,), _PERSONS, "resident population on 31 December", _POPULATION),
    _V("population_65plus", (Y,), _PERSONS, "mid-year residents aged 65 and over", _POPULATION),
    _V(
        "births",
        (Y,),
        names.UNIT_PERSONS_PER_YEAR,
        "live births during the year",
        ("TFR-2023", "TFR-2030-CENTRAL", "ASFR-CHINA", "SRB"),
    ),
    # visits
    _V("visits", (Y, S), _VISITS, "visits served in the district"),
    _V("visits_resident", (Y, S), _VISITS, "residents' visits wherever served"),
    _V("chc_share", (Y,), names.UNIT_FRACTION, "community centres' share of all visits served"),
    _V(
        "ed_visits",
        (Y, A),
        _VISITS,
        "ED visits served in the district, by triage level",
        ("CAL-ED-SHARE", "USE-SHAPE-ED", "ED-OLDER-RR", "FLOW-ED"),
    ),
    _V(
        "ed_ambulance_arrivals", (Y, A), _VISITS, "ED visits arriving by ambulance, by triage level"
    ),
    _V("ed_diverted", (Y,), _VISITS, "residents' level-4 ED visits diverted to community centres"),
    _V("chc_shifted", (Y,), _VISITS, "residents' outpatient visits moved to community centres"),
    _V("ambulance_dispatches", (Y,), "dispatches year-1", "120 ambulance dispatches"),
    # admissions and beds
    _V(
        "admissions",
        (Y, P, R),
        _ADMISSIONS,
        "admissions to district hospitals",
        ("USE-RR-ADM", "USE-SHAPE-ADM", "SL-OBST-PER-BIRTH", "GROWTH-ADM", "FLOW-ADM"),
    ),
    _V("admissions_resident", (Y, P), _ADMISSIONS, "residents' admissions wherever treated"),
    _V("admissions_via_ed", (Y,), _ADMISSIONS, "emergency admissions through the ED"),
    _V("ed_admitted_fraction", (Y,), names.UNIT_FRACTION, "share of ED visits admitted"),
    _V(
        "day_cases",
        (Y,),
        "cases year-1",
        "elective surgical day cases added by the day-surgery reform",
    ),
    _V(
        "elderly_care_transfers",
        (Y,),
        "patients year-1",
        "medical patients moved to elderly-care beds",
    ),
    _V(
        "bed_days",
        (Y, P),
        _BED_DAYS,
        "bed-days in district hospitals",
        ("CAL-OCCUPANCY", "CAL-ALOS", "LOS-OLDER", "GROWTH-ADM"),
    ),
    _V(
        "bed_days_per_1000",
        (Y,),
        "bed-days year-1 per 1000 residents",
        "bed-days per 1,000 mid-year residents",
    ),
    _V(
        "alos",
        (Y, P),
        names.UNIT_DAYS,
        "mean length of stay in the pool (bed-days per admission or transfer in)",
    ),
    _V(
        "occupied_beds",
        (Y, P, D),
        names.UNIT_BEDS,
        "expected occupied beds (M(t)/G/inf, time-averaged over the day)",
    ),
    _V("occupied_beds_mean", (Y, P), names.UNIT_BEDS, "expected occupied beds, mean over the year"),
    _V(
        "occupied_beds_design",
        (Y, P),
        names.UNIT_BEDS,
        "expected occupied beds on the design day ({design_day_quantile:.0%} quantile of days)",
        ("CAP-DESIGN-DAY",),
    ),
    _V(
        "occupied_beds_p95",
        (Y, P),
        names.UNIT_BEDS,
        "95% Poisson quantile of occupied beds on the design day",
    ),
    _V("beds", (Y, P), names.UNIT_BEDS, "hospital beds in service, mean over the year"),
    _V(
        "beds_end",
        (Y, P),
        names.UNIT_BEDS,
        "hospital beds in service on 31 December",
        (
            "CAP-BEDS-PER-1000-2025",
            "CAP-PROJECTS-2025",
            "CAP-TCM2",
            "CAP-PLAN-BEDS-2030",
            "CAP-PLAN-PHASING",
        ),
    ),
    _V(
        "beds_per_1000",
        (Y,),
        names.UNIT_PER_1000,
        "hospital beds on 31 December per 1,000 residents",
        ("CAP-BEDS-PER-1000-2025", "POP-2025"),
    ),
    _V(
        "bed_occupancy",
        (Y, P),
        names.UNIT_FRACTION,
        "expected occupied / available beds",
        ("CAL-OCCUPANCY", "CAP-BEDS-PER-1000-2025", "USE-RR-ADM"),
    ),
    _V(
        "beds_needed_occupancy",
        (Y, P),
        names.UNIT_BEDS,
        "beds for the target occupancy {occupancy:.0%} (mean occupied / target)",
        (*_BED_NEED, "CAP-TARGET-OCC"),
    ),
    _V(
        "beds_needed_wait",
        (Y, P),
        names.UNIT_BEDS,
        "beds for P(wait for a bed) <= {bed_wait_probability:g} on the design day (Erlang C)",
        ("CAL-OCCUPANCY", "USE-SHAPE-ADM", "LOS-CV", "CAP-DESIGN-DAY", "CAP-TARGET-WAIT"),
    ),
    _V(
        "beds_needed_blocking",
        (Y, P),
        names.UNIT_BEDS,
        "beds for P(turn-away) <= {bed_blocking_probability:g} on the design day (Erlang B)",
        ("CAP-DESIGN-DAY", "CAP-TARGET-BLOCK"),
    ),
    _V(
        "beds_needed_sqrt",
        (Y, P),
        names.UNIT_BEDS,
        "beds by square-root staffing at the Erlang C wait target (Halfin-Whitt)",
        ("CAP-DESIGN-DAY", "CAP-TARGET-WAIT"),
    ),
    _V(
        "bed_gap",
        (Y, P),
        names.UNIT_BEDS,
        "beds needed at the target occupancy minus beds available (positive: shortfall)",
    ),
    _V(
        "bed_pool_needed_separate",
        (Y,),
        names.UNIT_BEDS,
        "beds for the wait target, pools of the one-bed-pool group kept apart",
    ),
    _V(
        "bed_pool_needed_pooled",
        (Y,),
        names.UNIT_BEDS,
        "beds for the wait target, the group as one pool",
    ),
    _V(
        "bed_pool_needed",
        (Y,),
        names.UNIT_BEDS,
        "beds for the wait target with the scenario's share of beds pooled (linear approximation)",
    ),
    # community centres and GPs
    _V("gps", (Y,), "GPs", "general practitioners in post"),
    _V("gp_capacity", (Y,), _VISITS, "community-centre visits the GPs can provide"),
    _V(
        "gp_utilisation",
        (Y,),
        names.UNIT_FRACTION,
        "community-centre visits / GP capacity",
        ("CAL-CHC-VISITS-2025", "CAP-GP-VISITS", "USE-RR-VISITS", "USE-SHAPE-CHC", "GROWTH-VISITS"),
    ),
    _V("gps_needed", (Y,), "GPs", "GPs needed for the community-centre visits"),
    _V("chc_centres", (Y,), "centres", "community health centres"),
    _V("residents_per_centre", (Y,), "persons", "mid-year residents per community centre"),
    _V(
        "chc_centres_norm",
        (Y,),
        "centres",
        "centres at one per {residents_per_centre:,.0f} residents",
    ),
    # ED and ambulances
    _V(
        "ed_peak_arrivals",
        (Y,),
        "visits hour-1",
        "ED arrivals in the busiest hour of the design day",
        ("CAP-DESIGN-DAY",),
    ),
    _V("ed_treatment_hours", (Y,), names.UNIT_HOURS, "mean time in an ED treatment space"),
    _V(
        "ed_spaces_needed",
        (Y,),
        "spaces",
        "ED spaces for P(wait > {ed_wait_hours:g} h) <= {ed_wait_probability:g} (Erlang C)",
        ("ED-TREATMENT", "CAP-TARGET-ED-WAIT"),
    ),
    _V("ed_spaces", (Y,), "spaces", "ED treatment spaces", ("CAP-ED-SPACES",)),
    _V(
        "ambulance_peak_dispatches",
        (Y,),
        "dispatches hour-1",
        "120 dispatches in the busiest hour of the design day",
        ("CAP-DESIGN-DAY",),
    ),
    _V(
        "ambulances_needed_wait",
        (Y,),
        "ambulances",
        "ambulances for P(no ambulance free) <= {ambulance_wait_probability:g} (Erlang C)",
        ("CAL-AMB-RATE", "CAP-AMB-JOB", "CAP-TARGET-AMB-WAIT"),
    ),
    _V(
        "ambulances_needed_norm",
        (Y,),
        "ambulances",
        "ambulances at one per {residents_per_ambulance:,.0f} residents",
    ),
    _V("ambulances", (Y,), "ambulances", "ambulances in service", ("CAP-AMB-NORM",)),
    # workforce
    _V("physicians", (Y,), "persons", "licensed (assistant) physicians"),
    _V(
        "physicians_target",
        (Y,),
        "persons",
        "physicians at the plan's {physicians_per_1000:g} per 1,000",
    ),
    _V("nurses", (Y,), "persons", "registered nurses"),
    _V("nurses_target", (Y,), "persons", "nurses at the plan's {nurses_per_1000:g} per 1,000"),
    _V(
        "physicians_per_1000",
        (Y,),
        names.UNIT_PER_1000,
        "licensed (assistant) physicians per 1,000 residents",
        ("CAP-WF-PHYS", "CAP-TARGET-PHYS-2030"),
    ),
    _V(
        "nurses_per_1000",
        (Y,),
        names.UNIT_PER_1000,
        "registered nurses per 1,000 residents",
        ("CAP-WF-NURSE", "CAP-TARGET-NURSE-2030"),
    ),
    _V(
        "nurse_physician_ratio",
        (Y,),
        names.UNIT_FRACTION,
        "registered nurses per physician (plan: 1.1)",
        ("CAP-WF-PHYS", "CAP-WF-NURSE", "CAP-TARGET-NURSE-2030"),
    ),
    # attribution
    _V(
        "change_visits",
        (Y, ST, S),
        _VISITS,
        "change in visits served since the base year, by step",
    ),
    _V(
        "change_ambulance",
        (Y, ST),
        "dispatches year-1",
        "change in 120 dispatches since the base year, by step",
    ),
    _V(
        "change_admissions",
        (Y, ST, P),
        _ADMISSIONS,
        "change in admissions since the base year, by step",
    ),
    _V(
        "change_bed_days",
        (Y, ST, P),
        _BED_DAYS,
        "change in bed-days since the base year, by step",
    ),
    _V("change_visits_total", (Y, S), _VISITS, "change in visits served since the base year"),
    _V("change_bed_days_total", (Y, P), _BED_DAYS, "change in bed-days since the base year"),
)
"""The expected level's variables (:func:`sim.model.expected.expected_level`), in the order of
its Dataset."""

PROJECTION: Final[tuple[Variable, ...]] = (
    _V("population", (Y, SX, AG), _PERSONS, "resident population on 31 December", _POPULATION),
    _V(
        "births",
        (Y, SX),
        _PERSONS,
        "live births during the year",
        ("TFR-2023", "TFR-2030-CENTRAL", "ASFR-CHINA", "SRB"),
    ),
    _V(
        "deaths",
        (Y, SX, AG),
        _PERSONS,
        "deaths during the year, by age at the start of the year",
        ("MORT-BRASS", "E0-2021", "E0-2030"),
    ),
    _V(
        "deaths_of_births",
        (Y, SX),
        _PERSONS,
        "deaths during the year among those born in it",
        ("MORT-BRASS",),
    ),
    _V(
        "net_migration",
        (Y, SX, AG),
        _PERSONS,
        "net migrants during the year, by age at the end of the year",
        ("MIG-NET", "MIG-PROFILE"),
    ),
    _V("population_total", (Y,), _PERSONS, "total resident population on 31 December", _POPULATION),
    _V(
        "share_65plus",
        (Y,),
        names.UNIT_FRACTION,
        "share of residents aged 65 and over",
        ("POP-SZ-AGE-SHARES", "POP-ASSUME-65PLUS", "MORT-BRASS", "E0-2030"),
    ),
    _V(
        "life_expectancy",
        (Y, SX),
        names.UNIT_YEARS,
        "life expectancy at birth of the year's life table",
        ("E0-2021", "E0-2030"),
    ),
    _V(
        "life_expectancy_both",
        (Y,),
        names.UNIT_YEARS,
        "life expectancy at birth, both sexes (weighted by the sex ratio at birth)",
        ("E0-2021", "E0-2030", "SRB"),
    ),
    _V("tfr", (Y,), names.UNIT_BIRTHS_PER_WOMAN, "total fertility rate", ("TFR-2023",)),
    _V(
        "period_length",
        (Y,),
        names.UNIT_YEARS,
        "length of the projection step ending in this year",
    ),
    _V(
        "calibrated_net_migration",
        (),
        names.UNIT_PERSONS_PER_YEAR,
        "net migrants per year from the census to the calibration year",
        ("POP-2025", "MIG-NET"),
    ),
    _V(
        "population_census",
        (SX, AG),
        _PERSONS,
        "resident population at the census date {census_date}",
        ("POP-CENSUS-TOTAL", "POP-5YR-TABLE"),
    ),
)
"""The projection's variables (:func:`sim.model.demography.to_dataset`), in the order of
its Dataset."""

PROJECTION_RENAMES: Final[dict[str, str]] = {
    "population": "population_by_age",
    "births": "births_by_sex",
}
"""Projection variables renamed in a replicate's results, where the expected level has a
variable of that name."""


_BEDS, _HOURS, _DAYS, _FRACTION = (
    names.UNIT_BEDS,
    names.UNIT_HOURS,
    names.UNIT_DAYS,
    names.UNIT_FRACTION,
)
_PER_DAY, _MINUTES, _SPACES, _AMBULANCES, _EVENTS = (
    names.UNIT_PERSONS_PER_DAY,
    names.UNIT_MINUTES,
    names.UNIT_SPACES,
    names.UNIT_AMBULANCES,
    names.UNIT_EVENTS,
)
CL = names.CLINIC

DES: Final[tuple[Variable, ...]] = (
    _V("bed_capacity", (P, D), _BEDS, "beds available"),
    _V(
        "midnight_census",
        (P, D),
        _BEDS,
        "occupied beds at the midnight ending the day",
        ("CAL-OCCUPANCY", "CAP-POOL-SPLIT", "LOS-CV", "des.prof.discharge"),
    ),
    _V("occupancy_daily_mean", (P, D), _BEDS, "occupied beds, time-averaged over the day"),
    _V("occupancy_daily_peak", (P, D), _BEDS, "largest number of occupied beds in the day"),
    _V("occupancy_mean", (P, Y), _BEDS, "occupied beds, time-averaged over the year"),
    _V("occupancy_p95", (P, Y), _BEDS, "95th percentile of occupied beds over the year's time"),
    _V(
        "occupancy_rate_mean",
        (P, Y),
        _FRACTION,
        "time-averaged occupied beds / beds available (NaN if unlimited)",
    ),
    _V("p_occupancy_ge_85", (P, Y), _FRACTION, "share of time with occupancy >= 85% of beds"),
    _V("p_occupancy_ge_95", (P, Y), _FRACTION, "share of time with occupancy >= 95% of beds"),
    _V("p_full", (P, Y), _FRACTION, "share of time with every bed occupied"),
    _V("days_full", (P, Y), _DAYS, "days on which every bed was occupied at some moment"),
    _V(
        "bed_queue_midnight",
        (P, D),
        _PERSONS,
        "emergency-class patients waiting for a bed of the pool at midnight (ED "
        "boarders, direct and maternity admissions, blocked step-downs)",
    ),
    _V(
        "elective_waiting_list",
        (P, D),
        _PERSONS,
        "deferred electives on the waiting list at midnight",
    ),
    _V("admissions", (P, D), _PER_DAY, "patients of the pool taking a bed (any pool)"),
    _V(
        "admissions_outlying",
        (P, D),
        _PER_DAY,
        "patients of the pool placed in another pool's bed",
    ),
    _V(
        "discharges",
        (P, D),
        _PER_DAY,
        "discharges from the pool's beds (end of the last stage of a stay)",
    ),
    _V("turned_away", (P, D), _PER_DAY, "admissions turned away because the pool was full"),
    _V(
        "emergency_bed_wait_mean",
        (P, Y),
        _HOURS,
        "mean wait for a bed of emergency-class patients admitted in the year",
    ),
    _V(
        "emergency_bed_wait_p90",
        (P, Y),
        _HOURS,
        "90th percentile wait for a bed, emergency-class patients",
    ),
    _V(
        "p_bed_wait",
        (P, Y),
        _FRACTION,
        "share of emergency-class patients admitted in the year who waited for a bed",
    ),
    _V(
        "bed_wait_mean_emergency",
        (P, Y),
        _HOURS,
        "mean wait for a bed, patients admitted through the ED (decision to admit -> "
        "bed), admitted in the year",
    ),
    _V(
        "bed_wait_p90_emergency",
        (P, Y),
        _HOURS,
        "90th percentile wait for a bed, patients admitted through the ED (decision to "
        "admit -> bed)",
    ),
    _V(
        "bed_wait_mean_direct",
        (P, Y),
        _HOURS,
        "mean wait for a bed, direct admissions, admitted in the year",
    ),
    _V("bed_wait_p90_direct", (P, Y), _HOURS, "90th percentile wait for a bed, direct admissions"),
    _V(
        "bed_wait_mean_maternity",
        (P, Y),
        _HOURS,
        "mean wait for a bed, maternity admissions, admitted in the year",
    ),
    _V(
        "bed_wait_p90_maternity",
        (P, Y),
        _HOURS,
        "90th percentile wait for a bed, maternity admissions",
    ),
    _V(
        "elective_wait_mean",
        (P, Y),
        _DAYS,
        "mean days from booked date to admission, electives admitted in the year",
    ),
    _V(
        "elective_wait_p90",
        (P, Y),
        _DAYS,
        "90th percentile days from booked date to admission, electives",
    ),
    _V(
        "stepdown_wait_mean",
        (P, Y),
        _HOURS,
        "mean wait of a later stage of a stay (e.g. a ward after the ICU) for a bed of "
        "the pool, from the end of the earlier stage; stages started in the year",
    ),
    _V(
        "stepdown_blocked_bed_days",
        (P, Y),
        _DAYS,
        "bed-days of the pool held by patients waiting for a later stage's bed elsewhere",
    ),
    _V(
        "elective_deferrals",
        (P, D),
        _PER_DAY,
        "elective deferral events: at booking when no bed is free, and at each booking "
        "session a patient on the waiting list is still not admitted",
    ),
    _V(
        "elective_deferral_events_year",
        (P, Y),
        _EVENTS,
        "elective deferral events in the year (at booking, and at each booking session "
        "a patient on the waiting list is still not admitted), by the day they happen",
        ("CAP-POOL-SPLIT", "des.prof.elective"),
    ),
    _V(
        "elective_patients_deferred_year",
        (P, Y),
        _PERSONS,
        "elective patients deferred at least once, by the year of their booking",
        ("CAP-POOL-SPLIT", "des.prof.elective"),
    ),
    _V(
        "bed_arrivals",
        (P,),
        _PERSONS,
        "bed requests (incl. deferred electives) during the run, by home pool",
    ),
    _V(
        "bed_in_system_start",
        (P,),
        _PERSONS,
        "patients waiting for or in a bed at the start (after warm-up)",
    ),
    _V(
        "bed_departures",
        (P,),
        _PERSONS,
        "discharges and turned-away requests during the run, by home pool",
    ),
    _V(
        "bed_in_system_end",
        (P,),
        _PERSONS,
        "patients in a bed, queued or on the waiting list at the end (engine counters; "
        "a patient blocked in an earlier stage of the stay counted once, in the bed)",
    ),
    _V(
        "bed_time_avg_in_system",
        (P,),
        _PERSONS,
        "time-averaged patients waiting for or in a bed (Little's L)",
    ),
    _V("bed_throughput", (P,), _PER_DAY, "bed requests per day (Little's lambda)"),
    _V(
        "bed_mean_time_in_system",
        (P,),
        _DAYS,
        "mean time from request to departure, patients who arrived and left during the "
        "run (Little's W)",
    ),
    _V("ed_spaces", (D,), _SPACES, "ED treatment spaces available"),
    _V(
        "ed_occupancy_daily_mean",
        (D,),
        _SPACES,
        "occupied ED spaces (treatment + boarding), time-averaged over the day",
    ),
    _V("ed_occupancy_daily_peak", (D,), _SPACES, "largest number of occupied ED spaces"),
    _V("ed_boarders_midnight", (D,), _PERSONS, "admitted patients boarding in the ED at midnight"),
    _V(
        "ed_waiting_midnight",
        (D,),
        _PERSONS,
        "patients waiting for an ED treatment space at midnight",
    ),
    _V("ed_boarding_total", (Y,), _HOURS, "patient-hours spent boarding in the ED in the year"),
    _V("ed_arrivals", (A, D), _PER_DAY, "ED arrivals by triage level"),
    _V("ed_home", (D,), _PER_DAY, "ED patients sent home (by end of treatment)"),
    _V("ed_transferred", (D,), _PER_DAY, "ED patients transferred out (by end of treatment)"),
    _V("ed_admitted", (P, D), _PER_DAY, "ED decisions to admit, by pool"),
    _V(
        "ed_boarding_mean",
        (Y,),
        _HOURS,
        "mean boarding time (decision to admit -> bed), boarding ended in the year",
        ("ED-TREATMENT", "CAP-POOL-SPLIT", "LOS-CV"),
    ),
    _V("ed_boarding_p90", (Y,), _HOURS, "90th percentile boarding time"),
    _V(
        "ed_wait_mean",
        (A, Y),
        _HOURS,
        "mean wait from arrival to a treatment space, by triage level (start in the year)",
    ),
    _V("ed_wait_p90", (A, Y), _HOURS, "90th percentile wait for a treatment space"),
    _V("ed_arrivals_total", (), _PERSONS, "ED arrivals during the run"),
    _V("ed_in_system_start", (), _PERSONS, "patients in the ED at the start (after warm-up)"),
    _V("ed_departures", (), _PERSONS, "patients leaving the ED during the run"),
    _V(
        "ed_in_system_end",
        (),
        _PERSONS,
        "patients in the ED at the end (engine counters when event-driven)",
    ),
    _V("ed_time_avg_in_system", (), _PERSONS, "time-averaged patients in the ED (Little's L)"),
    _V("ed_throughput", (), _PER_DAY, "ED arrivals per day"),
    _V(
        "ed_mean_time_in_system",
        (),
        _DAYS,
        "mean time in the ED, patients who arrived and left during the run",
    ),
    _V("clinic_demand", (CL, D), _PER_DAY, "new community-clinic requests"),
    _V("clinic_capacity", (CL, D), _PER_DAY, "community-clinic appointments available"),
    _V("clinic_served", (CL, D), _PER_DAY, "requests served"),
    _V("clinic_waiting", (CL, D), _PERSONS, "requests carried over at the end of the day"),
    _V("clinic_diverted_ed", (CL, D), _PER_DAY, "unmet requests diverted to the ED"),
    _V(
        "clinic_diverted_outpatient",
        (CL, D),
        _PER_DAY,
        "unmet requests diverted to hospital outpatients",
    ),
    _V("clinic_abandoned", (CL, D), _PER_DAY, "unmet requests abandoned"),
    _V("clinic_utilisation", (CL, D), _FRACTION, "appointments used / available"),
    _V("clinic_wait_mean", (CL, D), _DAYS, "mean wait of the requests served that day"),
    _V(
        "clinic_unmet_year",
        (CL, Y),
        _PERSONS,
        "requests diverted or abandoned in the year",
        ("CAP-GP-VISITS", "des.prof.clinic", "DES-CLINIC-ABANDON"),
    ),
    _V("clinic_wait_mean_year", (CL, Y), _DAYS, "mean wait of requests served in the year"),
    _V(
        "clinic_wait_p90_year",
        (CL, Y),
        _DAYS,
        "90th percentile wait of requests served in the year",
    ),
    _V("clinic_utilisation_year", (CL, Y), _FRACTION, "appointments used / available in the year"),
    _V("clinic_waiting_start", (CL,), _PERSONS, "requests waiting at the start (after warm-up)"),
    _V("ambulance_fleet", (D,), _AMBULANCES, "ambulances in service"),
    _V("ambulance_dispatches", (D,), _PER_DAY, "ambulance dispatches"),
    _V("ambulance_delay_mean", (D,), _MINUTES, "mean wait for a free ambulance"),
    _V(
        "ambulance_within_target",
        (D,),
        _FRACTION,
        "share of calls reached within the response target",
    ),
    _V("ambulance_delay_mean_year", (Y,), _MINUTES, "mean wait for a free ambulance"),
    _V("ambulance_delay_p90_year", (Y,), _MINUTES, "90th percentile wait for a free ambulance"),
    _V(
        "ambulance_within_target_year",
        (Y,),
        _FRACTION,
        "share of calls reached within the response target",
        ("des.ambulance.target", "DES-AMB-TRAVEL", "CAP-AMB-JOB"),
    ),
    _V(
        "ambulance_utilisation_year",
        (Y,),
        _FRACTION,
        "ambulance busy time / fleet time (busy time by day of the call)",
    ),
)
"""The DES's variables (:func:`sim.des.engine.run`), in the order of its Dataset; those
with a ``day`` dimension are stored as float32. Without community clinics, ambulances or
an emergency department in a configuration, their variables are left out."""

DES_PREFIX: Final = "des_"
"""Prefix of the DES's variables in a replicate's results (beside the expected level's);
their ``day`` dimension is called ``date`` there."""


def _by_stored_name() -> dict[str, Variable]:
    """Every catalogued variable by its name in a replicate's results."""
    out = {v.name: v for v in EXPECTED}
    for v in PROJECTION:
        stored = PROJECTION_RENAMES.get(v.name, v.name)
        if stored in out:
            raise ValueError(f"projection variable {v.name} clashes with the expected level's")
        out[stored] = v
    for v in DES:
        out[DES_PREFIX + v.name] = v
    return out


_BY_NAME: Final[dict[str, Variable]] = _by_stored_name()


def variable(name: str) -> Variable:
    """The catalogue entry of ``name``, a variable's name in a replicate's results
    (``KeyError`` if it has none)."""
    return _BY_NAME[name]


_DES_BY_NAME: Final[dict[str, Variable]] = {v.name: v for v in DES}


def des_variable(name: str) -> Variable:
    """The catalogue entry of the DES's variable ``name``, as the DES's own Dataset names
    it (without :data:`DES_PREFIX`)."""
    return _DES_BY_NAME[name]


def inputs(*variables: str) -> tuple[str, ...]:
    """The DATA.md ids of the inputs of ``variables``, each once, in order (their grades:
    :func:`sim.data.data_grades`)."""
    return tuple(dict.fromkeys(i for v in variables for i in variable(v).inputs))


def dataset(
    entries: Iterable[Variable],
    values: Mapping[str, Any],
    coords: Mapping[str, Any],
    fields: Mapping[str, Any],
) -> xr.Dataset:
    """A Dataset of ``entries`` (in their order) with their dims, units and long_name.

    Args:
        entries: catalogue entries.
        values: the computed array of each entry, by name (stored as float64).
        coords: the Dataset's coordinates.
        fields: values for the ``{field}`` placeholders of the long names.

    Raises ``ValueError`` if ``values`` and ``entries`` do not name the same variables.
    """
    entries = tuple(entries)
    described = [v.name for v in entries]
    if set(described) != set(values):
        missing, extra = set(described) - set(values), set(values) - set(described)
        raise ValueError(f"catalogue and values differ: missing {missing}, undescribed {extra}")
    data = {
        v.name: xr.Variable(
            v.dims,
            np.asarray(values[v.name], dtype=float),
            {"units": v.units, "long_name": v.long_name.format(**fields)},
        )
        for v in entries
    }
    return xr.Dataset(data, coords=coords)
