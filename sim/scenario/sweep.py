"""Sweep files: which scenario keys vary, and how (grid, Latin hypercube, Sobol, Morris).

A sweep file is TOML::

    method = "lhs"          # "grid", "lhs", "sobol" (Saltelli design) or "morris"
    n = 32                  # lhs: points; sobol: base sample N (N*(D+2) points);
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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from sim.base import rng
from sim.base.errors import ScenarioError
from sim.scenario.load import MAX_NESTING, load_dict, read_toml
from sim.scenario.model import SEED_ALLOWED, is_seed

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


MORRIS_LEVELS = 4
"""Grid levels of a Morris design: the sampler here and the analysis
(:mod:`sim.model.sensitivity`) must use the same."""


def _sample(method: str, params: dict[str, Any], n: int, gen: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    d = len(params)
    lows = np.array([p["low"] for p in params.values()], dtype=float)
    highs = np.array([p["high"] for p in params.values()], dtype=float)
    if method == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=gen).random(n)
        points: np.ndarray = lows + unit * (highs - lows)
        return points
    problem = {
        "num_vars": d,
        "names": list(params),
        "bounds": np.column_stack([lows, highs]).tolist(),
    }
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        return np.asarray(sobol_sample.sample(problem, n, calc_second_order=False, seed=gen))
    from SALib.sample import morris as morris_sample

    return np.asarray(morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=gen))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _whole(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_output(spec: str) -> tuple[str, list[tuple[str, str]]]:
    """Name and selectors of an output ``name[:dim=value,...]`` (see
    :mod:`sim.model.sensitivity`); raises ValueError saying what is wrong with the form."""
    name, colon, sel_text = spec.partition(":")
    if not name:
        raise ValueError("needs a result variable name before any ':'")
    selectors = []
    for part in sel_text.split(",") if colon else []:
        dim, equals, value = part.partition("=")
        if not (dim and equals and value):
            raise ValueError(f"selector {part!r} must be dimension=value, e.g. year=2030")
        selectors.append((dim, value))
    return name, selectors


def _check_top(file: Path, raw: dict[str, Any]) -> tuple[str, int | None, int | None, list[str]]:
    """The sweep's method, n, seed and outputs, each checked."""
    for key, value in raw.items():
        if key not in TOP_KEYS:
            raise ScenarioError(
                file, key, value, f"unknown key; allowed here: {', '.join(sorted(TOP_KEYS))}"
            )
    method = raw.get("method", "grid")
    if method not in METHODS:
        raise ScenarioError(file, "method", method, f"must be one of {', '.join(METHODS)}")
    n = raw.get("n", 0 if method == "grid" else None)
    if method != "grid" and (not _whole(n) or n < 2):
        raise ScenarioError(file, "n", n, f"method {method} needs n, a whole number >= 2")
    seed = raw.get("seed")
    if seed is not None and not is_seed(seed):
        raise ScenarioError(file, "seed", seed, SEED_ALLOWED)
    outputs = raw.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise ScenarioError(file, "outputs", outputs, "must be a list of output names")
    for spec in outputs:
        try:
            parse_output(spec)
        except ValueError as exc:
            raise ScenarioError(file, "outputs", spec, str(exc)) from None
    return method, n, seed, outputs


def _check_parameters(file: Path, method: str, params: Any) -> dict[str, Any]:
    """The [parameters] table: lists of values (grid) or finite ranges (the others)."""
    if not isinstance(params, dict) or not params:
        raise ScenarioError(
            file, "parameters", params, "needs a [parameters] table with at least one key"
        )
    for key, spec in params.items():
        where = f"parameters.{key}"
        if key.count(".") >= MAX_NESTING:  # as deep as a file may nest (sim.scenario.load)
            raise ScenarioError(
                file,
                "parameters",
                key,
                f"must be a key at most {MAX_NESTING} levels deep, like demography.srb",
            )
        if method == "grid":
            if not isinstance(spec, list) or not spec:
                raise ScenarioError(
                    file, where, spec, "grid sweeps need a non-empty list of values"
                )
            continue
        if not (isinstance(spec, dict) and set(spec) == {"low", "high"}):
            raise ScenarioError(
                file, where, spec, f"method {method} needs a range {{low = ..., high = ...}}"
            )
        if not all(_number(v) and math.isfinite(v) for v in spec.values()):
            raise ScenarioError(file, where, spec, "low and high must be finite numbers")
        if spec["low"] >= spec["high"]:
            raise ScenarioError(file, where, spec, "needs low < high")
    return params


def point_count(method: str, params: dict[str, Any], n: int) -> int:
    """How many points a sweep expands to, known before any is made."""
    d = len(params)
    if method == "grid":
        return math.prod(len(values) for values in params.values())
    return {"lhs": n, "sobol": n * (d + 2), "morris": n * (d + 1)}[method]


def _expand(
    file: Path, method: str, params: dict[str, Any], n: int, seed: int
) -> list[dict[str, Any]]:
    """The points, refused before they are made if there would be too many."""
    count = point_count(method, params, n)
    if count > MAX_POINTS:
        key, value = ("parameters", count) if method == "grid" else ("n", n)
        raise ScenarioError(
            file, key, value, f"expands to {count:,} points; at most {MAX_POINTS:,} are allowed"
        )
    if method == "grid":
        combos = itertools.product(*params.values())
        return [dict(zip(params, combo, strict=True)) for combo in combos]
    gen = rng.generator(seed, 0, f"sweep:{method}")
    values = _sample(method, params, n, gen)
    return [{k: float(v) for k, v in zip(params, row, strict=True)} for row in values]


def _sweep_key_of(key: str, point: dict[str, Any]) -> str:
    """The sweep parameter behind an error at scenario ``key`` (the same key, a part
    of it or a table holding it), else the key itself."""
    related = (k for k in point if key == k or key.startswith(k + ".") or k.startswith(key + "."))
    return next(related, key)


def _validate_points(file: Path, points: list[dict[str, Any]], base_raw: dict[str, Any]) -> None:
    """Every point must make a valid scenario (validation is fast: ~0.1 ms a point)."""
    for i, point in enumerate(points):
        try:
            load_dict(apply_point(base_raw, point, file=str(file)), file=str(file))
        except ScenarioError as exc:
            sweep_key = _sweep_key_of(exc.key or "", point)
            raise ScenarioError(
                file,
                f"parameters.{sweep_key}",
                point.get(sweep_key, exc.value),
                f"point {i}: {exc.allowed}",
            ) from None


def load_sweep(
    path: str | Path, base_raw: dict[str, Any] | None = None, batch_seed: int = 0
) -> Sweep:
    """Read, expand and check a sweep file. ``base_raw`` (a scenario as data) is used to
    validate every point."""
    file = Path(path)
    raw = read_toml(file, ScenarioError(file, None, None, "sweep file not found"))
    method, n, seed, outputs = _check_top(file, raw)
    params = _check_parameters(file, method, raw.get("parameters"))
    points = _expand(file, method, params, int(n or 0), batch_seed if seed is None else seed)
    if base_raw is not None:
        _validate_points(file, points, base_raw)
    return Sweep(str(file), method, params, points, outputs, seed)
