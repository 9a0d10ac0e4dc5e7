"""Fuzz tier of bad input: a seeded generator of malformed inputs of
every kind a user gives (scenario TOML, the CSV tables ``data.*`` names, sweep files,
command-line values) and of valid edge cases.

Each bad case must end with exit status 2 and exactly one line on standard error,
without a traceback, naming the file or option at fault; each valid case must
succeed. No case does real work: a batch that got past its checks is stopped at
``sim.app.cli._execute`` (counted as accepted), and scenarios are checked by ``validate``.
About 40 cases run in the default tier; the rest are marked slow.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sim.app.cli import main
from sim.data import DATA_DIR
from tests.inputs import FOLDER, one_line, write_input

SEED = 20261215
ROOT = Path(__file__).resolve().parent.parent
SMALL_POPULATION = ROOT / "tests" / "data" / "small_district_population.csv"
SMALL = f"""name = "small"
[run]
start_year = 2025
end_year = 2026
[data]
base_population = "{SMALL_POPULATION}"
[calibration]
population = {{ low = 205_000.0, high = 206_500.0 }}
"""
"""The scenario the batch cases (``run``, ``sweep``) apply to."""

Content = str | bytes | None


@dataclass(frozen=True)
class Case:
    """One generated input: the files to write (in the working folder), the command
    line, and the fragments one of which the error line must hold (none: valid)."""

    kind: str
    what: str
    argv: tuple[str, ...]
    files: dict[str, Content] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.names


# -- scenario files -------------------------------------------------------------------

NUMBERS = {
    # key: (section, lowest, highest) of a plain number
    "srb": ("demography", 1.0, 1.3),
    "e0_extra_gain": ("demography", -0.5, 1.0),
    "warmup_days": ("des", 0, 3650),
    "end_year": ("run", 2025, 2050),
}
WRONG_TYPES = ('"1.1"', "true", "[1, 2]", "{}", "1979-05-27", "07:32:00", '""', "[[1], [2]]")
NOT_FINITE = ("nan", "inf", "-inf", "+nan", "1e999")
HUGE = ("1e308", "-1e308", "9" * 30, "-" + "9" * 30, "1" * 5000)
BAD_YEARS = ("1900", "2019", "2051", "99999", "-1", "2025.5", '"2025"', "0")
BROKEN = (
    "name = ",
    "[run",
    "[[run]]\nseed = 1",
    'name = "x',
    "a = 1\na = 2",
    "= 1",
    "[run]]",
    "x = [1,",
)


def _validate(what: str, text: Content, names: tuple[str, ...] = ("s.toml",), **extra: Content):
    return Case("scenario", what, ("validate", "s.toml"), {"s.toml": text, **extra}, names)


def _nest(rng: random.Random) -> str:
    depth = rng.choice((17, 40, 500, 3000))
    if rng.random() < 0.5:
        return "[demography]\ntfr = " + "[" * depth + "1" + "]" * depth
    return "x = " + "{a = " * depth + "1" + "}" * depth


def _distribution(rng: random.Random) -> str:
    bad = rng.choice(
        (
            '{dist = "weibull", low = 1.0, high = 1.2}',
            '{dist = "normal", mean = 1.1, sd = -0.1}',
            '{dist = "normal", mean = 1.1}',
            '{dist = "normal", mean = nan, sd = 0.01}',
            '{dist = "triangular", low = 1.2, mode = 1.0, high = 1.3}',
            "{low = 1.2, high = 1.1}",
            "{low = 1.1}",
            '{dist = "uniform", low = 0.5, high = 2.0}',
            "{dist = 3, low = 1.0, high = 1.2}",
            '{dist = "normal", mean = 1.1, sd = 0.01, skew = 1}',
            "{2030 = 1.1}",
        )
    )
    return f"[demography]\nsrb = {bad}"


def scenario_cases(rng: random.Random) -> list[Case]:
    cases = []
    for key, (section, low, high) in NUMBERS.items():
        cases.append(
            _validate(f"{key} wrong type", f"[{section}]\n{key} = {rng.choice(WRONG_TYPES)}")
        )
        cases.append(
            _validate(f"{key} not finite", f"[{section}]\n{key} = {rng.choice(NOT_FINITE)}")
        )
        cases.append(_validate(f"{key} huge", f"[{section}]\n{key} = {rng.choice(HUGE)}"))
        above = high + rng.choice((1, 1000, 10**9))
        cases.append(_validate(f"{key} above range", f"[{section}]\n{key} = {above}"))
        below = low - rng.choice((1, 1000, 10**9))
        cases.append(_validate(f"{key} below range", f"[{section}]\n{key} = {below}"))
        cases.append(_validate(f"{key} lowest", f"[{section}]\n{key} = {low}", ()))
        cases.append(_validate(f"{key} highest", f"[{section}]\n{key} = {high}", ()))
    for year in rng.sample(BAD_YEARS, 5):
        cases.append(_validate(f"start_year {year}", f"[run]\nstart_year = {year}"))
        key = year.strip('"') + "0"  # a quoted key is the same key: "2025" is a year
        cases.append(_validate(f"tfr year key {key}", f"[demography]\ntfr = {{{key} = 1.0}}"))
    for _ in range(6):
        section = rng.choice(("", "[run]\n", "[demography]\n", "[des.ed]\n", "[data]\n"))
        key = "".join(rng.choice("abcxyz_") for _ in range(rng.randint(1, 12)))
        cases.append(_validate(f"unknown key {key!r}", f"{section}zz{key} = 1"))
    for _ in range(4):
        cases.append(_validate("nested too deep", _nest(rng)))
    for text in rng.sample(BROKEN, 6):
        cases.append(_validate(f"broken syntax {text!r}", text))
    cases += [_validate("distribution table", _distribution(rng)) for _ in range(6)]
    cases += _encoding_cases(rng) + _extends_cases(rng) + _valid_scenario_edges(rng)
    return cases


def _encoding_cases(rng: random.Random) -> list[Case]:
    text = "[demography]\nsrb = 1.1\n"
    junk = rng.randbytes(64)
    return [
        _validate("double byte-order mark", "\ufeff\ufeff" + text),
        _validate("binary with NUL", b"name = 1\x00" + junk),
        _validate("binary not UTF-8", b"\xff\xfe\xfa" + junk),
        _validate("UTF-16", text.encode(rng.choice(("utf-16", "utf-16-le", "utf-16-be")))),
        _validate("UTF-32", text.encode("utf-32")),
        _validate("Latin-1 label", 'label = "caf\xe9"'.encode("latin-1")),
        _validate("a folder", FOLDER),
        _validate("NUL in a string", 'label = "a\\u0000b"', ()),
        _validate("byte-order mark", "\ufeff" + text, ()),
        _validate("empty file", "", ()),
        _validate("comments only", "# nothing\n\n   \n", ()),
        _validate("CRLF line ends", text.replace("\n", "\r\n"), ()),
    ]


def _extends_cases(rng: random.Random) -> list[Case]:
    child = "[demography]\nsrb = 1.1\n"
    loop = ("a.toml", "b.toml", "c.toml")
    n = rng.randint(1, 3)
    files = {name: f'extends = "{loop[(i + 1) % n]}"\n' for i, name in enumerate(loop[:n])}
    return [
        _validate("extends a missing file", f'extends = "gone{rng.randint(0, 99)}.toml"\n' + child),
        _validate("extends itself", 'extends = "s.toml"\n'),
        _validate(
            f"extends a loop of {n}",
            'extends = "a.toml"\n',
            ("a.toml", "b.toml", "c.toml"),
            **files,
        ),
        _validate("extends a folder", 'extends = "p.toml"\n', ("p.toml",), **{"p.toml": FOLDER}),
        _validate("extends binary", 'extends = "p.toml"\n', ("p.toml",), **{"p.toml": b"\x00\x01"}),
        _validate("extends a number", "extends = 7\n"),
        _validate("extends not toml", 'extends = "p.txt"\n'),
        _validate("extends a NUL name", 'extends = "a\\u0000.toml"\n', ("a\\x00.toml",)),
        _validate(
            "extends a bad parent",
            'extends = "p.toml"\n',
            ("p.toml",),
            **{"p.toml": "[run]\nseed = -1\n"},
        ),
        _validate(
            "extends a valid parent", 'extends = "p.toml"\n' + child, (), **{"p.toml": child}
        ),
    ]


def _valid_scenario_edges(rng: random.Random) -> list[Case]:
    srb = rng.uniform(1.0, 1.3)
    label = "".join(rng.choice("龙岗区 abc-é😀") for _ in range(rng.randint(1, 40)))
    return [
        _validate("srb inside the range", f"[demography]\nsrb = {srb!r}", ()),
        _validate("tfr path at its bounds", "[demography]\ntfr = {2020 = 0.0, 2050 = 8.0}", ()),
        _validate("seed 0", "[run]\nseed = 0", ()),
        _validate("seed 2**63 - 1", f"[run]\nseed = {2**63 - 1}", ()),
        _validate("unicode label", f'label = "{label}"', ()),
        _validate(
            "widest normal sd", '[demography]\nsrb = {dist = "normal", mean = 1.1, sd = 0.3}', ()
        ),
    ]


# -- CSV tables -----------------------------------------------------------------------

TABLES = {
    "base_population": "base_population.csv",
    "fertility_pattern": "fertility_pattern.csv",
    "mortality_standard": "mortality_standard.csv",
    "migration_profile": "migration_profile.csv",
}


def _shipped(table: str) -> list[str]:
    return (DATA_DIR / TABLES[table]).read_text(encoding="utf-8").splitlines()


def _with_row(lines: list[str], rng: random.Random, change: Callable[[list[str]], None]) -> str:
    """The table with one random data row's cells changed by ``change``."""
    i = rng.randrange(1, len(lines))
    cells = lines[i].split(",")
    change(cells)
    return "\n".join([*lines[:i], ",".join(cells), *lines[i + 1 :]]) + "\n"


def _set_cell(rng: random.Random, values: tuple[str, ...]) -> Callable[[list[str]], None]:
    def change(cells: list[str]) -> None:
        cells[rng.randrange(len(cells))] = rng.choice(values)

    return change


def _bad_tables(rng: random.Random, lines: list[str]) -> list[tuple[str, Content]]:
    body = "\n".join(lines) + "\n"
    header, *rows = lines
    return [
        ("missing column", "\n".join(",".join(r.split(",")[:-1]) for r in lines) + "\n"),
        ("renamed column", body.replace(header, header.replace(header.split(",")[-1], "count"), 1)),
        ("ragged row", _with_row(lines, rng, lambda c: c.append("9"))),
        ("short row", _with_row(lines, rng, lambda c: c.pop())),
        (
            "not a number",
            _with_row(lines, rng, _set_cell(rng, ("many", "1,5", "1.2.3", "--1", "0x1f"))),
        ),
        ("not finite", _with_row(lines, rng, _set_cell(rng, ("nan", "inf", "-inf", "1e999")))),
        ("negative", _with_row(lines, rng, lambda c: c.__setitem__(-1, f"-{rng.randint(1, 999)}"))),
        ("empty cell", _with_row(lines, rng, lambda c: c.__setitem__(-1, ""))),
        ("row missing", "\n".join([header, *rng.sample(rows, len(rows) - 1)]) + "\n"),
        ("row twice", body + rng.choice(rows) + "\n"),
        ("empty", ""),
        ("header only", header + "\n"),
        ("binary", rng.randbytes(200) + b"\x00"),
        ("UTF-16", body.encode("utf-16")),
        ("a folder", FOLDER),
    ]


def _valid_tables(lines: list[str]) -> list[tuple[str, Content]]:
    header, *rows = lines
    order = header.split(",")[::-1]
    index = [header.split(",").index(c) for c in order]
    flipped = [",".join(r.split(",")[i] for i in index) for r in lines]
    return [
        ("byte-order mark", "\ufeff" + "\n".join(lines) + "\n"),
        ("CRLF and blank lines", "\r\n".join([header, "", *rows, ""]) + "\r\n"),
        ("columns reordered", "\n".join(flipped) + "\n"),
    ]


def csv_cases(rng: random.Random) -> list[Case]:
    cases = []
    for table in TABLES:
        lines = _shipped(table)
        choices = [(what, content, ("t.csv",)) for what, content in _bad_tables(rng, lines)]
        choices += [(what, content, ()) for what, content in _valid_tables(lines)]
        for what, content, names in choices:
            scenario = f'[data]\n{table} = "t.csv"\n'
            files: dict[str, Content] = {"s.toml": scenario, "t.csv": content}
            cases.append(Case("csv", f"{table} {what}", ("validate", "s.toml"), files, names))
    for table in rng.sample(list(TABLES), 2):
        absent = {"s.toml": f'[data]\n{table} = "gone.csv"\n'}
        cases.append(Case("csv", f"{table} absent", ("validate", "s.toml"), absent, ("gone.csv",)))
        wrong = {"s.toml": f'[data]\n{table} = "t.xlsx"\n'}
        cases.append(Case("csv", f"{table} not csv", ("validate", "s.toml"), wrong, ("s.toml",)))
    return cases


# -- sweep files ----------------------------------------------------------------------

RANGE = '"demography.srb" = {low = 1.05, high = 1.12}'


def _sweep(what: str, text: Content, names: tuple[str, ...] = ("w.toml",)) -> Case:
    argv = ("sweep", "w.toml", "--scenario", "small.toml", "--workers", "0", "--out", "out")
    return Case("sweep", what, argv, {"small.toml": SMALL, "w.toml": text}, names)


def sweep_cases(rng: random.Random) -> list[Case]:
    method = rng.choice(("lhs", "sobol", "morris"))
    head = f'method = "{method}"\nn = 3\n'
    cases = [
        _sweep(f"method {m!r}", f"method = {m}\nn = 3\n[parameters]\n{RANGE}\n")
        for m in ('"LHS"', '"random"', "3", '""', '["lhs"]')
    ]
    for n in ("0", "1", "-5", "2.5", '"3"', "true", "10_000_000_000", "1" * 5000):
        cases.append(
            _sweep(f"n = {n[:12]}", f'method = "{method}"\nn = {n}\n[parameters]\n{RANGE}\n')
        )
    for spec in (
        "{low = 1.12, high = 1.05}",
        "{low = 1.1, high = 1.1}",
        "{low = nan, high = 1.1}",
        "{low = -inf, high = 1.1}",
        "{low = 1.0}",
        '{low = "a", high = "b"}',
        "[1.05, 1.1]",
        "{low = 1.05, high = 1.12, mode = 1.1}",
        "{low = 0.1, high = 9.0}",  # outside srb's 1.0..1.3: every point is refused
    ):
        cases.append(_sweep(f"range {spec}", f'{head}[parameters]\n"demography.srb" = {spec}\n'))
    for outputs in (
        '[":year=2030"]',
        '["beds:year"]',
        '["beds:=2030"]',
        '"beds"',
        "[1]",
        '["a:b=1,"]',
    ):
        text = f"{head}outputs = {outputs}\n[parameters]\n{RANGE}\n"
        cases.append(_sweep(f"outputs {outputs}", text))
    grid_values = ", ".join(["1.1"] * rng.randint(10, 30))
    huge_grid = "".join(f'"demand.x{i}" = [{grid_values}]\n' for i in range(6))
    cases += [
        _sweep("grid of over 100,000 points", f'method = "grid"\n[parameters]\n{huge_grid}'),
        _sweep("grid empty list", 'method = "grid"\n[parameters]\n"demography.srb" = []\n'),
        _sweep("grid bad value", 'method = "grid"\n[parameters]\n"demography.srb" = [1.1, 9.0]\n'),
        _sweep("grid unknown key", 'method = "grid"\n[parameters]\n"demography.srbb" = [1.1]\n'),
        _sweep("no parameters", head),
        _sweep("unknown top key", f"{head}points = 3\n[parameters]\n{RANGE}\n"),
        _sweep("seed negative", f"{head}seed = -1\n[parameters]\n{RANGE}\n"),
        _sweep("key too deep", f'{head}[parameters]\n"a{".a" * 40}" = {{low = 0.0, high = 1.0}}\n'),
        _sweep("binary", rng.randbytes(100) + b"\x00"),
        _sweep("UTF-16", f"{head}[parameters]\n{RANGE}\n".encode("utf-16")),
        _sweep("empty", ""),
        _sweep("a folder", FOLDER),
        _sweep("broken syntax", f"{head}[parameters\n"),
        _sweep(
            "valid grid edge", 'method = "grid"\n[parameters]\n"demography.srb" = [1.0, 1.3]\n', ()
        ),
        _sweep("valid lhs n = 2", f'method = "lhs"\nn = 2\n[parameters]\n{RANGE}\n', ()),
    ]
    return cases


# -- command-line values --------------------------------------------------------------

NOT_WHOLE = ("abc", "1.5", "", "1e3", "0x10", " ", "--", "½", "١٢")
COMMANDS = {
    "validate": ("validate", "small.toml"),
    "expected": ("expected", "--scenario", "small.toml", "--out", "out"),
    "project": ("project", "--scenario", "small.toml", "--out", "out"),
    "run": ("run", "small.toml", "--workers", "0", "--out", "out"),
}
BATCH_ONLY = {
    "--workers": ("-1", "-100"),
    "--des-replicates": ("-1", "-" + "9" * 20),
    "--scheduler": ("garbage", "tcp://host:0", "tcp://host:99999", "http://h:1", ":8786", ""),
    "--engine": ("numba", "Compiled", "", "reference "),
}


def _cli(what: str, argv: tuple[str, ...], names: tuple[str, ...]) -> Case:
    return Case("cli", what, argv, {"small.toml": SMALL}, names)


def cli_cases(rng: random.Random) -> list[Case]:
    cases = []
    for command, argv in COMMANDS.items():
        cases.append(_cli(f"{command} unknown option", (*argv, "--bogus"), ("--bogus",)))
        if command == "validate":
            cases.append(_cli("validate no file", ("validate",), ("FILE",)))
            continue
        for option in ("--replicates", "--seed"):
            bad = rng.choice(NOT_WHOLE)
            cases.append(_cli(f"{command} {option} {bad!r}", (*argv, option, bad), (option,)))
        for bad in ("0", "-1", str(10 ** rng.randint(10, 400))):
            cases.append(
                _cli(
                    f"{command} --replicates {bad[:8]}",
                    (*argv, "--replicates", bad),
                    ("--replicates",),
                )
            )
        for bad in ("-1", str(2**63), str(2**64 + rng.randint(0, 99))):
            cases.append(_cli(f"{command} --seed {bad[:8]}", (*argv, "--seed", bad), ("--seed",)))
    run = COMMANDS["run"]
    for option, values in BATCH_ONLY.items():
        for bad in values:
            cases.append(_cli(f"run {option} {bad!r}", (*run, option, bad), (option,)))
    cases += [
        _cli("run --workers not whole", (*run, "--workers", rng.choice(NOT_WHOLE)), ("--workers",)),
        _cli(
            "run --workers huge",
            (*run, "--workers", "9" * 50, "--replicates", "9" * 50),
            ("--replicates",),
        ),
        _cli("project without --scenario", ("project", "--out", "out"), ("--scenario",)),
        _cli("validate a NUL name", ("validate", "a\x00.toml"), ("a\\x00.toml",)),
        _cli("validate an absent file", ("validate", "gone.toml"), ("gone.toml",)),
        _cli("run seed 0, 1 replicate", (*run, "--seed", "0", "--replicates", "1"), ()),
        _cli("run highest seed", (*run, "--seed", str(2**63 - 1), "--des-replicates", "0"), ()),
        _cli("run reference engine", (*run, "--engine", "reference", "--retries", "0"), ()),
        _cli("run scheduler address", (*run, "--scheduler", "tls://[::1]:65535"), ()),
        _cli("validate twice", ("validate", "small.toml", "small.toml"), ()),
    ]
    return cases


# -- the cases and their run ----------------------------------------------------------


def generate(seed: int = SEED) -> list[Case]:
    """Every case, the same for the same seed."""
    rng = random.Random(seed)
    return scenario_cases(rng) + csv_cases(rng) + sweep_cases(rng) + cli_cases(rng)


CASES = generate()
FAST_EVERY = 7
"""One case in this many runs in the default tier (about 40); the others are slow."""


def _params() -> list[Any]:
    return [
        pytest.param(
            case,
            id=f"{i}-{case.kind}-{case.what}"[:80],
            marks=() if i % FAST_EVERY == 0 else pytest.mark.slow,
        )
        for i, case in enumerate(CASES)
    ]


def test_the_generator_covers_every_kind_and_is_seeded():
    kinds = {case.kind for case in CASES}
    assert kinds == {"scenario", "csv", "sweep", "cli"}
    assert len(CASES) >= 200 and sum(case.valid for case in CASES) >= 20
    assert [c.what for c in generate()] == [c.what for c in CASES], "the same seed, the same cases"


def _stop_before_work(accepted: list[str]) -> Callable[..., Any]:
    """Stands in for :func:`sim.app.cli._execute`: a batch reaching it passed every check."""

    def execute(plan: Any, args: Any, label: str) -> Any:
        accepted.append(label)
        return SimpleNamespace(folder=Path("out"), dataset=None)

    return execute


@pytest.mark.parametrize("case", _params())
def test_fuzzed_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the files are named relative to the working folder
    accepted: list[str] = []
    monkeypatch.setattr("sim.app.cli._execute", _stop_before_work(accepted))
    for name, content in case.files.items():
        write_input(tmp_path / name, content)
    try:
        code = main(list(case.argv))
    except SystemExit as stop:  # the parser's refusal
        code = int(stop.code or 0)
    if case.valid:
        err = capsys.readouterr().err
        assert code == 0 and "Traceback" not in err, f"valid input refused: {err!r}"
        return
    assert not accepted, f"bad input accepted: the batch {accepted} would run"
    line = one_line(capsys, code)
    assert any(name in line for name in case.names), f"{case.names} not named in {line!r}"


@pytest.mark.parametrize(
    ("argv", "files", "line"),
    [
        (
            ["validate", "s.toml"],
            {"s.toml": 'extends = "a\\u0000.toml"\n'},
            "a\\x00.toml: the file name contains a NUL character",
        ),
        (
            ["validate", "s.toml"],
            {"s.toml": '[data]\nbase_population = "a\\u0000.csv"\n'},
            "a\\x00.csv: the file name contains a NUL character",
        ),
        (
            ["validate", "s.toml"],
            {"s.toml": "[run]\nseed = " + "1" * 5000},
            "s.toml: not valid TOML: a number too long to read (more than 4,300 digits)",
        ),
        (
            ["run", "s.toml", "--replicates", str(10**400)],
            {"s.toml": ""},
            "replicates) would need about 10^",
        ),
        (
            ["run", "s.toml", "--replicates", "1.5"],
            {},
            "run.py run: argument --replicates: '1.5' is not a whole number (see run.py run -h)",
        ),
        (["validate", "s.toml", "--bogus"], {}, "run.py: unrecognized arguments: --bogus"),
    ],
    ids=[
        "NUL in extends",
        "NUL in a table path",
        "5000-digit integer",
        "10^400 replicates",
        "not a whole number",
        "unknown option",
    ],
)
def test_crashes_the_fuzzer_found_are_one_line(argv, files, line, tmp_path, capsys, monkeypatch):
    """Each of these was a traceback (ValueError, OverflowError) or, for the parser's
    refusals, the usage text and then the error: two lines."""
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        write_input(tmp_path / name, content)
    try:
        code = main(argv)
    except SystemExit as stop:
        code = int(stop.code or 0)
    assert line in one_line(capsys, code)
