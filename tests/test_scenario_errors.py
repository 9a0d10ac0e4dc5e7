"""Bad input: each kind gives one line naming file, key, value and what is allowed,
exit status 2 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.app.cli import main
from tests.inputs import FOLDER, one_line, write_input

ROOT = Path(__file__).resolve().parent.parent
GOOD_POP = "sex,age,population\n" + "".join(
    f"{s},{a},{1000 + a}\n" for s in ("male", "female") for a in range(101)
)


def _pop_csv(text: str) -> dict[str, str | bytes | None]:
    return {"pop.csv": text}


def _write(folder: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        write_input(folder / name, content)


CASES: list[tuple[str, str, dict[str, str | bytes | None], str]] = [
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
        "year long before the census",
        "[demography]\ntfr = {0999 = 1.0}",
        {},
        "demography.tfr = {'0999': 1.0}: year keys must be years from 2020 (the census) to 2050",
    ),
    (
        "sd far wider than the range",
        '[demography]\nsrb = {dist = "normal", mean = 1.1, sd = 1e308}',
        {},
        "demography.srb = {'dist': 'normal', 'mean': 1.1, 'sd': 1e+308}: sd must be a number "
        "from 0 to 0.3",
    ),
    (
        "sd infinite",
        '[demography]\nsrb = {dist = "normal", mean = 1.1, sd = inf}',
        {},
        "demography.srb.sd = inf: Input should be a finite number",
    ),
    (
        "nan in a list",
        "[des.ed]\nadmit_weights = [nan, 0.5, 0.1, 0.01]",
        {},
        "des.ed.admit_weights.0 = nan: Input should be a finite number",
    ),
    (
        "array nested thousands deep",
        "[demography]\ntfr = " + "[" * 3000 + "]" * 3000,
        {},
        "s.toml: arrays or tables nested too deeply: at most 16 levels",
    ),
    (
        "inline table nested thousands deep",
        "x = " + "{a = " * 3000 + "1" + "}" * 3000,
        {},
        "s.toml: arrays or tables nested too deeply: at most 16 levels",
    ),
    (
        "array nested 40 deep",
        "[demography]\ntfr = " + "[" * 40 + "1" + "]" * 40,
        {},
        "demography.tfr = '<17 levels deep>': arrays or tables nested too deeply",
    ),
    (
        "csv ragged row",
        '[data]\nbase_population = "pop.csv"',
        _pop_csv(GOOD_POP.replace("male,5,1005", "male,5,1005,9")),
        "row 7 = 'male,5,1005,9': has 4 cells; every row needs 3",
    ),
    (
        "csv path is a folder",
        '[data]\nbase_population = "pop.csv"',
        {"pop.csv": FOLDER},
        "pop.csv: is a folder, not a CSV file",
    ),
    (
        "scenario in UTF-16",
        "",
        {"s.toml": "name = 's'\n".encode("utf-16")},
        "s.toml: not UTF-8 text (byte 0)",
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
    _write(tmp_path, files)
    line = one_line(capsys, main(["validate", str(scenario)]))
    assert fragment in line, f"{fragment!r} not in {line!r}"


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


def test_extends_through_a_symlink_loop(tmp_path, capsys):
    (tmp_path / "loop.toml").symlink_to(tmp_path / "loop.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "loop.toml"\n', encoding="utf-8")
    line = one_line(capsys, main(["validate", str(child)]))
    assert "loop.toml: is a symbolic link loop" in line, line


def test_a_byte_order_mark_is_accepted_in_scenarios_and_tables(tmp_path, capsys):
    (tmp_path / "pop.csv").write_text("\ufeff" + GOOD_POP, encoding="utf-8")
    scenario = tmp_path / "s.toml"
    scenario.write_text('\ufeff[data]\nbase_population = "pop.csv"\n', encoding="utf-8")
    assert main(["validate", str(scenario)]) == 0, capsys.readouterr().err


def test_control_characters_from_a_scenario_are_printed_escaped(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text('label = "\\u001b[31mred\\u001b[0m"\n', encoding="utf-8")
    assert main(["validate", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "(s: \\x1b[31mred\\x1b[0m)" in out, out
    scenario.write_text('"\\u001b[2J" = 1\n', encoding="utf-8")
    line = one_line(capsys, main(["validate", str(scenario)]))
    assert "\x1b" not in line and "s.toml: \\x1b[2J = 1: unknown key" in line, line


def test_edge_values_inside_the_rules_are_accepted(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        "[demography]\ntfr = {2020 = 1.2, 2050 = 1.0}\n"
        'srb = {dist = "normal", mean = 1.1, sd = 0.3}\n',
        encoding="utf-8",
    )
    assert main(["validate", str(scenario)]) == 0, capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_not_read_as_a_scenario(capsys):
    line = one_line(capsys, main(["validate", "/dev/zero"]))
    assert line == "/dev/zero: is a device, pipe or socket, not a TOML file", line
