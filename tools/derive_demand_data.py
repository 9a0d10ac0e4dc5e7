"""Derive the default service-use tables shipped in ``sim/data/``.

Usage::

    python tools/derive_demand_data.py [--out DIR] [--check]

Writes (provenance of every figure: ``sim/data/DATA.md``, row ids in brackets):

* ``use_rate_shapes.csv``  service, sex, age, relative_rate: the age shape of each
  per-capita service (community-centre and hospital outpatient visits, ED visits,
  ambulance dispatches, admissions of the population-driven service lines),
  normalised to a mean of 1 over the reference population [USE-REF-POP]. Levels are
  *not* in this table: the base-year calibration (``sim.model.demand.calibrate``) scales
  each service to the district's totals.
* ``service_lines.csv``    pool, driver, emergency_share, via_ed_share,
  emergency_profile, elective_profile [SL-*].
* ``los.csv``              pool, age_from, age_to, route, family, mean_days, cv [LOS-*].
* ``ed_acuity.csv``        age_from, age_to, acuity, share, ambulance_share,
  treatment_hours [ED-*].

Method of the age shapes (no age-specific Chinese utilisation table was found,
DATA_NOTES §3a, §5.5): each shape is a smooth curve through a few knots (monotone
cubic on the log scale), and its slope above age 45 is *solved* so that the rate
of people aged 60+ relative to those under 60, averaged over the reference
population, equals the National Health Services Survey 2018 relative rate
[USE-RR-ADM, USE-RR-VISITS]. The knots of the young ages are assumptions (grade S).

The reference population [USE-REF-POP] is the stationary population L(x) of the
shipped mortality standard (``mortality_standard.csv``, WPP 2024 China 2015-2020,
both sexes) reweighted to China's 2020 census broad age groups 0-14, 15-59, 60+:
a stand-in for the national population that the survey's rates describe.

The script reads only files of this repository and is deterministic: running it
again reproduces the shipped CSVs byte for byte (``--check`` compares instead of
writing; ``tests/test_demand.py`` runs that check).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from sim.base.names import MAX_AGE, SEXES
from sim.data.service_tables import SERVICE_TABLES

FloatArray = NDArray[np.float64]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "sim" / "data"
AGES = np.arange(MAX_AGE + 1)

# =============================================================================
# Figures (DATA_notes sections in brackets; ids of sim/data/DATA.md)
# =============================================================================
CN_CENSUS_SHARE_0_14 = 0.1795
"""China census 2020 share aged 0-14 (§1a, grade B) [USE-REF-POP]."""
CN_CENSUS_SHARE_15_59 = 0.6335
"""China census 2020 share aged 15-59 (§1a, grade B) [USE-REF-POP]."""
CN_CENSUS_SHARE_60_PLUS = 0.1870
"""China census 2020 share aged 60+ (§1a, grade B) [USE-REF-POP]."""

NHSS_HOSPITALISATION_ALL = 0.138
"""NHSS 2018 12-month hospitalisation rate, all ages (§3a, grade B) [USE-RR-ADM]."""
RR_ADMISSIONS_60PLUS = 2.0
"""Hospitalisation rate 60+ relative to under 60 (§5.5: 2.0-2.3, grade D; the
low end, used by §5.5's step rates) [USE-RR-ADM]."""
RR_VISITS_60PLUS = 1.9
"""Two-week visit rate 60+ relative to under 60 (§5.5: 1.8-2.0, grade D; mid-point)
[USE-RR-VISITS]."""
CN_CRUDE_BIRTH_RATE_2020 = 0.0085
"""China crude birth rate 2020, 8.50‰ (§1c, grade B) [USE-RR-ADM]: the maternity
part of the survey's hospitalisation rate, needed to compare like with like."""
OBSTETRIC_ADMISSIONS_PER_BIRTH = 1.15
"""Obstetric admissions per live birth (assumption, grade S) [SL-OBST-PER-BIRTH]."""
CN_ASFR_PERCENT_2020 = {15: 2.72, 20: 23.72, 25: 35.44, 30: 24.32, 35: 10.24, 40: 2.63, 45: 0.83}
"""WPP 2024 China percent of TFR by mother's age group, 2020 (§3c, grade A) [ASFR-CHINA]."""

OLD_AGE = 60
"""Age that separates the survey's "older adults" (§3a: the paper's cut is 60+ or 65+;
§5.5 uses 60+)."""
GRADIENT_FROM = 45
"""Age from which each shape rises log-linearly with the solved slope."""

# --- knots of the young ages (assumptions, grade S) ----------------------------
VISIT_KNOTS_YOUNG = {0: 2.4, 1: 2.6, 3: 2.0, 6: 1.2, 10: 0.8, 15: 0.6, 20: 0.6, 30: 0.75, 45: 1.0}
"""All outpatient-type visits per head relative to age 45 [USE-SHAPE-VISITS]: young
children are frequent users, teenagers and young adults the lightest."""
VISIT_GRADIENT_CAP = 85
"""Visits per head stop rising after this age [USE-SHAPE-VISITS]."""
CHC_SHARE_KNOTS = {0: 0.45, 40: 0.45, 60: 0.60, 70: 0.65, 100: 0.65}
"""Share of a resident's visits made in community centres, by age (linear between
knots) [USE-SHAPE-CHC]: older residents' chronic-disease care is managed in 社康
(§2b: 86.1% of hypertension and 76.6% of diabetes patients, Shenzhen 2024)."""
ADMISSION_KNOTS_YOUNG = {
    0: 3.0,
    1: 1.6,
    3: 1.0,
    6: 0.6,
    10: 0.45,
    15: 0.5,
    20: 0.6,
    30: 0.7,
    45: 1.0,
}
"""Non-maternity admissions per head relative to age 45 [USE-SHAPE-ADM] (infants after
the neonatal period high; school ages lowest)."""
ADMISSION_GRADIENT_CAP = 90
"""Admissions per head stop rising after this age [USE-SHAPE-ADM]."""
ED_KNOTS = {
    0: 2.5,
    2: 1.5,
    6: 0.75,
    11: 0.7,
    16: 0.75,
    22: 1.0,
    40: 1.0,
    55: 0.9,
    63: 0.95,
    70: 1.1,
    80: 1.5,
    100: 1.5,
}
"""ED visits per head relative to ages 18-44 [USE-SHAPE-ED]: US NHAMCS 2019 visit rates by
age band relative to 18-44 (<1: 2.62, 1-17: 0.91, 45-74: 0.87, 75+: 1.40; grade B),
refined where a Chinese ED differs (young children 1.5, school ages 0.7: febrile
children, a median ED age of 20 in one general hospital; S), 65-74 interpolated (1.1, S);
the knots sit at the bands' centres and edges so the curve has no step between bands."""
AMBULANCE_KNOTS = {0: 0.4, 12: 0.4, 18: 1.0, 60: 1.0, 85: 4.0, 100: 4.0}
"""120 dispatches per head relative to working ages [USE-SHAPE-AMB]: Shenzhen's users
are mainly aged 15-60 (§3a, WJEM 2012) because most residents are; per head the old
call far more often (assumption: 4 times at 85+)."""

# --- mix of service lines among non-maternity admissions, by age (grade S) ----
PAEDIATRIC_LAST_AGE = 13
"""Paediatric wards take children under 14 (常规: 儿科收治 14 岁以下); age 14 is split."""
ICU_SHARE_KNOTS = {0: 0.03, 14: 0.025, 15: 0.02, 50: 0.03, 80: 0.05, 100: 0.05}
"""Share of admissions whose stay is in intensive care, by age [SL-MIX]."""
ELDERLY_CARE_SHARE_KNOTS = {0: 0.0, 59: 0.0, 65: 0.01, 75: 0.04, 85: 0.10, 100: 0.12}
"""Share of admissions to long-stay elderly care (geriatric, rehabilitation, palliative
and integrated medical-elderly care beds), by age [SL-MIX]."""
SURGICAL_FRACTION_KNOTS = {0: 0.55, 15: 0.55, 45: 0.45, 65: 0.40, 85: 0.30, 100: 0.30}
"""Surgical fraction of the remaining (medicine + surgery) admissions, by age [SL-MIX]."""

# --- service lines (grade S) ----------------------------------------------------
SERVICE_LINES: list[dict[str, str | float]] = [
    # pool, driver, emergency_share, via_ed_share, emergency_profile, elective_profile
    {
        "pool": "medicine",
        "driver": "population",
        "emergency_share": 0.65,
        "via_ed_share": 0.35,
        "emergency_profile": "admission_direct",
        "elective_profile": "admission_elective",
    },
    {
        "pool": "surgery",
        "driver": "population",
        "emergency_share": 0.40,
        "via_ed_share": 0.35,
        "emergency_profile": "admission_direct",
        "elective_profile": "admission_elective",
    },
    {
        "pool": "paediatrics",
        "driver": "population",
        "emergency_share": 0.70,
        "via_ed_share": 0.35,
        "emergency_profile": "admission_direct",
        "elective_profile": "admission_elective",
    },
    {
        "pool": "obstetrics",
        "driver": "births",
        "emergency_share": 0.70,
        "via_ed_share": 0.05,
        "emergency_profile": "admission_maternity",
        "elective_profile": "admission_maternity",
    },
    {
        "pool": "neonatal",
        "driver": "births",
        "emergency_share": 1.0,
        "via_ed_share": 0.0,
        "emergency_profile": "admission_maternity",
        "elective_profile": "admission_maternity",
    },
    {
        "pool": "icu",
        "driver": "population",
        "emergency_share": 0.85,
        "via_ed_share": 0.50,
        "emergency_profile": "admission_direct",
        "elective_profile": "admission_elective",
    },
    {
        "pool": "elderly_care",
        "driver": "population",
        "emergency_share": 0.30,
        "via_ed_share": 0.20,
        "emergency_profile": "admission_direct",
        "elective_profile": "admission_elective",
    },
]
"""[SL-ROUTE] emergency (unscheduled) share of admissions and the share of those that
come through the ED; the arrival profile (``sim/data/arrival_profiles.csv``) of each route."""

LOS_BANDS: list[tuple[int, int]] = [(0, 14), (15, 44), (45, 64), (65, 79), (80, 100)]
LOS_BY_POOL: dict[str, dict[str, tuple[str, float, float]]] = {
    # route -> (family, mean days, cv); the same in every age band (DATA_NOTES §5.5:
    # no source by age; the older-patient multiplier is a scenario input).
    "medicine": {"emergency": ("lognormal", 8.5, 0.9), "elective": ("lognormal", 7.0, 0.9)},
    "surgery": {"emergency": ("lognormal", 9.0, 0.9), "elective": ("lognormal", 7.0, 0.9)},
    "paediatrics": {"emergency": ("lognormal", 5.0, 0.7), "elective": ("lognormal", 4.0, 0.7)},
    "obstetrics": {"emergency": ("lognormal", 3.5, 0.4), "elective": ("lognormal", 4.5, 0.4)},
    "neonatal": {"emergency": ("lognormal", 8.0, 1.0), "elective": ("lognormal", 8.0, 1.0)},
    "icu": {"emergency": ("lognormal", 4.0, 1.2), "elective": ("lognormal", 3.0, 1.2)},
    "elderly_care": {"emergency": ("gamma", 25.0, 1.0), "elective": ("gamma", 25.0, 1.0)},
}
"""[LOS-*] relative means before calibration: ``sim.model.demand.calibrate`` scales every
mean by one factor so the district's average stay equals the stated ALOS."""

ED_BANDS: list[tuple[int, int]] = [(0, 14), (15, 64), (65, 79), (80, 100)]
ED_ACUITY_SHARES: dict[tuple[int, int], tuple[float, float, float, float]] = {
    (0, 14): (0.005, 0.04, 0.35, 0.605),
    (15, 64): (0.01, 0.06, 0.40, 0.53),
    (65, 79): (0.03, 0.12, 0.50, 0.35),
    (80, 100): (0.05, 0.18, 0.52, 0.25),
}
"""[ED-ACUITY] shares of ED visits in China's four triage levels (1 濒危, 2 危重,
3 急症, 4 非急症) by age band; older patients are sicker."""
ED_AMBULANCE_SHARE = (0.60, 0.35, 0.08, 0.01)
"""[ED-AMBULANCE] share of each level arriving by ambulance (120)."""
ED_TREATMENT_HOURS = (6.0, 4.0, 3.0, 1.5)
"""[ED-TREATMENT] mean hours a level-1..4 patient occupies an ED treatment space."""


# =============================================================================
# Reference population and shapes
# =============================================================================
def read_mortality_standard(path: Path) -> FloatArray:
    """[sex, age] central death rates of the shipped standard."""
    mx = np.zeros((2, MAX_AGE + 1))
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            mx[SEXES.index(row["sex"]), int(row["age"])] = float(row["mx"])
    return mx


def reference_population(mx: FloatArray) -> FloatArray:
    """Both-sex reference population by single age (sums to 1) [USE-REF-POP].

    Stationary person-years L(x) of each sex (constant hazard within a year, open
    group closed as l/m), summed, then reweighted to the census shares of 0-14,
    15-59 and 60+.
    """
    total = np.zeros(MAX_AGE + 1)
    for s in range(2):
        lx = np.concatenate([[1.0], np.exp(-np.cumsum(mx[s]))])
        Lx = (lx[:-1] - lx[1:]) / mx[s]
        Lx[-1] = lx[-2] / mx[s, -1]
        total += Lx
    groups = [
        (0, 14, CN_CENSUS_SHARE_0_14),
        (15, 59, CN_CENSUS_SHARE_15_59),
        (60, MAX_AGE, CN_CENSUS_SHARE_60_PLUS),
    ]
    out = np.zeros_like(total)
    for lo, hi, share in groups:
        part = total[lo : hi + 1]
        out[lo : hi + 1] = share * part / part.sum()
    return out / out.sum()


def log_pchip(knots: dict[int, float]) -> FloatArray:
    """Smooth positive curve through the knots: monotone cubic of log(value), ages 0..100."""
    xs = np.array(sorted(knots), dtype=float)
    ys = np.log(np.array([knots[int(x)] for x in xs]))
    return np.asarray(np.exp(PchipInterpolator(xs, ys, extrapolate=True)(AGES)), dtype=float)


def linear(knots: dict[int, float]) -> FloatArray:
    """Piecewise-linear curve through the knots, ages 0..100."""
    xs = sorted(knots)
    return np.interp(AGES, xs, [knots[x] for x in xs])


def with_gradient(young: dict[int, float], slope: float, cap: int) -> FloatArray:
    """Young knots, then exp(slope · (min(age, cap) − 45)) from age 45 (knots every 10 years)."""
    knots = dict(young)
    for age in range(GRADIENT_FROM + 10, MAX_AGE + 1, 10):
        knots[age] = math.exp(slope * (min(age, cap) - GRADIENT_FROM))
    knots[MAX_AGE] = math.exp(slope * (cap - GRADIENT_FROM))
    return log_pchip(knots)


def relative_rate_old(rate: FloatArray, ref: FloatArray) -> float:
    """Mean rate of ages >= OLD_AGE over mean rate of younger ages, in the reference population."""
    old = AGES >= OLD_AGE
    return float(
        (rate[old] @ ref[old]) / ref[old].sum() / ((rate[~old] @ ref[~old]) / ref[~old].sum())
    )


def maternity_per_head(ref: FloatArray) -> FloatArray:
    """Obstetric admissions per head of the reference population, by the mother's age:
    births at CBR 8.50‰ spread by the China ASFR pattern over women (half of each age)."""
    pattern = np.zeros(MAX_AGE + 1)
    for lo, pct in CN_ASFR_PERCENT_2020.items():
        pattern[lo : lo + 5] = pct / 5.0
    women = 0.5 * ref
    births_by_age = pattern * women
    births_by_age *= CN_CRUDE_BIRTH_RATE_2020 / births_by_age.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_head = np.where(ref > 0, OBSTETRIC_ADMISSIONS_PER_BIRTH * births_by_age / ref, 0.0)
    return per_head


def solve_slope(curve: Callable[[float], FloatArray], target: float, ref: FloatArray) -> float:
    """Slope above age 45 that gives the target relative rate of ages 60+."""
    return float(brentq(lambda g: relative_rate_old(curve(g), ref) - target, 0.0, 0.2, xtol=1e-12))


def normalised(rate: FloatArray, ref: FloatArray) -> FloatArray:
    return rate / float(rate @ ref)


def derive_shapes(ref: FloatArray) -> tuple[dict[str, FloatArray], dict[str, float]]:
    """Age shapes of every per-capita service and figures for the provenance table."""
    info: dict[str, float] = {}
    # --- visits -----------------------------------------------------------------
    g_v = solve_slope(
        lambda g: with_gradient(VISIT_KNOTS_YOUNG, g, VISIT_GRADIENT_CAP), RR_VISITS_60PLUS, ref
    )
    visits = with_gradient(VISIT_KNOTS_YOUNG, g_v, VISIT_GRADIENT_CAP)
    chc_share = linear(CHC_SHARE_KNOTS)
    info["visit_slope"] = g_v
    info["visit_rr_60"] = relative_rate_old(visits, ref)
    # --- admissions: total incl. maternity hits the survey's relative rate ---------
    maternity = maternity_per_head(ref)

    def total_admissions(g: float) -> FloatArray:
        h = with_gradient(ADMISSION_KNOTS_YOUNG, g, ADMISSION_GRADIENT_CAP)
        level = (NHSS_HOSPITALISATION_ALL - float(maternity @ ref)) / float(h @ ref)
        return level * h + maternity

    g_h = solve_slope(total_admissions, RR_ADMISSIONS_60PLUS, ref)
    hosp = with_gradient(ADMISSION_KNOTS_YOUNG, g_h, ADMISSION_GRADIENT_CAP)
    info["admission_slope"] = g_h
    info["admission_rr_60_incl_maternity"] = relative_rate_old(total_admissions(g_h), ref)
    info["admission_rr_60_excl_maternity"] = relative_rate_old(hosp, ref)
    info["maternity_per_100"] = 100 * float(maternity @ ref)
    # --- mix of lines by age ---------------------------------------------------
    paeds = np.where(AGES <= PAEDIATRIC_LAST_AGE, 0.97, 0.0)
    paeds[PAEDIATRIC_LAST_AGE + 1] = 0.5
    icu = linear(ICU_SHARE_KNOTS)
    elderly = linear(ELDERLY_CARE_SHARE_KNOTS)
    rest = 1.0 - paeds - icu - elderly
    rest[AGES <= PAEDIATRIC_LAST_AGE] = 0.0
    icu[AGES <= PAEDIATRIC_LAST_AGE] = 1.0 - paeds[AGES <= PAEDIATRIC_LAST_AGE]
    surgical = linear(SURGICAL_FRACTION_KNOTS)
    mix = {
        "medicine": rest * (1.0 - surgical),
        "surgery": rest * surgical,
        "paediatrics": paeds,
        "icu": icu,
        "elderly_care": elderly,
    }
    total_mix = sum(mix.values())
    assert np.allclose(total_mix, 1.0), "line mix must sum to 1 at every age"
    hosp_old = float((hosp * ref)[AGES >= OLD_AGE].sum() / (hosp @ ref))
    info["share_of_admissions_60plus_ref"] = hosp_old
    shapes = {
        "chc": normalised(visits * chc_share, ref),
        "outpatient": normalised(visits * (1.0 - chc_share), ref),
        "ed": normalised(log_pchip(ED_KNOTS), ref),
        "ambulance": normalised(log_pchip(AMBULANCE_KNOTS), ref),
    }
    # One constant for all lines, so that the lines keep their mix: the sum of the
    # line shapes has mean 1 over the reference population.
    hosp_mean = float(hosp @ ref)
    for pool, share in mix.items():
        shapes[pool] = hosp * share / hosp_mean
    return shapes, info


# =============================================================================
# Writers
# =============================================================================
def fmt(x: float) -> str:
    """Fixed 9 significant digits: stable text for byte-for-byte reproduction."""
    return f"{x:.9g}"


def shapes_csv(shapes: dict[str, FloatArray]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SERVICE_TABLES["use_rate_shapes"][1])
    for service, shape in shapes.items():
        for sex in SEXES:
            for age in AGES:
                w.writerow([service, sex, int(age), fmt(float(shape[age]))])
    return buf.getvalue()


def service_lines_csv() -> str:
    buf = io.StringIO()
    cols = list(SERVICE_TABLES["service_lines"][1])
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for line in SERVICE_LINES:
        w.writerow([line[c] for c in cols])
    return buf.getvalue()


def los_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SERVICE_TABLES["los"][1])
    for pool, routes in LOS_BY_POOL.items():
        for lo, hi in LOS_BANDS:
            for route, (family, mean, cv) in routes.items():
                w.writerow([pool, lo, hi, route, family, fmt(mean), fmt(cv)])
    return buf.getvalue()


def ed_acuity_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SERVICE_TABLES["ed_acuity"][1])
    for lo, hi in ED_BANDS:
        for level in range(4):
            w.writerow(
                [
                    lo,
                    hi,
                    level + 1,
                    fmt(ED_ACUITY_SHARES[(lo, hi)][level]),
                    fmt(ED_AMBULANCE_SHARE[level]),
                    fmt(ED_TREATMENT_HOURS[level]),
                ]
            )
    return buf.getvalue()


def build(data_dir: Path) -> tuple[dict[str, str], dict[str, float]]:
    """File name -> CSV text, and the figures reported in DATA.md."""
    ref = reference_population(read_mortality_standard(data_dir / "mortality_standard.csv"))
    shapes, info = derive_shapes(ref)
    files = {
        "use_rate_shapes.csv": shapes_csv(shapes),
        "service_lines.csv": service_lines_csv(),
        "los.csv": los_csv(),
        "ed_acuity.csv": ed_acuity_csv(),
    }
    info["ref_share_60plus"] = float(ref[AGES >= OLD_AGE].sum())
    return files, info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="folder of the CSVs")
    parser.add_argument(
        "--check", action="store_true", help="compare with the files instead of writing"
    )
    args = parser.parse_args(argv)
    files, info = build(args.out)
    for key, value in info.items():
        print(f"{key}: {value:.6g}")
    stale = []
    for name, text in files.items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"differ from the derivation: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
