"""The DES configuration's multi-stage stays and the one-bed-pool reform by date
(``sim.runs.pipeline.des_config``) against the expected level they are built from."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from sim.base.errors import ScenarioError
from sim.base.names import POOLS
from sim.des.arrivals import draw_inputs
from sim.des.config import DesConfig
from sim.des.workload import build_workload
from sim.model.demography import project
from sim.model.expected import expected_level, prepare_expected
from sim.runs.pipeline import base_inputs, des_config
from sim.scenario import draw, load_dict, path_at

TRANSFER = {"2025": 0.0, "2030": 0.3}
"""A rising elderly-care transfer share (REF-ELDERLY-TRANSFER)."""


def _build(overrides: dict[str, Any], *, unlimited: bool = False) -> tuple[Any, ...]:
    sc = draw(load_dict({"name": "stages", **overrides}), 0)
    inputs = base_inputs(sc)
    projection = project(sc, inputs.demographic)
    state = prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)
    expected = expected_level(
        sc, projection, inputs.service, inputs.profiles, inputs.calendar, state
    )
    return sc, state, expected, des_config(sc, state, expected, inputs, unlimited=unlimited)


def _year_days(config: DesConfig, year: int) -> np.ndarray:
    """Indices of the simulated days of a calendar year."""
    dates = np.datetime64(config.start) + np.arange(config.n_days)
    return np.flatnonzero(dates.astype("datetime64[Y]").astype(int) + 1970 == year)


def _stage_bed_days(
    config: DesConfig, days: np.ndarray | None = None, *, with_ed: bool = True
) -> dict[str, float]:
    """Expected bed-days by pool of the configuration's streams over ``days`` (all by
    default): daily arrivals x mean stay, split over the stages by their shares; ED
    admissions = ED arrivals x admission probabilities (``with_ed``)."""
    out = dict.fromkeys(config.pool_names, 0.0)

    def add(pool: str, onward: tuple[tuple[str, float], ...], bed_days: float) -> None:
        out[pool] += bed_days * (1.0 - sum(w for _, w in onward))
        for q, w in onward:
            out[q] += bed_days * w

    def total(daily: tuple[float, ...]) -> float:
        values = np.asarray(daily)
        return float(values.sum() if days is None else values[days].sum())

    for s in config.admissions:
        add(s.pool, s.onward, total(s.arrivals.daily) * s.los.mean_days)
    ed = config.ed
    assert ed is not None
    if not with_ed:
        return out
    los, onward = dict(ed.admitted_los), dict(ed.admitted_onward)
    disposition = {(d.acuity, d.age_band): d for d in ed.dispositions}
    for a in ed.arrivals:
        for pool, p in disposition[(a.acuity, a.age_band)].admit:
            add(pool, onward.get(pool, ()), total(a.arrivals.daily) * p * los[pool].mean_days)
    return out


def _assert_close(got: dict[str, float], want: dict[str, float], rtol: float = 1e-6) -> None:
    for pool in POOLS:
        assert got[pool] == pytest.approx(want[pool], rel=rtol), (
            f"{pool}: {got[pool]:,.3f} vs {want[pool]:,.3f}"
        )


# ------------------------------------------------------------------ the reform by date
@pytest.fixture(scope="module")
def pooled():
    return _build({"capacity": {"bed_pool": {"share": {"2025": 0.0, "2030": 0.3}}}})


def test_bed_pool_share_follows_the_scenario_path_day_by_day(pooled):
    sc, state, expected, config = pooled
    assert config.pooling is not None
    share = np.asarray(config.pooling.share)
    assert share.size == config.n_days
    for y in state.years:
        days = _year_days(config, y)
        assert np.all(share[days] == float(path_at(sc.capacity.bed_pool.share, y))), y
    assert np.all(share[_year_days(config, 2025)] == 0.0)
    assert np.all(share[_year_days(config, 2030)] == pytest.approx(0.3))
    # the expected level uses the same share each year:
    # needed = separate - share x (separate - pooled)
    sep = expected["bed_pool_needed_separate"].values
    together = expected["bed_pool_needed_pooled"].values
    implied = (sep - expected["bed_pool_needed"].values) / (sep - together)
    by_year = [float(share[_year_days(config, y)][0]) for y in state.years]
    np.testing.assert_allclose(implied, by_year, atol=1e-9)


def test_shared_beds_are_zero_in_2025_and_positive_in_2030(pooled):
    _, _, _, config = pooled
    beds_only = dataclasses.replace(
        config, admissions=(), ed=None, clinics=(), ambulance=None, electives=None
    )
    work = build_workload(beds_only, draw_inputs(beds_only, 7, 1))
    table = np.asarray(work.shared)  # warm-up days first
    assert table.shape == (len(config.pools), config.warmup_days + config.n_days)
    assert np.all(table[:, : config.warmup_days] == 0.0), "the warm-up repeats 2025: no pooling"
    shared = table[:, config.warmup_days :]
    assert np.all(shared[:, _year_days(config, 2025)] == 0.0)
    assert config.pooling is not None and config.pooling.pools is not None
    members = [config.pool_index(p) for p in config.pooling.pools]
    late = shared[:, _year_days(config, 2030)]
    assert np.all(late[members] > 0)
    others = [k for k in range(len(config.pools)) if k not in members]
    assert np.all(late[others] == 0.0)


def test_no_pooling_when_the_share_is_zero_on_every_day():
    *_, config = _build({"run": {"start_year": 2027, "end_year": 2027}})
    assert config.pooling is None


# ------------------------------------------------------------------ multi-stage stays
@pytest.fixture(scope="module")
def one_year():
    """One simulated year (2028) with elderly-care transfers and the ICU step-down."""
    return _build(
        {
            "run": {"start_year": 2028, "end_year": 2028},
            "demand": {
                "reforms": {"elderly_care_transfer": TRANSFER},
                "icu_step_down": {"share": 0.3, "pool": "medicine"},
            },
        },
        unlimited=True,
    )


def test_a_transferred_stay_is_one_stream_with_an_onward_stage(one_year):
    _, state, _, config = one_year
    d = state.demands[2028]
    components = state.model.components(d, d.elderly_care_transfer)
    moving = [c for c in components if len(c.weights) > 1]
    assert {c.pool for c in moving} == {"medicine", "icu"}
    # every stream is one component's whole stay in its own pool: none is the
    # elderly-care (or step-down) part of another pool's stay arriving on its own
    own = {(c.pool, c.los) for c in components}
    for s in config.admissions:
        assert (s.pool, s.los.dist) in own, f"{s.name} is not a component's stay"
    elderly = [s for s in config.admissions if s.pool == "elderly_care"]
    assert elderly and all(s.los.dist.family == "gamma" for s in elderly)
    # the transferable medical stays move on to elderly care for the component's share
    weights = {(c.pool, c.los): dict(c.weights) for c in components}
    onward = [s for s in config.admissions if s.onward]
    assert {s.pool for s in onward} == {"medicine", "icu"}
    for s in onward:
        (q, w), *more = s.onward
        assert more == []
        assert w == pytest.approx(weights[(s.pool, s.los.dist)][q])
        assert q == ("elderly_care" if s.pool == "medicine" else "medicine")
    # ED admissions of both pools move on too
    assert config.ed is not None
    ed_onward = dict(config.ed.admitted_onward)
    assert set(ed_onward) == {"medicine", "icu"}
    assert ed_onward["icu"] == (("medicine", pytest.approx(0.3)),)
    (q, w), *_ = ed_onward["medicine"]
    assert q == "elderly_care" and 0 < w < 0.3


def test_stage_bed_days_by_pool_equal_the_expected_level(one_year):
    _, state, expected, config = one_year
    want = {p: float(expected["bed_days"].sel(year=2028, pool=p)) for p in POOLS}
    _assert_close(_stage_bed_days(config), want)
    _assert_close(dict(zip(POOLS, state.demands[2028].bed_days.tolist(), strict=True)), want)


def test_stage_bed_days_over_a_horizon_with_a_rising_transfer():
    """Over 2025-2030 (the transfer share rises, so the ED's onward share is a horizon
    average) the non-ED streams keep each year's bed-days and all streams the total."""
    _, state, expected, config = _build(
        {"demand": {"reforms": {"elderly_care_transfer": TRANSFER}}}, unlimited=True
    )
    want = {p: float(expected["bed_days"].sel(pool=p).sum()) for p in POOLS}
    _assert_close(_stage_bed_days(config), want)
    for y in (2025, 2030):
        d = state.demands[y]
        non_ed = dict.fromkeys(POOLS, 0.0)
        for c in state.model.components(d, d.elderly_care_transfer):
            f_ed = 0.0 if c.route == "elective" else state.model.tables.lines[c.pool].via_ed_share
            for pool, w in c.weights:
                non_ed[pool] += c.admissions * (1.0 - f_ed) * c.los.mean * w
        got = _stage_bed_days(config, _year_days(config, y), with_ed=False)
        _assert_close(got, non_ed)


# ------------------------------------------------------------------ ICU step-down
@pytest.fixture(scope="module")
def step_down_pair():
    run = {"start_year": 2028, "end_year": 2028}
    return tuple(
        _build({"run": run, "demand": {"icu_step_down": {"share": s}}}) for s in (0.0, 0.3)
    )


def test_icu_step_down_moves_bed_days_in_the_expected_level(step_down_pair):
    (_, off_state, off, _), (_, on_state, on, _) = step_down_pair
    icu, med = POOLS.index("icu"), POOLS.index("medicine")
    b0, b1 = off_state.demands[2028].bed_days, on_state.demands[2028].bed_days
    assert b1[icu] == pytest.approx(0.7 * b0[icu], rel=1e-9)
    assert b1[med] == pytest.approx(b0[med] + 0.3 * b0[icu], rel=1e-9)
    assert b1.sum() == pytest.approx(b0.sum(), rel=1e-12)
    occ0 = off["occupied_beds_mean"].sel(year=2028)
    occ1 = on["occupied_beds_mean"].sel(year=2028)
    assert float(occ1.sel(pool="icu")) == pytest.approx(0.7 * float(occ0.sel(pool="icu")))
    assert float(occ1.sel(pool="medicine")) == pytest.approx(
        float(occ0.sel(pool="medicine")) + 0.3 * float(occ0.sel(pool="icu"))
    )
    need0 = off["beds_needed_occupancy"].sel(year=2028, pool="icu")
    assert float(on["beds_needed_occupancy"].sel(year=2028, pool="icu")) < float(need0)


def test_icu_step_down_moves_icu_patients_to_the_ward_in_the_des(step_down_pair):
    (_, _, _, off), (_, _, _, on) = step_down_pair
    assert all(not s.onward for s in off.admissions if s.pool == "icu")
    assert off.ed is not None and "icu" not in dict(off.ed.admitted_onward)
    icu = [s for s in on.admissions if s.pool == "icu"]
    assert icu and all(s.onward == (("medicine", pytest.approx(0.3)),) for s in icu)
    assert on.ed is not None
    assert dict(on.ed.admitted_onward)["icu"] == (("medicine", pytest.approx(0.3)),)
    b0, b1 = _stage_bed_days(off), _stage_bed_days(on)
    assert b1["icu"] == pytest.approx(0.7 * b0["icu"], rel=1e-9)
    assert b1["medicine"] == pytest.approx(b0["medicine"] + 0.3 * b0["icu"], rel=1e-9)


def test_icu_step_down_pool_must_be_a_ward():
    with pytest.raises(ScenarioError, match=r"icu_step_down\.pool"):
        load_dict({"name": "bad", "demand": {"icu_step_down": {"pool": "icu"}}})
