"""Task functions for batch tests; importable by worker processes (local and dask)."""

from __future__ import annotations

import builtins
import io
import os
import time
from pathlib import Path
from typing import Any

import xarray as xr

from sim.runs.batch import Plan, Task, run_task

CRASH_TASK_ENV = "HRSIM_TEST_CRASH_TASK"


def slow_task(plan: Plan, task: Task) -> xr.Dataset:
    """The real task, slowed down so that a test can interrupt a batch part-way."""
    time.sleep(float(plan.options.get("sleep", 0.4)))
    return run_task(plan, task)


def _first_to_create(path: str) -> bool:
    """Creates the file at ``path``; False if it was already there (atomic, so that
    exactly one try of one process sees True)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def crashing_task(plan: Plan, task: Task) -> xr.Dataset:
    """Kills its own worker process (no Python exception, no clean-up) on one task.

    With ``started_flag`` (a path that must not exist before the batch), the first
    other task to start creates that file and then waits to be stopped (at most a
    minute), and the killer waits for the file before it dies: that task is surely
    running when the worker dies, whatever the order and speed in which the workers
    start. Later tries of that task find the file and run at once."""
    flag = plan.options.get("started_flag")
    if task.id == plan.options["crash"]:
        deadline = time.monotonic() + 60.0
        while flag and not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.05)
        os._exit(13)
    if flag and _first_to_create(flag):
        time.sleep(60.0)  # the pool stops this process when the killer's worker dies
    return run_task(plan, task)


def crash_once_task(plan: Plan, task: Task) -> xr.Dataset:
    """Kills its worker on the first try of the ``crash_once`` task only: that try
    creates the file ``crash_flag`` (which must not exist before the batch)."""
    if task.id == plan.options["crash_once"] and _first_to_create(plan.options["crash_flag"]):
        os._exit(13)
    return run_task(plan, task)


def _refuse_under(folder: Path, opener: Any) -> Any:
    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(os.fspath(file)).resolve().is_relative_to(
            folder
        ):
            raise PermissionError(f"this worker cannot see {folder} (test: no shared disk)")
        return opener(file, *args, **kwargs)

    return guarded


def no_disk_task(plan: Plan, task: Task) -> xr.Dataset:
    """The real task, in a worker process that from now on cannot open any file under
    ``no_disk`` (as a worker on another host without the client's disk): ``os.open``
    (temporary files, ``Path.touch``) and ``open`` refuse such paths."""
    folder = Path(plan.options["no_disk"]).resolve()
    if not getattr(os, "_hrsim_no_disk", False):
        os.open = _refuse_under(folder, os.open)
        io.open = _refuse_under(folder, io.open)
        builtins.open = _refuse_under(folder, builtins.open)
        os._hrsim_no_disk = True
    return run_task(plan, task)


STARTS_DIR_ENV = "HRSIM_TEST_STARTS_DIR"
"""Folder in which :func:`recorded_slow_task` records each start and end of a task (set
in the environment of the processes that run the tasks: a dask cluster's workers
inherit it from the process that starts the cluster, whatever the plan)."""


def _record(task: Task, event: str) -> None:
    folder = os.environ.get(STARTS_DIR_ENV)
    if folder:  # one short appended line: a single write, never seen half-written
        with open(os.path.join(folder, task.id), "a", encoding="ascii") as fh:
            fh.write(f"{event} {os.getpid()} {time.time()!r}\n")


def recorded_slow_task(plan: Plan, task: Task) -> xr.Dataset:
    """:func:`slow_task` that appends ``start <pid> <time>`` to the file named by the task's
    id in the folder :data:`STARTS_DIR_ENV` as it starts, and ``end <pid> <time>`` once it
    has its result: a test knows which process is running a task (to kill it mid-task),
    and when each try started and whether it ended. The numbers are those of run_task."""
    _record(task, "start")
    ds = slow_task(plan, task)
    _record(task, "end")
    return ds
