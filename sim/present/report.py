"""The report of a stored batch: figures, one self-contained HTML file and the key-figure
CSV, in Chinese or English. It reads only ``results.nc`` and ``manifest.json`` of the
batch folder, and never runs a model. A sweep folder with sensitivity indices
(``sensitivity.nc``) has its own page: :mod:`sim.present.sweep_report`.

``build_report(folder, lang)`` writes into ``folder/report/``:

* ``report-<lang>.html``: figures embedded (PNG data URIs), the key figures of each
  scenario against the plan's targets, each scenario's assumptions in plain words, the
  confidence grade of the data behind each key figure and a statement of uncertainty.
  Every text taken from a scenario file is HTML-escaped; the page runs no script and
  loads nothing (its Content-Security-Policy forbids both).
* ``key_figures-<lang>.csv``: the same key figures for spreadsheets (UTF-8 with a byte
  order mark, so spreadsheet programs read the Chinese text correctly).
* ``fig-<name>-<lang>.png``: each figure.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import xarray as xr
from matplotlib.figure import Figure

from sim.base import catalogue, names
from sim.base.errors import ScenarioError
from sim.data import data_grades
from sim.model import summary
from sim.model.summary import KeyFigure
from sim.present import i18n, plots
from sim.runs.store import RESULTS_NAME, atomic_write_bytes

REPORT_DIR = "report"
RESULTS_FILE = RESULTS_NAME
MANIFEST_FILE = "manifest.json"
SENSITIVITY_FILE = "sensitivity.nc"
FIGURE_DPI = 110
MAX_DIFFERENCES = 30
"""Inputs listed per scenario in "differs from the baseline" (the rest are counted)."""
OLD_RESULTS = (
    "written before each task stored its scenario's plan targets "
    f"({names.TARGET_YEAR}, ...): rerun the batch to report on it"
)
"""Why the results of an older batch are not reported (their targets are unknown)."""

# ------------------------------------------------------------------ data confidence
INPUT_IDS: dict[str, tuple[str, ...]] = {
    # the figures from a slice of a variable (chc_visits) or from variables of two
    # producers (gps_per_10000) keep their own inputs here
    "population": catalogue.inputs("population"),
    "share_65plus": catalogue.inputs("share_65plus"),
    "births": catalogue.inputs("births"),
    "life_expectancy": catalogue.inputs("life_expectancy"),
    "beds": catalogue.inputs("beds_end"),
    "beds_per_1000": catalogue.inputs("beds_per_1000"),
    "beds_needed_occupancy": catalogue.inputs("beds_needed_occupancy"),
    "beds_needed_wait": catalogue.inputs("beds_needed_wait"),
    "occupancy": catalogue.inputs("bed_occupancy"),
    "physicians_per_1000": catalogue.inputs("physicians_per_1000"),
    "nurses_per_1000": catalogue.inputs("nurses_per_1000"),
    "nurse_physician_ratio": catalogue.inputs("nurse_physician_ratio"),
    "gps_per_10000": ("CAP-GP-2025", "POP-2025"),
    "gp_utilisation": catalogue.inputs("gp_utilisation"),
    "chc_visits": (
        "CAL-CHC-VISITS-2025",
        "USE-RR-VISITS",
        "USE-SHAPE-CHC",
        "GROWTH-VISITS",
    ),
    "ed_visits": catalogue.inputs("ed_visits"),
    "admissions": catalogue.inputs("admissions"),
    "bed_days": catalogue.inputs("bed_days"),
    "ed_space_gap": catalogue.inputs("ed_spaces", "ed_spaces_needed"),
    "ambulance_gap": catalogue.inputs("ambulances", "ambulances_needed_wait"),
    "des_high_occupancy_days": catalogue.inputs("des_midnight_census"),
    "des_ed_boarding": catalogue.inputs("des_ed_boarding_mean"),
    "des_elective_patients_deferred": catalogue.inputs("des_elective_patients_deferred_year"),
    "des_elective_deferral_events": catalogue.inputs("des_elective_deferral_events_year"),
    "des_clinic_unmet": catalogue.inputs("des_clinic_unmet_year"),
    "des_ambulance_within_target": catalogue.inputs("des_ambulance_within_target_year"),
}
"""Key figure -> the row ids in sim/data/DATA.md of the main inputs behind it: for a
figure read from one or two variables, those of their catalogue entries
(:func:`sim.base.catalogue.inputs`). Their grades are DATA.md's (:func:`input_grades`)."""


def input_grades(key: str) -> tuple[tuple[str, str], ...]:
    """(DATA.md id, grade) of the main inputs behind key figure ``key``."""
    grades = data_grades()
    return tuple((i, grades[i]) for i in INPUT_IDS.get(key, ()))


_GRADE_CLASS = {"A": "ga", "B": "gb", "C": "gc", "D": "gd", "S": "gs"}


# ------------------------------------------------------------------ reading
def read_batch(folder: Path) -> tuple[xr.Dataset, dict[str, Any]]:
    """The results Dataset and the manifest of a batch folder; a missing or unreadable
    file is a one-line :class:`ScenarioError`."""
    folder = Path(folder)
    check_folder(folder)
    return _read_results(folder), read_manifest(folder)


def check_folder(folder: Path) -> None:
    """Refuse (one line) a results folder that is not there."""
    if not folder.is_dir():
        raise ScenarioError(folder, None, None, "no such results folder")


def read_netcdf(path: Path, fault: str) -> xr.Dataset:
    try:
        return xr.load_dataset(path, engine="h5netcdf")
    except Exception as exc:  # any failure to read is the same fault for the user
        raise ScenarioError(path, None, None, f"{fault}: {exc}") from None


def _read_results(folder: Path) -> xr.Dataset:
    """The batch's results, refused unless they are a batch's with its targets."""
    nc = folder / RESULTS_FILE
    if not nc.is_file():
        raise ScenarioError(folder, None, None, f"no {RESULTS_FILE} here: not a batch folder")
    ds = read_netcdf(nc, "cannot read the results")
    for needed in ("population_total", "bed_days"):
        if needed not in ds or names.SCENARIO not in ds.dims:
            raise ScenarioError(
                nc, None, None, f"not the results of a batch (no {needed!r} by scenario)"
            )
    if not summary.has_targets(ds):  # older batches: their targets are unknown, not guessed
        raise ScenarioError(nc, None, None, OLD_RESULTS)
    return ds


def read_manifest(folder: Path) -> dict[str, Any]:
    mf = folder / MANIFEST_FILE
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(folder, None, None, f"no {MANIFEST_FILE} here") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(mf, None, None, f"cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("scenarios"), dict):
        raise ScenarioError(mf, "scenarios", None, "the manifest has no scenarios")
    return manifest


# ------------------------------------------------------------------ scenario assumptions
def _is_leaf(value: Any) -> bool:
    """A distribution (``{low, high, ...}`` or ``{dist, ...}``) or a path by year
    (``{"2025": ..., "2030": ...}``) counts as one input."""
    if not isinstance(value, Mapping):
        return True
    if value and all(str(k).isdigit() for k in value):
        return True
    return "dist" in value or ("low" in value and "high" in value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested scenario data as ``{dotted key: value}``; distributions stay whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if _is_leaf(value):
            out[path] = value
        else:
            out.update(flatten(value, f"{path}."))
    return out


DESCRIPTIVE_KEYS = ("name", "label", "description")


def assumption_differences(
    baseline: Mapping[str, Any], scenario: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """(dotted key, value) of every input of ``scenario`` that differs from ``baseline``
    (keys set in only one of them included; name, label and description left out)."""
    a, b = flatten(baseline), flatten(scenario)
    keys = sorted(set(a) | set(b))
    return [
        (k, b.get(k))
        for k in keys
        if k.split(".")[0] not in DESCRIPTIVE_KEYS and a.get(k) != b.get(k)
    ]


def uncertain_inputs(scenario: Mapping[str, Any]) -> list[str]:
    """Dotted keys of the inputs given as distributions (alone or in a path by year)."""

    def uncertain(v: Any) -> bool:
        if not isinstance(v, Mapping):
            return False
        if v and all(str(k).isdigit() for k in v):
            return any(uncertain(x) for x in v.values())
        return True

    return [k for k, v in flatten(scenario).items() if uncertain(v)]


def _show_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# ------------------------------------------------------------------ formatting
def format_number(value: float | None, unit: str = "") -> str:
    """A number as shown in the report: thousands separated, digits by size."""
    if value is None or not math.isfinite(value):
        return "—"
    a = abs(value)
    if unit == "percent" or a >= 100:
        digits = 1 if unit == "percent" and a < 100 else 0
    elif a >= 10:
        digits = 1
    else:
        digits = 2
    text = f"{value:,.{digits}f}"
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def _signed(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    text = format_number(value, unit)
    return text if text.startswith("-") else f"+{text}"


def headline(kf: KeyFigure) -> float:
    """The value a key figure is shown with: replicate 0 (central inputs) for the
    expected level; for the DES (one simulated history per replicate) the median over
    its sample when it has two or more."""
    if kf.des and kf.n >= 2 and math.isfinite(kf.median):
        return kf.median
    return kf.central


def _target_text(kf: KeyFigure, lang: str) -> str:
    if kf.target is None or kf.sense is None:
        return i18n.text("none", lang)
    sign = "≥" if kf.sense == ">=" else "≤"
    return f"{sign} {kf.target:,.6g}"


def _grades_text(key: str) -> str:
    return "; ".join(f"{i}: {g}" for i, g in input_grades(key))


def _weakest(key: str) -> str:
    """The lowest grade among a key figure's inputs (S < C < D < B < A for reading)."""
    order = "SCDBA"
    letters = {c for _, g in input_grades(key) for c in g if c in order}
    return next((c for c in order if c in letters), "")


# ------------------------------------------------------------------ key-figure table (CSV)
CSV_COLUMNS = (
    "col_key",
    "col_figure",
    "col_scenario",
    "col_label",
    "col_year",
    "col_unit",
    "col_central",
    "col_low",
    "col_median",
    "col_high",
    "col_n",
    "col_target",
    "col_p_meets",
    "col_diff_mean",
    "col_diff_low",
    "col_diff_high",
    "col_inputs",
)


def _cell(text: str) -> str:
    """Text from a scenario file in a spreadsheet cell: never a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.6g}"


def key_figure_rows(
    figures: Sequence[KeyFigure], labels: Mapping[str, str], lang: str
) -> list[list[str]]:
    """The key-figure table with a header row, as written to the CSV."""
    header = [i18n.text(c, lang) for c in CSV_COLUMNS]
    rows = [header]
    for kf in figures:
        rows.append(
            [
                kf.key,
                i18n.text(f"kf_{kf.key}", lang),
                _cell(kf.scenario),
                _cell(labels.get(kf.scenario, kf.scenario)),
                str(kf.year),
                i18n.text(f"unit_{kf.unit}", lang),
                _num(kf.central),
                _num(kf.low),
                _num(kf.median),
                _num(kf.high),
                str(kf.n),
                _target_text(kf, lang) if kf.target is not None else "",
                _num(kf.p_meets),
                _num(kf.diff_mean),
                _num(kf.diff_low),
                _num(kf.diff_high),
                _grades_text(kf.key),
            ]
        )
    return rows


def write_csv(path: Path, rows: Iterable[Sequence[str]]) -> Path:
    """UTF-8 with a byte order mark (spreadsheet programs then read Chinese correctly)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"))
    return path


# ------------------------------------------------------------------ figures
@dataclass(frozen=True)
class ReportFigure:
    name: str
    caption: str
    figure: Figure


def make_figures(ds: xr.Dataset, lang: str) -> list[ReportFigure]:
    """Every figure of the report, in order, from the stored results only (call inside
    :func:`sim.present.plots.style` of ``lang``: the composite figures' axes are made here)."""
    t = i18n.text
    out: list[ReportFigure] = []
    out.append(ReportFigure("pyramid", t("cap_pyramid", lang), plots.plot_pyramid(ds, lang=lang)))
    out.append(ReportFigure("population", t("cap_population", lang), _population_figure(ds, lang)))
    out.append(ReportFigure("demand", t("cap_demand", lang), plots.plot_demand(ds, lang=lang)))
    out.append(ReportFigure("beds", t("cap_beds", lang), plots.plot_beds(ds, lang=lang)))
    scenarios = [str(s) for s in ds[names.SCENARIO].values]
    out.append(
        ReportFigure("waterfall", t("cap_waterfall", lang), _waterfall_figure(ds, scenarios, lang))
    )
    if len(scenarios) > 1:
        out.append(
            ReportFigure(
                "differences",
                t("cap_differences", lang),
                plots.plot_paired_differences(ds, lang=lang),
            )
        )
    out.append(
        ReportFigure(
            "workforce",
            t("cap_workforce", lang),
            plots.plot_workforce(ds, lang=lang),
        )
    )
    if summary.has_des(ds):
        out.extend(_des_figures(ds, lang))
    return out


def _population_figure(ds: xr.Dataset, lang: str) -> Figure:
    """Share aged 65+ (left) and births (right) side by side; 12 x 4.2 inches."""
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.2), layout="constrained")
    plots.plot_share_65plus(ds, ax=axes[0], lang=lang)
    plots.plot_births(ds, ax=axes[1], lang=lang)
    return fig


def _waterfall_figure(ds: xr.Dataset, scenarios: Sequence[str], lang: str) -> Figure:
    """One :func:`sim.present.plots.plot_waterfall` per scenario, stacked; 9 inches wide,
    4.6 tall each."""
    fig, axes = plt.subplots(
        len(scenarios), 1, figsize=(9.0, 4.6 * len(scenarios)), layout="constrained", squeeze=False
    )
    for ax, sc in zip(axes[:, 0], scenarios, strict=True):
        plots.plot_waterfall(ds, scenario=sc, ax=ax, lang=lang)
    return fig


def _des_figures(ds: xr.Dataset, lang: str) -> list[ReportFigure]:
    """The figures only a batch with discrete-event replicates has: occupancy and pressure."""
    t = i18n.text
    return [
        ReportFigure(
            "occupancy",
            t("cap_occupancy", lang),
            plots.plot_occupancy_distribution(ds, lang=lang),
        ),
        ReportFigure(
            "occupancy_risk",
            t("cap_occupancy_risk", lang),
            plots.plot_occupancy_risk(ds, lang=lang),
        ),
        ReportFigure("pressure", t("cap_pressure", lang), plots.plot_pressure(ds, lang=lang)),
    ]


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return buf.getvalue()


# ------------------------------------------------------------------ HTML
_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Noto Sans", "DejaVu Sans",
       sans-serif; margin: 0 auto; max-width: 1240px; padding: 24px 32px; color: #1f2933;
       line-height: 1.55; font-size: 15px; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 20px; margin-top: 36px; border-bottom: 2px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 16px; margin-bottom: 4px; }
.meta { color: #52606d; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 4px; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; vertical-align: top; }
th { background: #f3f5f7; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
td.meets { background: #e6f4ea; }
td.misses { background: #fde8e8; }
.range, .diff, .p { display: block; color: #52606d; font-size: 12px; }
.grade { display: inline-block; min-width: 1.4em; padding: 0 4px; border-radius: 3px;
         font-weight: bold; text-align: center; font-size: 12px; }
.ga { background: #c7ebd1; } .gb { background: #dff2c8; } .gc { background: #fff0b3; }
.gd { background: #d6e4ff; } .gs { background: #ffd8cc; }
figure { margin: 18px 0 28px; }
figure img { max-width: 100%; border: 1px solid #e4e7eb; }
figcaption { color: #3e4c59; font-size: 13px; margin-top: 4px; }
.note { color: #52606d; font-size: 13px; }
code { font-size: 12px; background: #f3f5f7; padding: 0 3px; }
ul.diffs { font-size: 13px; margin-top: 2px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _grade_badges(key: str) -> str:
    parts = []
    for data_id, grade in input_grades(key):
        cls = _GRADE_CLASS.get(grade[:1], "")
        parts.append(f'<span class="grade {cls}" title="{_e(data_id)}">{_e(grade)}</span>')
    return " ".join(parts)


def _key_table(
    figures: Sequence[KeyFigure], scenarios: Sequence[str], labels: Mapping[str, str], lang: str
) -> str:
    t = i18n.text
    by_key: dict[str, dict[str, KeyFigure]] = {}
    for kf in figures:
        by_key.setdefault(kf.key, {})[kf.scenario] = kf
    head = "".join(f"<th>{_e(labels.get(sc, sc))}</th>" for sc in scenarios)
    rows = [
        f"<tr><th>{_e(t('col_figure', lang))}</th><th>{_e(t('col_unit', lang))}</th>"
        f"<th>{_e(t('col_target', lang))}</th>{head}<th>{_e(t('col_grades', lang))}</th></tr>"
    ]
    for key, per_sc in by_key.items():
        first = next(iter(per_sc.values()))
        cells = []
        for sc in scenarios:
            if sc not in per_sc:
                cells.append("<td></td>")
                continue
            kf = per_sc[sc]
            cls = ""
            if kf.meets_central is not None:
                cls = " meets" if kf.meets_central else " misses"
            parts = [f"<b>{_e(format_number(headline(kf), kf.unit))}</b>"]
            if kf.n >= 2 and math.isfinite(kf.low):
                rng = f"{format_number(kf.low, kf.unit)} – {format_number(kf.high, kf.unit)}"
                parts.append(f'<span class="range">{_e(t("col_range", lang))}: {_e(rng)}</span>')
            if kf.p_meets is not None and math.isfinite(kf.p_meets):
                parts.append(
                    f'<span class="p">{_e(t("col_p_meets", lang))}: {kf.p_meets:.0%}</span>'
                )
            if kf.diff_mean is not None and math.isfinite(kf.diff_mean):
                ci = ""
                same = kf.diff_mean == 0 and kf.diff_low == 0 and kf.diff_high == 0
                if not same and kf.diff_low is not None and math.isfinite(kf.diff_low):
                    ci = f" ({_signed(kf.diff_low, kf.unit)} … {_signed(kf.diff_high, kf.unit)})"
                parts.append(
                    f'<span class="diff">Δ {_e(_signed(kf.diff_mean, kf.unit) + ci)}</span>'
                )
            cells.append(f'<td class="num{cls}">{"".join(parts)}</td>')
        rows.append(
            f"<tr><td>{_e(t(f'kf_{key}', lang))}</td>"
            f"<td>{_e(t(f'unit_{first.unit}', lang))}</td>"
            f'<td class="num">{_e(_target_text(first, lang))}</td>{"".join(cells)}'
            f"<td>{_grade_badges(key)}</td></tr>"
        )
    return "<table>" + "\n".join(rows) + "</table>"


def _summary_points(
    figures: Sequence[KeyFigure], scenarios: Sequence[str], labels: Mapping[str, str], lang: str
) -> str:
    """One line per scenario with the results a planner asks for first."""
    t = i18n.text
    index = {(kf.key, kf.scenario): kf for kf in figures}
    items = []
    for sc in scenarios:
        parts = []
        for key in ("beds_needed_occupancy", "physicians_per_1000", "nurses_per_1000"):
            kf = index.get((key, sc))
            if kf is None:
                continue
            text = t(
                "point_figure",
                lang,
                figure=t(f"kf_{key}", lang),
                year=kf.year,
                value=format_number(kf.central, kf.unit),
                unit=t(f"unit_{kf.unit}", lang),
            )
            if kf.n >= 2 and math.isfinite(kf.low):
                text += t(
                    "point_range",
                    lang,
                    low=format_number(kf.low, kf.unit),
                    high=format_number(kf.high, kf.unit),
                )
            if kf.target is not None and kf.p_meets is not None and math.isfinite(kf.p_meets):
                text += t("point_target", lang, target=_target_text(kf, lang), p=kf.p_meets)
            parts.append(text)
        kf = index.get(("gp_utilisation", sc))
        if kf is not None and math.isfinite(kf.central):
            parts.append(
                t("point_gp", lang, year=kf.year, value=format_number(kf.central, "percent"))
            )
        if parts:
            items.append(
                f"<li><b>{_e(labels.get(sc, sc))}</b>: "
                + _e(t("point_sep", lang).join(parts))
                + "</li>"
            )
    return "<ul>" + "\n".join(items) + "</ul>"


def _assumptions(
    manifest: Mapping[str, Any], scenarios: Sequence[str], base: str, lang: str
) -> str:
    t = i18n.text
    sc_data: Mapping[str, Any] = manifest.get("scenarios", {})
    base_data = sc_data.get(base, {})
    blocks = []
    for sc in scenarios:
        data = sc_data.get(sc, {})
        label = str(data.get("label") or sc)
        desc = str(data.get("description") or "")
        block = [f"<h3>{_e(label)} <code>{_e(sc)}</code></h3>"]
        if desc:
            block.append(f"<p>{_e(desc)}</p>")
        if sc == base:
            block.append(f'<p class="note">{_e(t("report_same_as_base", lang))}</p>')
        else:
            diffs = assumption_differences(base_data, data)
            if not diffs:
                block.append(f'<p class="note">{_e(t("report_no_differences", lang))}</p>')
            else:
                intro = t("report_differs", lang, base=base_data.get("label") or base)
                block.append(f'<p class="note">{_e(intro)}</p>')
                lines = [
                    f"<li><code>{_e(k)}</code>: {_e(_show_value(v))}</li>"
                    for k, v in diffs[:MAX_DIFFERENCES]
                ]
                if len(diffs) > MAX_DIFFERENCES:
                    more = t("report_more_differences", lang, n=len(diffs) - MAX_DIFFERENCES)
                    lines.append(f"<li>{_e(more)}</li>")
                block.append('<ul class="diffs">' + "".join(lines) + "</ul>")
        blocks.append("\n".join(block))
    return "\n".join(blocks)


def _confidence(figures: Sequence[KeyFigure], lang: str) -> str:
    t = i18n.text
    keys = list(dict.fromkeys(kf.key for kf in figures))
    rows = [
        f"<tr><th>{_e(t('col_figure', lang))}</th><th>{_e(t('col_inputs', lang))}</th>"
        f"<th>{_e(t('col_weakest', lang))}</th></tr>"
    ]
    for key in keys:
        inputs = ", ".join(
            f'<code>{_e(i)}</code> <span class="grade {_GRADE_CLASS.get(g[:1], "")}">{_e(g)}</span>'
            for i, g in input_grades(key)
        )
        weak = _weakest(key)
        rows.append(
            f"<tr><td>{_e(t(f'kf_{key}', lang))}</td><td>{inputs}</td>"
            f'<td><span class="grade {_GRADE_CLASS.get(weak, "")}">{_e(weak)}</span></td></tr>'
        )
    return (
        f'<p class="note">{_e(t("report_confidence_note", lang))}</p><table>'
        + "\n".join(rows)
        + "</table>"
    )


def _uncertainty(
    ds: xr.Dataset, manifest: Mapping[str, Any], base: str, lang: str, sweep: bool
) -> str:
    t = i18n.text
    flat = summary.flatten_sweep(ds)
    n_draw = summary.sample_size(flat["bed_days"].sum(names.POOL, min_count=1))
    n_des = len(summary.des_replicates(flat))
    base_data = manifest.get("scenarios", {}).get(base, {})
    k = len(uncertain_inputs(base_data))
    paras = [
        t("unc_sweep", lang, n=n_draw) if sweep else t("unc_ranges", lang, n=n_draw, k=k),
        t("unc_des_none", lang)
        if n_des == 0
        else (t("unc_des_one", lang) if n_des == 1 else t("unc_des", lang, n=n_des)),
        t("unc_paired", lang),
        t("unc_not_covered", lang),
    ]
    return "".join(f"<p>{_e(p)}</p>" for p in paras)


def _provenance(folder: Path, manifest: Mapping[str, Any], ds: xr.Dataset, lang: str) -> str:
    t = i18n.text
    libs = manifest.get("libraries", {})
    lib_text = ", ".join(f"{k} {v}" for k, v in libs.items()) if isinstance(libs, Mapping) else ""
    rows = [
        (t("report_batch", lang), folder.name),
        (t("report_created", lang), manifest.get("created", "")),
        (t("report_code", lang), manifest.get("code_version", "")),
        (t("report_seed", lang), manifest.get("seed", ds.attrs.get("seed", ""))),
        ("plan_fingerprint", manifest.get("plan_fingerprint", "")),
        (t("report_command", lang), " ".join(map(str, manifest.get("command", []) or []))),
        (t("report_libraries", lang), lib_text),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _key_heading(
    ds: xr.Dataset, scenarios: Sequence[str], labels: Mapping[str, str], lang: str
) -> str:
    """The key figures' heading with their year; when the scenarios' figure years
    (:func:`sim.model.summary.figure_years`) differ, a note naming each scenario's."""
    t = i18n.text
    years = summary.figure_years(ds)
    if len(set(years.values())) == 1:
        return f"<h2>{_e(t('report_key_figures', lang, year=years[scenarios[0]]))}</h2>"
    each = t("list_sep", lang).join(
        t("report_year_of", lang, scenario=labels.get(sc, sc), year=years[sc]) for sc in scenarios
    )
    return (
        f"<h2>{_e(t('report_key_figures_each', lang))}</h2>\n"
        f'<p class="note years-differ">{_e(t("report_years_differ", lang, years=each))}</p>'
    )


def render_html(
    folder: Path,
    ds: xr.Dataset,
    manifest: Mapping[str, Any],
    figures: Sequence[KeyFigure],
    images: Sequence[tuple[ReportFigure, bytes]],
    lang: str,
) -> str:
    """The report as one self-contained HTML page."""
    t = i18n.text
    sweep = "point" in ds.dims
    scenarios = [str(s) for s in ds[names.SCENARIO].values]
    labels = summary.scenario_labels(ds)
    base = summary.baseline_scenario(ds)
    return f"""{page_head(folder, t("report_title", lang), lang)}
<body>
<h1>{_e(t("report_title", lang))}</h1>
<p class="meta">{_meta(folder, ds, manifest, lang)}</p>
<h2>{_e(t("report_summary", lang))}</h2>
{_summary_points(figures, scenarios, labels, lang)}
{_key_heading(ds, scenarios, labels, lang)}
{_key_table(figures, scenarios, labels, lang)}
<p class="note">{_e(t("report_key_note", lang))}</p>
<h2>{_e(t("report_assumptions", lang))}</h2>
{_assumptions(manifest, scenarios, base, lang)}
<h2>{_e(t("report_figures", lang))}</h2>
{figures_html(images)}
<h2>{_e(t("report_confidence", lang))}</h2>
{_confidence(figures, lang)}
<h2>{_e(t("report_uncertainty", lang))}</h2>
{_uncertainty(ds, manifest, base, lang, sweep)}
<h2>{_e(t("report_provenance", lang))}</h2>
{_provenance(folder, manifest, ds, lang)}
</body>
</html>
"""


def page_head(folder: Path, title: str, lang: str) -> str:
    """Doctype and ``<head>``: the policy lets the page load nothing and run no script."""
    html_lang = "zh-CN" if lang == "zh" else "en"
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return f"""<!DOCTYPE html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} — {_e(folder.name)}</title>
<style>{_CSS}</style>
</head>"""


def _meta(folder: Path, ds: xr.Dataset, manifest: Mapping[str, Any], lang: str) -> str:
    """The line under the title: batch, creation time, code version and replicate counts."""
    t = i18n.text
    reps = manifest.get(
        "replicates", list(ds[names.REPLICATE].values) if names.REPLICATE in ds.dims else []
    )
    n_des = len(summary.des_replicates(summary.flatten_sweep(ds)))
    return " · ".join(
        f"{_e(k)}: {_e(v)}"
        for k, v in (
            (t("report_batch", lang), folder.name),
            (t("report_created", lang), manifest.get("created", "")),
            (t("report_code", lang), manifest.get("code_version", "")),
            (t("report_replicates", lang), len(reps)),
            (t("report_des_replicates", lang), n_des),
        )
    )


def figures_html(images: Sequence[tuple[ReportFigure, bytes]]) -> str:
    """Each figure as a ``<figure>`` with its PNG embedded as a data URI (the page's
    policy forbids loading files)."""
    figs_html = []
    for rf, png in images:
        data = base64.b64encode(png).decode("ascii")
        figs_html.append(
            f'<figure id="fig-{_e(rf.name)}"><img alt="{_e(rf.caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(rf.caption)}</figcaption></figure>'
        )
    return "".join(figs_html)


# ------------------------------------------------------------------ the command
def report_folder(folder: Path) -> Path:
    """``folder/report/``, made if needed (one line if it cannot be)."""
    out = folder / REPORT_DIR
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(out, None, None, f"cannot write the report: {exc.strerror}") from None
    return out


def write_figures(
    folder: Path, lang: str, make: Callable[[], list[ReportFigure]]
) -> tuple[dict[str, Path], list[tuple[ReportFigure, bytes]]]:
    """Make the figures (``make``, called inside :func:`sim.present.plots.style` of
    ``lang``) and write each as ``folder/report/fig-<name>-<lang>.png``; their paths by
    kind ("figure <name>") and each with its PNG bytes, for the page. Every figure is
    closed afterwards; a missing CJK font is a one-line error."""
    out = folder / REPORT_DIR
    paths: dict[str, Path] = {}
    images = []
    made: list[ReportFigure] = []
    try:
        with plots.style(lang):
            made = make()
            for rf in made:
                data = png(rf.figure)
                path = out / f"fig-{rf.name}-{lang}.png"
                atomic_write_bytes(path, data)  # a full disk names the file, leaves no part
                paths[f"figure {rf.name}"] = path
                images.append((rf, data))
    except plots.FontMissingError as exc:
        raise ScenarioError(folder, "--lang", lang, str(exc)) from None
    finally:
        for rf in made:
            plt.close(rf.figure)
    return paths, images


def build_report(folder: Path, lang: str = "zh") -> dict[str, Path]:
    """Figures, the HTML report and the key-figure CSV of the batch in ``folder``, in
    ``lang`` ("zh" or "en"), written to ``folder/report/``; returns their paths by kind
    ("html", "csv", "figure <name>")."""
    folder = Path(folder)
    if lang not in i18n.LANGS:
        raise ScenarioError(None, "--lang", lang, f"allowed: {', '.join(i18n.LANGS)}")
    ds, manifest = read_batch(folder)
    out = report_folder(folder)
    base = summary.baseline_scenario(ds)
    figures = summary.key_figures(ds, baseline=base)
    labels = summary.scenario_labels(ds)
    paths, images = write_figures(folder, lang, lambda: make_figures(ds, lang))
    csv_path = write_csv(out / f"key_figures-{lang}.csv", key_figure_rows(figures, labels, lang))
    page = render_html(folder, ds, manifest, figures, images, lang)
    html_path = out / f"report-{lang}.html"
    atomic_write_bytes(html_path, page.encode("utf-8"))
    return {"html": html_path, "csv": csv_path, **paths}
