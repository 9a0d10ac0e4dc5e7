"""Sweep files: which scenario keys vary, and how (grid, Latin hypercube, Sobol, Morris).

A sweep file is TOML::

    method = "lhs"          # "grid", "lhs", "sobol" (Saltelli design) or "morris"
    n = 32                  # lhs: points; sobol: base sample N (N*(2D+2) points);
                            # morris: trajectories (r*(D+1) points); grid: unused
    seed = 7                # optional; the sample's own seed (default: the batch seed)
    outputs = ["beds_needed_2030"]   # optional: outputs for sensitivity indices

    [parameters]
    "demography.srb" = [1.06, 1.10]                  # grid: a list of values
    "demography.e0_extra_gain" = {low = 0.0, high = 0.3}   # the others: a range

Every point is applied to each scenario of the batch and validated like a
scenario file; a bad key or value is reported against the sweep file.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim import rng
from sim.errors import ScenarioError
from sim.scenario.load import load_dict

METHODS = ("grid", "lhs", "sobol", "morris")
TOP_KEYS = {"method", "n", "seed", "outputs", "parameters", "description"}
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep: the points (dotted key -> value) and what is needed to analyse them."""

    file: str
    method: str
    parameters: dict[str, Any]
    points: list[dict[str, float]]
    outputs: list[str]
    seed: int | None

    def problem(self) -> dict[str, Any]:
        """SALib problem definition (ranges of the sampled parameters)."""
        keys = list(self.parameters)
        bounds = [
            [float(self.parameters[k]["low"]), float(self.parameters[k]["high"])] for k in keys
        ]
        return {"num_vars": len(keys), "names": keys, "bounds": bounds}


def apply_point(
    raw: dict[str, Any], point: dict[str, Any], *, file: str = "<sweep>"
) -> dict[str, Any]:
    """A copy of a raw scenario mapping with dotted keys set (``a.b.2030`` sets a year)."""
    out = copy.deepcopy(raw)
    for dotted, value in point.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                if leaf.isdigit() and part == parents[-1]:
                    child = {str(leaf): child}  # a single value becomes a one-year table
                    node[part] = child
                else:
                    raise ScenarioError(
                        file,
                        f"parameters.{dotted}",
                        value,
                        f"'{part}' holds a single value, not a table",
                    )
            node = child
        node[leaf] = value
    return out


def _sample(method: str, params: dict[str, Any], n: int, gen: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    d = len(params)
    lows = np.array([p["low"] for p in params.values()], dtype=float)
    highs = np.array([p["high"] for p in params.values()], dtype=float)
    if method == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=gen).random(n)
        return lows + unit * (highs - lows)
    problem = {
        "num_vars": d,
        "names": list(params),
        "bounds": np.column_stack([lows, highs]).tolist(),
    }
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        return np.asarray(sobol_sample.sample(problem, n, calc_second_order=False, seed=gen))
    from SALib.sample import morris as morris_sample

    return np.asarray(morris_sample.sample(problem, n, num_levels=4, seed=gen))


def load_sweep(
    path: str | Path, base_raw: dict[str, Any] | None = None, batch_seed: int = 0
) -> Sweep:
    """Read, expand and check a sweep file. ``base_raw`` (a scenario as data) is used to
    validate every point."""
    file = Path(path)
    try:
        with file.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(file, None, None, "sweep file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, None, None, f"not valid TOML: {exc}") from None
    for key in raw:
        if key not in TOP_KEYS:
            raise ScenarioError(
                file, key, raw[key], f"unknown key; allowed here: {', '.join(sorted(TOP_KEYS))}"
            )
    method = raw.get("method", "grid")
    if method not in METHODS:
        raise ScenarioError(file, "method", method, f"must be one of {', '.join(METHODS)}")
    params = raw.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ScenarioError(
            file, "parameters", params, "needs a [parameters] table with at least one key"
        )
    n = raw.get("n", 0 if method == "grid" else None)
    if method != "grid" and (not isinstance(n, int) or isinstance(n, bool) or n < 2):
        raise ScenarioError(file, "n", n, f"method {method} needs n, a whole number >= 2")
    seed = raw.get("seed")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ScenarioError(file, "seed", seed, "must be a whole number >= 0")
    outputs = raw.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise ScenarioError(file, "outputs", outputs, "must be a list of output names")

    for key, spec in params.items():
        where = f"parameters.{key}"
        if method == "grid":
            if not isinstance(spec, list) or not spec:
                raise ScenarioError(
                    file, where, spec, "grid sweeps need a non-empty list of values"
                )
        else:
            if not (
                isinstance(spec, dict)
                and set(spec) == {"low", "high"}
                and all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in spec.values()
                )
            ):
                raise ScenarioError(
                    file, where, spec, f"method {method} needs a range {{low = ..., high = ...}}"
                )
            if spec["low"] >= spec["high"]:
                raise ScenarioError(file, where, spec, "needs low < high")

    if method == "grid":
        keys = list(params)
        points = [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*params.values())
        ]
    else:
        gen = rng.generator(batch_seed if seed is None else seed, 0, f"sweep:{method}")
        values = _sample(method, params, int(n or 0), gen)
        points = [{k: float(v) for k, v in zip(params, row, strict=True)} for row in values]
    if len(points) > MAX_POINTS:
        raise ScenarioError(
            file, "parameters", len(points), f"expands to more than {MAX_POINTS:,} points"
        )

    if base_raw is not None:
        # every point must make a valid scenario; check the extremes of each key cheaply
        # by validating every point (validation is fast: ~0.1 ms a point)
        for i, point in enumerate(points):
            try:
                load_dict(apply_point(base_raw, point, file=str(file)), file=str(file))
            except ScenarioError as exc:
                key = exc.key or ""
                sweep_key = next(
                    (
                        k
                        for k in point
                        if key == k or key.startswith(k + ".") or k.startswith(key + ".")
                    ),
                    key,
                )
                raise ScenarioError(
                    file,
                    f"parameters.{sweep_key}",
                    point.get(sweep_key, exc.value),
                    f"point {i}: {exc.allowed}",
                ) from None
    return Sweep(str(file), method, params, points, outputs, seed)
