"""Golden regression of a small batch: every number of a small fixed batch against the
numbers stored in tests/golden/small_batch.nc, exactly.

The batch is two scenarios of the 1/20-size district (tests/small_district.py), 2025-2026,
two replicates (0 central, 1 drawn), the DES on both, seed 5: ``baseline`` keeps every
default, ``reform`` turns on day surgery and the one-bed-pool reform, so the DES's pooling
and the reforms' arithmetic are in the numbers. Every data variable and coordinate is
compared with its dims, dtype and units; a float32 variable is compared as float32, so
exact equality is the tolerance for every one of them (the batch's numbers are the same to
the bit for any number of workers, README). The batch's attributes (seed, plan
fingerprint) are not numbers of the model and are not compared; in each task's drawn
scenario (``resolved_scenario``, JSON) the checkout's folder stands as ``<root>``, since the
data tables' paths in it are absolute.

A change of any number fails with a list of what moved. If the change is meant, accept it
with ``python3 run.py test -- tests/test_golden_batch.py -n 0 --regen-golden`` and commit
the two files under tests/golden/ with the change that moved them: the text digest
(small_batch.txt, one line per variable) shows in the diff which variables moved.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.runs.batch import make_plan, run_batch
from sim.scenario import Scenario, load_dict
from tests.small_district import small_district

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "small_batch.nc"
DIGEST = GOLDEN.with_suffix(".txt")
REGEN = "--regen-golden"
"""The option that accepts a change (tests/conftest.py declares it)."""

END_YEAR = 2026
REPLICATES = 2
SEED = 5
REFORMS = {"2025": 0.0, str(END_YEAR): 0.3}
"""Day surgery's share and the one bed pool's share of beds, from 0 to 30%."""
SHOWN = 3
"""Cells shown of each variable that moved."""


def scenarios() -> list[Scenario]:
    small = small_district(END_YEAR)
    demand = {**small["demand"], "reforms": {"day_surgery": REFORMS}}
    reform = {**small, "demand": demand, "capacity": {"bed_pool": {"share": REFORMS}}}
    return [load_dict({"name": "baseline", **small}), load_dict({"name": "reform", **reform})]


def small_batch(folder: Path) -> xr.Dataset:
    """The batch's combined results, without the batch's attributes."""
    plan = make_plan(scenarios(), REPLICATES, SEED, options={"des_replicates": REPLICATES})
    run_batch(plan, folder, workers=0)
    ds = xr.load_dataset(folder / "results.nc", engine="h5netcdf")
    drawn = ds["resolved_scenario"]
    text = np.char.replace(drawn.values.astype(str), str(ROOT), "<root>")
    ds["resolved_scenario"] = drawn.copy(data=text)
    return ds.drop_attrs(deep=False)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _label(value: object) -> str:
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[s]"))
    return str(value.item() if isinstance(value, np.generic) else value)


def _cells(var: xr.DataArray, moved: np.ndarray, golden: xr.DataArray) -> list[str]:
    """The first cells that moved, by their coordinates."""
    lines = []
    for index in np.argwhere(moved)[:SHOWN]:
        where = ", ".join(
            f"{dim}={_label(var[dim].values[i])}" for dim, i in zip(var.dims, index, strict=True)
        )
        cell = tuple(index)
        lines.append(
            f"    {where}: {_label(var.values[cell])}, golden {_label(golden.values[cell])}"
        )
    return lines


def _by_how_much(a: np.ndarray, b: np.ndarray, moved: np.ndarray) -> str:
    """The largest change among the moved numbers (that are numbers on both sides)."""
    if a.dtype.kind not in "iuf":
        return ""
    both = moved & np.isfinite(a) & np.isfinite(b) if a.dtype.kind == "f" else moved
    if not both.any():
        return " (NaN or infinity on one side)"
    diff = np.abs(a[both].astype(float) - b[both].astype(float))
    with np.errstate(over="ignore"):  # a golden 0 gives an infinite relative change
        rel = diff / np.maximum(np.abs(b[both].astype(float)), np.finfo(float).tiny)
    return f", by up to {diff.max():.3g} ({rel.max():.3g} relative)"


def _variable(name: str, var: xr.DataArray, golden: xr.DataArray) -> list[str]:
    """What moved in one variable or coordinate (nothing: an empty list)."""
    head = f"{name} {var.dims} {var.dtype} [{var.attrs.get('units', '')}]"
    was = f"{golden.dims} {golden.dtype} [{golden.attrs.get('units', '')}]"
    if (var.dims, var.shape, var.dtype) != (golden.dims, golden.shape, golden.dtype):
        return [f"{head}: was {was} {golden.shape}, now {var.shape}"]
    if var.attrs.get("units") != golden.attrs.get("units"):
        return [f"{head}: units were {golden.attrs.get('units')!r}"]
    if _same(var.values, golden.values):
        return []
    a, b = var.values, golden.values
    moved = ~((a == b) | (np.isnan(a) & np.isnan(b))) if a.dtype.kind in "fc" else a != b
    count = f"{head}: {int(moved.sum())} of {a.size} values moved{_by_how_much(a, b, moved)}"
    return [count, *_cells(var, moved, golden)]


def differences(obtained: xr.Dataset, golden: xr.Dataset) -> list[str]:
    """Readable lines, one block per variable or coordinate that moved."""
    lines = []
    for kind, new, old in (
        ("coordinate", obtained.coords, golden.coords),
        ("variable", obtained.data_vars, golden.data_vars),
    ):
        lines += [f"new {kind}: {n}" for n in sorted(set(new) - set(old))]
        lines += [f"{kind} gone: {n}" for n in sorted(set(old) - set(new))]
        for n in sorted(set(new) & set(old)):
            lines += _variable(str(n), new[n], old[n])
    return lines


def digest(ds: xr.Dataset) -> str:
    """One line per coordinate and variable: dims, dtype, units and a hash of its values."""
    lines = []
    for name in sorted(map(str, ds.variables)):
        var = ds[name]
        values = np.ascontiguousarray(var.values)
        data = values.astype(str) if values.dtype.kind == "O" else values  # not pointers
        sha = hashlib.sha256(data.tobytes()).hexdigest()[:16]
        dims = ",".join(map(str, var.dims))
        lines.append(f"{name} ({dims}) {var.dtype} [{var.attrs.get('units', '')}] {sha}")
    return "\n".join(lines) + "\n"


def accept(obtained: xr.Dataset) -> None:
    """Store the numbers as the golden ones, and their digest beside them."""
    GOLDEN.parent.mkdir(exist_ok=True)
    encoding = {n: {"zlib": True, "complevel": 9, "shuffle": True} for n in obtained.data_vars}
    obtained.to_netcdf(GOLDEN, engine="h5netcdf", encoding=encoding)
    DIGEST.write_text(digest(obtained), encoding="utf-8")


@pytest.fixture(scope="module")
def golden() -> xr.Dataset | None:
    return xr.load_dataset(GOLDEN, engine="h5netcdf") if GOLDEN.exists() else None


def test_the_small_batch_gives_its_golden_numbers(
    request: pytest.FixtureRequest, tmp_path: Path, golden: xr.Dataset | None
) -> None:
    obtained = small_batch(tmp_path)
    moved = "\n".join(["no golden file yet"] if golden is None else differences(obtained, golden))
    if moved and request.config.getoption(REGEN):
        accept(obtained)  # rewritten only when a number moved: the file's bytes are not stable
        pytest.fail(f"golden numbers rewritten; review and commit tests/golden/:\n{moved}")
    assert not moved, (
        "the small batch's numbers moved from tests/golden/small_batch.nc; if the change is "
        f"meant, accept it with {REGEN} (README, Golden numbers):\n{moved}"
    )


def test_the_digest_describes_the_golden_file(request: pytest.FixtureRequest) -> None:
    """The text a reviewer reads is that of the numbers the test compares with (--regen-golden
    rewrites a stale one, e.g. after a change of its format, from the golden file)."""
    assert GOLDEN.exists(), f"no {GOLDEN.name}: write it with {REGEN}"
    # read again, not the module's copy: the test above may have just rewritten the file
    described = digest(xr.load_dataset(GOLDEN, engine="h5netcdf"))
    stale = not DIGEST.exists() or DIGEST.read_text(encoding="utf-8") != described
    if stale and request.config.getoption(REGEN):
        DIGEST.write_text(described, encoding="utf-8")
        pytest.fail(f"{DIGEST.name} rewritten from {GOLDEN.name}; review and commit it")
    assert not stale, f"{DIGEST.name} does not describe {GOLDEN.name}: rewrite it with {REGEN}"


def test_a_moved_number_is_named_with_its_cell(golden: xr.Dataset | None) -> None:
    """The comparison itself, on the golden file: one number nudged by one unit in the last
    place, a new variable and a changed unit are each named."""
    assert golden is not None, f"no {GOLDEN.name}: write it with {REGEN}"
    name = "des_midnight_census"
    nudged = golden.copy(deep=True)
    cell = nudged[name].values.reshape(-1)
    cell[7] = np.nextafter(cell[7], cell.dtype.type(np.inf))  # in the variable's own dtype
    assert differences(golden, golden) == []
    lines = differences(nudged, golden)
    assert lines[0].startswith(f"{name} ") and "1 of" in lines[0] and len(lines) == 2
    nudged[name].attrs["units"] = "furlongs"
    nudged["extra"] = nudged[name] * 0
    found = "\n".join(differences(nudged, golden))
    assert "new variable: extra" in found and "units were" in found
