"""Scenario validation round-trips (hypothesis): a valid scenario dumped to a mapping or
to a TOML file and loaded again is the same scenario, and so is a drawn one, which has
nothing left to draw.

The scenarios are the baseline's keys with several numeric keys set across their
documented ranges (the walk of tests/test_key_ranges.py), as plain numbers or as
distributions, and a label of any text; the ones validation refuses (a cross-field rule)
are discarded, since only a valid scenario has a round trip to make.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.base.errors import ScenarioError
from sim.scenario import Scenario, draw, load, load_dict
from sim.scenario.reference import field_bounds, model_of
from tests.test_key_ranges import KEYS, KeyRange, with_values

EXAMPLES = settings(
    derandomize=True,  # the same examples on every run and worker: a failure is repeatable
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_text(raw: dict[str, Any]) -> str:
    """A TOML document of a scenario's mapping, each section one inline table. TOML has no
    null: a None is left out, so it must be its key's default for the round trip to hold."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in raw.items() if v is not None)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # JSON escapes every control character TOML forbids in a basic string except DEL
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        assert math.isfinite(value), value
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    items = (f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
    return "{" + ", ".join(items) + "}"


def takes_distributions(key: KeyRange) -> bool:
    """Whether ``key`` is an uncertain input or a year path (a range of its own, Bounds),
    not a plain ``Field`` that takes numbers only."""
    model: Any = Scenario
    for part in key.parts[:-1]:
        model = model_of(model.model_fields[part].annotation)
    return field_bounds(model.model_fields[key.parts[-1]]) is not None


@st.composite
def _uncertain(draw_: st.DrawFn, key: KeyRange) -> Any:
    """A value of ``key``'s range: a number, or a distribution table inside the range."""
    a, b, c = sorted(draw_(key.values()) for _ in range(3))
    if not takes_distributions(key):
        return b
    return draw_(
        st.sampled_from(
            [
                b,
                {"low": a, "high": c},
                {"dist": "triangular", "low": a, "mode": b, "high": c},
                {"dist": "uniform", "low": a, "high": c},
                {"dist": "normal", "mean": b, "sd": (c - a) / 4},
            ]
        )
    )


@st.composite
def valid_raw(draw_: st.DrawFn) -> dict[str, Any]:
    """A scenario mapping that validation accepts."""
    keys = draw_(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6, unique=True))
    raw = with_values({key: draw_(_uncertain(key)) for key in keys})
    raw["name"] = draw_(st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,20}", fullmatch=True))
    raw["label"] = draw_(st.text(st.characters(exclude_categories=["Cs"]), max_size=30))
    try:
        load_dict(raw)
    except ScenarioError:
        assume(False)
    return raw


def _reloaded(sc: Scenario, folder: Path) -> Scenario:
    file = folder / "roundtrip.toml"
    file.write_text(toml_text(sc.model_dump()), encoding="utf-8")
    return load(file)


@EXAMPLES
@given(valid_raw())
def test_a_valid_scenario_dumped_to_a_mapping_loads_as_itself(raw: dict[str, Any]) -> None:
    sc = load_dict(raw)
    assert load_dict(sc.model_dump()) == sc
    assert load_dict(sc.model_dump(mode="json")) == sc


@EXAMPLES
@given(raw=valid_raw())
def test_a_valid_scenario_written_as_toml_loads_as_itself(
    raw: dict[str, Any], tmp_path: Path
) -> None:
    sc = load_dict(raw)
    assert _reloaded(sc, tmp_path) == sc


@EXAMPLES
@given(raw=valid_raw(), replicate=st.integers(0, 50), seed=st.integers(0, 2**63 - 1))
def test_a_drawn_scenario_round_trips_and_draws_as_itself(
    raw: dict[str, Any], replicate: int, seed: int, tmp_path: Path
) -> None:
    drawn = draw(load_dict(raw), replicate, seed)
    # every uncertain input is now a number inside its range: still a valid scenario
    assert _reloaded(drawn, tmp_path) == drawn
    assert draw(drawn, replicate + 1, seed) == drawn, "nothing is left to draw"


def test_the_toml_writer_keeps_what_toml_cannot_say_plainly(tmp_path: Path) -> None:
    """The writer itself: quotes, newlines, DEL and non-ASCII text, year keys and floats
    that need all 17 digits come back as they went in."""
    sc = load_dict(
        {
            "name": "w",
            "label": 'a "quoted"\nline\x7f 龙岗',
            "demography": {"tfr": {"2021": 0.1 + 0.2, "2030": 1e-05}},
        }
    )
    assert _reloaded(sc, tmp_path) == sc
    with pytest.raises(AssertionError):
        _value(math.inf)
