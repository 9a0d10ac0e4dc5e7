"""Batches: plan tasks, run them on local processes or a dask cluster, resume, combine.

A batch is every (scenario, sweep point, replicate) of a run plan. Each task is
computed independently from its own seeds (see :mod:`sim.base.rng`) and written to
``<batch>/tasks/<task id>.task`` atomically (temporary file, then rename), so

* the same seed gives the same numbers for any number of workers, local or remote;
* rerunning an interrupted batch computes only the missing tasks; a partial or
  corrupt task file (or one from another plan, or one computed before a data table
  the scenarios read was edited) is detected and recomputed;
* a worker that dies mid-task is retried a bounded number of times, then the batch
  stops naming the task; it never hangs. Only the tasks that were running when a
  local worker died are run one at a time; the rest go on at full width;
* dask workers send each task back to this process, which writes it, so a cluster
  needs no file system shared with the client;
* one run at a time uses a batch folder (a lock on ``<batch>/.lock``);
* SIGINT (Ctrl-C) or SIGTERM stops a batch within seconds: its local workers are
  stopped, queued tasks are dropped, finished task files are kept, partial files are
  removed, one line says how to resume, and the program exits with status 130 or 143
  (:class:`BatchInterrupted`). A local worker whose batch process died (SIGKILL, the
  out-of-memory killer) exits within a second and writes nothing more: the folder's
  lock died with that process, and another run may already be using the folder.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import functools
import hashlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.base import names
from sim.base.errors import ScenarioError
from sim.data import table_path
from sim.runs.pipeline import DEFAULT_ENGINE, ENGINES, prepare_engine, run_replicate_all
from sim.runs.store import (
    RESULTS_NAME,
    atomic_write_bytes,
    check_space,
    check_writable,
    describe,
    load_task,
    provenance,
    save_dataset,
    save_manifest,
    task_bytes,
)
from sim.scenario import Scenario, draw, load_dict
from sim.scenario.sweep import apply_point

TASKS_DIR = "tasks"
RESULTS_FILE = RESULTS_NAME
TASK_SUFFIX = ".task"
"""Task files: a checksummed binary Dataset (see ``sim.runs.store.save_task``)."""
PLAN_FILE = "plan.json"
TASK_FILE_BYTES = {"des": 600_000, "expected": 350_000}
"""Size of one full-district task file with and without the DES (measured: 0.57 and
0.33 MB for the shipped scenarios, 2025-2030), for the disk-space check."""
MANIFEST_FILE = "manifest.json"
ERRORS_FILE = "errors.log"
"""Tracebacks of the tasks that failed, appended."""
LOCK_FILE = ".lock"
"""Held (``flock``) by the run using the batch folder; never removed."""
RUNNING_SUFFIX = ".running"
"""``tasks/.<task id>.running``: written by a local worker when it starts a task and
removed when it ends; left behind only by a worker that died mid-task."""
DEFAULT_RETRIES = 2
"""Times a task whose worker died is tried again before the batch stops."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a batch cleanly (see :class:`BatchInterrupted`)."""
STOP_GRACE_SECONDS = 2.0
"""Seconds a local worker has to end after SIGTERM from its batch before SIGKILL."""
PARENT_WATCH_SECONDS = 0.5
"""How often a local worker checks that the process running its batch is alive."""
ORPHANED_WORKER_EXIT = 75
"""Exit status of a local worker that found the process running its batch gone."""


class BatchError(Exception):
    """A batch that cannot go on (a task failed, or kept killing its worker)."""


class BatchInterrupted(SystemExit):
    """SIGINT or SIGTERM stopped the batch; its workers are stopped, the finished task
    files kept and the partial ones removed. The exit status is 128 + the signal's number
    (130, 143), as a shell reports a process killed by that signal. A SystemExit, not a
    KeyboardInterrupt, so that a command line ends with that status, after the one line
    this module has already printed, whatever signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class _Stopped(BaseException):
    """Raised in the main thread by the SIGINT and SIGTERM handlers while a batch runs
    (see :func:`_stop_on_signals`); never escapes :func:`run_batch`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True)
class Task:
    """One unit of work: a scenario (at a sweep point) and a replicate."""

    scenario: str
    point: int
    replicate: int
    seed: int

    @property
    def id(self) -> str:
        return f"{self.scenario}__p{self.point:04d}__r{self.replicate:04d}"


@dataclass(frozen=True)
class Plan:
    """The run plan: resolved scenario texts, options and the list of tasks."""

    scenarios: dict[str, dict[str, Any]]
    """Scenario name -> validated scenario as plain data (per sweep point: see points)."""
    points: dict[str, list[dict[str, Any]]]
    """Scenario name -> list of sweep points (overrides as dotted key -> value); [{}] if none."""
    replicates: list[int]
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    """What each task computes and how (DES replicates, the DES ``engine``...); part of
    the fingerprint, so a batch run with another engine never reuses these task files."""
    tables: dict[str, str] = field(default_factory=dict)
    """SHA-256 (hex) of each data table file the scenarios read, by reference: the CSV's
    path, or ``<table>:<built-in name>`` (see :func:`table_digests`). Editing a table
    changes the fingerprint, so that tasks computed from the old table are not reused."""

    def tasks(self) -> list[Task]:
        return [
            Task(name, p, r, self.seed)
            for name in self.scenarios
            for p in range(len(self.points[name]))
            for r in self.replicates
        ]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """Hash of everything that decides the numbers (not of how they are computed)."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        # once per plan: every task's file is checked against it, and a sweep's plan
        # takes milliseconds to serialise
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_plan(
    scenarios: Sequence[Scenario],
    replicates: int,
    seed: int,
    points: dict[str, list[dict[str, Any]]] | None = None,
    options: dict[str, Any] | None = None,
) -> Plan:
    """A run plan over ``scenarios`` × sweep points × replicates 0..replicates-1.
    ``options["engine"]`` (the DES engine, :data:`sim.runs.pipeline.ENGINES`) is set to the
    default, ``"compiled"``, when not given."""
    if replicates < 1:
        raise ScenarioError(None, "--replicates", replicates, "must be a whole number >= 1")
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise ScenarioError(None, "name", sc.name, "two scenarios in one batch share this name")
        seen.add(sc.name)
    pts = {sc.name: (points or {}).get(sc.name, [{}]) for sc in scenarios}
    opts = dict(options or {})
    engine = opts.setdefault("engine", DEFAULT_ENGINE)
    if engine not in ENGINES:
        raise ScenarioError(None, "--engine", engine, f"allowed: {', '.join(ENGINES)}")
    return Plan(
        scenarios={sc.name: sc.model_dump(mode="json") for sc in scenarios},
        points=pts,
        replicates=list(range(replicates)),
        seed=seed,
        options=opts,
        tables=table_digests(scenarios),
    )


def table_digests(scenarios: Sequence[Scenario]) -> dict[str, str]:
    """SHA-256 (hex) of the content of every table the scenarios' ``[data]`` sections
    name, built-in ones included, keyed by reference: a user's CSV by its path (as the
    scenario holds it, resolved when the scenario was read), a built-in table as
    ``<table>:<name>`` so that the key does not depend on where the package is installed.
    Sweep points change numbers only, never a table reference."""
    digests: dict[str, str] = {}
    for sc in scenarios:
        for table, ref in sc.data.model_dump().items():
            key = ref if ref.endswith(".csv") else f"{table}:{ref}"
            if key in digests:
                continue
            path = table_path(table, ref)
            try:
                digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise ScenarioError(
                    path, f"data.{table}", ref, f"cannot read the table: {exc.strerror or exc}"
                ) from None
    return dict(sorted(digests.items()))


# ------------------------------------------------------------------ what a task does
def task_scenario(plan: Plan, task: Task) -> Scenario:
    """The validated scenario of a task (its sweep point applied), not yet drawn."""
    raw = apply_point(plan.scenarios[task.scenario], plan.points[task.scenario][task.point])
    return load_dict(raw, file=f"{task.scenario} (sweep point {task.point})")


def runs_des(plan: Plan, task: Task) -> bool:
    """Whether the task runs the DES (replicates below the ``des_replicates`` option)."""
    des_replicates = plan.options.get("des_replicates")
    return des_replicates is None or task.replicate < int(des_replicates)


def des_engine(plan: Plan) -> str:
    """The DES engine of the plan's tasks (the ``engine`` option; default compiled)."""
    return str(plan.options.get("engine", DEFAULT_ENGINE))


def run_task(plan: Plan, task: Task) -> xr.Dataset:
    """Compute one task: projection, expected level and, for replicates below the plan's
    ``des_replicates`` option (default: all), the discrete-event model on the plan's
    engine."""
    sc = draw(task_scenario(plan, task), task.replicate, task.seed)
    return run_replicate_all(
        sc, task.seed, task.replicate, des=runs_des(plan, task), engine=des_engine(plan)
    )


TaskFunction = Callable[[Plan, Task], xr.Dataset]


def _compute(plan: Plan, task: Task, task_fn: TaskFunction) -> tuple[bytes, float]:
    """Worker-side: one task's file content and the wall seconds it took (s)."""
    start = time.perf_counter()
    ds = task_fn(plan, task)
    ds.attrs.update({"task_id": task.id, "plan_fingerprint": plan.fingerprint()})
    return task_bytes(ds), time.perf_counter() - start


def _local_entry(
    plan: Plan, task: Task, folder: str, task_fn: TaskFunction = run_task
) -> tuple[str, float]:
    """Worker-side, local processes (same file system): mark the task as running,
    compute it, write its file; returns the task id and its seconds. Each write into the
    folder is made only while the batch's process is alive (:func:`_batch_alive_or_exit`)."""
    marker = _marker_path(Path(folder), task)
    with _batch_alive_or_exit():  # a worker of a dead batch takes no new task
        marker.touch()
    try:
        blob, seconds = _compute(plan, task, task_fn)
        with _batch_alive_or_exit():
            atomic_write_bytes(_task_path(Path(folder), task), blob)
    finally:  # not reached if the process is killed: the marker then names the suspect
        with _batch_alive_or_exit():
            marker.unlink(missing_ok=True)
    return task.id, seconds


def _roll_call() -> None:
    """Worker-side: nothing; submitted only to wake the pool (see :func:`_run_pool`)."""


def _remote_entry(plan: Plan, task: Task, task_fn: TaskFunction) -> tuple[str, bytes, float]:
    """Worker-side, dask: compute the task and send its file content back (the worker
    may be on a host that cannot see the batch folder); returns id, bytes, seconds."""
    blob, seconds = _compute(plan, task, task_fn)
    return task.id, blob, seconds


# ------------------------------------------------------------------ worker lifetime
@dataclass(frozen=True)
class _BatchProcess:
    """The process running a batch, as its local workers know it: its pid, and when it
    started, so that a process given the same pid later is not taken for it. The workers'
    parent is the forkserver, not this process, hence the explicit pid."""

    pid: int
    started: str

    @classmethod
    def this_one(cls) -> _BatchProcess:
        return cls(os.getpid(), _start_time(os.getpid()) or "")

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks after boot, from Linux's /proc), or ""
    on a POSIX system without /proc; None if there is no such process, or only its zombie
    (dead, its exit status not yet collected by its own parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _exists_without_proc(pid)
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (command name) "
    state, started = fields[0], fields[19]  # fields 3 and 22 of proc_pid_stat(5)
    return None if state in ("Z", "X") else started


def _exists_without_proc(pid: int) -> str | None:
    try:
        os.kill(pid, 0)  # POSIX only: on Windows this would end the process
    except ProcessLookupError:
        return None
    except PermissionError:  # there, but not ours
        pass
    return ""


@dataclass
class _WorkerGuard:
    """Worker-side: the process running the batch (None in that process itself), and the
    lock that keeps the watch on it from ending the worker half-way through a write."""

    batch: _BatchProcess | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_GUARD = _WorkerGuard()


@contextlib.contextmanager
def _batch_alive_or_exit() -> Iterator[None]:
    """Worker-side, around each write into the batch folder: end the worker at once
    (``os._exit``: no clean-up, so no write) if the process running its batch is gone,
    since the folder's lock went with it and another run may be using the folder."""
    with _GUARD.lock:
        if _GUARD.batch is not None and not _GUARD.batch.alive():
            os._exit(ORPHANED_WORKER_EXIT)
        yield


def _worker_init(batch: _BatchProcess | None) -> None:
    """Pool initializer, worker-side. SIGINT is ignored: a Ctrl-C in a terminal reaches
    every process of the group, and the batch's process stops its workers itself (a task
    stopped by it would count as failed, and the worker would take the next one). With
    ``batch``, a thread ends the worker within PARENT_WATCH_SECONDS of that process's
    death, whether it is running a task or waiting for one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if batch is None:
        return
    _GUARD.batch = batch
    threading.Thread(target=_watch_batch, name="hrsim-watch-batch", daemon=True).start()


def _watch_batch() -> None:
    while True:
        time.sleep(PARENT_WATCH_SECONDS)
        with _batch_alive_or_exit():
            pass


# ------------------------------------------------------------------ resume
def _task_path(folder: Path, task: Task) -> Path:
    return folder / TASKS_DIR / f"{task.id}{TASK_SUFFIX}"


def _marker_path(folder: Path, task: Task) -> Path:
    return folder / TASKS_DIR / f".{task.id}{RUNNING_SUFFIX}"


def task_is_done(folder: Path, plan: Plan, task: Task) -> bool:
    """A task file whose checksum holds and that belongs to this plan; anything else
    (partial, corrupt, from another plan) is removed so that the task is recomputed."""
    path = _task_path(folder, task)
    if not path.exists():
        return False
    ds = load_task(path)
    ok = (
        ds is not None
        and ds.attrs.get("task_id") == task.id
        and ds.attrs.get("plan_fingerprint") == plan.fingerprint()
    )
    if not ok:
        path.unlink(missing_ok=True)
    return ok


def clean_temporaries(folder: Path) -> int:
    """Remove what an interrupted run leaves behind: temporary files of an atomic write
    (task files in ``tasks/``; results.nc, plan.json and manifest.json in the folder)
    and the running-task markers; returns how many files."""
    leftovers = [
        *(folder / TASKS_DIR).glob(".*.tmp"),
        *(folder / TASKS_DIR).glob(f".*{RUNNING_SUFFIX}"),
        *folder.glob(".*.tmp"),
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<folder>/.lock`` (POSIX ``flock``; released by the
    system if this process dies), or fail at once if another run holds it. Not done
    on other systems, nor on a file system without locks."""
    if os.name != "posix":
        yield
        return
    import fcntl

    with (folder / LOCK_FILE).open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScenarioError(
                folder, None, None, "another run is using this batch folder"
            ) from None
        except OSError:  # a file system without locks (some network mounts): go unlocked
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# ------------------------------------------------------------------ executors
Progress = Callable[[int, int], None]


@dataclass
class _Tally:
    """What the executors report besides the task files."""

    seconds: dict[str, float] = field(default_factory=dict)
    """Task id -> wall seconds measured in the worker (tasks computed in this run)."""
    isolated: int = 0
    """Tasks run alone because they were running when a worker died."""


def _task_failed(folder: Path, task: Task, exc: BaseException) -> BatchError:
    log = folder / ERRORS_FILE
    try:
        _log_failure(folder, task, exc)
        details = f"details in {log}"
    except OSError as log_exc:  # the disk filled too: the task's own error comes first
        details = f"{log} could not be written: {log_exc.strerror}"
    return BatchError(f"task {task.id} failed: {type(exc).__name__}: {exc} ({details})")


def _writing_into(folder: Path, exc: BaseException) -> bool:
    """Whether ``exc`` is a failed write into the batch folder (a full disk, a folder
    made read-only): the disk's fault, not the task's (the writes name their file, see
    :func:`sim.runs.store.write_failure`)."""
    if not isinstance(exc, OSError) or not exc.filename:
        return False
    return Path(os.fspath(exc.filename)).resolve().is_relative_to(folder.resolve())


@contextlib.contextmanager
def _process_pool(width: int, ctx: Any) -> Iterator[cf.ProcessPoolExecutor]:
    """A pool of ``width`` local workers (see :func:`_worker_init`). On the way out it
    drops the tasks not yet handed to the workers and waits for the others (after a task
    failed, their files are still written, before the folder's lock is released); but
    when SIGINT or SIGTERM stops the batch, at any moment, the workers are stopped at
    once (:func:`_stop_workers`)."""
    batch = _BatchProcess.this_one() if os.name == "posix" else None
    pool = cf.ProcessPoolExecutor(
        max_workers=width, mp_context=ctx, initializer=_worker_init, initargs=(batch,)
    )
    try:
        yield pool
    except _Stopped:
        _stop_workers(pool)
        raise
    finally:
        _wait_for_running(pool)


def _wait_for_running(pool: cf.ProcessPoolExecutor) -> None:
    try:
        pool.shutdown(wait=True, cancel_futures=True)
    except _Stopped:
        _stop_workers(pool)
        raise


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Drop the pool's queued tasks, SIGTERM its workers (SIGKILL after
    STOP_GRACE_SECONDS) and wait for their end, so that none writes once this returns."""
    # private: no public way to reach a pool's workers before Python 3.14
    # (terminate_workers); shutdown() forgets them
    workers = list((pool._processes or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in workers:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
    if isinstance(manager, threading.Thread):  # it ends once it has seen the workers' end
        manager.join(STOP_GRACE_SECONDS)


def _run_pool(
    plan: Plan,
    tasks: list[Task],
    folder: Path,
    workers: int,
    ctx: Any,
    progress: Progress,
    task_fn: TaskFunction,
    tally: _Tally,
) -> list[Task]:
    """Run tasks on a fresh process pool; return those whose pool broke under them."""
    unfinished: list[Task] = []
    width = min(workers, len(tasks))  # no idle worker: the roll call below must not start one
    with _process_pool(width, ctx) as pool:
        futures = {pool.submit(_local_entry, plan, t, str(folder), task_fn): t for t in tasks}
        # The pool watches the workers it had when it last woke, and each submit wakes it
        # just before starting a new worker (CPython 3.11, and its main branch in 2026):
        # without one more wake-up the last worker's death would go unnoticed until
        # another task ends.
        pool.submit(_roll_call)
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                task_id, seconds = fut.result()
                tally.seconds[task_id] = seconds
                progress(1, 0)
            except BrokenProcessPool:
                if task_is_done(folder, plan, task):  # it finished before the pool broke
                    progress(1, 0)
                else:
                    unfinished.append(task)
            except Exception as exc:  # the pool drops the queued tasks on the way out
                if _writing_into(folder, exc):
                    raise exc from None
                raise _task_failed(folder, task, exc) from None
    return unfinished


FORKSERVER_PRELOAD = ("sim.runs.pipeline",)
"""Modules the forkserver imports once; every local worker is forked from it with them
loaded, so a new pool's workers start in milliseconds, not about 3 s each (measured on
the 2-core machine, 2 December 2026): a worker's death starts a new pool."""


def worker_context() -> Any:
    """The multiprocessing context of local workers: the forkserver on POSIX (a clean,
    single-threaded parent to fork from, whatever threads this process runs), with
    :data:`FORKSERVER_PRELOAD`; spawn elsewhere. The preload takes effect when this
    process's forkserver starts (once)."""
    if os.name != "posix":
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(FORKSERVER_PRELOAD))
    return ctx


def _run_local(
    plan: Plan,
    todo: list[Task],
    folder: Path,
    workers: int,
    retries: int,
    progress: Progress,
    task_fn: TaskFunction,
    tally: _Tally,
) -> None:
    """Run on local processes.

    When a worker dies the pool breaks and every unfinished task comes back. Those that
    were running (their marker file is there: the one that killed its worker, and the
    ones the pool then stopped) are suspects; the others go on in a new pool of full
    width, until none is left. The suspects are then run one at a time, each in a pool
    of its own, so that a task that kills its worker is the one blamed: it is tried
    ``retries`` more times after its first death alone; once every other suspect has
    had its own tries, the batch stops naming it. A pool
    that breaks with no task running (a worker killed between tasks) is started again,
    up to ``retries`` times."""
    if workers == 0:  # in-process, for debugging and notebooks
        for task in todo:
            task_id, seconds = _local_entry(plan, task, str(folder), task_fn)
            tally.seconds[task_id] = seconds
            progress(1, 0)
        return
    ctx = worker_context()

    def run_pool(tasks: list[Task], width: int) -> list[Task]:
        return _run_pool(plan, tasks, folder, width, ctx, progress, task_fn, tally)

    suspects = _run_at_full_width(todo, folder, workers, retries, run_pool)
    _run_suspects_alone(suspects, retries, run_pool, progress, tally)


_PoolRun = Callable[[list[Task], int], list[Task]]
"""Runs tasks on a fresh pool of that many local workers and returns those whose pool
broke under them (:func:`_run_pool`, the rest of its arguments given)."""


def _run_at_full_width(
    todo: list[Task], folder: Path, workers: int, retries: int, run_pool: _PoolRun
) -> list[Task]:
    """Run ``todo`` in pools of ``workers``, a new pool each time one breaks, until every
    task is done or a suspect; returns the suspects (the tasks that were running when a
    pool broke) in plan order. Stops the batch when pools break with no task running
    more than ``retries`` times."""
    pending: list[Task] = list(todo)
    suspects: list[Task] = []
    idle_deaths = 0
    while pending:
        broken = run_pool(pending, workers)
        running = [t for t in broken if _marker_path(folder, t).exists()]
        if broken and not running:
            idle_deaths += 1
            if idle_deaths > retries:
                raise BatchError(
                    f"worker processes died {idle_deaths} times while running no task; "
                    "the batch stops. Finished tasks are kept."
                )
        for task in running:
            _marker_path(folder, task).unlink(missing_ok=True)
        suspects.extend(running)
        pending = [t for t in broken if t not in running]
    suspects.sort(key=todo.index)  # plan order, not the order the pool happened to break in
    return suspects


def _run_suspects_alone(
    suspects: list[Task], retries: int, run_pool: _PoolRun, progress: Progress, tally: _Tally
) -> None:
    """Run each suspect alone, in a pool of one worker, until it finishes or has killed
    its worker ``retries`` + 1 times; then stop the batch naming those that never
    finished."""
    # Every suspect gets its own tries before the batch stops: a task that shared the
    # pool with a killer must not be left undone because the killer came first.
    killers: list[tuple[Task, int]] = []
    for task in suspects:
        tally.isolated += 1
        deaths = 0
        while deaths <= retries:
            progress(0, 1)
            if not run_pool([task], 1):
                break
            deaths += 1
        else:
            killers.append((task, deaths))
    if killers:
        named = ", ".join(
            f"task {task.id} stopped its worker process {n} times" for task, n in killers
        )
        raise BatchError(
            f"{named} when run alone (killed or crashed); the batch stops. Finished tasks are kept."
        )


def _run_dask(
    plan: Plan,
    todo: list[Task],
    folder: Path,
    scheduler: str,
    retries: int,
    progress: Progress,
    task_fn: TaskFunction,
    tally: _Tally,
) -> None:
    """Run on a dask.distributed cluster; this process writes the task files.

    The scheduler itself reruns a task whose worker died, until the task has been on
    ``distributed.scheduler.allowed-failures`` + 1 dying workers (the scheduler's
    setting, 3 by default); it then gives up on it (``KilledWorker``). Each such
    attempt is counted here and the task is submitted again as a new attempt (a new
    key), ``retries`` times; once the other tasks have finished, the batch stops
    naming it."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = _dask_client(scheduler)
    attempts = _DaskAttempts(client, plan, task_fn)
    killers: list[Task] = []
    with client:
        if any(runs_des(plan, t) for t in todo):
            # every worker compiles (or loads its cache) before its first task, so that
            # no task's time includes a compilation (the workers' own disks and caches)
            client.run(prepare_engine, des_engine(plan))
        running = as_completed([attempts.submit(t) for t in todo])
        for fut in running:
            task = attempts.task_of(fut)
            try:
                task_id, blob, seconds = fut.result()
            except KilledWorker:
                if attempts.made[task.id] > retries:
                    killers.append(task)  # the others still finish before the batch stops
                    continue
                progress(0, 1)
                running.add(attempts.submit(task))
                continue
            except Exception as exc:
                raise _dask_failure(fut, task, exc, scheduler, folder) from None
            atomic_write_bytes(_task_path(folder, task), blob)
            tally.seconds[task_id] = seconds
            progress(1, 0)
    if killers:
        raise _killed_dask_workers(killers, retries)


def _killed_dask_workers(killers: list[Task], retries: int) -> BatchError:
    """Why the batch stops when ``killers`` killed their dask workers in every attempt."""
    named = ", ".join(f"task {task.id}" for task in killers)
    return BatchError(
        f"{named} killed its dask worker in each of {retries + 1} attempts (the "
        "scheduler allows each attempt distributed.scheduler.allowed-failures worker "
        "deaths before giving up); the batch stops. Finished tasks are kept."
    )


def _dask_client(scheduler: str) -> Any:
    """A client of the dask scheduler at ``scheduler``, or a ScenarioError if none answers."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="20s")
    except OSError as exc:
        raise ScenarioError(
            None, "--scheduler", scheduler, f"no dask scheduler answered: {exc}"
        ) from None


class _DaskAttempts:
    """The attempts at a plan's tasks submitted to a dask cluster: each under a key of
    its own, so that the scheduler takes a task submitted again for new work."""

    def __init__(self, client: Any, plan: Plan, task_fn: TaskFunction) -> None:
        self.client, self.plan, self.task_fn = client, plan, task_fn
        self.fingerprint = plan.fingerprint()
        self.made: dict[str, int] = {}
        """Task id -> attempts submitted."""
        self.by_key: dict[str, Task] = {}
        """Key of each attempt not yet seen back -> its task."""

    def submit(self, task: Task) -> Any:
        self.made[task.id] = self.made.get(task.id, 0) + 1
        # the plan's fingerprint keeps apart two batches sharing a cluster and task ids
        key = f"hrsim-{self.fingerprint}-{task.id}-a{self.made[task.id]}"
        self.by_key[key] = task
        return self.client.submit(_remote_entry, self.plan, task, self.task_fn, key=key, pure=False)

    def task_of(self, fut: Any) -> Task:
        """The task of an attempt that has ended (forgotten from then on)."""
        return self.by_key.pop(fut.key)


def _dask_failure(fut: Any, task: Task, exc: Exception, scheduler: str, folder: Path) -> BatchError:
    """Why the batch stops when ``task``'s attempt ``fut`` ended in ``exc`` (no worker
    death): the cluster lost it, or the task itself failed (logged in errors.log)."""
    if fut.status != "error":  # cancelled or lost: the cluster, not the task
        return BatchError(
            f"the dask cluster at {scheduler} lost task {task.id} "
            f"({type(exc).__name__}: {exc}); the batch stops. "
            "Finished tasks are kept."
        )
    return _task_failed(folder, task, exc)


def _log_failure(folder: Path, task: Task, exc: BaseException) -> None:
    with (folder / ERRORS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(f"--- task {task.id} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.write("".join(traceback.format_exception(exc)))


# ------------------------------------------------------------------ combine
def combine(folder: Path, plan: Plan) -> xr.Dataset:
    """One Dataset with dims (scenario, point, replicate, ...) from the task files."""
    per_scenario = []
    for name in plan.scenarios:
        per_point = []
        for p in range(len(plan.points[name])):
            reps = []
            for r in plan.replicates:
                path = _task_path(folder, Task(name, p, r, plan.seed))
                ds_task = load_task(path)
                if ds_task is None:
                    raise BatchError(f"task file {path} is unreadable; rerun to recompute it")
                reps.append(ds_task)
            per_point.append(
                xr.concat(
                    reps,
                    dim=names.REPLICATE,
                    coords="minimal",
                    join="outer",
                    combine_attrs="override",
                )
            )
        per_scenario.append(xr.concat(per_point, dim="point", combine_attrs="override"))
    ds = xr.concat(per_scenario, dim=names.SCENARIO, combine_attrs="override")
    ds = ds.assign_coords(
        {
            names.SCENARIO: list(plan.scenarios),
            names.REPLICATE: plan.replicates,
            "point": list(range(ds.sizes["point"])),
        }
    )
    labels = [plan.scenarios[n].get("label") or n for n in plan.scenarios]
    ds = ds.assign_coords(scenario_label=(names.SCENARIO, labels))
    if all(len(v) == 1 for v in plan.points.values()):
        ds = ds.squeeze("point", drop=True)
    else:
        ds = ds.assign(sweep_value=_point_values(plan))
    ds.attrs = {
        "title": "Longgang health-resource simulation batch",
        "seed": plan.seed,
        "plan_fingerprint": plan.fingerprint(),
    }
    return describe(ds)


def _point_values(plan: Plan) -> xr.DataArray:
    """The value each sweep point gives each swept key, dims (scenario, point,
    sweep_parameter): numbers as floats (NaN where a point leaves the key alone),
    anything else (a grid of names) as text."""
    keys = sorted({k for pts in plan.points.values() for point in pts for k in point})
    n_points = max(len(pts) for pts in plan.points.values())
    cells = [
        [[pts[i].get(k) if i < len(pts) else None for k in keys] for i in range(n_points)]
        for pts in (plan.points[n] for n in plan.scenarios)
    ]
    flat = [v for sc in cells for row in sc for v in row if v is not None]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat)
    data = (
        np.array([[[np.nan if v is None else v for v in row] for row in sc] for sc in cells])
        if numeric
        else np.array([[["" if v is None else str(v) for v in row] for row in sc] for sc in cells])
    )
    return xr.DataArray(
        data,
        dims=(names.SCENARIO, "point", "sweep_parameter"),
        coords={"sweep_parameter": keys},
        attrs={
            "long_name": "value of each swept scenario key at each sweep point",
            "units": "those of the key (scenarios/README.md)",
        },
    )


# ------------------------------------------------------------------ the batch
@dataclass
class BatchResult:
    folder: Path
    dataset: xr.Dataset
    computed: int
    reused: int
    seconds: float
    isolated: int = 0
    """Tasks run alone (local processes) because a worker died while they were running."""
    compile_seconds: float | None = None
    """Seconds the compiled DES engine took to compile or load its cache before the tasks
    (not in ``seconds``); None when no task of this run needed it."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _earlier_runs(folder: Path, plan: Plan) -> list[dict[str, Any]]:
    """The ``runs`` of the folder's manifest if it is of this plan (else none)."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict) or manifest.get("plan_fingerprint") != plan.fingerprint():
        return []
    runs = manifest.get("runs")
    return list(runs) if isinstance(runs, list) else []


@contextlib.contextmanager
def _stop_on_signals(folder: Path, plan: Plan) -> Iterator[None]:
    """While a batch runs into ``folder``: SIGINT and SIGTERM raise :class:`_Stopped`
    in the main thread (the pools stop their workers on its way out); then the partial
    files are removed, one line on standard error says what is kept and how to resume, and
    :class:`BatchInterrupted` is raised. The earlier handlers are back afterwards. Not done
    outside the main thread, where Python cannot handle signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    earlier = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    try:
        yield
    except _Stopped as stop:
        clean_temporaries(folder)
        _say(
            f"{folder}: stopped by {signal.Signals(stop.signum).name}; "
            f"{_kept(folder, plan)}; run the same command again to resume"
        )
        raise BatchInterrupted(stop.signum) from None
    finally:
        for signum, handler in earlier.items():  # None: a handler not set from Python
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def _stop_on_disk_faults(folder: Path, plan: Plan) -> Iterator[None]:
    """A write into ``folder`` that fails while the batch runs (the disk filled, the
    folder became read-only) stops it with a :class:`BatchError` in one line: which
    file, why, how many tasks are kept (their files are whole: every write is atomic)
    and what to do. The temporary files are removed where the disk still lets us."""
    try:
        yield
    except OSError as exc:
        if not _writing_into(folder, exc):
            raise
        with contextlib.suppress(OSError):
            clean_temporaries(folder)
        where = Path(os.fspath(exc.filename)).resolve().relative_to(folder.resolve())
        remedy = (
            "free some space"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "make the folder writable"
        )
        raise BatchError(
            f"cannot write {where}: {exc.strerror}; {_kept(folder, plan)}; "
            f"{remedy} and run the same command again to resume"
        ) from None


def _kept(folder: Path, plan: Plan) -> str:
    """How many of the plan's task files are in ``folder``, for a stopped batch's line."""
    tasks = plan.tasks()
    kept = sum(_task_path(folder, t).exists() for t in tasks)
    return f"{kept} of {len(tasks)} tasks are done and kept"


def _raise_stopped(signum: int, frame: Any) -> None:
    for other in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
        signal.signal(other, signal.SIG_IGN)
    raise _Stopped(signum)


def _say(line: str) -> None:
    """One line on standard error, above a progress bar if one is drawn there."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def run_batch(
    plan: Plan,
    folder: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    retries: int = DEFAULT_RETRIES,
    progress: Progress | None = None,
    task_fn: TaskFunction = run_task,
    on_start: Callable[[int, int], None] | None = None,
    extra_manifest: dict[str, Any] | None = None,
    on_compile: Callable[[float], None] | None = None,
) -> BatchResult:
    """Run (or resume) a batch into ``folder`` and return the combined Dataset.

    ``workers=0`` runs in this process; ``scheduler="tcp://host:port"`` sends the
    tasks to a dask.distributed cluster instead of local processes (its workers need
    not see ``folder``). ``progress`` is called with (tasks finished, tasks retried)
    increments; ``on_start`` with (tasks to compute, tasks reused from an earlier run)
    before work starts. Only one run at a time may use a folder: a second one fails
    with a ScenarioError before any work. SIGINT or SIGTERM (in the main thread) stops
    the run and raises :class:`BatchInterrupted` (a SystemExit) once finished task files
    are kept and partial ones removed. The DES engine is compiled first where needed
    (``on_compile``: see :func:`_compile_engine`); the folder's ``manifest.json`` is
    described at :func:`_manifest`."""
    start = time.perf_counter()
    started = _now()
    out = Path(folder)
    check_writable(out / TASKS_DIR)
    with _exclusive(out), _stop_on_signals(out, plan), _stop_on_disk_faults(out, plan):
        earlier = _earlier_runs(out, plan)
        todo, reused = _prepare_folder(out, plan)
        compile_seconds = _compile_engine(plan, todo, on_compile)
        if on_start is not None:
            on_start(len(todo), reused)
        tally = _run_tasks(plan, todo, out, workers, scheduler, retries, progress, task_fn)
        clean_temporaries(out)  # of writes stopped when a worker died
        ds = combine(out, plan)
        save_dataset(ds, out / RESULTS_FILE)
        seconds = time.perf_counter() - start - (compile_seconds or 0.0)
        run = _Run(
            started=started,
            finished=_now(),
            computed=len(todo),
            reused=reused,
            isolated=tally.isolated,
            workers=workers,
            scheduler=scheduler,
            engine=des_engine(plan),
            des_compile_seconds=None if compile_seconds is None else round(compile_seconds, 3),
        )
        fields = _manifest(plan, run, seconds, tally.seconds, earlier, extra_manifest)
        save_manifest(out, provenance(**fields))
    return BatchResult(out, ds, len(todo), reused, seconds, tally.isolated, compile_seconds)


def _prepare_folder(out: Path, plan: Plan) -> tuple[list[Task], int]:
    """Write the plan into ``out`` and remove what an interrupted run left there; return
    the plan's tasks without a good file (see :func:`task_is_done`), the ones with the
    DES first, and how many have one (reused). Refused if the disk cannot hold their
    files and results.nc."""
    plan_text = json.dumps(plan.to_json(), indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(out / PLAN_FILE, (plan_text + "\n").encode("utf-8"))
    clean_temporaries(out)
    tasks = plan.tasks()
    todo = [t for t in tasks if not task_is_done(out, plan, t)]
    # the long tasks (with the DES) first, so that short ones fill the gaps at the end
    todo.sort(key=lambda t: not runs_des(plan, t))
    # the task files still to write, then results.nc (at most their size again)
    kinds = ["des" if runs_des(plan, t) else "expected" for t in todo]
    check_space(out, 2 * sum(TASK_FILE_BYTES[k] for k in kinds))
    return todo, len(tasks) - len(todo)


def _compile_engine(
    plan: Plan, todo: list[Task], on_compile: Callable[[float], None] | None
) -> float | None:
    """When tasks with the DES on the compiled engine are to be computed, this process
    first compiles the engine (or loads numba's cache; :func:`sim.runs.pipeline.prepare_engine`)
    so that the workers load the cache; returns its seconds (None when no compilation was
    needed), with which ``on_compile`` is called, before ``on_start``. That time is in the
    manifest as ``des_compile_seconds`` and in this run's entry of ``runs``, never in
    ``seconds`` nor in ``task_seconds``."""
    compile_seconds = None
    if any(runs_des(plan, t) for t in todo):
        compile_seconds = prepare_engine(des_engine(plan))
    if compile_seconds is not None and on_compile is not None:
        on_compile(compile_seconds)
    return compile_seconds


def _run_tasks(
    plan: Plan,
    todo: list[Task],
    out: Path,
    workers: int,
    scheduler: str | None,
    retries: int,
    progress: Progress | None,
    task_fn: TaskFunction,
) -> _Tally:
    """Compute ``todo`` on the dask cluster at ``scheduler`` if given, else on local
    processes (see :func:`run_batch`); returns what the executor measured."""
    tally = _Tally()
    report = progress or (lambda done, retried: None)
    if todo and scheduler:
        _run_dask(plan, todo, out, scheduler, retries, report, task_fn, tally)
    elif todo:
        _run_local(plan, todo, out, workers, retries, report, task_fn, tally)
    return tally


@dataclass(frozen=True)
class _Run:
    """One run of a plan into a batch folder: its entry in the manifest's ``runs``."""

    started: str
    finished: str
    computed: int
    reused: int
    isolated: int
    workers: int
    scheduler: str | None
    engine: str
    des_compile_seconds: float | None


def _manifest(
    plan: Plan,
    run: _Run,
    seconds: float,
    task_seconds: dict[str, float],
    earlier: list[dict[str, Any]],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the folder's ``manifest.json`` holds besides the provenance: the plan, the run
    plan rows (``run_plan``), this run's ``started`` and ``finished`` times (UTC),
    ``task_seconds`` (wall seconds of each task computed in this run, measured in the
    worker), ``seconds`` (this run's wall time, the compilation left out) and ``runs``:
    one entry per run of this plan into the folder that finished, the ``earlier`` ones
    then ``run`` (``extra`` keys, :func:`run_batch`'s ``extra_manifest``, are added last
    and win)."""
    return {
        "kind": "batch",
        "seed": plan.seed,
        "plan_fingerprint": plan.fingerprint(),
        "scenarios": plan.scenarios,
        "points": plan.points,
        "replicates": plan.replicates,
        "options": plan.options,
        "tables": plan.tables,
        "tasks": len(plan.tasks()),
        "computed": run.computed,
        "reused": run.reused,
        "workers": run.workers,
        "scheduler": run.scheduler,
        "started": run.started,
        "finished": run.finished,
        "seconds": round(seconds, 3),
        "des_compile_seconds": run.des_compile_seconds,
        "task_seconds": {k: round(v, 3) for k, v in sorted(task_seconds.items())},
        "runs": [*earlier, asdict(run)],
        "run_plan": list(plan_tasks(plan)),
        **(extra or {}),
    }


def plan_tasks(plan: Plan) -> Iterable[dict[str, Any]]:
    """The run plan as rows (scenario, point, replicate, seed) for the manifest and CSV."""
    for t in plan.tasks():
        yield {
            "task": t.id,
            "scenario": t.scenario,
            "point": t.point,
            "replicate": t.replicate,
            "seed": t.seed,
        }
