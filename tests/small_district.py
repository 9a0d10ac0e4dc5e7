"""A district a twentieth the size of Longgang, for tests that must run the whole pipeline
(projection, expected level and DES) in a fraction of a second per replicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SMALL_DISTRICT = Path(__file__).resolve().parent / "data" / "small_district_population.csv"
"""The census population divided by 20 (rounded)."""


def small_district(end_year: int, warmup_days: int = 30) -> dict[str, Any]:
    """Scenario keys of the small district from 2025 to ``end_year``: population, its
    calibration target and the community-centre visits scaled by 1/20 alike, a short DES
    warm-up."""
    return {
        "run": {"start_year": 2025, "end_year": end_year},
        "des": {"warmup_days": warmup_days},
        "data": {"base_population": str(SMALL_DISTRICT)},
        "calibration": {"population": {"low": 205_000.0, "high": 206_500.0}},
        "demand": {"calibration": {"chc_visits": 506_885.0}},
    }
