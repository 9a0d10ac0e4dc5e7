"""Figures made from result Datasets only; no simulation, no ``plt.show()``.

Each function returns its Figure and draws on a given Axes when one is passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim import names

_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


def _figure(ax: Axes | None, size: tuple[float, float] = (7.0, 6.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure()
        assert isinstance(fig, Figure)  # an Axes passed in always belongs to a Figure
        return fig, ax
    fig, new_ax = plt.subplots(figsize=size, layout="constrained")
    return fig, new_ax


def plot_pyramid(
    ds: xr.Dataset,
    years: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    scenario_label: str = "",
) -> Figure:
    """Population pyramid (share of the total by single year of age and sex), one
    outline per year; males to the left. Uses replicate 0 when replicates exist."""
    fig, ax = _figure(ax)
    pop = ds["population"]
    if names.REPLICATE in pop.dims:
        pop = pop.sel({names.REPLICATE: 0})
    if years is None:
        all_years = pop[names.YEAR].values
        years = [int(all_years[0]), int(all_years[-1])]
    ages = np.asarray(pop[names.AGE].values)
    for i, year in enumerate(years):
        p = pop.sel({names.YEAR: year})
        total = float(p.sum())
        male = p.sel({names.SEX: "male"}).values / total * 100
        female = p.sel({names.SEX: "female"}).values / total * 100
        colour = _COLOURS[i % len(_COLOURS)]
        ax.step(-male, ages, where="mid", color=colour, label=f"{year} (end of year)")
        ax.step(female, ages, where="mid", color=colour)
        if i == 0:
            ax.fill_betweenx(ages, -male, 0, step="mid", color=colour, alpha=0.25, linewidth=0)
            ax.fill_betweenx(ages, 0, female, step="mid", color=colour, alpha=0.25, linewidth=0)
    ax.axvline(0, color="black", linewidth=0.8)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{abs(t):.1f}" for t in ticks])
    ax.set_xlabel("share of residents (%) — males left, females right")
    ax.set_ylabel("age (years; 100 = 100+)")
    title = "Population pyramid"
    ax.set_title(f"{title}: {scenario_label}" if scenario_label else title)
    ax.set_ylim(0, names.MAX_AGE)
    ax.legend(loc="upper right")
    return fig
