"""Task functions for batch tests; importable by worker processes (local and dask)."""

from __future__ import annotations

import os
import time

import xarray as xr

from sim.batch import Plan, Task, run_task

CRASH_TASK_ENV = "HRSIM_TEST_CRASH_TASK"


def slow_task(plan: Plan, task: Task) -> xr.Dataset:
    """The real task, slowed down so that a test can interrupt a batch part-way."""
    time.sleep(float(plan.options.get("sleep", 0.4)))
    return run_task(plan, task)


def crashing_task(plan: Plan, task: Task) -> xr.Dataset:
    """Kills its own worker process (no Python exception, no clean-up) on one task."""
    if task.id == plan.options["crash"]:
        os._exit(13)
    return run_task(plan, task)
