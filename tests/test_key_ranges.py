"""Values inside a key's documented range never crash the model.

Every numeric scenario key is walked from the pydantic models (the ranges of
``scenarios/README.md``: a :class:`~sim.scenario.types.Bounds` of an uncertain input
or year path, or a field's ``ge``/``le``/``gt``/``lt``). A scenario extending
``scenarios/baseline.toml`` with the key set to a value of its range is either
refused by validation with a one-line :class:`~sim.base.errors.ScenarioError` (a
cross-field rule, e.g. ``run.end_year`` before ``run.start_year``) or runs the
projection and the expected level of replicate 0 to finite results; any other
exception is a bug.

The slow tier sets each key alone to its two ends and its middle, and (hypothesis)
several keys at once to values drawn across their ranges; the fast tier checks that
the walk finds every documented range, and that 0 GPs runs.
"""

from __future__ import annotations

import copy
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.base import names
from sim.base.errors import ScenarioError
from sim.model.demography import project
from sim.model.expected import N_DAYS_MAX, expected_level, prepare_expected
from sim.runs.pipeline import base_inputs
from sim.scenario import Scenario, draw, load_dict, read_layers
from sim.scenario.demand import REFORM_LEVERS
from sim.scenario.reference import field_bounds, model_of

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"

OPEN_END_STEP = 1e-6
"""How far inside an open end (``gt``/``lt``) the drawn value lies, relative to the width."""

UNDEFINED_RATIOS = frozenset(
    {"gp_utilisation", "bed_occupancy", "ed_admitted_fraction", "nurse_physician_ratio"}
)
"""Results that are a ratio to something a scenario may set to 0 (GPs, a pool's beds, ED
visits, physicians): NaN there means 'undefined' and is allowed; every other value must
be finite."""

NOT_READ_BY_EXPECTED_LEVEL = ("des",)
"""Sections only the DES reads: their keys are validated, not run."""


@dataclass(frozen=True)
class KeyRange:
    """A numeric scenario key and its documented range."""

    parts: tuple[str, ...]
    """Path of the key, e.g. ``("capacity", "gp", "count")``."""
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    in_list: str | None = None
    """Name of the list of tables the key belongs to (``capacity.additions``), if any."""

    @property
    def key(self) -> str:
        return ".".join(self.parts)

    def end(self, which: str) -> float:
        """``"low"``, ``"high"`` or ``"mid"`` of the range (just inside an open end)."""
        step = OPEN_END_STEP * (self.high - self.low)
        lo = self.low + step if self.low_open else self.low
        hi = self.high - step if self.high_open else self.high
        value = {"low": lo, "high": hi, "mid": 0.5 * (lo + hi)}[which]
        return self.as_number(value)

    def as_number(self, value: float) -> float:
        """An int for a whole-number key (the middle truncated toward 0), else a float."""
        return int(value) if self.integer else float(value)

    def values(self) -> st.SearchStrategy[float]:
        """Values across the range, ends included."""
        ends = st.sampled_from([self.end("low"), self.end("high")])
        if self.integer:
            inner = st.integers(int(self.end("low")), int(self.end("high")))
        else:
            inner = st.floats(
                self.low,
                self.high,
                exclude_min=self.low_open,
                exclude_max=self.high_open,
                allow_nan=False,
            )
        return st.one_of(ends, inner)  # type: ignore[arg-type]


def _field_range(info: FieldInfo) -> tuple[float, float, bool, bool] | None:
    """(low, high, low open, high open) of a plain ``Field(ge=..., le=...)``."""
    lo = hi = None
    lo_open = hi_open = False
    for meta in info.metadata:
        for name, is_open in (("ge", False), ("gt", True)):
            if getattr(meta, name, None) is not None:
                lo, lo_open = getattr(meta, name), is_open
        for name, is_open in (("le", False), ("lt", True)):
            if getattr(meta, name, None) is not None:
                hi, hi_open = getattr(meta, name), is_open
    if lo is None or hi is None:
        return None
    return float(lo), float(hi), lo_open, hi_open


def numeric_keys(
    model: type[BaseModel] = Scenario, prefix: tuple[str, ...] = (), in_list: str | None = None
) -> list[KeyRange]:
    """Every numeric key of ``model`` with a documented range, depth first."""
    out: list[KeyRange] = []
    for name, info in model.model_fields.items():
        parts = (*prefix, name)
        sub = model_of(info.annotation)
        if sub is not None and "Interval80" not in repr(info.annotation):
            listed = ".".join(parts) if typing.get_origin(info.annotation) is list else in_list
            out += numeric_keys(sub, parts, listed)
            continue
        bounds = field_bounds(info)
        if bounds is not None:
            out.append(KeyRange(parts, bounds.low, bounds.high, in_list=in_list))
            continue
        span = _field_range(info)
        if span is not None:
            integer = info.annotation is int
            out.append(KeyRange(parts, *span, integer=integer, in_list=in_list))
    return out


KEYS = numeric_keys()

LIST_ITEM_DEFAULTS: dict[str, dict[str, Any]] = {
    "capacity.additions": {"pool": "medicine", "beds": 200, "opening": 2028.0, "label": "test"}
}
"""A valid table of each list of tables, whose one key under test is then replaced."""


def _baseline_raw() -> dict[str, Any]:
    raw, _ = read_layers(BASELINE)
    return raw


BASELINE_RAW = _baseline_raw()


def _calibration_year(raw: dict[str, Any]) -> int:
    return int(raw.get("demand", {}).get("calibration", {}).get("year", 2025))


def _scenario_value(key: KeyRange, value: float, raw: dict[str, Any]) -> Any:
    """How ``value`` is written: a reform lever must be 0 in the calibration year, so
    it is a year table reaching ``value`` one year later."""
    if key.parts[-1] in REFORM_LEVERS and key.parts[:2] == ("demand", "reforms"):
        year = _calibration_year(raw)
        return {str(year): 0.0, str(year + 1): value} if year < 2050 else 0.0
    return value


def with_values(settings_: dict[KeyRange, float]) -> dict[str, Any]:
    """The baseline's mapping with each key set to its value (a list key gets one table)."""
    raw = copy.deepcopy(BASELINE_RAW)
    for key in sorted(settings_, key=lambda k: k.key != "demand.calibration.year"):
        value = _scenario_value(key, settings_[key], raw)
        if key.in_list is not None:
            list_parts = key.in_list.split(".")
            node = raw
            for part in list_parts[:-1]:
                node = node.setdefault(part, {})
            items = node.setdefault(list_parts[-1], [dict(LIST_ITEM_DEFAULTS[key.in_list])])
            items[0][key.parts[-1]] = value
            continue
        node = raw
        for part in key.parts[:-1]:
            node = node.setdefault(part, {})
        node[key.parts[-1]] = value
    return raw


def _non_finite(ds: xr.Dataset, allowed_nan: frozenset[str] = frozenset()) -> list[str]:
    """Variables with an infinity, or a NaN outside ``allowed_nan`` (day 366 of a
    non-leap year is NaN by design)."""
    if names.DAY in ds.dims:
        ds = ds.isel({names.DAY: slice(0, N_DAYS_MAX - 1)})
    bad = []
    for name, var in ds.data_vars.items():
        if var.dtype.kind != "f":
            continue
        values = np.asarray(var.values)
        if np.isinf(values).any() or (name not in allowed_nan and np.isnan(values).any()):
            bad.append(str(name))
    return bad


def run_or_refuse(raw: dict[str, Any], *, only_validate: bool = False) -> str:
    """Validate and run replicate 0's projection and expected level; ``"refused"`` if
    validation refused the scenario with a one-line ScenarioError, else ``"ran"``."""
    try:
        sc = draw(load_dict(raw), 0)
        if only_validate:
            return "validated"
        inputs = base_inputs(sc)
        projection = project(sc, inputs.demographic)
        state = prepare_expected(sc, projection, inputs.service, inputs.profiles, inputs.calendar)
        ds = expected_level(sc, projection, inputs.service, inputs.profiles, inputs.calendar, state)
    except ScenarioError as err:
        assert "\n" not in str(err), f"a ScenarioError must be one line: {err}"
        return "refused"
    assert not _non_finite(projection), f"non-finite projection: {_non_finite(projection)}"
    bad = _non_finite(ds, UNDEFINED_RATIOS)
    assert not bad, f"non-finite expected-level results: {bad}"
    return "ran"


def test_every_documented_range_is_walked() -> None:
    keys = {k.key for k in KEYS}
    assert {"capacity.gp.count", "migration.net_total", "capacity.additions.beds"} <= keys
    assert all(k.low <= k.high and math.isfinite(k.low) and math.isfinite(k.high) for k in KEYS)


@pytest.mark.slow  # about 270 runs of the expected level, 30 s in all
@pytest.mark.parametrize("which", ["low", "mid", "high"])
@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.key)
def test_a_key_at_an_end_or_the_middle_of_its_range(key: KeyRange, which: str) -> None:
    only_validate = key.parts[0] in NOT_READ_BY_EXPECTED_LEVEL
    run_or_refuse(with_values({key: key.end(which)}), only_validate=only_validate)


def test_no_gps_give_no_gp_capacity() -> None:
    gp = {"count": {"2025": 2528.0, "2027": 0.0}}
    raw = with_values({})
    raw.setdefault("capacity", {})["gp"] = gp
    assert run_or_refuse(raw) == "ran"
    raw["capacity"]["gp"] = {"count": 0.0}
    assert run_or_refuse(raw) == "refused"  # visits per GP cannot be observed
    raw["capacity"]["gp"] = {"count": 0.0, "visits_per_gp": 4000.0}
    assert run_or_refuse(raw) == "ran"


@st.composite
def _several_keys(draw_: st.DrawFn) -> dict[KeyRange, float]:
    chosen = draw_(st.lists(st.sampled_from(KEYS), min_size=2, max_size=6, unique=True))
    return {key: draw_(key.values()) for key in chosen}


@pytest.mark.slow
@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_several_keys())
def test_several_keys_across_their_ranges(values: dict[KeyRange, float]) -> None:
    run_or_refuse(with_values(values))
