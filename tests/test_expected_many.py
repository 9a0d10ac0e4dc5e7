"""The vectorised expected level and sizing equal the one-at-a-time path.

``expected_many`` on a batch of resolved scenarios against ``expected_level`` one at a
time (random points and the corners of the ranges the shipped sweeps and the targets
allow), and the array searches of ``sim.model.analytic`` against a plain-Python walk of
the Erlang B recursion, on random loads from near 0 to tens of thousands of erlangs
and targets near both ends of (0, 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from sim.base.errors import ScenarioError
from sim.base.names import SAMPLE
from sim.data import load_demographic_tables
from sim.data.profiles import load_holidays, load_profiles
from sim.data.service_tables import load_service_tables
from sim.model import analytic
from sim.model.demography import project
from sim.model.expected import expected_level, expected_many
from sim.scenario import draw, load_dict
from sim.scenario.load import read_layers
from sim.scenario.sweep import apply_point

ROOT = Path(__file__).resolve().parents[1]
REL = 1e-9

RANGES: dict[str, tuple[float, float]] = {
    # the shipped sweeps' parameters (sweeps/*.toml)
    "demand.calibration.alos_days": (7.0, 8.8),
    "demand.calibration.occupancy": (0.80, 0.85),
    "demand.growth.admissions": (0.0, 0.03),
    "demand.los_older_multiplier": (1.0, 1.4),
    "demography.tfr.2030": (0.8, 1.3),
    "migration.young_workers": (-20_000.0, 20_000.0),
    "capacity.plan_target.beds": (21_000.0, 25_000.0),
    # the sizing targets, near the ends of their allowed ranges (sim/scenario/capacity.py)
    "capacity.targets.occupancy": (0.5, 1.0),
    "capacity.targets.bed_wait_probability": (1e-4, 0.95),
    "capacity.targets.bed_blocking_probability": (1e-5, 0.9),
    "capacity.targets.ed_wait_hours": (0.0, 24.0),
    "capacity.targets.ed_wait_probability": (1e-4, 0.95),
    "capacity.targets.ambulance_wait_probability": (1e-4, 0.95),
    "capacity.ambulance_job_hours": (0.25, 6.0),
}


def _points(n_random: int, seed: int) -> list[dict[str, float]]:
    """Both all-low and all-high corners, two mixed corners, and random points."""
    gen = np.random.default_rng(seed)
    keys = list(RANGES)
    lo = {k: RANGES[k][0] for k in keys}
    hi = {k: RANGES[k][1] for k in keys}
    mixed = [{k: RANGES[k][i % 2] for i, k in enumerate(keys)}]
    mixed.append({k: RANGES[k][(i + 1) % 2] for i, k in enumerate(keys)})
    rand = [{k: float(gen.uniform(*RANGES[k])) for k in keys} for _ in range(n_random)]
    return [lo, hi, *mixed, *rand]


def _scenarios(file: str, points: list[dict[str, Any]]) -> list[Any]:
    raw, _ = read_layers(ROOT / "scenarios" / file)
    return [draw(load_dict(apply_point(raw, p)), 0) for p in points]


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    scs = _scenarios("bed_pool_reform.toml", _points(3, seed=3))
    tables = load_demographic_tables(scs[0].data.model_dump())
    return {
        "scenarios": scs,
        "projections": [project(sc, tables) for sc in scs],
        "service": load_service_tables(),
        "profiles": load_profiles(),
        "calendar": load_holidays(),
    }


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    ok = np.isclose(a, b, rtol=REL, atol=0.0, equal_nan=True)
    return same_nan and bool(ok.all())


def test_expected_many_equals_expected_level_one_at_a_time(inputs: dict[str, Any]) -> None:
    args = (inputs["service"], inputs["profiles"], inputs["calendar"])
    one = xr.concat(
        [
            expected_level(sc, p, *args)
            for sc, p in zip(inputs["scenarios"], inputs["projections"], strict=True)
        ],
        dim=SAMPLE,
    )
    many = expected_many(inputs["scenarios"], xr.concat(inputs["projections"], dim=SAMPLE), *args)
    assert set(many.data_vars) == set(one.data_vars)
    moved = [k for k in one.data_vars if not _close(one[k].values, many[k].values)]
    assert not moved, f"vectorised and one-at-a-time differ beyond {REL} relative: {moved}"
    for k in one.data_vars:
        assert many[k].dims == one[k].dims, k
        assert many[k].attrs == one[k].attrs, f"{k}: units and long_name as one at a time"
    assert many.attrs == one.attrs


def test_a_batch_of_one_is_the_one_at_a_time_result(inputs: dict[str, Any]) -> None:
    args = (inputs["service"], inputs["profiles"], inputs["calendar"])
    sc, proj = inputs["scenarios"][1], inputs["projections"][1]
    many = expected_many([sc], proj.expand_dims({SAMPLE: 1}), *args).isel({SAMPLE: 0})
    one = expected_level(sc, proj, *args)
    for k in one.data_vars:
        np.testing.assert_array_equal(many[k].values, one[k].values, err_msg=k)


def test_scenarios_that_cannot_be_stacked_are_refused_in_one_line(
    inputs: dict[str, Any],
) -> None:
    args = (inputs["service"], inputs["profiles"], inputs["calendar"])
    base = _scenarios("baseline.toml", [{}, {"run.end_year": 2029}])
    projections = [project(sc, load_demographic_tables(sc.data.model_dump())) for sc in base]
    with pytest.raises(ScenarioError, match=r"run\.end_year") as err:
        expected_many(base, xr.concat(projections[:1] * 2, dim=SAMPLE), *args)
    assert "\n" not in str(err.value)
    other_pools = _scenarios(
        "baseline.toml", [{}, {"capacity.bed_pool.pools": ["icu", "paediatrics"]}]
    )
    with pytest.raises(ScenarioError, match=r"capacity\.bed_pool\.pools"):
        expected_many(other_pools, xr.concat(projections[:1] * 2, dim=SAMPLE), *args)
    with pytest.raises(ScenarioError, match="sample"):
        expected_many(base[:1], projections[0], *args)


# --- sizing ----------------------------------------------------------------------
def _reference_walk(
    a: float, rate: float, block: float, p: float | None, w: float | None, t: float | None
) -> tuple[int, int]:
    """The textbook searches in plain Python: the Erlang B recursion from B_0 = 1; the
    smallest c with B <= block; the smallest c > a with Erlang C (or its tail beyond t)
    <= p and the mean wait <= w."""
    b, c = 1.0, 0
    c_block = c_delay = 0
    while not (c_block and c_delay):
        c += 1
        b = a * b / (c + a * b)
        if not c_block and b <= block:
            c_block = c
        if not c_delay and c > a:
            erlang_c = c * b / (c - a * (1.0 - b))
            spare = c * rate - a * rate
            ok = p is None or (erlang_c * (1.0 if t is None else math.exp(-spare * t))) <= p
            ok = ok and (w is None or erlang_c / spare <= w)
            c_delay = c if ok else 0
    return c_delay, c_block


def _random_loads(gen: np.random.Generator, n: int) -> np.ndarray:
    near_zero = 10.0 ** gen.uniform(-9, -1, n // 4)
    small = gen.uniform(0.1, 50.0, n // 4)
    large = gen.uniform(1_000.0, 15_000.0, n - 2 * (n // 4))
    return np.concatenate([near_zero, small, large])


def _random_targets(gen: np.random.Generator, n: int) -> np.ndarray:
    """Probabilities near both ends of (0, 1) and in between."""
    ends = np.array([1e-9, 1e-6, 0.5, 0.999, 1.0 - 1e-9])
    return np.where(gen.random(n) < 0.5, gen.choice(ends, n), gen.uniform(1e-4, 0.99, n))


@pytest.mark.parametrize("kind", ["wait_prob", "wait_tail", "mean_wait", "both"])
def test_vectorised_server_searches_equal_the_plain_walk(kind: str) -> None:
    gen = np.random.default_rng(sum(map(ord, kind)))
    n = 48
    a = _random_loads(gen, n)
    rate = 10.0 ** gen.uniform(-2, 1, n)
    block = _random_targets(gen, n)
    p = _random_targets(gen, n) if kind != "mean_wait" else None
    w = 10.0 ** gen.uniform(-4, 1, n) if kind in ("mean_wait", "both") else None
    t = gen.choice([0.0, 0.5, 24.0], n) if kind == "wait_tail" else None
    delay, blocking = analytic.servers_for_delay_and_blocking_many(
        a, rate, block, analytic.DelayTargets.of(p, w, t)
    )
    for i in range(n):
        pi = None if p is None else float(p[i])
        wi = None if w is None else float(w[i])
        ti = None if t is None else float(t[i])
        ref = _reference_walk(float(a[i]), float(rate[i]), float(block[i]), pi, wi, ti)
        assert (int(delay[i]), int(blocking[i])) == ref, f"load {a[i]!r}"
        scalar = analytic.servers_for_delay(
            float(a[i]), float(rate[i]), max_wait_prob=pi, max_mean_wait=wi, wait_threshold=ti
        )
        assert scalar == ref[0], "the scalar search is the same walk"
        assert analytic.servers_for_blocking(float(a[i]), float(block[i])) == ref[1]
    assert (delay >= 1).all() and (blocking >= 1).all(), "every load > 0 needs a server"
    assert (delay > np.floor(a)).all(), "no c <= a is stable"


def test_an_answer_does_not_depend_on_the_rest_of_the_batch() -> None:
    gen = np.random.default_rng(7)
    a = _random_loads(gen, 40)
    targets = analytic.DelayTargets.of(0.1, None, None)
    whole = analytic.servers_for_delay_and_blocking_many(a, 1.0, 0.01, targets)
    for i in gen.choice(a.size, 8, replace=False):
        alone = analytic.servers_for_delay_and_blocking_many(a[i : i + 1], 1.0, 0.01, targets)
        assert (int(alone[0][0]), int(alone[1][0])) == (int(whole[0][i]), int(whole[1][i]))


def test_zero_loads_need_no_servers_and_shapes_are_kept() -> None:
    a = np.array([[0.0, 3.0], [1_200.0, 0.0]])
    delay, blocking = analytic.servers_for_delay_and_blocking_many(
        a, 0.5, 0.02, analytic.DelayTargets.of(0.2, None, None)
    )
    assert delay.shape == blocking.shape == a.shape
    assert delay[0, 0] == blocking[0, 0] == delay[1, 1] == 0
    sqrt = analytic.square_root_staffing_many(a, 0.5)
    assert sqrt[0, 0] == 0.0 and sqrt[1, 1] == 0.0


def test_square_root_staffing_many_is_the_rule_elementwise() -> None:
    gen = np.random.default_rng(5)
    a = _random_loads(gen, 64)
    beta = gen.uniform(0.0, 3.0, 64)
    many = analytic.square_root_staffing_many(a, beta)
    rule = [max(1, math.ceil(x + b * math.sqrt(x))) for x, b in zip(a, beta, strict=True)]
    assert many.tolist() == rule
    scalar = [
        analytic.square_root_staffing(float(x), float(b)) for x, b in zip(a, beta, strict=True)
    ]
    assert scalar == rule


def test_beds_for_occupancy_takes_a_target_per_sample() -> None:
    mean = np.array([[100.0, 0.0], [2_000.0, 50.0]])
    target = np.array([[0.5], [1.0]])
    np.testing.assert_array_equal(analytic.beds_for_occupancy(mean, target), mean / target)
    with pytest.raises(ValueError, match="target occupancy"):
        analytic.beds_for_occupancy(mean, np.array([[0.9], [0.0]]))
