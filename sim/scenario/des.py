"""Scenario section ``[des]``: operational assumptions of the discrete-event model.

None of these figures was found for Longgang; each is a labelled assumption
(grade S in ``sim/data/DATA.md``, ids DES-*) with the range to test it over.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, model_validator

from sim.scenario.types import (
    Bounds,
    Strict,
    Uncertain,
    central,
    checks_central_values,
    cross_error,
)


class ClinicAssumptions(Strict):
    """Community health centres (社康) as daily appointment books."""

    groups: int = Field(11, ge=1, le=200)
    """Appointment books the district's demand and GP capacity are split over evenly
    (DES-CLINIC-GROUPS: 11 sub-districts, 街道; their populations were not found)."""
    weekend_capacity: Annotated[Uncertain, Bounds(0.0, 1.0, "fraction of a working day")] = 0.5
    """Appointments on a weekend or public holiday relative to a working day
    (DES-CLINIC-WEEKEND: 0.5, range 0.3-0.7, assumption)."""
    p_abandon: Annotated[Uncertain, Bounds(0.0, 1.0, "per unmet request per day")] = 0.3
    """Share of requests still unmet at the end of a day that give up
    (DES-CLINIC-ABANDON: 0.3, range 0.1-0.5, assumption)."""
    p_divert_ed: Annotated[Uncertain, Bounds(0.0, 1.0, "per unmet request per day")] = 0.02
    """Share that go to a hospital emergency department instead
    (DES-CLINIC-DIVERT-ED: 0.02, range 0.01-0.05, assumption)."""
    p_divert_outpatient: Annotated[Uncertain, Bounds(0.0, 1.0, "per unmet request per day")] = 0.15
    """Share that go to hospital outpatients instead (DES-CLINIC-DIVERT-OP: 0.15, range
    0.05-0.3, assumption)."""

    @model_validator(mode="after")
    def _sum(self, info: ValidationInfo) -> ClinicAssumptions:
        keys = ("p_abandon", "p_divert_ed", "p_divert_outpatient")
        total = sum(central(getattr(self, k)) for k in keys)
        if total > 1.0 and checks_central_values(info):
            raise cross_error(
                "p_abandon",
                self.p_abandon,
                "p_abandon + p_divert_ed + p_divert_outpatient must not exceed 1",
            )
        return self


class EdAssumptions(Strict):
    """Emergency department treatment and disposition."""

    treatment_cv: Annotated[Uncertain, Bounds(0.1, 3.0, "coefficient of variation")] = 0.8
    """Spread of the time in a treatment space (lognormal; the means by triage level are in
    ed_acuity.csv) (DES-ED-TREAT-CV: 0.8, range 0.5-1.2, assumption)."""
    admit_weights: list[float] = Field(
        default_factory=lambda: [0.8, 0.5, 0.15, 0.01], min_length=4, max_length=4
    )
    """Relative chance of admission at triage levels 1-4; scaled so that the admissions
    through the ED equal the expected level's (DES-ED-ADMIT-WEIGHTS, assumption)."""
    transfer: list[float] = Field(
        default_factory=lambda: [0.05, 0.03, 0.01, 0.0], min_length=4, max_length=4
    )
    """Share transferred to another hospital at triage levels 1-4 (DES-ED-TRANSFER,
    assumption)."""

    @model_validator(mode="after")
    def _probabilities(self) -> EdAssumptions:
        for name in ("admit_weights", "transfer"):
            values = getattr(self, name)
            if any(v < 0 or v > 1 for v in values):
                raise cross_error(name, list(values), "each value must be from 0 to 1")
        return self


class AmbulanceAssumptions(Strict):
    """Travel to the scene; the job time is ``capacity.ambulance_job_hours``."""

    travel_minutes: Annotated[Uncertain, Bounds(1.0, 60.0, "minutes")] = 10.0
    """Mean travel time from dispatch to the scene (DES-AMB-TRAVEL: 10 minutes, range 7-14;
    Shanghai's mean response was 12.4 minutes in 2019, DATA_NOTES §2c)."""
    travel_cv: Annotated[Uncertain, Bounds(0.1, 2.0, "coefficient of variation")] = 0.5
    """Spread of travel times (lognormal) (DES-AMB-TRAVEL, assumption)."""
    job_cv: Annotated[Uncertain, Bounds(0.1, 2.0, "coefficient of variation")] = 0.5
    """Spread of job times (lognormal) (DES-AMB-JOB-CV, assumption)."""


class DesSection(Strict):
    """How the discrete-event model runs a replicate."""

    warmup_days: int = Field(365, ge=0, le=3650)
    """Days simulated before 1 January of run.start_year and discarded; the first year's
    rates repeat during it (DES-WARMUP: at least 180 days for the long-stay pool)."""
    discharge: Literal["daytime", "exact"] = "daytime"
    """"daytime": patients leave during the day (des.prof.discharge profile), keeping the
    midnight census of exact stays; "exact": at admission + length of stay."""
    pooling_los_multiplier: Annotated[Uncertain, Bounds(1.0, 2.0, "times")] = 1.1
    """Length-of-stay penalty of a patient placed in another pool's bed under the one-bed-pool
    reform (capacity.bed_pool) (DES-POOL-PENALTY: 1.1, range 1.0-1.3, assumption)."""
    elective_retry_hour: float = Field(8.0, ge=0.0, lt=24.0)
    """Hour of the day deferred electives are offered free beds on working days."""
    clinics: ClinicAssumptions = Field(default_factory=ClinicAssumptions)
    ed: EdAssumptions = Field(default_factory=EdAssumptions)
    ambulance: AmbulanceAssumptions = Field(default_factory=AmbulanceAssumptions)
