"""scenarios/README.md is generated from the scenario models and must be current."""

from __future__ import annotations

from pathlib import Path

from sim.scenario.reference import markdown

ROOT = Path(__file__).resolve().parent.parent


def test_reference_is_current():
    committed = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
    stale = "scenarios/README.md is stale: run `python3 run.py keys --write`"
    assert committed == markdown(), stale


def test_every_key_is_documented():
    text = markdown()
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            assert cells[-1], f"key without a description: {cells[0]}"
