"""Batches: same numbers for any number of workers, local or dask (whose workers need not
see the batch folder); a task that kills its worker is retried,
then reported, and only the tasks a worker death stopped are run alone; the manifest's
run history; one run per folder; a plan changes with its data tables; sweeps and
sensitivity."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from datetime import datetime

import numpy as np
import pytest
import xarray as xr

import sim.runs.batch
from sim.app.api import default_batch_folder
from sim.base.errors import ScenarioError
from sim.model.sensitivity import indices
from sim.runs.batch import (
    TASK_SUFFIX,
    BatchError,
    clean_temporaries,
    make_plan,
    run_batch,
)
from sim.scenario import load_dict
from sim.scenario.sweep import load_sweep
from tests.batch_tasks import crash_once_task, crashing_task, no_disk_task
from tests.small_district import SMALL_DISTRICT, small_district


def _scenarios():
    """Two small-district scenarios: one year (2025), a short DES warm-up, uncertain inputs;
    population, visits and beds scaled down alike (1/20)."""
    small = small_district(2025)
    uncertain = {
        "tfr": {"2021": 1.2, "2030": {"low": 0.8, "high": 1.2}},
        "e0_extra_gain": {"low": 0.0, "high": 0.2},
    }
    return [
        load_dict({"name": "a", **small, "demography": uncertain}),
        load_dict({"name": "b", **small, "migration": {"young_workers": -250.0}}),
    ]


WITH_DES = {"des_replicates": 1}
"""Replicate 0 of each scenario runs the DES too; the others the expected level only."""
NO_DES = {"des_replicates": 0}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    plan = make_plan(_scenarios(), 4, seed=99, options=WITH_DES)
    return run_batch(plan, tmp_path_factory.mktemp("serial"), workers=0).dataset


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])  # against 0 (serial): a pool of one, and of two
def test_local_processes_equal_serial(serial, tmp_path, workers):
    plan = make_plan(_scenarios(), 4, seed=99, options=WITH_DES)
    result = run_batch(plan, tmp_path, workers=workers)
    xr.testing.assert_identical(result.dataset, serial)
    assert not list((tmp_path / "tasks").glob(".*.tmp")), "no temporary files are left behind"


@pytest.mark.slow
def test_dask_cluster_equals_serial(serial, tmp_path):
    from distributed import LocalCluster

    plan = make_plan(_scenarios(), 4, seed=99, options=WITH_DES)
    for n_workers in (1, 2):
        with LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            result = run_batch(
                plan, tmp_path / f"dask{n_workers}", scheduler=cluster.scheduler_address
            )
        xr.testing.assert_identical(result.dataset, serial)


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_results_reopen_with_plain_xarray(serial, tmp_path):
    plan = make_plan(_scenarios(), 2, seed=99, options=WITH_DES)
    result = run_batch(plan, tmp_path, workers=0)
    ds = xr.open_dataset(tmp_path / "results.nc")
    assert ds["population"].attrs["units"] == "persons"
    assert list(ds["scenario"].values) == ["a", "b"]
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "plan.json").exists()
    xr.testing.assert_identical(ds.load(), result.dataset)
    xr.testing.assert_identical(
        result.dataset.drop_attrs(deep=False),
        serial.isel(replicate=slice(0, 2)).drop_attrs(deep=False),
    )


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_corrupt_task_file_is_recomputed(serial, tmp_path):
    plan = make_plan(_scenarios(), 4, seed=99, options=WITH_DES)
    run_batch(plan, tmp_path, workers=0)
    files = sorted((tmp_path / "tasks").glob(f"*{TASK_SUFFIX}"))
    files[2].write_bytes(files[2].read_bytes()[:1000])  # a torn write
    flipped = bytearray(files[4].read_bytes())
    flipped[-100] ^= 0x01  # one bit of the payload changed
    files[4].write_bytes(bytes(flipped))
    (tmp_path / "tasks" / ".left.task.abc.tmp").write_bytes(b"partial")
    result = run_batch(plan, tmp_path, workers=0)
    assert result.computed == 2 and result.reused == 6
    xr.testing.assert_identical(result.dataset, serial)
    assert not list((tmp_path / "tasks").glob(".*.tmp"))


@pytest.mark.slow
def test_task_that_kills_its_worker_is_retried_then_reported(tmp_path):
    plan = make_plan(_scenarios(), 3, seed=5, options={"crash": "b__p0000__r0001", **NO_DES})
    start = time.monotonic()
    with pytest.raises(
        BatchError, match=r"task b__p0000__r0001 stopped its worker process 3 times"
    ):
        run_batch(plan, tmp_path, workers=2, retries=2, task_fn=crashing_task)
    assert time.monotonic() - start < 120, "the batch ends within a bounded time"
    done = {p.stem for p in (tmp_path / "tasks").glob(f"*{TASK_SUFFIX}")}
    assert "b__p0000__r0001" not in done and len(done) == 5, (
        "every other task was finished and kept"
    )


def _local_cluster(n_workers: int):
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )


@pytest.mark.slow
def test_dask_workers_need_not_see_the_batch_folder(tmp_path):
    folder = tmp_path / "batch"
    options = {"no_disk": str(folder), **NO_DES}
    plan = make_plan(_scenarios()[1:], 2, seed=8, options=options)
    with _local_cluster(1) as cluster:
        result = run_batch(plan, folder, scheduler=cluster.scheduler_address, task_fn=no_disk_task)
    assert result.computed == 2
    serial = run_batch(plan, tmp_path / "serial", workers=0).dataset
    xr.testing.assert_identical(result.dataset, serial)
    assert sorted(p.stem for p in (folder / "tasks").glob(f"*{TASK_SUFFIX}")) == [
        "b__p0000__r0000",
        "b__p0000__r0001",
    ], "the client wrote the task files its workers sent back"


@pytest.mark.slow
def test_a_worker_death_runs_alone_only_the_tasks_it_stopped(tmp_path):
    """One task kills its worker on its first try, at the very start of the batch: only
    the tasks running then (at most one per worker) are run alone afterwards."""
    flag = tmp_path / "crashed"
    options = {"crash_once": "a__p0000__r0000", "crash_flag": str(flag), **NO_DES}
    plan = make_plan(_scenarios(), 4, seed=5, options=options)
    retried: list[int] = []
    result = run_batch(
        plan,
        tmp_path / "batch",
        workers=2,
        task_fn=crash_once_task,
        progress=lambda done, again: retried.append(again),
    )
    assert flag.exists(), "the task killed its worker once"
    assert 1 <= sum(retried) <= 2, f"{sum(retried)} of 8 tasks were run alone"
    assert result.isolated == sum(retried), "each task run alone is reported once"
    serial = run_batch(plan, tmp_path / "serial", workers=0).dataset
    xr.testing.assert_identical(result.dataset, serial)
    assert not list((tmp_path / "batch" / "tasks").glob(".*")), "no markers or temporaries left"


@pytest.mark.slow
def test_a_task_stopped_beside_the_killer_is_still_finished(tmp_path):
    # r0001 is running (waiting to be stopped) when r0000 kills its worker, so both are
    # suspects; r0000 comes first in the plan and fails alone, and r0001 must still get
    # its turn
    flag = str(tmp_path / "r0001-started")
    options = {"crash": "a__p0000__r0000", "started_flag": flag, **NO_DES}
    plan = make_plan(_scenarios()[:1], 2, seed=5, options=options)
    isolated: list[int] = []
    with pytest.raises(BatchError, match=r"task a__p0000__r0000 stopped its worker process 1 "):
        run_batch(
            plan,
            tmp_path,
            workers=2,
            retries=0,
            task_fn=crashing_task,
            progress=lambda done, alone: isolated.append(alone),
        )
    # (r0000's lone try finds the flag already there and dies at once; r0001's runs)
    assert sum(isolated) == 2, "both tasks were run alone"
    done = {p.stem for p in (tmp_path / "tasks").glob(f"*{TASK_SUFFIX}")}
    assert done == {"a__p0000__r0001"}, "the task beside the killer was finished"


@pytest.mark.slow
def test_dask_task_that_kills_its_worker_is_retried_then_reported(tmp_path):
    import dask

    # two tasks on two one-thread workers, so that the other task never shares the dying
    # worker (it would be hit too: dask cannot tell which task killed it)
    plan = make_plan(_scenarios()[1:], 2, seed=5, options={"crash": "b__p0000__r0000", **NO_DES})
    retried: list[int] = []
    start = time.monotonic()
    # each attempt fails on its first worker death; a worker is given no more tasks
    # than it has threads, so the other task never waits on the killer's worker
    message = r"task b__p0000__r0000 killed its dask worker in each of 2 attempts"
    settings = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with (
        dask.config.set(settings),
        _local_cluster(2) as cluster,
        pytest.raises(BatchError, match=message),
    ):
        run_batch(
            plan,
            tmp_path,
            scheduler=cluster.scheduler_address,
            retries=1,
            task_fn=crashing_task,
            progress=lambda done, again: retried.append(again),
        )
    assert time.monotonic() - start < 120, "the batch ends within a bounded time"
    assert sum(retried) == 1, "the task was submitted once more"
    done = {p.stem for p in (tmp_path / "tasks").glob(f"*{TASK_SUFFIX}")}
    assert done == {"b__p0000__r0001"}, "the other task was finished before the batch stopped"


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_manifest_has_run_plan_times_and_one_entry_per_run(tmp_path):
    plan = make_plan(_scenarios()[1:], 2, seed=3, options=NO_DES)
    run_batch(plan, tmp_path, workers=0)
    (tmp_path / "tasks" / f"b__p0000__r0001{TASK_SUFFIX}").unlink()
    run_batch(plan, tmp_path, workers=0)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert [row["task"] for row in manifest["run_plan"]] == ["b__p0000__r0000", "b__p0000__r0001"]
    started = datetime.fromisoformat(manifest["started"])
    assert started.utcoffset() is not None and started.utcoffset().total_seconds() == 0, "UTC"
    assert datetime.fromisoformat(manifest["finished"]) >= started
    assert list(manifest["task_seconds"]) == ["b__p0000__r0001"], "only this run's task"
    assert manifest["task_seconds"]["b__p0000__r0001"] > 0
    runs = manifest["runs"]
    assert [(r["computed"], r["reused"]) for r in runs] == [(2, 0), (1, 1)]
    assert runs[1]["started"] == manifest["started"] and runs[0]["workers"] == 0
    assert runs[0]["scheduler"] is None and runs[0]["finished"] <= runs[1]["started"]


def test_clean_temporaries_removes_every_leftover_and_nothing_else(tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    leftovers = [
        tasks / ".b__p0000__r0000.task.x1.tmp",
        tasks / ".b__p0000__r0000.running",
        tmp_path / ".results.nc.x2.tmp",
        tmp_path / ".manifest.json.x3.tmp",
        tmp_path / ".plan.json.x4.tmp",
    ]
    kept = [tasks / f"b__p0000__r0000{TASK_SUFFIX}", tmp_path / "results.nc", tmp_path / ".lock"]
    for path in leftovers + kept:
        path.write_bytes(b"x")
    assert clean_temporaries(tmp_path) == 5
    assert [p for p in leftovers if p.exists()] == [] and all(p.exists() for p in kept)


def test_second_run_into_a_busy_folder_is_refused_before_work(tmp_path):
    fcntl = pytest.importorskip("fcntl", reason="batch folders are locked on POSIX only")
    plan = make_plan(_scenarios()[1:], 1, seed=3, options=NO_DES)
    (tmp_path / "tasks").mkdir()
    leftover = tmp_path / "tasks" / ".b__p0000__r0000.task.x.tmp"
    leftover.write_bytes(b"another run's write in progress")
    with (tmp_path / ".lock").open("a") as held:  # as another run would hold it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ScenarioError, match="another run is using this batch folder"):
            run_batch(plan, tmp_path, workers=0)
        assert leftover.exists() and not (tmp_path / "plan.json").exists(), "nothing touched"
    assert run_batch(plan, tmp_path, workers=0).computed == 1, "free again once released"


def test_editing_a_data_table_changes_the_plan_fingerprint(tmp_path):
    table = tmp_path / "population.csv"
    shutil.copy(SMALL_DISTRICT, table)

    def plan():
        sc = load_dict(
            {"name": "a", **small_district(2025), "data": {"base_population": str(table)}}
        )
        return make_plan([sc], 1, seed=1, options=NO_DES)

    before = plan()
    assert plan().fingerprint() == before.fingerprint(), "same table, same plan"
    lines = table.read_text(encoding="utf-8").splitlines()
    sex, age, population = lines[1].split(",")
    lines[1] = f"{sex},{age},{int(population) + 1}"  # one more boy aged 0
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    after = plan()
    assert after.scenarios == before.scenarios, "the scenario itself did not change"
    assert after.fingerprint() != before.fingerprint(), "tasks of the old table are not reused"


def test_unwritable_results_folder_is_reported_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    plan = make_plan(_scenarios(), 1, seed=1, options=NO_DES)
    with pytest.raises(ScenarioError, match="results folder is not writable"):
        run_batch(plan, blocker / "batch", workers=0)


def test_too_small_a_disk_is_reported_before_work(tmp_path, monkeypatch):
    plan = make_plan(_scenarios(), 1, seed=1, options=NO_DES)
    free = shutil.disk_usage(tmp_path).free
    monkeypatch.setitem(sim.runs.batch.TASK_FILE_BYTES, "expected", free)
    with pytest.raises(ScenarioError, match="not enough free disk space"):
        run_batch(plan, tmp_path, workers=0)
    assert not list((tmp_path / "tasks").glob("*.task")), "nothing computed"


# ------------------------------------------------------------------ sweeps
def _write(tmp_path, text):
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(text))
    return path


BASE = {"name": "base"}


def test_grid_sweep_expands_every_combination(tmp_path):
    sweep = load_sweep(
        _write(
            tmp_path,
            """
        method = "grid"
        [parameters]
        "demography.srb" = [1.06, 1.10, 1.12]
        "demography.tfr.2030" = [0.9, 1.1]
    """,
        ),
        BASE,
    )
    assert len(sweep.points) == 6
    assert {"demography.srb": 1.12, "demography.tfr.2030": 1.1} in sweep.points


def test_lhs_sweep_stratifies_each_parameter(tmp_path):
    sweep = load_sweep(
        _write(
            tmp_path,
            """
        method = "lhs"
        n = 20
        seed = 3
        [parameters]
        "demography.srb" = {low = 1.05, high = 1.12}
        "migration.young_workers" = {low = -20000.0, high = 0.0}
    """,
        ),
        BASE,
    )
    srb = np.array([p["demography.srb"] for p in sweep.points])
    strata = np.floor((srb - 1.05) / 0.07 * 20).astype(int)
    assert sorted(strata) == list(range(20)), "one point in each of the 20 strata"


BAD_SWEEPS = [
    (
        'method = "random"\n[parameters]\n"demography.srb" = [1.1]',
        "method = 'random': must be one of grid, lhs",
    ),
    ('method = "grid"', "needs a [parameters] table"),
    ('method = "grid"\n[parameters]\n"demography.srb" = 1.1', "grid sweeps need a non-empty list"),
    (
        'method = "lhs"\n[parameters]\n"demography.srb" = {low = 1.0, high = 1.1}',
        "method lhs needs n",
    ),
    (
        'method = "lhs"\nn = 4\n[parameters]\n"demography.srb" = {low = 1.1, high = 1.0}',
        "needs low < high",
    ),
    (
        'method = "grid"\n[parameters]\n"demography.srbb" = [1.1]',
        "parameters.demography.srbb = 1.1: point 0: unknown key",
    ),
    (
        'method = "grid"\n[parameters]\n"demography.tfr" = [-1.0]',
        "parameters.demography.tfr = -1.0: point 0: must be a number from 0 to 8",
    ),
    (
        'method = "grid"\npoints = 3\n[parameters]\n"demography.srb" = [1.1]',
        "points = 3: unknown key",
    ),
    ('method = "grid"\n[parameters', "not valid TOML"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_SWEEPS)
def test_bad_sweep_file_one_line_error(tmp_path, text, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path, BASE)
    line = info.value.line()
    assert "\n" not in line and fragment in line, line
    assert line.startswith(str(path.name)) or str(path) in line


def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_match_theory(tmp_path):
    """Ishigami (a=7, b=0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244 (Saltelli 2008)."""
    sweep = load_sweep(
        _write(
            tmp_path,
            """
        method = "sobol"
        n = 4096
        seed = 11
        [parameters]
        x1 = {low = -3.141592653589793, high = 3.141592653589793}
        x2 = {low = -3.141592653589793, high = 3.141592653589793}
        x3 = {low = -3.141592653589793, high = 3.141592653589793}
    """,
        )
    )
    x = np.array([[p["x1"], p["x2"], p["x3"]] for p in sweep.points])
    res = indices("sobol", sweep.problem(), x, _ishigami(x), seed=1)
    np.testing.assert_allclose(res["S1"].values, [0.3139, 0.4424, 0.0], atol=0.03)
    np.testing.assert_allclose(res["ST"].values, [0.5576, 0.4424, 0.2437], atol=0.03)


def test_morris_ranks_ishigami_parameters(tmp_path):
    sweep = load_sweep(
        _write(
            tmp_path,
            """
        method = "morris"
        n = 200
        seed = 4
        [parameters]
        x1 = {low = -3.141592653589793, high = 3.141592653589793}
        x2 = {low = -3.141592653589793, high = 3.141592653589793}
        x3 = {low = -3.141592653589793, high = 3.141592653589793}
        x4 = {low = -3.141592653589793, high = 3.141592653589793}
    """,
        )
    )
    x = np.array([[p[k] for k in ("x1", "x2", "x3", "x4")] for p in sweep.points])
    res = indices("morris", sweep.problem(), x, _ishigami(x), seed=1)
    mu = res["mu_star"].values
    assert mu[3] == pytest.approx(0.0, abs=1e-12), "a parameter the function ignores has no effect"
    assert min(mu[:3]) > 0.5, "every parameter the function uses has an effect"


# ------------------------------------------------------------------ the DES engine
def test_the_des_engine_is_a_plan_option_in_the_fingerprint():
    scenarios = _scenarios()[1:]
    default = make_plan(scenarios, 1, seed=3, options=WITH_DES)
    compiled = make_plan(scenarios, 1, seed=3, options={**WITH_DES, "engine": "compiled"})
    reference = make_plan(scenarios, 1, seed=3, options={**WITH_DES, "engine": "reference"})
    assert (
        default.options["engine"] == "compiled" and sim.runs.batch.des_engine(default) == "compiled"
    )
    assert default.fingerprint() == compiled.fingerprint(), "the default is the compiled engine"
    assert reference.fingerprint() != compiled.fingerprint()
    assert default_batch_folder(reference) != default_batch_folder(compiled), "other folders"
    with pytest.raises(ScenarioError, match=r"--engine = 'numba': allowed: compiled, reference"):
        make_plan(scenarios, 1, seed=3, options={"engine": "numba"})


@pytest.mark.slow  # end to end: a batch or a report, seconds each
def test_engine_reaches_the_des_and_compiling_is_reported_apart(tmp_path, monkeypatch):
    """The engine goes from the plan to run_replicate_all (the DES itself is skipped
    here: the engines' numbers are the equivalence tests' business); the compiled engine
    is made ready once before the tasks, and its time is in the manifest, not in the
    tasks'; a reference-engine batch never reuses compiled-engine task files."""
    engines: list[str] = []
    compiles: list[str] = []
    real = sim.runs.batch.run_replicate_all

    def recording(sc, seed, replicate, *, des, engine):
        engines.append(engine)
        return real(sc, seed, replicate, des=False)

    def fake_prepare(engine):
        compiles.append(engine)
        if engine != "compiled":
            return None
        time.sleep(0.2)
        return 0.2

    monkeypatch.setattr(sim.runs.batch, "run_replicate_all", recording)
    monkeypatch.setattr(sim.runs.batch, "prepare_engine", fake_prepare)
    scenarios = _scenarios()[1:]
    told: list[float] = []
    compiled = make_plan(scenarios, 2, seed=3, options={"des_replicates": 1})
    start = time.perf_counter()
    result = run_batch(compiled, tmp_path, workers=0, on_compile=told.append)
    wall = time.perf_counter() - start
    assert engines == ["compiled", "compiled"] and compiles == ["compiled"] and told == [0.2]
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["des_compile_seconds"] == 0.2 == result.compile_seconds
    assert manifest["runs"][-1]["des_compile_seconds"] == 0.2
    assert manifest["options"]["engine"] == "compiled" == manifest["runs"][-1]["engine"]
    assert sum(manifest["task_seconds"].values()) < manifest["seconds"] <= wall - 0.2

    engines.clear()
    reference = make_plan(
        scenarios, 2, seed=3, options={"des_replicates": 1, "engine": "reference"}
    )
    again = run_batch(reference, tmp_path, workers=0, on_compile=told.append)
    assert (again.computed, again.reused) == (2, 0), "compiled-engine task files not reused"
    assert engines == ["reference", "reference"] and told == [0.2], "nothing to compile"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["des_compile_seconds"] is None and manifest["options"]["engine"] == "reference"

    compiles.clear()
    expected_only = make_plan(scenarios, 1, seed=3, options=NO_DES)
    run_batch(expected_only, tmp_path / "expected", workers=0)
    assert compiles == [], "no DES task: nothing to compile"
