"""Kills and resumes, on a real small batch (that of tests/test_batch_signals.py):

* SIGKILL of the batch's process (once of its whole group) at random points of its life,
  several times into one folder: each time its workers exit by themselves, the folder holds only
  intact task files (those of an uninterrupted run) and what a rerun removes (running
  markers, temporary files of the dead process's own writes), and a last rerun gives the
  results of an uninterrupted run and leaves no stray file;
* a dask worker killed mid-task: the scheduler runs the task again on another worker, and
  the batch ends with the same results and no stray file;
* SIGINT to a batch running on a dask cluster: it stops within seconds with status 130
  and the one line of the local case, keeps its finished task files, the cluster drops
  the batch's tasks, and a rerun resumes to the same results.

The kill points are drawn from a fresh seed each run, named in every failure (with the
runs so far); HRSIM_KILL_SEED=<seed> draws the same ones again: the same fractions of a
run's life, whose seconds follow the machine's speed (measured by an uninterrupted run)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xarray as xr

from sim.runs.batch import BatchResult, run_batch
from sim.runs.store import load_task
from tests.batch_tasks import STARTS_DIR_ENV, recorded_slow_task
from tests.test_batch import _local_cluster
from tests.test_batch_signals import (
    RUNNER,
    SETTLE_SECONDS,
    WORKERS,
    Proc,
    _batch_processes,
    _leftovers,
    _resumes_to,
    _survivors,
    _task_files,
    signal_plan,
)

SEED_ENV = "HRSIM_KILL_SEED"
KILLS = 3
"""SIGKILLs per test run; at most three times as many runs (see the test)."""
MISSED_KILL_SHIFT = 0.8
"""A kill that came after its run had ended is tried again at this share of its point."""
COMPLETE = sorted(
    [
        ".lock",
        "manifest.json",
        "plan.json",
        "results.nc",
        *(f"tasks/{task.id}.task" for task in signal_plan().tasks()),
    ]
)
"""Every file of a finished batch folder, and nothing else."""
REMOVED_BY_A_RERUN = re.compile(
    rf"tasks/\.({'|'.join(task.id for task in signal_plan().tasks())})\.running"
    r"|\.(plan\.json|results\.nc|manifest\.json)\.[^/]+\.tmp"
)
"""What a SIGKILL of the batch's process may leave besides its files: the markers of the
tasks that were running, and the temporary files of its own writes (plan.json, results.nc,
manifest.json). Not temporary task files: local workers write those, and finish a write
that their batch's death caught half-way."""
CUT_BY_A_GROUP_KILL = re.compile(r"tasks/\.[^/]+\.task\.[^/]+\.tmp")
"""What a SIGKILL of the whole process group may leave besides: a worker's task file
half-written (a rerun removes it)."""
GROUP_KILL = 1
"""The kill (by its index) sent to the batch's whole process group, as a container's stop
or the out-of-memory killer of a group would: workers die too, mid-task or mid-write."""


def _edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, f"{old!r} is no longer in the runner script"
        text = text.replace(old, new)
    return text


DASK_RUNNER = _edited(
    RUNNER,
    (f"workers={WORKERS}", "scheduler=sys.argv[2]"),
    ("slow_task", "recorded_slow_task"),  # records on the workers: see the starts fixture
)
"""The runner of tests/test_batch_signals.py, on the dask cluster at its second argument."""


# ------------------------------------------------------------------ runs in subprocesses
@dataclass
class Runs:
    """Runner scripts started in subprocesses, each leading a session of its own (so that
    all its processes can be found: ``_batch_processes``), its standard error to a file
    (not a pipe, that survivors might hold open)."""

    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, script: str, *args: str) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        runner = self.tmp / f"runner{n}.py"
        runner.write_text(script, encoding="utf-8")
        with (self.tmp / f"stderr{n}.txt").open("wb") as err:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, str(runner), *args],
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
        return self.procs[-1]

    def errors(self, proc: subprocess.Popen[bytes]) -> list[str]:
        path = self.tmp / f"stderr{self.procs.index(proc)}.txt"
        return path.read_text(encoding="utf-8").splitlines()

    def end(self) -> None:
        """Kill, by pid, whatever of the runs is still alive (after a failed test)."""
        for proc in self.procs:
            proc.kill()
            proc.wait()
            for left in _batch_processes(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(left.pid, signal.SIGKILL)


@contextlib.contextmanager
def _runs(tmp: Path) -> Iterator[Runs]:
    runs = Runs(tmp)
    try:
        yield runs
    finally:
        runs.end()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    with _runs(tmp_path) as started:
        yield started


@dataclass(frozen=True)
class Reference:
    """An uninterrupted batch, and how long it lived."""

    result: BatchResult
    """An uninterrupted run of the runner (its folder, and results.nc as read back)."""
    seconds: float
    """Its wall time, from the start of its process to its end: a batch's whole life."""
    pool_seconds: float
    """From plan.json written to the first task's start: the workers' start-up."""
    tasks_seconds: float
    """From the first task's start to the last task file written."""

    def life(self, todo: int) -> float:
        """About how long a run lives with ``todo`` of the 6 tasks to compute: with none,
        no worker is started; with fewer, the tasks take a share of the time."""
        if todo == 0:
            return self.seconds - self.pool_seconds - self.tasks_seconds
        return self.seconds - self.tasks_seconds * (6 - todo) / 6


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The runner of tests/test_batch_signals.py run once uninterrupted in a subprocess,
    timed: the results every interrupted batch must resume to, and how long the batch
    and its phases last when nothing stops it (from its files' times)."""
    tmp = tmp_path_factory.mktemp("reference")
    folder = tmp / "batch"
    with _runs(tmp) as started:
        begun = time.monotonic()
        proc = started.start(RUNNER, str(folder))
        proc.wait(timeout=180)
        seconds = time.monotonic() - begun
        assert proc.returncode == 0, started.errors(proc)
    with xr.open_dataset(folder / "results.nc") as ds:
        dataset = ds.load()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    ends = {path.stem: path.stat().st_mtime for path in _task_files(folder)}
    first = min(ends[task] - took for task, took in manifest["task_seconds"].items())
    return Reference(
        BatchResult(folder, dataset, computed=6, reused=0, seconds=seconds),
        seconds,
        pool_seconds=first - (folder / "plan.json").stat().st_mtime,
        tasks_seconds=max(ends.values()) - first,
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _state(folder: Path) -> str:
    """What the folder holds, in a few words (for the log of the runs)."""
    files = _files(folder)
    tasks = sum(f.endswith(".task") for f in files)
    others = [f for f in files if not f.endswith(".task") and f != ".lock"]
    return f"{tasks} task files; {', '.join(others) or 'nothing else'}"


# ------------------------------------------------------------------ SIGKILL of the batch
def _kill_at(proc: subprocess.Popen[bytes], when: float, group: bool) -> list[Proc] | None:
    """SIGKILL the batch's process at ``when`` (time.monotonic()): only it (its workers
    must see to their own end), or with ``group`` its whole process group; returns its
    processes just before, or None if it ended before."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=max(0.0, when - time.monotonic()))
        return None
    seen = _batch_processes(proc.pid)
    if group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait(timeout=30)
    return None if proc.returncode == 0 else seen


def _check_after_sigkill(
    folder: Path, pid: int, seen: list[Proc], reference: Reference, group: bool
) -> None:
    assert _survivors(pid, seen) == [], "the workers (and the forkserver) exit by themselves"
    allowed = [REMOVED_BY_A_RERUN, *([CUT_BY_A_GROUP_KILL] if group else [])]
    stray = [
        f for f in _files(folder) if f not in COMPLETE and not any(r.fullmatch(f) for r in allowed)
    ]
    assert stray == [], "no stray file but running markers and the dead process's temporaries"
    done = {path.name: load_task(path) for path in _task_files(folder)}
    assert [name for name, ds in done.items() if ds is None] == [], "each task file is intact"
    for name, ds in done.items():
        xr.testing.assert_identical(ds, load_task(reference.result.folder / "tasks" / name))
    if (folder / "results.nc").exists():  # renamed into place whole, or not at all
        with xr.open_dataset(folder / "results.nc") as results:
            xr.testing.assert_identical(results.load(), reference.result.dataset)


@contextlib.contextmanager
def _reproducible(seed: int, log: list[str]) -> Iterator[None]:
    """A failure inside names the seed that drew the kill points, and the runs so far."""
    try:
        yield
    except Exception as exc:
        runs = "\n".join(log)
        raise AssertionError(f"{exc}\n{SEED_ENV}={seed}; runs so far:\n{runs}") from exc


@pytest.mark.slow
def test_sigkill_of_the_batch_at_random_points_then_a_rerun_is_identical(reference, runs):
    seed = int(os.environ.get(SEED_ENV) or secrets.randbits(32))
    rng = random.Random(seed)
    # One kill in each third of a run's life, early to late: the first mostly in the
    # start-up (imports, the workers' start), before any task; the last in the tasks, the
    # combining or the writing of results.nc. Uniform within each third of the life a run
    # has (about) with the tasks left: a share of its tasks already done, it ends sooner.
    fractions = [(i + rng.random()) / KILLS for i in range(KILLS)]
    folder = runs.tmp / "batch"
    log: list[str] = []
    lives: dict[int, float] = {}  # tasks to do -> seconds a run with as many lived here
    with _reproducible(seed, log):
        while fractions:
            assert len(log) < 3 * KILLS, f"{KILLS} kills took more than {3 * KILLS} runs"
            todo = 6 - len(_task_files(folder))  # all intact: checked after each kill
            delay = fractions[0] * lives.get(todo, reference.life(todo))
            begun = time.monotonic()
            proc = runs.start(RUNNER, str(folder))
            group = KILLS - len(fractions) == GROUP_KILL
            seen = _kill_at(proc, begun + delay, group)
            if seen is None:
                # It finished first (the reference ran on a busier or slower moment): the
                # next run gets that kill, a little earlier in a life now measured, so that
                # the kills land whatever the machine's speed.
                assert proc.returncode == 0, runs.errors(proc)
                took = time.monotonic() - begun
                log.append(
                    f"{todo} to do; ended after {took:.2f} s, before its kill at {delay:.2f} s"
                )
                lives[todo] = took
                fractions[0] *= MISSED_KILL_SHIFT
                continue
            assert proc.returncode == -signal.SIGKILL, runs.errors(proc)
            log.append(
                f"{todo} to do; SIGKILL{' to the group' if group else ''} at "
                f"{fractions[0]:.3f} of its life, after {delay:.2f} s: {_state(folder)}"
            )
            fractions.pop(0)
            _check_after_sigkill(folder, proc.pid, seen, reference, group)
        _resumes_to(folder, _task_files(folder), reference.result)
        assert _files(folder) == COMPLETE, "no stray file"
    print(f"{SEED_ENV}={seed}", *log, sep="\n")  # the kill points (shown by pytest -rP)


# ------------------------------------------------------------------ dask
@dataclass(frozen=True)
class Event:
    """One line recorded by tests.batch_tasks.recorded_slow_task."""

    kind: str
    """start or end"""
    pid: int
    at: float
    """time.time()"""


def _events(starts: Path) -> dict[str, list[Event]]:
    """Task id -> its recorded events, in order (whole lines only)."""
    events: dict[str, list[Event]] = {}
    for path in sorted(starts.iterdir()):
        lines = path.read_text(encoding="ascii").splitlines(keepends=True)
        rows = [line.split() for line in lines if line.endswith("\n")]
        events[path.name] = [Event(kind, int(pid), float(at)) for kind, pid, at in rows]
    return events


@pytest.fixture
def starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder where recorded_slow_task records each try of a task, set before the
    test starts a cluster, whose workers inherit it (a restarted worker too)."""
    folder = tmp_path / "starts"
    folder.mkdir()
    monkeypatch.setenv(STARTS_DIR_ENV, str(folder))
    return folder


def _until(what: str, found: Callable[[], Any], alive: Callable[[], None]) -> Any:
    """Poll ``found`` until it gives something true (two minutes at most); ``alive``
    raises if the batch ended meanwhile."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        alive()
        if value := found():
            return value
        time.sleep(0.02)
    raise AssertionError(f"no {what} in two minutes")


@pytest.mark.slow
def test_a_dask_worker_killed_mid_task_changes_nothing(reference, starts, tmp_path):
    from distributed import Client

    folder = tmp_path / "batch"
    with (
        _local_cluster(WORKERS) as cluster,  # a nanny per worker starts a new one if it dies
        Client(cluster) as client,
        cf.ThreadPoolExecutor(1) as thread,
    ):
        running = thread.submit(
            run_batch,
            signal_plan(),
            folder,
            scheduler=cluster.scheduler_address,
            task_fn=recorded_slow_task,
        )
        workers = set(client.run(os.getpid).values())

        def alive() -> None:
            assert not running.done(), running.result()

        def first_start() -> tuple[str, int] | None:
            started = [(task, ev[0].pid) for task, ev in _events(starts).items() if ev]
            return started[0] if started else None

        victim, pid = _until("task started", first_start, alive)
        assert pid in workers, "a worker process of the cluster"
        os.kill(pid, signal.SIGKILL)  # in the task's 0.6 s sleep, long before it ends
        result = running.result(timeout=120)
    tries = _events(starts)[victim]
    assert [(e.kind, e.pid) for e in tries if e.pid == pid] == [("start", pid)], (
        "the worker was killed mid-task"
    )
    assert [e.kind for e in tries if e.pid != pid] == ["start", "end"], (
        "the scheduler ran the task again, in another worker process"
    )
    assert (result.computed, result.reused) == (6, 0)
    xr.testing.assert_identical(result.dataset, reference.result.dataset)
    assert _files(folder) == COMPLETE, "no stray file"


def _keys(per_worker: dict[str, Any], prefix: str) -> list[str]:
    """The keys starting with ``prefix`` (a batch's tasks) in a reply per worker."""
    return sorted(str(k) for keys in per_worker.values() for k in keys if str(k).startswith(prefix))


def _batch_tasks_on(client: Any, prefix: str) -> dict[str, list[str]]:
    """The batch's tasks as the cluster knows them: those the scheduler has processing
    on a worker, those it holds in any state, and those the workers hold (a cancelled
    task whose thread still runs among them)."""
    # lambdas: sent by value (cloudpickle), so that no process imports this test module
    held = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    return {
        "processing": _keys(client.processing(), prefix),
        "scheduler": _keys({"scheduler": held}, prefix),
        "workers": _keys(client.run(lambda dask_worker: list(dask_worker.state.tasks)), prefix),
    }


@pytest.mark.slow
def test_sigint_stops_a_batch_on_a_dask_cluster_and_its_tasks_there(reference, starts, runs):
    from distributed import Client

    folder = runs.tmp / "batch"
    prefix = f"hrsim-{signal_plan().fingerprint()}-"  # the keys of the batch's tasks
    with _local_cluster(WORKERS) as cluster, Client(cluster) as client:
        proc = runs.start(DASK_RUNNER, str(folder), cluster.scheduler_address)

        def alive() -> None:
            assert proc.poll() is None, runs.errors(proc)

        def part_way() -> bool:
            return len(_task_files(folder)) >= 2 and bool(_keys(client.processing(), prefix))

        _until("batch part-way", part_way, alive)
        seen = _batch_processes(proc.pid)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        # its client was closed before its line was written and it exited
        took, ended = time.monotonic() - sent, time.time()
        deadline = time.monotonic() + SETTLE_SECONDS
        left = _batch_tasks_on(client, prefix)
        while any(left.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
            left = _batch_tasks_on(client, prefix)
    assert took < SETTLE_SECONDS, f"stopped in {took:.1f} s"
    assert proc.returncode == 130, runs.errors(proc)
    kept = _task_files(folder)
    assert runs.errors(proc) == [
        f"{folder}: stopped by SIGINT; {len(kept)} of 6 tasks are done and kept; "
        "run the same command again to resume"
    ]
    assert 2 <= len(kept) < 6
    assert _survivors(proc.pid, seen) == []
    assert left == {"processing": [], "scheduler": [], "workers": []}, "the cluster drops them"
    late = [
        (task, e)
        for task, ev in _events(starts).items()
        for e in ev
        if e.kind == "start" and e.at > ended
    ]
    assert late == [], "no task of the batch starts on the cluster once its process has ended"
    assert _leftovers(folder) == [] and not (folder / "results.nc").exists()
    _resumes_to(folder, kept, reference.result)
