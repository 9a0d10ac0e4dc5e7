"""Default base tables shipped with the model, and loaders that check user tables.

Every table is a UTF-8 CSV in this folder with its provenance in ``DATA.md``.
A scenario's ``[data]`` section may point any table to a user's CSV with the
same columns; it is checked here with the same one-line errors as a scenario.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.base.errors import ScenarioError, read_user_text
from sim.base.names import FERTILE_AGES, MAX_AGE, N_AGES, SEXES

DATA_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def data_grades() -> dict[str, str]:
    """Row id -> grade (its first word: ``A``, ``D/S``, ...) of every table row of
    ``DATA.md`` that has a grade column: the one place grades are written."""
    grades: dict[str, str] = {}
    column: int | None = None  # the grade column of the table being read
    for line in (DATA_DIR / "DATA.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if column is None:  # a table's header row
            low = [c.lower() for c in cells]
            column = low.index("grade") if "grade" in low else -1
        elif not set(line) <= set("|-: ") and 0 <= column < len(cells) and cells[column]:
            grades[cells[0]] = cells[column].split(" ")[0]
    return grades


BUILTIN: dict[str, dict[str, str]] = {
    "base_population": {"default": "base_population.csv"},
    "fertility_pattern": {
        "default": "fertility_pattern.csv",
        "hongkong": "fertility_pattern_hongkong.csv",
    },
    "mortality_standard": {
        "default": "mortality_standard.csv",
        "hongkong": "mortality_standard_hongkong.csv",
    },
    "migration_profile": {"default": "migration_profile.csv"},
}
"""Built-in names of each demographic table, and their files in this folder."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "base_population": ("sex", "age", "population"),
    "fertility_pattern": ("age", "share"),
    "mortality_standard": ("sex", "age", "mx"),
    "migration_profile": ("sex", "age", "all", "labour", "elderly"),
}

SHARE_TOLERANCE = 1e-3
"""How far a column of shares may sum from 1 (rounding in a user's table); it is
then rescaled to sum to exactly 1."""


def table_path(table: str, ref: str) -> Path:
    """File of a table given a built-in name or a path."""
    if ref in BUILTIN[table]:
        return DATA_DIR / BUILTIN[table][ref]
    if ref.endswith(".csv"):
        return Path(ref)
    allowed = ", ".join(f'"{n}"' for n in BUILTIN[table])
    raise ScenarioError(None, f"data.{table}", ref, f"must be {allowed} or a path to a .csv file")


def read_csv(path: Path, columns: tuple[str, ...], key: str) -> list[dict[str, str]]:
    """Rows of a CSV whose header must be exactly ``columns`` (in any order) and whose
    every row has one cell per column (a comma inside a cell is quoted)."""
    missing = ScenarioError(path, None, None, f"file not found (named by {key})")
    text = read_user_text(path, "CSV", missing)
    try:
        records = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as exc:
        raise ScenarioError(path, None, None, f"not a readable CSV: {exc}") from None
    if not records:
        raise ScenarioError(path, None, None, "is empty: it needs a header row")
    header, *rows = records
    names = [h.strip() for h in header]
    if sorted(names) != sorted(columns):
        raise ScenarioError(path, "columns", header, f"must be exactly: {', '.join(columns)}")
    if not rows:
        raise ScenarioError(path, None, None, "has a header but no rows")
    return [
        dict(zip(names, _cells(path, line, row, names), strict=True))
        for line, row in enumerate(rows, start=2)
    ]


def _cells(path: Path, line: int, row: list[str], names: list[str]) -> list[str]:
    """A row's cells, stripped, one per column: a ragged row is refused (a cell too many
    was silently dropped before)."""
    n = len(names)
    if len(row) != n:
        raise ScenarioError(
            path,
            f"row {line}",
            ",".join(row),
            f"has {len(row)} cells; every row needs {n}, one per column ({', '.join(names)})",
        )
    return [cell.strip() for cell in row]


def _number(path: Path, line: int, column: str, text: str, *, integer: bool = False) -> float:
    where = f"row {line}, {column}"
    if text == "":
        raise ScenarioError(path, where, text, "is missing; every cell needs a value")
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(path, where, text, "must be a number") from None
    if not math.isfinite(value):
        raise ScenarioError(path, where, text, "must be a finite number")
    if integer and value != int(value):
        raise ScenarioError(path, where, text, "must be a whole number")
    if value < 0:
        raise ScenarioError(path, where, text, "must not be negative")
    return value


def _grid(
    path: Path, rows: list[dict[str, str]], values: tuple[str, ...], *, by_sex: bool, ages: range
) -> dict[str, np.ndarray]:
    """Fill arrays [sex, age] (or [age]) from rows; every cell exactly once."""
    shape = (len(SEXES), N_AGES) if by_sex else (N_AGES,)
    out = {v: np.zeros(shape) for v in values}
    seen: set[tuple[int, int]] = set()
    for line, row in enumerate(rows, start=2):
        s = 0
        if by_sex:
            if row["sex"] not in SEXES:
                raise ScenarioError(
                    path, f"row {line}, sex", row["sex"], f"must be one of {', '.join(SEXES)}"
                )
            s = SEXES.index(row["sex"])
        age = int(_number(path, line, "age", row["age"], integer=True))
        if age not in ages:
            raise ScenarioError(
                path,
                f"row {line}, age",
                row["age"],
                f"must be a whole number from {ages.start} to {ages.stop - 1}",
            )
        if (s, age) in seen:
            raise ScenarioError(path, f"row {line}, age", row["age"], "appears twice")
        seen.add((s, age))
        for v in values:
            x = _number(path, line, v, row[v])
            if by_sex:
                out[v][s, age] = x
            else:
                out[v][age] = x
    expected = len(ages) * (len(SEXES) if by_sex else 1)
    if len(seen) != expected:
        raise ScenarioError(
            path,
            "rows",
            len(seen),
            f"must give every age {ages.start}..{ages.stop - 1}"
            + (" for both sexes" if by_sex else "")
            + f" ({expected} rows)",
        )
    return out


def _shares(path: Path, column: str, values: np.ndarray) -> np.ndarray:
    total = float(values.sum())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ScenarioError(
            path,
            f"column {column}",
            round(total, 6),
            f"shares must sum to 1 (within {SHARE_TOLERANCE})",
        )
    return values / total


@dataclass(frozen=True)
class DemographicTables:
    """Base tables of the projection, as arrays indexed [sex, age] (sex order
    ``sim.base.names.SEXES``, ages 0..100 with 100 = 100+)."""

    base_population: np.ndarray
    """Residents at the census date, persons."""
    fertility_share: np.ndarray
    """[age] share of the TFR at each age (zero outside 15-49); sums to 1."""
    mortality_standard: np.ndarray
    """Standard central death rates m(x), per person-year."""
    migration_all: np.ndarray
    """Age-sex shape of total net migration; sums to 1."""
    migration_labour: np.ndarray
    """Shape of the young-worker (labour) component; sums to 1."""
    migration_elderly: np.ndarray
    """Shape of the older-parent component; sums to 1."""
    sources: dict[str, str]
    """File each table was read from."""


def load_demographic_tables(refs: dict[str, str] | None = None) -> DemographicTables:
    """Read and check the four demographic tables.

    ``refs`` maps a table name (``base_population``, ``fertility_pattern``,
    ``mortality_standard``, ``migration_profile``) to a built-in name or a CSV
    path; missing names take ``"default"``.
    """
    refs = {**{t: "default" for t in BUILTIN}, **(refs or {})}
    paths = {t: table_path(t, refs[t]) for t in BUILTIN}
    # Read in this order so that a scenario with several bad tables names the same one first.
    pop = _base_population(paths["base_population"])
    fert = _fertility_share(paths["fertility_pattern"])
    mx = _mortality_standard(paths["mortality_standard"])
    mig = _migration_shapes(paths["migration_profile"])
    return DemographicTables(
        base_population=pop,
        fertility_share=fert,
        mortality_standard=mx,
        migration_all=mig["all"],
        migration_labour=mig["labour"],
        migration_elderly=mig["elderly"],
        sources={t: str(p) for t, p in paths.items()},
    )


_ALL_AGES = range(MAX_AGE + 1)
"""Ages 0..100 (100 = 100+) of the tables given for every age."""


def _table_grid(
    path: Path, table: str, values: tuple[str, ...], *, by_sex: bool, ages: range
) -> dict[str, np.ndarray]:
    """Rows of ``table``'s CSV at ``path``, checked and filled into arrays by :func:`_grid`."""
    rows = read_csv(path, COLUMNS[table], f"data.{table}")
    return _grid(path, rows, values, by_sex=by_sex, ages=ages)


def _base_population(path: Path) -> np.ndarray:
    """Residents [sex, age] at the census date, persons; not all zero."""
    grid = _table_grid(path, "base_population", ("population",), by_sex=True, ages=_ALL_AGES)
    pop = grid["population"]
    if pop.sum() <= 0:
        raise ScenarioError(path, "column population", 0, "the population must not be all zero")
    return pop


def _fertility_share(path: Path) -> np.ndarray:
    """Share [age] of the TFR at each fertile age (zero elsewhere), rescaled to sum to 1."""
    fertile = range(FERTILE_AGES[0], FERTILE_AGES[1] + 1)
    fert = _table_grid(path, "fertility_pattern", ("share",), by_sex=False, ages=fertile)
    return _shares(path, "share", fert["share"])


def _mortality_standard(path: Path) -> np.ndarray:
    """Standard central death rates m(x) [sex, age], per person-year; every one > 0."""
    mx = _table_grid(path, "mortality_standard", ("mx",), by_sex=True, ages=_ALL_AGES)["mx"]
    if (mx <= 0).any():
        s, a = np.argwhere(mx <= 0)[0]
        raise ScenarioError(
            path,
            f"{SEXES[s]} age {a}, mx",
            float(mx[s, a]),
            "death rates must be greater than 0",
        )
    return mx


def _migration_shapes(path: Path) -> dict[str, np.ndarray]:
    """Age-sex shapes [sex, age] of net migration (``all``, ``labour``, ``elderly``),
    each rescaled to sum to 1."""
    columns = ("all", "labour", "elderly")
    mig = _table_grid(path, "migration_profile", columns, by_sex=True, ages=_ALL_AGES)
    # Checked in column order, so the first column that does not sum to 1 is named.
    return {c: _shares(path, c, mig[c]) for c in columns}
