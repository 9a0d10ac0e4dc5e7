"""Derive the default demographic base tables shipped in ``sim/data/``.

Usage::

    python tools/derive_demography_data.py [--wpp DIR] [--out DIR]

Reads the UN World Population Prospects 2024 extracts for China and Hong Kong
(``<repo>/../shared/data/wpp2024/*.csv`` by default) and the figures of the
project's data notes (``DATA_NOTES.md``, typed below as named constants, each
citing its section and confidence grade), and writes:

* ``base_population.csv``            sex, age, population (Longgang, 2020-11-01)
* ``fertility_pattern.csv``          age, share (WPP 2024 China 2020, ages 15-49)
* ``fertility_pattern_hongkong.csv`` age, share (WPP 2024 Hong Kong 2020)
* ``mortality_standard.csv``         sex, age, mx (WPP 2024 China 2015-2020)
* ``mortality_standard_hongkong.csv``sex, age, mx (WPP 2024 Hong Kong 2015-2020)
* ``migration_profile.csv``          sex, age, all, labour, elderly (Rogers-Castro, assumption)

Ages are single years 0..100, where 100 is the open group 100+. The output is
deterministic: shares are written as exact decimals with 15 places (rounded by a
largest-remainder rule so that each column sums to exactly 1), counts as integers,
death rates as the shortest decimal of the published WPP value. Running the
script again reproduces the committed files byte for byte. The provenance of
every figure is in ``sim/data/DATA.md``.

Grades (DATA_NOTES.md): A official; B attributed secondary report; C unclear
provenance, plausibility only; D derived here from A/B inputs; S synthetic
assumption, to be replaced when the real table is obtained.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WPP_DIR = REPO_ROOT.parent / "shared" / "data" / "wpp2024"
DEFAULT_OUT_DIR = REPO_ROOT / "sim" / "data"

SEXES: tuple[str, str] = ("male", "female")
MAX_AGE = 100  # the last single age is the open group 100+ (as sim.base.names.MAX_AGE)
N_AGES = MAX_AGE + 1
FERTILE_FIRST, FERTILE_LAST = 15, 49  # as sim.base.names.FERTILE_AGES

SHARE_DECIMALS = 15
"""Shares are written with this many decimal places; a column's decimals sum to exactly 1."""

WPP_CHINA = "China"
WPP_HONGKONG = "China, Hong Kong SAR"

# =============================================================================
# Figures of DATA_NOTES.md
# =============================================================================

# --- §1a / §0: census 2020 (reference date 2020-11-01) --------------------------
CENSUS_TOTAL = 3_979_037
"""Longgang resident population, census 2020-11-01. DATA_NOTES §1a, grade A/B."""
SZ_SEX_RATIO = 122.43
"""Shenzhen census 2020 sex ratio, males per 100 females. DATA_NOTES §1a, grade B.
Applied to Longgang (district value not found): sex totals are grade D."""
SZ_SHARE_0_14 = 0.1511
"""Shenzhen census 2020 share aged 0-14. DATA_NOTES §1a, grade B."""
SZ_SHARE_15_59 = 0.7953
"""Shenzhen census 2020 share aged 15-59. DATA_NOTES §1a, grade B."""
SZ_SHARE_60_PLUS = 0.0536
"""Shenzhen census 2020 share aged 60+. DATA_NOTES §1a, grade B."""
SZ_SHARE_65_PLUS = 0.0322
"""Shenzhen census 2020 share aged 65+. DATA_NOTES §1a, grade B."""

# --- §5.1: synthetic five-year table (grade S, constrained to the A/B totals above) --
FIVE_YEAR_STARTS: tuple[int, ...] = tuple(range(0, 90, 5))
"""First ages of the §5.1 groups 0-4, 5-9, ..., 80-84, 85+ (the last one open)."""
SEC51_MALE: tuple[int, ...] = (
    117_624, 111_090, 98_020, 123_440, 241_232, 258_648, 275_358, 221_228, 172_981,
    185_219, 156_977, 123_440, 42_576, 25_286, 15_440, 9_428, 5_757, 6_398,
)  # fmt: skip
"""Males by five-year group as printed in DATA_NOTES §5.1, grade S."""
SEC51_FEMALE: tuple[int, ...] = (
    98_819, 93_329, 82_349, 98_695, 192_874, 206_799, 220_159, 176_880, 138_305,
    148_090, 125_509, 98_695, 42_576, 26_709, 16_309, 9_959, 6_081, 6_758,
)  # fmt: skip
"""Females by five-year group as printed in DATA_NOTES §5.1, grade S."""
SEC51_MALE_TOTAL = 2_190_143
"""Total row of DATA_NOTES §5.1 (= 3,979,037 x 122.43 / 222.43 rounded), grade D."""
SEC51_FEMALE_TOTAL = 1_788_894
"""Total row of DATA_NOTES §5.1, grade D."""
SEC51_RECONCILIATION: tuple[tuple[str, int, int], ...] = (
    ("male", 0, +1),
    ("female", 35, -1),
)
"""(sex, group start, persons added) applied to the printed §5.1 cells.

The printed sex columns sum to 2,190,142 and 1,788,895, one person off the Total
row (2,190,143 / 1,788,894) that the 122.43 sex ratio implies. Re-deriving §5.1
from its stated constraints gives unrounded values males 0-4 = 117,624.495 and
females 35-39 = 176,879.525: the two cells nearest a rounding boundary in the
direction needed. Moving one person there also makes both groups' male+female
sums equal the §5.1 Total column (216,444 and 398,107). Grade S (a rounding fix)."""

# --- §5.2: fertility ---------------------------------------------------------------
ASFR_PATTERN_YEAR = 2020
"""Year of the WPP 2024 percent-ASFR column used as the age pattern. DATA_NOTES §3c, grade A."""
SRB_DEFAULT = 1.10
"""Sex ratio at birth, males per female. DATA_NOTES §5.2, grade D/S (band 1.08-1.11)."""
TFR_BASE = 1.2
"""TFR 2021 used for the birth check only. DATA_NOTES §5.2, grade D/S (band 1.0-1.4)."""

# --- §5.3: mortality ------------------------------------------------------------------
MORTALITY_STANDARD_PERIOD = "2015-2020"
"""WPP 2024 period of the Brass standard. DATA_NOTES §3b / §5.3, grade A."""
E0_TARGET_2021 = 83.73
"""Shenzhen life expectancy at birth, 2021 (both sexes). DATA_NOTES §1d, grade B."""
SEC53_ALPHA_2021 = -0.467
"""Brass alpha at e0 83.73 printed in DATA_NOTES §5.3 (grade D); a cross-check only."""
SEC53_E0_2021 = {"male": 81.41, "female": 86.28}
"""Sex-specific e0 at both-sex 83.73 printed in DATA_NOTES §5.3 (grade D); a cross-check."""
SEC53_MX_85_PLUS_2021 = {
    "male": (0.140482, 0.280976, 0.490783, 0.856398),
    "female": (0.083113, 0.184455, 0.307617, 0.457901),
}
"""Brass mx at 85-89, 90-94, 95-99, 100+ (e0 83.73) printed in DATA_NOTES §5.3 (grade D);
a cross-check of this script's Brass table, which supplies the 85+ split."""
A0_INTERCEPT, A0_SLOPE = 0.053, 2.8
"""a0 = 0.053 + 2.8 m0: life-table convention stated in DATA_NOTES §5.3."""
A_1_4 = 1.5
"""a(1-4) = 1.5 years: life-table convention stated in DATA_NOTES §5.3."""

# --- §5.4: migration profile (assumption S) ------------------------------------------
# Rogers & Castro (1981), Model Migration Schedules, IIASA RR-81-30: the "fundamental"
# parameters of the simplified basic standard schedule are a1 0.02, alpha1 0.1,
# a2 0.06, alpha2 0.1, mu2 20, lambda2 0.4, c 0.003 (as tabulated, e.g., by the migest
# R package, object rc9.fund). Deviations for Longgang are stated at each constant.
RC_A1 = 0.02
"""Child (pre-labour) component height: Rogers-Castro fundamental value (a1/a2 = 1/3). S."""
RC_ALPHA1 = 0.1
"""Child component descent, per year: equal to alpha2, so children's migration falls with
age exactly as that of their parents (the Rogers-Castro parental-shift regularity). S."""
RC_A2 = 0.06
"""Labour component height: Rogers-Castro fundamental value. S."""
RC_ALPHA2 = 0.1
"""Labour component descent, per year: Rogers-Castro fundamental value. S."""
RC_LAMBDA2 = 0.4
"""Labour component ascent, per year: Rogers-Castro fundamental value. S."""
RC_MU2 = 19.0
"""Labour component location, years. Fundamental 20, lowered by 1 so the mode,
mu2 + ln(lambda2/alpha2)/lambda2 = 22.47, sits mid-way in the 20-24 group that
DATA_NOTES §5.4 names as the labour peak. S."""
RC_C = 0.003
"""Age-independent migration rate (the constant): Rogers-Castro fundamental value. In a
count profile it is applied to the stationary population L(x) of the e0 83.73 table
(see ``migration_profile``). S."""
RC_MU3 = 59.0
"""Migrating-parents (随迁老人) component mode, years. DATA_NOTES §5.4 places it at 55-69:
parents of migrants aged 25-34 are one generation (~27 years) older. S."""
RC_ALPHA3 = 0.35
"""Migrating-parents component descent, per year (equal to lambda3: a Gumbel-shaped peak
with s.d. 1.28/0.35 = 3.7 years; 96% of its mass at 55-69). S."""
RC_LAMBDA3 = 0.35
"""Migrating-parents component ascent, per year. S."""
ELDERLY_SHARE_OF_ALL = 0.05
"""Share of the 'all' schedule carried by the migrating-parents component ("small",
DATA_NOTES §5.4); no source, band 0.02-0.10. S."""
MIGRANT_MALE_SHARE = 0.55
"""Male share of net migrants, every column. DATA_NOTES §5.4 (consistent with the 122
sex ratio), grade S."""


# =============================================================================
# Generic helpers
# =============================================================================


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dictionaries of strings."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def graduate(boundaries: Sequence[int], totals: Sequence[float]) -> FloatArray:
    """Single-year values from group totals, preserving every group total.

    The cumulative total is interpolated at the group boundaries with a monotone
    cubic (PCHIP) and differenced at integer ages. Because the interpolant passes
    through every cumulative boundary value, each group's single years sum to its
    total; because PCHIP preserves monotonicity, no value is negative.

    ``boundaries`` has one more entry than ``totals`` (first age of each group and
    the end of the last one); the result covers ages boundaries[0]..boundaries[-1]-1.
    """
    knots = np.asarray(boundaries, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(totals, dtype=float))])
    curve = PchipInterpolator(knots, cumulative)
    ages = np.arange(boundaries[0], boundaries[-1] + 1, dtype=float)
    at_ages = curve(ages)
    # Pin the knots to the exact cumulative values (the interpolant returns them to
    # rounding error only), so the group sums are exact up to float addition.
    at_ages[np.asarray(boundaries) - boundaries[0]] = cumulative
    single = np.diff(at_ages)
    if single.min() < -1e-9 * max(1.0, cumulative[-1]):
        raise ValueError(f"graduation produced a negative value: {single.min()}")
    return np.maximum(single, 0.0)


def largest_remainder(values: FloatArray, total: int) -> IntArray:
    """Round non-negative values to integers that sum to ``total``.

    Floors every value, then adds one to the values with the largest fractional
    parts (ties go to the lower index) until the sum is ``total``.
    """
    floors = np.floor(values)
    deficit = total - int(floors.sum())
    if not 0 <= deficit <= len(values):
        raise ValueError(f"cannot round {values.sum()} to {total}")
    remainders = values - floors
    order = np.lexsort((np.arange(len(values)), -remainders))
    rounded = floors.astype(np.int64)
    rounded[order[:deficit]] += 1
    return rounded


def exact_shares(weights: FloatArray) -> list[str]:
    """Weights normalised to shares written with SHARE_DECIMALS decimals summing to exactly 1."""
    unit = 10**SHARE_DECIMALS
    scaled = weights / weights.sum() * unit
    units = largest_remainder(scaled, unit)
    if units.max() >= unit:
        raise ValueError("a share of 1 cannot be written as 0.<decimals>")
    return [f"0.{int(u):0{SHARE_DECIMALS}d}" for u in units]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write a UTF-8 CSV with '\\n' line ends (byte-reproducible)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


# =============================================================================
# WPP 2024 inputs
# =============================================================================

ABRIDGED_STARTS: tuple[int, ...] = (0, 1, *range(5, 101, 5))
"""First ages of the WPP abridged groups 0, 1-4, 5-9, ..., 95-99, 100+."""


def wpp_mx(wpp_dir: Path, country: str, period: str) -> dict[str, FloatArray]:
    """Abridged central death rates m(x) by sex, at the ages ABRIDGED_STARTS."""
    found: dict[str, dict[int, float]] = {sex: {} for sex in SEXES}
    for row in read_rows(wpp_dir / "mx5_china_hongkong.csv"):
        if row["country"] == country and row["period"] == period:
            found[row["sex"]][int(row["age_start"].rstrip("+"))] = float(row["mx"])
    result = {}
    for sex in SEXES:
        missing = [a for a in ABRIDGED_STARTS if a not in found[sex]]
        if missing:
            raise ValueError(f"WPP mx for {country} {sex} {period} lacks ages {missing}")
        result[sex] = np.array([found[sex][a] for a in ABRIDGED_STARTS])
    return result


def wpp_percent_asfr(wpp_dir: Path, country: str, year: int) -> dict[int, float]:
    """WPP percent of TFR by five-year group of mother, keyed by the group's first age."""
    pattern = {}
    for row in read_rows(wpp_dir / "percent_asfr5_china_hongkong.csv"):
        if row["country"] == country and int(row["year"]) == year:
            pattern[int(row["age_group"].split("-")[0])] = float(row["percent_of_tfr"])
    if not pattern:
        raise ValueError(f"no WPP percent ASFR for {country} {year}")
    return pattern


# =============================================================================
# Life tables (conventions of DATA_NOTES §5.3)
# =============================================================================


def _widths() -> FloatArray:
    """Widths n of the closed abridged groups 0, 1-4, 5-9, ..., 95-99 (years)."""
    return np.diff(np.array(ABRIDGED_STARTS, dtype=float))


def _separation_factors(mx: FloatArray) -> FloatArray:
    """a(x) of the closed groups: a0 = 0.053 + 2.8 m0, a(1-4) = 1.5, n/2 elsewhere."""
    widths = _widths()
    a = widths / 2.0
    a[0] = A0_INTERCEPT + A0_SLOPE * mx[0]
    a[1] = A_1_4
    return a


def abridged_life_table(mx: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Survivors l(x) (radix 1) and person-years L(x) of an abridged table.

    ``mx`` holds the rates of 0, 1-4, 5-9, ..., 95-99 and the open 100+.
    """
    widths = _widths()
    a = _separation_factors(mx)
    closed = mx[:-1]
    # With a = n/2 the formula gives q > 1 once m > 2/n (male 95-99 of WPP China
    # 2015-20: m = 0.51); q is then capped at 1, as in DATA_NOTES §3b/§5.3, whose
    # recomputed e0 (M 74.81, F 80.36) this convention reproduces.
    q = np.minimum(widths * closed / (1.0 + (widths - a) * closed), 1.0)
    survivors = np.concatenate([[1.0], np.cumprod(1.0 - q)])
    deaths = survivors[:-1] - survivors[1:]
    person_years = np.concatenate([widths * survivors[1:] + a * deaths, [survivors[-1] / mx[-1]]])
    return survivors, person_years


def life_expectancy(mx: FloatArray) -> float:
    """e0 of an abridged table of rates."""
    _, person_years = abridged_life_table(mx)
    return float(person_years.sum())


def brass_mx(standard_mx: FloatArray, alpha: float) -> FloatArray:
    """Abridged rates of the Brass logit model with beta = 1 (DATA_NOTES §5.3).

    logit l(x) = alpha + logit l_s(x) with logit l = 0.5 ln((1 - l) / l). Rates of
    the closed groups up to 90-94 come from the transformed l(x) under the same
    a(x) conventions (a0 solved jointly with m0); the 95-99 and 100+ rates are the
    standard's, scaled by the 90-94 ratio (DATA_NOTES §5.3).
    """
    i_90 = ABRIDGED_STARTS.index(90)
    std_l, _ = abridged_life_table(standard_mx)
    std_l = std_l[1 : i_90 + 2]  # l(1), l(5), ..., l(95): all strictly between 0 and 1
    logit = 0.5 * np.log((1.0 - std_l) / std_l)
    survivors = np.concatenate([[1.0], 1.0 / (1.0 + np.exp(2.0 * (alpha + logit)))])
    widths = _widths()[: i_90 + 1]
    deaths = survivors[:-1] - survivors[1:]
    mx = np.empty_like(standard_mx)
    # Age 0: m0 = d0 / (l1 + (0.053 + 2.8 m0) d0), a quadratic in m0.
    qa, qb, qc = A0_SLOPE * deaths[0], survivors[1] + A0_INTERCEPT * deaths[0], -deaths[0]
    mx[0] = (-qb + math.sqrt(qb * qb - 4.0 * qa * qc)) / (2.0 * qa)
    a = widths / 2.0
    a[1] = A_1_4
    for i in range(1, i_90 + 1):
        mx[i] = deaths[i] / (widths[i] * survivors[i + 1] + a[i] * deaths[i])
    ratio = mx[i_90] / standard_mx[i_90]
    mx[i_90 + 1 :] = standard_mx[i_90 + 1 :] * ratio
    return mx


def solve_brass_alpha(standard: dict[str, FloatArray], e0_both: float, srb: float) -> float:
    """Brass alpha at which the SRB-weighted both-sex e0 equals ``e0_both``."""

    def gap(alpha: float) -> float:
        e_m = life_expectancy(brass_mx(standard["male"], alpha))
        e_f = life_expectancy(brass_mx(standard["female"], alpha))
        return (srb * e_m + e_f) / (1.0 + srb) - e0_both

    return float(brentq(gap, -3.0, 2.0, xtol=1e-12))


def single_year_mx(abridged: FloatArray) -> FloatArray:
    """Rates by single age 0..100: each age takes its abridged group's rate."""
    starts = np.array(ABRIDGED_STARTS)
    group = np.searchsorted(starts, np.arange(N_AGES), side="right") - 1
    return abridged[group]


def single_year_person_years(mx_single: FloatArray) -> FloatArray:
    """L(x), ages 0..99 and the open 100+, radix 1, constant hazard within each year."""
    closed = mx_single[:-1]
    survivors = np.concatenate([[1.0], np.exp(-np.cumsum(closed))])
    person_years = (survivors[:-1] - survivors[1:]) / closed
    return np.concatenate([person_years, [survivors[-1] / mx_single[-1]]])


# =============================================================================
# Tables
# =============================================================================


def five_year_base() -> dict[str, IntArray]:
    """The §5.1 table by sex with the documented one-person reconciliation, checked."""
    table = {
        "male": np.array(SEC51_MALE, dtype=np.int64),
        "female": np.array(SEC51_FEMALE, dtype=np.int64),
    }
    for sex, start, persons in SEC51_RECONCILIATION:
        table[sex][FIVE_YEAR_STARTS.index(start)] += persons
    male, female = table["male"], table["female"]
    if (int(male.sum()), int(female.sum())) != (SEC51_MALE_TOTAL, SEC51_FEMALE_TOTAL):
        raise ValueError("reconciled §5.1 table does not meet its sex totals")
    if SEC51_MALE_TOTAL + SEC51_FEMALE_TOTAL != CENSUS_TOTAL:
        raise ValueError("§5.1 sex totals do not add to the census total")
    # The synthetic table must honour the sourced constraints it was built from.
    both = male + female
    i = {a: FIVE_YEAR_STARTS.index(a) for a in (15, 60, 65)}
    shares = {
        "0-14": both[: i[15]].sum() / CENSUS_TOTAL,
        "15-59": both[i[15] : i[60]].sum() / CENSUS_TOTAL,
        "60+": both[i[60] :].sum() / CENSUS_TOTAL,
        "65+": both[i[65] :].sum() / CENSUS_TOTAL,
    }
    targets = {
        "0-14": SZ_SHARE_0_14,
        "15-59": SZ_SHARE_15_59,
        "60+": SZ_SHARE_60_PLUS,
        "65+": SZ_SHARE_65_PLUS,
    }
    for band, share in shares.items():
        if abs(share - targets[band]) > 5e-6:
            raise ValueError(f"§5.1 share {band} = {share:.6f}, Shenzhen {targets[band]}")
    ratio = 100.0 * SEC51_MALE_TOTAL / SEC51_FEMALE_TOTAL
    if abs(ratio - SZ_SEX_RATIO) > 0.005:
        raise ValueError(f"§5.1 sex ratio {ratio:.3f} differs from {SZ_SEX_RATIO}")
    return table


def base_population(
    five_year: dict[str, IntArray], person_years: dict[str, FloatArray]
) -> dict[str, IntArray]:
    """Residents by sex and single age 0..100 at 2020-11-01 (§5.1 graduated).

    Ages 0..84: mean-preserving monotone-cumulative graduation of the five-year
    groups. The 85+ group is split over 85..100+ in proportion to L(x) of the
    Brass table at e0 83.73 (the stationary-population shape). The 85-89 part of
    that split is given to the graduation as one more knot, so the slope at 85
    is informed by the next group rather than extrapolated one-sidedly; only
    ages 0..84 are taken from the graduation. Counts are rounded to whole persons
    with a largest-remainder rule inside each five-year group (and inside 85+).
    """
    i85 = FIVE_YEAR_STARTS.index(85)
    result = {}
    for sex in SEXES:
        groups = five_year[sex].astype(float)
        old_shape = person_years[sex][85:] / person_years[sex][85:].sum()
        old = groups[i85] * old_shape  # ages 85..100
        knots = [*FIVE_YEAR_STARTS[: i85 + 1], 90]
        single = graduate(knots, [*groups[:i85], old[:5].sum()])[:85]
        values = np.concatenate([single, old])
        rounded = np.empty(N_AGES, dtype=np.int64)
        for g, start in enumerate(FIVE_YEAR_STARTS):
            stop = start + 5 if g < i85 else N_AGES
            rounded[start:stop] = largest_remainder(values[start:stop], int(five_year[sex][g]))
        result[sex] = rounded
    return result


def fertility_shares(percent: dict[int, float]) -> tuple[FloatArray, dict[str, float]]:
    """Single-year shares of the TFR at ages 15..49 from WPP percent ASFR by group.

    The 10-14 group is folded into 15-19 and the 50-54 group into 45-49 (the model
    has no fertility outside 15..49); the folded amounts are returned for the record.
    """
    groups = {start: percent.get(start, 0.0) for start in range(FERTILE_FIRST, FERTILE_LAST, 5)}
    groups[15] += percent.get(10, 0.0)
    groups[45] += percent.get(50, 0.0)
    unknown = set(percent) - {10, 50, *groups}
    if unknown:
        raise ValueError(f"unexpected fertility age groups {sorted(unknown)}")
    totals = np.array([groups[s] for s in sorted(groups)])
    knots = [*sorted(groups), FERTILE_LAST + 1]
    single = graduate(knots, totals / totals.sum())
    folded = {"10-14": percent.get(10, 0.0), "50-54": percent.get(50, 0.0)}
    return single, folded


def rogers_castro_components(ages: FloatArray) -> dict[str, FloatArray]:
    """Unnormalised Rogers-Castro components at the given exact ages."""

    def peak(height: float, descent: float, mode_loc: float, ascent: float) -> FloatArray:
        u = ages - mode_loc
        return np.asarray(height * np.exp(-descent * u - np.exp(-ascent * u)))

    return {
        "child": RC_A1 * np.exp(-RC_ALPHA1 * ages),
        "labour": peak(RC_A2, RC_ALPHA2, RC_MU2, RC_LAMBDA2),
        "elderly": peak(1.0, RC_ALPHA3, RC_MU3, RC_LAMBDA3),
    }


def migration_profile(person_years: dict[str, FloatArray]) -> dict[str, dict[str, FloatArray]]:
    """Age-sex shape of net migration (counts), by column and sex; each column sums to 1.

    Components are evaluated at mid-year ages x + 0.5. 'all' = child + labour +
    elderly + constant, with the elderly component scaled to ELDERLY_SHARE_OF_ALL of
    the total. The Rogers-Castro constant c is an age-independent *rate*; turned into
    migrant counts it is proportional to the people alive at each age, so it enters
    as c x L(x) of the e0 83.73 table (radix 1). L(x) is close to 1 up to age 60,
    where the rate schedules were fitted; without this weighting the constant alone
    would place about 4% of net migrants at 85+, where 0.3% of residents live.
    Both sexes share the age shape of each component; the male share is
    MIGRANT_MALE_SHARE in every column.
    """
    ages = np.arange(N_AGES, dtype=float) + 0.5
    parts = rogers_castro_components(ages)
    sex_share = {"male": MIGRANT_MALE_SHARE, "female": 1.0 - MIGRANT_MALE_SHARE}
    out: dict[str, dict[str, FloatArray]] = {"all": {}, "labour": {}, "elderly": {}}
    for sex in SEXES:
        younger = parts["child"] + parts["labour"] + RC_C * person_years[sex]
        younger = younger / younger.sum()
        elderly = parts["elderly"] / parts["elderly"].sum()
        full = (1.0 - ELDERLY_SHARE_OF_ALL) * younger + ELDERLY_SHARE_OF_ALL * elderly
        out["all"][sex] = sex_share[sex] * full
        out["labour"][sex] = sex_share[sex] * parts["labour"] / parts["labour"].sum()
        out["elderly"][sex] = sex_share[sex] * elderly
    return out


# =============================================================================
# Main
# =============================================================================


def mx_text(value: float) -> str:
    """Shortest positional decimal that reads back as the same float."""
    return np.format_float_positional(value, trim="-")


def derive(wpp_dir: Path, out_dir: Path) -> list[str]:
    """Write every table into ``out_dir``; return lines of checks for the console."""
    log: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)

    # --- mortality standards ------------------------------------------------------
    standard = wpp_mx(wpp_dir, WPP_CHINA, MORTALITY_STANDARD_PERIOD)
    standard_hk = wpp_mx(wpp_dir, WPP_HONGKONG, MORTALITY_STANDARD_PERIOD)
    for name, table in (
        ("mortality_standard.csv", standard),
        ("mortality_standard_hongkong.csv", standard_hk),
    ):
        rows = []
        for sex in SEXES:
            rates = single_year_mx(table[sex])
            rows += [[sex, age, mx_text(float(rates[age]))] for age in range(N_AGES)]
        write_csv(out_dir / name, ("sex", "age", "mx"), rows)
        e0s = {sex: life_expectancy(table[sex]) for sex in SEXES}
        log.append(f"{name}: abridged e0 M {e0s['male']:.2f} F {e0s['female']:.2f}")

    # --- Brass table at e0 83.73: shape of 85+ and of the migration constant --------
    alpha = solve_brass_alpha(standard, E0_TARGET_2021, SRB_DEFAULT)
    brass = {sex: brass_mx(standard[sex], alpha) for sex in SEXES}
    e0_brass = {sex: life_expectancy(brass[sex]) for sex in SEXES}
    log.append(
        f"Brass alpha {alpha:.4f} (DATA_NOTES {SEC53_ALPHA_2021}); e0 M {e0_brass['male']:.2f}"
        f" F {e0_brass['female']:.2f} (DATA_NOTES {SEC53_E0_2021})"
    )
    if abs(alpha - SEC53_ALPHA_2021) > 0.0015:
        raise ValueError(f"Brass alpha {alpha} does not reproduce DATA_NOTES §5.3")
    for sex in SEXES:
        if abs(e0_brass[sex] - SEC53_E0_2021[sex]) > 0.01:
            raise ValueError(f"Brass e0 {sex} {e0_brass[sex]} does not reproduce §5.3")
        got = brass[sex][ABRIDGED_STARTS.index(85) :]
        rel = np.abs(got / np.array(SEC53_MX_85_PLUS_2021[sex]) - 1.0)
        if rel.max() > 0.005:
            raise ValueError(f"Brass mx 85+ {sex} {got} does not reproduce §5.3")
    # §5.1 sized the open group 85+ as 80-84 x T85/L80-84 = 1.111 for both sexes; that
    # ratio is the unweighted both-sex one of this table, not each sex's own.
    i80 = ABRIDGED_STARTS.index(80)
    lx = {sex: abridged_life_table(brass[sex])[1] for sex in SEXES}
    t85 = {sex: float(lx[sex][i80 + 1 :].sum()) for sex in SEXES}
    l80 = {sex: float(lx[sex][i80]) for sex in SEXES}
    log.append(
        f"  T85/L80-84: male {t85['male'] / l80['male']:.4f}, female"
        f" {t85['female'] / l80['female']:.4f}, both sexes"
        f" {sum(t85.values()) / sum(l80.values()):.4f} (DATA_NOTES §5.1 uses 1.111)"
    )
    person_years = {sex: single_year_person_years(single_year_mx(brass[sex])) for sex in SEXES}

    # --- base population -----------------------------------------------------------
    five_year = five_year_base()
    population = base_population(five_year, person_years)
    write_csv(
        out_dir / "base_population.csv",
        ("sex", "age", "population"),
        [[sex, age, int(population[sex][age])] for sex in SEXES for age in range(N_AGES)],
    )
    log.append(
        f"base_population.csv: total {sum(int(p.sum()) for p in population.values()):,};"
        f" male {int(population['male'].sum()):,}; female {int(population['female'].sum()):,}"
    )

    # --- fertility patterns ----------------------------------------------------------
    women = population["female"][FERTILE_FIRST : FERTILE_LAST + 1].astype(float)
    for name, country in (
        ("fertility_pattern.csv", WPP_CHINA),
        ("fertility_pattern_hongkong.csv", WPP_HONGKONG),
    ):
        shares, folded = fertility_shares(wpp_percent_asfr(wpp_dir, country, ASFR_PATTERN_YEAR))
        texts = exact_shares(shares)
        ages = range(FERTILE_FIRST, FERTILE_LAST + 1)
        write_csv(
            out_dir / name, ("age", "share"), [[a, t] for a, t in zip(ages, texts, strict=True)]
        )
        written = np.array([float(t) for t in texts])
        births = TFR_BASE * float(women @ written)
        # DATA_NOTES §5.2 computes births on five-year groups (women x pct / 5 x TFR).
        i15 = FIVE_YEAR_STARTS.index(FERTILE_FIRST)
        women5 = five_year["female"][i15 : i15 + 7].astype(float)
        births5 = TFR_BASE * float(women5 @ shares.reshape(7, 5).sum(axis=1)) / 5.0
        mean_age = float((np.arange(FERTILE_FIRST, FERTILE_LAST + 1) + 0.5) @ written)
        log.append(
            f"{name}: folded {folded}; mean age {mean_age:.2f}; births at TFR {TFR_BASE}:"
            f" {births:,.0f} (CBR {1000 * births / CENSUS_TOTAL:.2f} per 1000);"
            f" five-year method {births5:,.0f}"
        )

    # --- migration profile -------------------------------------------------------------
    profile = migration_profile(person_years)
    columns = ("all", "labour", "elderly")
    texts_by_column = {
        col: exact_shares(np.concatenate([profile[col][sex] for sex in SEXES])) for col in columns
    }
    rows = []
    for k, (sex, age) in enumerate((s, a) for s in SEXES for a in range(N_AGES)):
        rows.append([sex, age, *(texts_by_column[col][k] for col in columns)])
    write_csv(out_dir / "migration_profile.csv", ("sex", "age", *columns), rows)
    all_both = profile["all"]["male"] + profile["all"]["female"]
    log.append(
        "migration_profile.csv: labour mode age"
        f" {int(np.argmax(profile['labour']['male']))}; 'all' shares 0-14"
        f" {all_both[:15].sum():.3f}, 15-34 {all_both[15:35].sum():.3f}, 55-69"
        f" {all_both[55:70].sum():.3f}, 85+ {all_both[85:].sum():.4f}"
    )
    return log


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wpp", type=Path, default=DEFAULT_WPP_DIR, help="WPP 2024 extract folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    for line in derive(args.wpp, args.out):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
