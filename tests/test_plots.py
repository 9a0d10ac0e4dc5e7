"""Every figure function runs on a small stored batch and returns a figure with the expected
titles, axis labels and legend entries; Chinese figures draw with the CJK font."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from sim.base import names
from sim.model import summary
from sim.model.sensitivity import indices
from sim.present import i18n, plots
from sim.scenario import load_dict
from tests.data.report_batch import DES_REPLICATES, REFORM_LABEL, small_batch
from tests.target_batch import DEFAULT, MOVED, MOVED_YEAR, target_batch

DEFAULTS = load_dict({"name": "defaults"}).capacity
"""The scenario schema's capacity section with every default: the targets' source."""

BAND_LABELS = ["50% band", "90% band"]


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> xr.Dataset:
    return xr.load_dataset(small_batch(tmp_path_factory) / "results.nc", engine="h5netcdf")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, f"panel {ax.get_title()!r} has no legend"
    return [t.get_text() for t in legend.get_texts()]


def _titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_visible()]


SCENARIO_LABELS = ["Baseline", REFORM_LABEL]


# ------------------------------------------------------------------ population
def test_pyramid_of_a_batch_overlays_scenarios_on_the_base_year(ds):
    fig = plots.plot_pyramid(ds)
    ax = fig.axes[0]
    assert ax.get_title() == "Population pyramid"
    assert ax.get_xlabel() == "share of residents (%) — males left, females right"
    assert ax.get_ylabel() == "age (years; 100 = 100+)"
    assert _legend(ax) == [
        "2025 (base year)",
        "2027 (end of year): Baseline",
        f"2027 (end of year): {REFORM_LABEL}",
    ]
    male_2027 = ax.lines[2].get_xdata()  # first scenario's males, 2027
    pop = ds["population_by_age"].sel(scenario="baseline", replicate=0, year=2027)
    expected = -pop.sel(sex="male").values / float(pop.sum()) * 100
    np.testing.assert_allclose(male_2027, expected)


def test_pyramid_of_a_projection_as_the_project_command_draws_it(ds):
    central = (
        ds[["population_by_age"]]
        .sel(scenario="baseline", replicate=0)
        .rename({"population_by_age": "population"})
    )
    fig = plots.plot_pyramid(central, [2020, 2027], scenario_label="Base case")
    ax = fig.axes[0]
    assert ax.get_title() == "Population pyramid: Base case"
    assert _legend(ax) == ["2020 (end of year)", "2027 (end of year)"]


def test_share_65plus_and_births_fans(ds):
    fig, (a, b) = plt.subplots(1, 2)
    assert plots.plot_share_65plus(ds, ax=a) is fig
    assert plots.plot_births(ds, ax=b) is fig
    assert a.get_title() == "Share of residents aged 65 and over"
    assert a.get_ylabel() == "share of residents (%)" and a.get_xlabel() == "year"
    assert _legend(a) == [*SCENARIO_LABELS, *BAND_LABELS]
    assert b.get_title() == "Births per year" and b.get_ylabel() == "live births per year"
    years = b.lines[0].get_xdata()
    assert years[0] == 2021, "2020 is a 61-day step from the census: not a year of births"
    median = ds["births_by_sex"].sum("sex").sel(scenario="baseline", replicate=[1, 2])
    np.testing.assert_allclose(b.lines[0].get_ydata(), median.median("replicate").sel(year=years))


def test_demand_panels_show_median_and_bands_per_scenario(ds):
    fig = plots.plot_demand(ds)
    titles = [i18n.text(key, "en") for key, _ in plots.DEMAND_PANELS]
    assert _titles(fig) == titles
    assert fig.get_suptitle() == "Demand by service (median and bands)"
    first = fig.axes[0]
    assert _legend(first) == [*SCENARIO_LABELS, *BAND_LABELS]
    assert first.get_ylabel() == "thousands per year" and first.get_xlabel() == "year"
    chc = ds["visits"].sel(service="chc", scenario="baseline", replicate=[1, 2]) / 1e3
    np.testing.assert_allclose(first.lines[0].get_xdata(), [2025, 2026, 2027])
    np.testing.assert_allclose(
        first.lines[0].get_ydata(), chc.median("replicate").sel(year=[2025, 2026, 2027])
    )
    with pytest.raises(ValueError, match="draws 6 panels; 2 axes"):
        plots.plot_demand(ds, axes=plt.subplots(1, 2)[1])


# ------------------------------------------------------------------ beds
def test_beds_needed_against_capacity_and_the_plan(ds):
    fig = plots.plot_beds(ds)
    ax = fig.axes[0]
    assert ax.get_title() == "Beds needed against beds available"
    assert ax.get_ylabel() == "beds" and ax.get_xlabel() == "year"
    plan = DEFAULTS.plan_target
    assert _legend(ax) == [
        *SCENARIO_LABELS,
        f"beds needed at target occupancy {DEFAULTS.targets.occupancy:.0%}",
        f"beds needed for P(wait for a bed) ≤ {DEFAULTS.targets.bed_wait_probability:.0%}",
        "beds in service (end of year)",
        f"plan: {plan.beds:,.0f} beds by {plan.year}",
        *BAND_LABELS,
    ]
    capacity = [ln for ln in ax.lines if ln.get_marker() == "s"]
    assert len(capacity) == 1, "the same capacity in both scenarios is drawn once"
    expected = (
        ds["beds_end"].sum("pool").sel(scenario="baseline", replicate=0, year=[2025, 2026, 2027])
    )
    np.testing.assert_allclose(capacity[0].get_ydata(), expected)


def test_occupancy_distribution_per_pool_and_year(ds):
    fig = plots.plot_occupancy_distribution(ds)
    pools = [str(p) for p in ds["pool"].values]
    assert _titles(fig) == [i18n.label("pool", p, "en") for p in pools]
    assert fig.axes[0].get_ylabel() == "occupied / available beds (%)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == SCENARIO_LABELS
    assert len(fig.axes[0].patches) == 2 * 3, "a box per scenario and year"


def test_occupancy_risk_bars_are_the_median_over_des_replicates(ds):
    fig = plots.plot_occupancy_risk(ds)
    assert _titles(fig) == ["occupancy ≥ 85%", "occupancy ≥ 95%", "every bed full"]
    assert fig.get_suptitle() == "Share of time at high occupancy (2027)"
    assert _legend(fig.axes[0]) == SCENARIO_LABELS
    first_bar = fig.axes[0].patches[0]  # baseline, medicine
    p85 = ds["des_p_occupancy_ge_85"].sel(
        scenario="baseline", pool="medicine", year=2027, replicate=list(range(DES_REPLICATES))
    )
    assert first_bar.get_height() == pytest.approx(float(p85.median()) * 100)
    bars = next(c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer))
    whiskers = bars.lines[2][0].get_segments()  # baseline's, one per pool
    low, high = np.quantile(p85.values, [0.05, 0.95]) * 100
    assert (whiskers[0][0][1], whiskers[0][1][1]) == pytest.approx((low, high)), "90% range"


def test_pressure_panels(ds):
    fig = plots.plot_pressure(ds)
    assert _titles(fig) == [
        "ED boarding (decision to admit → bed)",
        "Elective admissions deferred",
        "Community-clinic unmet demand",
        "Wait for a free ambulance",
    ]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "mean hours",
        "persons per year",
        "thousands per year",
        "mean minutes",
    ]
    assert _legend(fig.axes[0]) == SCENARIO_LABELS
    reps = list(range(DES_REPLICATES))
    panels = {
        1: ds["des_elective_patients_deferred_year"].sum("pool"),  # persons, not events
        2: ds["des_clinic_unmet_year"].sum("clinic") * 1e-3,
    }
    for panel, values in panels.items():
        v = values.sel(scenario="baseline", replicate=reps, year=[2025, 2026, 2027])
        line = fig.axes[panel].containers[0]  # baseline: markers and whiskers
        np.testing.assert_allclose(line.lines[0].get_ydata(), v.median("replicate"))
        spans = [(seg[0][1], seg[1][1]) for seg in line.lines[2][0].get_segments()]
        q = np.quantile(v.values, [0.05, 0.95], axis=list(v.dims).index("replicate"))
        np.testing.assert_allclose(spans, q.T, rtol=1e-6)


def test_des_figures_say_so_when_the_batch_has_no_des(ds):
    no_des = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("des_")])
    for fig in (
        plots.plot_occupancy_distribution(no_des),
        plots.plot_occupancy_risk(no_des),
        plots.plot_pressure(no_des),
    ):
        notes = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert "no discrete-event (DES) results in this batch" in notes


# ------------------------------------------------------------------ workforce, attribution
def test_workforce_against_the_plan_targets(ds):
    fig = plots.plot_workforce(ds)
    assert _titles(fig) == [
        "Physicians per 1,000 residents",
        "Nurses per 1,000 residents",
        "GPs per 10,000 residents",
    ]
    targets = DEFAULTS.targets
    assert _legend(fig.axes[0]) == [
        *SCENARIO_LABELS,
        f"plan target {targets.physicians_per_1000:g}",
        *BAND_LABELS,
    ]
    assert _legend(fig.axes[1]) == [f"plan target {targets.nurses_per_1000:g}"]
    gps = ds["gps"] / ds["population_end"] * 1e4
    level = float(gps.sel(scenario="baseline", replicate=0, year=2025))
    assert _legend(fig.axes[2]) == [f"2025 level {level:.3g}"], "the base year's, from the data"
    assert fig.axes[0].get_ylabel() == "per 1,000 residents"


def test_waterfall_parts_add_up_from_base_year_to_end(ds):
    fig = plots.plot_waterfall(ds, scenario="reform")
    ax = fig.axes[0]
    assert ax.get_title() == f"What changes bed-days: {REFORM_LABEL}"
    assert ax.get_ylabel() == "bed-days (thousands per year)"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "2025" and labels[-1] == "2027"
    assert "day surgery" in labels and "ageing (age structure)" in labels
    assert _legend(ax) == ["+", "−"]
    bars = ax.patches
    level = ds["bed_days"].sum("pool").sel(scenario="reform", replicate=0) / 1e3
    assert bars[0].get_height() == pytest.approx(float(level.sel(year=2025)))
    assert bars[-1].get_height() == pytest.approx(float(level.sel(year=2027)))
    baseline = plots.plot_waterfall(ds, scenario="baseline").axes[0]
    assert "day surgery" not in [t.get_text() for t in baseline.get_xticklabels()], (
        "a reform left off is not drawn"
    )


def test_waterfall_of_admissions_adds_up_too(ds):
    ax = plots.plot_waterfall(ds, scenario="reform", measure="admissions").axes[0]
    assert ax.get_title() == f"What changes admissions: {REFORM_LABEL}"
    level = ds["admissions"].sum(["pool", "route"]).sel(scenario="reform", replicate=0) / 1e3
    bars = ax.patches
    assert bars[0].get_height() == pytest.approx(float(level.sel(year=2025)))
    assert bars[-1].get_height() == pytest.approx(float(level.sel(year=2027)))
    parts = sum(b.get_height() * (1 if b.get_facecolor()[0] > 0.5 else -1) for b in bars[1:-1])
    assert bars[0].get_height() + parts == pytest.approx(bars[-1].get_height(), rel=1e-6)


def test_paired_differences_against_the_baseline(ds):
    fig = plots.plot_paired_differences(ds)
    ax = fig.axes[0]
    assert ax.get_title() == "Difference from the baseline, paired (2027, 95% CI)"
    assert ax.get_xlabel() == "change from the baseline scenario (%)"
    assert _legend(ax) == [REFORM_LABEL]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "Resident population (end of year)" and "Bed-days" in rows
    assert {"Mean ED boarding time (DES)", "Community-clinic requests unmet (DES)"} <= set(rows)
    values = ds["bed_days"].sum("pool").sel(year=2027)
    rel = summary.paired_difference(values, "baseline", relative=True)
    xs = ax.lines[0].get_xdata()  # reform points, one per row
    assert xs[rows.index("Bed-days")] == pytest.approx(
        float(rel["mean"].sel(scenario="reform")) * 100
    )


# ------------------------------------------------------------------ the plan's year
@pytest.fixture(scope="module")
def moved(tmp_path_factory) -> xr.Dataset:
    """Two scenarios to 2030: one whose plan target year is 2028, one with the default."""
    return xr.load_dataset(target_batch(tmp_path_factory) / "results.nc", engine="h5netcdf")


@pytest.mark.slow  # with test_beds_figure_shows_each_scenarios_plan_target: a batch, 4 s
@pytest.mark.parametrize("last_year", [2030, 2029], ids=["with 2030", "without 2030"])
def test_figures_use_each_scenarios_plan_year(moved, last_year):
    """Bug: figures took the year 2030 from defaults of their own. A scenario whose plan
    target year is 2028 gets 2028, whether or not the results reach 2030."""
    ds = moved.sel(year=slice(None, last_year))
    default_year = min(DEFAULTS.plan_target.year, last_year)
    labels = summary.scenario_labels(ds)
    pyramid = _legend(plots.plot_pyramid(ds).axes[0])
    assert f"{MOVED_YEAR} (end of year): {labels[MOVED]}" in pyramid
    assert f"{default_year} (end of year): {labels[DEFAULT]}" in pyramid
    ticks = plots.plot_waterfall(ds, scenario=MOVED).axes[0].get_xticklabels()
    assert ticks[-1].get_text() == str(MOVED_YEAR)
    ticks = plots.plot_waterfall(ds, scenario=DEFAULT).axes[0].get_xticklabels()
    assert ticks[-1].get_text() == str(default_year)
    title = plots.plot_paired_differences(ds, baseline=MOVED).axes[0].get_title()
    assert f"({MOVED_YEAR}, " in title, "the baseline's plan year"


@pytest.mark.slow
def test_beds_figure_shows_each_scenarios_plan_target(moved):
    ax = plots.plot_beds(moved).axes[0]
    plan = DEFAULTS.plan_target
    stars = {(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in ax.lines if ln.get_marker() == "*"}
    assert stars == {(MOVED_YEAR, plan.beds), (plan.year, plan.beds)}
    occupancy = sorted(
        float(summary.central(moved[names.TARGET_OCCUPANCY]).sel(scenario=s))
        for s in (MOVED, DEFAULT)
    )
    shown = " / ".join(f"{v:.0%}" for v in occupancy)
    assert f"beds needed at target occupancy {shown} (by scenario)" in _legend(ax)


# ------------------------------------------------------------------ sensitivity
def _sensitivity(method: str) -> xr.Dataset:
    """Indices in the format of ``sensitivity.nc`` for y = 4 a + b (c has no effect)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}
    if method == "sobol":
        x = sobol_sample.sample(problem, 64, calc_second_order=False, seed=1)
    else:
        x = morris_sample.sample(problem, 20, num_levels=4, seed=1)
    y = 4 * x[:, 0] + x[:, 1]
    one = indices(method, problem, x, y, seed=1)
    return xr.concat([one], dim="output").assign_coords(output=["beds:year=2030"])


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_bars_sorted_by_importance(method):
    fig = plots.plot_sensitivity(_sensitivity(method))
    ax = fig.axes[0]
    assert ax.get_title() == "Sensitivity: beds:year=2030"
    params = [t.get_text() for t in ax.get_yticklabels()]
    assert params[-1] == "a" and params[0] == "c", "the most important parameter on top"
    if method == "sobol":
        assert _legend(ax) == ["first-order S1", "total-order ST"]
        assert ax.get_xlabel() == "Sobol index"
    else:
        assert _legend(ax) == ["μ*", "σ (spread of the effects)"]
        assert ax.get_xlabel() == "Morris μ* (output units)"


# ------------------------------------------------------------------ language and fonts
def test_chinese_figures_draw_every_glyph_with_the_cjk_font(ds):
    makers = {
        "pyramid_title": lambda: plots.plot_pyramid(ds, lang="zh"),
        "beds_title": lambda: plots.plot_beds(ds, lang="zh"),
        "occ_dist_title": lambda: plots.plot_occupancy_distribution(ds, lang="zh"),
        "workforce_title": lambda: plots.plot_workforce(ds, lang="zh"),
    }
    for key, make in makers.items():
        fig = make()
        shown = [fig.get_suptitle(), *_titles(fig)]
        assert i18n.text(key, "zh") in shown, key
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
            fig.canvas.draw()
        family = fig.axes[0].title.get_fontfamily()
        assert plots.CJK_FAMILY in family, f"{key}: title font {family}"


def test_labels_from_scenario_files_are_not_mathtext(ds):
    relabelled = ds.assign_coords(scenario_label=("scenario", ["Cost $5 and $6", "b"]))
    fig = plots.plot_share_65plus(relabelled)
    fig.canvas.draw()  # mathtext would fail on "$5 and $"
    assert _legend(fig.axes[0])[0] == r"Cost \$5 and \$6"


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(
        font_manager.fontManager,
        "ttflist",
        [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name],
    )
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    with pytest.raises(plots.FontMissingError, match="fonts-noto-cjk"), plots.style("zh"):
        pass
    with plots.style("en"):  # English figures do not need it
        pass


def test_unknown_language_is_rejected(ds):
    with pytest.raises(ValueError, match="language 'fr'"):
        plots.plot_births(ds, lang="fr")


def test_output_against_inputs_draws_every_point_in_one_panel_per_input():
    rng = np.random.default_rng(3)
    x = xr.DataArray(
        rng.uniform(size=(12, 4)),
        dims=("point", "parameter"),
        coords={"parameter": ["a", "b", "c", "d"]},
    )
    y = xr.DataArray(4 * x.sel(parameter="a").values, dims="point")
    fig = plots.plot_output_against_inputs(x, y, title="beds:year=2030", y_label="beds")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in shown] == ["a", "b", "c", "d"]
    for ax, param in zip(shown, "abcd", strict=True):
        offsets = ax.collections[0].get_offsets()
        np.testing.assert_array_equal(offsets[:, 0], x.sel(parameter=param).values)
        np.testing.assert_array_equal(offsets[:, 1], y.values)
    assert [ax.get_ylabel() for ax in shown] == ["beds", "", "", "beds"], "first of each row"
