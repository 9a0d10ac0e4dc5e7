"""Global sensitivity analysis of batch outputs over a sweep (SALib: Sobol or Morris).

An *output* is named ``variable`` or ``variable:dim=value,dim=value`` (e.g.
``population_total:year=2030``): the variable is selected at those coordinates,
summed over its other dimensions (e.g. over bed pools), and averaged over
replicates, giving one number per sweep point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from sim.base import names
from sim.base.errors import ScenarioError
from sim.base.rng import generator
from sim.scenario.sweep import Sweep


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


def analyse(sweep: Sweep, ds: xr.Dataset, seed: int) -> xr.Dataset:
    """Sensitivity indices of every output of the sweep, per scenario.

    Sobol designs give first-order and total indices (S1, ST) with 95% confidence
    half-widths; Morris designs give mu* (mean absolute elementary effect), its
    confidence half-width, and sigma."""
    if sweep.method not in ("sobol", "morris"):
        raise ScenarioError(
            sweep.file, "method", sweep.method, "sensitivity indices need method sobol or morris"
        )
    if not sweep.outputs:
        raise ScenarioError(
            sweep.file, "outputs", [], "name at least one output for sensitivity indices"
        )
    problem = sweep.problem()
    x = np.array([[p[k] for k in problem["names"]] for p in sweep.points])
    scenarios = list(ds[names.SCENARIO].values) if names.SCENARIO in ds.dims else [None]
    results = []
    for spec in sweep.outputs:
        vals = output_values(ds, spec, file=sweep.file)
        per_sc = []
        for sc in scenarios:
            y = np.asarray(
                vals.sel({names.SCENARIO: sc}).values if sc is not None else vals.values,
                dtype=float,
            )
            per_sc.append(indices(sweep.method, problem, x, y, seed))
        results.append(
            xr.concat(per_sc, dim=names.SCENARIO) if scenarios[0] is not None else per_sc[0]
        )
    out = xr.concat(results, dim="output").assign_coords(output=list(sweep.outputs))
    if scenarios[0] is not None:
        out = out.assign_coords({names.SCENARIO: scenarios})
    out.attrs = {"method": sweep.method, "sweep_file": sweep.file, "points": len(sweep.points)}
    return out


def indices(
    method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int
) -> xr.Dataset:
    """SALib indices for one output vector ``y`` (one value per design row)."""
    gen = generator(seed, 0, f"sensitivity:{method}")
    params = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(problem, y, calc_second_order=False, seed=gen)
        data = {
            "S1": ("parameter", res["S1"], "first-order Sobol index"),
            "S1_conf": ("parameter", res["S1_conf"], "95% confidence half-width of S1"),
            "ST": ("parameter", res["ST"], "total-order Sobol index"),
            "ST_conf": ("parameter", res["ST_conf"], "95% confidence half-width of ST"),
        }
    else:
        from SALib.analyze import morris

        res = morris.analyze(problem, x, y, num_levels=4, seed=gen)
        data = {
            "mu_star": (
                "parameter",
                np.asarray(res["mu_star"]),
                "Morris mean absolute elementary effect",
            ),
            "mu_star_conf": (
                "parameter",
                np.asarray(res["mu_star_conf"]),
                "95% confidence half-width of mu*",
            ),
            "sigma": (
                "parameter",
                np.asarray(res["sigma"]),
                "standard deviation of elementary effects",
            ),
        }
    return xr.Dataset(
        {
            k: (
                dim,
                np.asarray(v, dtype=float),
                {"long_name": ln, "units": "1" if k.startswith("S") else "output units"},
            )
            for k, (dim, v, ln) in data.items()
        },
        coords={"parameter": params},
    )
