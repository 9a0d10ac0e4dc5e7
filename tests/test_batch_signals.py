"""Signals to a batch's process, on a real small batch in a subprocess: SIGINT (to the
process or, as Ctrl-C in a terminal, to its group) and SIGTERM stop it within seconds,
say so in one line, exit 130 or 143 and leave no process nor partial file; after SIGKILL
its workers exit within seconds and write nothing more. In each case the finished task
files are intact and a rerun resumes to the results of an uninterrupted run."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xarray as xr

import sim.runs.batch
from sim.runs.batch import (
    FORKSERVER_PRELOAD,
    ORPHANED_WORKER_EXIT,
    TASK_SUFFIX,
    BatchResult,
    Plan,
    _BatchProcess,
    _local_entry,
    _start_time,
    _WorkerGuard,
    make_plan,
    run_batch,
)
from sim.runs.store import load_task
from sim.scenario import load_dict
from tests.small_district import small_district

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
SETTLE_SECONDS = 5.0
"""How long the batch's processes may take to be gone after a signal."""


@functools.cache
def preload_seconds() -> float:
    """Wall seconds a fresh interpreter takes to import what the forkserver preloads
    (:func:`sim.runs.batch.worker_context`): a forkserver killed as an orphan in the middle
    of that import notices its parent is gone only once the import ends, so the time
    allowed for the batch's processes to be gone after a SIGKILL includes it (twice it,
    for a machine busy with the other test workers)."""
    start = time.monotonic()
    imports = "; ".join(f"import {name}" for name in FORKSERVER_PRELOAD)
    subprocess.run([sys.executable, "-c", imports], cwd=ROOT, check=True)
    return 2.0 * (time.monotonic() - start)


RUNNER = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(ROOT)!r})
    from sim.runs.batch import run_batch
    from tests.batch_tasks import slow_task
    from tests.test_batch_signals import signal_plan
    if __name__ == "__main__":
        run_batch(signal_plan(), sys.argv[1], workers={WORKERS}, task_fn=slow_task)
""")


def signal_plan() -> Plan:
    """Six tasks of the small district (one year, no DES): with the test's sleep, each
    takes about a second in a worker, so a batch can be stopped part-way; without it
    (in this process) a third of a second."""
    scenario = load_dict({"name": "a", **small_district(2025)})
    return make_plan([scenario], 6, seed=5, options={"sleep": 0.6, "des_replicates": 0})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    folder = tmp_path_factory.mktemp("uninterrupted")
    return run_batch(signal_plan(), folder, workers=0)


# ------------------------------------------------------------------ processes
@dataclass(frozen=True)
class Proc:
    """A process as /proc/<pid>/stat shows it."""

    pid: int
    ppid: int
    session: int
    started: str
    state: str


def _proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return Proc(pid, int(fields[1]), int(fields[3]), fields[19], fields[0])


def _live_processes() -> list[Proc]:
    """Every process on the machine but the zombies (dead, not yet reaped)."""
    found = (_proc(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit())
    return [p for p in found if p is not None and p.state not in ("Z", "X")]


def _batch_processes(batch_pid: int) -> list[Proc]:
    """The batch's process and its descendants (forkserver, workers, resource tracker):
    those of its session, which it leads (started with start_new_session); a process
    re-parented after the batch's death is still in it."""
    return [p for p in _live_processes() if p.session == batch_pid]


def _survivors(batch_pid: int, seen: list[Proc]) -> list[Proc]:
    """The batch's processes still alive once SETTLE_SECONDS and :func:`preload_seconds`
    have passed (at once when none is left): those of its session, and those seen while it
    ran (same start time)."""
    deadline = time.monotonic() + SETTLE_SECONDS + preload_seconds()
    while True:
        live = {(p.pid, p.started): p for p in _live_processes()}
        left = [p for p in live.values() if p.session == batch_pid]
        left += [live[p.pid, p.started] for p in seen if (p.pid, p.started) in live]
        if not left or time.monotonic() > deadline:
            return sorted(set(left), key=lambda p: p.pid)
        time.sleep(0.05)


# ------------------------------------------------------------------ the batch
def _task_files(folder: Path) -> list[Path]:
    return sorted((folder / "tasks").glob(f"*{TASK_SUFFIX}"))


def _leftovers(folder: Path) -> list[str]:
    """Hidden files (running markers, temporary files of atomic writes) but the lock."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if p.name != ".lock")


@dataclass
class Batch:
    """The runner's process (it leads its own session), its batch folder, and the file
    its standard error goes to (a file, not a pipe, that survivors might hold open)."""

    proc: subprocess.Popen[bytes]
    folder: Path
    stderr: Path

    def errors(self) -> list[str]:
        return self.stderr.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[Batch]:
    """A batch started in a subprocess; afterwards any of its processes still alive
    (a failed test) is killed, by pid."""
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    folder, stderr = tmp_path / "batch", tmp_path / "stderr.txt"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(runner), str(folder)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    yield Batch(proc, folder, stderr)
    proc.kill()
    proc.wait()
    for left in _batch_processes(proc.pid):
        os.kill(left.pid, signal.SIGKILL)


def _part_way(batch: Batch) -> list[Proc]:
    """Wait until two tasks are finished and another is running (four are left); the
    batch's processes at that moment."""
    proc, folder = batch.proc, batch.folder
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, batch.errors()
        markers = list((folder / "tasks").glob(".*.running"))
        if len(_task_files(folder)) >= 2 and markers:
            return _batch_processes(proc.pid)
        time.sleep(0.02)
    raise AssertionError("the batch did not get part-way in two minutes")


def _workers(seen: list[Proc], batch_pid: int) -> list[Proc]:
    """The pool's workers: children of the forkserver, itself a child of the batch."""
    children = {p.pid for p in seen if p.ppid == batch_pid}
    return [p for p in seen if p.ppid in children]


def _resumes_to(folder: Path, kept: list[Path], uninterrupted: BatchResult) -> None:
    """The kept task files are intact (their checksums hold, their Datasets are those of
    an uninterrupted run), and a rerun computes only the others, to the same results."""
    for path in kept:
        task = load_task(path)
        assert task is not None, f"{path.name} is intact"
        xr.testing.assert_identical(task, load_task(uninterrupted.folder / "tasks" / path.name))
    resumed = run_batch(signal_plan(), folder, workers=0)
    assert (resumed.reused, resumed.computed) == (len(kept), 6 - len(kept))
    xr.testing.assert_identical(resumed.dataset, uninterrupted.dataset)
    assert _leftovers(folder) == []


# ------------------------------------------------------------------ tests
@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "to_group", "status"),
    [
        (signal.SIGINT, False, 130),
        (signal.SIGINT, True, 130),  # Ctrl-C in a terminal: every process of the group
        (signal.SIGTERM, False, 143),
    ],
    ids=["SIGINT", "SIGINT-group", "SIGTERM"],
)
def test_a_stopping_signal_ends_every_process_and_keeps_the_finished_tasks(
    batch, uninterrupted, signum, to_group, status
):
    proc, folder = batch.proc, batch.folder
    seen = _part_way(batch)
    assert len(_workers(seen, proc.pid)) == WORKERS, seen
    sent = time.monotonic()
    (os.killpg if to_group else os.kill)(proc.pid, signum)
    proc.wait(timeout=30)
    assert time.monotonic() - sent < SETTLE_SECONDS, "running and queued work stop at once"
    assert proc.returncode == status, batch.errors()
    assert _survivors(proc.pid, seen) == []
    kept = _task_files(folder)
    name = signal.Signals(signum).name
    assert batch.errors() == [
        f"{folder}: stopped by {name}; {len(kept)} of 6 tasks are done and kept; "
        "run the same command again to resume"
    ]
    assert 2 <= len(kept) < 6
    assert _leftovers(folder) == [], "no running marker nor temporary file is left"
    assert not (folder / "results.nc").exists()
    _resumes_to(folder, kept, uninterrupted)


@pytest.mark.slow
def test_after_sigkill_the_workers_exit_and_write_nothing_more(batch, uninterrupted):
    proc, folder = batch.proc, batch.folder
    seen = _part_way(batch)
    assert len(_workers(seen, proc.pid)) == WORKERS, seen
    proc.kill()
    proc.wait(timeout=30)
    dead = time.time()  # reaped: from now on nothing may start a write into the folder
    assert _survivors(proc.pid, seen) == [], "the workers (and the forkserver) exit"
    # a write that passed its check just before the death may end a moment later
    late = [p.name for p in (folder / "tasks").iterdir() if p.stat().st_mtime > dead + 0.25]
    assert late == [], "no task was taken nor written after the batch's process died"
    assert not list(folder.rglob("*.tmp"))
    # the markers of the tasks that were running stay (a rerun removes them)
    assert all(re.fullmatch(r"tasks/\..*\.running", p) for p in _leftovers(folder))
    _resumes_to(folder, _task_files(folder), uninterrupted)


def test_start_time_tells_a_live_process_from_a_zombie():
    assert _start_time(os.getpid()) == _BatchProcess.this_one().started != ""
    child = subprocess.Popen([sys.executable, "-c", ""])
    deadline = time.monotonic() + 30
    while _proc(child.pid).state != "Z" and time.monotonic() < deadline:  # not yet reaped
        time.sleep(0.01)
    assert _start_time(child.pid) is None, "a zombie is dead"
    child.wait()
    assert _start_time(child.pid) is None
    assert not _BatchProcess(os.getpid(), "another start time").alive(), "a reused pid"


class _Exited(BaseException):
    """What the fake ``os._exit`` raises."""


@pytest.fixture
def orphaned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """This process as a worker whose batch's process is gone (its pid now another
    process's: this one); ``os._exit`` raises _Exited instead and records its status."""
    statuses: list[int] = []

    def exit_(status: int) -> None:
        statuses.append(status)
        raise _Exited(status)

    gone = _BatchProcess(os.getpid(), "another start time")
    monkeypatch.setattr(sim.runs.batch, "_GUARD", _WorkerGuard(batch=gone))
    monkeypatch.setattr(os, "_exit", exit_)
    return statuses


def test_a_worker_of_a_gone_batch_takes_no_task(tmp_path, orphaned):
    plan = signal_plan()
    (tmp_path / "tasks").mkdir()
    with pytest.raises(_Exited):
        _local_entry(plan, plan.tasks()[0], str(tmp_path))
    assert orphaned == [ORPHANED_WORKER_EXIT]
    assert list((tmp_path / "tasks").iterdir()) == [], "no marker, no task file"


def test_the_watch_ends_a_worker_whose_batch_is_gone(orphaned, monkeypatch):
    monkeypatch.setattr(sim.runs.batch, "PARENT_WATCH_SECONDS", 0.01)

    def watch_until_exit() -> None:
        with contextlib.suppress(_Exited):
            sim.runs.batch._watch_batch()

    watch = threading.Thread(target=watch_until_exit, daemon=True)
    watch.start()
    watch.join(timeout=5)
    assert orphaned == [ORPHANED_WORKER_EXIT] and not watch.is_alive()
