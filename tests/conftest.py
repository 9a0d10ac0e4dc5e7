"""Shared test fixtures: small synthetic inputs that do not depend on shipped data; how
the suite is shared between pytest-xdist's worker processes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sim.base.names import N_AGES
from sim.data import DemographicTables


def synthetic_tables() -> DemographicTables:
    """Smooth, plausible tables: a Gompertz-Makeham standard, a bell-shaped fertility
    pattern, a young population and a labour-age migration profile."""
    ages = np.arange(N_AGES, dtype=float)
    gompertz = 0.0002 + 0.00003 * np.exp(0.095 * ages)
    mx = np.stack([gompertz * 1.3, gompertz])
    mx[:, 0] = [0.004, 0.0035]
    pop_shape = np.exp(-0.5 * ((ages - 30) / 18) ** 2) + 0.05
    pop = np.stack([pop_shape * 1.1, pop_shape]) * 20_000
    fert = np.where((ages >= 15) & (ages <= 49), np.exp(-0.5 * ((ages - 29) / 5.5) ** 2), 0.0)
    lab = np.exp(-0.5 * ((ages - 23) / 5) ** 2)
    eld = np.exp(-0.5 * ((ages - 62) / 5) ** 2)
    both = lambda v: np.stack([0.55 * v, 0.45 * v]) / v.sum()  # noqa: E731
    return DemographicTables(
        base_population=pop,
        fertility_share=fert / fert.sum(),
        mortality_standard=mx,
        migration_all=both(lab + 0.3 * eld + 0.05),
        migration_labour=both(lab),
        migration_elderly=both(eld),
        sources={"all": "synthetic (tests/conftest.py)"},
    )


@pytest.fixture
def tables() -> DemographicTables:
    return synthetic_tables()


PROCESS_TESTS = frozenset(
    {"test_batch.py", "test_batch_signals.py", "test_batch_kills.py", "test_batch_disk.py"}
)
"""Test files that start batches of worker processes and time how fast they stop: they
run one after another on one xdist worker, so that no two of them share the cores."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="accept the numbers of tests/test_golden_batch.py as the new golden ones",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Before xdist starts its workers, compile the DES once (or load numba's cache),
    so that the workers load the cache instead of each compiling it (85 s of one core
    on a fresh clone)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", 0):
        return
    from sim.runs.pipeline import prepare_engine

    prepare_engine("compiled")


TIERS: dict[str, tuple[str, ...]] = {
    # one function, table or rule against values worked out by hand, exactly or from an
    # independent reference; small inputs
    "unit": (
        "test_analytic.py",
        "test_data_tables.py",
        "test_demand.py",
        "test_demography.py",
        "test_demography_properties.py",
        "test_des_arrivals.py",
        "test_des_compiled.py",
        "test_des_reference.py",
        "test_los.py",
        "test_scenario_draw.py",
        "test_scenario_roundtrip.py",
        "test_tiers.py",
    ),
    # what the model does when an input changes, the rules its engines obey, and how it
    # answers bad or extreme input: directions, invariants, one-line refusals
    "behaviour": (
        "test_capacity.py",
        "test_catalogue.py",
        "test_demography_vectorised.py",
        "test_des_engine.py",
        "test_des_equivalence.py",
        "test_expected.py",
        "test_expected_many.py",
        "test_fuzz_inputs.py",
        "test_key_ranges.py",
        "test_pipeline_stages.py",
        "test_replicate_median.py",
        "test_resolved_scenario.py",
        "test_scenario_errors.py",
        "test_summary.py",
    ),
    # simulated against queueing theory and the expected level, within sampling error
    "statistical": (
        "test_des_queueing.py",
        "test_pipeline.py",
        "test_sensitivity_ishigami.py",
    ),
    # the program as a user or CI meets it: batches of processes, the command line, the
    # figures and report, and the repository's own checks (layers, lint, generated docs)
    "system": (
        "test_architecture.py",
        "test_batch.py",
        "test_batch_disk.py",
        "test_batch_kills.py",
        "test_batch_signals.py",
        "test_cli.py",
        "test_memory.py",
        "test_plots.py",
        "test_quality.py",
        "test_report.py",
        "test_scenario_reference.py",
    ),
    # stored numbers a change must not move unless someone accepts it (README, Golden numbers)
    "regression": ("test_golden_batch.py",),
}
"""The tier of every test file, the one place it is written: the collection hook marks each
test with its file's tier (``-m unit`` etc.), and ``tests/test_tiers.py`` fails if a file
on disk is in no tier or in two. ``slow`` is apart from the tiers and cuts across them."""


def tiers_of(name: str) -> list[str]:
    """The tiers whose files include the test file ``name`` (one, when the table is right)."""
    return [tier for tier, files in TIERS.items() if name in files]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test file is one xdist group (its module fixtures are made once), the files of
    :data:`PROCESS_TESTS` together one; each test carries its file's tier (:data:`TIERS`)."""
    for item in items:
        name = item.path.name
        group = "processes" if name in PROCESS_TESTS else name
        item.add_marker(pytest.mark.xdist_group(group))
        for tier in tiers_of(name):
            item.add_marker(tier)
