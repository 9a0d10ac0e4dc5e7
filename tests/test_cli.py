"""The command line end to end on a small district: expected, run (and resume), sweep."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import xarray as xr

import sim
from sim.app.cli import DES_WORKER_BYTES, main
from tests.inputs import one_line, write_input

ROOT = Path(__file__).resolve().parent.parent
SMALL = f"""
name = "small"
label = "Small <district>"
[run]
start_year = 2025
end_year = 2026
[data]
base_population = "{ROOT / "tests" / "data" / "small_district_population.csv"}"
[calibration]
population = {{ low = 205_000.0, high = 206_500.0 }}
[demand.calibration]
chc_visits = 506_885.0
[des]
warmup_days = 30
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_expected_writes_dataset_and_csv(tmp_path, scenario, capsys):
    assert (
        main(["expected", "--scenario", str(scenario), "--replicates", "2", "--out", str(tmp_path)])
        == 0
    )
    folder = tmp_path / "expected-small"
    ds = xr.open_dataset(folder / "expected.nc")
    assert ds.sizes["replicate"] == 2 and list(ds["year"].values) == [2025, 2026]
    with (folder / "summary.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"scenario", "year", "measure", "units", "central", "p10", "p90"} <= set(rows[0])
    assert {r["year"] for r in rows} == {"2025", "2026"}
    assert json.loads((folder / "manifest.json").read_text())["kind"] == "expected"


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_run_then_rerun_resumes(tmp_path, scenario, capsys):
    args = [
        "run",
        str(scenario),
        "--replicates",
        "2",
        "--des-replicates",
        "1",
        "--workers",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "2 tasks computed, 0 reused" in first
    assert main(args) == 0
    assert "0 tasks computed, 2 reused" in capsys.readouterr().out
    folder = next(tmp_path.glob("batch-*"))
    ds = xr.open_dataset(folder / "results.nc")
    assert ds["des_occupancy_mean"].sel(replicate=1).isnull().all(), (
        "replicate 1 ran without the DES"
    )
    assert ds["des_occupancy_mean"].sel(replicate=0).notnull().any()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [r["replicate"] for r in manifest["run_plan"]] == [0, 1]
    assert ds.attrs["Conventions"] == "CF-1.8"
    undescribed = [n for n in ds.variables if "long_name" not in ds[n].attrs]
    assert not undescribed, f"variables and coordinates without a long_name: {undescribed}"
    unitless = [n for n in ds.data_vars if "units" not in ds[n].attrs]
    assert not unitless, f"data variables without units: {unitless}"


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_sweep_with_morris_indices(tmp_path, scenario, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'method = "morris"\nn = 3\noutputs = ["bed_days:year=2026"]\n[parameters]\n'
        '"demand.calibration.alos_days" = {low = 7.0, high = 8.8}\n'
        '"demography.srb" = {low = 1.05, high = 1.12}\n',
        encoding="utf-8",
    )
    args = [
        "sweep",
        str(sweep),
        "--scenario",
        str(scenario),
        "--des-replicates",
        "0",
        "--workers",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    folder = next(tmp_path.glob("batch-*"))
    idx = xr.open_dataset(folder / "sensitivity.nc")
    mu = idx["mu_star"].sel(output="bed_days:year=2026")
    assert float(mu.sel(parameter="demand.calibration.alos_days").max()) > float(
        mu.sel(parameter="demography.srb").max()
    ), "average stay moves bed-days far more than the sex ratio at birth"
    # the folder holds results.nc and sensitivity.nc; the library opens the results
    ds = sim.open_results(folder)
    plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    srb = [p["demography.srb"] for p in plan["points"]["small"]]
    assert list(ds["sweep_value"].sel(scenario="small", sweep_parameter="demography.srb")) == srb
    assert 1.05 <= min(srb) < max(srb) <= 1.12, "results.nc says what each point is"


@pytest.mark.parametrize(
    ("output", "des", "fragment"),
    [
        ("bed_dayz:year=2026", "0", "no such result variable"),
        ("bed_days:year=2040", "0", "no such coordinate value"),
        ("bed_days:colour=red", "0", "has no dimension 'colour'"),
        ("des_occupancy_mean", "0", "a DES output: run the sweep with --des-replicates K"),
        ("beds_needed_occupancy:year=abc", "0", "year='abc' is not a year; its values: 2020"),
        ("beds_needed_occupancy:year", "0", "selector 'year' must be dimension=value"),
    ],
)
def test_sweep_outputs_are_checked_before_the_sweep_runs(
    tmp_path, scenario, capsys, output, des, fragment
):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'method = "morris"\nn = 2\noutputs = ["{output}"]\n[parameters]\n'
        '"demography.srb" = {low = 1.05, high = 1.12}\n',
        encoding="utf-8",
    )
    argv = ["sweep", str(sweep), "--scenario", str(scenario), "--des-replicates", des]
    line = one_line(capsys, main([*argv, "--workers", "0", "--out", str(tmp_path)]))
    assert fragment in line and "sweep.toml: outputs = " in line, line
    assert not list(tmp_path.glob("batch-*")), "no task may run before the outputs are checked"


LHS = 'method = "lhs"\nn = 3\n[parameters]\n"demography.srb" = {low = 1.05, high = 1.12}\n'


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (LHS.encode("utf-16"), "sweep.toml: not UTF-8 text (byte 0); save it as UTF-8 TOML"),
        (bytes(range(256)), "sweep.toml: not UTF-8 text (byte 128)"),
        (None, "sweep.toml: is a folder, not a TOML file"),
        (LHS.replace("n = 3", "n = 1_000_000_000"), "n = 1000000000: expands to 1,000,000,000"),
        (
            'method = "grid"\n[parameters]\n'
            + "".join(f'"demand.x{i}" = [{", ".join(["1"] * 10)}]\n' for i in range(9)),
            "parameters = 1000000000: expands to 1,000,000,000 points; at most 100,000",
        ),
        (LHS.replace("n = 3", "n = 3\nseed = 18446744073709551616"), "seed = 1844674407"),
        (LHS.replace("1.05", "nan"), "parameters.demography.srb = {'low': nan, 'high': 1.12}"),
        ('[parameters]\n"a' + ".a" * 3000 + '" = [1]\n', "must be a key at most 16 levels deep"),
    ],
    ids=["utf-16", "binary", "folder", "lhs n = 10^9", "grid of 10^9", "seed", "nan range", "deep"],
)
def test_bad_sweep_files(tmp_path, scenario, capsys, content, fragment):
    sweep = tmp_path / "sweep.toml"
    write_input(sweep, content)
    argv = ["sweep", str(sweep), "--scenario", str(scenario), "--workers", "0"]
    line = one_line(capsys, main([*argv, "--out", str(tmp_path)]))
    assert fragment in line, line


def test_more_sweep_points_than_memory_holds_are_refused_before_work(
    tmp_path, scenario, capsys, monkeypatch
):
    monkeypatch.setattr("sim.app.cli._available_memory", lambda: 10_000_000)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('[parameters]\n"demography.srb" = [1.05, 1.06, 1.07, 1.08, 1.09, 1.1]\n')
    argv = ["sweep", str(sweep), "--scenario", str(scenario), "--out", str(tmp_path)]
    line = one_line(capsys, main(argv))
    assert "sweep.toml: points = 6: 6 tasks (1 scenarios x 6 points x 1 replicates) would " in line
    assert "GiB of memory (2 MB each); 0.0 GiB is available" in line, line
    assert not list(tmp_path.glob("batch-*"))


def test_a_disk_that_fills_part_way_isone_line(tmp_path, scenario, capsys, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.runs.batch.run_batch", full_disk)
    argv = ["run", str(scenario), "--des-replicates", "0", "--workers", "0"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path)])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err, err


def test_retries_reach_the_batch(tmp_path, scenario, capsys, monkeypatch):
    seen: dict[str, object] = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise OSError(28, "No space left on device")  # stop there

    monkeypatch.setattr("sim.runs.batch.run_batch", record)
    argv = ["run", str(scenario), "--retries", "5", "--workers", "0", "--out", str(tmp_path)]
    with pytest.raises(SystemExit):
        main(argv)
    assert seen["retries"] == 5


def test_too_little_disk_space_is_reported_before_work(tmp_path):
    from sim.base.errors import ScenarioError
    from sim.runs.store import check_space

    check_space(tmp_path, 1)
    with pytest.raises(ScenarioError, match="not enough free disk space"):
        check_space(tmp_path, 2**62)


def test_main_help_states_the_defaults_it_uses(capsys):
    from sim.app.cli import FULL_REPLICATES, MAIN_REPLICATES

    with pytest.raises(SystemExit):
        main(["main", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"default {MAIN_REPLICATES} ({FULL_REPLICATES} with --full)" in text
    assert "run the DES on replicates 0..K-1 only (default: every replicate)" in text
    assert "--engine compiled|reference" in text and "default compiled" in text


def _planned(monkeypatch, argv: list[str]):
    """The plan a batch command hands to the batch (which is stopped there: nothing runs)."""
    seen: list[object] = []

    def stop(plan, *args, **kwargs):
        seen.append(plan)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.runs.batch.run_batch", stop)
    with pytest.raises(SystemExit):
        main(argv)
    return seen[0]


@pytest.mark.parametrize(
    ("extra", "replicates", "des"),
    [([], 20, 20), (["--full"], 30, 30), (["--des-replicates", "3"], 20, 3)],
)
def test_main_job_and_the_full_batch_run_the_des_on_every_replicate(
    tmp_path, capsys, monkeypatch, extra, replicates, des
):
    from sim.runs.batch import runs_des

    plan = _planned(monkeypatch, ["main", *extra, "--out", str(tmp_path)])
    assert plan.replicates == list(range(replicates)) and len(plan.scenarios) == 8
    assert plan.options["engine"] == "compiled"
    tasks = plan.tasks()
    assert sum(runs_des(plan, t) for t in tasks) == des * len(plan.scenarios)
    assert f"the DES (compiled engine) on {des} of them" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_engine_option_reaches_the_plan(tmp_path, scenario, capsys, monkeypatch, command):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('method = "grid"\n[parameters]\n"demography.srb" = [1.05, 1.1]\n')
    head = ["run", str(scenario)] if command == "run" else ["sweep", str(sweep), "--scenario"]
    argv = [*head, *([str(scenario)] if command == "sweep" else []), "--out", str(tmp_path)]
    assert _planned(monkeypatch, argv).options["engine"] == "compiled", "the default"
    reference = _planned(monkeypatch, [*argv, "--engine", "reference"])
    assert reference.options["engine"] == "reference"
    assert reference.fingerprint() != _planned(monkeypatch, argv).fingerprint()


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_compiling_the_engine_is_one_line_before_the_tasks(tmp_path, scenario, capsys, monkeypatch):
    """The line and the manifest's des_compile_seconds (the compilation faked, the DES
    skipped: the engines are tested in tests/test_des_equivalence.py)."""
    import time as clock

    import sim.runs.batch

    real = sim.runs.batch.run_replicate_all

    def no_des(sc, seed, replicate, *, des, engine):
        return real(sc, seed, replicate, des=False)

    def ready(engine):
        clock.sleep(0.05)
        return 4.1 if engine == "compiled" else None

    monkeypatch.setattr(sim.runs.batch, "run_replicate_all", no_des)
    monkeypatch.setattr(sim.runs.batch, "prepare_engine", ready)
    argv = ["run", str(scenario), "--des-replicates", "1", "--workers", "0"]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "compiled DES engine ready in 4.1 s (first run compiles; later runs load the cache)"
    )
    folder = next((tmp_path / "c").glob("batch-*"))
    assert json.loads((folder / "manifest.json").read_text())["des_compile_seconds"] == 4.1
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    assert "compiled DES engine" not in capsys.readouterr().out, "all reused: nothing to compile"
    assert main([*argv, "--engine", "reference", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "compiled DES engine" not in out and "1 tasks computed, 0 reused" in out


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_library_run_batch_returns_the_dataset(tmp_path, scenario):
    from sim.scenario import load

    ds = sim.run_batch([scenario], replicates=2, des_replicates=0, workers=0, folder=tmp_path)
    assert isinstance(ds, xr.Dataset) and ds.sizes["replicate"] == 2
    assert ds.attrs["batch_folder"] == str(tmp_path)
    assert ds.attrs["seed"] == load(scenario).run.seed, "the seed defaults to run.seed"
    xr.testing.assert_equal(sim.open_results(tmp_path), ds)


BILLION = "1000000000"
BILLION_TASKS = "1,000,000,000 tasks (1 scenarios x 1 points x 1,000,000,000 replicates) would"
SEEDS = "must be a whole number from 0 to 2**63 - 1"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "{s}", "--replicates", "0"], "--replicates = 0: must be a whole number >= 1"),
        (["run", "{s}", "--des-replicates", "-1"], "--des-replicates = -1"),
        (["run", "{s}", "--workers", "-2"], "--workers = -2"),
        (["run", "{s}", "--retries", "-1"], "--retries = -1: must be a whole number >= 0"),
        (["run", "{s}", "--engine", "numba"], "--engine = 'numba': allowed: compiled, reference"),
        (["sweep", "{tmp}/x.toml", "--scenario", "{s}", "--engine", ""], "--engine = ''"),
        (["main", "--engine", "Compiled", "--out", "{tmp}"], "--engine = 'Compiled': allowed"),
        (["report", "{tmp}"], "not a batch folder"),
        (["run", "{tmp}/absent.toml"], "absent.toml: file not found"),
        (["run", "{s}", "--replicates", BILLION], f"--replicates = {BILLION}: {BILLION_TASKS}"),
        (["project", "--scenario", "{s}", "--replicates", BILLION], f"{BILLION}: 1,000,000,000 "),
        (["expected", "--scenario", "{s}", "--replicates", BILLION], "GiB of memory (0.6 MB each)"),
        (["run", "{s}", "--seed", str(2**64)], f"--seed = {2**64}: {SEEDS}"),
        (["sweep", "{tmp}/x.toml", "--scenario", "{s}", "--seed", str(2**64)], "--seed = "),
        (["run", "{s}", "--seed", "-1"], f"--seed = -1: {SEEDS}"),
        (["expected", "--scenario", "{s}", "--seed", "-1"], f"--seed = -1: {SEEDS}"),
        (["project", "--scenario", "{s}", "--seed", "-1"], f"--seed = -1: {SEEDS}"),
        (["main", "--seed", "-1"], f"--seed = -1: {SEEDS}"),
        (["run", "{s}", "--scheduler", "garbage"], "--scheduler = 'garbage': must be a dask"),
        (["run", "{s}", "--scheduler", "tcp://host:99999"], "(port 1-65535)"),
        (["project", "--scenario", "{s}", "--replicates", "0"], "--replicates = 0: must be"),
    ],
)
def test_bad_command_line_values(tmp_path, scenario, capsys, args, fragment):
    out = ["--out", str(tmp_path)] if args[0] != "report" else []
    argv = [a.format(s=scenario, tmp=tmp_path) for a in args] + out
    assert fragment in one_line(capsys, main(argv))
    assert not list(tmp_path.glob("*-small")) and not list(tmp_path.glob("batch-*")), "no work"


def test_more_worker_processes_than_memory_holds_are_refused(
    tmp_path, scenario, capsys, monkeypatch
):
    monkeypatch.setattr("sim.app.cli._available_memory", lambda: 2**30)
    argv = ["run", str(scenario), "--replicates", "10", "--workers", "100", "--out", str(tmp_path)]
    line = one_line(capsys, main([*argv, "--des-replicates", "0"]))
    assert "--workers = 100: 10 worker processes would need about 2.8 GiB" in line, line
    # workers that run the DES need its peak (DES_WORKER_BYTES each): two do not fit in 2 GiB
    monkeypatch.setattr("sim.app.cli._available_memory", lambda: 2 * 2**30)
    argv = ["run", str(scenario), "--replicates", "2", "--workers", "2", "--out", str(tmp_path)]
    line = one_line(capsys, main(argv))
    need = 2 * DES_WORKER_BYTES / 2**30
    assert f"--workers = 2: 2 worker processes would need about {need:.1f} GiB" in line, line


def test_project_help_and_replicates_agree(capsys):
    with pytest.raises(SystemExit):
        main(["project", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0 = central" not in text
    assert "replicates (replicate 0 takes central values; the others draw uncertain inputs)" in text


def test_valid_edge_values_of_options_are_accepted():
    from sim.app.cli import _check_scheduler, _seed

    assert _seed(0, 5) == 0 and _seed(2**63 - 1, 5) == 2**63 - 1 and _seed(None, 5) == 5
    for address in ("tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://[::1]:1", "ws://h-1.lan:65535"):
        _check_scheduler(address)


def test_shipped_sweep_files_expand_and_validate():
    from sim.scenario import load
    from sim.scenario.sweep import load_sweep

    base = load(ROOT / "scenarios" / "baseline.toml").model_dump(mode="json")
    counts = {p.name: len(load_sweep(p, base, 1).points) for p in (ROOT / "sweeps").glob("*.toml")}
    assert counts == {
        "grid_beds_and_occupancy.toml": 9,
        "morris_des_boarding.toml": 168,
        "sensitivity_morris.toml": 84,
        "sobol_beds_2030.toml": 384,
    }


@pytest.mark.parametrize("command", ["run", "expected", "sweep"])
def test_years_past_the_holiday_calendar_are_refused_before_work(
    tmp_path, scenario, capsys, command
):
    scenario.write_text(SMALL.replace("end_year = 2026", "end_year = 2036"), encoding="utf-8")
    sweep = tmp_path / "sweep.toml"
    write_input(sweep, '[parameters]\n"demography.srb" = [1.05, 1.1]\n')
    argv = {
        "run": ["run", str(scenario)],
        "expected": ["expected", "--scenario", str(scenario)],
        "sweep": ["sweep", str(sweep), "--scenario", str(scenario)],
    }[command]
    line = one_line(capsys, main([*argv, "--out", str(tmp_path / "out")]))
    assert line == (
        f"{scenario}: run.end_year = 2036: at most 2035 for demand and the DES: the holiday "
        "calendar (sim/data/holidays.csv) covers 2024-2035; run.py project runs to 2050"
    )
    assert not (tmp_path / "out").exists(), "refused before any work"
