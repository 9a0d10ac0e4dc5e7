"""Batches: plan tasks, run them on local processes or a dask cluster, resume, combine.

A batch is every (scenario, sweep point, replicate) of a run plan. Each task is
computed independently from its own seeds (see :mod:`sim.rng`) and written to
``<batch>/tasks/<task id>.nc`` atomically (temporary file, then rename), so

* the same seed gives the same numbers for any number of workers, local or remote;
* rerunning an interrupted batch computes only the missing tasks; a partial or
  corrupt task file (or one from another plan) is detected and recomputed;
* a worker that dies mid-task is retried a bounded number of times, then the batch
  stops naming the task; it never hangs.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from sim import names
from sim.errors import ScenarioError
from sim.pipeline import run_replicate_all
from sim.scenario import Scenario, draw, load_dict
from sim.scenario.sweep import apply_point
from sim.store import (
    atomic_write_bytes,
    check_writable,
    load_task,
    provenance,
    save_dataset,
    save_manifest,
    save_task,
)

TASKS_DIR = "tasks"
RESULTS_FILE = "results.nc"
TASK_SUFFIX = ".task"
"""Task files: a checksummed binary Dataset (see ``sim.store.save_task``)."""
PLAN_FILE = "plan.json"
DEFAULT_RETRIES = 2
"""Times a task whose worker died is tried again before the batch stops."""


class BatchError(Exception):
    """A batch that cannot go on (a task failed, or kept killing its worker)."""


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
    """What each task computes (levels, DES replicates, end year...)."""

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
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_plan(
    scenarios: Sequence[Scenario],
    replicates: int,
    seed: int,
    points: dict[str, list[dict[str, Any]]] | None = None,
    options: dict[str, Any] | None = None,
) -> Plan:
    """A run plan over ``scenarios`` × sweep points × replicates 0..replicates-1."""
    if replicates < 1:
        raise ScenarioError(None, "--replicates", replicates, "must be a whole number >= 1")
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise ScenarioError(None, "name", sc.name, "two scenarios in one batch share this name")
        seen.add(sc.name)
    pts = {sc.name: (points or {}).get(sc.name, [{}]) for sc in scenarios}
    return Plan(
        scenarios={sc.name: sc.model_dump(mode="json") for sc in scenarios},
        points=pts,
        replicates=list(range(replicates)),
        seed=seed,
        options=dict(options or {}),
    )


# ------------------------------------------------------------------ what a task does
def task_scenario(plan: Plan, task: Task) -> Scenario:
    """The validated scenario of a task (its sweep point applied), not yet drawn."""
    raw = apply_point(plan.scenarios[task.scenario], plan.points[task.scenario][task.point])
    return load_dict(raw, file=f"{task.scenario} (sweep point {task.point})")


def runs_des(plan: Plan, task: Task) -> bool:
    """Whether the task runs the DES (replicates below the ``des_replicates`` option)."""
    des_replicates = plan.options.get("des_replicates")
    return des_replicates is None or task.replicate < int(des_replicates)


def run_task(plan: Plan, task: Task) -> xr.Dataset:
    """Compute one task: projection, expected level and, for replicates below the plan's
    ``des_replicates`` option (default: all), the discrete-event model."""
    sc = draw(task_scenario(plan, task), task.replicate, task.seed)
    return run_replicate_all(sc, task.seed, task.replicate, des=runs_des(plan, task))


TaskFunction = Callable[[Plan, Task], xr.Dataset]


def _task_entry(plan: Plan, task: Task, path: str, task_fn: TaskFunction = run_task) -> str:
    """Worker-side: compute and write one task file; returns the task id."""
    ds = task_fn(plan, task)
    ds.attrs.update({"task_id": task.id, "plan_fingerprint": plan.fingerprint()})
    save_task(ds, Path(path))
    return task.id


# ------------------------------------------------------------------ resume
def _task_path(folder: Path, task: Task) -> Path:
    return folder / TASKS_DIR / f"{task.id}{TASK_SUFFIX}"


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
    """Remove temporary files left by an interrupted write; returns how many."""
    n = 0
    for tmp in (folder / TASKS_DIR).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        n += 1
    return n


# ------------------------------------------------------------------ executors
Progress = Callable[[int, int], None]


def _run_pool(
    plan: Plan,
    tasks: list[Task],
    folder: Path,
    workers: int,
    ctx: Any,
    progress: Progress,
    task_fn: TaskFunction,
) -> list[Task]:
    """Run tasks on a fresh process pool; return those whose pool broke under them."""
    unfinished: list[Task] = []
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {
            pool.submit(_task_entry, plan, t, str(_task_path(folder, t)), task_fn): t for t in tasks
        }
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                fut.result()
                progress(1, 0)
            except BrokenProcessPool:
                if task_is_done(folder, plan, task):  # it finished before the pool broke
                    progress(1, 0)
                else:
                    unfinished.append(task)
            except Exception as exc:
                _log_failure(folder, task, exc)
                raise BatchError(
                    f"task {task.id} failed: {type(exc).__name__}: {exc} "
                    f"(details in {folder / 'errors.log'})"
                ) from None
    return unfinished


def _run_local(
    plan: Plan,
    todo: list[Task],
    folder: Path,
    workers: int,
    retries: int,
    progress: Progress,
    task_fn: TaskFunction,
) -> None:
    """Run on local processes. When a worker dies, every task it may have been running
    is a suspect; suspects are then run one at a time in a pool of their own, so the
    task that kills its worker is the one blamed, after ``retries`` further tries."""
    if workers == 0:  # in-process, for debugging and notebooks
        for task in todo:
            _task_entry(plan, task, str(_task_path(folder, task)), task_fn)
            progress(1, 0)
        return
    ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
    suspects = _run_pool(plan, todo, folder, workers, ctx, progress, task_fn)
    deaths = {t.id: 0 for t in suspects}
    while suspects:
        task = suspects.pop(0)
        progress(0, 1)
        if _run_pool(plan, [task], folder, 1, ctx, progress, task_fn):
            deaths[task.id] += 1
            if deaths[task.id] > retries:
                raise BatchError(
                    f"task {task.id} stopped its worker process {deaths[task.id]} times "
                    "(killed or crashed); the batch stops. Finished tasks are kept."
                )
            suspects.append(task)


def _run_dask(
    plan: Plan,
    todo: list[Task],
    folder: Path,
    scheduler: str,
    retries: int,
    progress: Progress,
    task_fn: TaskFunction,
) -> None:
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise ScenarioError(
            None, "--scheduler", scheduler, f"no dask scheduler answered: {exc}"
        ) from None
    with client:
        futures = [
            client.submit(
                _task_entry,
                plan,
                t,
                str(_task_path(folder, t)),
                task_fn,
                key=f"hrsim-{t.id}",
                pure=False,
                retries=0,
            )
            for t in todo
        ]
        by_key = {f.key: t for f, t in zip(futures, todo, strict=True)}
        for fut in as_completed(futures):
            task = by_key[fut.key]
            try:
                fut.result()
                progress(1, 0)
            except KilledWorker:
                raise BatchError(
                    f"task {task.id} killed its dask worker {retries + 1} times or more; "
                    "the batch stops. Finished tasks are kept."
                ) from None
            except Exception as exc:
                _log_failure(folder, task, exc)
                raise BatchError(f"task {task.id} failed: {type(exc).__name__}: {exc}") from None


def _log_failure(folder: Path, task: Task, exc: BaseException) -> None:
    with (folder / "errors.log").open("a", encoding="utf-8") as fh:
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
    ds.attrs = {
        "title": "Longgang health-resource simulation batch",
        "seed": plan.seed,
        "plan_fingerprint": plan.fingerprint(),
        "conventions": "CF-1.8",
    }
    return ds


# ------------------------------------------------------------------ the batch
@dataclass
class BatchResult:
    folder: Path
    dataset: xr.Dataset
    computed: int
    reused: int
    seconds: float


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
) -> BatchResult:
    """Run (or resume) a batch into ``folder`` and return the combined Dataset.

    ``workers=0`` runs in this process; ``scheduler="tcp://host:port"`` sends the
    tasks to a dask.distributed cluster instead of local processes. ``progress`` is
    called with (tasks finished, tasks retried) increments; ``on_start`` with (tasks to
    compute, tasks reused from an earlier run) before work starts."""
    start = time.perf_counter()
    out = Path(folder)
    check_writable(out / TASKS_DIR)
    plan_path = out / PLAN_FILE
    plan_text = json.dumps(plan.to_json(), indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(plan_path, (plan_text + "\n").encode("utf-8"))
    clean_temporaries(out)
    tasks = plan.tasks()
    todo = [t for t in tasks if not task_is_done(out, plan, t)]
    reused = len(tasks) - len(todo)
    # the long tasks (with the DES) first, so that short ones fill the gaps at the end
    todo.sort(key=lambda t: not runs_des(plan, t))
    report = progress or (lambda done, retried: None)
    if on_start is not None:
        on_start(len(todo), reused)
    if todo:
        if scheduler:
            _run_dask(plan, todo, out, scheduler, retries, report, task_fn)
        else:
            _run_local(plan, todo, out, workers, retries, report, task_fn)
    ds = combine(out, plan)
    seconds = time.perf_counter() - start
    save_dataset(ds, out / RESULTS_FILE)
    save_manifest(
        out,
        provenance(
            kind="batch",
            seed=plan.seed,
            plan_fingerprint=plan.fingerprint(),
            scenarios=plan.scenarios,
            points=plan.points,
            replicates=plan.replicates,
            options=plan.options,
            tasks=len(tasks),
            computed=len(todo),
            reused=reused,
            workers=workers,
            scheduler=scheduler,
            seconds=round(seconds, 3),
            **(extra_manifest or {}),
        ),
    )
    return BatchResult(out, ds, len(todo), reused, seconds)


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
