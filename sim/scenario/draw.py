"""Resolve a scenario's uncertain inputs for one replicate.

Replicate 0 takes every input's median: the value at probability one half, through
the same truncated inverse CDF as the draws (:data:`~sim.scenario.types.MEDIAN_U`),
so replicate 0 is the middle of what the other replicates draw, whatever the
distribution's skew (a triangular's mode is not). Replicate ``r > 0`` draws each uncertain
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
from sim.scenario.types import (
    MEDIAN_U,
    Bounds,
    Distribution,
    Interval80,
    Normal,
    Triangular,
    Uniform,
    field_bounds,
)

_DISTRIBUTIONS = (Normal, Triangular, Uniform, Interval80)


def _bounds_of(field_info: Any) -> Bounds:
    """The field's range, an optional one's included (unbounded for other fields)."""
    return field_bounds(field_info) or Bounds()


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
            return draw_value(value, bounds, MEDIAN_U)
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


def uncertain_keys(value: Any, prefix: str = "") -> list[str]:
    """Dotted keys of every input given as a distribution, anywhere in ``value`` (a model,
    or a table or list inside one; a list item's key is ``key[i]``), for sweeps, reports
    and :func:`check_drawn`."""
    if isinstance(value, _DISTRIBUTIONS):
        return [prefix]
    if isinstance(value, BaseModel):
        items = [
            (f"{prefix}.{k}" if prefix else k, getattr(value, k)) for k in type(value).model_fields
        ]
    elif isinstance(value, dict):
        items = [(f"{prefix}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{prefix}[{i}]", v) for i, v in enumerate(value)]
    else:
        return []
    return [key for name, v in items for key in uncertain_keys(v, name)]


def check_drawn(model: BaseModel) -> None:
    """Raise TypeError if a distribution is left anywhere in ``model``: a drawn scenario
    (:func:`sim.scenario.draw`) holds only numbers, and a model reading a distribution as
    one would compute with the wrong thing."""
    left = uncertain_keys(model)
    if left:
        raise TypeError(f"a drawn scenario holds distributions at {', '.join(left)}")
