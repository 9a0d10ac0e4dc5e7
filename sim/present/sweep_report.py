"""The page of a sweep with sensitivity indices (``run.py report <sweep folder>``), in
Chinese or English. It reads ``results.nc``, ``sensitivity.nc`` and ``manifest.json`` of
the folder and never runs a model.

``build_sweep_report(folder, lang)`` writes into ``folder/report/``:

* ``sweep-<lang>.html``: the design (method, size, inputs and their ranges, intervals)
  and, for each output, the convergence statement (indices at n/2 and n, or r/2 and r,
  against the tolerance: :mod:`sim.model.sensitivity`), the table of indices with their
  bootstrap intervals, a tornado of the indices with their intervals and the output at
  every point against each input. Figures embedded; the page runs no script and loads
  nothing, like the batch report (:mod:`sim.present.report`).
* ``fig-tornado-<k>-<lang>.png`` and ``fig-scatter-<k>-<lang>.png`` for output k.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from sim.base import names
from sim.base.errors import ScenarioError
from sim.model import sensitivity
from sim.present import i18n, plots
from sim.present.report import (
    RESULTS_FILE,
    SENSITIVITY_FILE,
    ReportFigure,
    _e,
    check_folder,
    figures_html,
    page_head,
    read_manifest,
    read_netcdf,
    report_folder,
    write_figures,
)
from sim.runs.store import atomic_write_bytes

OLD_INDICES = (
    "written before the indices had intervals and a convergence check: run the same "
    "sweep command again (its tasks are reused; the indices are computed anew)"
)
"""Why an older ``sensitivity.nc`` is not reported."""

Case = tuple[int, str, str | None]
"""(number, output, scenario or None): one section of the page."""


def has_indices(folder: Path) -> bool:
    """Whether ``folder`` is a sweep folder with sensitivity indices."""
    return (Path(folder) / SENSITIVITY_FILE).is_file()


def read_sweep(folder: Path) -> tuple[xr.Dataset, xr.Dataset, dict[str, Any]]:
    """The results, the indices and the manifest of a sweep folder; anything missing,
    unreadable or of an older format is a one-line :class:`ScenarioError`."""
    check_folder(folder)
    sp, nc = folder / SENSITIVITY_FILE, folder / RESULTS_FILE
    if not sp.is_file():
        raise ScenarioError(folder, None, None, f"no {SENSITIVITY_FILE} here: not a sweep folder")
    if not nc.is_file():
        raise ScenarioError(folder, None, None, f"no {RESULTS_FILE} here: not a sweep folder")
    sens = read_netcdf(sp, "cannot read the indices")
    if sens.attrs.get("method") not in sensitivity.METHODS or "change" not in sens:
        raise ScenarioError(sp, None, None, OLD_INDICES)
    ds = read_netcdf(nc, "cannot read the results")
    if "sweep_value" not in ds:
        raise ScenarioError(nc, None, None, "not the results of a sweep (no 'sweep_value')")
    return ds, sens, read_manifest(folder)


def cases(sens: xr.Dataset) -> list[Case]:
    """Every (output, scenario) of the indices, numbered."""
    scenarios: list[str | None] = (
        [str(s) for s in sens[names.SCENARIO].values] if names.SCENARIO in sens.dims else [None]
    )
    pairs = [(str(o), sc) for o in sens[sensitivity.OUTPUT].values for sc in scenarios]
    return [(k, o, sc) for k, (o, sc) in enumerate(pairs)]


def _one(sens: xr.Dataset, output: str, scenario: str | None) -> xr.Dataset:
    one = sens.sel({sensitivity.OUTPUT: output})
    return one.sel({names.SCENARIO: scenario}) if scenario is not None else one


def _points(ds: xr.Dataset, sens: xr.Dataset, output: str, scenario: str | None) -> xr.Dataset:
    """The swept inputs (``x``: point, parameter) and the output (``y``: point) of every
    point of the sweep, for one scenario."""
    x = ds["sweep_value"]
    y = sensitivity.output_values(ds, output)
    if names.SCENARIO in x.dims:
        pick = scenario if scenario is not None else str(x[names.SCENARIO].values[0])
        x, y = x.sel({names.SCENARIO: pick}), y.sel({names.SCENARIO: pick})
    params = [str(p) for p in sens[sensitivity.PARAMETER].values]
    x = x.sel(sweep_parameter=params).rename(sweep_parameter=sensitivity.PARAMETER)
    return xr.Dataset({"x": x, "y": y})


def make_sweep_figures(ds: xr.Dataset, sens: xr.Dataset, lang: str) -> list[ReportFigure]:
    """A tornado and a scatter of each case, in order (call inside
    :func:`sim.present.plots.style` of ``lang``)."""
    t = i18n.text
    level = float(sens.attrs["conf_level"])
    out = []
    for k, output, scenario in cases(sens):
        units = str(sens["output_units"].sel({sensitivity.OUTPUT: output}).values)
        tornado = plots.plot_sensitivity(sens, output=output, scenario=scenario, lang=lang)
        caption = t("cap_sweep_tornado", lang, output=output, level=level)
        out.append(ReportFigure(f"tornado-{k}", caption, tornado))
        pts = _points(ds, sens, output, scenario)
        scatter = plots.plot_output_against_inputs(
            pts["x"], pts["y"], title=output, y_label=units, lang=lang
        )
        caption = t("cap_sweep_scatter", lang, output=output, units=units)
        out.append(ReportFigure(f"scatter-{k}", caption, scatter))
    return out


# ------------------------------------------------------------------ words
def _size(method: str, n: int, lang: str) -> str:
    return i18n.text(f"sweep_size_{method}", lang, n=n)


def convergence_text(one: xr.Dataset, attrs: Mapping[str, Any], lang: str) -> str:
    """The convergence statement of one case in plain words (settled or not against the
    tolerance, or why it was not checked)."""
    t = i18n.text
    method = str(attrs["method"])
    if float(one["output_sd"]) == 0.0:
        return t("sweep_conv_constant", lang)
    change = float(one["change"])
    if not math.isfinite(change):
        return t("sweep_conv_unchecked", lang)
    fields = {
        "half": _size(method, int(attrs["design_size_half"]), lang),
        "whole": _size(method, int(attrs["design_size"]), lang),
        "change": change,
        "tol": float(attrs["tolerance"]),
    }
    verdict = "sweep_conv_settled" if bool(sensitivity.settled(one)) else "sweep_conv_not"
    return f"{t(verdict, lang, **fields)} {t(f'sweep_tol_{method}', lang)}"


def _g(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.3g}"


def _indices_table(one: xr.Dataset, method: str, lang: str) -> str:
    """Input by input: each index with its interval and its value on the first half."""
    t = i18n.text
    labels = {"S1": "S1", "ST": "ST", "mu_star": "μ*", "sigma": "σ"}
    head = [t("sweep_input", lang)]
    for var in sensitivity.INDICES[method]:
        head += [labels[var], f"{labels[var]} · {t('sweep_half_col', lang)}"]
    rows = []
    for param in one[sensitivity.PARAMETER].values:
        cells = [f"<td><code>{_e(param)}</code></td>"]
        p = one.sel({sensitivity.PARAMETER: param})
        for var in sensitivity.INDICES[method]:
            value = float(p[var])
            conf = float(p[f"{var}_conf"]) if f"{var}_conf" in p else math.nan
            interval = (
                f'<span class="range">[{_g(value - conf)}, {_g(value + conf)}]</span>'
                if math.isfinite(conf)
                else ""
            )
            cells.append(f'<td class="num">{_g(value)}{interval}</td>')
            cells.append(f'<td class="num">{_g(float(p[f"{var}_half"]))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def _design_html(ds: xr.Dataset, sens: xr.Dataset, lang: str) -> str:
    """The design: method, size, points, replicates, intervals and each input's range."""
    t = i18n.text
    a = sens.attrs
    method = str(a["method"])
    replicates = ds.sizes.get(names.REPLICATE, 1)
    items = [
        (t("sweep_method", lang), t(f"sweep_method_{method}", lang)),
        (t("sweep_file", lang), a.get("sweep_file", "")),
        (
            t("sweep_points", lang),
            f"{int(a['points']):,} · {_size(method, int(a['design_size']), lang)}",
        ),
        (t("sweep_replicates", lang), replicates),
        (
            "",
            t("sweep_intervals", lang, level=float(a["conf_level"]), resamples=a["num_resamples"]),
        ),
    ]
    listed = "".join(f"<li>{_e(k)}{': ' if k else ''}{_e(v)}</li>" for k, v in items)
    rows = "".join(
        f"<tr><td><code>{_e(p)}</code></td><td class='num'>{_g(float(lo))}</td>"
        f"<td class='num'>{_g(float(hi))}</td></tr>"
        for p, lo, hi in zip(
            sens[sensitivity.PARAMETER].values,
            sens["bound_low"].values,
            sens["bound_high"].values,
            strict=True,
        )
    )
    head = "".join(f"<th>{_e(t(k, lang))}</th>" for k in ("sweep_input", "sweep_low", "sweep_high"))
    note = f"<p class='note'>{_e(t('sweep_morris_units', lang))}</p>" if method == "morris" else ""
    return (
        f"<ul>{listed}</ul><h3>{_e(t('sweep_inputs', lang))}</h3>"
        f"<table><tr>{head}</tr>{rows}</table>{note}"
    )


def _case_html(
    sens: xr.Dataset,
    case: Case,
    images: Sequence[tuple[ReportFigure, bytes]],
    lang: str,
) -> str:
    """One output's section: heading, convergence, table of indices, its two figures."""
    t = i18n.text
    k, output, scenario = case
    one = _one(sens, output, scenario)
    method = str(sens.attrs["method"])
    long_name = str(one["output_long_name"].values)
    units = str(one["output_units"].values)
    where = f" · {t('sweep_scenario', lang)} {scenario}" if scenario is not None else ""
    mine = [im for im in images if im[0].name in (f"tornado-{k}", f"scatter-{k}")]
    return (
        f"<h2>{_e(t('sweep_output', lang))}: <code>{_e(output)}</code>{_e(where)}</h2>"
        f"<p class='meta'>{_e(long_name)} ({_e(t('sweep_units', lang))}: {_e(units)})</p>"
        f"<p>{_e(convergence_text(one, sens.attrs, lang))}</p>"
        f"{_indices_table(one, method, lang)}{figures_html(mine)}"
    )


def render_sweep_html(
    folder: Path,
    ds: xr.Dataset,
    sens: xr.Dataset,
    manifest: Mapping[str, Any],
    images: Sequence[tuple[ReportFigure, bytes]],
    lang: str,
) -> str:
    """The sweep's page as one self-contained HTML document."""
    t = i18n.text
    title = t("sweep_title", lang)
    meta = " · ".join(
        f"{_e(k)}: {_e(v)}"
        for k, v in (
            (t("report_batch", lang), folder.name),
            (t("report_created", lang), manifest.get("created", "")),
            (t("report_code", lang), manifest.get("code_version", "")),
            (t("report_seed", lang), manifest.get("seed", "")),
        )
    )
    sections = "".join(_case_html(sens, case, images, lang) for case in cases(sens))
    return f"""{page_head(folder, title, lang)}
<body>
<h1>{_e(title)}</h1>
<p class="meta">{meta}</p>
<h2>{_e(t("sweep_design", lang))}</h2>
{_design_html(ds, sens, lang)}
{sections}
</body>
</html>
"""


def build_sweep_report(folder: Path, lang: str = "zh") -> dict[str, Path]:
    """The sweep page of ``folder`` in ``lang`` ("zh" or "en") and its figures, written to
    ``folder/report/``; returns their paths by kind ("html", "figure <name>")."""
    folder = Path(folder)
    if lang not in i18n.LANGS:
        raise ScenarioError(None, "--lang", lang, f"allowed: {', '.join(i18n.LANGS)}")
    ds, sens, manifest = read_sweep(folder)
    out = report_folder(folder)
    paths, images = write_figures(folder, lang, lambda: make_sweep_figures(ds, sens, lang))
    page = render_sweep_html(folder, ds, sens, manifest, images, lang)
    html_path = out / f"sweep-{lang}.html"
    atomic_write_bytes(html_path, page.encode("utf-8"))
    return {"html": html_path, **paths}
