"""Replicate 0 is the median of every uncertain input: the middle of what the drawn
replicates take, so the report's central figures sit in the middle of their ranges."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim.scenario import draw, load, uncertain_keys
from sim.scenario.draw import draw_value
from sim.scenario.types import Bounds, Triangular

ROOT = Path(__file__).resolve().parents[1]
DRAWN = 120
"""Replicates drawn per input: the empirical CDF at the median is 0.5 ± 0.046 (1 sd)."""


def _at(model: Any, dotted: str) -> Any:
    """The value at a dotted key of :func:`uncertain_keys` (``a.b``, ``a.b[2]``)."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        if part.startswith("["):
            model = model[int(part[1:-1])]
        elif isinstance(model, dict):
            model = model[part]
        else:
            model = getattr(model, part)
    return model


@given(
    low=st.floats(-1e3, 1e3),
    left=st.floats(0.0, 1e3),
    right=st.floats(0.0, 1e3),
)
def test_triangular_central_is_its_median(low: float, left: float, right: float) -> None:
    """The closed form agrees with scipy's inverse CDF at one half, skew either way."""
    tri = Triangular(dist="triangular", low=low, mode=low + left, high=low + left + right)
    if right + left == 0:
        assert tri.central() == low
        return
    expected = stats.triang(c=left / (left + right), loc=low, scale=left + right).ppf(0.5)
    assert tri.central() == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert draw_value(tri, Bounds(), 0.5) == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_a_skewed_input_is_not_taken_at_its_mode() -> None:
    """Bug: replicate 0 took a triangular's mode, e.g. the older patients' ED-use ratio
    1.0 of 1.0 / 1.0 / 2.0, the lowest value any replicate can draw."""
    tri = Triangular(dist="triangular", low=1.0, mode=1.0, high=2.0)
    assert tri.central() == pytest.approx(2.0 - 0.5**0.5)


@pytest.mark.slow
def test_replicate_0_sits_at_the_median_of_the_draws() -> None:
    """For every uncertain input of the baseline, the share of drawn replicates below
    replicate 0's value is one half (within four standard errors of DRAWN draws)."""
    scenario = load(ROOT / "scenarios" / "baseline.toml")
    keys = uncertain_keys(scenario)
    assert len(keys) >= 10
    central = draw(scenario, 0)
    drawn = [draw(scenario, r) for r in range(1, DRAWN + 1)]
    tolerance = 4 * (0.25 / DRAWN) ** 0.5
    for key in keys:
        values = np.array([float(_at(d, key)) for d in drawn])
        if np.ptp(values) == 0:
            continue
        below = float(np.mean(values < float(_at(central, key))))
        assert abs(below - 0.5) <= tolerance, f"{key}: {below:.3f} of draws below replicate 0"
