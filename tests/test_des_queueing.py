"""Both hospital engines against queueing theory: Erlang C (probability of waiting and
mean wait), Erlang B, M/G/∞ (mean and variance of the occupancy), Little's law and the
expected (M(t)/G/∞) level; and the ambulance fleet against Erlang C.

Every engine test runs on the compiled engine (:mod:`sim.des.compiled`) and on the
SimPy reference model (:mod:`sim.des.hospital`) through the ``engine`` fixture. The
compiled engine gets the large systems (up to 1,000 servers and tens of millions of
customers); the reference gets smaller systems and fewer customers (5-50 servers,
0.05-0.2 million customers; its cases are marked ``slow`` as they take more than a few
seconds).

Statistics: one long run per case (or a few independent ones, each its share of the
batches); the customers (or days) after the warm-up are cut into ``BATCHES``
consecutive batches, each many relaxation times long, and the batch
means give a t interval. The analytic value must lie inside it, and where a case says
so (``max_rel``) the half-width must be below that fraction of the value, so that the
test has power: at ``max_rel = 0.05`` an engine 5% off in the probability of waiting
fails. The module makes ``CHECKS`` such comparisons; each interval is at level
1 - 0.05/CHECKS (Bonferroni), so the module as a whole is a 95% test: an exact engine
fails it with probability at most 5%.

Power has a price in customers: in an M/M/c queue the indicator "all servers busy"
stays correlated for about one mean service time, in which some c customers arrive,
so the customers needed for a given relative precision of P(wait) grow like c. The
compiled cases hold P(wait) to a half-width below 5% with 0.3 million customers at
c = 10, 9 million at c = 100 and 62 million at c = 1,000 (8 runs of 8,000 days; about
a minute on a loaded machine, 2-3 s of it per run in the engine); the reference's
5-server case with 0.16 million. The mean wait is checked for inclusion only (its
interval is 2-4 times wider).

Workloads: the M/M/c cases are built directly (one pool, a homogeneous Poisson
process, exponential stays, drawn from ``sim.base.rng.generator(SEED, run, "tests.queueing.*")``);
the others through the front door (``sim.des.builder`` -> ``draw_inputs`` ->
``build_workload``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from sim.base.rng import generator
from sim.des import compiled
from sim.des import hospital as reference
from sim.des.ambulance import simulate_ambulance
from sim.des.arrivals import draw_inputs
from sim.des.builder import ambulance_only, mixed_pool, single_pool
from sim.des.config import DesConfig
from sim.des.policies import MostFreeBeds, StrictTriage
from sim.des.workload import DIRECT, RawLog, Workload, build_workload
from sim.model.analytic import erlang_b, erlang_c, mmc_mean_wait, mtginf_occupancy

SEED = 20250101
BATCHES = 40
CHECKS = 21
"""Intervals in this module: Erlang C 5 cases x 2, Erlang B 3, M/G/∞ 2 engines x 2,
the expected level 2, the ambulance fleet 2."""
LEVEL = 1.0 - 0.05 / CHECKS

Engine = Callable[[Workload], RawLog]
slow = pytest.mark.slow


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine named by the parameter, as ``Workload -> RawLog``."""
    if request.param == "compiled":
        return compiled.simulate
    if request.param == "reference":
        return lambda work: reference.simulate(work, StrictTriage(), MostFreeBeds())
    raise ValueError(request.param)


def ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and Bonferroni t interval (lo, hi) of independent (batch) means."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(1.0 - (1.0 - LEVEL) / 2.0, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def check_interval(what: str, batches: np.ndarray, want: float, max_rel: float | None) -> None:
    mean, lo, hi = ci(batches)
    assert lo <= want <= hi, f"{what}: {want:.6g} outside [{lo:.6g}, {hi:.6g}] (mean {mean:.6g})"
    if max_rel is not None:
        rel = (hi - lo) / 2.0 / want
        assert rel < max_rel, (
            f"{what}: interval half-width {rel:.1%} of the value (want < {max_rel:.0%}): "
            "too few customers for the test to have power"
        )


def _frozen(a: object, dtype: object) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(a, dtype=dtype))  # type: ignore[call-overload]
    out.flags.writeable = False
    return out


def mmc_workload(
    servers: int, per_day: float, n_days: int, warmup: int, name: str, replicate: int = 0
) -> Workload:
    """One pool of ``servers`` beds, Poisson arrivals (``per_day``) over the warm-up and
    the run, exponential stays of mean 1 day, FIFO queue: an M/M/c queue."""
    g = generator(SEED, replicate, f"tests.queueing.{name}")
    n = int(g.poisson(per_day * (n_days + warmup)))
    arrival = np.sort(g.uniform(-float(warmup), float(n_days), n))
    stays = g.exponential(1.0, n)
    n_all = warmup + n_days
    return Workload(
        t0=-float(warmup),
        t_end=float(n_days),
        n_pools=1,
        arrival=_frozen(arrival, np.float64),
        home_pool=_frozen(np.zeros(n), np.int32),
        route=_frozen(np.full(n, DIRECT), np.int8),
        lose=_frozen(np.zeros(n), np.bool_),
        ed_index=_frozen(np.full(n, -1), np.int32),
        discharge_hour=_frozen(np.zeros(n), np.float64),
        stage_offset=_frozen(np.arange(n + 1), np.int64),
        stage_pool=_frozen(np.zeros(n), np.int32),
        stage_los=_frozen(stays, np.float64),
        ed_arrival=_frozen([], np.float64),
        ed_acuity=_frozen([], np.int8),
        ed_treatment=_frozen([], np.float64),
        ed_patient=_frozen([], np.int32),
        ed_unlimited=False,
        capacity=_frozen(np.full((1, n_all), float(servers)), np.float64),
        shared=_frozen(np.zeros((1, n_all)), np.float64),
        ed_spaces=_frozen([], np.float64),
        change_days=_frozen([], np.int64),
        sessions=_frozen([], np.float64),
        reserve=_frozen([0], np.int32),
        member=_frozen([False], np.bool_),
        borrow_route=_frozen(np.zeros(4), np.bool_),
        los_multiplier=1.0,
        daytime=False,
        ed_policy=StrictTriage.name,
        ed_max_wait=_frozen([math.inf] * 4, np.float64),
        bed_policy=MostFreeBeds.name,
    )


def front_door(cfg: DesConfig, replicate: int = 0) -> Workload:
    return build_workload(cfg, draw_inputs(cfg, SEED, replicate))


def batch_of(times: np.ndarray, t_from: float, t_to: float, n: int = BATCHES) -> np.ndarray:
    """Batch (0..n-1) of each time in [t_from, t_to)."""
    b = ((times - t_from) / (t_to - t_from) * n).astype(np.int64)
    return np.minimum(b, n - 1)


# --- Erlang C -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("engine", "servers", "rho", "n_days", "runs", "max_rel"),
    [
        pytest.param("compiled", 10, 0.8, 40_000, 1, 0.05, id="compiled-c10"),
        pytest.param("compiled", 100, 0.9, 50_000, 2, 0.05, id="compiled-c100", marks=slow),
        pytest.param("compiled", 1000, 0.97, 8_000, 8, 0.05, id="compiled-c1000", marks=slow),
        pytest.param("reference", 5, 0.8, 40_000, 1, 0.05, id="reference-c5", marks=slow),
        pytest.param("reference", 20, 0.85, 2_000, 1, None, id="reference-c20", marks=slow),
    ],
    indirect=["engine"],
)
def test_mmc_matches_erlang_c(
    engine: Engine, servers: int, rho: float, n_days: int, runs: int, max_rel: float | None
) -> None:
    """``runs`` independent runs (replicates 0, 1, ...) of ``n_days`` each, every run cut
    into BATCHES / runs batches."""
    lam = rho * servers  # per day; mean stay 1 day
    per_run = BATCHES // runs
    p_wait, mean_wait = [], []
    for r in range(runs):
        work = mmc_workload(servers, lam, n_days, 30, f"erlang_c.{servers}", r)
        raw = engine(work)
        # customers arriving after the warm-up and 20 days before the end (all served:
        # the chance of a 20-day wait is C exp(-20 (c - a)) < 1e-17)
        keep = (work.arrival >= 0.0) & (work.arrival < work.t_end - 20.0)
        wait = (raw.stage_start - raw.stage_request)[keep]
        assert not np.isnan(wait).any(), "a customer waited 20 days in a stable queue"
        b = batch_of(work.arrival[keep], 0.0, work.t_end - 20.0, per_run)
        n = np.bincount(b, minlength=per_run)
        p_wait.append(np.bincount(b, wait > 0.0, minlength=per_run) / n)
        mean_wait.append(np.bincount(b, wait, minlength=per_run) / n)
        del work, raw, wait, keep, b
    c_wait = erlang_c(servers, lam)
    check_interval(f"P(wait), c = {servers}", np.concatenate(p_wait), c_wait, max_rel)
    w_want = mmc_mean_wait(servers, lam, 1.0)
    check_interval(f"mean wait, c = {servers}", np.concatenate(mean_wait), w_want, None)


# --- Erlang B -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("engine", "servers", "load", "n_days"),
    [
        pytest.param("compiled", 50, 45.0, 8_000, id="compiled-c50"),
        pytest.param("compiled", 1000, 980.0, 1_000, id="compiled-c1000", marks=slow),
        pytest.param("reference", 50, 45.0, 1_000, id="reference-c50", marks=slow),
    ],
    indirect=["engine"],
)
def test_loss_system_matches_erlang_b(
    engine: Engine, servers: int, load: float, n_days: int
) -> None:
    """Lognormal stays (mean 2 d, cv 1.5): blocking does not depend on their shape."""
    cfg = single_pool(servers, load / 2.0, 2.0, 1.5, n_days, "lose", warmup_days=60)
    work = front_door(cfg)
    raw = engine(work)
    first = work.stage_offset[:-1]
    keep = work.arrival >= 0.0
    assert not np.isnan(raw.stage_request[first][keep]).any()
    b = batch_of(work.arrival[keep], 0.0, work.t_end)
    blocked = np.bincount(b, raw.lost[keep], minlength=BATCHES) / np.bincount(b)
    check_interval(f"blocking, c = {servers}", blocked, erlang_b(servers, load), None)


# --- M/G/∞ ------------------------------------------------------------------------------------
def in_bed_at(work: Workload, raw: RawLog, times: np.ndarray) -> np.ndarray:
    """Patients in a bed at each of ``times`` (stage start <= t < stage end)."""
    start = np.sort(raw.stage_start[~np.isnan(raw.stage_start)])
    end = raw.stage_end[~np.isnan(raw.stage_end)]
    end = np.sort(end)
    return np.searchsorted(start, times, side="right") - np.searchsorted(end, times, side="right")


@pytest.mark.parametrize(
    ("engine", "per_day", "n_days", "max_rel"),
    [
        pytest.param("compiled", 100.0, 4_000, 0.02, id="compiled"),
        pytest.param("reference", 50.0, 1_000, None, id="reference", marks=slow),
    ],
    indirect=["engine"],
)
def test_unlimited_beds_give_poisson_occupancy_lambda_es(
    engine: Engine, per_day: float, n_days: int, max_rel: float | None
) -> None:
    """Occupancy at midnight ~ Poisson(λ E[S]) (lognormal stays, mean 5 d, cv 1.5): batch
    means of the census and of its squared deviation from the run's mean."""
    cfg = single_pool(math.inf, per_day, 5.0, 1.5, n_days, warmup_days=200)
    work = front_door(cfg)
    raw = engine(work)
    days = np.arange(n_days, dtype=float)
    census = in_bed_at(work, raw, days).reshape(BATCHES, -1)
    target = per_day * 5.0
    check_interval("mean occupancy", census.mean(axis=1), target, max_rel)
    spread = ((census - census.mean()) ** 2).mean(axis=1) * census.size / (census.size - 1)
    check_interval("occupancy variance", spread, target, None)


# --- Little's law -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "engine", ["compiled", pytest.param("reference", marks=slow)], indirect=True
)
def test_littles_law_holds_on_simulated_output(engine: Engine) -> None:
    """L = λ W over the run (60 beds, 55 a day, gamma stays): L the time-averaged number
    in the system (waiting or in a bed), λ the arrival rate, W the mean time from the bed
    request to discharge."""
    cfg = single_pool(60, 55.0, 1.0, 0.7, 730, family="gamma")
    work = front_door(cfg)
    raw = engine(work)
    t_end = work.t_end
    first, last = work.stage_offset[:-1], work.stage_offset[1:] - 1
    came, left = raw.stage_request[first], raw.stage_end[last]
    left = np.where(np.isnan(left), np.inf, left)  # still waiting at the end
    area = np.clip(np.minimum(left, t_end) - np.maximum(came, 0.0), 0.0, None).sum()
    big_l = area / t_end
    arrived = (came >= 0.0) & (came < t_end)
    lam = arrived.sum() / t_end
    done = arrived & (left < np.inf)
    w = float(np.mean(left[done] - came[done]))
    assert big_l == pytest.approx(lam * w, rel=0.01), f"L = {big_l:.3f} but λW = {lam * w:.3f}"


# --- the expected level -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("engine", "replicates"), [("compiled", 6), ("reference", 3)], indirect=["engine"]
)
def test_unlimited_district_matches_the_expected_level(engine: Engine, replicates: int) -> None:
    """With no bed limit the time-averaged occupancy is the M(t)/G/∞ mean computed by
    sim.model.analytic from the same daily admissions (profiles, holidays, electives)."""
    n = 365
    cfg = mixed_pool(n_days=n)
    expected = sum(
        mtginf_occupancy(np.array(s.arrivals.daily), s.los.dist, warmup="cyclic")
        for s in cfg.admissions
    )
    yearly = []
    for r in range(replicates):
        work = front_door(cfg, r)
        raw = engine(work)
        stay = np.clip(np.minimum(raw.stage_end, n) - np.maximum(raw.stage_start, 0.0), 0.0, None)
        yearly.append(float(np.nansum(stay)) / n)
    _, lo, hi = ci(np.array(yearly))
    want = float(np.mean(expected))
    assert lo <= want <= hi, f"expected occupancy {want:.1f} outside [{lo:.1f}, {hi:.1f}]"
    assert abs(np.mean(yearly) / want - 1) < 0.01


# --- the ambulance fleet (not a hospital engine) -------------------------------------------
@pytest.mark.slow
def test_ambulance_fleet_matches_erlang_c() -> None:
    fleet, per_hour, job_minutes = 8, 6.0, 60.0  # offered load 6 ambulances
    cfg = ambulance_only(fleet, per_hour, job_minutes)
    waited, mean_wait = [], []
    for r in range(10):
        draws = draw_inputs(cfg, SEED, r).ambulance
        assert draws is not None
        out = simulate_ambulance(draws, np.full(210, float(fleet)), -10.0)
        run = out.time >= 0
        waited.append(float(np.mean(out.delay[run] > 0)))
        mean_wait.append(float(np.mean(out.delay[run])) * 24.0)  # hours
    lam, mu = per_hour, 60.0 / job_minutes
    _, lo, hi = ci(np.array(waited))
    assert lo <= erlang_c(fleet, lam / mu) <= hi
    _, lo, hi = ci(np.array(mean_wait))
    assert lo <= mmc_mean_wait(fleet, lam, mu) <= hi
