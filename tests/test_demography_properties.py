"""Properties of the cohort-component core (hypothesis), on inputs drawn at random around
the shipped mortality standard and fertility pattern (sim/model/demography.py):

* conservation: each step, every cohort's survivors age on (a share ``f`` of them in a
  part-year step of ``f`` years, the open group 100+ keeping its own), births less the
  deaths among them enter age 0, and net migrants are added by their end-of-step age;
  so the total changes by births - deaths + net migration and by nothing else;
* the projection is affine in the migration it is given, which is what lets
  ``calibrate_net_migration`` solve the calibrated total from two runs exactly.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.base import names
from sim.data import DemographicTables, load_demographic_tables
from sim.model.demography import ProjectionArrays, ProjectionInputs, cohort_component, standard_lx

EXAMPLES = settings(
    derandomize=True,  # the same examples on every run and worker: a failure is repeatable
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SHAPE = (len(names.SEXES), names.N_AGES)

ROUNDING = 1e-11
"""Relative size of the rounding the identities may show: deaths are stored as the
cohort less its survivors, so the cohort less its deaths is its survivors only to a few
units in the last place of the largest number involved."""


@cache
def _tables() -> DemographicTables:
    return load_demographic_tables()


def _people(low: float, high: float, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


@st.composite
def projection_inputs(draw: st.DrawFn) -> ProjectionInputs:
    """A few steps of any length up to a year first (the census step), then whole years,
    with their own fertility, sex ratio, life expectancy and infant mortality."""
    n = draw(st.integers(1, 4))
    per_step = lambda lo, hi: draw(_people(lo, hi, (n,)))  # noqa: E731
    first = draw(st.one_of(st.just(names.CENSUS_YEAR_FRACTION_LEFT), st.floats(0.05, 1.0)))
    q0 = per_step(0.0005, 0.02)
    q0[draw(hnp.arrays(np.bool_, (n,)))] = np.nan  # NaN: 1q0 from the Brass table
    tables = _tables()
    return ProjectionInputs(
        base_population=draw(_people(0.0, 5e4, SHAPE)),
        years=np.arange(2020, 2020 + n),
        period_length=np.concatenate([[first], np.ones(n - 1)]),
        tfr=per_step(0.0, 4.0),
        fertility_share=tables.fertility_share,
        srb=per_step(1.0, 1.3),
        e0=per_step(65.0, 90.0),
        infant_mortality=q0,
        mortality_std_lx=np.stack([standard_lx(m) for m in tables.mortality_standard]),
        # net emigration larger than a cohort leaves it negative: the accounts still hold
        migration=draw(_people(-200.0, 200.0, (n, *SHAPE))),
    )


def _expected_step(
    inp: ProjectionInputs, out: ProjectionArrays, k: int, start: np.ndarray
) -> np.ndarray:
    """Population at the end of step ``k`` from its flows, by the accounting identity."""
    f = float(inp.period_length[k])
    survivors = start - out.deaths[k]
    aged = np.zeros_like(survivors)
    aged[:, 1:] = survivors[:, :-1]
    aged[:, -1] += survivors[:, -1]  # the open group keeps its survivors
    end = (1.0 - f) * survivors + f * aged
    end[:, 0] += out.births[k] - out.birth_deaths[k]
    return end + out.migration[k]


def _close(a: np.ndarray, b: np.ndarray, scale: float) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=ROUNDING * (1.0 + scale))


@EXAMPLES
@given(projection_inputs())
def test_every_cohort_is_its_survivors_births_and_migrants(inp: ProjectionInputs) -> None:
    out = cohort_component(inp)
    start = inp.base_population
    for k in range(len(inp.years)):
        scale = float(np.abs(start).max() + np.abs(out.population[k]).max())
        _close(out.population[k], _expected_step(inp, out, k, start), scale)
        flows = out.births[k].sum() - out.birth_deaths[k].sum() - out.deaths[k].sum()
        _close(out.population[k].sum() - start.sum(), flows + inp.migration[k].sum(), scale)
        start = out.population[k]


@EXAMPLES
@given(projection_inputs())
def test_deaths_and_births_lie_within_what_they_come_from(inp: ProjectionInputs) -> None:
    out = cohort_component(inp)
    starts = np.concatenate([inp.base_population[None], out.population[:-1]])
    alive = starts >= 0  # a cohort emptied by emigration has no deaths to bound
    assert np.all(((out.deaths >= 0) & (out.deaths <= starts)) | ~alive)
    # women made negative by emigration during a step give negative births: no bound there
    born = out.births >= 0
    assert np.all(((out.birth_deaths >= 0) & (out.birth_deaths <= out.births)) | ~born)
    # boys per girl: the sex ratio at birth (to 12 digits, and to the last one for births
    # from nearly empty cohorts, which are too small to have 12)
    np.testing.assert_allclose(
        out.births[:, 0], inp.srb * out.births[:, 1], rtol=1e-12, atol=1e-300
    )


@EXAMPLES
@given(projection_inputs(), st.floats(-3.0, 3.0))
def test_the_projection_is_affine_in_its_migration(inp: ProjectionInputs, t: float) -> None:
    def population(migration: np.ndarray) -> np.ndarray:
        return cohort_component(replace(inp, migration=migration)).population

    zero = population(np.zeros_like(inp.migration))
    one = population(inp.migration)
    scale = float(np.abs(zero).max() + abs(t) * np.abs(one - zero).max())
    _close(population(t * inp.migration), zero + t * (one - zero), scale)
