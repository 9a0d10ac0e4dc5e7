"""Scenario section ``[demand]``: calibration targets, cross-boundary flows, growth, reforms.

Every default cites a row of ``sim/data/DATA.md`` by
id, with its unit and allowed range. Uncertain inputs take a number or a
distribution (see :mod:`sim.scenario.types`); replicate 0 uses central values.

Reform levers describe *change after the calibration year*: each is 0 in that
year (checked here), because the base year's practice is already inside the
calibrated levels. Write them as year tables, e.g. ``ed_diversion = {2025 = 0,
2030 = 0.2}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, model_validator

from sim.scenario.capacity import PoolName
from sim.scenario.types import (
    Bounds,
    Interval80,
    PathBounds,
    Strict,
    Triangular,
    Uncertain,
    YearPath,
    central,
    checks_central_values,
    cross_error,
    path_at,
)

__all__ = [
    "DemandCalibration",
    "DemandSection",
    "Flows",
    "Growth",
    "IcuStepDown",
    "Maternity",
    "Reforms",
]


def _tri(low: float, mode: float, high: float) -> Triangular:
    return Triangular(dist="triangular", low=low, mode=mode, high=high)


_DISPATCH_RATE = Annotated[Uncertain, Bounds(0.0, 200.0, "dispatches per 1000 residents per year")]
_PER_BIRTH = Annotated[Uncertain, Bounds(0.5, 3.0, "admissions per live birth")]
_NEONATAL_PER_BIRTH = Annotated[Uncertain, Bounds(0.0, 0.5, "admissions per live birth")]
_FLOW = Annotated[YearPath, PathBounds(0.0, 0.9, "fraction")]
_STAY_FRACTION = Annotated[
    Uncertain, Bounds(0.05, 1.0, "fraction of the mean elective surgical stay")
]


def _tri_field(low: float, mode: float, high: float) -> Any:
    """Default of a field: a triangular distribution (a fresh object per model)."""
    return Field(default_factory=lambda: _tri(low, mode, high))


def _interval_field(low: float, high: float) -> Any:
    """Default of a field: an 80% interval (a fresh object per model)."""
    return Field(default_factory=lambda: Interval80(low=low, high=high))


class DemandCalibration(Strict):
    """Observed base-year figures that set the levels of every use rate
    (``sim.model.demand.calibrate``; beds come from ``capacity.beds_per_1000``)."""

    year: int = Field(2025, ge=2021, le=2050)
    """Calendar year of the figures below (DATA.md CAL-YEAR)."""
    chc_visits: Annotated[Uncertain, Bounds(1.0, 1e9, "visits per year")] = 10_137_700.0
    """Community-centre (社康) visits in the calibration year; 1 to 1e9 visits/year
    (CAL-CHC-VISITS-2025: 10,137,700, grade A)."""
    chc_share: Annotated[Uncertain, Bounds(0.01, 0.99, "fraction of all visits")] = 0.5151
    """Community centres' share of all visits counted by the plan; 0.01-0.99
    (CAL-CHC-SHARE-2025: 51.51%, grade A)."""
    ed_share_of_hospital_visits: Annotated[Uncertain, Bounds(0.0, 0.5, "fraction")] = _tri_field(
        0.07, 0.086, 0.144
    )
    """Emergency-department share of hospital (non-社康) visits; 0-0.5 (CAL-ED-SHARE:
    Guangzhou 8.6% of hospital visits 2021 and 7.0% of all visits 2022, grade D)."""
    occupancy: Annotated[Uncertain, Bounds(0.3, 1.0, "fraction of bed-days")] = _interval_field(
        0.80, 0.85
    )
    """Average bed occupancy of the district's beds in the calibration year; 0.3-1
    (CAL-OCCUPANCY: 80-85%, grade D/S)."""
    alos_days: Annotated[Uncertain, Bounds(1.0, 30.0, "days")] = _tri_field(7.0, 7.5, 8.8)
    """Average length of stay of admissions to district hospitals; 1-30 days
    (CAL-ALOS: 7.5, band 7.0-8.8, grade D)."""
    ambulance_per_1000: _DISPATCH_RATE = _tri_field(15.0, 20.0, 30.0)
    """120 ambulance dispatches per 1,000 residents in the calibration year; 0-200
    (CAL-AMB-RATE: 15-30, grade D)."""


class Maternity(Strict):
    """Admissions driven by projected births, not by a per-capita rate."""

    obstetric_per_birth: _PER_BIRTH = _tri_field(1.0, 1.15, 1.4)
    """Obstetric admissions (delivery and antenatal) per live birth; 0.5-3
    (SL-OBST-PER-BIRTH: 1.15, grade S)."""
    neonatal_per_birth: _NEONATAL_PER_BIRTH = _interval_field(0.06, 0.14)
    """Neonatal-unit admissions per live birth; 0-0.5 (SL-NEONATAL-PER-BIRTH: 6-14%, grade S)."""


class Flows(Strict):
    """Cross-boundary flows (explicit assumptions: no district figure was found).

    An *outflow* is the share of residents' use served outside the district; an
    *inflow* is the share of the district's own activity that serves non-residents.
    Served in the district = residents' use × (1 − outflow) / (1 − inflow).
    Community centres serve residents only (FLOW-CHC)."""

    admissions_outflow: _FLOW = _interval_field(0.05, 0.20)
    """Fraction of residents' admissions treated outside the district; 0-0.9
    (FLOW-ADM: 5-20%, grade S)."""
    admissions_inflow: _FLOW = _interval_field(0.05, 0.20)
    """Fraction of the district hospitals' admissions who are non-residents; 0-0.9
    (FLOW-ADM: 5-20%, grade S)."""
    outpatient_outflow: _FLOW = _interval_field(0.10, 0.35)
    """Fraction of residents' hospital outpatient visits made outside the district; 0-0.9
    (FLOW-OUTPATIENT: 10-35%, grade S; Longgang's 4.8 visits per head against
    Shenzhen's 7.24 suggest residents use city hospitals elsewhere)."""
    outpatient_inflow: _FLOW = _interval_field(0.05, 0.15)
    """Fraction of the district's outpatient visits made by non-residents; 0-0.9
    (FLOW-OUTPATIENT: 5-15%, grade S)."""
    ed_outflow: _FLOW = _interval_field(0.05, 0.15)
    """Fraction of residents' ED visits made outside the district; 0-0.9
    (FLOW-ED: 5-15%, grade S)."""
    ed_inflow: _FLOW = _interval_field(0.05, 0.15)
    """Fraction of the district's ED visits made by non-residents; 0-0.9
    (FLOW-ED: 5-15%, grade S)."""


class Growth(Strict):
    """Non-demographic growth of use per head, per year (compounded from the
    calibration year; a year table gives the rate in each year)."""

    chc: Annotated[YearPath, PathBounds(-0.2, 0.3, "per year")] = _tri_field(0.0, 0.01, 0.025)
    """Community-centre visits per head; -0.2-0.3 per year
    (GROWTH-VISITS: 1%, 0-2.5%, grade D/S)."""
    outpatient: Annotated[YearPath, PathBounds(-0.2, 0.3, "per year")] = _tri_field(
        0.0, 0.01, 0.025
    )
    """Hospital outpatient visits per head; -0.2-0.3 per year (GROWTH-VISITS)."""
    ed: Annotated[YearPath, PathBounds(-0.2, 0.3, "per year")] = _tri_field(0.0, 0.01, 0.025)
    """ED visits per head; -0.2-0.3 per year (GROWTH-VISITS)."""
    ambulance: Annotated[YearPath, PathBounds(-0.2, 0.3, "per year")] = _tri_field(0.0, 0.02, 0.04)
    """120 dispatches per head; -0.2-0.3 per year (GROWTH-AMB: 2%, 0-4%, grade S)."""
    admissions: Annotated[YearPath, PathBounds(-0.2, 0.3, "per year")] = _tri_field(0.0, 0.01, 0.03)
    """Admissions per head of the population-driven lines (not obstetrics or neonatal);
    -0.2-0.3 per year (GROWTH-ADM: 1%, 0-3%, grade D/S)."""


class Reforms(Strict):
    """The plan's service-model reforms that change demand (capacity-side reforms,
    the one bed pool and GP productivity, are in ``[capacity]``). Each is 0 in the
    calibration year; see DATA.md REF-* for sizes and sources."""

    chc_target_share: (
        Annotated[YearPath, PathBounds(0.0, 0.95, "fraction of all visits")] | None
    ) = None
    """Shift of visits to community centres: after the calibration year, hospital
    outpatient visits move one for one to 社康 until 社康 hold this share of all
    visits (never away from 社康); None = no shift. 0-0.95 (REF-CHC-SHIFT: 41.09% in
    2021 to 51.51% in 2025, grade A; the target is a scenario choice)."""
    ed_diversion: Annotated[YearPath, PathBounds(0.0, 1.0, "fraction of level-4 ED visits")] = 0.0
    """Share of non-urgent (level 4) ED visits diverted to community centres; 0-1
    (REF-ED-DIVERSION, assumption)."""
    family_doctor: Annotated[YearPath, PathBounds(0.0, 0.5, "fraction of admissions avoided")] = 0.0
    """Emergency medical admissions of residents aged 35+ avoided by family-doctor
    chronic-disease management; 0-0.5 (REF-FAMILY-DOCTOR, assumption: plausible 0-0.05)."""
    exercise: Annotated[YearPath, PathBounds(0.0, 0.3, "fraction of admissions avoided")] = 0.0
    """Emergency medicine and surgery admissions of residents aged 60+ avoided by
    exercise-for-health (体医融合) programmes; 0-0.3 (REF-EXERCISE, assumption:
    plausible 0-0.03; seeds 000, 004 give no effect size)."""
    day_surgery: Annotated[YearPath, PathBounds(0.0, 0.9, "fraction of elective admissions")] = 0.0
    """Elective surgical inpatient admissions converted to day cases (no overnight
    bed); 0-0.9 (REF-DAY-SURGERY, assumption)."""
    day_case_stay_fraction: _STAY_FRACTION = _tri_field(0.3, 0.5, 0.7)
    """Former stay of the converted cases relative to the elective surgical mean
    (they are the shorter cases); 0.05-1 (REF-DAY-CASE-STAY, assumption)."""
    pre_admission_days: Annotated[YearPath, PathBounds(0.0, 3.0, "days per elective admission")] = (
        0.0
    )
    """Days of stay saved per elective medical or surgical admission by pre-admission
    (预住院) work-up; 0-3 days, and never more than half the mean stay
    (REF-PRE-ADMISSION, assumption)."""
    elderly_care_transfer: Annotated[
        YearPath, PathBounds(0.0, 1.0, "fraction of long-staying patients")
    ] = 0.0
    """Integrated elderly care (医养结合): share of medical patients aged 65+ still in
    hospital after ``elderly_care_after_days`` who move to an elderly-care bed for the
    rest of their stay; 0-1 (REF-ELDERLY-TRANSFER, assumption)."""
    elderly_care_after_days: Annotated[Uncertain, Bounds(1.0, 90.0, "days")] = _tri_field(
        7.0, 14.0, 21.0
    )
    """Days in a medical bed before such a transfer; 1-90 (REF-ELDERLY-AFTER, assumption)."""


class IcuStepDown(Strict):
    """ICU step-down: an ICU episode ends in a ward bed. A share of every ICU stay (the
    stay of ``los.csv``'s ICU line is the whole episode) is spent in a bed of ``pool``
    after the ICU; the expected level moves that share of ICU bed-days to ``pool``, the
    DES moves the patient there for that share of the stay (DATA.md LOS-ICU-STEP-DOWN)."""

    share: Annotated[Uncertain, Bounds(0.0, 0.9, "fraction of the ICU episode's stay")] = (
        _tri_field(0.1, 0.25, 0.5)
    )
    """Share of an ICU episode's stay spent in a ward step-down bed after the ICU; 0-0.9
    (0 = the whole stay in the ICU) (LOS-ICU-STEP-DOWN: triangular 0.1 / 0.25 / 0.5,
    assumption, grade S)."""
    pool: PoolName = "medicine"
    """Ward pool of the step-down beds: medicine, surgery, paediatrics, obstetrics, neonatal
    or elderly_care, not icu (LOS-ICU-STEP-DOWN)."""

    @model_validator(mode="after")
    def _ward(self) -> IcuStepDown:
        if self.pool == "icu":
            raise cross_error("pool", self.pool, "the step-down pool must be a ward, not icu")
        return self


REFORM_LEVERS = (
    "ed_diversion",
    "family_doctor",
    "exercise",
    "day_surgery",
    "pre_admission_days",
    "elderly_care_transfer",
)
"""Reform fields that must be 0 in the calibration year."""


def _central_path(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: central(v) for k, v in value.items()}
    return central(value)


class DemandSection(Strict):
    """Use rates, their calibration to the base year, and their change over time."""

    calibration: DemandCalibration = Field(default_factory=DemandCalibration)
    maternity: Maternity = Field(default_factory=Maternity)
    flows: Flows = Field(default_factory=Flows)
    growth: Growth = Field(default_factory=Growth)
    reforms: Reforms = Field(default_factory=Reforms)
    los_older_multiplier: Annotated[Uncertain, Bounds(0.5, 2.0, "times")] = _tri_field(
        1.0, 1.0, 1.4
    )
    """Mean stay of patients aged 65+ relative to younger patients of the same line
    and route; 0.5-2 (LOS-OLDER: 1.0, sensitivity to 1.4, grade S)."""
    ed_older_rr: Annotated[Uncertain, Bounds(0.5, 3.0, "times")] = _tri_field(0.85, 1.0, 1.33)
    """ED visits per head at 65+ relative to the age shape USE-SHAPE-ED (which already
    rises to 1.5 times ages 18-44 at 75+); 0.5-3 (ED-OLDER-RR: 0.85 / 1.0 / 1.33, so that
    75+ spans NHAMCS's 1.3-2.0, grade B/S)."""
    icu_step_down: IcuStepDown = Field(default_factory=IcuStepDown)
    """Part of each ICU episode spent in a ward bed after the ICU (LOS-ICU-STEP-DOWN)."""

    @model_validator(mode="after")
    def _reforms_start_at_zero(self, info: ValidationInfo) -> DemandSection:
        if not checks_central_values(info):
            return self
        year = self.calibration.year
        for name in REFORM_LEVERS:
            value = getattr(self.reforms, name)
            at_base = float(path_at(_central_path(value), year))
            if at_base != 0.0:
                raise cross_error(
                    f"reforms.{name}",
                    value,
                    f"a reform is a change after the calibration year: its value in {year} "
                    f"must be 0 (e.g. {{{year} = 0, 2030 = 0.1}})",
                )
        return self
