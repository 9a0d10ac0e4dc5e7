"""Figures made from result Datasets only; no simulation, no ``plt.show()``.

Each function returns its Figure; one that draws a single panel takes ``ax=`` and draws
on it, one that draws several takes ``axes=`` (a sequence of the right length). Every
function takes ``lang`` ("en" or "zh"); Chinese figures use the Noto Sans CJK font
(Debian package ``fonts-noto-cjk``, installed by the project's set-up) and fail with
:class:`FontMissingError` without it. Text from scenario files (labels) is drawn as
plain text (no mathtext).

Uncertainty: fans show the median and the 50% and 90% bands over a batch's drawn
replicates (:func:`sim.model.summary.quantiles`); central values are replicate 0. The
discrete-event (DES) figures use the replicates that ran the DES: the same quantiles
(median and 90% range) of their uncertainty sample, and the days of all of them pooled
for the occupancy distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.base import names
from sim.model import summary
from sim.present import i18n

_LINESTYLES = ("-", "--", "-.", ":")
"""Median lines of scenarios 1, 2, ... so that coinciding lines stay visible."""
_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")
CJK_FAMILY = "Noto Sans CJK SC"
"""Font family of Chinese text (Debian ``fonts-noto-cjk``)."""
LATIN_FAMILY = "DejaVu Sans"
"""Shipped with matplotlib; Chinese glyphs fall back to :data:`CJK_FAMILY`."""


class FontMissingError(RuntimeError):
    """The CJK font needed for Chinese figures is not installed."""


def cjk_font_family(*, required: bool = True) -> str | None:
    """The CJK font family name known to matplotlib, registering the Noto Sans CJK files
    when matplotlib's font cache predates their installation. ``None`` (or
    :class:`FontMissingError` when ``required``) if the font is not installed."""
    fm = font_manager.fontManager
    if any(f.name == CJK_FAMILY for f in fm.ttflist):
        return CJK_FAMILY
    # fontext "ttf" lists .ttf, .ttc and .otf files
    for path in font_manager.findSystemFonts(fontext="ttf"):
        if Path(path).name.startswith("NotoSansCJK"):
            fm.addfont(path)
    if any(f.name == CJK_FAMILY for f in fm.ttflist):
        return CJK_FAMILY
    if required:
        raise FontMissingError(
            f"Chinese figures need the font {CJK_FAMILY!r}, which is not installed: install "
            "the Debian package fonts-noto-cjk (python3 run.py does it on set-up)"
        )
    return None


@contextmanager
def style(lang: str) -> Iterator[None]:
    """Fonts and sizes for figures in ``lang``; CJK glyphs fall back to Noto Sans CJK.

    Axes made by the caller and passed to a plot function must be made inside this
    context (matplotlib fixes a text's font when the text is created)."""
    i18n.text("scenario", lang)  # rejects an unknown language before any drawing
    cjk = cjk_font_family(required=lang == "zh")
    with plt.rc_context(
        {
            "font.family": [LATIN_FAMILY, *([cjk] if cjk else [])],
            "axes.titlesize": 10.5,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.unicode_minus": False,
        }
    ):
        yield


def _plain(label: str) -> str:
    """Text shown as is: a ``$`` must not start mathtext."""
    return label.replace("$", r"\$")


def _figure(ax: Axes | None, size: tuple[float, float] = (7.0, 6.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure()
        assert isinstance(fig, Figure)  # an Axes passed in always belongs to a Figure
        return fig, ax
    fig, new_ax = plt.subplots(figsize=size, layout="constrained")
    return fig, new_ax


def _panels(
    axes: Sequence[Axes] | None, n: int, ncols: int, size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    if axes is not None:
        if len(axes) != n:
            raise ValueError(f"this figure draws {n} panels; {len(axes)} axes were given")
        fig = axes[0].get_figure()
        assert isinstance(fig, Figure)
        return fig, list(axes)
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=size, layout="constrained", squeeze=False)
    flat = list(grid.ravel())
    for extra in flat[n:]:
        extra.set_visible(False)
    return fig, flat[:n]


def _colour(i: int) -> str:
    return _COLOURS[i % len(_COLOURS)]


def _linestyle(i: int) -> str:
    return _LINESTYLES[i % len(_LINESTYLES)]


def _scenarios(ds: xr.Dataset) -> list[tuple[str, str]]:
    """(name, plain label) of each scenario, or one unnamed entry without the dimension."""
    if names.SCENARIO not in ds.dims:
        return [("", "")]
    labels = summary.scenario_labels(ds)
    return [(code, _plain(lab)) for code, lab in labels.items()]


def _pick(da: xr.DataArray, scenario: str) -> xr.DataArray:
    return da.sel({names.SCENARIO: scenario}) if scenario and names.SCENARIO in da.dims else da


def _note(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _band_handles(lang: str) -> list[Patch]:
    return [
        Patch(facecolor="grey", alpha=0.4, label=i18n.text("band50", lang)),
        Patch(facecolor="grey", alpha=0.15, label=i18n.text("band90", lang)),
    ]


def _draw_fan(ax: Axes, da: xr.DataArray, colour: str, label: str, linestyle: str = "-") -> None:
    """Median line with 50% and 90% bands of ``da`` (dims: sample, year) along years."""
    has_sample = names.REPLICATE in da.dims or summary.SAMPLE in da.dims
    x = np.asarray(da[names.YEAR].values)
    if not has_sample:
        ax.plot(x, np.asarray(da.values), color=colour, label=label, marker=".", ls=linestyle)
        return
    q = summary.quantiles(da)
    lo90, lo50, mid, hi50, hi90 = (
        np.asarray(q.sel({summary.QUANTILE: p}).values) for p in summary.FAN_QUANTILES
    )
    ax.fill_between(x, lo90, hi90, color=colour, alpha=0.1, linewidth=0)
    ax.fill_between(x, lo50, hi50, color=colour, alpha=0.25, linewidth=0)
    ax.plot(x, mid, color=colour, label=label, marker=".", linestyle=linestyle)


def _years_with_data(da: xr.DataArray) -> xr.DataArray:
    other = [d for d in da.dims if d != names.YEAR]
    valid = np.asarray(da.notnull().any(other).values) if other else np.asarray(da.notnull())
    return da.isel({names.YEAR: np.flatnonzero(valid)})


# ------------------------------------------------------------------ population
def plot_pyramid(
    ds: xr.Dataset,
    years: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    scenario_label: str = "",
    lang: str = "en",
) -> Figure:
    """Population pyramid (share of the total by single year of age and sex); males to
    the left. A projection Dataset (``population`` by year, sex, age) gives one outline
    per year, the first filled; a batch Dataset (``population_by_age`` with a scenario
    dimension) gives the first year filled and each scenario's later years as outlines
    (default: the base year, and each scenario's own plan target year or, short of it,
    the last year: :func:`sim.model.summary.figure_years`). Central values: replicate 0."""
    ds = summary.flatten_sweep(ds)
    var = "population_by_age" if "population_by_age" in ds else "population"
    pop = ds[var]
    if names.REPLICATE in pop.dims or summary.SAMPLE in pop.dims:
        pop = summary.central(pop)
    with style(lang):
        fig, ax = _figure(ax)
        if names.SCENARIO in pop.dims:
            _pyramid_of_scenarios(ax, ds, pop, years, lang)
        else:
            _pyramid_of_years(ax, pop, years, lang)
        _pyramid_axes(ax, scenario_label, lang)
    return fig


def _pyramid_shares(p: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Males' and females' shares (%) of the total of ``p`` (dims: sex, age), by age."""
    total = float(p.sum())
    male = np.asarray(p.sel({names.SEX: "male"}).values) / total * 100
    female = np.asarray(p.sel({names.SEX: "female"}).values) / total * 100
    return male, female


def _pyramid_outline(
    ax: Axes, p: xr.DataArray, colour: str, label: str, ls: str = "-", fill: bool = False
) -> None:
    """One year's pyramid of ``p`` (dims: sex, age) as steps, ``fill``: shaded inside."""
    ages = np.asarray(p[names.AGE].values)
    male, female = _pyramid_shares(p)
    ax.step(-male, ages, where="mid", color=colour, label=label, linewidth=1.2, ls=ls)
    ax.step(female, ages, where="mid", color=colour, linewidth=1.2, ls=ls)
    if fill:
        for lo, hi in ((-male, 0.0), (0.0, female)):
            ax.fill_betweenx(ages, lo, hi, step="mid", color=colour, alpha=0.25, linewidth=0)


def _pyramid_of_scenarios(
    ax: Axes, ds: xr.Dataset, pop: xr.DataArray, years: Sequence[int] | None, lang: str
) -> None:
    """A batch's pyramids: the first year filled (first scenario), then each scenario's
    later years (default: its own plan year, :func:`sim.model.summary.figure_years`)."""
    scenarios = _scenarios(ds)
    if years is None:
        all_years = [int(y) for y in pop[names.YEAR].values]
        first = summary.base_year(ds) if "bed_days" in ds else all_years[0]
        later = {code: [y] for code, y in summary.figure_years(ds).items()}
    else:
        first, later = years[0], {code: list(years[1:]) for code, _ in scenarios}
    base = _pick(pop, scenarios[0][0]).sel({names.YEAR: first})
    _pyramid_outline(ax, base, "grey", i18n.text("pyramid_base", lang, year=first), fill=True)
    for i, (code, lab) in enumerate(scenarios):
        for year in later[code]:
            label = f"{i18n.text('pyramid_year', lang, year=year)}: {lab}"
            p = _pick(pop, code).sel({names.YEAR: year})
            _pyramid_outline(ax, p, _colour(i), label, _linestyle(i))


def _pyramid_of_years(ax: Axes, pop: xr.DataArray, years: Sequence[int] | None, lang: str) -> None:
    """A projection's pyramids, the first year filled (default: its first and last)."""
    if years is None:
        all_years = [int(y) for y in pop[names.YEAR].values]
        years = [all_years[0], all_years[-1]]
    for i, year in enumerate(years):
        label = i18n.text("pyramid_year", lang, year=year)
        p = pop.sel({names.YEAR: year})
        _pyramid_outline(ax, p, _colour(i), label, fill=i == 0)


def _pyramid_axes(ax: Axes, scenario_label: str, lang: str) -> None:
    """Centre line, unsigned share ticks, labels, title and legend of a pyramid."""
    ax.axvline(0, color="black", linewidth=0.8)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{abs(t):.1f}" for t in ticks])
    ax.set_xlabel(i18n.text("pyramid_x", lang))
    ax.set_ylabel(i18n.text("pyramid_y", lang))
    title = i18n.text("pyramid_title", lang)
    ax.set_title(f"{title}: {_plain(scenario_label)}" if scenario_label else title)
    ax.set_ylim(0, names.MAX_AGE)
    ax.legend(loc="upper right")


def plot_fan(
    ds: xr.Dataset,
    value: Callable[[xr.Dataset], xr.DataArray],
    *,
    title: str,
    ylabel: str,
    ax: Axes | None = None,
    lang: str = "en",
    all_years: bool = False,
) -> Figure:
    """Median and 50% / 90% bands of ``value(ds)`` (dims: scenario, replicate, year) for
    every scenario, over the years with results (``all_years``: every projection year)."""
    ds = summary.flatten_sweep(ds)
    with style(lang):
        fig, ax = _figure(ax, (6.0, 4.0))
        da = value(ds)
        if not all_years:
            da = _years_with_data(da)
        for i, (code, lab) in enumerate(_scenarios(ds)):
            _draw_fan(
                ax, _pick(da, code), _colour(i), lab or i18n.text("median", lang), _linestyle(i)
            )
        ax.set_title(title)
        ax.set_xlabel(i18n.text("year", lang))
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, *_band_handles(lang)], loc="best")
    return fig


def plot_share_65plus(ds: xr.Dataset, *, ax: Axes | None = None, lang: str = "en") -> Figure:
    """Share of residents aged 65+ by year (every projection year), fans per scenario."""
    return plot_fan(
        ds,
        lambda d: d["share_65plus"] * 100.0,
        title=i18n.text("share65_title", lang),
        ylabel=i18n.text("share65_y", lang),
        ax=ax,
        lang=lang,
        all_years=True,
    )


def _whole_years(d: xr.Dataset, da: xr.DataArray) -> xr.DataArray:
    """Drop projection steps shorter than a year (census date to the end of 2020)."""
    if "period_length" not in d:
        return da
    full = summary.central(d["period_length"]) >= 0.99
    other = [dim for dim in full.dims if dim != names.YEAR]
    if other:  # the same steps in every scenario
        full = full.all(other)
    return da.sel({names.YEAR: np.asarray(full[names.YEAR].values)[np.asarray(full.values)]})


def plot_births(ds: xr.Dataset, *, ax: Axes | None = None, lang: str = "en") -> Figure:
    """Live births per calendar year (every whole projection year), fans per scenario."""
    return plot_fan(
        ds,
        lambda d: _whole_years(d, d["births_by_sex"].sum(names.SEX, min_count=1)),
        title=i18n.text("births_title", lang),
        ylabel=i18n.text("births_y", lang),
        ax=ax,
        lang=lang,
        all_years=True,
    )


DEMAND_PANELS: tuple[tuple[str, Callable[[xr.Dataset], xr.DataArray]], ...] = (
    ("demand_visits_chc", lambda d: d["visits"].sel({names.SERVICE: "chc"}) * 1e-3),
    ("demand_visits_outpatient", lambda d: d["visits"].sel({names.SERVICE: "outpatient"}) * 1e-3),
    ("demand_visits_ed", lambda d: d["visits"].sel({names.SERVICE: "ed"}) * 1e-3),
    ("demand_ambulance", lambda d: d["ambulance_dispatches"] * 1e-3),
    ("demand_admissions", lambda d: d["admissions"].sum([names.POOL, "route"], min_count=1) * 1e-3),
    ("demand_bed_days", lambda d: d["bed_days"].sum(names.POOL, min_count=1) * 1e-3),
)
"""(title message id, thousands per year) of each panel of :func:`plot_demand`."""


def plot_demand(ds: xr.Dataset, *, axes: Sequence[Axes] | None = None, lang: str = "en") -> Figure:
    """Demand per service over the run's years: median and 50% / 90% bands over the
    replicates, one colour per scenario; six panels (:data:`DEMAND_PANELS`)."""
    with style(lang):
        fig, panels = _panels(axes, len(DEMAND_PANELS), 3, (13.0, 7.0))
        for ax, (key, value) in zip(panels, DEMAND_PANELS, strict=True):
            plot_fan(
                ds,
                value,
                title=i18n.text(key, lang),
                ylabel=i18n.text("per_year_thousands", lang),
                ax=ax,
                lang=lang,
            )
            if ax is not panels[0]:
                legend = ax.get_legend()
                if legend is not None:
                    legend.remove()
        if axes is None:
            fig.suptitle(i18n.text("demand_title", lang))
    return fig


# ------------------------------------------------------------------ beds
_WAIT_LINE: dict[str, Any] = {"linestyle": ":", "linewidth": 1.5}
"""Style of the beds needed for the wait target (median) in :func:`plot_beds`."""
_CAPACITY_LINE: dict[str, Any] = {"marker": "s", "markersize": 4, "linewidth": 2.0, "alpha": 0.7}
"""Style of the beds in service (central, steps) in :func:`plot_beds`."""


def plot_beds(
    ds: xr.Dataset,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Figure:
    """Beds needed at the target occupancy (fan: median, 50% and 90% bands) and for the
    wait target (median, dotted) against the beds in service at the end of each year
    (central, steps) and the plan's target (a star), per scenario; the targets are each
    scenario's own, as its tasks ran with them (:func:`sim.model.summary.plan_targets`)."""
    targets = summary.plan_targets(ds)
    ds = summary.flatten_sweep(ds)
    with style(lang):
        fig, ax = _figure(ax, (8.0, 5.0))
        scen = _scenarios(ds)
        _draw_beds(ax, ds, scen)
        occ = _each([targets[c].occupancy for c, _ in scen], "{:.0%}", lang)
        wait_p = _each([targets[c].bed_wait_probability for c, _ in scen], "{:.0%}", lang)
        style_handles = [
            Line2D(
                [], [], color="black", marker=".", label=i18n.text("beds_needed_occ", lang, occ=occ)
            ),
            Line2D(
                [],
                [],
                color="black",
                label=i18n.text("beds_needed_wait", lang, p=wait_p),
                **_WAIT_LINE,
            ),
            Line2D([], [], color="black", label=i18n.text("beds_capacity", lang), **_CAPACITY_LINE),
        ]
        style_handles += _plan_stars(ax, targets, scen, lang)
        scen_handles, _ = ax.get_legend_handles_labels()
        scen_handles = [h for h in scen_handles if h not in style_handles]
        ax.legend(handles=[*scen_handles, *style_handles, *_band_handles(lang)], loc="best")
        ax.set_title(i18n.text("beds_title", lang))
        ax.set_xlabel(i18n.text("year", lang))
        ax.set_ylabel(i18n.text("beds_y", lang))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _draw_beds(ax: Axes, ds: xr.Dataset, scen: list[tuple[str, str]]) -> None:
    """Each scenario's beds needed (fan at the target occupancy, median for the wait
    target) and beds in service: one black line when the scenarios share them."""
    need_occ = _years_with_data(ds["beds_needed_occupancy"].sum(names.POOL, min_count=1))
    need_wait = _years_with_data(ds["beds_needed_wait"].sum(names.POOL, min_count=1))
    capacity = _years_with_data(ds["beds_end"].sum(names.POOL, min_count=1))
    caps = [summary.central(_pick(capacity, code)) for code, _ in scen]
    shared = all(np.allclose(c.values, caps[0].values, equal_nan=True) for c in caps)
    for i, (code, lab) in enumerate(scen):
        colour = _colour(i)
        _draw_fan(ax, _pick(need_occ, code), colour, lab)
        wait = summary.quantiles(_pick(need_wait, code)).sel({summary.QUANTILE: 0.5})
        ax.plot(wait[names.YEAR].values, wait.values, color=colour, **_WAIT_LINE)
        if not shared or i == 0:
            cap_colour = "black" if shared else colour
            ax.plot(caps[i][names.YEAR].values, caps[i].values, color=cap_colour, **_CAPACITY_LINE)


def _each(values: Sequence[float], fmt: str, lang: str) -> str:
    """A target as a legend states it: its value when every scenario has the same, else
    the scenarios' values (lowest to highest) marked as differing by scenario."""
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return fmt.format(distinct[0])
    return i18n.text("each_scenario", lang, values=" / ".join(fmt.format(v) for v in distinct))


def _plan_stars(
    ax: Axes, targets: dict[str, summary.PlanTargets], scen: list[tuple[str, str]], lang: str
) -> list[Line2D]:
    """The plan's bed targets as stars at (target year, beds): one red star when the
    scenarios share it, else one per distinct target in the colour of its first scenario."""
    points: dict[str, tuple[int, float]] = {}
    for code, _ in scen:
        beds = targets[code].beds
        if beds is not None:  # None: the scenario has no bed target
            points[code] = (targets[code].year, beds)
    distinct = list(dict.fromkeys(points.values()))
    codes = [code for code, _ in scen]
    handles = []
    for year, beds in distinct:
        first = next(c for c, p in points.items() if p == (year, beds))
        colour = "#c00000" if len(distinct) == 1 else _colour(codes.index(first))
        label = i18n.text("beds_plan_target", lang, year=year, beds=beds)
        (star,) = ax.plot([year], [beds], marker="*", markersize=16, color=colour, ls="none")
        star.set_label(label)
        handles.append(star)
    return handles


def _des_occupancy(ds: xr.Dataset) -> xr.DataArray:
    """Daily midnight occupancy (%) of the replicates that ran the DES."""
    census = ds["des_midnight_census"]
    beds = ds["des_bed_capacity"]
    reps = summary.des_replicates(ds)
    occ = (census / beds.where(beds > 0) * 100.0).sel({summary.sample_dim(census): reps})
    return occ.assign_coords({names.YEAR: occ["date"].dt.year})


def _occupancy_targets(
    ax: Axes, targets: dict[str, summary.PlanTargets], scen: list[tuple[str, str]]
) -> None:
    """Each scenario's target occupancy (%) as a dotted line: red when they share it,
    else in the scenarios' colours."""
    levels = {code: targets[code].occupancy * 100.0 for code, _ in scen}
    shared = len(set(levels.values())) == 1
    for i, (code, _) in enumerate(scen[:1] if shared else scen):
        colour = "#c00000" if shared else _colour(i)
        ax.axhline(levels[code], color=colour, linewidth=0.8, linestyle=":")


def plot_occupancy_distribution(
    ds: xr.Dataset, *, axes: Sequence[Axes] | None = None, lang: str = "en"
) -> Figure:
    """Distribution of daily midnight occupancy (occupied / available beds, %) per year
    and bed pool over the DES replicates' days: boxes of the quartiles, whiskers at the
    5% and 95% quantiles, one colour per scenario, side by side; dotted: the scenarios'
    target occupancy (:func:`sim.model.summary.plan_targets`)."""
    ds = summary.flatten_sweep(ds)
    pools = [str(p) for p in ds[names.POOL].values] if names.POOL in ds.dims else []
    with style(lang):
        fig, panels = _panels(axes, max(len(pools), 1), 4, (14.0, 6.5))
        if not summary.has_des(ds):
            _note(panels[0], i18n.text("no_des", lang))
            panels[0].set_title(i18n.text("occ_dist_title", lang))
            return fig
        occ = _des_occupancy(ds)
        targets = summary.plan_targets(ds)
        years = sorted({int(y) for y in occ[names.YEAR].values})
        scen = _scenarios(ds)
        for ax, pool in zip(panels, pools, strict=True):
            for i, (code, lab) in enumerate(scen):
                v = _pick(occ, code).sel({names.POOL: pool})
                _occupancy_boxes(ax, v, years, (i, len(scen)), lab)
            _occupancy_targets(ax, targets, scen)
            ax.set_xticks(range(len(years)))
            ax.set_xticklabels([str(y) for y in years], rotation=45)
            ax.set_title(i18n.label("pool", pool, lang))
            ax.set_ylabel(i18n.text("occ_dist_y", lang))
            ax.set_xlabel(i18n.text("year", lang))
        if axes is None and len(pools) % 4:
            handles, labels = panels[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="lower right", bbox_to_anchor=(0.98, 0.12))
        else:
            panels[0].legend(loc="lower left")
        if axes is None:
            fig.suptitle(i18n.text("occ_dist_title", lang))
    return fig


def _occupancy_boxes(
    ax: Axes, occ: xr.DataArray, years: list[int], slot: tuple[int, int], label: str
) -> None:
    """One scenario's boxes of daily occupancy ``occ`` (%, dims: sample, date), one per
    year with data at x = its index in ``years``, shifted to the scenario's ``slot``
    (index, number of scenarios) of the year's width 0.8; its first box carries ``label``."""
    i, n = slot
    width = 0.8 / n
    data, pos = [], []
    for j, year in enumerate(years):
        v = occ.isel(date=np.flatnonzero(occ[names.YEAR].values == year))
        vals = np.asarray(v.values, dtype=float).ravel()
        vals = vals[np.isfinite(vals)]
        if vals.size:
            data.append(vals)
            pos.append(j + (i - (n - 1) / 2) * width)
    if not data:
        return
    bp = ax.boxplot(
        data,
        positions=pos,
        widths=width * 0.9,
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        manage_ticks=False,
    )
    for box in bp["boxes"]:
        box.set_facecolor(_colour(i))
        box.set_alpha(0.55)
    for med in bp["medians"]:
        med.set_color("black")
    bp["boxes"][0].set_label(label)


OCCUPANCY_RISKS: tuple[tuple[str, str], ...] = (
    ("des_p_occupancy_ge_85", "occ_ge_85"),
    ("des_p_occupancy_ge_95", "occ_ge_95"),
    ("des_p_full", "occ_full"),
)


def plot_occupancy_risk(
    ds: xr.Dataset,
    *,
    year: int | None = None,
    axes: Sequence[Axes] | None = None,
    lang: str = "en",
) -> Figure:
    """Share of the year's time with occupancy >= 85%, >= 95% and with every bed full,
    per bed pool (bars: median over the DES replicates' uncertainty sample; whiskers: its
    90% range, :func:`sim.model.summary.quantiles`), one colour per scenario; default year: the
    baseline's plan target year or, short of it, the last year
    (:func:`sim.model.summary.common_figure_year`)."""
    ds = summary.flatten_sweep(ds)
    with style(lang):
        fig, panels = _panels(axes, len(OCCUPANCY_RISKS), 3, (14.0, 4.5))
        if not summary.has_des(ds):
            for ax, (_, key) in zip(panels, OCCUPANCY_RISKS, strict=True):
                _note(ax, i18n.text("no_des", lang))
                ax.set_title(i18n.text(key, lang))
            return fig
        year = year or summary.common_figure_year(ds)
        pools = [str(p) for p in ds[names.POOL].values]
        scen = _scenarios(ds)
        width = 0.8 / len(scen)
        x = np.arange(len(pools))
        for ax, (var, key) in zip(panels, OCCUPANCY_RISKS, strict=True):
            da = ds[var].sel({names.YEAR: year}) * 100.0
            q = summary.quantiles(da, summary.RANGE_QUANTILES)
            ranged = summary.sample_size(da) >= 2
            for i, (code, lab) in enumerate(scen):
                mid, err = _median_and_range(_pick(q, code).sel({names.POOL: pools}))
                ax.bar(
                    x + (i - (len(scen) - 1) / 2) * width,
                    mid,
                    width * 0.95,
                    color=_colour(i),
                    label=lab,
                    yerr=err if ranged else None,
                    capsize=2,
                )
            ax.set_xticks(x)
            ax.set_xticklabels(
                [i18n.label("pool", p, lang) for p in pools], rotation=45, ha="right"
            )
            ax.set_title(i18n.text(key, lang))
            ax.set_ylabel(i18n.text("share_of_time", lang))
        panels[0].legend(loc="upper right")
        if axes is None:
            fig.suptitle(i18n.text("occ_risk_title", lang, year=year))
    return fig


def _median_and_range(q: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """From quantiles (:data:`sim.model.summary.RANGE_QUANTILES` along ``quantile``, one other
    dimension): the medians and the (2, n) whisker lengths down to the 5% and up to the
    95% quantile (0 where there is none)."""
    lo, mid, hi = (
        np.asarray(q.sel({summary.QUANTILE: p}).values, dtype=float)
        for p in summary.RANGE_QUANTILES
    )
    return mid, _whiskers(lo, mid, hi)


def _whiskers(lo: np.ndarray, mid: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The (2, n) whisker lengths from ``mid`` down to ``lo`` and up to ``hi`` (in their
    unit; 0 where either end is missing)."""
    err = np.vstack([mid - lo, hi - mid])
    return np.where(np.isfinite(err), err, 0.0)


# ------------------------------------------------------------------ DES pressure
PRESSURE_PANELS: tuple[tuple[str, str, Callable[[xr.Dataset], xr.DataArray]], ...] = (
    ("ed_boarding", "hours_mean", lambda d: d["des_ed_boarding_mean"]),
    (
        "elective_deferrals",
        "persons_per_year",
        lambda d: d["des_elective_patients_deferred_year"].sum(names.POOL, min_count=1),
    ),
    (
        "clinic_unmet",
        "per_year_thousands",
        lambda d: d["des_clinic_unmet_year"].sum("clinic", min_count=1) * 1e-3,
    ),
    ("ambulance_delay", "minutes_mean", lambda d: d["des_ambulance_delay_mean_year"]),
)
"""(title id, axis id, value by scenario, replicate, year) of :func:`plot_pressure`."""


def plot_pressure(
    ds: xr.Dataset, *, axes: Sequence[Axes] | None = None, lang: str = "en"
) -> Figure:
    """ED boarding, electives deferred (patients), community-clinic unmet demand and
    ambulance delay by year from the DES: median over the DES replicates' uncertainty
    sample (markers) and its 90% range (whiskers; :func:`sim.model.summary.quantiles`), one
    colour per scenario, side by side."""
    ds = summary.flatten_sweep(ds)
    with style(lang):
        fig, panels = _panels(axes, len(PRESSURE_PANELS), 2, (11.0, 7.5))
        des = summary.has_des(ds)
        scen = _scenarios(ds)
        for ax, (title, ylabel, value) in zip(panels, PRESSURE_PANELS, strict=True):
            ax.set_title(i18n.text(title, lang))
            if not des:
                _note(ax, i18n.text("no_des", lang))
                continue
            da = _years_with_data(value(ds))
            q = summary.quantiles(da, summary.RANGE_QUANTILES)
            ranged = summary.sample_size(da) >= 2
            years = np.asarray(da[names.YEAR].values, dtype=float)
            for i, (code, lab) in enumerate(scen):
                mid, err = _median_and_range(_pick(q, code).transpose(summary.QUANTILE, ...))
                ax.errorbar(
                    years + (i - (len(scen) - 1) / 2) * 0.12,
                    mid,
                    yerr=err if ranged else None,
                    color=_colour(i),
                    marker="o",
                    markersize=4,
                    capsize=2,
                    linewidth=1,
                    label=lab,
                )
            ax.set_ylabel(i18n.text(ylabel, lang))
            ax.set_xlabel(i18n.text("year", lang))
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if des:
            panels[0].legend(loc="best")
        if axes is None:
            fig.suptitle(i18n.text("pressure_title", lang))
    return fig


# ------------------------------------------------------------------ workforce
def _gps_per_10000(ds: xr.Dataset) -> xr.DataArray:
    return ds["gps"] / ds["population_end"] * 1e4


def plot_workforce(
    ds: xr.Dataset,
    *,
    axes: Sequence[Axes] | None = None,
    lang: str = "en",
) -> Figure:
    """Physicians and nurses per 1,000 residents against each scenario's plan targets
    (:func:`sim.model.summary.plan_targets`), and GPs per 10,000 residents against their
    base-year level (central; the plan sets no target for it); fans."""
    flat = summary.flatten_sweep(ds)
    base = summary.base_year(flat)
    panels_spec = _workforce_panels(ds, flat, base)
    with style(lang):
        fig, panels = _panels(axes, len(panels_spec), 3, (13.0, 4.2))
        for ax, (title, ylabel, value, line_key, levels) in zip(panels, panels_spec, strict=True):
            plot_fan(
                ds,
                value,
                title=i18n.text(title, lang),
                ylabel=i18n.text(ylabel, lang),
                ax=ax,
                lang=lang,
            )
            lines = _level_lines(ax, levels, _scenarios(flat), line_key, base, lang)
            if ax is panels[0]:
                handles, _ = ax.get_legend_handles_labels()
                handles = [h for h in handles if h not in lines]
                ax.legend(handles=[*handles, *lines, *_band_handles(lang)], loc="best")
            else:  # the scenarios' legend is in the first panel
                ax.legend(handles=lines, loc="best")
        if axes is None:
            fig.suptitle(i18n.text("workforce_title", lang))
    return fig


def _workforce_panels(
    ds: xr.Dataset, flat: xr.Dataset, base: int
) -> list[tuple[str, str, Callable[[xr.Dataset], xr.DataArray], str, dict[str, float]]]:
    """(title id, axis id, value, line message id, level by scenario) of each panel of
    :func:`plot_workforce`; ``flat``: ``ds`` with its sweep flattened, ``base``: its base year."""
    targets = summary.plan_targets(ds)
    gp_base = summary.central(_gps_per_10000(flat).sel({names.YEAR: base}))
    return [
        (
            "physicians_per_1000",
            "per_1000",
            lambda d: d["physicians_per_1000"],
            "target_line",
            {c: t.physicians_per_1000 for c, t in targets.items()},
        ),
        (
            "nurses_per_1000",
            "per_1000",
            lambda d: d["nurses_per_1000"],
            "target_line",
            {c: t.nurses_per_1000 for c, t in targets.items()},
        ),
        (
            "gps_per_10000",
            "per_10000",
            _gps_per_10000,
            "reference_base",
            {c: float(gp_base.sel({names.SCENARIO: c})) for c in targets},
        ),
    ]


def _level_lines(
    ax: Axes,
    levels: dict[str, float],
    scen: list[tuple[str, str]],
    line_key: str,
    year: int,
    lang: str,
) -> list[Line2D]:
    """Horizontal target (dashed) or reference (dotted) lines: one red line when every
    scenario has the same level, else one per scenario in its colour, labelled with it."""
    ls = "--" if line_key == "target_line" else ":"
    if len(set(levels.values())) == 1:
        value = next(iter(levels.values()))
        label = i18n.text(line_key, lang, value=value, year=year)
        return [ax.axhline(value, color="#c00000", label=label, linestyle=ls, linewidth=1.2)]
    out = []
    for i, (code, lab) in enumerate(scen):
        label = f"{i18n.text(line_key, lang, value=levels[code], year=year)}: {lab}"
        out.append(ax.axhline(levels[code], color=_colour(i), label=label, ls=ls, lw=1.2))
    return out


# ------------------------------------------------------------------ attribution
WATERFALL_MEASURES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bed_days": ("change_bed_days", "bed_days", (names.POOL,)),
    "admissions": ("change_admissions", "admissions", (names.POOL, "route")),
}
"""measure -> (change-by-step variable, level variable, dims summed where present)."""


def plot_waterfall(
    ds: xr.Dataset,
    *,
    scenario: str | None = None,
    measure: str = "bed_days",
    year: int | None = None,
    ax: Axes | None = None,
    lang: str = "en",
    min_share: float = 0.001,
) -> Figure:
    """Attribution waterfall of the change since the base year (central replicate):
    base-year level -> each step (population size, ageing, births, growth, flows, each
    reform) -> level in ``year`` (default: the scenario's plan target year or, short of it,
    the last year: :func:`sim.model.summary.figure_years`). Steps whose
    part is below ``min_share`` of the base level in absolute value (reforms left off)
    are not drawn; the parts always add up to the change."""
    ds = summary.flatten_sweep(ds)
    scen = _scenarios(ds)
    code, lab = next(((c, lab) for c, lab in scen if c == scenario), scen[0])
    base = summary.base_year(ds)
    year = year or summary.figure_years(ds)[code]
    start, end, parts = _waterfall_parts(ds, code, measure, (base, year))
    shown = [(s, v) for s, v in parts if abs(v) >= min_share * abs(start)]
    with style(lang):
        fig, ax = _figure(ax, (9.0, 4.8))
        labels = [
            i18n.text("waterfall_start", lang, year=base),
            *(i18n.label("step", s, lang) for s, _ in shown),
            i18n.text("waterfall_end", lang, year=year),
        ]
        bottoms, heights, colours = _waterfall_bars(start, end, [v for _, v in shown])
        x = np.arange(len(labels))
        ax.bar(x, heights, bottom=bottoms, color=colours, width=0.7)
        for k, (_, v) in enumerate(shown, start=1):
            ax.annotate(
                f"{v:+,.0f}", (x[k], bottoms[k] + heights[k]), ha="center", va="bottom", fontsize=7
            )
        ax.annotate(f"{start:,.0f}", (x[0], start), ha="center", va="bottom", fontsize=7)
        ax.annotate(f"{end:,.0f}", (x[-1], end), ha="center", va="bottom", fontsize=7)
        low = min(b for b in bottoms[1:-1]) if len(bottoms) > 2 else min(start, end)
        ax.set_ylim(bottom=max(0.0, low - 0.15 * (max(start, end) - low + 1e-9)))
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30, ha="right")
        ax.set_title(i18n.text(f"waterfall_title_{measure}", lang, scenario=lab or code))
        ax.set_ylabel(i18n.text(f"waterfall_y_{measure}", lang))
        ax.legend(
            handles=[Patch(color="#c44e52", label="+"), Patch(color="#55a868", label="−")],
            loc="upper left",
        )
    return fig


def _waterfall_parts(
    ds: xr.Dataset, code: str, measure: str, years: tuple[int, int]
) -> tuple[float, float, list[tuple[str, float]]]:
    """Scenario ``code``'s level of ``measure`` (:data:`WATERFALL_MEASURES`, thousands) in
    the first and the second of ``years`` (central), and the (step, thousands) parts of the
    change between them."""
    change_var, level_var, dims = WATERFALL_MEASURES[measure]
    base, year = years
    level = summary.central(_summed(_pick(ds[level_var], code), dims))
    steps = summary.central(_summed(_pick(ds[change_var], code).sel({names.YEAR: year}), dims))
    start = float(level.sel({names.YEAR: base})) * 1e-3
    end = float(level.sel({names.YEAR: year})) * 1e-3
    parts = [
        (str(s), float(v) * 1e-3) for s, v in zip(steps["step"].values, steps.values, strict=True)
    ]
    return start, end, parts


def _summed(da: xr.DataArray, dims: tuple[str, ...]) -> xr.DataArray:
    """``da`` summed over those of ``dims`` it has (the change by step of admissions has
    no route; their level has), NaN where all are missing."""
    return da.sum([d for d in dims if d in da.dims], min_count=1)


def _waterfall_bars(
    start: float, end: float, parts: list[float]
) -> tuple[list[float], list[float], list[str]]:
    """Bottoms, heights and colours of the waterfall's bars (thousands): the start level,
    each part floating from the running total (red: up, green: down), the end level."""
    bottoms, heights, colours = [0.0], [start], ["#7f7f7f"]
    running = start
    for v in parts:
        bottoms.append(running if v >= 0 else running + v)
        heights.append(abs(v))
        colours.append("#c44e52" if v >= 0 else "#55a868")
        running += v
    # the end bar is the level itself, so parts not drawn (below min_share) still add up
    return [*bottoms, 0.0], [*heights, end], [*colours, "#4c72b0"]


# ------------------------------------------------------------------ sensitivity
_SENS_SERIES = {
    "sobol": (("S1", "sens_s1", _COLOURS[0]), ("ST", "sens_st", _COLOURS[1])),
    "morris": (("mu_star", "sens_mu_star", _COLOURS[0]), ("sigma", "sens_sigma", _COLOURS[1])),
}
"""The two bars of each method's tornado: (index, message id, colour)."""


def plot_sensitivity(
    sens: xr.Dataset,
    *,
    output: str | None = None,
    scenario: str | None = None,
    ax: Axes | None = None,
    lang: str = "en",
) -> Figure:
    """Tornado of one output's indices (``sensitivity.nc`` of a sweep), parameters sorted
    by importance (ST or mu*, the largest on top): Sobol S1 and ST, or Morris mu* and
    sigma, as bars with their bootstrap confidence intervals as whiskers (sigma has
    none); where the file holds them, the same indices on the first half of the design
    as open markers (the convergence check)."""
    outputs = [str(o) for o in sens["output"].values]
    output = output or outputs[0]
    da = sens.sel(output=output)
    if names.SCENARIO in da.dims:
        da = da.sel({names.SCENARIO: scenario}) if scenario else da.isel({names.SCENARIO: 0})
    params = [str(p) for p in da["parameter"].values]
    sobol = "ST" in da
    series = _SENS_SERIES["sobol" if sobol else "morris"]
    with style(lang):
        fig, ax = _figure(ax, (7.5, 0.45 * len(params) + 1.8))
        rank = "ST" if sobol else "mu_star"  # total effect; mu* ranks a screening
        order = np.argsort(np.nan_to_num(np.asarray(da[rank].values, dtype=float)))
        y = np.arange(len(params))
        for k, (var, lab, colour) in enumerate(series):
            if var not in da:
                continue
            off = -0.2 if k == 0 else 0.2
            vals = np.asarray(da[var].values, dtype=float)[order]
            conf = da.get(f"{var}_conf")
            err = np.asarray(conf.values, dtype=float)[order] if conf is not None else None
            ax.barh(
                y + off,
                vals,
                height=0.38,
                xerr=err,
                color=colour,
                capsize=2,
                label=i18n.text(lab, lang),
            )
            half = da.get(f"{var}_half")
            if half is not None and np.isfinite(half.values).any():
                ax.plot(
                    np.asarray(half.values, dtype=float)[order],
                    y + off,
                    "o",
                    mfc="white",
                    mec="black",
                    ms=4,
                    label=i18n.text("sens_half", lang) if k == 0 else None,
                )
        ax.set_yticks(y)
        ax.set_yticklabels([_plain(params[i]) for i in order])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(i18n.text("sens_sobol_x" if sobol else "sens_morris_x", lang))
        ax.set_title(i18n.text("sens_title", lang, output=_plain(output)))
        ax.legend(loc="lower right")
    return fig


def plot_output_against_inputs(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    axes: Sequence[Axes] | None = None,
    title: str = "",
    y_label: str = "",
    lang: str = "en",
) -> Figure:
    """The output at each point of a sweep against each swept input, one panel per
    input, three to a row (``y_label``, e.g. the units, on the first of each row):
    ``x`` has dims (point, parameter), ``y`` dim point (e.g.
    :func:`sim.model.sensitivity.output_values` of one scenario)."""
    params = [str(p) for p in x["parameter"].values]
    ncols = min(3, len(params))
    with style(lang):
        size = (11.0, 3.0 * -(-len(params) // ncols) + 0.4)
        fig, panels = _panels(axes, len(params), ncols, size)
        values = np.asarray(y.values, dtype=float)
        for i, (ax, param) in enumerate(zip(panels, params, strict=True)):
            ax.scatter(
                np.asarray(x.sel(parameter=param).values, dtype=float),
                values,
                s=9,
                alpha=0.6,
                color=_COLOURS[0],
                edgecolors="none",
            )
            ax.set_xlabel(_plain(param))
            if i % ncols == 0:
                ax.set_ylabel(_plain(y_label))
            ax.yaxis.set_major_locator(MaxNLocator(5))
        if title:
            fig.suptitle(_plain(title), fontsize=10.5)
    return fig


# ------------------------------------------------------------------ paired differences
DIFFERENCE_KEYS: tuple[str, ...] = (
    "population",
    "share_65plus",
    "births",
    "chc_visits",
    "ed_visits",
    "admissions",
    "bed_days",
    "beds_needed_occupancy",
    "gp_utilisation",
    "des_ed_boarding",
    "des_elective_patients_deferred",
    "des_clinic_unmet",
)
"""Key figures (:data:`sim.model.summary.KEY_FIGURES`) in the paired-difference plot."""


def plot_paired_differences(
    ds: xr.Dataset,
    *,
    baseline: str | None = None,
    year: int | None = None,
    keys: Sequence[str] = DIFFERENCE_KEYS,
    level: float = 0.95,
    ax: Axes | None = None,
    lang: str = "en",
) -> Figure:
    """Each scenario against the baseline: mean paired difference (same random numbers
    per replicate) in % of the baseline with its ``level`` confidence interval, for each
    key figure in ``keys`` (rows) in ``year`` (default: the baseline's plan target year or,
    short of it, the last year: :func:`sim.model.summary.common_figure_year`)."""
    ds = summary.flatten_sweep(ds)
    base = baseline or summary.baseline_scenario(ds)
    year = year or summary.common_figure_year(ds, base)
    others = [(c, lab) for c, lab in _scenarios(ds) if c != base]
    rows = _paired_rows(ds, keys, base, year, level)
    with style(lang):
        fig, ax = _figure(ax, (8.0, 0.45 * max(len(rows), 2) * max(len(others), 1) + 1.8))
        ax.set_title(i18n.text("diff_title", lang, year=year, level=level))
        ax.set_xlabel(i18n.text("diff_x", lang))
        if not others:
            _note(ax, i18n.text("no_data", lang))
            return fig
        y = np.arange(len(rows))
        step = 0.7 / len(others)
        for i, (code, lab) in enumerate(others):
            mean, err = _difference_and_interval([d for _, d in rows], code)
            pos = y + (i - (len(others) - 1) / 2) * step
            ax.errorbar(
                mean,
                pos,
                xerr=err,
                fmt="o",
                color=_colour(i + 1),
                capsize=3,
                markersize=4,
                label=lab,
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([i18n.text(f"kf_{k}", lang) for k, _ in rows])
        ax.invert_yaxis()
        ax.legend(loc="best")
    return fig


def _paired_rows(
    ds: xr.Dataset, keys: Sequence[str], base: str, year: int, level: float
) -> list[tuple[str, xr.Dataset]]:
    """(key, :func:`sim.model.summary.paired_difference` against ``base``, relative: a fraction)
    of each key figure in ``keys`` that ``ds`` has in ``year``, in the order of ``keys``."""
    specs = {s.key: s for s in summary.KEY_FIGURES}
    rows = []
    for key in keys:
        values = summary.key_figure_in_year(ds, specs[key], year)
        if values is not None:  # None: no inputs, year or value for it (e.g. no DES)
            rows.append((key, summary.paired_difference(values, base, level=level, relative=True)))
    return rows


def _difference_and_interval(rows: list[xr.Dataset], code: str) -> tuple[np.ndarray, np.ndarray]:
    """Scenario ``code``'s mean relative paired difference (%) in each of ``rows``
    (:func:`sim.model.summary.paired_difference`) and the (2, n) whisker lengths down to the
    low and up to the high end of its interval (0 where there is none)."""
    mean, lo, hi = (
        np.array([float(d[v].sel({names.SCENARIO: code})) for d in rows]) * 100
        for v in ("mean", "low", "high")
    )
    return mean, _whiskers(lo, mean, hi)
