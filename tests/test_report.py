"""The report of a stored batch: files, the key-figure CSV, escaping of scenario text, the
data-grade table against DATA.md, and the HTML page in headless Chromium (screenshot, no
console errors, Chinese drawn with the CJK font)."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.app import cli
from sim.base import names
from sim.base.errors import ScenarioError
from sim.model import summary
from sim.model.sensitivity import analyse
from sim.present import i18n, report
from sim.runs.batch import make_plan, run_batch
from sim.runs.store import save_dataset
from sim.scenario import load_dict
from sim.scenario.sweep import load_sweep
from tests.data.report_batch import (
    REFORM_DESCRIPTION,
    REFORM_LABEL,
    small_batch,
)
from tests.inputs import one_line
from tests.small_district import SMALL_DISTRICT
from tests.target_batch import DEFAULT, MOVED, MOVED_YEAR, target_batch

ROOT = Path(__file__).resolve().parent.parent

# Every test here reads reports built from a batch (about 20 s): the slow tier.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    return small_batch(tmp_path_factory)


def _forbidden(*args, **kwargs):
    raise AssertionError("the report ran a model")


@pytest.fixture(scope="module")
def built(batch) -> dict[str, dict[str, Path]]:
    """Both reports, built with the model's entry points replaced by a trap: the report
    reads stored results and never runs a model."""
    import sim.model.demography
    import sim.model.expected
    import sim.runs.batch
    import sim.runs.pipeline

    with pytest.MonkeyPatch.context() as mp:
        for module, name in (
            (sim.runs.pipeline, "run_replicate_all"),
            (sim.runs.batch, "run_task"),
            (sim.runs.batch, "run_batch"),
            (sim.model.expected, "expected_level"),
            (sim.model.demography, "project"),
        ):
            mp.setattr(module, name, _forbidden)
        return {lang: report.build_report(batch, lang) for lang in ("zh", "en")}


# ------------------------------------------------------------------ files
def test_report_files_are_written_into_the_report_folder(batch, built):
    for lang, paths in built.items():
        assert paths["html"] == batch / "report" / f"report-{lang}.html"
        assert paths["csv"] == batch / "report" / f"key_figures-{lang}.csv"
        figures = {k: p for k, p in paths.items() if k.startswith("figure ")}
        assert {"figure pyramid", "figure beds", "figure occupancy", "figure waterfall"} <= set(
            figures
        )
        for path in figures.values():
            assert path.name.endswith(f"-{lang}.png")
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_key_figure_csv_has_a_bom_and_the_summary_numbers(batch, built):
    raw = built["zh"]["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for spreadsheet programs"
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["代码", "指标", "情景"]
    ds = xr.load_dataset(batch / "results.nc", engine="h5netcdf")
    figures = summary.key_figures(ds)
    assert len(body) == len(figures)
    row = next(r for r in body if r[0] == "beds_needed_occupancy" and r[2] == "reform")
    kf = next(k for k in figures if (k.key, k.scenario) == ("beds_needed_occupancy", "reform"))
    col = header.index(i18n.text("col_central", "zh"))
    assert float(row[col]) == pytest.approx(kf.central, rel=1e-5)
    assert row[3] == REFORM_LABEL, "the label as plain text in the table"
    assert row[1] == i18n.text("kf_beds_needed_occupancy", "zh")
    en = list(csv.reader(built["en"]["csv"].read_text(encoding="utf-8-sig").splitlines()))
    assert en[0][:3] == ["code", "figure", "scenario"]


def test_csv_text_cells_never_start_a_formula():
    kf = summary.KeyFigure(
        "beds", "=cmd", 2030, "beds", 1.0, 1.0, 1.0, 1.0, 1, None, None, None, None
    )
    rows = report.key_figure_rows([kf], {"=cmd": "+SUM(A1)"}, "en")
    assert rows[1][2] == "'=cmd" and rows[1][3] == "'+SUM(A1)"


def test_des_figures_show_the_median_with_a_range_and_persons_apart_from_events(batch):
    ds = xr.load_dataset(batch / "results.nc", engine="h5netcdf")
    figures = summary.key_figures(ds)
    table = report._key_table(figures, ["baseline", "reform"], summary.scenario_labels(ds), "en")
    row = re.search(r"<tr><td>Community-clinic requests unmet \(DES\)</td>.*?</tr>", table)
    assert row is not None
    unmet = next(k for k in figures if (k.key, k.scenario) == ("des_clinic_unmet", "baseline"))
    assert unmet.median != unmet.central, "the two DES replicates differ"
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(0))
    shown = f"<b>{report.format_number(unmet.median, unmet.unit)}</b>"
    assert cells[1].startswith(shown), "a DES figure is shown by its median"
    low, high = (report.format_number(v, unmet.unit) for v in (unmet.low, unmet.high))
    assert f"90% range: {low} – {high}" in cells[1]
    assert "Δ" in cells[2], "the reform's paired difference from the baseline"
    rows = {r[0]: r for r in report.key_figure_rows(figures, {}, "en")[1:]}
    persons, events = rows["des_elective_patients_deferred"], rows["des_elective_deferral_events"]
    assert persons[1] == "Elective admissions deferred, patients (DES)"
    assert persons[5] == "persons per year" and events[5] == "events per year"


# ------------------------------------------------------------------ HTML text
def test_scenario_text_is_escaped(built):
    page = built["en"]["html"].read_text(encoding="utf-8")
    assert REFORM_LABEL not in page and html.escape(REFORM_LABEL) in page
    assert html.escape(REFORM_DESCRIPTION) in page
    assert "<script" not in page.lower(), "no script element of any origin"


def test_page_is_self_contained(built):
    page = built["zh"]["html"].read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    n_figures = sum(1 for k in built["zh"] if k.startswith("figure "))
    assert page.count("<img ") == n_figures
    assert 'lang="zh-CN"' in page and '"Noto Sans CJK SC"' in page
    assert i18n.text("report_title", "zh") in page


def test_assumptions_list_the_inputs_that_differ_from_the_baseline(built):
    page = built["en"]["html"].read_text(encoding="utf-8")
    assert (
        "demand.reforms.day_surgery</code>: {&quot;2025&quot;: 0.0, &quot;2027&quot;: 0.3}" in page
    )
    base = {"name": "a", "label": "A", "x": {"y": 1, "path": {"2025": 0.0, "2030": 0.5}}}
    other = {"name": "b", "label": "B", "x": {"y": 1, "path": {"2025": 0.0, "2030": 0.7}}, "z": 2}
    assert report.assumption_differences(base, other) == [
        ("x.path", {"2025": 0.0, "2030": 0.7}),
        ("z", 2),
    ]
    assert report.uncertain_inputs({"a": {"low": 1, "high": 2}, "b": {"2025": 1, "2030": 2}}) == [
        "a"
    ]


# ------------------------------------------------------------------ data confidence
def _datamd_grades() -> dict[str, str]:
    """id -> grade cell of every table row in sim/data/DATA.md."""
    grades: dict[str, str] = {}
    col: int | None = None
    for line in (ROOT / "sim" / "data" / "DATA.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            col = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if col is None:
            low = [c.lower() for c in cells]
            col = low.index("grade") if "grade" in low else -1
        elif not set(line) <= set("|-: ") and 0 <= col < len(cells):
            grades[cells[0]] = cells[col]
    return grades


def test_input_grades_are_those_of_datamd_rows():
    grades = _datamd_grades()
    for key, ids in report.INPUT_IDS.items():
        assert ids, f"{key} names its inputs"
        for data_id in ids:
            assert data_id in grades, f"{key}: {data_id} is not a row of DATA.md"
        assert report.input_grades(key) == tuple((i, grades[i].split(" ")[0]) for i in ids)
    assert set(report.INPUT_IDS) == {s.key for s in summary.KEY_FIGURES}


# ------------------------------------------------------------------ bad folders
def test_a_missing_or_broken_folder_is_a_one_line_error(tmp_path, batch):
    with pytest.raises(ScenarioError, match="no such results folder"):
        report.build_report(tmp_path / "nothing")
    with pytest.raises(ScenarioError, match=r"no results\.nc here"):
        report.build_report(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.nc").write_bytes(b"not a netCDF file")
    with pytest.raises(ScenarioError, match="cannot read the results") as err:
        report.build_report(broken)
    assert "\n" not in str(err.value)
    no_manifest = tmp_path / "no_manifest"
    no_manifest.mkdir()
    shutil.copy(batch / "results.nc", no_manifest / "results.nc")
    with pytest.raises(ScenarioError, match=r"no manifest\.json here"):
        report.build_report(no_manifest)
    with pytest.raises(ScenarioError, match="--lang"):
        report.build_report(batch, "fr")


def test_a_batch_written_before_targets_were_stored_is_one_line_rerun(tmp_path, batch, capsys):
    """Results without the tasks' targets are refused (exit 2, one line), not reported
    against targets guessed from defaults."""
    old = tmp_path / "old"
    old.mkdir()
    ds = xr.load_dataset(batch / "results.nc", engine="h5netcdf")
    save_dataset(ds.drop_vars(list(names.TARGET_VARIABLES)), old / "results.nc")
    shutil.copy(batch / "manifest.json", old / "manifest.json")
    line = one_line(capsys, cli.main(["report", str(old)]))
    assert "rerun the batch" in line
    assert not (old / "report").exists(), "nothing written"


# ------------------------------------------------------------------ each scenario's year
def test_each_scenarios_key_figures_are_for_its_own_plan_year(tmp_path_factory):
    """Bug: the table and summary were for the alphabetically first scenario's target year
    (accelerated_investment: 2028) in every scenario. Each is for its own, and the page
    says that the years differ."""
    folder = target_batch(tmp_path_factory)
    default_year = load_dict({"name": "default"}).capacity.plan_target.year
    years = {MOVED: MOVED_YEAR, DEFAULT: default_year}
    paths = report.build_report(folder, "en")
    rows = list(csv.reader(paths["csv"].read_text(encoding="utf-8-sig").splitlines()))
    sc_col, year_col = rows[0].index("scenario"), rows[0].index("year")
    assert {(r[sc_col], int(r[year_col])) for r in rows[1:]} == set(years.items())
    page = html.unescape(paths["html"].read_text(encoding="utf-8"))
    assert i18n.text("report_key_figures_each", "en") in page
    each = f"{MOVED} {MOVED_YEAR}; {DEFAULT} {default_year}"
    assert i18n.text("report_years_differ", "en", years=each) in page
    for sc, year in years.items():
        assert f"<b>{sc}</b>: Beds needed at the target occupancy ({year})" in page, sc
    ds = xr.load_dataset(folder / "results.nc", engine="h5netcdf")
    labels = summary.scenario_labels(ds)
    zh = report._key_heading(ds, [MOVED, DEFAULT], labels, "zh")
    assert i18n.text("report_key_figures_each", "zh") in zh and "2028年" in zh


def test_one_target_year_is_the_heading_and_no_note(batch):
    ds = xr.load_dataset(batch / "results.nc", engine="h5netcdf")
    heading = report._key_heading(ds, ["baseline", "reform"], {}, "en")
    expected = i18n.text("report_key_figures", "en", year=2027)
    assert html.unescape(heading) == f"<h2>{expected}</h2>", "the batch's last year, no note"


# ------------------------------------------------------------------ a sweep with indices
def test_report_of_a_morris_sweep_is_the_sweep_page(tmp_path, capsys):
    small = {
        "run": {"start_year": 2025, "end_year": 2025},
        "data": {"base_population": str(SMALL_DISTRICT)},
        "calibration": {"population": {"low": 205_000.0, "high": 206_500.0}},
        "demand": {"calibration": {"chc_visits": 506_885.0}},
    }
    sc = load_dict({"name": "base", **small})
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(
        textwrap.dedent(
            """
            method = "morris"
            n = 4
            seed = 3
            outputs = ["beds_needed_occupancy:year=2025", "gps_needed:year=2025"]
            [parameters]
            "capacity.targets.occupancy" = {low = 0.8, high = 0.9}
            "demand.calibration.alos_days" = {low = 7.0, high = 8.5}
            """
        )
    )
    sweep = load_sweep(sweep_file, sc.model_dump(mode="json"), 3)
    plan = make_plan([sc], 1, 3, points={"base": list(sweep.points)}, options={"des_replicates": 0})
    folder = tmp_path / "sweep"
    result = run_batch(plan, folder, workers=0)
    assert cli.main(["report", str(folder), "--lang", "en"]) == 0
    assert (folder / "report" / "report-en.html").is_file(), "no indices yet: the batch report"
    save_dataset(analyse(sweep, result.dataset, 3), folder / "sensitivity.nc")
    assert cli.main(["report", str(folder), "--lang", "en", "--lang", "zh"]) == 0
    page = html.unescape((folder / "report" / "sweep-en.html").read_text(encoding="utf-8"))
    assert (folder / "report" / "sweep-zh.html").is_file()
    for k in range(2):  # a tornado and a scatter per output
        assert f'id="fig-tornado-{k}"' in page and f'id="fig-scatter-{k}"' in page
    assert "trajectories r = 2" in page and "trajectories r = 4" in page, "convergence at r/2, r"
    assert ("settled" in page) and "capacity.targets.occupancy" in page
    assert "<script" not in page and "data:image/png;base64," in page


def test_report_of_a_bad_sweep_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "results.nc").write_bytes(b"not netCDF")
    (folder / "sensitivity.nc").write_bytes(b"not netCDF")
    assert cli.main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sensitivity.nc" in err and "cannot read the indices" in err


# ------------------------------------------------------------------ in a browser
CONSOLE = re.compile(r":CONSOLE[:(\]]|Uncaught", re.I)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed; the project's set-up (run.py) installs it on CI")
    pytest.skip("Chromium is not installed (python3 run.py installs it)")


def _browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
        *args,
        page.resolve().as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def test_console_error_detection_catches_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><p>x</p>'
        "<script>console.error('deliberate'); throw new Error('deliberate uncaught');</script>",
        encoding="utf-8",
    )
    proc = _browse(page, tmp_path, f"--screenshot={tmp_path / 'broken.png'}")
    lines = _console_lines(proc.stderr)
    assert any("deliberate uncaught" in line for line in lines), proc.stderr[-2000:]


def test_report_opens_in_chromium_without_console_errors(built, tmp_path):
    shot = tmp_path / "report-zh.png"
    proc = _browse(built["zh"]["html"], tmp_path, f"--screenshot={shot}", "--window-size=1280,2400")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_lines(proc.stderr) == [], "console messages from the report"
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        grey = np.asarray(im.convert("L"), dtype=float)
    assert grey.std() > 10, "the screenshot shows content, not a blank page"
    keep = os.environ.get("HRSIM_REPORT_SCREENSHOT")
    if keep:  # for a person to look at
        shutil.copy(shot, keep)


class _Cells(HTMLParser):
    """Text of every <th> and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.th: list[str] = []
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "th":
            self._in_th, self._text = True, ""

    def handle_endtag(self, tag):
        if tag == "th" and self._in_th:
            self.th.append(self._text)
            self._in_th = False

    def handle_data(self, data):
        if self._in_th:
            self._text += data


def test_a_scenario_label_with_html_is_shown_as_text_in_the_browser(built, tmp_path):
    proc = _browse(built["en"]["html"], tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = _Cells()
    cells.feed(proc.stdout)
    assert REFORM_LABEL in cells.th, "the label is a table heading, as text"
    assert "script" not in cells.tags, "no script element made from the label"
    assert "<b>day surgery</b>" not in proc.stdout, "no <b> element made from the label"


PROBE = """
<pre id="probe-result"></pre>
<script>
(async () => {
  const out = {};
  const draw = (font, s) => {
    const c = document.createElement("canvas");
    c.width = 80 * s.length + 20; c.height = 90;
    const ctx = c.getContext("2d");
    ctx.font = font; ctx.fillStyle = "#000"; ctx.textBaseline = "top";
    ctx.fillText(s, 4, 4);
    return c.toDataURL();
  };
  try {
    const face = new FontFace(
      "cjk-probe", 'local("Noto Sans CJK SC"), local("NotoSansCJKsc-Regular")');
    await face.load();
    document.fonts.add(face);
    out.local = "loaded";
  } catch (e) { out.local = "missing: " + e; }
  const h1 = document.querySelector("h1");
  const family = getComputedStyle(h1).fontFamily;
  const chars = Array.from(h1.textContent).filter(ch => /\\p{Script=Han}/u.test(ch)).slice(0, 8);
  const page = ch => draw(`400 56px ${family}`, ch);
  out.chars = chars.join("");
  out.family = family;
  out.same_as_cjk_font = chars.map(ch => page(ch) === draw('400 56px "cjk-probe"', ch));
  const tofu = page("\\u0378");
  out.unlike_tofu = chars.map(ch => page(ch) !== tofu);
  out.distinct = new Set(chars.map(page)).size;
  document.getElementById("probe-result").textContent = JSON.stringify(out);
})();
</script>
"""


def test_chinese_text_is_drawn_with_the_cjk_font_not_boxes(built, tmp_path):
    """The report's own title, in the report's own font stack, drawn on a canvas, is
    pixel-identical to the same characters in Noto Sans CJK SC (loaded by name from the
    system) and unlike the box of an unassigned code point; each character differs."""
    page = built["zh"]["html"].read_text(encoding="utf-8")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _browse(probe, tmp_path, "--dump-dom", "--virtual-time-budget=10000")
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert found and found.group(1), proc.stderr[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert out["local"] == "loaded", f"Noto Sans CJK SC is not installed: {out['local']}"
    assert len(out["chars"]) >= 6, out
    assert all(out["same_as_cjk_font"]), f"title not drawn in Noto Sans CJK SC: {out}"
    assert all(out["unlike_tofu"]) and out["distinct"] == len(out["chars"]), out
