"""The scenario: one frozen, validated object per run, built from TOML files.

Every key, with its unit, range and default source, is listed in
``scenarios/README.md``. Defaults cite rows of ``sim/data/DATA.md`` by id.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from sim.scenario.capacity import CapacitySection
from sim.scenario.demand import DemandSection
from sim.scenario.des import DesSection
from sim.scenario.types import (
    FIRST_YEAR,
    LAST_YEAR,
    Bounds,
    Interval80,
    PathBounds,
    Strict,
    Uncertain,
    YearPath,
    central,
    checks_central_values,
    cross_error,
    path_at,
)

_IMR = Annotated[YearPath, PathBounds(0.0, 0.1, "probability of dying before age 1")]
_NET = Annotated[YearPath, PathBounds(-500_000, 500_000, "persons per year")]

MIN_YEAR = FIRST_YEAR
MAX_END_YEAR = LAST_YEAR
SEED_LIMIT = 2**63
"""Seeds are whole numbers from 0 to SEED_LIMIT - 1 (they are stored as 64-bit integers
in result files): ``run.seed``, ``--seed`` and a sweep's ``seed``."""
SEED_ALLOWED = "must be a whole number from 0 to 2**63 - 1"


def is_seed(value: Any) -> bool:
    """Whether ``value`` is an allowed seed (see :data:`SEED_LIMIT`; True is no seed)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < SEED_LIMIT


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,63}", value):
        raise ValueError(
            "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
        )
    return value


class RunSection(Strict):
    """What to run: years, horizon and the root seed."""

    start_year: int = Field(2025, ge=MIN_YEAR, le=MAX_END_YEAR)
    """First calendar year of demand and capacity results (the DES starts on 1 January)."""
    end_year: int = Field(2030, ge=MIN_YEAR, le=MAX_END_YEAR)
    """Last calendar year projected and simulated (inclusive); at most 2050 for the
    projection, 2035 for demand and the DES (the last year of the holiday calendar,
    sim/data/holidays.csv)."""
    seed: int = Field(20251124, ge=0, lt=SEED_LIMIT)
    """Root seed of all random streams (see sim/base/rng.py)."""

    @model_validator(mode="after")
    def _years(self) -> RunSection:
        if self.end_year < self.start_year:
            raise cross_error(
                "end_year", self.end_year, f"must not be before run.start_year ({self.start_year})"
            )
        return self


_TABLE = r"(default|hongkong|[^\s].*\.csv)"


def _table(value: str) -> str:
    if not re.fullmatch(_TABLE, value):
        raise ValueError(
            'must be "default", a built-in name such as "hongkong", or a path to a .csv file'
        )
    return value


TableRef = Annotated[str, AfterValidator(_table)]


class DataSection(Strict):
    """Which base tables to use: a built-in name or a CSV path (relative to the
    scenario file that names it). A user's CSV must have the built-in table's columns."""

    base_population: TableRef = "default"
    """Residents by sex and single year of age at the census date (columns sex, age, population)."""
    fertility_pattern: TableRef = "default"
    """Share of the TFR at each age 15-49 (columns age, share); "hongkong" = later childbearing."""
    mortality_standard: TableRef = "default"
    """Standard death rates m(x) for the Brass relational model (columns sex, age, mx)."""
    migration_profile: TableRef = "default"
    """Age-sex shape of net migration (columns sex, age, all, labour, elderly)."""


def _default_tfr() -> dict[str, Uncertain]:
    """Births per woman by year (a function: each scenario gets its own table)."""
    return {"2021": 1.2, "2023": 1.0, "2030": 1.0}


def _default_e0() -> dict[str, Uncertain]:
    """Years of life expectancy at birth by year (a function, as :func:`_default_tfr`)."""
    return {"2021": 83.73, "2030": 85.63}


class DemographySection(Strict):
    """Fertility and mortality assumptions of the cohort-component projection."""

    tfr: Annotated[YearPath, PathBounds(0.0, 8.0, "births per woman")] = Field(
        default_factory=_default_tfr
    )
    """Total fertility rate by year (DATA.md TFR-2021, TFR-2030-CENTRAL)."""
    srb: Annotated[Uncertain, Bounds(1.0, 1.3, "male births per female birth")] = 1.10
    """Sex ratio at birth (DATA.md SRB)."""
    e0: Annotated[YearPath, PathBounds(60.0, 95.0, "years")] = Field(default_factory=_default_e0)
    """Life expectancy at birth, both sexes, by year (DATA.md E0-2021, E0-2030)."""
    e0_extra_gain: Annotated[Uncertain, Bounds(-0.5, 1.0, "years of e0 per year")] = 0.0
    """Ageing lever: extra gain in e0 each year after the calibration year, on top of
    the e0 path."""
    infant_mortality: _IMR = 0.0011
    """1q0, set on its own; the rest of the life table is solved to keep e0 on target
    (DATA.md IMR)."""


class MigrationSection(Strict):
    """Net migration after the calibration year, and the ageing levers.

    Up to the calibration year the annual net migration total is solved so that
    the projection reaches the calibration population (see CalibrationSection).
    """

    net_total: _NET | None = None
    """Net migrants per year after the calibration year; by default the calibrated
    level continues."""
    elderly_parents: Annotated[YearPath, PathBounds(-200_000, 200_000, "persons per year")] = 0.0
    """Ageing lever: extra net inflow of older parents (随迁老人), shaped by the
    'elderly' profile."""
    young_workers: Annotated[YearPath, PathBounds(-500_000, 500_000, "persons per year")] = 0.0
    """Ageing lever: change in net inflow of young workers (negative: less inflow or more outflow),
    shaped by the 'labour' profile."""


class CalibrationSection(Strict):
    """The published population the projection must reach (DATA.md POP-2025)."""

    enabled: bool = True
    """Solve net migration up to ``year`` so the projection reaches ``population``."""
    year: int = Field(2025, ge=2021, le=MAX_END_YEAR)
    """Calendar year whose end (31 December) the target refers to."""
    population: Annotated[Uncertain, Bounds(1e5, 1e8, "persons")] = Field(
        default_factory=lambda: Interval80(low=4_100_000, high=4_130_000)
    )
    """Resident population at the end of ``year``."""
    default_net_migration: Annotated[Uncertain, Bounds(-500_000, 500_000, "persons per year")] = 0.0
    """Net migrants per year up to ``year`` when calibration is disabled (DATA.md MIG-NET)."""


class Scenario(Strict):
    """A complete, validated scenario. Build it with :func:`sim.scenario.load`."""

    name: Annotated[str, AfterValidator(_slug)]
    """Short identifier used in result coordinates and file names."""
    label: str = ""
    """Readable title for figures and the report."""
    description: str = ""
    """The scenario's assumptions in plain words (shown in the report)."""
    run: RunSection = Field(default_factory=RunSection)
    data: DataSection = Field(default_factory=DataSection)
    demography: DemographySection = Field(default_factory=DemographySection)
    migration: MigrationSection = Field(default_factory=MigrationSection)
    calibration: CalibrationSection = Field(default_factory=CalibrationSection)
    demand: DemandSection = Field(default_factory=DemandSection)
    capacity: CapacitySection = Field(default_factory=CapacitySection)
    des: DesSection = Field(default_factory=DesSection)

    @model_validator(mode="after")
    def _cross(self, info: ValidationInfo) -> Scenario:
        if self.calibration.enabled and self.calibration.year > self.run.end_year:
            raise cross_error(
                "calibration.year",
                self.calibration.year,
                f"must not be after run.end_year ({self.run.end_year})",
            )
        if checks_central_values(info):
            self._gps_in_calibration_year()
        return self

    def _gps_in_calibration_year(self) -> None:
        """Visits per GP default to the calibration year's observed ratio, which is
        undefined with no GPs in that year: then they must be given."""
        gp, year = self.capacity.gp, self.demand.calibration.year
        if gp.visits_per_gp is not None:
            return
        count = gp.count
        at_base = (
            path_at({k: central(v) for k, v in count.items()}, year)
            if isinstance(count, dict)
            else central(count)
        )
        if float(at_base) == 0.0:
            raise cross_error(
                "capacity.gp.count",
                count,
                f"is 0 in the calibration year ({year}), so visits per GP cannot be "
                "observed: set capacity.gp.visits_per_gp",
            )


__all__ = [
    "CalibrationSection",
    "DataSection",
    "DemographySection",
    "MigrationSection",
    "RunSection",
    "Scenario",
    "Uncertain",
]
