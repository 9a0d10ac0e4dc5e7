"""The shipped demographic base tables in sim/data/ (provenance: sim/data/DATA.md).

Reads the CSVs with plain csv/numpy, not through the project's loaders, so a
loader bug cannot hide a table bug. The last test re-runs the derivation script
(tools/derive_demography_data.py) and compares its output byte for byte.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "sim" / "data"
WPP_DIR = REPO.parent / "shared" / "data" / "wpp2024"
SCRIPT = REPO / "tools" / "derive_demography_data.py"

SEXES = ("male", "female")
AGES = list(range(101))  # 100 = open group 100+
TABLES = {
    "base_population.csv": ("sex", "age", "population"),
    "fertility_pattern.csv": ("age", "share"),
    "fertility_pattern_hongkong.csv": ("age", "share"),
    "mortality_standard.csv": ("sex", "age", "mx"),
    "mortality_standard_hongkong.csv": ("sex", "age", "mx"),
    "migration_profile.csv": ("sex", "age", "all", "labour", "elderly"),
}

# Published constraint values of DATA_NOTES §5.1 (synthetic table, grade S, built on the
# census total 3,979,037 and the Shenzhen sex ratio 122.43, grades A/B). Groups 0-4 ... 80-84, 85+.
SEC51_MALE = (
    117_624, 111_090, 98_020, 123_440, 241_232, 258_648, 275_358, 221_228, 172_981,
    185_219, 156_977, 123_440, 42_576, 25_286, 15_440, 9_428, 5_757, 6_398,
)  # fmt: skip
SEC51_FEMALE = (
    98_819, 93_329, 82_349, 98_695, 192_874, 206_799, 220_159, 176_880, 138_305,
    148_090, 125_509, 98_695, 42_576, 26_709, 16_309, 9_959, 6_081, 6_758,
)  # fmt: skip
# The printed sex columns sum to 2,190,142 / 1,788,895, one person off the §5.1 Total row;
# DATA.md row POP-5YR-RECONCILE moves one person: males 0-4 +1, females 35-39 -1.
SEC51_RECONCILE = {("male", 0): +1, ("female", 35): -1}
CENSUS_TOTAL = 3_979_037
SEX_TOTALS = {"male": 2_190_143, "female": 1_788_894}

# DATA_NOTES §5.3, last two columns: WPP 2024 China 2015-2020 mx (6 decimals),
# groups 0, 1-4, 5-9, ..., 95-99, 100+.
SEC53_WPP_CHINA = {
    "male": (
        0.007835, 0.000453, 0.000354, 0.000453, 0.000532, 0.000777, 0.000946, 0.001058,
        0.001324, 0.002217, 0.003465, 0.005800, 0.008329, 0.014851, 0.023233, 0.037110,
        0.060137, 0.103579, 0.172604, 0.292983, 0.511757, 0.892997,
    ),
    "female": (
        0.006709, 0.000459, 0.000308, 0.000289, 0.000330, 0.000494, 0.000557, 0.000608,
        0.000753, 0.001150, 0.001675, 0.002738, 0.003857, 0.006966, 0.011937, 0.021210,
        0.037178, 0.070291, 0.122546, 0.215375, 0.359182, 0.534658,
    ),
}  # fmt: skip
# DATA_NOTES §3c: WPP 2024 percent of TFR by group 15-19 ... 45-49, year 2020.
SEC3C_CHINA_PERCENT = (2.72, 23.72, 35.44, 24.32, 10.24, 2.63, 0.83)


def read(name: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return tuple(reader.fieldnames or ()), list(reader)


def by_sex_age(name: str, column: str) -> np.ndarray:
    """[sex, age] array of a column; fails on a missing, repeated or extra cell."""
    _, rows = read(name)
    out = np.full((2, 101), np.nan)
    for row in rows:
        s, a = SEXES.index(row["sex"]), int(row["age"])
        assert np.isnan(out[s, a]), f"{name}: {row['sex']} age {a} appears twice"
        out[s, a] = float(row[column])
    assert not np.isnan(out).any(), f"{name}: some sex-age cells are missing"
    return out


def fertility(name: str) -> dict[int, float]:
    _, rows = read(name)
    return {int(row["age"]): float(row["share"]) for row in rows}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_columns_exact_and_no_missing_or_negative_values(name):
    header, rows = read(name)
    assert header == TABLES[name], f"{name}: header {header}, expected {TABLES[name]}"
    expected_rows = 35 if name.startswith("fertility") else 202
    assert len(rows) == expected_rows, f"{name}: {len(rows)} rows, expected {expected_rows}"
    for line, row in enumerate(rows, start=2):
        assert None not in row, f"{name} line {line}: more cells than columns"
        for column in TABLES[name]:
            text = row[column]
            assert text not in ("", None), f"{name} line {line}: {column} is missing"
            if column == "sex":
                assert text in SEXES, f"{name} line {line}: sex {text!r}"
            elif column == "age":
                assert text.isdigit() and int(text) in AGES, f"{name} line {line}: age {text!r}"
            else:
                value = float(text)
                assert np.isfinite(value) and value >= 0, f"{name} line {line}: {column}={text}"


def test_base_population_totals_are_the_census_and_sex_totals():
    pop = by_sex_age("base_population.csv", "population")
    assert (pop == np.round(pop)).all(), "populations must be whole persons"
    assert pop.sum() == CENSUS_TOTAL
    assert pop[0].sum() == SEX_TOTALS["male"]
    assert pop[1].sum() == SEX_TOTALS["female"]


def test_base_population_five_year_groups_equal_the_published_table():
    pop = by_sex_age("base_population.csv", "population")
    for s, (sex, published) in enumerate(zip(SEXES, (SEC51_MALE, SEC51_FEMALE), strict=True)):
        for g, start in enumerate(range(0, 90, 5)):
            stop = start + 5 if start < 85 else 101
            expected = published[g] + SEC51_RECONCILE.get((sex, start), 0)
            got = pop[s, start:stop].sum()
            assert got == expected, f"{sex} {start}-{stop - 1}: {got}, §5.1 gives {expected}"


def test_base_population_single_years_are_smooth_within_the_open_group():
    # The 85+ split follows a life table's person-years: it must decline with age up to 99.
    pop = by_sex_age("base_population.csv", "population")
    assert (np.diff(pop[:, 85:100], axis=1) <= 0).all(), pop[:, 85:101]


@pytest.mark.parametrize("name", ["fertility_pattern.csv", "fertility_pattern_hongkong.csv"])
def test_fertility_shares_sum_to_one_on_ages_15_to_49(name):
    shares = fertility(name)
    assert sorted(shares) == list(range(15, 50)), f"{name}: ages {sorted(shares)}"
    total = sum(shares.values())
    assert abs(total - 1.0) < 1e-12, f"{name}: shares sum to {total!r}"
    assert all(v > 0 for v in shares.values()), f"{name}: a fertile age has share 0"


def test_fertility_pattern_reproduces_wpp_china_groups():
    shares = fertility("fertility_pattern.csv")
    for g, percent in enumerate(SEC3C_CHINA_PERCENT):
        start = 15 + 5 * g
        got = 100 * sum(shares[a] for a in range(start, start + 5))
        # 0.1 point: §3c rounds to 0.01; 10-14 (0.003%) and 50-54 (0.086%) are folded in.
        assert abs(got - percent) < 0.1, f"{start}-{start + 4}: {got:.3f}%, §3c {percent}%"


def test_hongkong_pattern_is_later_childbearing():
    def mean_age(shares):
        return sum((a + 0.5) * v for a, v in shares.items())

    china = mean_age(fertility("fertility_pattern.csv"))
    hk = mean_age(fertility("fertility_pattern_hongkong.csv"))
    assert 27.0 < china < hk - 2.0, f"mean age of childbearing China {china:.2f}, HK {hk:.2f}"


def test_births_at_tfr_1_2_match_data_notes():
    # DATA_NOTES §5.2: TFR 1.2 gives about 47.6k births in the base population (five-year
    # computation); single-year graduation may move this by a few per cent at most.
    women = by_sex_age("base_population.csv", "population")[1]
    shares = fertility("fertility_pattern.csv")
    births = 1.2 * sum(women[a] * v for a, v in shares.items())
    assert abs(births / 47_600 - 1.0) < 0.03, f"{births:.0f} births at TFR 1.2"


@pytest.mark.parametrize("name", ["mortality_standard.csv", "mortality_standard_hongkong.csv"])
def test_mortality_positive_and_increasing_from_age_10(name):
    mx = by_sex_age(name, "mx")
    assert (mx > 0).all(), f"{name}: a death rate is not positive"
    steps = np.diff(mx[:, 10:], axis=1)
    assert (steps >= 0).all(), f"{name}: mx decreases somewhere above age 10"
    # Rates are constant within a WPP group and rise at every group boundary.
    boundaries = np.arange(15, 101, 5)
    assert (mx[:, boundaries] > mx[:, boundaries - 1]).all(), f"{name}: flat at a boundary"


def test_mortality_standard_is_wpp_china_2015_2020():
    mx = by_sex_age("mortality_standard.csv", "mx")
    starts = [0, 1, *range(5, 101, 5)]
    for s, sex in enumerate(SEXES):
        for g, start in enumerate(starts):
            stop = starts[g + 1] if g + 1 < len(starts) else 101
            assert (mx[s, start:stop] == mx[s, start]).all(), f"{sex} {start}: not one rate"
            assert abs(mx[s, start] - SEC53_WPP_CHINA[sex][g]) <= 5e-7, (
                f"{sex} {start}: {mx[s, start]} vs DATA_NOTES §5.3 {SEC53_WPP_CHINA[sex][g]}"
            )


def test_migration_profile_columns_sum_to_one_and_have_their_shapes():
    columns = {c: by_sex_age("migration_profile.csv", c) for c in ("all", "labour", "elderly")}
    for column, values in columns.items():
        assert abs(values.sum() - 1.0) < 1e-12, f"{column} sums to {values.sum()!r}"
    labour_peak = int(np.argmax(columns["labour"].sum(axis=0)))
    assert 20 <= labour_peak <= 24, f"labour peak at age {labour_peak}"
    male_share = columns["all"][0].sum()
    assert abs(male_share - 0.55) <= 0.005, f"male share of 'all' {male_share:.4f}"
    elderly_55_69 = columns["elderly"][:, 55:70].sum()
    assert elderly_55_69 > 0.9, f"elderly component has {elderly_55_69:.3f} at 55-69"
    both = columns["all"].sum(axis=0)
    assert both[0] > both[10] > both[14], "child component must fall with age over 0-14"
    assert both[85:].sum() < 0.02, f"'all' puts {both[85:].sum():.4f} of migrants at 85+"


def test_derivation_script_reproduces_the_shipped_tables(tmp_path):
    if not WPP_DIR.is_dir():
        pytest.skip(
            f"WPP 2024 extract not found at {WPP_DIR} (the ../shared folder beside the clone)"
        )
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--wpp", str(WPP_DIR), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in TABLES:
        fresh = (tmp_path / name).read_bytes()
        shipped = (DATA / name).read_bytes()
        assert fresh == shipped, f"{name}: the script's output differs from sim/data/{name}"


def test_a_ragged_row_is_refused_and_a_quoted_comma_is_kept(tmp_path):
    from sim.base.errors import ScenarioError
    from sim.data import read_csv
    from sim.data.profiles import load_holidays, load_profiles

    table = tmp_path / "t.csv"
    table.write_text('\ufeffa,note\n1,fine\n2,"one, two"\n', encoding="utf-8")
    rows = read_csv(table, ("a", "note"), "test")
    assert rows == [{"a": "1", "note": "fine"}, {"a": "2", "note": "one, two"}]
    table.write_text("a,note\n1,fine\n2,one, two\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"row 3 = '2,one, two': has 3 cells; every row"):
        read_csv(table, ("a", "note"), "test")
    table.write_text("a,note\n1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="row 2 = '1': has 1 cells; every row needs 2"):
        read_csv(table, ("a", "note"), "test")
    assert load_profiles() and load_holidays(), "the shipped tables have no ragged row"


def _ed_shape(sex: str) -> np.ndarray:
    with open(DATA / "use_rate_shapes.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["service"] == "ed" and r["sex"] == sex]
    return np.array([float(r["relative_rate"]) for r in sorted(rows, key=lambda r: int(r["age"]))])


@pytest.mark.parametrize("sex", SEXES)
def test_ed_shape_has_the_published_age_ratios_and_no_step(sex):
    """USE-SHAPE-ED against the NHAMCS 2019 band ratios to ages 18-44 (<1 2.62, 45-74
    0.87, 75+ 1.40) and the Chinese refinements of DATA.md; the flat shape it replaces
    fails every ratio."""
    shape = _ed_shape(sex)
    adults = shape[18:45].mean()
    assert 2.2 <= shape[0] / adults <= 2.8
    assert 0.8 <= shape[45:65].mean() / adults <= 1.0
    assert 1.3 <= shape[75:].mean() / adults <= 1.6
    assert shape[75:].mean() > shape[65:75].mean() > shape[45:65].mean()
    steps = np.abs(np.diff(shape)) / shape[:-1]
    # early childhood falls fast (2.5 at birth to 0.75 at 6), smoothly after that
    assert steps[:6].max() < 0.25, f"ages 0-6 step by {steps[:6].max():.1%}"
    assert steps[6:].max() < 0.1, f"neighbouring ages differ by {steps[6:].max():.1%}"
