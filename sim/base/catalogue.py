"""The catalogue of output variables: name, dims, units, long_name and the rows of
``sim/data/DATA.md`` each depends on.

A producer computes its arrays by name and builds its Dataset with :func:`dataset`, so
a variable is described once, here: adding one is one :class:`Variable` entry (and the
function that computes it). The report reads the inputs of its key figures from here
(:func:`inputs`). Catalogued: the projection (:data:`PROJECTION`) and the expected level
(:data:`EXPECTED`); the DES still describes its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import xarray as xr

from sim.base import names

__all__ = [
    "EXPECTED",
    "PROJECTION",
    "PROJECTION_RENAMES",
    "Variable",
    "dataset",
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


def _by_stored_name() -> dict[str, Variable]:
    """Every catalogued variable by its name in a replicate's results."""
    out = {v.name: v for v in EXPECTED}
    for v in PROJECTION:
        stored = PROJECTION_RENAMES.get(v.name, v.name)
        if stored in out:
            raise ValueError(f"projection variable {v.name} clashes with the expected level's")
        out[stored] = v
    return out


_BY_NAME: Final[dict[str, Variable]] = _by_stored_name()


def variable(name: str) -> Variable:
    """The catalogue entry of ``name``, a variable's name in a replicate's results
    (``KeyError`` if it has none)."""
    return _BY_NAME[name]


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
