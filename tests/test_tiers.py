"""The test tiers: every test file is in exactly one tier of tests/conftest.py's table, the
tiers are the markers pyproject.toml declares, and the collection hook marks each test."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TIERS, tiers_of

TESTS = Path(__file__).resolve().parent
ACROSS_TIERS = {"slow"}
"""Markers that are not tiers: ``slow`` cuts across them (the fast tier is ``not slow``)."""


def test_every_test_file_is_in_exactly_one_tier() -> None:
    on_disk = sorted(p.name for p in TESTS.glob("test_*.py"))
    wrong = {name: tiers_of(name) for name in on_disk if len(tiers_of(name)) != 1}
    assert not wrong, f"each test file needs exactly one tier in tests/conftest.py: {wrong}"


def test_the_table_names_no_file_twice_nor_one_that_is_gone() -> None:
    # a file listed twice in one tier would still be marked once, so count the entries
    entries = Counter(name for files in TIERS.values() for name in files)
    assert [name for name, n in entries.items() if n > 1] == []
    assert [name for name in entries if not (TESTS / name).is_file()] == []


def test_the_tiers_are_the_declared_markers() -> None:
    # pyproject's own list: pytest's list of markers also holds those of pytest and plugins
    ini = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    markers = ini["tool"]["pytest"]["ini_options"]["markers"]
    declared = {line.split(":")[0].strip() for line in markers}
    assert declared - ACROSS_TIERS == set(TIERS)


def test_the_collection_hook_marks_this_test_with_its_tier(request: pytest.FixtureRequest) -> None:
    marked = [m.name for m in request.node.iter_markers() if m.name in TIERS]
    assert len(marked) == 1 and marked == tiers_of(Path(__file__).name)
