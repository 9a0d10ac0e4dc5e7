"""Global sensitivity analysis of batch outputs over a sweep (SALib: Sobol or Morris),
with bootstrap confidence intervals and a convergence check.

An *output* is named ``variable`` or ``variable:dim=value,dim=value`` (e.g.
``population_total:year=2030``): the variable is selected at those coordinates,
summed over its other dimensions (e.g. over bed pools), and averaged over
replicates, giving one number per sweep point.

**Intervals.** SALib's bootstrap: the design's rows (Sobol: base samples; Morris:
elementary effects) are resampled :data:`NUM_RESAMPLES` times and the interval is the
index ± z × the resamples' standard deviation at :data:`CONF_LEVEL` (a normal
approximation to the bootstrap distribution). The resampling draws from the named
stream ``sensitivity:<method>`` of :mod:`sim.base.rng`.

**Convergence.** The indices are computed twice: on the whole design and on its first
half. A Saltelli design is made of base samples of one Sobol' sequence, each giving
D + 2 consecutive rows (``sim.scenario.sweep``: ``SALib.sample.sobol``), so its first
half is the Saltelli design of the sequence's first n/2 points; a Morris design is r
trajectories of D + 1 consecutive rows, drawn independently, so its first half is a
design of r/2 trajectories. The largest change of an index between the two (Sobol:
S1 and ST, absolute; Morris: mu*, as a fraction of the largest mu*) is compared with
:data:`SOBOL_TOLERANCE` or :data:`MORRIS_TOLERANCE`: within it, the indices are
*settled*.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from sim.base import names
from sim.base.errors import ScenarioError
from sim.base.rng import generator
from sim.scenario.sweep import MORRIS_LEVELS, Sweep

CONF_LEVEL = 0.95
"""Confidence level of the bootstrap intervals (DATA.md SENS-CONF-LEVEL)."""
NUM_RESAMPLES = 1000
"""Bootstrap resamples per interval (DATA.md SENS-RESAMPLES)."""
SOBOL_TOLERANCE = 0.05
"""Largest change of a Sobol index (S1 or ST, on its 0-1 scale) between n/2 and n base
samples for the indices to count as settled (DATA.md SENS-SOBOL-TOL: assumption, range
0.02-0.10)."""
MORRIS_TOLERANCE = 0.10
"""Largest change of a Morris mu* between r/2 and r trajectories, as a fraction of the
largest mu*, for the screening to count as settled (DATA.md SENS-MORRIS-TOL:
assumption, range 0.05-0.20)."""
METHODS = ("sobol", "morris")
INDICES = {"sobol": ("S1", "ST"), "morris": ("mu_star", "sigma")}
"""The two indices of each method, the one that ranks the parameters first."""
PARAMETER = "parameter"
OUTPUT = "output"


def output_values(ds: xr.Dataset, spec: str, *, file: str = "<sweep>") -> xr.DataArray:
    """One value per (scenario, point) for the output ``spec`` (see the module docstring)."""
    name, _, sel_text = spec.partition(":")
    if name not in ds.data_vars:
        some = ", ".join(map(str, list(ds.data_vars)[:12]))
        raise ScenarioError(
            file,
            "outputs",
            spec,
            f"no such result variable; some that exist: {some}",
        )
    da = ds[name]
    if sel_text:
        sel: dict[str, Any] = {}
        for part in sel_text.split(","):
            dim, _, value = part.partition("=")
            if dim not in da.dims:
                raise ScenarioError(file, "outputs", spec, f"{name} has no dimension {dim!r}")
            coord = da[dim].values
            sel[dim] = type(coord[0].item())(value) if coord.size else value
        try:
            da = da.sel(sel)
        except KeyError as exc:
            raise ScenarioError(file, "outputs", spec, f"no such coordinate value: {exc}") from None
    keep = {names.SCENARIO, "point", names.REPLICATE}
    da = da.sum([d for d in da.dims if d not in keep])
    if names.REPLICATE in da.dims:
        da = da.mean(names.REPLICATE)
    return da


def design_size(method: str, rows: int, d: int) -> int:
    """Sobol base samples n, or Morris trajectories r, of a design of ``rows`` rows over
    ``d`` parameters."""
    return rows // (d + 2 if method == "sobol" else d + 1)


def analyse(sweep: Sweep, ds: xr.Dataset, seed: int) -> xr.Dataset:
    """Sensitivity indices of every output of the sweep, per scenario, with their
    bootstrap intervals, the same indices on the first half of the design and the
    largest change between the two (module docstring); dims (output, [scenario,]
    parameter). The design is in the attributes and in ``bound_low``/``bound_high``;
    each output's units and long name in the ``output_units``/``output_long_name``
    coordinates."""
    if sweep.method not in METHODS:
        raise ScenarioError(
            sweep.file, "method", sweep.method, "sensitivity indices need method sobol or morris"
        )
    if not sweep.outputs:
        raise ScenarioError(
            sweep.file, "outputs", [], "name at least one output for sensitivity indices"
        )
    problem = sweep.problem()
    x = np.array([[p[k] for k in problem["names"]] for p in sweep.points], dtype=float)
    scenarios = list(ds[names.SCENARIO].values) if names.SCENARIO in ds.dims else [None]
    results = []
    for spec in sweep.outputs:
        vals = output_values(ds, spec, file=sweep.file)
        per_sc = [
            analyse_output(
                sweep.method,
                problem,
                x,
                np.asarray(vals.sel({names.SCENARIO: sc}).values if sc is not None else vals),
                seed,
            )
            for sc in scenarios
        ]
        results.append(
            xr.concat(per_sc, dim=names.SCENARIO) if scenarios[0] is not None else per_sc[0]
        )
    out = xr.concat(results, dim=OUTPUT).assign_coords({OUTPUT: list(sweep.outputs)})
    if scenarios[0] is not None:
        out = out.assign_coords({names.SCENARIO: scenarios})
    return _describe_design(out, sweep, ds, seed)


def _describe_design(out: xr.Dataset, sweep: Sweep, ds: xr.Dataset, seed: int) -> xr.Dataset:
    """``out`` with the outputs' units and long names, the parameters' ranges and the
    design (method, size, intervals, tolerance) in its attributes."""
    units, long_names = [], []
    for spec in sweep.outputs:
        attrs = ds[spec.partition(":")[0]].attrs
        units.append(str(attrs.get("units", "1")))
        long_names.append(str(attrs.get("long_name", spec)))
    problem = sweep.problem()
    bounds = np.asarray(problem["bounds"], dtype=float)
    d = len(problem["names"])
    n = design_size(sweep.method, len(sweep.points), d)
    out = out.assign_coords(
        output_units=(OUTPUT, units, {"long_name": "units of the output"}),
        output_long_name=(OUTPUT, long_names, {"long_name": "what the output is"}),
    )
    out[OUTPUT].attrs = {"long_name": "output (result variable[:dim=value,...])"}
    out[PARAMETER].attrs = {"long_name": "swept scenario key"}
    out["bound_low"] = (PARAMETER, bounds[:, 0], {"long_name": "low end of the swept range"})
    out["bound_high"] = (PARAMETER, bounds[:, 1], {"long_name": "high end of the swept range"})
    for var in ("bound_low", "bound_high"):
        out[var].attrs["units"] = "those of the key (scenarios/README.md)"
    out.attrs = {
        "method": sweep.method,
        "sweep_file": sweep.file,
        "points": len(sweep.points),
        "design_size": n,
        "design_size_half": n // 2,
        "design_size_meaning": "base samples" if sweep.method == "sobol" else "trajectories",
        "conf_level": CONF_LEVEL,
        "num_resamples": NUM_RESAMPLES,
        "tolerance": SOBOL_TOLERANCE if sweep.method == "sobol" else MORRIS_TOLERANCE,
        "seed": seed,
    }
    return out


def analyse_output(
    method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int
) -> xr.Dataset:
    """Indices of one output vector ``y`` (one value per design row) on the whole design
    and on its first half (``<index>_half``), the largest change between them
    (``change``) and the output's spread over the design (``output_sd``)."""
    d = problem["num_vars"]
    y = np.asarray(y, dtype=float)
    full = indices(method, problem, x, y, seed)
    half_size = design_size(method, len(y), d) // 2
    rows = half_size * (d + 2 if method == "sobol" else d + 1)
    enough = half_size >= 2
    if enough:
        half = indices(method, problem, x[:rows], y[:rows], seed)
    else:  # one base sample or trajectory: no spread to compare; not checked
        half = full.copy(data={k: np.full_like(v.values, np.nan) for k, v in full.items()})
    out = full
    for var in INDICES[method]:
        out[f"{var}_half"] = half[var].copy()
        out[f"{var}_half"].attrs = {
            **full[var].attrs,
            "long_name": f"{full[var].attrs['long_name']}, first half of the design",
        }
    out["change"] = ((), largest_change(method, full, half) if enough else np.nan)
    out["change"].attrs = _change_attrs(method)
    out["output_sd"] = ((), float(np.std(y)) if y.size else np.nan)
    out["output_sd"].attrs = {
        "long_name": "standard deviation of the output over the design's points",
        "units": "output units (output_units)",
    }
    return out


def _change_attrs(method: str) -> dict[str, str]:
    if method == "sobol":
        return {
            "long_name": "largest absolute change of S1 or ST between n/2 and n base samples",
            "units": "1",
        }
    return {
        "long_name": "largest change of mu* between r/2 and r trajectories, as a fraction "
        "of the largest mu*",
        "units": "1",
    }


def largest_change(method: str, full: xr.Dataset, half: xr.Dataset) -> float:
    """The convergence measure of the module docstring between the indices of the whole
    design (``full``) and of its first half (``half``)."""
    if method == "sobol":
        diffs = [np.abs(full[v].values - half[v].values) for v in ("S1", "ST")]
        return float(np.max(np.concatenate(diffs)))
    mu, mu_half = full["mu_star"].values, half["mu_star"].values
    top = float(np.max(mu))
    # all effects zero on the whole design means zero on its half too: nothing moved
    return float(np.max(np.abs(mu - mu_half)) / top) if top > 0 else 0.0


def settled(sens: xr.Dataset) -> xr.DataArray:
    """Whether each output's indices are settled: their largest change between the half
    and the whole design is within the tolerance stored with them (False when it could
    not be checked)."""
    return sens["change"] <= float(sens.attrs["tolerance"])


def indices(
    method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int
) -> xr.Dataset:
    """SALib indices for one output vector ``y`` (one value per design row), with
    bootstrap confidence half-widths (``<index>_conf``; module docstring). An output
    that does not vary has no Sobol indices (NaN)."""
    gen = generator(seed, 0, f"sensitivity:{method}")
    y = np.asarray(y, dtype=float)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # SALib warns on a base sample that is not a power of 2 and on a constant output
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        bootstrap = {"num_resamples": NUM_RESAMPLES, "conf_level": CONF_LEVEL, "seed": gen}
        if method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, **bootstrap)
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, x, y, num_levels=MORRIS_LEVELS, **bootstrap)
    return _index_dataset(method, problem["names"], res)


def _index_dataset(method: str, params: list[str], res: Any) -> xr.Dataset:
    level = f"{CONF_LEVEL:.0%} bootstrap confidence half-width ({NUM_RESAMPLES} resamples)"
    per_range = "output units (output_units) per the parameter's whole swept range"
    data: dict[str, tuple[str, str]]
    if method == "sobol":
        data = {
            "S1": ("first-order Sobol index", "1"),
            "S1_conf": (f"{level} of S1", "1"),
            "ST": ("total-order Sobol index", "1"),
            "ST_conf": (f"{level} of ST", "1"),
        }
    else:
        data = {
            "mu_star": ("Morris mean absolute elementary effect mu*", per_range),
            "mu_star_conf": (f"{level} of mu*", per_range),
            "sigma": ("standard deviation of the elementary effects", per_range),
        }
    return xr.Dataset(
        {
            k: (PARAMETER, np.asarray(res[k], dtype=float), {"long_name": ln, "units": unit})
            for k, (ln, unit) in data.items()
        },
        coords={PARAMETER: params},
    )
