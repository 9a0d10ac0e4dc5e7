"""Draws stay inside each key's range, optional keys (``... | None``) included."""

from __future__ import annotations

import math
import typing
from typing import Any

from pydantic import BaseModel

from sim.scenario import Scenario, draw, load_dict, path_points
from sim.scenario.reference import model_of
from sim.scenario.types import Bounds, field_bounds


def _optional_bounded(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Bounds]]:
    """Dotted keys and ranges of the optional uncertain inputs and year paths."""
    out = []
    for name, info in model.model_fields.items():
        bounds = field_bounds(info)
        sub = model_of(info.annotation)
        if bounds is None and sub is not None:
            out += _optional_bounded(sub, f"{prefix}{name}.")
        elif bounds is not None and type(None) in typing.get_args(info.annotation):
            out.append((prefix + name, bounds))
    return out


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": "wide"}
    node = raw
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def test_draws_of_an_optional_key_lie_in_its_range():
    """Bug: the range of an optional key was not found, so its draws were not truncated
    (``demand.reforms.chc_target_share``, 0-0.95, drew 1.14)."""
    keys = _optional_bounded(Scenario)
    assert "demand.reforms.chc_target_share" in dict(keys)
    assert "capacity.gp.visits_per_gp" in dict(keys)
    for key, b in keys:
        assert math.isfinite(b.low) and math.isfinite(b.high), key
        # the widest normal the range allows, centred: most draws fall outside it
        wide = {"dist": "normal", "mean": 0.5 * (b.low + b.high), "sd": b.high - b.low}
        sc = load_dict(_nest(key, wide))
        for r in range(1, 11):
            value: Any = draw(sc, r)
            for part in key.split("."):
                value = getattr(value, part)
            _, ys = path_points(value)
            assert all(b.low <= y <= b.high for y in ys), (key, r, ys)
