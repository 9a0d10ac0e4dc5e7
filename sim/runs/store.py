"""Save and open results: netCDF (h5netcdf) written atomically, with provenance.

Each result folder holds ``<name>.nc`` and ``manifest.json``: the validated scenarios
(as written, before the draw), seeds, code version, library versions, command line and
time. The netCDF opens with plain ``xarray.open_dataset`` and needs nothing of this
project; each task's drawn scenario is in it as JSON (:func:`resolved_scenario`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import xarray as xr

from sim.base import names
from sim.base.errors import ScenarioError
from sim.scenario import Scenario, load_drawn

LIBRARIES = (
    "numpy",
    "scipy",
    "xarray",
    "simpy",
    "pydantic",
    "h5netcdf",
    "matplotlib",
    "dask",
    "distributed",
    "SALib",
    "h5py",
)
PACKAGE = "longgang-hrsim"
CONVENTIONS = "CF-1.8"
RESULTS_NAME = "results.nc"
"""The Dataset of a batch folder (beside it may lie others, e.g. ``sensitivity.nc``)."""


def code_version() -> str:
    """Git commit of the working tree (with ``-dirty`` if changed), else the package version."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        try:
            return metadata.version(PACKAGE)
        except metadata.PackageNotFoundError:
            return "unknown"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions


def provenance(**extra: Any) -> dict[str, Any]:
    """The manifest common to every result: code, libraries, command, time, machine."""
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "libraries": library_versions(),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        **extra,
    }


def check_writable(folder: Path) -> None:
    """Fail before any work starts if ``folder`` cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # no name in the folder (O_TMPFILE on Linux), or one that clean_temporaries
        # removes: a kill at this moment must leave nothing behind
        with tempfile.TemporaryFile(dir=folder, prefix=".write-test-", suffix=".tmp"):
            pass
    except OSError as exc:
        raise ScenarioError(
            folder, None, None, f"results folder is not writable: {exc.strerror}"
        ) from None


def check_space(folder: Path, needed: int) -> None:
    """Fail before any work starts if the disk holding ``folder`` has less than
    ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ScenarioError(
            folder,
            None,
            None,
            f"not enough free disk space: {free / 2**20:,.0f} MiB free, "
            f"about {needed / 2**20:,.0f} MiB needed",
        )


def describe(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with CF ``long_name``/``units`` on every coordinate that has none
    (``sim.base.names.COORDINATE_ATTRS``) and the ``Conventions`` attribute."""
    ds = ds.copy()
    for name in ds.coords:
        known = names.COORDINATE_ATTRS.get(str(name), {})
        ds[name].attrs = {**known, **ds[name].attrs}
    ds.attrs = {"Conventions": CONVENTIONS, **ds.attrs}
    return ds


def write_failure(exc: OSError, path: Path) -> OSError:
    """The error of a failed write, naming the file it was writing (``path``, not the
    temporary file beside it) and in one line: a full disk seen by the HDF5 library is
    an ``OSError`` whose text spans lines and has no file name. The class follows the
    errno (``PermissionError`` for EACCES, ...)."""
    if exc.errno is None:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return OSError(None, first, str(path))
    return OSError(exc.errno, os.strerror(exc.errno), str(path))


def _file_mode() -> int:
    """The permissions an ordinary new file gets (0o666 less the umask): a temporary
    file is made 0o600, but results are for a team to read."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        umask = int(status.split("Umask:", 1)[1].split()[0], 8)
    except (OSError, IndexError, ValueError):
        umask = 0o022
    return 0o666 & ~umask


def _write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``
    with an ordinary file's permissions; a failure is raised as :func:`write_failure`
    names it, and leaves no temporary file."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_failure(exc, path) from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_failure(exc, path) from exc
        raise


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (:func:`_write_atomically`), synced to disk."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())

    _write_atomically(path, write)


def save_dataset(ds: xr.Dataset, path: Path) -> Path:
    """Write ``ds`` to netCDF at ``path`` atomically (a failure as in
    :func:`atomic_write_bytes`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failure(exc, path) from exc
    # encodings inherited from files read earlier (e.g. an integer dtype of a task
    # file) must not decide how a combined variable, now with gaps, is written
    ds = describe(ds.drop_encoding())
    encoding = {
        name: {"zlib": True, "complevel": 1}
        for name, var in ds.data_vars.items()
        if var.dtype.kind in "fiu" and var.size > 1
    }
    _write_atomically(
        path,
        lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False, encoding=encoding),
    )
    return path


TASK_MAGIC = b"HRSIM-TASK-1\n"
"""First bytes of a task file; then the SHA-256 of the payload, then the payload."""


def task_bytes(ds: xr.Dataset) -> bytes:
    """A task file's content: :data:`TASK_MAGIC`, the SHA-256 of the payload, then the
    payload (the pickled Dataset without encodings); what :func:`load_task` reads back.

    Task files are intermediate (the batch's ``results.nc`` is the netCDF result):
    a pickled Dataset reads about a thousand times faster than a netCDF with a
    hundred variables, which is what makes combining thousands of tasks cheap.
    Only files this program wrote into its own batch folder are ever read back."""
    payload = pickle.dumps(ds.drop_encoding(), protocol=pickle.HIGHEST_PROTOCOL)
    return TASK_MAGIC + hashlib.sha256(payload).digest() + payload


def save_task(ds: xr.Dataset, path: Path) -> Path:
    """Write one task's Dataset atomically, with a checksum (see :func:`task_bytes`)."""
    atomic_write_bytes(path, task_bytes(ds))
    return path


def load_task(path: Path) -> xr.Dataset | None:
    """A task file's Dataset, or None if it is missing, partial or corrupt."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(TASK_MAGIC)
    if not blob.startswith(TASK_MAGIC) or len(blob) < head + 32:
        return None
    digest, payload = blob[head : head + 32], blob[head + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        return None
    try:
        ds = pickle.loads(payload)
    except Exception:
        return None
    return ds if isinstance(ds, xr.Dataset) else None


def save_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    path = folder / "manifest.json"
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
    return path


def open_results(path: str | Path) -> xr.Dataset:
    """Open a saved result: a ``.nc`` file, a batch folder (its ``results.nc``), or a
    folder holding exactly one ``.nc`` file."""
    p = Path(path)
    if p.is_dir() and (p / RESULTS_NAME).exists():
        p = p / RESULTS_NAME
    elif p.is_dir():
        files = sorted(p.glob("*.nc"))
        if len(files) != 1:
            raise ScenarioError(
                p, None, None, f"expected one .nc file in the folder, found {len(files)}"
            )
        p = files[0]
    if not p.exists():
        raise ScenarioError(p, None, None, "no such results file")
    return xr.load_dataset(p, engine="h5netcdf")


def resolved_scenario(
    ds: xr.Dataset, scenario: str, replicate: int, point: int | None = None
) -> Scenario:
    """The frozen drawn scenario that task (``scenario``, ``replicate`` and, in a sweep's
    results, ``point``) ran with, from the results' :data:`sim.base.names.RESOLVED_SCENARIO`
    (:func:`sim.scenario.load_drawn`). Raises :class:`ScenarioError` for results without
    it (written before it was stored), with no such task, or whose task file was written
    before it was stored (a resumed batch: the text is then empty)."""
    if names.RESOLVED_SCENARIO not in ds:
        raise ScenarioError(
            None, names.RESOLVED_SCENARIO, None, "not in these results (written before it was)"
        )
    where: dict[str, Any] = {names.SCENARIO: scenario, names.REPLICATE: replicate}
    if point is not None:
        where["point"] = point
    try:
        cell = ds[names.RESOLVED_SCENARIO].sel(where)
    except (KeyError, ValueError) as exc:
        raise ScenarioError(None, "task", where, f"no such task in the results: {exc}") from None
    if cell.ndim:
        raise ScenarioError(None, "task", where, f"names {cell.size} tasks: give the sweep point")
    text = cell.values[()]
    if not isinstance(text, str) or not text:  # a resumed batch's task file from before
        raise ScenarioError(None, "task", where, "its drawn scenario was not stored with it")
    return load_drawn(text, file=f"{scenario} replicate {replicate}")
