"""Bad input: each kind gives one line naming file, key, value and what is allowed,
exit status 2 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOOD_POP = "sex,age,population\n" + "".join(
    f"{s},{a},{1000 + a}\n" for s in ("male", "female") for a in range(101)
)


def _pop_csv(text: str) -> dict[str, str]:
    return {"pop.csv": text}


CASES: list[tuple[str, str, dict[str, str], str]] = [
    # (id, scenario text, extra files, fragment expected in the message)
    (
        "unknown key",
        "[demography]\ntfrr = 1.2",
        {},
        "demography.tfrr = 1.2: unknown key; allowed here: e0",
    ),
    ("unknown section", "[beds]\nn = 1", {}, "beds = {'n': 1}: unknown key"),
    (
        "wrong type",
        '[demography]\ntfr = "1.2"',
        {},
        "demography.tfr = '1.2': must be a number or a distribution",
    ),
    ("bool for number", "[demography]\nsrb = true", {}, "demography.srb = True: must be a number"),
    (
        "negative TFR",
        "[demography]\ntfr = -0.5",
        {},
        "demography.tfr = -0.5: must be a number from 0 to 8",
    ),
    (
        "negative TFR in a year",
        "[demography]\ntfr = {2021 = 1.2, 2030 = -1.0}",
        {},
        "demography.tfr.2030 = -1.0",
    ),
    ("low above high", "[demography]\nsrb = {low = 1.2, high = 1.1}", {}, "needs low <= high"),
    (
        "triangular order",
        '[demography]\nsrb = {dist = "triangular", low = 1.05, mode = 1.2, high = 1.1}',
        {},
        "needs low <= mode <= high",
    ),
    (
        "unknown distribution",
        '[demography]\nsrb = {dist = "weibull", low = 1.0}',
        {},
        "dist must be one of normal",
    ),
    (
        "interval outside range",
        "[demography]\ne0 = {low = 80.0, high = 99.0}",
        {},
        "must be a number from 60 to 95",
    ),
    (
        "negative sd",
        '[demography]\nsrb = {dist = "normal", mean = 1.1, sd = -0.1}',
        {},
        "demography.srb.sd = -0.1",
    ),
    (
        "distribution unknown key",
        '[demography]\nsrb = {dist = "normal", mean = 1.1, sd = 0.1, skew = 1}',
        {},
        "demography.srb.skew = 1: unknown key",
    ),
    ("years descending", "[demography]\ntfr = {2030 = 1.0, 2021 = 1.2}", {}, "ascending order"),
    (
        "year key not a year",
        "[demography]\ntfr = {2021 = 1.2, soon = 1.0}",
        {},
        "year keys must be four-digit years",
    ),
    (
        "end before start",
        "[run]\nstart_year = 2030\nend_year = 2026",
        {},
        "run.end_year = 2026: must not be before run.start_year",
    ),
    (
        "end year beyond 2050",
        "[run]\nend_year = 2060",
        {},
        "run.end_year = 2060: Input should be less than or equal to 2050",
    ),
    (
        "calibration after end",
        "[calibration]\nyear = 2040",
        {},
        "calibration.year = 2040: must not be after run.end_year",
    ),
    ("bad name", 'name = "Two Words"', {}, "name = 'Two Words': must be 1-64 characters"),
    ("not TOML", "name = ", {}, "not valid TOML"),
    ("extends missing file", 'extends = "nowhere.toml"', {}, "extends a file that does not exist"),
    (
        "extends cycle",
        'extends = "b.toml"',
        {"b.toml": 'extends = "s.toml"\n'},
        "inheritance cycle",
    ),
    ("extends not toml", "extends = 3", {}, "extends = 3: must be the path of another .toml file"),
    (
        "table not csv",
        '[data]\nbase_population = "pop.xlsx"',
        {},
        "data.base_population = 'pop.xlsx'",
    ),
    (
        "csv missing file",
        '[data]\nbase_population = "absent.csv"',
        {},
        "absent.csv: file not found",
    ),
    (
        "csv wrong columns",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv("sex,age,count\nmale,0,1\n"),
        "columns = ['sex', 'age', 'count']: must be exactly: sex, age, population",
    ),
    (
        "csv negative count",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("male,5,1005", "male,5,-3")),
        "row 7, population = '-3': must not be negative",
    ),
    (
        "csv missing value",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("male,5,1005", "male,5,")),
        "row 7, population = '': is missing",
    ),
    (
        "csv not a number",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("male,5,1005", "male,5,many")),
        "must be a number",
    ),
    (
        "csv missing ages",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("female,100,1100\n", "")),
        "must give every age 0..100 for both sexes",
    ),
    (
        "csv bad sex",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("male,5,1005", "m,5,1005")),
        "row 7, sex = 'm'",
    ),
    (
        "csv shares not 1",
        '[data]\nfertility_pattern = "f.csv"',
        {"f.csv": "age,share\n" + "".join(f"{a},0.05\n" for a in range(15, 50))},
        "shares must sum to 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "files", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_scenario_gives_one_line_and_status_2(tmp_path, capsys, text, files, fragment):
    scenario = tmp_path / "s.toml"
    scenario.write_text(text + "\n", encoding="utf-8")
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    code = main(["validate", str(scenario)])
    err = capsys.readouterr().err
    assert code == 2, f"exit status 2 expected, got {code}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one line expected, got: {err!r}"
    assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert "Traceback" not in err


def test_error_names_the_file_that_set_the_key(tmp_path, capsys):
    (tmp_path / "parent.toml").write_text("[demography]\nsrb = 9.0\n")
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\nname = "child"\n')
    assert main(["validate", str(child)]) == 2
    assert "parent.toml: demography.srb = 9.0" in capsys.readouterr().err


def test_process_exit_status_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[demography]\ntfr = -1.0\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        env={"HRSIM_NO_VENV": "1", "PATH": ""},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "bad.toml: demography.tfr = -1.0: must be a number from 0 to 8" in proc.stderr


def test_shipped_scenarios_validate(capsys):
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    assert files, "scenarios/ ships at least one scenario"
    assert main(["validate", *files]) == 0, capsys.readouterr().err
