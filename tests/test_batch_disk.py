"""Disk faults during a batch: a disk that fills part-way (a real small file system) or a
folder that stops taking writes, in the workers or in the batch's own process, stops the
batch with one line (which file, why, how many tasks are kept, what to do), exit status
1, whole task files and no temporary file; once the fault is mended, the same command
resumes to the results of an uninterrupted run."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xarray as xr

import sim.runs.batch
from sim.app.cli import main
from sim.runs.batch import BatchError, make_plan, run_batch
from sim.runs.store import load_task
from tests.test_batch_signals import _leftovers, _task_files
from tests.test_cli import SMALL

ROOT = Path(__file__).resolve().parent.parent
DISK_BYTES = 16 * 2**20
"""The small file system: room for the up-front space check of the task files (2 x 0.35
MB each) and for the files themselves (0.22 MB each for the small district)."""
REPLICATES = 6

RUNNER = textwrap.dedent(f"""
    import functools, sys
    sys.path.insert(0, {str(ROOT)!r})
    import sim.runs.batch
    from sim.app.cli import main
    from tests.batch_tasks import slow_task
    if __name__ == "__main__":
        # slowed, so that the disk can fill while tasks are still to come
        sim.runs.batch.run_batch = functools.partial(sim.runs.batch.run_batch, task_fn=slow_task)
        sys.exit(main(sys.argv[1:]))
""")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted at a fresh folder (root only: mounting needs it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)


def _fill(disk: Path) -> None:
    """Write zeros into ``disk`` until it is full, as another program might."""
    with (disk / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 2**16)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def _fill_when_tasks_done(folder: Path, disk: Path, count: int) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 120
        while len(_task_files(folder)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        _fill(disk)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _run_cli(tmp_path: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    scenario, runner = tmp_path / "small.toml", tmp_path / "runner.py"
    scenario.write_text(SMALL, encoding="utf-8")
    runner.write_text(RUNNER, encoding="utf-8")
    argv = [sys.executable, str(runner), "run", str(scenario), "--replicates", str(REPLICATES)]
    argv += ["--des-replicates", "0", "--workers", "2", "--batch-dir", str(folder)]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=300)


def _whole(folder: Path, reference: Path) -> list[Path]:
    """The task files in ``folder``, each checked whole and equal to the reference run's."""
    kept = _task_files(folder)
    for path in kept:
        task = load_task(path)
        assert task is not None, f"{path.name} is whole"
        xr.testing.assert_identical(task, load_task(reference / "tasks" / path.name))
    return kept


@pytest.mark.slow
def test_a_disk_that_fills_part_way_stops_the_batch_in_one_line(tmp_path, small_disk):
    folder = small_disk / "batch"
    filler = _fill_when_tasks_done(folder, small_disk, 2)
    stopped = _run_cli(tmp_path, folder)
    filler.join(timeout=30)
    assert stopped.returncode == 1, stopped.stderr
    assert "Traceback" not in stopped.stderr
    last = stopped.stderr.strip().splitlines()[-1]
    kept = _task_files(folder)
    assert 2 <= len(kept) < REPLICATES, last
    assert last.startswith(f"{folder}: cannot write "), last
    assert last.endswith(
        f": No space left on device; {len(kept)} of {REPLICATES} tasks are done and kept; "
        "free some space and run the same command again to resume"
    ), last
    assert _leftovers(folder) == [], "no temporary file nor running marker is left"

    (small_disk / "filler").unlink()
    reference = tmp_path / "uninterrupted"  # in this process, unslowed: the same numbers
    argv = ["run", str(tmp_path / "small.toml"), "--replicates", str(REPLICATES)]
    assert (
        main([*argv, "--des-replicates", "0", "--workers", "0", "--batch-dir", str(reference)]) == 0
    )
    assert _whole(folder, reference) == kept
    resumed = _run_cli(tmp_path, folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(kept)} tasks already done, {REPLICATES - len(kept)} to compute" in (
        resumed.stderr
    )
    with (
        xr.open_dataset(folder / "results.nc") as got,
        xr.open_dataset(reference / "results.nc") as want,
    ):
        xr.testing.assert_identical(got.load(), want.load())
    assert _leftovers(folder) == []


# ------------------------------------------------------------------ simulated faults
# (in this process: any user, any file system)
def _small_plan() -> sim.runs.batch.Plan:
    from tests.test_batch import NO_DES, _scenarios

    return make_plan(_scenarios()[:1], 4, seed=21, options=NO_DES)


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> sim.runs.batch.BatchResult:
    return run_batch(_small_plan(), tmp_path_factory.mktemp("serial"), workers=0)


def _refuse_writes_after(monkeypatch: pytest.MonkeyPatch, allowed: int, fault: OSError) -> None:
    """From the ``allowed``-th atomic rename into a ``tasks`` folder on, each fails as
    ``fault`` would (the folder made read-only, a quota reached)."""
    real_replace = os.replace
    seen: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).parent.name == "tasks":
            seen.append(str(dst))
            if len(seen) > allowed:
                raise OSError(fault.errno, fault.strerror, str(src), None, str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "remedy"),
    [
        (OSError(errno.EACCES, "Permission denied"), "make the folder writable"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "free some space"),
    ],
    ids=["unwritable", "quota"],
)
def test_a_folder_that_stops_taking_writes_stops_the_batch(
    tmp_path, serial, monkeypatch, fault, remedy
):
    _refuse_writes_after(monkeypatch, 2, fault)
    with pytest.raises(BatchError) as stop:
        run_batch(_small_plan(), tmp_path, workers=0)
    assert str(stop.value) == (
        f"cannot write tasks/a__p0000__r0002.task: {os.strerror(fault.errno)}; "
        f"2 of 4 tasks are done and kept; {remedy} and run the same command again to resume"
    )
    assert _leftovers(tmp_path) == [] and not (tmp_path / "results.nc").exists()
    assert len(_whole(tmp_path, serial.folder)) == 2
    monkeypatch.undo()
    resumed = run_batch(_small_plan(), tmp_path, workers=0)
    assert (resumed.reused, resumed.computed) == (2, 2)
    xr.testing.assert_identical(resumed.dataset, serial.dataset)


@pytest.mark.slow
def test_a_full_disk_at_the_results_file_keeps_every_task(tmp_path, serial, monkeypatch):
    def full(self: xr.Dataset, path: str, **kwargs: object) -> None:
        Path(path).write_bytes(b"\x89HDF")  # a start, then the HDF5 library's error
        raise OSError(errno.ENOSPC, "Unable to synchronously create file (file write\n...")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    with pytest.raises(BatchError) as stop:
        run_batch(_small_plan(), tmp_path, workers=0)
    assert str(stop.value) == (
        "cannot write results.nc: No space left on device; 4 of 4 tasks are done and kept; "
        "free some space and run the same command again to resume"
    )
    assert _leftovers(tmp_path) == [] and not (tmp_path / "results.nc").exists()
    monkeypatch.undo()
    resumed = run_batch(_small_plan(), tmp_path, workers=0)
    assert (resumed.reused, resumed.computed) == (4, 0)
    xr.testing.assert_identical(resumed.dataset, serial.dataset)


def test_a_task_that_fails_on_a_full_disk_is_named_though_its_log_cannot_be_written(
    tmp_path, monkeypatch
):
    """A task's own error (not a write into the folder) is what the line names, even
    when errors.log cannot be appended to."""

    def no_log(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "errors.log"))

    monkeypatch.setattr(sim.runs.batch, "_log_failure", no_log)
    error = sim.runs.batch._task_failed(tmp_path, _small_plan().tasks()[0], ValueError("bad value"))
    assert str(error) == (
        f"task a__p0000__r0000 failed: ValueError: bad value ({tmp_path / 'errors.log'} "
        "could not be written: No space left on device)"
    )


def test_written_files_get_the_permissions_of_ordinary_new_files(tmp_path):
    """Atomic writes go through a temporary file (made 0o600), yet results are for a team
    to read: the file ends with the mode the umask gives any new file."""
    from sim.runs.store import atomic_write_bytes

    earlier = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "shared.txt", b"for the team")
    finally:
        os.umask(earlier)
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o640
