"""Reductions over replicates: the uncertainty sample, quantiles, paired differences with
confidence intervals, exceedance probabilities and key figures against the plan."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from sim.base import names
from sim.base.rng import generator
from sim.model import summary
from sim.scenario import draw, load_dict
from tests.data.report_batch import DES_REPLICATES, REPLICATES, small_batch
from tests.data.report_batch import scenarios as batch_scenarios
from tests.target_batch import DEFAULT, MOVED, MOVED_YEAR, OCCUPANCY, scenarios, target_batch
from tests.target_batch import REPLICATES as TARGET_REPLICATES
from tests.target_batch import SEED as TARGET_SEED

BATCH_RUN = batch_scenarios()[0].run
"""Years of the small batch (its scenarios share them): the key figures' year is its last."""
BATCH_TARGETS = draw(batch_scenarios()[0], 0).capacity
"""The batch's baseline keeps the schema's plan targets."""


def _da(values: np.ndarray, years: list[int] | None = None) -> xr.DataArray:
    """(scenario, replicate, year) array with scenarios a, b."""
    years = years or [2025, 2026]
    return xr.DataArray(
        values,
        dims=(names.SCENARIO, names.REPLICATE, names.YEAR),
        coords={
            names.SCENARIO: ["a", "b"][: values.shape[0]],
            names.REPLICATE: np.arange(values.shape[1]),
            names.YEAR: years,
        },
        name="x",
        attrs={"units": "beds"},
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return xr.load_dataset(small_batch(tmp_path_factory) / "results.nc", engine="h5netcdf")


@pytest.fixture(scope="module")
def targets_ds(tmp_path_factory):
    return xr.load_dataset(target_batch(tmp_path_factory) / "results.nc", engine="h5netcdf")


# ------------------------------------------------------------------ the sample
def test_sample_is_the_drawn_replicates_with_data():
    v = np.arange(2 * 5 * 2, dtype=float).reshape(2, 5, 2)
    v[:, 4, :] = np.nan  # replicate 4 holds no data (e.g. no DES)
    s = summary.uncertainty_sample(_da(v))
    assert list(s[names.REPLICATE].values) == [1, 2, 3], "replicate 0 (central) and 4 left out"


def test_sample_falls_back_to_every_replicate_with_data_when_fewer_than_two_draws():
    v = np.ones((2, 4, 2))
    v[:, 2:, :] = np.nan  # only replicates 0 and 1 ran (DES on two replicates)
    s = summary.uncertainty_sample(_da(v))
    assert list(s[names.REPLICATE].values) == [0, 1]
    v[:, 1, :] = np.nan
    assert summary.sample_size(_da(v)) == 1, "one replicate with data: a sample of one"


def test_quantiles_over_drawn_replicates_and_nan_where_no_data():
    rng = generator(1, 0, "test:summary")
    v = rng.normal(size=(2, 21, 2))
    v[:, :, 0] = np.nan  # a year before the start year
    q = summary.quantiles(_da(v), (0.05, 0.5, 0.95))
    expected = np.quantile(v[0, 1:, 1], [0.05, 0.5, 0.95])
    got = q.sel({names.SCENARIO: "a", names.YEAR: 2026}).values
    np.testing.assert_allclose(got, expected)
    assert bool(q.sel({names.YEAR: 2025}).isnull().all()), "no data -> NaN, no warning"


def test_central_is_replicate_zero_and_a_sweep_median():
    v = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    np.testing.assert_array_equal(summary.central(_da(v)).values, v[:, 0, :])
    sweep = xr.Dataset({"x": _da(v).expand_dims(point=[0, 1]).copy()})
    sweep["x"][{"point": 1}] = sweep["x"][{"point": 1}] + 100
    flat = summary.flatten_sweep(sweep)
    assert flat.sizes[summary.SAMPLE] == 6 and "point" not in flat.dims
    np.testing.assert_allclose(
        summary.central(flat["x"]).values, np.median(np.concatenate([v, v + 100], axis=1), axis=1)
    )


# ------------------------------------------------------------------ paired differences
def test_paired_difference_mean_and_student_t_interval():
    rng = generator(2, 0, "test:summary")
    common = rng.normal(100.0, 20.0, size=10)  # same random numbers in both scenarios
    effect = rng.normal(5.0, 1.0, size=10)
    v = np.stack([common, common + effect])[:, :, None].repeat(2, axis=2)
    d = summary.paired_difference(_da(v), "a").sel({names.YEAR: 2026})
    draws = effect[1:]  # replicate 0 is central, not a draw
    half = stats.t.ppf(0.975, len(draws) - 1) * draws.std(ddof=1) / math.sqrt(len(draws))
    b = d.sel({names.SCENARIO: "b"})
    assert float(b["mean"]) == pytest.approx(draws.mean())
    assert float(b["high"] - b["mean"]) == pytest.approx(half)
    assert int(b["n"]) == 9
    assert float(d["mean"].sel({names.SCENARIO: "a"})) == 0.0, "the baseline against itself"
    unpaired = stats.t.ppf(0.975, 16) * math.sqrt(
        (common[1:] + effect[1:]).var(ddof=1) / 9 + common[1:].var(ddof=1) / 9
    )
    assert half < unpaired / 5, "common random numbers make the paired interval far narrower"


def test_paired_difference_interval_covers_the_true_difference_95_percent():
    """2,000 batches of 6 drawn replicates: the 95% interval holds the true mean
    difference (3.0) in 95% +- 1.5% of them (binomial sd 0.5%)."""
    rng = generator(3, 0, "test:summary")
    trials, reps = 2000, 7
    common = rng.normal(50.0, 10.0, size=(trials, reps))
    effect = rng.normal(3.0, 2.0, size=(trials, reps))
    da = xr.DataArray(
        np.stack([common, common + effect]),
        dims=(names.SCENARIO, "trial", names.REPLICATE),
        coords={names.SCENARIO: ["a", "b"], names.REPLICATE: np.arange(reps)},
    )
    d = summary.paired_difference(da, "a").sel({names.SCENARIO: "b"})
    covered = float(((d["low"] <= 3.0) & (d["high"] >= 3.0)).mean())
    assert abs(covered - 0.95) < 0.015, f"coverage {covered:.3f}"


def test_relative_paired_difference_and_no_interval_from_one_replicate():
    v = np.array([[[100.0], [200.0], [np.nan]], [[110.0], [180.0], [np.nan]]])
    d = summary.paired_difference(_da(v, [2025]), "a", relative=True)
    d = d.sel({names.SCENARIO: "b", names.YEAR: 2025})
    # replicates 0 and 1 form the sample (fewer than two draws): -10% and +10% -> mean 0
    assert float(d["mean"]) == pytest.approx(0.0)
    one = summary.paired_difference(_da(v[:, :1, :], [2025]), "a")
    one = one.sel({names.SCENARIO: "b", names.YEAR: 2025})
    assert float(one["mean"]) == 10.0 and np.isnan(float(one["low"])), "n = 1: no interval"


def test_unknown_baseline_is_an_error():
    with pytest.raises(ValueError, match="baseline scenario 'zzz'"):
        summary.paired_difference(_da(np.ones((2, 3, 2))), "zzz")


# ------------------------------------------------------------------ exceedance
def test_exceedance_share_of_sample_at_or_beyond_threshold():
    v = np.array([[[0.0], [1.0], [2.0], [3.0], [4.0]]])  # draws 1..4
    da = _da(v, [2030])
    assert float(summary.exceedance(da, 3.0).squeeze()) == pytest.approx(0.5)
    assert float(summary.exceedance(da, 1.0, above=False).squeeze()) == pytest.approx(0.25)
    per_rep = xr.DataArray(
        [9.0, 9.0, 1.0, 9.0, 9.0], dims=names.REPLICATE, coords={names.REPLICATE: range(5)}
    )
    assert float(summary.exceedance(da, per_rep).squeeze()) == pytest.approx(0.25)
    empty = _da(np.full((1, 3, 1), np.nan), [2030])
    assert np.isnan(float(summary.exceedance(empty, 1.0).squeeze()))


# ------------------------------------------------------------------ targets and key figures
def test_every_task_stores_its_drawn_targets(targets_ds):
    """The targets are the drawn scenario's, replicate by replicate, with units."""
    for sc in scenarios():
        for r in range(TARGET_REPLICATES):
            drawn = draw(sc, r, TARGET_SEED).capacity
            cell = targets_ds.sel(scenario=sc.name, replicate=r)
            assert float(cell[names.TARGET_OCCUPANCY]) == drawn.targets.occupancy
            assert int(cell[names.TARGET_YEAR]) == drawn.plan_target.year
            assert float(cell[names.TARGET_BEDS]) == drawn.plan_target.beds
    for var in names.TARGET_VARIABLES:
        assert targets_ds[var].dims == (names.SCENARIO, names.REPLICATE)
        assert {"units", "long_name"} <= set(targets_ds[var].attrs), var


def test_plan_targets_are_read_from_the_results_only(targets_ds):
    default = load_dict({"name": "default"}).capacity
    t = summary.plan_targets(targets_ds)[DEFAULT]
    assert (t.year, t.beds) == (default.plan_target.year, default.plan_target.beds)
    assert (t.physicians_per_1000, t.occupancy) == (
        default.targets.physicians_per_1000,
        default.targets.occupancy,
    )
    no_beds = targets_ds.assign({names.TARGET_BEDS: targets_ds[names.TARGET_BEDS] * np.nan})
    assert summary.plan_targets(no_beds)[DEFAULT].beds is None, "no bed target"
    with pytest.raises(summary.MissingTargetsError, match=names.TARGET_YEAR):
        summary.plan_targets(targets_ds.drop_vars(names.TARGET_YEAR))


def test_a_drawn_occupancy_target_is_the_one_the_beds_were_sized_at(targets_ds):
    """Bug: {low = 0.88, high = 0.92} was reported as the 85% default while beds were
    sized at about 90%. The key figure compares with the central draw (replicate 0)."""
    central = draw(scenarios()[0], 0).capacity.targets.occupancy
    assert central == pytest.approx((OCCUPANCY["low"] + OCCUPANCY["high"]) / 2)
    figures = {(k.key, k.scenario): k for k in summary.key_figures(targets_ds)}
    assert figures[("occupancy", MOVED)].target == pytest.approx(central * 100.0)
    default = load_dict({"name": "default"}).capacity.targets.occupancy
    assert figures[("occupancy", DEFAULT)].target == pytest.approx(default * 100.0)
    r0 = targets_ds.sel(scenario=MOVED, replicate=0, year=MOVED_YEAR)
    sized = r0["beds_needed_occupancy"].sum("pool") * central
    assert float(sized) == pytest.approx(float(r0["occupied_beds_mean"].sum("pool")), rel=1e-9)


def test_a_scenario_moving_its_target_year_does_not_move_the_others(targets_ds):
    """Bug: every scenario's key figures were for the year of the alphabetically first
    scenario (accelerated_investment: 2028). Each is now for its own plan year."""
    assert sorted([MOVED, DEFAULT])[0] == MOVED, "the mover comes first"
    default_year = load_dict({"name": "default"}).capacity.plan_target.year
    figures = summary.key_figures(targets_ds)
    years = {(k.key, k.scenario): k.year for k in figures}
    assert {y for (_, sc), y in years.items() if sc == MOVED} == {MOVED_YEAR}
    assert {y for (_, sc), y in years.items() if sc == DEFAULT} == {default_year}
    beds = {k.scenario: k for k in figures if k.key == "beds"}
    assert beds[MOVED].target is not None and beds[DEFAULT].target is not None
    end = targets_ds.sel(replicate=0)["beds_end"].sum("pool")
    assert beds[DEFAULT].central == pytest.approx(
        float(end.sel(scenario=DEFAULT, year=default_year))
    )
    shorter = targets_ds.sel(year=slice(None, default_year - 1))
    assert summary.figure_years(shorter) == {MOVED: MOVED_YEAR, DEFAULT: default_year - 1}


def test_key_figures_of_a_real_batch(batch):
    figures = summary.key_figures(batch)
    by = {(k.key, k.scenario): k for k in figures}
    last, plan = BATCH_RUN.end_year, BATCH_TARGETS.plan_target
    assert plan.year > last, "the batch ends before the plan's year"
    assert {k.year for k in figures} == {last}, "so the key figures are of its last year"
    beds = by[("beds", "baseline")]
    central = float(batch["beds_end"].sel(scenario="baseline", replicate=0, year=last).sum())
    assert beds.central == pytest.approx(central)
    assert beds.n == REPLICATES - 1, "expected level: the drawn replicates"
    assert beds.target is None, "the plan's beds are a target of its year, not of the last"
    occ = by[("occupancy", "baseline")]
    assert occ.target == pytest.approx(BATCH_TARGETS.targets.occupancy * 100.0)
    assert occ.p_meets is not None and 0.0 <= occ.p_meets <= 1.0
    des = by[("des_high_occupancy_days", "reform")]
    assert des.n == DES_REPLICATES, "DES figures: the replicates that ran the DES"
    assert by[("bed_days", "baseline")].diff_mean is None, "no difference of the baseline"
    cut = by[("bed_days", "reform")]
    assert cut.diff_mean is not None and cut.diff_low is not None and cut.diff_high is not None
    per_rep = batch["bed_days"].sel(year=last, replicate=[1, 2]).sum("pool") * 1e-3
    paired = per_rep.sel(scenario="reform") - per_rep.sel(scenario="baseline")
    assert bool((paired < 0).all()), "day surgery cuts bed-days in every replicate"
    assert cut.diff_mean == pytest.approx(float(paired.mean()))
    assert cut.diff_low < cut.diff_mean < cut.diff_high
    assert by[("population", "reform")].diff_mean == 0.0, "same population: no difference"


def test_key_figures_take_the_target_year_when_reached(batch):
    moved = batch.assign(
        {
            names.TARGET_YEAR: xr.full_like(batch[names.TARGET_YEAR], BATCH_RUN.end_year),
            names.TARGET_BEDS: xr.full_like(batch[names.TARGET_BEDS], 1_000.0),
        }
    )
    figures = {(k.key, k.scenario): k for k in summary.key_figures(moved)}
    beds = figures[("beds", "baseline")]
    assert beds.target == 1_000.0 and beds.sense == ">="
    assert beds.p_meets == 1.0 and beds.meets_central is True


def test_district_high_occupancy_is_the_share_of_days_at_or_above_85_percent(batch):
    share = summary.district_high_occupancy(batch)
    # the function's own default threshold, the 85% of the test's name
    threshold = inspect.signature(summary.district_high_occupancy).parameters["threshold"]
    r = batch.sel(scenario="reform", replicate=0)
    census = r["des_midnight_census"].sum("pool")
    beds = r["des_bed_capacity"].sum("pool")
    year = BATCH_RUN.start_year + 1  # one of the batch's years, not the first
    days = census["date"].dt.year == year
    expected = float((census >= threshold.default * beds).where(days, drop=True).mean())
    assert float(share.sel(scenario="reform", replicate=0, year=year)) == pytest.approx(expected)
    assert bool(share.sel(replicate=REPLICATES - 1).isnull().all()), "no DES -> NaN"


def test_batch_facts(batch):
    assert summary.has_des(batch)
    assert summary.des_replicates(batch) == list(range(DES_REPLICATES))
    assert summary.baseline_scenario(batch) == "baseline"
    assert (summary.base_year(batch), summary.end_year(batch)) == (
        BATCH_RUN.start_year,
        BATCH_RUN.end_year,
    )
    assert summary.scenario_labels(batch)["baseline"] == "Baseline"


# ------------------------------------------------------------------ DES figures
def _des_batch(des_replicates: int, replicates: int = 6) -> xr.Dataset:
    """Expected-level bed-days and a DES figure (ED boarding) for two scenarios with common
    random numbers: replicate r of both shares its noise; the DES ran on replicates
    0..des_replicates-1."""
    rng = generator(4, 0, "test:summary")
    noise = rng.normal(0.0, 1.0, size=(replicates, 1))
    boarding = np.stack([5.0 + noise, 6.0 + noise + 0.1 * rng.normal(size=(replicates, 1))])
    boarding[:, des_replicates:, :] = np.nan
    bed_days = np.ones((2, replicates, 1, 1))
    coords = {names.SCENARIO: ["baseline", "b"], names.REPLICATE: np.arange(replicates)}
    return xr.Dataset(
        {
            "bed_days": ((names.SCENARIO, names.REPLICATE, names.YEAR, names.POOL), bed_days),
            "des_ed_boarding_mean": ((names.SCENARIO, names.REPLICATE, names.YEAR), boarding),
        },
        coords={**coords, names.YEAR: [2030], names.POOL: ["medicine"]},
    )


def test_des_figures_on_every_replicate_have_a_median_range_and_paired_interval():
    from sim.present.report import headline

    ds = _des_batch(des_replicates=6)
    figures = {(k.key, k.scenario): k for k in summary.key_figures(ds)}
    b = figures[("des_ed_boarding", "b")]
    drawn = ds["des_ed_boarding_mean"].sel(year=2030, replicate=[1, 2, 3, 4, 5])
    low, median, high = np.quantile(drawn.sel(scenario="b").values.ravel(), [0.05, 0.5, 0.95])
    assert b.des and b.n == 5, "the drawn replicates, as for the expected level"
    assert (b.low, b.median, b.high) == pytest.approx((low, median, high))
    assert low < median < high, "a 90% range"
    assert b.central == pytest.approx(float(ds["des_ed_boarding_mean"][1, 0, 0]))
    assert headline(b) == b.median, "the report shows a DES figure's median"
    paired = (drawn.sel(scenario="b") - drawn.sel(scenario="baseline")).values.ravel()
    half = stats.t.ppf(0.975, 4) * paired.std(ddof=1) / math.sqrt(5)
    assert b.diff_mean == pytest.approx(paired.mean())
    assert (b.diff_low, b.diff_high) == pytest.approx((paired.mean() - half, paired.mean() + half))
    assert b.diff_high - b.diff_low < 0.5 * (high - low), "common random numbers: narrow"
    assert headline(figures[("bed_days", "b")]) == figures[("bed_days", "b")].central


def test_one_des_replicate_has_no_range():
    b = next(
        k
        for k in summary.key_figures(_des_batch(des_replicates=1))
        if (k.key, k.scenario) == ("des_ed_boarding", "b")
    )
    assert b.n == 1 and b.low == b.median == b.high == b.central
    assert b.diff_low is not None and math.isnan(b.diff_low), "no interval from one pair"


@pytest.fixture(scope="module")
def figures(batch) -> dict[tuple[str, str], summary.KeyFigure]:
    return {(k.key, k.scenario): k for k in summary.key_figures(batch)}


def test_des_key_figures_of_a_real_batch_have_ranges_and_differences(batch, figures):
    specs = {s.key: s for s in summary.KEY_FIGURES if s.des}
    assert {"des_elective_patients_deferred", "des_elective_deferral_events"} <= set(specs)
    reps = list(range(DES_REPLICATES))  # fewer than two drawn: every replicate with the DES
    for key, spec in specs.items():
        values = summary.key_figure_in_year(batch, spec, BATCH_RUN.end_year).sel(replicate=reps)
        for sc in ("baseline", "reform"):
            kf = figures[(key, sc)]
            expected = np.quantile(values.sel(scenario=sc).values, [0.05, 0.5, 0.95])
            assert kf.des and kf.n == DES_REPLICATES
            assert (kf.low, kf.median, kf.high) == pytest.approx(tuple(expected)), key
        paired = values.sel(scenario="reform") - values.sel(scenario="baseline")
        reform = figures[(key, "reform")]
        assert reform.diff_mean == pytest.approx(float(paired.mean())), key
    unmet = figures[("des_clinic_unmet", "baseline")]
    assert unmet.low < unmet.high, "the DES replicates differ: a range"


def test_deferred_electives_are_persons_and_events_apart(batch, figures):
    persons = figures[("des_elective_patients_deferred", "baseline")]
    events = figures[("des_elective_deferral_events", "baseline")]
    assert (persons.unit, events.unit) == ("persons_per_year", "events_per_year")
    patients = batch["des_elective_patients_deferred_year"].sel(
        scenario="baseline", replicate=0, year=BATCH_RUN.end_year
    )
    assert persons.central == pytest.approx(float(patients.sum()))
    assert events.central >= persons.central, "a patient is deferred at least once"
