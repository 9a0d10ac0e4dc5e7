"""Scenario section ``[capacity]``: beds by pool over time, GPs, centres, ED, ambulances,
workforce, and the planning targets capacity is judged against.

Every default cites a row of ``sim/data/DATA.md`` by
id, with its unit and allowed range. Dates of openings are *decimal years*:
``2028.0`` is 1 January 2028, ``2028.5`` is 2 July 2028.

Investment scenarios change this section: move an opening, switch the plan's
target off, add ``[[capacity.additions]]`` of beds, raise the GP path.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from sim.base.names import POOLS
from sim.scenario.types import (
    Bounds,
    PathBounds,
    Strict,
    Triangular,
    Uncertain,
    YearPath,
    cross_error,
)

__all__ = [
    "BedAddition",
    "BedPoolReform",
    "CapacitySection",
    "GpCapacity",
    "PlanTarget",
    "PoolName",
    "Projects2025",
    "SecondTcm",
    "Targets",
    "Workforce",
]


def _pool(value: str) -> str:
    if value not in POOLS:
        raise ValueError(f"must be one of {', '.join(POOLS)}")
    return value


PoolName = Annotated[str, AfterValidator(_pool)]
"""A bed pool (``sim.base.names.POOLS``)."""


_DEFAULT_SHARED_POOLS: tuple[PoolName, ...] = ("medicine", "surgery")


def _tri(low: float, mode: float, high: float) -> Triangular:
    return Triangular(dist="triangular", low=low, mode=mode, high=high)


class Projects2025(Strict):
    """The four district-hospital projects of 2025 (+2,510 beds)."""

    beds: int = Field(2510, ge=0, le=20_000)
    """Beds added; 0-20,000 (CAP-PROJECTS-2025: 2,510, grade B)."""
    opening: Annotated[Uncertain, Bounds(2025.0, 2035.0, "decimal year")] = 2026.0
    """When they open; 2025-2035 (CAP-PROJECTS-2025-OPENING: 1 January 2026, assumption:
    'striving to finish by the end of 2025')."""
    in_base: bool = False
    """True if the 4.32 beds per 1,000 of end-2025 already count them (then no addition;
    CAP-PROJECTS-2025-OPENING)."""


class SecondTcm(Strict):
    """龙岗区第二中医院 (Second TCM Hospital), new: 500 medical + 500 elderly-care beds."""

    enabled: bool = True
    """Include the Second TCM Hospital in the capacity timeline."""
    acute_beds: int = Field(500, ge=0, le=5000)
    """Medical beds, spread over medicine, surgery and ICU in proportion to their base
    beds; 0-5,000 (CAP-TCM2: 500, grade A)."""
    elderly_care_beds: int = Field(500, ge=0, le=5000)
    """Elderly-care (养老) beds; 0-5,000 (CAP-TCM2: 500, grade A)."""
    opening: Annotated[Uncertain, Bounds(2026.0, 2040.0, "decimal year")] = Field(
        default_factory=lambda: _tri(2027.5, 2028.5, 2030.0)
    )
    """When it opens; 2026-2040 (CAP-TCM2-OPENING: mid-2028, 2027.5-2030, assumption)."""


class PlanTarget(Strict):
    """The plan's 23,000 available beds by the end of 2030: the beds not accounted for by
    the named projects open in equal tranches on 1 July of each year."""

    enabled: bool = True
    """Grow beds toward the plan's target (off: capacity stays as built and added)."""
    beds: float = Field(23_000.0, ge=0, le=200_000)
    """Available beds at the end of ``year``; 0-200,000 (CAP-PLAN-BEDS-2030: 23,000, grade A)."""
    year: int = Field(2030, ge=2025, le=2050)
    """Year by whose end the target is reached (CAP-PLAN-BEDS-2030)."""
    first_year: int = Field(2026, ge=2025, le=2050)
    """First year with a tranche (CAP-PLAN-PHASING, assumption)."""
    count_elderly_care: bool = True
    """Whether elderly-care beds count toward the target (CAP-PLAN-BEDS-2030, assumption)."""

    @model_validator(mode="after")
    def _years(self) -> PlanTarget:
        if self.first_year > self.year:
            raise cross_error(
                "first_year", self.first_year, f"must not be after year ({self.year})"
            )
        return self


class BedAddition(Strict):
    """Extra beds of an investment scenario (negative: a closure)."""

    pool: PoolName
    """Bed pool that changes (medicine, surgery, paediatrics, obstetrics, neonatal, icu,
    elderly_care)."""
    beds: int = Field(ge=-20_000, le=20_000)
    """Beds added (negative: closed), -20,000 to 20,000."""
    opening: float = Field(ge=2020.0, le=2050.0)
    """Decimal year the change takes effect."""
    label: str = ""
    """Name of the project, shown in reports."""


class BedPoolReform(Strict):
    """'Whole hospital, one bed pool' (全院一张床) with a bed dispatch centre: a share of
    the listed pools' beds may take any of their patients (used by the DES; the
    expected level reports its effect on the beds needed for a wait target)."""

    pools: list[PoolName] = Field(default_factory=lambda: list(_DEFAULT_SHARED_POOLS))
    """Pools that lend beds to each other (CAP-BED-POOL)."""
    share: Annotated[YearPath, PathBounds(0.0, 1.0, "fraction of the pools' beds")] = 0.0
    """Share of those beds in the common pool; 0-1 (CAP-BED-POOL: 0 = reform off)."""

    @model_validator(mode="after")
    def _distinct(self) -> BedPoolReform:
        if len(set(self.pools)) != len(self.pools) or len(self.pools) < 2:
            raise cross_error("pools", self.pools, "must name at least two different pools")
        return self


class GpCapacity(Strict):
    """General practitioners of the community centres."""

    count: Annotated[YearPath, PathBounds(0.0, 100_000.0, "GPs")] = 2528.0
    """GPs in post during each year; 0-100,000 (CAP-GP-2025: 2,528 at the end of 2025,
    grade A; default held constant). 0 in the calibration year needs ``visits_per_gp``
    (the observed ratio is undefined); with 0 GPs the GP capacity is 0 and its
    utilisation NaN (undefined)."""
    visits_per_gp: Annotated[Uncertain, Bounds(1.0, 100_000.0, "visits per GP per year")] | None = (
        None
    )
    """Community-centre visits one GP provides per year; None = the calibration year's
    observed ratio (CAP-GP-VISITS: 10,137,700 / 2,528 ≈ 4,010, grade D)."""
    productivity: Annotated[YearPath, PathBounds(0.5, 3.0, "times")] = 1.0
    """Multiplier of visits per GP, e.g. AI family-doctor assistance; 0.5-3
    (CAP-GP-PRODUCTIVITY: 1.0 = no change; plausible 1.0-1.2, assumption)."""


class Workforce(Strict):
    """Physicians and registered nurses per 1,000 residents (no district figure found)."""

    physicians_per_1000: Annotated[YearPath, PathBounds(0.0, 20.0, "per 1000 residents")] = Field(
        default_factory=lambda: _tri(2.2, 2.6, 3.0)
    )
    """0-20 (CAP-WF-PHYS: 2.6, 2.2-3.0, assumption below the plan's 2030 target of 3.0)."""
    nurses_per_1000: Annotated[YearPath, PathBounds(0.0, 20.0, "per 1000 residents")] = Field(
        default_factory=lambda: _tri(2.4, 2.9, 3.3)
    )
    """0-20 (CAP-WF-NURSE: 2.9, 2.4-3.3, assumption below the plan's 2030 target of 3.3)."""


class Targets(Strict):
    """Planning targets and norms that needs and gaps are computed against."""

    occupancy: Annotated[Uncertain, Bounds(0.5, 1.0, "fraction")] = 0.85
    """Target bed occupancy of the bed-need formula; 0.5-1 (CAP-TARGET-OCC: 85%, grade C;
    sensitivity 0.80-0.93)."""
    bed_wait_probability: float = Field(0.10, gt=0.0, lt=1.0)
    """Erlang C: largest acceptable probability that an admission waits for a bed at the
    season's peak load (CAP-TARGET-WAIT: 0.10, assumption)."""
    bed_blocking_probability: float = Field(0.01, gt=0.0, lt=1.0)
    """Erlang B: largest acceptable probability of turning a patient away at the peak
    load (CAP-TARGET-BLOCK: 0.01, assumption)."""
    ed_wait_hours: float = Field(0.5, ge=0.0, le=24.0)
    """ED: wait for a treatment space the target refers to, hours (CAP-TARGET-ED-WAIT:
    30 minutes, the level-3 response target, assumption)."""
    ed_wait_probability: float = Field(0.10, gt=0.0, lt=1.0)
    """ED: largest acceptable P(wait > ed_wait_hours) at the peak hour (CAP-TARGET-ED-WAIT)."""
    ambulance_wait_probability: float = Field(0.05, gt=0.0, lt=1.0)
    """120: largest acceptable probability that no ambulance is free at the peak hour
    (CAP-TARGET-AMB-WAIT: 5%, assumption)."""
    physicians_per_1000: float = Field(3.0, ge=0.0, le=20.0)
    """Plan target 2030 (CAP-TARGET-PHYS-2030: ≥ 3.0, grade A)."""
    nurses_per_1000: float = Field(3.3, ge=0.0, le=20.0)
    """Plan target 2030 (CAP-TARGET-NURSE-2030: ≥ 3.3, grade A)."""
    nurse_physician_ratio: float = Field(1.1, ge=0.0, le=10.0)
    """Registered nurses per physician, at least; plan target 2030 (CAP-TARGET-NURSE-2030:
    doctor : nurse 1 : 1.1, grade A)."""
    life_expectancy: float = Field(85.63, ge=50.0, le=100.0)
    """Life expectancy at birth, both sexes, years, at least; plan target 2030 (E0-2030:
    85.63, grade A). A target only: the projection's own path is ``demography.e0``."""
    residents_per_centre: float = Field(20_900.0, ge=1_000.0, le=1_000_000.0)
    """Residents per community centre the plan reports (CAP-CHC-NORM: 2.09万, grade A)."""
    residents_per_ambulance: float = Field(30_000.0, ge=1_000.0, le=1_000_000.0)
    """National norm, one ambulance per 30,000 residents (CAP-AMB-NORM, grade A)."""


class CapacitySection(Strict):
    """Capacity by date: the base year's resources plus dated changes."""

    beds_per_1000: Annotated[Uncertain, Bounds(0.5, 20.0, "beds per 1000 residents")] = 4.32
    """Hospital beds per 1,000 residents at the end of the calibration year; 0.5-20
    (CAP-BEDS-PER-1000-2025: 4.32, grade A). Split over pools by the calibration
    (CAP-POOL-SPLIT)."""
    projects_2025: Projects2025 = Field(default_factory=Projects2025)
    second_tcm: SecondTcm = Field(default_factory=SecondTcm)
    plan_target: PlanTarget = Field(default_factory=PlanTarget)
    additions: list[BedAddition] = Field(default_factory=list)
    """Extra dated bed changes by pool (``[[capacity.additions]]``)."""
    bed_pool: BedPoolReform = Field(default_factory=BedPoolReform)
    gp: GpCapacity = Field(default_factory=GpCapacity)
    chc_centres: Annotated[YearPath, PathBounds(1.0, 2000.0, "centres")] = 190.0
    """Community health centres (社康机构) in each year; 1-2,000 (CAP-CHC-2025: 190, grade A)."""
    ed_spaces: Annotated[YearPath, PathBounds(1.0, 5000.0, "treatment spaces")] | None = None
    """ED treatment spaces in each year; None = sized to the calibration year's peak-hour
    demand at the ED wait target and held (CAP-ED-SPACES: not found, assumption)."""
    ambulances: Annotated[YearPath, PathBounds(1.0, 5000.0, "ambulances")] | None = None
    """Ambulances in service in each year; None = the national norm at the calibration
    year's population, held (CAP-AMB-NORM; Longgang's fleet was not found)."""
    ambulance_job_hours: Annotated[Uncertain, Bounds(0.25, 6.0, "hours")] = Field(
        default_factory=lambda: _tri(0.75, 1.0, 1.5)
    )
    """Mean time an ambulance is busy per dispatch; 0.25-6 hours (CAP-AMB-JOB, assumption)."""
    workforce: Workforce = Field(default_factory=Workforce)
    targets: Targets = Field(default_factory=Targets)
