"""The command line; the only module that prints.

Bad input (scenario, sweep, data table, results folder) ends with one line on
standard error naming file, key, value and what is allowed, and exit status 2.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import os
import re
import subprocess
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from sim.app.api import default_batch_folder
from sim.base import names
from sim.base.errors import ScenarioError, printable
from sim.data import DemographicTables, load_demographic_tables
from sim.model.demography import project_replicates
from sim.present.plots import plot_pyramid
from sim.runs import batch
from sim.runs.pipeline import DEFAULT_ENGINE, DES_PREFIX, ENGINES
from sim.runs.store import check_writable, provenance, save_dataset, save_manifest
from sim.scenario import Scenario, load
from sim.scenario.model import SEED_ALLOWED, is_seed
from sim.scenario.sweep import Sweep, load_sweep, parse_output

ROOT = Path(__file__).resolve().parents[2]
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
"""Work that could not finish (a task failed, a disk filled); what is done is kept."""

# Rough memory per unit of work, for refusing before any work a count the machine
# cannot hold (measured on the shipped baseline, 2025-2030, and rounded up for longer
# horizons, the DES and the copies made when results are combined):
PROJECTION_BYTES = 250_000
"""One replicate of ``project`` (its dataset: 56 kB)."""
EXPECTED_BYTES = 600_000
"""One replicate of ``expected`` (its dataset: 144 kB)."""
TASK_BYTES = 2_000_000
"""One task of a batch (its dataset: 0.32 MB at the expected level; all are held in
memory, and copied, when results.nc is combined)."""
WORKER_BYTES = 300_000_000
"""One local worker process (the interpreter, numpy, scipy, xarray and a task)."""
DES_WORKER_BYTES = 1_600_000_000
"""One local worker process that runs the DES: a district replicate peaks at 1.05-1.12
GiB, and a worker that keeps its freed heap for the next task (``sim.runs.memory``) at
1.4-1.5 GiB (``benchmarks/bench_memory.py``, README, Performance)."""


def _tables_for(sc: Scenario) -> DemographicTables:
    """The demographic tables the scenario's ``[data]`` names (checked)."""
    return load_demographic_tables(sc.data.model_dump())


def _load_for_service(file: str | Path) -> Scenario:
    """A scenario for the expected level or the DES, whose days are shaped by the
    holiday calendar: a run past its last year is refused before any work (the
    projection alone, ``project``, runs to 2050)."""
    from sim.data.profiles import load_holidays

    sc = load(file)
    calendar = load_holidays()
    if sc.run.end_year > calendar.last_year:
        raise ScenarioError(
            file,
            "run.end_year",
            sc.run.end_year,
            f"at most {calendar.last_year} for demand and the DES: the holiday calendar "
            f"(sim/data/holidays.csv) covers {calendar.first_year}-{calendar.last_year}; "
            "run.py project runs to 2050",
        )
    return sc


def cmd_validate(args: argparse.Namespace) -> int:
    for file in args.files:
        sc = load(file)
        _tables_for(sc)
        # the label is the user's text: escaped, so it cannot drive the terminal
        print(printable(f"ok  {file}  ({sc.name}: {sc.label or 'no label'})"))
    return 0


def _available_memory() -> int | None:
    """Bytes of memory available to new work (``MemAvailable`` of /proc/meminfo), or
    None where there is no such file (then nothing is refused)."""
    try:
        text = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def _check_memory(
    file: str | None, key: str, value: int, units: int, bytes_each: int, what: str
) -> None:
    """Refuse ``units`` of work (``key = value`` asks for them, e.g. ``--replicates``)
    whose estimated memory exceeds what the machine has available."""
    available = _available_memory()
    need = units * bytes_each
    if available is not None and need > available:
        raise ScenarioError(
            file,
            key,
            value,
            f"{what} would need about {_gib(need)} GiB of memory "
            f"({bytes_each / 1e6:g} MB each); {available / 2**30:,.1f} GiB is available",
        )


def _gib(n: int) -> str:
    """``n`` bytes in GiB for a message; a count too large for a float (``--replicates``
    with 400 digits) is shown as a power of ten instead of raising OverflowError."""
    try:
        return f"{n / 2**30:,.1f}"
    except OverflowError:
        return f"10^{len(str(n // 2**30)) - 1}"


def _replicates(n: int, bytes_each: int) -> list[int]:
    """Replicates 0..n-1 of a one-scenario command, checked (count and memory)."""
    if n < 1:
        raise ScenarioError(None, "--replicates", n, "must be a whole number >= 1")
    _check_memory(None, "--replicates", n, n, bytes_each, f"{n:,} replicates")
    return list(range(n))


def _seed(option: int | None, default: int) -> int:
    """The root seed: ``--seed`` if given (checked like ``run.seed``), else ``default``."""
    if option is None:
        return default
    if not is_seed(option):
        raise ScenarioError(None, "--seed", option, SEED_ALLOWED)
    return option


def cmd_project(args: argparse.Namespace) -> int:
    sc = load(args.scenario)
    tables = _tables_for(sc)
    reps = _replicates(args.replicates, PROJECTION_BYTES)
    seed = _seed(args.seed, sc.run.seed)
    out_dir = Path(args.out) / f"projection-{sc.name}"
    check_writable(out_dir)
    ds = project_replicates(sc, tables, reps, seed)
    ds.attrs["seed"] = seed
    nc = save_dataset(ds, out_dir / "projection.nc")
    save_manifest(
        out_dir,
        provenance(
            kind="projection",
            seed=seed,
            replicates=reps,
            scenario_file=str(args.scenario),
            scenario=sc.model_dump(mode="json"),
            tables=tables.sources,
        ),
    )
    central = ds.sel({names.REPLICATE: 0})
    years = [int(central[names.YEAR][0]), min(2030, int(central[names.YEAR][-1]))]
    fig = plot_pyramid(central, years, scenario_label=sc.label or sc.name)
    fig.savefig(out_dir / "pyramid.png", dpi=120)
    _print_projection(central, ds)
    print(f"wrote {nc}, {out_dir / 'pyramid.png'} and manifest.json")
    return 0


def _print_projection(central: xr.Dataset, ds: xr.Dataset) -> None:
    print(
        f"calibrated net migration, census to calibration year: "
        f"{float(central['calibrated_net_migration']):,.0f} persons/year"
    )
    print(f"{'year':>6} {'population':>12} {'births':>9} {'deaths':>8} {'65+ %':>6} {'e0':>6}")
    for year in central[names.YEAR].values:
        c = central.sel({names.YEAR: year})
        e0 = float(c["life_expectancy_both"])
        total, births = float(c["population_total"]), float(c["births"].sum())
        print(
            f"{int(year):>6} {total:>12,.0f} {births:>9,.0f} "
            f"{float(c['deaths'].sum() + c['deaths_of_births'].sum()):>8,.0f} "
            f"{100 * float(c['share_65plus']):>6.2f} {e0:>6.2f}"
        )
    if ds.sizes[names.REPLICATE] > 1:
        last = ds["population_total"].isel({names.YEAR: -1})
        q = last.quantile([0.05, 0.5, 0.95], dim=names.REPLICATE).values
        print(
            f"population {int(ds[names.YEAR][-1])}: median {q[1]:,.0f}, 90% interval "
            f"{q[0]:,.0f} to {q[2]:,.0f} over {ds.sizes[names.REPLICATE]} replicates"
        )


def cmd_keys(args: argparse.Namespace) -> int:
    from sim.scenario.reference import markdown

    text = markdown()
    if args.write:
        path = ROOT / "scenarios" / "README.md"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(text, end="")
    return 0


def _progress_bar(label: str) -> tuple[batch.Progress, Callable[[int, int], None], list[Any]]:
    """A tqdm bar with ETA on standard error, made once the number of tasks is known."""
    from tqdm import tqdm

    holder: list[Any] = []

    def on_start(todo: int, reused: int) -> None:
        if reused:
            print(f"resuming: {reused} tasks already done, {todo} to compute", file=sys.stderr)
        holder.append(
            tqdm(
                total=todo,
                desc=label,
                unit="task",
                file=sys.stderr,
                dynamic_ncols=True,
                disable=todo == 0,
            )
        )

    def progress(done: int, retried: int) -> None:
        if holder:
            holder[0].update(done)
            if retried:
                holder[0].write(f"a worker process died; retrying its task ({retried})")

    return progress, on_start, holder


SCHEDULER_ADDRESS = re.compile(
    r"((tcp|tls|ucx|ws|wss)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})"
)
"""A dask scheduler's address: [scheme://]host:port (IPv6 hosts in brackets)."""


def _check_scheduler(address: str | None) -> None:
    """Refuse a ``--scheduler`` that is no dask address (dask would raise deep inside)."""
    if address is None:
        return
    match = SCHEDULER_ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ScenarioError(
            None,
            "--scheduler",
            address,
            "must be a dask scheduler address [tcp|tls|ucx|ws|wss://]HOST:PORT, "
            "e.g. tcp://10.0.0.5:8786 (port 1-65535)",
        )


def _batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """Check the options every batch command shares before anything is loaded; the
    plan options the DES flags give."""
    if args.workers < 0:
        raise ScenarioError(None, "--workers", args.workers, "must be a whole number >= 0")
    if args.retries < 0:
        raise ScenarioError(None, "--retries", args.retries, "must be a whole number >= 0")
    if args.replicates is not None and args.replicates < 1:
        raise ScenarioError(None, "--replicates", args.replicates, "must be a whole number >= 1")
    _seed(args.seed, 0)  # checked now; the default comes from the scenarios later
    _check_scheduler(args.scheduler)
    return _des_option(args)


def _plan(
    scenarios: list[Scenario],
    args: argparse.Namespace,
    seed: int,
    options: dict[str, Any],
    sweep: Sweep | None = None,
) -> batch.Plan:
    """The batch plan (with ``sweep``'s points, the same for every scenario), made once
    its tasks and worker processes are known to fit in memory."""
    n_points = len(sweep.points) if sweep else 1
    tasks = len(scenarios) * n_points * args.replicates
    what = (
        f"{tasks:,} tasks ({len(scenarios)} scenarios x {n_points:,} points "
        f"x {args.replicates:,} replicates)"
    )
    if sweep is not None and n_points > 1:
        _check_memory(sweep.file, "points", n_points, tasks, TASK_BYTES, what)
    else:
        _check_memory(None, "--replicates", args.replicates, tasks, TASK_BYTES, what)
    if args.scheduler is None:
        width = min(args.workers, tasks)
        processes = f"{width:,} worker processes"
        each = DES_WORKER_BYTES if options.get("des_replicates") != 0 else WORKER_BYTES
        _check_memory(None, "--workers", args.workers, width, each, processes)
    points = {sc.name: list(sweep.points) for sc in scenarios} if sweep else None
    return batch.make_plan(scenarios, args.replicates, seed, options=options, points=points)


def _execute(plan: batch.Plan, args: argparse.Namespace, label: str) -> batch.BatchResult:
    folder = Path(args.batch_dir) if args.batch_dir else default_batch_folder(plan, Path(args.out))
    progress, on_start, bar = _progress_bar(label)
    try:
        result = batch.run_batch(
            plan,
            folder,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=progress,
            on_start=on_start,
            on_compile=_compiled
            if plan.options.get("engine", "compiled") == "compiled"
            else _kernels,
        )
    except (batch.BatchError, OSError) as exc:
        if bar:
            bar[0].close()
        # a disk that fills up part-way: finished task files stay for the rerun
        what = _os_error_line(exc) if isinstance(exc, OSError) else str(exc)
        print(f"{folder}: {what}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None
    if bar:
        bar[0].close()
    print(
        f"{result.computed} tasks computed, {result.reused} reused, {result.seconds:.1f} s; "
        f"results in {folder / batch.RESULTS_FILE}"
    )
    return result


def _compiled(seconds: float) -> None:
    """Said once before a batch whose tasks run the compiled DES engine."""
    print(
        f"compiled DES engine ready in {seconds:.1f} s "
        "(first run compiles; later runs load the cache)",
        flush=True,
    )


def _kernels(seconds: float) -> None:
    """Said once before a batch whose tasks run the DES on the reference engine (its
    drawing and outputs are compiled too)."""
    print(
        f"DES kernels ready in {seconds:.1f} s (first run compiles; later runs load the cache)",
        flush=True,
    )


def _des_option(args: argparse.Namespace) -> dict[str, Any]:
    """The plan options the DES flags give: ``engine`` always, ``des_replicates`` if set."""
    if args.engine not in ENGINES:
        raise ScenarioError(None, "--engine", args.engine, f"allowed: {', '.join(ENGINES)}")
    options: dict[str, Any] = {"engine": args.engine}
    if args.des_replicates is None:
        return options
    if args.des_replicates < 0:
        raise ScenarioError(
            None, "--des-replicates", args.des_replicates, "must be a whole number >= 0"
        )
    return {**options, "des_replicates": args.des_replicates}


def cmd_run(args: argparse.Namespace) -> int:
    options = _batch_options(args)
    scenarios = [_load_for_service(f) for f in args.scenarios]
    for sc in scenarios:
        _tables_for(sc)
    plan = _plan(scenarios, args, _seed(args.seed, scenarios[0].run.seed), options)
    _execute(plan, args, "run")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.model.sensitivity import analyse

    options = _batch_options(args)
    scenarios = [_load_for_service(f) for f in args.scenario]
    seed = _seed(args.seed, scenarios[0].run.seed)
    # the points are the same for every scenario; each scenario validates them
    sweeps = [load_sweep(args.sweep, sc.model_dump(mode="json"), seed) for sc in scenarios]
    sweep = sweeps[0]
    plan = _plan(scenarios, args, seed, options, sweep)
    wants_indices = sweep.method in ("sobol", "morris") and bool(sweep.outputs)
    if wants_indices:
        _check_outputs(sweep, plan)
    result = _execute(plan, args, f"sweep ({len(sweep.points)} points)")
    if wants_indices:
        indices = analyse(sweep, result.dataset, seed)
        path = save_dataset(indices, result.folder / "sensitivity.nc")
        print(indices.to_dataframe().to_string(float_format=lambda x: f"{x:.3f}"))
        print(f"sensitivity indices in {path}")
    return 0


def _check_outputs(sweep: Sweep, plan: batch.Plan) -> None:
    """Check the sweep's outputs before the sweep runs, on the expected level of its
    first task (about a second): a misspelt output must not cost a night's work."""
    from sim.model.sensitivity import output_values

    des_runs = plan.options.get("des_replicates") != 0
    expected_only = dataclasses.replace(plan, options={**plan.options, "des_replicates": 0})
    probe = batch.run_task(expected_only, plan.tasks()[0])
    for spec in sweep.outputs:
        if spec.startswith(DES_PREFIX) and not des_runs:
            raise ScenarioError(
                sweep.file, "outputs", spec, "a DES output: run the sweep with --des-replicates K"
            )
        if not spec.startswith(DES_PREFIX):
            _check_selector_values(probe, spec, sweep.file)
            output_values(probe, spec, file=sweep.file)


def _check_selector_values(probe: xr.Dataset, spec: str, file: str) -> None:
    """Each ``dim=value`` of an output must read as a value of that dimension (a year is
    a whole number); the form itself was checked when the sweep was read."""
    name, selectors = parse_output(spec)
    if name not in probe.data_vars:
        return  # output_values names the variables that exist
    for dim, value in selectors:
        if dim not in probe[name].dims or not probe[name][dim].size:
            continue
        coord = probe[name][dim].values
        try:
            type(coord[0].item())(value)
        except (ValueError, TypeError):
            some = ", ".join(str(v) for v in coord[:8])
            raise ScenarioError(
                file, "outputs", spec, f"{dim}={value!r} is not a {dim}; its values: {some}"
            ) from None


def cmd_test(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], cwd=ROOT)


MAIN_REPLICATES = 20
"""Replicates per scenario in the main job (uncertainty fans)."""
FULL_REPLICATES = 30


def cmd_main(args: argparse.Namespace) -> int:
    if args.replicates is None:
        args.replicates = FULL_REPLICATES if args.full else MAIN_REPLICATES
    replicates = args.replicates
    if args.des_replicates is None:  # the DES on every replicate (README, Performance)
        args.des_replicates = replicates
    options = _batch_options(args)
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    scenarios = [_load_for_service(f) for f in files]
    for sc in scenarios:
        _tables_for(sc)
    des_replicates = min(int(options["des_replicates"]), replicates)
    plan = _plan(scenarios, args, _seed(args.seed, scenarios[0].run.seed), options)
    what = "full batch" if args.full else "main job"
    print(
        f"{what}: {len(scenarios)} scenarios x {replicates} replicates (expected level), "
        f"the DES ({plan.options['engine']} engine) on {des_replicates} of them; "
        f"{args.workers} workers"
    )
    result = _execute(plan, args, what)
    _write_report(result.folder)
    return 0


def _write_report(folder: Path) -> None:
    """The report in both languages, side by side in two processes when there are two
    cores: each is mostly matplotlib on one core, so the pair takes the time of one."""
    from sim.present.report import build_report

    langs = ("zh", "en")
    if (os.cpu_count() or 1) < 2:
        for lang in langs:
            print(f"report ({lang}): {build_report(folder, lang).get('html', folder)}")
        return
    ctx = batch.worker_context()
    with cf.ProcessPoolExecutor(max_workers=len(langs), mp_context=ctx) as pool:
        done = [pool.submit(build_report, folder, lang) for lang in langs]
        for lang, future in zip(langs, done, strict=True):
            print(f"report ({lang}): {future.result().get('html', folder)}")


def cmd_expected(args: argparse.Namespace) -> int:
    from sim.model.expected import run_expected, summary_table

    sc = _load_for_service(args.scenario)
    tables = _tables_for(sc)
    reps = _replicates(args.replicates, EXPECTED_BYTES)
    seed = _seed(args.seed, sc.run.seed)
    out_dir = Path(args.out) / f"expected-{sc.name}"
    check_writable(out_dir)
    ds = run_expected(sc, reps, seed, tables=tables)
    nc = save_dataset(ds, out_dir / "expected.nc")
    table = summary_table(ds)
    csv_path = out_dir / "summary.csv"
    table.to_csv(csv_path, index=False, encoding="utf-8")
    save_manifest(
        out_dir,
        provenance(
            kind="expected",
            seed=seed,
            replicates=args.replicates,
            scenario_file=str(args.scenario),
            scenario=sc.model_dump(mode="json"),
            tables=tables.sources,
        ),
    )
    y = ds.sel({names.REPLICATE: 0, names.SCENARIO: sc.name})
    head = ("year", "beds", "occupied", "needed@85%", "GPs needed", "ED visits")
    row = "{:>6} {:>8} {:>9} {:>11} {:>11} {:>10}"
    print(row.format(*head))
    for year in y[names.YEAR].values:
        r = y.sel({names.YEAR: year})
        cells = [
            float(r["beds"].sum()),
            float(r["occupied_beds_mean"].sum()),
            float(r["beds_needed_occupancy"].sum()),
            float(r["gps_needed"]),
            float(r["ed_visits"].sum()),
        ]
        print(row.format(int(year), *(f"{c:,.0f}" for c in cells)))
    print(f"wrote {nc}, {csv_path} ({len(table)} rows) and manifest.json")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The batch report, or for a sweep folder with sensitivity indices the sweep page."""
    folder = Path(args.folder)
    if not (folder / batch.RESULTS_FILE).exists():
        raise ScenarioError(folder, None, None, f"no {batch.RESULTS_FILE} here: not a batch folder")
    from sim.present.report import build_report
    from sim.present.sweep_report import build_sweep_report, has_indices

    build = build_sweep_report if has_indices(folder) else build_report
    for lang in args.lang or ["zh", "en"]:
        paths = build(folder, lang)
        for kind, path in paths.items():
            print(f"{kind}: {path}")
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """A parser whose refusal of a command line (an unknown option, ``--replicates
    abc``) is one line on standard error and exit status 2, like a bad scenario,
    instead of the usage text and then the error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_BAD_INPUT, printable(f"{self.prog}: {message} (see {self.prog} -h)") + "\n")


def _whole_number(text: str) -> int:
    """An option's whole number; what else is allowed (>= 0, >= 1) is checked later."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


_Commands: typing.TypeAlias = "argparse._SubParsersAction[_OneLineParser]"
"""What ``add_subparsers`` gives: each ``_add_<command>`` adds its sub-command's parser to it."""


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="run.py",
        description="Health-resource planning simulation for Longgang District, Shenzhen.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # in the order ``run.py --help`` lists them
    _add_validate(commands)
    _add_project(commands)
    _add_run(commands)
    _add_sweep(commands)
    _add_main(commands)
    _add_expected(commands)
    _add_report(commands)
    _add_keys(commands)
    _add_test(commands)
    return parser


def _command(
    commands: _Commands, name: str, func: Callable[[argparse.Namespace], int], summary: str
) -> argparse.ArgumentParser:
    """The parser of sub-command ``name``, which runs ``func``."""
    p = commands.add_parser(name, help=summary)
    p.set_defaults(func=func)
    return p


def _add_validate(commands: _Commands) -> None:
    p = _command(
        commands,
        "validate",
        cmd_validate,
        "check scenario files (and the tables they name) without running",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML files")


def _add_project(commands: _Commands) -> None:
    summary = "cohort-component projection of one scenario, with a pyramid figure"
    _one_scenario_options(_command(commands, "project", cmd_project, summary))


def _add_expected(commands: _Commands) -> None:
    summary = "expected (analytic) level of one scenario, with a CSV summary"
    _one_scenario_options(_command(commands, "expected", cmd_expected, summary))


def _add_run(commands: _Commands) -> None:
    p = _command(commands, "run", cmd_run, "run scenarios x replicates as a resumable batch")
    p.add_argument("scenarios", nargs="+", metavar="FILE", help="scenario TOML files")
    _batch_arguments(p)


def _add_sweep(commands: _Commands) -> None:
    p = _command(
        commands,
        "sweep",
        cmd_sweep,
        "run a parameter sweep (grid, LHS, Sobol, Morris) with sensitivity indices",
    )
    p.add_argument("sweep", metavar="SWEEP", help="sweep TOML file")
    p.add_argument(
        "--scenario",
        action="append",
        required=True,
        metavar="FILE",
        help="scenario the sweep applies to (repeat for several)",
    )
    _batch_arguments(p, des_replicates=(0, "0, the expected level only"))


def _add_main(commands: _Commands) -> None:
    p = _command(
        commands,
        "main",
        cmd_main,
        "the main job: every shipped scenario (the expected level and the DES on every "
        "replicate, with uncertainty; report)",
    )
    _batch_arguments(
        p,
        replicates=(None, f"{MAIN_REPLICATES} ({FULL_REPLICATES} with --full)"),
        des_replicates=(None, "every replicate"),
    )
    p.add_argument(
        "--full",
        action="store_true",
        help=f"the full batch: {FULL_REPLICATES} replicates, every one with the DES",
    )


def _add_report(commands: _Commands) -> None:
    p = _command(
        commands,
        "report",
        cmd_report,
        "figures, HTML report and CSV tables of a stored batch; a sweep's sensitivity page",
    )
    p.add_argument(
        "folder",
        metavar="FOLDER",
        help="a batch or sweep folder, e.g. results/batch-1a2b3c4d5e",
    )
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        action="append",
        default=None,
        help="language (repeat for both; default both)",
    )


def _add_keys(commands: _Commands) -> None:
    p = _command(commands, "keys", cmd_keys, "print the reference of every scenario key (Markdown)")
    p.add_argument("--write", action="store_true", help="write it to scenarios/README.md")


def _add_test(commands: _Commands) -> None:
    p = _command(commands, "test", cmd_test, "run the test suite (arguments after -- go to pytest)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments")


# ------------------------------------------------------------------ shared options
def _one_scenario_options(p: argparse.ArgumentParser) -> None:
    """The options of the one-scenario commands (``project``, ``expected``)."""
    p.add_argument("--scenario", required=True, metavar="FILE", help="scenario TOML file")
    _replicates_option(
        p,
        1,
        "replicates (replicate 0 takes central values; the others draw uncertain inputs); "
        "default 1",
    )
    _seed_option(p, "run.seed")
    _out_option(p)


def _batch_arguments(
    p: argparse.ArgumentParser,
    replicates: tuple[int | None, str] = (1, "1"),
    des_replicates: tuple[int | None, str] = (None, "every replicate"),
) -> None:
    """The options every batch command shares (checked by :func:`_batch_options`);
    ``replicates`` and ``des_replicates`` are each (default, how the help states it)."""
    _replicates_option(
        p,
        replicates[0],
        f"replicates per scenario (replicate 0 takes central values); default {replicates[1]}",
    )
    _seed_option(p, "run.seed of the first scenario")
    _where_to_run_options(p)
    _out_option(p)
    _des_options(p, des_replicates)
    p.add_argument(
        "--batch-dir",
        default=None,
        metavar="DIR",
        help="exact batch folder (default: DIR/batch-<plan hash>, so the same "
        "command resumes the same batch)",
    )


def _replicates_option(p: argparse.ArgumentParser, default: int | None, text: str) -> None:
    p.add_argument("--replicates", type=_whole_number, default=default, metavar="N", help=text)


def _seed_option(p: argparse.ArgumentParser, default: str) -> None:
    """``--seed``; ``default`` says where the seed comes from without it."""
    p.add_argument(
        "--seed",
        type=_whole_number,
        default=None,
        metavar="S",
        help=f"root seed (default: {default})",
    )


def _out_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=str(ROOT / "results"), metavar="DIR", help="results folder")


def _where_to_run_options(p: argparse.ArgumentParser) -> None:
    """Where a batch's tasks run (local workers or a dask cluster) and how often a task
    whose worker died is run again."""
    p.add_argument(
        "--workers",
        type=_whole_number,
        default=min(2, os.cpu_count() or 1),
        metavar="W",
        help="local worker processes (0: run in this process); default: up to 2",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="send the tasks to this dask.distributed scheduler instead",
    )
    p.add_argument(
        "--retries",
        type=_whole_number,
        default=batch.DEFAULT_RETRIES,
        metavar="R",
        help="times a task whose worker process died (killed, out of memory) is run "
        f"again on its own before the batch stops; default {batch.DEFAULT_RETRIES}",
    )


def _des_options(p: argparse.ArgumentParser, des_replicates: tuple[int | None, str]) -> None:
    """Which replicates run the DES (``des_replicates``: default, how the help states
    it) and on which engine (checked by :func:`_des_option`)."""
    p.add_argument(
        "--des-replicates",
        type=_whole_number,
        default=des_replicates[0],
        metavar="K",
        help=f"run the DES on replicates 0..K-1 only (default: {des_replicates[1]})",
    )
    p.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        metavar="|".join(ENGINES),
        help="the DES engine: compiled (numba; compiled once, then loaded from its "
        "cache) or reference (SimPy; the same numbers, slower); "
        f"default {DEFAULT_ENGINE}",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ScenarioError as exc:
        print(exc.line(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a result that cannot be written (full disk, read-only folder)
        print(printable(_os_error_line(exc)), file=sys.stderr)
        return EXIT_FAILED
    return code


def _os_error_line(exc: OSError) -> str:
    """One line for a failed file operation: the file, then why (writes name their
    file, see :func:`sim.runs.store.write_failure`)."""
    why = exc.strerror or str(exc).splitlines()[0]
    return f"{exc.filename}: {why}" if exc.filename else why


if __name__ == "__main__":
    sys.exit(main())
