"""Dimension names, variable names, units and fixed code lists.

Everything that more than one module must spell the same way lives here, so a
result Dataset written by one layer is read by another without string drift.
This module imports nothing from the project (it is the bottom layer).
"""

from __future__ import annotations

from typing import Final

# --- dimensions ------------------------------------------------------------
SCENARIO: Final = "scenario"
REPLICATE: Final = "replicate"
SAMPLE: Final = "sample"
"""The leading dimension of the vectorised model: one entry per scenario draw or sweep
point computed in the same call (the batch renames it to ``point`` or ``replicate``)."""
YEAR: Final = "year"
SEX: Final = "sex"
AGE: Final = "age"
SERVICE: Final = "service"
POOL: Final = "pool"
DAY: Final = "day"
ACUITY: Final = "acuity"
MEASURE: Final = "measure"
STEP: Final = "step"
ROUTE: Final = "route"
"""Admission route dimension (coordinates :data:`ROUTES`)."""
CLINIC: Final = "clinic"
"""Community-clinic group dimension of the DES (coordinates: the configured groups)."""

# --- fixed coordinates -----------------------------------------------------
SEXES: Final[tuple[str, str]] = ("male", "female")
MAX_AGE: Final = 100
"""Last single year of age; the group ``MAX_AGE`` is open (100 and over)."""
AGES: Final[tuple[int, ...]] = tuple(range(MAX_AGE + 1))
N_AGES: Final = MAX_AGE + 1
FERTILE_AGES: Final[tuple[int, int]] = (15, 49)
"""First and last single year of age with non-zero fertility (inclusive)."""

POOLS: Final[tuple[str, ...]] = (
    "medicine",
    "surgery",
    "paediatrics",
    "obstetrics",
    "neonatal",
    "icu",
    "elderly_care",
)
"""Bed pools = hospital service lines, in this order everywhere (demand, capacity, DES)."""
ROUTES: Final[tuple[str, str]] = ("emergency", "elective")
"""Admission routes of the expected level and of the length-of-stay tables: unscheduled
(some through the ED) and planned."""
DES_ROUTES: Final[tuple[str, str, str, str]] = ("emergency", "elective", "maternity", "direct")
"""Admission routes of the DES: the planned route (``elective``) as in :data:`ROUTES`, and
the unscheduled one split by how a patient comes: ``emergency`` = admitted through the
ED (from its dispositions), ``maternity`` = in labour, ``direct`` = sent in by a
clinician; the last three are the DES's admission streams."""
ACUITIES: Final[tuple[int, ...]] = (1, 2, 3, 4)
"""China's four ED triage levels: 1 濒危 (resuscitation), 2 危重 (emergent),
3 急症 (urgent), 4 非急症 (non-urgent)."""

CENSUS_DATE: Final = "2020-11-01"
"""Reference date of China's seventh population census (第七次全国人口普查)."""
CENSUS_YEAR_FRACTION_LEFT: Final = 61 / 365
"""Years from the census date (1 November 2020) to the end of 2020: 61 days."""

# --- units (CF / UDUNITS style strings) -------------------------------------
UNIT_PERSONS: Final = "persons"
UNIT_PERSONS_PER_YEAR: Final = "persons year-1"
UNIT_YEARS: Final = "years"
UNIT_DAYS: Final = "days"
UNIT_HOURS: Final = "hours"
UNIT_BEDS: Final = "beds"
UNIT_FRACTION: Final = "1"
UNIT_PER_1000: Final = "per 1000 residents"
UNIT_VISITS_PER_YEAR: Final = "visits year-1"
UNIT_ADMISSIONS_PER_YEAR: Final = "admissions year-1"
UNIT_BED_DAYS_PER_YEAR: Final = "bed-days year-1"
UNIT_BIRTHS_PER_WOMAN: Final = "births per woman"
UNIT_PERSONS_PER_DAY: Final = "persons day-1"
UNIT_MINUTES: Final = "minutes"
UNIT_SPACES: Final = "spaces"
"""ED treatment spaces (a trolley or a bed in the ED)."""
UNIT_AMBULANCES: Final = "ambulances"
UNIT_EVENTS: Final = "events"

UNIT_YEAR: Final = "1"
"""A calendar year (a label, not a duration; CF has no unit for it)."""

# --- the plan's targets of each task (made by sim.runs.pipeline from the drawn scenario) --
TARGET_YEAR: Final = "target_year"
TARGET_BEDS: Final = "target_beds"
TARGET_PHYSICIANS: Final = "target_physicians_per_1000"
TARGET_NURSES: Final = "target_nurses_per_1000"
TARGET_NURSE_RATIO: Final = "target_nurse_physician_ratio"
TARGET_LIFE_EXPECTANCY: Final = "target_life_expectancy"
TARGET_OCCUPANCY: Final = "target_occupancy"
TARGET_BED_WAIT: Final = "target_bed_wait_probability"
TARGET_ED_WAIT_HOURS: Final = "target_ed_wait_hours"
TARGET_ED_WAIT: Final = "target_ed_wait_probability"
TARGET_AMBULANCE_WAIT: Final = "target_ambulance_wait_probability"
TARGET_VARIABLES: Final[tuple[str, ...]] = (
    TARGET_YEAR,
    TARGET_BEDS,
    TARGET_PHYSICIANS,
    TARGET_NURSES,
    TARGET_NURSE_RATIO,
    TARGET_LIFE_EXPECTANCY,
    TARGET_OCCUPANCY,
    TARGET_BED_WAIT,
    TARGET_ED_WAIT_HOURS,
    TARGET_ED_WAIT,
    TARGET_AMBULANCE_WAIT,
)
"""Every task's Dataset holds these (no dimension of their own; a batch gives them the
task's scenario, point and replicate): the targets and norms of its drawn scenario that
results are judged against. Batches written before they were stored lack them."""

RESOLVED_SCENARIO: Final = "resolved_scenario"
"""Every task's Dataset holds its drawn scenario as JSON text in this variable (no
dimension of its own, as the targets); ``sim.runs.store.resolved_scenario`` reads it
back. Batches written before it was stored lack it."""


COORDINATE_ATTRS: Final[dict[str, dict[str, str]]] = {
    SCENARIO: {"long_name": "scenario name (file stem)"},
    "scenario_label": {"long_name": "scenario label for figures and reports"},
    REPLICATE: {
        "long_name": "replicate number (0 takes the central value of every uncertain input)",
        "units": "1",
    },
    "point": {"long_name": "sweep point number (row of the sweep design)", "units": "1"},
    "sweep_parameter": {"long_name": "swept scenario key (dotted)"},
    YEAR: {"long_name": "calendar year", "units": "1"},
    SEX: {"long_name": "sex"},
    AGE: {
        "long_name": "age in completed years (the last value is the open group 100+)",
        "units": UNIT_YEARS,
    },
    SERVICE: {"long_name": "ambulatory service (community clinic, hospital outpatient, ED)"},
    POOL: {"long_name": "bed pool (service line)"},
    ACUITY: {
        "long_name": "ED triage level: 1 resuscitation, 2 emergent, 3 urgent, 4 non-urgent",
        "units": "1",
    },
    MEASURE: {"long_name": "measure"},
    STEP: {"long_name": "step of the attribution of change (adds up to the total)"},
    "route": {"long_name": "admission route (emergency or elective)"},
    "clinic": {"long_name": "community clinic (社康) group"},
}
"""Description of each coordinate of a saved result (CF ``long_name`` and ``units``);
written where a coordinate has none of its own."""


def age_label(age: int) -> str:
    """Human label of a single year of age; the last one is open ("100+")."""
    return f"{age}+" if age == MAX_AGE else str(age)


def var_attrs(units: str, long_name: str) -> dict[str, str]:
    """A variable's attributes: its units (UDUNITS-style) and CF long name."""
    return {"units": units, "long_name": long_name}


def days_in_year(year: int) -> int:
    """Days in a calendar year: 366 in a leap year (Gregorian rule), else 365."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 366 if leap else 365
