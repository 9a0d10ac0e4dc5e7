"""Resolve a scenario's uncertain inputs for one replicate.

Replicate 0 takes every central value. Replicate ``r > 0`` draws each uncertain
input from its own random stream ``"param:<dotted key>"`` (see :mod:`sim.base.rng`):
one uniform number, mapped through the inverse CDF truncated to the input's
allowed range. Keying by name means adding an input never changes the draws of
the others, and replicate ``r`` of two scenarios that share a distribution draws
the same value for it (common random numbers).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from sim.base import rng
from sim.scenario.types import Bounds, Distribution, Interval80, Normal, Triangular, Uniform

_DISTRIBUTIONS = (Normal, Triangular, Uniform, Interval80)


def _bounds_of(field_info: Any) -> Bounds:
    for meta in getattr(field_info, "metadata", ()):
        if isinstance(meta, Bounds):
            return meta
    return Bounds()


def draw_value(dist: Distribution, bounds: Bounds, u: float) -> float:
    """Value of ``dist`` at probability ``u`` in (0, 1), truncated to ``bounds``."""
    lo = dist.cdf(bounds.low) if math.isfinite(bounds.low) else 0.0
    hi = dist.cdf(bounds.high) if math.isfinite(bounds.high) else 1.0
    x = dist.ppf(lo + u * (hi - lo))
    return min(max(x, bounds.low), bounds.high)


def uniform_for(root_seed: int, replicate: int, key: str) -> float:
    """The one uniform number of input ``key`` for a replicate."""
    return float(rng.generator(root_seed, replicate, f"param:{key}").random())


def _resolve(
    value: Any,
    bounds: Bounds,
    key: str,
    seed: int,
    replicate: int,
    fixed_u: dict[str, float] | None,
) -> Any:
    if isinstance(value, _DISTRIBUTIONS):
        if fixed_u is not None and key in fixed_u:
            return draw_value(value, bounds, fixed_u[key])
        if replicate == 0:
            return value.central()
        return draw_value(value, bounds, uniform_for(seed, replicate, key))
    if isinstance(value, BaseModel):
        return resolve_model(value, seed, replicate, key + ".", fixed_u)
    if isinstance(value, dict):
        return {
            k: _resolve(v, bounds, f"{key}.{k}", seed, replicate, fixed_u) for k, v in value.items()
        }
    return value


def resolve_model(
    model: BaseModel,
    seed: int,
    replicate: int,
    prefix: str = "",
    fixed_u: dict[str, float] | None = None,
) -> Any:
    updates = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        new = _resolve(value, _bounds_of(info), prefix + name, seed, replicate, fixed_u)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def uncertain_keys(model: BaseModel, prefix: str = "") -> list[str]:
    """Dotted keys of every input given as a distribution (for sweeps and reports)."""
    keys: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = prefix + name
        if isinstance(value, _DISTRIBUTIONS):
            keys.append(key)
        elif isinstance(value, BaseModel):
            keys += uncertain_keys(value, key + ".")
        elif isinstance(value, dict):
            keys += [f"{key}.{k}" for k, v in value.items() if isinstance(v, _DISTRIBUTIONS)]
    return keys
