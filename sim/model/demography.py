"""Cohort-component population projection by single year of age (0..100+) and sex.

Method (Preston, Heuveline & Guillot, *Demography*, 2001, ch. 6):

* **Time.** The base population is the census of 1 November 2020. A short first
  step of 61/365 years brings it to the end of 2020; then one step per calendar
  year. ``population(year)`` is the population on 31 December of ``year``;
  flows of ``year`` happen during it (the flows of 2020 cover 61 days, see the
  ``period_length`` coordinate).
* **Mortality.** A Brass logit relational life table on a standard (``data.
  mortality_standard``) with slope 1 and level ``alpha`` solved so that the both-sex
  life expectancy at birth (sexes weighted by the sex ratio at birth) equals the
  year's target; the infant mortality 1q0 is set on its own and the rest of the
  table is solved around it, so e0 still hits the target.
* **Survival.** Cohorts aged ``x`` at the start of a year are aged ``x + 1`` at
  its end with survival ``L(x+1)/L(x)``; the open group 100+ survives with
  ``T(100)/T(99)``; births survive to the end of their year with ``L(0)``.
* **Births.** ``TFR × share(a)`` for mothers aged ``a`` applied to the mean of
  the women aged ``a`` at the start and end of the year; split by sex with the
  sex ratio at birth.
* **Migration.** A net total per year spread by an age-sex profile, counted at
  the year-end age. Up to the calibration year the total is solved so that the
  projection reaches the published population (the projection is affine in a
  constant net-migration total, so two runs give the exact solution); after it,
  the scenario's path or the calibrated level, plus the ageing levers.

Accounting is exact: ``population(t+1, a+1) = population(t, a) - deaths(t+1, a)
+ net_migration(t+1, a+1)``, and age 0 = births - deaths of births + migrants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from sim.base import catalogue, names
from sim.data import DemographicTables
from sim.scenario import Scenario, number, path_at

EXTENDED_AGE = 130
"""Life tables run to this age (the standard's 100+ rate continued) before closing."""

ALPHA_BRACKET = (-4.0, 4.0)
"""Search range of the Brass level parameter; e0 from about 20 to 100 years."""


# --------------------------------------------------------------------- life tables
@dataclass(frozen=True)
class LifeTable:
    """Single-year life table of one sex (radix 1)."""

    lx: np.ndarray
    """Survivors to exact age x, x = 0..EXTENDED_AGE."""
    Lx: np.ndarray
    """Person-years lived in [x, x+1), x = 0..EXTENDED_AGE (last: open interval)."""

    @property
    def e0(self) -> float:
        return float(self.Lx.sum())

    @property
    def Tx(self) -> np.ndarray:  # noqa: N802 (the life-table symbol T(x))
        tx: np.ndarray = np.cumsum(self.Lx[::-1])[::-1]
        return tx

    def ex(self) -> np.ndarray:
        ex: np.ndarray = self.Tx / self.lx
        return ex

    def projection_survival(self) -> tuple[float, np.ndarray]:
        """(births surviving to the end of their year, survival of ages 0..100+ over a year).

        Element ``x`` of the array is the share of those aged ``x`` (``x = 100``: 100+)
        at the start of a year alive at its end (then aged ``x + 1``, or 100+)."""
        L, T = self.Lx, self.Tx
        s = np.empty(names.N_AGES)
        s[: names.MAX_AGE - 1] = L[1 : names.MAX_AGE] / L[: names.MAX_AGE - 1]
        open_ratio = T[names.MAX_AGE] / T[names.MAX_AGE - 1]
        s[names.MAX_AGE - 1] = open_ratio
        s[names.MAX_AGE] = open_ratio
        return float(L[0]), s

    def hazard(self) -> np.ndarray:
        """Central death rates m(x) = deaths / person-years, ages 0..EXTENDED_AGE."""
        d = -np.diff(np.append(self.lx, 0.0))
        mx: np.ndarray = d / self.Lx
        return mx


def standard_lx(mx: np.ndarray) -> np.ndarray:
    """Survivors l(x), x = 0..EXTENDED_AGE, of a standard with single-year rates
    ``mx`` (ages 0..100, constant hazard within each year; 100+ continued)."""
    rates = np.concatenate([mx, np.full(EXTENDED_AGE - names.MAX_AGE, mx[-1])])
    return np.concatenate([[1.0], np.exp(-np.cumsum(rates))])[: EXTENDED_AGE + 1]


def _a0(q0: float) -> float:
    """Mean years lived in the first year by infants who die, from the infant
    mortality rate: a0 = 0.053 + 2.8 m0 (DATA_NOTES §5.3 convention), solved with
    m0 = q0 / (1 - (1 - a0) q0)."""
    a0 = 0.1
    for _ in range(50):
        m0 = q0 / (1.0 - (1.0 - a0) * q0)
        new = min(0.5, 0.053 + 2.8 * m0)
        if new == a0:  # a fixed point: the remaining rounds would not change it
            break
        a0 = new
    return a0


def life_table_from_lx(lx: np.ndarray) -> LifeTable:
    """Person-years from survivors, constant hazard within each year of age (age 0:
    the a0 convention); the last age is closed with its own hazard."""
    l_next = np.append(lx[1:], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lx > 0, l_next / lx, 0.0)
        m = -np.log(np.clip(ratio, 1e-300, 1.0))
        Lx = np.where(m > 1e-12, (lx - l_next) / np.where(m > 1e-12, m, 1.0), lx)
    q0 = 1.0 - lx[1] / lx[0]
    Lx[0] = lx[1] + _a0(q0) * (lx[0] - lx[1])
    # open interval at EXTENDED_AGE: l / m with the last finite hazard
    m_last = m[-2] if m[-2] > 0 else 1.0
    Lx[-1] = lx[-1] / m_last
    return LifeTable(lx=lx, Lx=Lx)


def brass_life_table(std_lx: np.ndarray, alpha: float, q0: float | None = None) -> LifeTable:
    """Brass logit table Y(x) = alpha + Ys(x) (slope 1) on standard survivors
    ``std_lx``; with ``q0`` the infant mortality is set and ages 1+ follow Brass."""
    ys = 0.5 * np.log((1.0 - std_lx[1:]) / std_lx[1:])
    lb = 1.0 / (1.0 + np.exp(2.0 * (alpha + ys)))
    lx = np.empty_like(std_lx)
    lx[0] = 1.0
    lx[1:] = lb if q0 is None else (1.0 - q0) * lb / lb[0]
    return life_table_from_lx(lx)


def solve_life_tables(
    std_lx: np.ndarray, e0_target: float, srb: float, q0: float | None
) -> tuple[LifeTable, LifeTable, float]:
    """Male and female Brass tables with one common alpha such that the both-sex
    e0 (sexes weighted by births: SRB/(1+SRB) male) equals ``e0_target``.

    ``std_lx`` is [sex, age]. Returns (male, female, alpha)."""
    w_male = srb / (1.0 + srb)

    def gap(alpha: float) -> float:
        m = brass_life_table(std_lx[0], alpha, q0)
        f = brass_life_table(std_lx[1], alpha, q0)
        return w_male * m.e0 + (1.0 - w_male) * f.e0 - e0_target

    lo, hi = ALPHA_BRACKET
    if gap(lo) * gap(hi) > 0:
        raise ValueError(f"life expectancy {e0_target:.2f} cannot be reached from this standard")
    alpha = float(brentq(gap, lo, hi, xtol=1e-12, rtol=1e-14))
    return brass_life_table(std_lx[0], alpha, q0), brass_life_table(std_lx[1], alpha, q0), alpha


LIFE_TABLE_CACHE_SIZE = 1024
"""Solved (standard, e0, SRB, 1q0) life-table pairs kept per process."""
_life_table_cache: dict[
    tuple[bytes, float, float, float | None], tuple[LifeTable, LifeTable, float]
] = {}
"""Each solve is a root search over dozens of life tables; a projection meets the same
targets again in the two calibration runs of :func:`calibrate_net_migration` and in
its own run (and replicates may share them)."""


def _solved_life_tables(
    std_lx: np.ndarray, e0: float, srb: float, q0: float | None
) -> tuple[LifeTable, LifeTable, float]:
    """:func:`solve_life_tables`, cached by the standard's bytes and the targets.
    The tables returned are shared: read only."""
    key = (std_lx.tobytes(), e0, srb, q0)
    hit = _life_table_cache.get(key)
    if hit is None:
        hit = solve_life_tables(std_lx, e0, srb, q0)
        for table in hit[:2]:
            table.lx.flags.writeable = table.Lx.flags.writeable = False
        if len(_life_table_cache) >= LIFE_TABLE_CACHE_SIZE:
            _life_table_cache.clear()
        _life_table_cache[key] = hit
    return hit


# --------------------------------------------------------------------- projection
@dataclass(frozen=True)
class ProjectionInputs:
    """Everything the cohort-component core needs, per projection step.

    Step 0 runs from the census date to the end of its year (length
    ``period_length[0]``); step k >= 1 is calendar year ``years[k]``.
    """

    base_population: np.ndarray  # [sex, age], persons at the census date
    years: np.ndarray  # [step], calendar year of each step
    period_length: np.ndarray  # [step], years
    tfr: np.ndarray  # [step], births per woman
    fertility_share: np.ndarray  # [age], sums to 1
    srb: np.ndarray  # [step], male births per female birth
    e0: np.ndarray  # [step], years, both sexes
    infant_mortality: np.ndarray  # [step], 1q0 (NaN: from the Brass table)
    mortality_std_lx: np.ndarray  # [sex, EXTENDED_AGE + 1]
    migration: np.ndarray  # [step, sex, age], net migrants during the step


@dataclass(frozen=True)
class ProjectionArrays:
    population: np.ndarray  # [step, sex, age], end of step
    births: np.ndarray  # [step, sex]
    deaths: np.ndarray  # [step, sex, age], by age at the start of the step
    birth_deaths: np.ndarray  # [step, sex], deaths among those born in the step
    migration: np.ndarray  # [step, sex, age], by age at the end of the step
    e0: np.ndarray  # [step, sex]
    alpha: np.ndarray  # [step]


def _step_life_tables(inp: ProjectionInputs, k: int) -> tuple[tuple[LifeTable, LifeTable], float]:
    """Life tables (male, female) of step ``k`` and their Brass level ``alpha``."""
    q0 = float(inp.infant_mortality[k])
    solved = _solved_life_tables(
        inp.mortality_std_lx, float(inp.e0[k]), float(inp.srb[k]), None if np.isnan(q0) else q0
    )
    return solved[:2], solved[2]


def _age_survivors(pop: np.ndarray, lt: LifeTable, f: float) -> tuple[np.ndarray, np.ndarray]:
    """One sex's survivors over a step of ``f`` years, aged on, and its deaths.

    Args:
        pop: persons by age at the start of the step.
        lt: the step's life table of that sex.
        f: step length, years (1 for a calendar year).

    Returns:
        (survivors by age at the end of the step, deaths by age at its start), persons.
    """
    _, surv = lt.projection_survival()
    new = np.zeros(names.N_AGES)
    if f == 1.0:
        survivors = pop * surv
        new[1:] = survivors[:-1]
        new[names.MAX_AGE] += survivors[names.MAX_AGE]
    else:
        # part-year step: a share f of each cohort passes a birthday;
        # survival over f years at constant hazard
        survivors = pop * surv**f
        new[:] = (1.0 - f) * survivors
        new[1:] += f * survivors[:-1]
        new[names.MAX_AGE] += f * survivors[names.MAX_AGE]
    return new, pop - survivors


def _step_births(inp: ProjectionInputs, k: int, start: np.ndarray, end: np.ndarray) -> float:
    """Live births (persons) of step ``k``, from the populations [sex, age] at its start
    and end (before births)."""
    a_lo, a_hi = names.FERTILE_AGES
    female = names.SEXES.index("female")
    f = float(inp.period_length[k])
    # exposure = mean of women at the start and at the end of the step
    women = 0.5 * (start[female] + end[female])
    return (
        f * float(inp.tfr[k]) * float(inp.fertility_share[a_lo : a_hi + 1] @ women[a_lo : a_hi + 1])
    )


def _birth_survival(lt: LifeTable, f: float) -> float:
    """Share of a step's births (step of ``f`` years) alive at its end."""
    L0, _ = lt.projection_survival()
    # births spread evenly over the step; survival to its end by L(0)-type
    # person-years: L(0) for a full year, the constant-hazard share otherwise
    return L0 if f == 1.0 else float(lt.lx[1]) ** (0.5 * f)


def cohort_component(inp: ProjectionInputs) -> ProjectionArrays:
    """Run the projection (see the module docstring for the method)."""
    n, A = len(inp.years), names.N_AGES
    pop_out = np.empty((n, 2, A))
    births_out = np.empty((n, 2))
    deaths_out = np.empty((n, 2, A))
    bdeaths_out = np.empty((n, 2))
    e0_out = np.empty((n, 2))
    alpha_out = np.empty(n)
    pop = inp.base_population.astype(float)
    for k in range(n):
        tables, alpha_out[k] = _step_life_tables(inp, k)
        f = float(inp.period_length[k])
        new = np.zeros((2, A))
        for s, lt in enumerate(tables):
            e0_out[k, s] = lt.e0
            new[s], deaths_out[k, s] = _age_survivors(pop[s], lt, f)
        new += inp.migration[k]
        births = _step_births(inp, k, pop, new)
        male_share = inp.srb[k] / (1.0 + inp.srb[k])
        for s, lt in enumerate(tables):
            b = births * (male_share if s == 0 else 1.0 - male_share)
            b_surv = b * _birth_survival(lt, f)
            births_out[k, s] = b
            bdeaths_out[k, s] = b - b_surv
            new[s, 0] += b_surv
        pop_out[k] = new
        pop = new
    return ProjectionArrays(
        pop_out,
        births_out,
        deaths_out,
        bdeaths_out,
        np.asarray(inp.migration, dtype=float),
        e0_out,
        alpha_out,
    )


# --------------------------------------------------------------- scenario -> inputs
def _steps(end_year: int) -> tuple[np.ndarray, np.ndarray]:
    census_year = int(names.CENSUS_DATE[:4])
    years = np.arange(census_year, end_year + 1)
    lengths = np.ones(len(years))
    lengths[0] = names.CENSUS_YEAR_FRACTION_LEFT
    return years, lengths


def _migration(
    sc: Scenario,
    tables: DemographicTables,
    years: np.ndarray,
    lengths: np.ndarray,
    net_before: float,
    net_after: np.ndarray | None,
) -> np.ndarray:
    cal_year = sc.calibration.year if sc.calibration.enabled else int(names.CENSUS_DATE[:4])
    after = years > cal_year
    total = np.where(after, net_before if net_after is None else net_after, net_before) * lengths
    elderly = np.where(after, path_at(sc.migration.elderly_parents, years), 0.0) * lengths
    young = np.where(after, path_at(sc.migration.young_workers, years), 0.0) * lengths
    net: np.ndarray = (
        total[:, None, None] * tables.migration_all
        + elderly[:, None, None] * tables.migration_elderly
        + young[:, None, None] * tables.migration_labour
    )
    return net


def inputs_for(sc: Scenario, tables: DemographicTables, net_before: float) -> ProjectionInputs:
    """Projection inputs of a resolved scenario, with ``net_before`` net migrants per
    year up to the calibration year."""
    d = sc.demography
    years, lengths = _steps(sc.run.end_year)
    cal_year = sc.calibration.year if sc.calibration.enabled else years[0]
    e0 = path_at(d.e0, years) + number(d.e0_extra_gain) * np.maximum(0, years - cal_year)
    net_after = None if sc.migration.net_total is None else path_at(sc.migration.net_total, years)
    return ProjectionInputs(
        base_population=tables.base_population,
        years=years,
        period_length=lengths,
        tfr=path_at(d.tfr, years),
        fertility_share=tables.fertility_share,
        srb=np.full(len(years), number(d.srb)),
        e0=e0,
        infant_mortality=path_at(d.infant_mortality, years),
        mortality_std_lx=np.stack([standard_lx(tables.mortality_standard[s]) for s in range(2)]),
        migration=_migration(sc, tables, years, lengths, net_before, net_after),
    )


def calibrate_net_migration(sc: Scenario, tables: DemographicTables) -> float:
    """Constant annual net migration, census to the end of the calibration year, that
    makes the projected total equal the calibration population there.

    The projection is affine in that constant (births are linear in the population),
    so two runs give the exact value."""
    cal = sc.calibration
    trimmed = sc.model_copy(update={"run": sc.run.model_copy(update={"end_year": cal.year})})
    idx = cal.year - int(names.CENSUS_DATE[:4])
    p0 = cohort_component(inputs_for(trimmed, tables, 0.0)).population[idx].sum()
    p1 = cohort_component(inputs_for(trimmed, tables, 10_000.0)).population[idx].sum()
    return float(10_000.0 * (number(cal.population) - p0) / (p1 - p0))


def project(sc: Scenario, tables: DemographicTables) -> xr.Dataset:
    """Project a *resolved* scenario (see :func:`sim.scenario.draw`) to ``run.end_year``."""
    if sc.calibration.enabled:
        net_before = calibrate_net_migration(sc, tables)
    else:
        net_before = number(sc.calibration.default_net_migration)
    inp = inputs_for(sc, tables, net_before)
    out = cohort_component(inp)
    return to_dataset(inp, out, net_before, sc)


def project_replicates(
    sc: Scenario, tables: DemographicTables, replicates: Sequence[int], seed: int | None = None
) -> xr.Dataset:
    """Projections of several replicates stacked along ``replicate`` (0 = central)."""
    from sim.scenario import draw

    parts = [project(draw(sc, r, seed), tables) for r in replicates]
    return xr.concat(parts, dim=names.REPLICATE, combine_attrs="drop_conflicts").assign_coords(
        {names.REPLICATE: list(replicates)}
    )


def _flow_values(out: ProjectionArrays) -> dict[str, np.ndarray]:
    """Population stock and the flows of each year, persons."""
    return {
        "population": out.population,
        "births": out.births,
        "deaths": out.deaths,
        "deaths_of_births": out.birth_deaths,
        "net_migration": out.migration,
    }


def _summary_values(inp: ProjectionInputs, out: ProjectionArrays) -> dict[str, np.ndarray]:
    """Totals (persons), the 65+ share (fraction) and life expectancy (years) by year."""
    pop = out.population
    total = pop.sum(axis=(1, 2))
    return {
        "population_total": total,
        "share_65plus": pop[:, :, 65:].sum(axis=(1, 2)) / total,
        "life_expectancy": out.e0,
        # both sexes: weighted by the sex ratio at birth (males per female)
        "life_expectancy_both": (inp.srb * out.e0[:, 0] + out.e0[:, 1]) / (1.0 + inp.srb),
    }


def _input_values(inp: ProjectionInputs, net_before: float) -> dict[str, Any]:
    """The inputs worth keeping with the projection (fertility, step lengths in years,
    calibrated migration in persons per year, the census population in persons)."""
    return {
        "tfr": inp.tfr,
        "period_length": inp.period_length,
        "calibrated_net_migration": net_before,
        "population_census": inp.base_population,
    }


def to_dataset(
    inp: ProjectionInputs, out: ProjectionArrays, net_before: float, sc: Scenario | None = None
) -> xr.Dataset:
    """Label the projection arrays: units and long names from
    :data:`sim.base.catalogue.PROJECTION`."""
    Y, S, A = names.YEAR, names.SEX, names.AGE
    coords = {Y: inp.years.astype(int), S: list(names.SEXES), A: list(names.AGES)}
    values = {**_flow_values(out), **_summary_values(inp, out), **_input_values(inp, net_before)}
    ds = catalogue.dataset(catalogue.PROJECTION, values, coords, {"census_date": names.CENSUS_DATE})
    ds.attrs = {
        "title": "Cohort-component population projection",
        "base_date": names.CENSUS_DATE,
        "age_note": f"age {names.MAX_AGE} is the open group {names.MAX_AGE}+",
    }
    if sc is not None:
        ds.attrs["scenario"] = sc.name
    return ds
