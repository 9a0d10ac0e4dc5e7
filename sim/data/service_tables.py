"""Service-use tables of the demand model: age shapes, service lines, stays, ED acuity.

Four default CSVs ship in this folder (derived by ``tools/derive_demand_data.py``;
provenance in ``DATA.md``):

* ``use_rate_shapes.csv`` (``service, sex, age, relative_rate``): the age-sex shape
  of each per-capita service, mean 1 over the reference population. Levels are set
  by the base-year calibration (``sim.model.demand.calibrate``), not by this table.
* ``service_lines.csv`` (``pool, driver, emergency_share, via_ed_share,
  emergency_profile, elective_profile``): one row per bed pool; ``driver`` is
  ``population`` (per-capita, shaped by the table above) or ``births``.
* ``los.csv`` (``pool, age_from, age_to, route, family, mean_days, cv``): length of
  stay by pool, age band and route, before the calibration's common scale factor.
* ``ed_acuity.csv`` (``age_from, age_to, acuity, share, ambulance_share,
  treatment_hours``): China's four triage levels by age band.

A user may replace any of them with a CSV of the same columns; it is checked here
with the one-line :class:`~sim.base.errors.ScenarioError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sim.base.errors import ScenarioError
from sim.base.names import ACUITIES, MAX_AGE, N_AGES, POOLS, ROUTES, SEXES
from sim.data import DATA_DIR, read_csv

__all__ = [
    "ACUITIES",
    "PER_CAPITA_SERVICES",
    "POOLS",
    "ROUTES",
    "SERVICE_TABLES",
    "LosEntry",
    "ServiceLine",
    "ServiceTables",
    "load_service_tables",
]

PER_CAPITA_SERVICES: Final[tuple[str, ...]] = ("chc", "outpatient", "ed", "ambulance")
"""Services with an age shape other than the admissions of a pool."""
DRIVERS: Final[tuple[str, str]] = ("population", "births")

SERVICE_TABLES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "use_rate_shapes": ("use_rate_shapes.csv", ("service", "sex", "age", "relative_rate")),
    "service_lines": (
        "service_lines.csv",
        (
            "pool",
            "driver",
            "emergency_share",
            "via_ed_share",
            "emergency_profile",
            "elective_profile",
        ),
    ),
    "los": ("los.csv", ("pool", "age_from", "age_to", "route", "family", "mean_days", "cv")),
    "ed_acuity": (
        "ed_acuity.csv",
        ("age_from", "age_to", "acuity", "share", "ambulance_share", "treatment_hours"),
    ),
}
"""Table name -> (default file in this folder, exact columns)."""

LOS_FAMILIES: Final = ("lognormal", "gamma", "exponential")
SHARE_TOLERANCE: Final = 1e-6

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ServiceLine:
    """One bed pool's admissions: what drives them and how they arrive."""

    pool: str
    driver: str
    """``"population"`` (per-capita rates by age and sex) or ``"births"`` (per live birth)."""
    emergency_share: float
    """Unscheduled share of admissions (fraction); the rest are planned (elective)."""
    via_ed_share: float
    """Share of the unscheduled admissions that come through the ED (fraction)."""
    emergency_profile: str
    """Arrival profile of unscheduled admissions (``sim.data.profiles``)."""
    elective_profile: str
    """Arrival profile of planned admissions."""


@dataclass(frozen=True)
class LosEntry:
    """Length-of-stay distribution of one pool, route and age band (before calibration)."""

    family: str
    mean_days: float
    cv: float


@dataclass(frozen=True)
class ServiceTables:
    """The demand model's base tables, checked and indexed."""

    shapes: dict[str, FloatArray]
    """Service (``chc``, ``outpatient``, ``ed``, ``ambulance`` and each population-driven
    pool) -> relative rate [sex, age] (sex order ``sim.base.names.SEXES``)."""
    lines: dict[str, ServiceLine]
    """Pool -> service line, in the order of :data:`POOLS`."""
    los_bands: tuple[tuple[int, int], ...]
    """Age bands (first, last age inclusive; 100 = 100+) of the LOS table."""
    los: dict[tuple[str, str, int], LosEntry]
    """(pool, route, band index) -> LOS distribution."""
    ed_bands: tuple[tuple[int, int], ...]
    """Age bands of the ED acuity table."""
    ed_share: FloatArray
    """[band, acuity] share of ED visits at each triage level; rows sum to 1."""
    ed_ambulance_share: FloatArray
    """[band, acuity] share arriving by ambulance (fraction)."""
    ed_treatment_hours: FloatArray
    """[band, acuity] mean hours in an ED treatment space."""
    sources: dict[str, str]

    def los_band_of_age(self) -> NDArray[np.int64]:
        """Index of the LOS band of each single age 0..100."""
        return _band_index(self.los_bands)

    def ed_band_of_age(self) -> NDArray[np.int64]:
        """Index of the ED band of each single age 0..100."""
        return _band_index(self.ed_bands)


def _band_index(bands: tuple[tuple[int, int], ...]) -> NDArray[np.int64]:
    out = np.empty(N_AGES, dtype=np.int64)
    for i, (lo, hi) in enumerate(bands):
        out[lo : hi + 1] = i
    return out


def _path(table: str, ref: str) -> Path:
    if ref == "default":
        return DATA_DIR / SERVICE_TABLES[table][0]
    if ref.endswith(".csv"):
        return Path(ref)
    raise ScenarioError(None, f"data.{table}", ref, 'must be "default" or a path to a .csv file')


def _num(
    path: Path,
    line: int,
    column: str,
    text: str,
    *,
    low: float = 0.0,
    high: float = math.inf,
    integer: bool = False,
) -> float:
    where = f"row {line}, {column}"
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(path, where, text, "must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        limit = f"from {low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
        raise ScenarioError(path, where, text, f"must be a number {limit}")
    if integer and value != int(value):
        raise ScenarioError(path, where, text, "must be a whole number")
    return value


def _choice(path: Path, line: int, column: str, text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise ScenarioError(
            path, f"row {line}, {column}", text, f"must be one of {', '.join(allowed)}"
        )
    return text


def _read_shapes(path: Path, lines: dict[str, ServiceLine]) -> dict[str, FloatArray]:
    rows = read_csv(path, SERVICE_TABLES["use_rate_shapes"][1], "data.use_rate_shapes")
    wanted = PER_CAPITA_SERVICES + tuple(p for p, ln in lines.items() if ln.driver == "population")
    out = {s: np.full((len(SEXES), N_AGES), np.nan) for s in wanted}
    for line, row in enumerate(rows, start=2):
        service = _choice(path, line, "service", row["service"], wanted)
        s = SEXES.index(_choice(path, line, "sex", row["sex"], SEXES))
        age = int(_num(path, line, "age", row["age"], high=MAX_AGE, integer=True))
        if not math.isnan(out[service][s, age]):
            raise ScenarioError(
                path, f"row {line}", f"{service}, {row['sex']}, {age}", "appears twice"
            )
        out[service][s, age] = _num(path, line, "relative_rate", row["relative_rate"])
    for service, grid in out.items():
        if np.isnan(grid).any():
            raise ScenarioError(
                path,
                "service",
                service,
                f"needs a row for every sex and age 0..{MAX_AGE} ({2 * N_AGES} rows)",
            )
        if grid.sum() <= 0:
            raise ScenarioError(path, "service", service, "relative rates must not all be zero")
    return out


def _read_lines(path: Path) -> dict[str, ServiceLine]:
    rows = read_csv(path, SERVICE_TABLES["service_lines"][1], "data.service_lines")
    found: dict[str, ServiceLine] = {}
    for line, row in enumerate(rows, start=2):
        pool = _choice(path, line, "pool", row["pool"], POOLS)
        if pool in found:
            raise ScenarioError(path, f"row {line}, pool", pool, "appears twice")
        found[pool] = ServiceLine(
            pool=pool,
            driver=_choice(path, line, "driver", row["driver"], DRIVERS),
            emergency_share=_num(path, line, "emergency_share", row["emergency_share"], high=1.0),
            via_ed_share=_num(path, line, "via_ed_share", row["via_ed_share"], high=1.0),
            emergency_profile=row["emergency_profile"],
            elective_profile=row["elective_profile"],
        )
    missing = [p for p in POOLS if p not in found]
    if missing:
        raise ScenarioError(path, "pool", missing, f"every pool needs a row: {', '.join(POOLS)}")
    return {p: found[p] for p in POOLS}


def _bands(path: Path, spans: set[tuple[int, int]], what: str) -> tuple[tuple[int, int], ...]:
    bands = tuple(sorted(spans))
    edge = 0
    for lo, hi in bands:
        if lo != edge or hi < lo:
            raise ScenarioError(
                path,
                "age_from",
                lo,
                f"{what} age bands must run from 0 to {MAX_AGE} without gaps or overlaps",
            )
        edge = hi + 1
    if edge != MAX_AGE + 1:
        raise ScenarioError(
            path, "age_to", edge - 1, f"the last {what} age band must end at {MAX_AGE}"
        )
    return bands


def _read_los(
    path: Path,
) -> tuple[tuple[tuple[int, int], ...], dict[tuple[str, str, int], LosEntry]]:
    rows = read_csv(path, SERVICE_TABLES["los"][1], "data.los")
    raw: dict[tuple[str, str, tuple[int, int]], LosEntry] = {}
    for line, row in enumerate(rows, start=2):
        pool = _choice(path, line, "pool", row["pool"], POOLS)
        route = _choice(path, line, "route", row["route"], ROUTES)
        lo = int(_num(path, line, "age_from", row["age_from"], high=MAX_AGE, integer=True))
        hi = int(_num(path, line, "age_to", row["age_to"], high=MAX_AGE, integer=True))
        key = (pool, route, (lo, hi))
        if key in raw:
            raise ScenarioError(path, f"row {line}", f"{pool}, {route}, {lo}-{hi}", "appears twice")
        raw[key] = LosEntry(
            family=_choice(path, line, "family", row["family"], LOS_FAMILIES),
            mean_days=_num(path, line, "mean_days", row["mean_days"], low=0.01, high=3650.0),
            cv=_num(path, line, "cv", row["cv"], low=0.01, high=10.0),
        )
    bands = _bands(path, {k[2] for k in raw}, "LOS")
    out: dict[tuple[str, str, int], LosEntry] = {}
    for pool in POOLS:
        for route in ROUTES:
            for i, band in enumerate(bands):
                entry = raw.get((pool, route, band))
                if entry is None:
                    raise ScenarioError(
                        path,
                        "rows",
                        f"{pool}, {route}, {band[0]}-{band[1]}",
                        "missing: every pool and route needs every age band",
                    )
                out[(pool, route, i)] = entry
    return bands, out


def _read_ed(path: Path) -> tuple[tuple[tuple[int, int], ...], FloatArray, FloatArray, FloatArray]:
    rows = read_csv(path, SERVICE_TABLES["ed_acuity"][1], "data.ed_acuity")
    raw: dict[tuple[tuple[int, int], int], tuple[float, float, float]] = {}
    for line, row in enumerate(rows, start=2):
        lo = int(_num(path, line, "age_from", row["age_from"], high=MAX_AGE, integer=True))
        hi = int(_num(path, line, "age_to", row["age_to"], high=MAX_AGE, integer=True))
        level = int(
            _num(path, line, "acuity", row["acuity"], low=1, high=len(ACUITIES), integer=True)
        )
        if ((lo, hi), level) in raw:
            raise ScenarioError(path, f"row {line}", f"{lo}-{hi}, level {level}", "appears twice")
        raw[((lo, hi), level)] = (
            _num(path, line, "share", row["share"], high=1.0),
            _num(path, line, "ambulance_share", row["ambulance_share"], high=1.0),
            _num(path, line, "treatment_hours", row["treatment_hours"], low=0.01, high=72.0),
        )
    bands = _bands(path, {k[0] for k in raw}, "ED")
    arrays = np.zeros((3, len(bands), len(ACUITIES)))
    for i, band in enumerate(bands):
        for j, level in enumerate(ACUITIES):
            if (band, level) not in raw:
                raise ScenarioError(
                    path,
                    "rows",
                    f"{band[0]}-{band[1]}, level {level}",
                    "missing: every age band needs the four triage levels",
                )
            arrays[:, i, j] = raw[(band, level)]
        total = arrays[0, i].sum()
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ScenarioError(
                path,
                f"shares of ages {band[0]}-{band[1]}",
                round(float(total), 9),
                "must sum to 1 over the four triage levels",
            )
    return bands, arrays[0], arrays[1], arrays[2]


def load_service_tables(refs: dict[str, str] | None = None) -> ServiceTables:
    """Read and check the four service tables.

    ``refs`` maps a table name (``use_rate_shapes``, ``service_lines``, ``los``,
    ``ed_acuity``) to ``"default"`` or a CSV path; missing names take ``"default"``.
    Raises :class:`~sim.base.errors.ScenarioError` naming file, row and column of a bad cell.
    """
    refs = {**{t: "default" for t in SERVICE_TABLES}, **(refs or {})}
    unknown = sorted(set(refs) - set(SERVICE_TABLES))
    if unknown:
        raise ScenarioError(
            None, "data", unknown, f"unknown table; known: {', '.join(SERVICE_TABLES)}"
        )
    paths = {t: _path(t, refs[t]) for t in SERVICE_TABLES}
    lines = _read_lines(paths["service_lines"])
    shapes = _read_shapes(paths["use_rate_shapes"], lines)
    los_bands, los = _read_los(paths["los"])
    ed_bands, ed_share, ed_amb, ed_hours = _read_ed(paths["ed_acuity"])
    return ServiceTables(
        shapes=shapes,
        lines=lines,
        los_bands=los_bands,
        los=los,
        ed_bands=ed_bands,
        ed_share=ed_share,
        ed_ambulance_share=ed_amb,
        ed_treatment_hours=ed_hours,
        sources={t: str(p) for t, p in paths.items()},
    )
