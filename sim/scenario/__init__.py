"""Scenario files: TOML with ``extends``, validated once into a frozen :class:`Scenario`.

>>> from sim.scenario import load, draw
>>> sc = load("scenarios/baseline.toml")
>>> central = draw(sc, replicate=0)      # every uncertain input at its median
"""

from __future__ import annotations

from sim.base.errors import ScenarioError
from sim.scenario.draw import check_drawn, resolve_model, uncertain_keys
from sim.scenario.load import load, load_dict, load_drawn, read_layers
from sim.scenario.model import Scenario
from sim.scenario.types import YearPath, number, path_at, path_points


def draw(scenario: Scenario, replicate: int, seed: int | None = None) -> Scenario:
    """The scenario with every uncertain input resolved to a number for ``replicate``.

    ``seed`` defaults to ``scenario.run.seed``. Replicate 0 takes every input's median.
    """
    root = scenario.run.seed if seed is None else seed
    resolved: Scenario = resolve_model(scenario, root, replicate)
    return resolved


__all__ = [
    "Scenario",
    "ScenarioError",
    "YearPath",
    "check_drawn",
    "draw",
    "load",
    "load_dict",
    "load_drawn",
    "number",
    "path_at",
    "path_points",
    "read_layers",
    "uncertain_keys",
]
