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

**Samples.** Every function of the model takes arrays with leading axes of any length
(one entry per sample: a scenario draw or a sweep point), and :func:`project_many`
projects many scenarios in one call along :data:`sim.base.names.SAMPLE`;
:func:`project` is the same code with one sample. Each sample's numbers are computed
by the same operations whatever the other samples of the call, so they do not depend
on how samples are grouped into calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from sim.base import catalogue, names
from sim.base.errors import ScenarioError
from sim.data import DemographicTables
from sim.scenario import Scenario, number, path_at

EXTENDED_AGE = 130
"""Life tables run to this age (the standard's 100+ rate continued) before closing."""

ALPHA_BRACKET = (-4.0, 4.0)
"""Search range of the Brass level parameter; e0 from about 20 to 100 years."""

ALPHA_TOLERANCE = 1e-12
"""A solve stops when its next Newton step is below this (a numerical choice, brentq's
``xtol`` before: a life table's e0 is only smooth in alpha to about 1e-11 years, the
rounding of its young ages' person-years, which is 1e-12 of alpha)."""

ALPHA_GRID_POINTS = 3201
"""Points of the table of e0 against alpha that gives each solve its start and slope
(a numerical choice: with 3201, nine solves in ten end after one life table)."""

NEWTON_ROUNDS = 8
"""Newton steps tried before a solve that has not converged falls back to bisection of
its bracket (which ends within the tolerance in at most 50 more rounds)."""

LIFE_TABLE_BLOCK = 1024
"""Life tables (samples x steps) solved together: bounds the temporary arrays of a call to
a few MB each, whatever the number of samples."""


RUNNING_SUM_ROWS = 256
"""Sums of at least this many rows add term by term across all rows at once (one numpy
addition per term); fewer rows use ``cumsum`` (less overhead). Both add in the same
order, so they give the same bits; only their speed differs."""


def sum_in_order(a: np.ndarray, axes: int = 1) -> np.ndarray:
    """Sum over the last ``axes`` axes of ``a``, term by term in their order (C order).

    numpy's ``sum`` groups the terms by the layout of the whole array, so a sample's sum
    could change in its last bits with the other samples of a call; a running sum does
    not, which keeps each sample's numbers independent of how samples are grouped."""
    flat = a.reshape(*a.shape[: a.ndim - axes], -1)
    if flat[..., 0].size < RUNNING_SUM_ROWS:
        total: np.ndarray = np.cumsum(flat, axis=-1)[..., -1]
        return total
    total = flat[..., 0].copy()
    for i in range(1, flat.shape[-1]):
        total += flat[..., i]
    return total


# --------------------------------------------------------------------- life tables
@dataclass(frozen=True)
class LifeTable:
    """Single-year life tables of one sex (radix 1); leading axes: one table per entry."""

    lx: np.ndarray
    """Survivors to exact age x, x = 0..EXTENDED_AGE (last axis)."""
    Lx: np.ndarray
    """Person-years lived in [x, x+1), x = 0..EXTENDED_AGE (last: open interval)."""

    @property
    def e0(self) -> np.ndarray:
        """Life expectancy at birth, years (a number for a single table)."""
        return sum_in_order(self.Lx)

    @property
    def Tx(self) -> np.ndarray:  # noqa: N802 (the life-table symbol T(x))
        tx: np.ndarray = np.cumsum(self.Lx[..., ::-1], axis=-1)[..., ::-1]
        return tx

    def ex(self) -> np.ndarray:
        ex: np.ndarray = self.Tx / self.lx
        return ex

    def projection_survival(self) -> tuple[np.ndarray, np.ndarray]:
        """(births surviving to the end of their year, survival of ages 0..100+ over a year).

        Element ``x`` of the last axis of the second is the share of those aged ``x``
        (``x = 100``: 100+) at the start of a year alive at its end (then aged ``x + 1``,
        or 100+)."""
        L = self.Lx
        s = np.empty((*L.shape[:-1], names.N_AGES))
        s[..., : names.MAX_AGE - 1] = L[..., 1 : names.MAX_AGE] / L[..., : names.MAX_AGE - 1]
        # T(100) and T(99) summed from the oldest age down, as :attr:`Tx` sums them
        t_open = np.cumsum(L[..., : names.MAX_AGE - 1 : -1], axis=-1)[..., -1]
        open_ratio = t_open / (t_open + L[..., names.MAX_AGE - 1])
        s[..., names.MAX_AGE - 1] = open_ratio
        s[..., names.MAX_AGE] = open_ratio
        return L[..., 0], s

    def hazard(self) -> np.ndarray:
        """Central death rates m(x) = deaths / person-years, ages 0..EXTENDED_AGE."""
        closed = np.zeros((*self.lx.shape[:-1], 1))
        d = -np.diff(np.concatenate([self.lx, closed], axis=-1), axis=-1)
        mx: np.ndarray = d / self.Lx
        return mx


def standard_lx(mx: np.ndarray) -> np.ndarray:
    """Survivors l(x), x = 0..EXTENDED_AGE, of a standard with single-year rates
    ``mx`` (ages 0..100, constant hazard within each year; 100+ continued)."""
    rates = np.concatenate([mx, np.full(EXTENDED_AGE - names.MAX_AGE, mx[-1])])
    return np.concatenate([[1.0], np.exp(-np.cumsum(rates))])[: EXTENDED_AGE + 1]


A0_ROUNDS = 50
"""Rounds of the fixed-point iteration of :func:`_a0` at most (it settles in about ten)."""


def _a0(q0: np.ndarray) -> np.ndarray:
    """Mean years lived in the first year by infants who die, from the infant
    mortality rate: a0 = 0.053 + 2.8 m0 (DATA_NOTES §5.3 convention), solved with
    m0 = q0 / (1 - (1 - a0) q0); elementwise."""
    a0 = np.full(np.shape(q0), 0.1)
    for _ in range(A0_ROUNDS):
        m0 = q0 / (1.0 - (1.0 - a0) * q0)
        new = np.minimum(0.5, 0.053 + 2.8 * m0)
        # a fixed point: further rounds would not change it (nor the settled entries)
        if np.array_equal(new, a0):
            break
        a0 = new
    return a0


def first_year_person_years(l0: np.ndarray, l1: np.ndarray) -> np.ndarray:
    """L(0): person-years lived in the first year of life by ``l0`` births of whom ``l1``
    reach age 1 (the a0 convention of :func:`_a0`)."""
    person_years: np.ndarray = l1 + _a0(1.0 - l1 / l0) * (l0 - l1)
    return person_years


def life_table_from_lx(lx: np.ndarray) -> LifeTable:
    """Person-years from survivors (last axis: age), constant hazard within each year of
    age (age 0: the a0 convention); the last age is closed with its own hazard.

    Written in place on two arrays of the shape of ``lx`` (the tables of many samples
    are solved at once: temporaries, not arithmetic, would be most of the cost)."""
    l_next = np.zeros(lx.shape)
    l_next[..., :-1] = lx[..., 1:]
    # the hazard m = -log(l(x+1) / l(x)); an emptied age (l = 0) takes the largest
    m = np.zeros(lx.shape)
    np.divide(l_next, lx, out=m, where=lx > 0)
    np.clip(m, 1e-300, 1.0, out=m)
    np.log(m, out=m)
    np.negative(m, out=m)
    # L = (l(x) - l(x+1)) / m, or l(x) where the hazard is nil
    Lx = np.subtract(lx, l_next, out=l_next)
    nil = m <= 1e-12
    np.divide(Lx, m, out=Lx, where=~nil)
    np.copyto(Lx, lx, where=nil)
    Lx[..., 0] = first_year_person_years(lx[..., 0], lx[..., 1])
    # open interval at EXTENDED_AGE: l / m with the last finite hazard
    m_last = np.where(m[..., -2] > 0, m[..., -2], 1.0)
    Lx[..., -1] = lx[..., -1] / m_last
    return LifeTable(lx=lx, Lx=Lx)


def brass_life_table(std_lx: np.ndarray, alpha: Any, q0: Any = None) -> LifeTable:
    """Brass logit tables Y(x) = alpha + Ys(x) (slope 1) on standard survivors ``std_lx``
    (last axis: age); ``alpha`` and ``q0`` broadcast against its other axes. With ``q0``
    the infant mortality is set and ages 1+ follow Brass (where ``q0`` is NaN, age 0
    follows Brass too).

    With Y = 0.5 log((1 - l) / l), l(x) = 1 / (1 + exp(2 alpha) (1 - ls(x)) / ls(x)): one
    exponential per table rather than one per age."""
    odds = (1.0 - std_lx[..., 1:]) / std_lx[..., 1:]  # exp(2 Ys)
    scale = np.exp(2.0 * np.asarray(alpha, dtype=float))[..., None]
    lx = np.empty((*np.broadcast_shapes(scale.shape[:-1], std_lx.shape[:-1]), std_lx.shape[-1]))
    lx[..., 0] = 1.0
    lb = lx[..., 1:]
    np.multiply(scale, odds, out=lb)
    lb += 1.0
    np.reciprocal(lb, out=lb)
    if q0 is not None:
        q = np.asarray(q0, dtype=float)[..., None]
        lb *= np.where(np.isnan(q), 1.0, (1.0 - q) / lb[..., :1])
    return life_table_from_lx(lx)


# ------------------------------------------------------------ solving for alpha
SLOPE_STEP = 1e-4
"""Step in alpha of the central differences that give the table's slopes (their error,
about 1e-9 relative, only slows a Newton step down, never moves the root)."""


@dataclass(frozen=True)
class _AlphaTable:
    """Life expectancy against the Brass level on a grid of ``alpha``, by sex: each
    solve's start and slope (the root itself is solved on the exact tables)."""

    alpha: np.ndarray
    """[grid], the Brass levels."""
    values: np.ndarray
    """[case, grid, sex], years; case 0: e0 of the Brass table (1q0 from Brass too);
    case 1: years lived from age 1 per survivor to age 1, so that with 1q0 set
    e0 = L(0) + (1 - 1q0) x this."""
    slopes: np.ndarray
    """[case, grid, sex], d values / d alpha, years."""


_alpha_tables: dict[bytes, _AlphaTable] = {}
"""Tables by the standard's bytes (a process meets one or two standards)."""


def _alpha_table(std_lx: np.ndarray) -> _AlphaTable:
    """The (cached) :class:`_AlphaTable` of the standard survivors ``std_lx`` [sex, age]."""
    key = std_lx.tobytes()
    if key not in _alpha_tables:
        alpha = np.linspace(*ALPHA_BRACKET, ALPHA_GRID_POINTS)
        at = np.stack([alpha, alpha - SLOPE_STEP, alpha + SLOPE_STEP])
        lt = brass_life_table(std_lx, at[..., None])  # [point, grid, sex, age]
        per_survivor = sum_in_order(lt.Lx[..., 1:]) / lt.lx[..., 1]
        values = np.stack([lt.e0, per_survivor])  # [case, point, grid, sex]
        slopes = (values[:, 2] - values[:, 1]) / (2.0 * SLOPE_STEP)
        _alpha_tables.clear()
        _alpha_tables[key] = _AlphaTable(alpha, values[:, 0], slopes)
    return _alpha_tables[key]


@dataclass(frozen=True)
class _Curves:
    """Each solve's both-sex e0 against alpha from the table:
    ``c0 + c1 * (w * table[male] + (1 - w) * table[female])``."""

    table: _AlphaTable
    case: np.ndarray  # [row], 0: 1q0 from Brass, 1: 1q0 set
    c0: np.ndarray  # [row], years
    c1: np.ndarray  # [row]
    w_male: np.ndarray  # [row], share of births that are boys

    @classmethod
    def of(cls, table: _AlphaTable, w_male: np.ndarray, q0: np.ndarray) -> _Curves:
        given = ~np.isnan(q0)
        q = np.where(given, q0, 0.0)
        c0 = np.where(given, first_year_person_years(np.ones_like(q), 1.0 - q), 0.0)
        return cls(table, given.astype(np.intp), c0, np.where(given, 1.0 - q, 1.0), w_male)

    def at(self, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(e0, d e0 / d alpha) of each row at its grid point ``j``."""
        v, s, w = self.table.values, self.table.slopes, self.w_male
        both = w * v[self.case, j, 0] + (1.0 - w) * v[self.case, j, 1]
        slope = w * s[self.case, j, 0] + (1.0 - w) * s[self.case, j, 1]
        return self.c0 + self.c1 * both, self.c1 * slope


def _bracketing_cell(curves: _Curves, target: np.ndarray) -> np.ndarray:
    """Index j of the grid cell [alpha_j, alpha_j+1] whose e0 brackets each row's target
    (e0 falls as alpha rises); a target beyond the grid is refused."""
    lo = np.zeros(target.shape, dtype=np.intp)
    hi = np.full(target.shape, ALPHA_GRID_POINTS - 1)
    outside = (curves.at(lo)[0] < target) | (curves.at(hi)[0] > target)
    if outside.any():
        e0 = float(target[outside][0])
        raise ValueError(f"life expectancy {e0:.2f} cannot be reached from this standard")
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        above = curves.at(mid)[0] > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return lo


def _hermite(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cubic Hermite basis h00, h10, h01, h11 at ``t`` in [0, 1] and the derivatives of
    h00 and h10, h11 (h01' = -h00')."""
    t2, t3 = t * t, t * t * t
    basis = (2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, -2 * t3 + 3 * t2, t3 - t2)
    return (*basis, 6 * t2 - 6 * t, 3 * t2 - 4 * t + 1, 3 * t2 - 2 * t)


@dataclass(frozen=True)
class _Cell:
    """Each row's grid cell: its ends (alpha) and the table's e0 and slopes there."""

    a0: np.ndarray
    a1: np.ndarray
    e0: tuple[np.ndarray, np.ndarray]
    slope: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, curves: _Curves, target: np.ndarray) -> _Cell:
        j = _bracketing_cell(curves, target)
        (f0, d0), (f1, d1) = curves.at(j), curves.at(j + 1)
        return cls(curves.table.alpha[j], curves.table.alpha[j + 1], (f0, f1), (d0, d1))

    def start(self, target: np.ndarray) -> np.ndarray:
        """alpha where the cell's cubic (inverse Hermite) reaches ``target``."""
        span = self.e0[1] - self.e0[0]
        t = np.clip((target - self.e0[0]) / span, 0.0, 1.0)
        h00, h10, h01, h11, *_ = _hermite(t)
        alpha: np.ndarray = (
            h00 * self.a0 + h01 * self.a1 + span * (h10 / self.slope[0] + h11 / self.slope[1])
        )
        return alpha

    def slope_at(self, alpha: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """d e0 / d alpha of the cell's cubic at ``alpha`` (of the rows ``rows``)."""
        a0, width = self.a0[rows], self.a1[rows] - self.a0[rows]
        *_, d00, d10, d11 = _hermite(np.clip((alpha - a0) / width, 0.0, 1.0))
        (f0, f1), (s0, s1) = (v[rows] for v in self.e0), (v[rows] for v in self.slope)
        slope_at: np.ndarray = d00 * (f0 - f1) / width + d10 * s0 + d11 * s1
        return slope_at


NEWTON_ROUNDS_MAX = NEWTON_ROUNDS + 50
"""Rounds of a solve at most: past :data:`NEWTON_ROUNDS`, each halves the bracket, from
a grid cell (0.02) to below :data:`ALPHA_TOLERANCE` in 41."""


def _solve_rows(
    std_lx: np.ndarray, e0_target: np.ndarray, w_male: np.ndarray, q0: np.ndarray
) -> tuple[LifeTable, np.ndarray]:
    """Life tables [row, sex, age] with a common alpha per row whose both-sex e0 (sexes
    weighted ``w_male``, ``1 - w_male``) equals ``e0_target`` [row]: Newton's method on the
    exact tables from the grid's start, inside the grid cell's bracket."""
    curves = _Curves.of(_alpha_table(std_lx), w_male, q0)
    cell = _Cell.of(curves, e0_target)
    x, lo, hi = cell.start(e0_target), cell.a0.copy(), cell.a1.copy()
    rows = np.arange(e0_target.size)
    lt = brass_life_table(std_lx, x[:, None], q0[:, None])
    lx, Lx = lt.lx, lt.Lx  # every row's tables; the rows not yet solved are redone below
    for k in range(NEWTON_ROUNDS_MAX):
        if k > 0:
            lt = brass_life_table(std_lx, x[rows, None], q0[rows, None])
            lx[rows], Lx[rows] = lt.lx, lt.Lx
        e0 = lt.e0
        gap = w_male[rows] * e0[:, 0] + (1.0 - w_male[rows]) * e0[:, 1] - e0_target[rows]
        # e0 falls as alpha rises: a positive gap puts the root above x
        lo[rows] = np.where(gap > 0, x[rows], lo[rows])
        hi[rows] = np.where(gap < 0, x[rows], hi[rows])
        newton = x[rows] - gap / cell.slope_at(x[rows], rows)
        inside = (newton > lo[rows]) & (newton < hi[rows]) & (k < NEWTON_ROUNDS)
        step = np.where(inside, newton, 0.5 * (lo[rows] + hi[rows])) - x[rows]
        done = (np.abs(step) <= ALPHA_TOLERANCE) | (hi[rows] - lo[rows] <= ALPHA_TOLERANCE)
        done |= gap == 0.0
        x[rows] += np.where(done, 0.0, step)
        rows = rows[~done]
        if rows.size == 0:
            break
    return LifeTable(lx, Lx), x


def solve_life_tables(
    std_lx: np.ndarray, e0_target: Any, srb: Any, q0: Any
) -> tuple[LifeTable, LifeTable, np.ndarray]:
    """Male and female Brass tables with one common alpha such that the both-sex
    e0 (sexes weighted by births: SRB/(1+SRB) male) equals ``e0_target``.

    ``std_lx`` is [sex, age]; ``e0_target`` (years), ``srb`` (boys per girl) and ``q0``
    (1q0; None or NaN: from Brass) broadcast to the shape of the solves. Returns (male,
    female, alpha), each table with that shape before its age axis."""
    target, srb_, q = np.broadcast_arrays(
        np.asarray(e0_target, dtype=float),
        np.asarray(srb, dtype=float),
        np.asarray(np.nan if q0 is None else q0, dtype=float),
    )
    shape = target.shape
    lt, alpha = _solve_rows(std_lx, target.ravel(), (srb_ / (1.0 + srb_)).ravel(), q.ravel())
    tables = [
        LifeTable(lt.lx[:, s].reshape(*shape, -1), lt.Lx[:, s].reshape(*shape, -1))
        for s in range(2)
    ]
    return tables[0], tables[1], alpha.reshape(shape)


# --------------------------------------------------------------------- projection
@dataclass(frozen=True)
class ProjectionInputs:
    """Everything the cohort-component core needs, per projection step.

    Step 0 runs from the census date to the end of its year (length
    ``period_length[0]``); step k >= 1 is calendar year ``years[k]``. The per-step
    inputs and the base population may have leading sample axes (the same for all);
    the steps, the fertility pattern and the mortality standard are shared.
    """

    base_population: np.ndarray  # [..., sex, age], persons at the census date
    years: np.ndarray  # [step], calendar year of each step
    period_length: np.ndarray  # [step], years
    tfr: np.ndarray  # [..., step], births per woman
    fertility_share: np.ndarray  # [age], sums to 1
    srb: np.ndarray  # [..., step], male births per female birth
    e0: np.ndarray  # [..., step], years, both sexes
    infant_mortality: np.ndarray  # [..., step], 1q0 (NaN: from the Brass table)
    mortality_std_lx: np.ndarray  # [sex, EXTENDED_AGE + 1]
    migration: np.ndarray  # [..., step, sex, age], net migrants during the step


@dataclass(frozen=True)
class ProjectionArrays:
    """The projection's arrays, with the leading sample axes of its inputs."""

    population: np.ndarray  # [..., step, sex, age], end of step
    births: np.ndarray  # [..., step, sex]
    deaths: np.ndarray  # [..., step, sex, age], by age at the start of the step
    birth_deaths: np.ndarray  # [..., step, sex], deaths among those born in the step
    migration: np.ndarray  # [..., step, sex, age], by age at the end of the step
    e0: np.ndarray  # [..., step, sex]
    alpha: np.ndarray  # [..., step]


@dataclass(frozen=True)
class StepSurvival:
    """What the projection reads of each step's life tables, [sample, step, ...]."""

    survival: np.ndarray  # [sample, step, sex, age], over the step (f years)
    birth_survival: np.ndarray  # [sample, step, sex], share of the step's births alive at its end
    e0: np.ndarray  # [sample, step, sex], years
    alpha: np.ndarray  # [sample, step]


def _birth_survival(lt: LifeTable, f: np.ndarray) -> np.ndarray:
    """Share of a step's births (steps of ``f`` years, broadcast) alive at its end."""
    L0, _ = lt.projection_survival()
    # births spread evenly over the step; survival to its end by L(0)-type
    # person-years: L(0) for a full year, the constant-hazard share otherwise
    share: np.ndarray = np.where(f == 1.0, L0, lt.lx[..., 1] ** (0.5 * f))
    return share


def step_survival(inp: ProjectionInputs) -> StepSurvival:
    """Life tables of every step of every sample (``inp`` with one leading sample axis;
    its migration is not read), solved :data:`LIFE_TABLE_BLOCK` at a time."""
    n, steps = inp.e0.shape
    e0, srb, q0 = (
        np.asarray(a, dtype=float).ravel() for a in (inp.e0, inp.srb, inp.infant_mortality)
    )
    f = np.broadcast_to(inp.period_length, (n, steps)).ravel()
    rows = n * steps
    survival = np.empty((rows, 2, names.N_AGES))
    births, e0_out, alpha = np.empty((rows, 2)), np.empty((rows, 2)), np.empty(rows)
    for lo in range(0, rows, LIFE_TABLE_BLOCK):
        b = slice(lo, lo + LIFE_TABLE_BLOCK)
        lt, alpha[b] = _solve_rows(inp.mortality_std_lx, e0[b], srb[b] / (1.0 + srb[b]), q0[b])
        _, year_survival = lt.projection_survival()
        # a part-year step of f years: survival over f years at constant hazard
        part = f[b] != 1.0
        year_survival[part] **= f[b][part, None, None]
        survival[b] = year_survival
        births[b] = _birth_survival(lt, f[b, None])
        e0_out[b] = lt.e0
    return StepSurvival(
        survival.reshape(n, steps, 2, names.N_AGES),
        births.reshape(n, steps, 2),
        e0_out.reshape(n, steps, 2),
        alpha.reshape(n, steps),
    )


def _age_survivors(
    pop: np.ndarray, surv: np.ndarray, f: float, new: np.ndarray, deaths: np.ndarray
) -> None:
    """Survivors over a step of ``f`` years, aged on, and the deaths (last axes: sex, age).

    Args:
        pop: persons by age at the start of the step.
        surv: the step's survival by age (over ``f`` years, :class:`StepSurvival`).
        f: step length, years (1 for a calendar year).
        new: written: the survivors by age at the end of the step, persons.
        deaths: written: the deaths by age at the start of the step, persons.
    """
    survivors = pop * surv
    if f == 1.0:
        new[..., 0] = 0.0
        new[..., 1:] = survivors[..., :-1]
        new[..., names.MAX_AGE] += survivors[..., names.MAX_AGE]
    else:
        # part-year step: a share f of each cohort passes a birthday
        np.multiply(1.0 - f, survivors, out=new)
        new[..., 1:] += f * survivors[..., :-1]
        new[..., names.MAX_AGE] += f * survivors[..., names.MAX_AGE]
    np.subtract(pop, survivors, out=deaths)


def _step_births(
    tfr: np.ndarray, share: np.ndarray, f: float, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Live births (persons) of a step of ``f`` years with fertility ``tfr`` [sample] and
    pattern ``share`` [age], from the populations [sample, sex, age] at its start and end
    (before births)."""
    a_lo, a_hi = names.FERTILE_AGES
    female = names.SEXES.index("female")
    # exposure = mean of women at the start and at the end of the step
    women = 0.5 * (start[:, female, a_lo : a_hi + 1] + end[:, female, a_lo : a_hi + 1])
    births: np.ndarray = f * tfr * sum_in_order(share[a_lo : a_hi + 1] * women)
    return births


def _project_steps(
    inp: ProjectionInputs, st: StepSurvival, migration: np.ndarray, steps: int
) -> ProjectionArrays:
    """The first ``steps`` steps of the projection of ``inp`` (one leading sample axis)
    with life tables ``st`` and net migrants ``migration`` [sample, step, sex, age]."""
    n, A = st.alpha.shape[0], names.N_AGES
    pop_out, deaths_out = np.empty((n, steps, 2, A)), np.empty((n, steps, 2, A))
    births_out, bdeaths_out = np.empty((n, steps, 2)), np.empty((n, steps, 2))
    male_share = inp.srb / (1.0 + inp.srb)
    sex_share = np.stack([male_share, 1.0 - male_share], axis=-1)
    pop = np.broadcast_to(inp.base_population, (n, 2, A)).astype(float)
    for k in range(steps):
        f = float(inp.period_length[k])
        new = pop_out[:, k]
        _age_survivors(pop, st.survival[:, k], f, new, deaths_out[:, k])
        new += migration[:, k]
        births = _step_births(inp.tfr[:, k], inp.fertility_share, f, pop, new)
        b = births[:, None] * sex_share[:, k]
        b_surv = b * st.birth_survival[:, k]
        births_out[:, k] = b
        bdeaths_out[:, k] = b - b_surv
        new[..., 0] += b_surv
        pop = new
    migration = np.asarray(migration[:, :steps], dtype=float)
    return ProjectionArrays(
        pop_out,
        births_out,
        deaths_out,
        bdeaths_out,
        migration,
        st.e0[:, :steps],
        st.alpha[:, :steps],
    )


def _as_samples(inp: ProjectionInputs) -> tuple[ProjectionInputs, tuple[int, ...]]:
    """``inp`` with exactly one leading sample axis, and the sample axes it had."""
    batch, steps = inp.tfr.shape[:-1], len(inp.years)
    per_step = {
        key: np.broadcast_to(np.asarray(getattr(inp, key), dtype=float), (*batch, steps)).reshape(
            -1, steps
        )
        for key in ("tfr", "srb", "e0", "infant_mortality")
    }
    shape = (2, names.N_AGES)
    flat = dataclasses.replace(
        inp,
        base_population=np.broadcast_to(inp.base_population, (*batch, *shape)).reshape(-1, *shape),
        migration=np.broadcast_to(inp.migration, (*batch, steps, *shape)).reshape(
            -1, steps, *shape
        ),
        **per_step,
    )
    return flat, batch


def cohort_component(inp: ProjectionInputs) -> ProjectionArrays:
    """Run the projection (see the module docstring for the method); the arrays have
    the leading sample axes of ``inp``."""
    flat, batch = _as_samples(inp)
    out = _project_steps(flat, step_survival(flat), flat.migration, len(inp.years))
    return ProjectionArrays(
        *(
            getattr(out, f.name).reshape(*batch, *getattr(out, f.name).shape[1:])
            for f in dataclasses.fields(out)
        )
    )


# --------------------------------------------------------------- scenario -> inputs
def _steps(end_year: int) -> tuple[np.ndarray, np.ndarray]:
    census_year = int(names.CENSUS_DATE[:4])
    years = np.arange(census_year, end_year + 1)
    lengths = np.ones(len(years))
    lengths[0] = names.CENSUS_YEAR_FRACTION_LEFT
    return years, lengths


SHARED_KEYS = ("run.end_year", "calibration.enabled", "calibration.year", "data")
"""Inputs the scenarios of one :func:`project_many` call must share (the calibration year
only when calibration is on)."""


def _shared_value(sc: Scenario, key: str) -> Any:
    section, field = key.split(".") if "." in key else (key, "")
    value = getattr(sc, section)
    if key == "calibration.year" and not sc.calibration.enabled:
        return None  # not used: the migration is the default level from the census on
    return getattr(value, field) if field else value


def _check_shared(scenarios: Sequence[Scenario]) -> None:
    """Refuse, in one line, scenarios that differ in an input of :data:`SHARED_KEYS`."""
    if not scenarios:
        raise ValueError("project_many needs at least one scenario")
    first = scenarios[0]
    for key in SHARED_KEYS:
        expected = _shared_value(first, key)
        for i, sc in enumerate(scenarios[1:], start=1):
            value = _shared_value(sc, key)
            if value != expected:
                raise ScenarioError(
                    None,
                    key,
                    value,
                    f"scenario {i} ({sc.name}) differs from scenario 0 ({first.name}: "
                    f"{expected!r}); the scenarios of one projection call share it: project "
                    "them in separate calls",
                )


@dataclass(frozen=True)
class _Paths:
    """The scenarios' inputs by sample [sample] and step [sample, step]."""

    years: np.ndarray  # [step]
    lengths: np.ndarray  # [step], years
    cal_year: int  # the last year of calibrated migration (the census year if none)
    tfr: np.ndarray  # births per woman
    srb: np.ndarray  # boys per girl
    e0: np.ndarray  # years
    infant_mortality: np.ndarray  # 1q0
    net_after: np.ndarray  # persons per year after cal_year (NaN: the calibrated level)
    elderly: np.ndarray  # persons per year, the ageing levers
    young: np.ndarray
    population: np.ndarray  # [sample], persons, the calibration target
    default_net: np.ndarray  # [sample], persons per year with calibration off

    @classmethod
    def of(cls, scenarios: Sequence[Scenario]) -> _Paths:
        first = scenarios[0]
        years, lengths = _steps(first.run.end_year)
        cal_year = first.calibration.year if first.calibration.enabled else int(years[0])
        rows = [_scenario_paths(sc, years, cal_year) for sc in scenarios]
        columns = [np.array(c) for c in zip(*rows, strict=True)]
        return cls(years, lengths, cal_year, *columns)


def _scenario_paths(sc: Scenario, years: np.ndarray, cal_year: int) -> tuple[Any, ...]:
    """One scenario's entries of :class:`_Paths` (after ``cal_year``)."""
    d, m = sc.demography, sc.migration
    e0 = path_at(d.e0, years) + number(d.e0_extra_gain) * np.maximum(0, years - cal_year)
    net_after = np.full(len(years), np.nan) if m.net_total is None else path_at(m.net_total, years)
    return (
        path_at(d.tfr, years),
        np.full(len(years), number(d.srb)),
        e0,
        path_at(d.infant_mortality, years),
        net_after,
        path_at(m.elderly_parents, years),
        path_at(m.young_workers, years),
        number(sc.calibration.population),
        number(sc.calibration.default_net_migration),
    )


def _migration(
    paths: _Paths, tables: DemographicTables, net_before: np.ndarray, steps: int
) -> np.ndarray:
    """Net migrants [sample, step, sex, age] of the first ``steps`` steps, with
    ``net_before`` [sample] net migrants per year up to the calibration year."""
    after = paths.years[:steps] > paths.cal_year
    lengths, before = paths.lengths[:steps], net_before[:, None]
    net_after = paths.net_after[:, :steps]
    net_after = np.where(np.isnan(net_after), before, net_after)
    total = np.where(after, net_after, before) * lengths
    elderly = np.where(after, paths.elderly[:, :steps], 0.0) * lengths
    young = np.where(after, paths.young[:, :steps], 0.0) * lengths
    net: np.ndarray = total[..., None, None] * tables.migration_all
    net += elderly[..., None, None] * tables.migration_elderly
    net += young[..., None, None] * tables.migration_labour
    return net


def _inputs(paths: _Paths, tables: DemographicTables, migration: np.ndarray) -> ProjectionInputs:
    """Projection inputs [sample, ...] with net migrants ``migration`` (of the first steps
    only, for a run of those only)."""
    return ProjectionInputs(
        base_population=tables.base_population,
        years=paths.years,
        period_length=paths.lengths,
        tfr=paths.tfr,
        fertility_share=tables.fertility_share,
        srb=paths.srb,
        e0=paths.e0,
        infant_mortality=paths.infant_mortality,
        mortality_std_lx=np.stack([standard_lx(tables.mortality_standard[s]) for s in range(2)]),
        migration=migration,
    )


CALIBRATION_PROBE = 10_000.0
"""Net migrants per year of the second calibration run (any number but 0 would do)."""


def calibrate_net_migration(
    paths: _Paths, tables: DemographicTables, st: StepSurvival
) -> np.ndarray:
    """Constant annual net migration [sample], census to the end of the calibration year,
    that makes the projected total equal the calibration population there (``st``: the
    life tables of the steps).

    The projection is affine in that constant (births are linear in the population),
    so two runs give the exact value."""
    steps = paths.cal_year - int(names.CENSUS_DATE[:4]) + 1
    n = len(paths.population)
    totals = []
    for net in (0.0, CALIBRATION_PROBE):
        migration = _migration(paths, tables, np.full(n, net), steps)
        end = _project_steps(_inputs(paths, tables, migration), st, migration, steps)
        totals.append(sum_in_order(end.population[:, -1], 2))
    p0, p1 = totals
    net_before: np.ndarray = CALIBRATION_PROBE * (paths.population - p0) / (p1 - p0)
    return net_before


def project_many(scenarios: Sequence[Scenario], tables: DemographicTables) -> xr.Dataset:
    """Project many *resolved* scenarios (see :func:`sim.scenario.draw`) to their
    ``run.end_year`` in one call, along a leading :data:`sim.base.names.SAMPLE` dimension.

    The scenarios may differ in any number; they must share :data:`SHARED_KEYS`
    (:class:`ScenarioError` otherwise). Each sample equals :func:`project` of its
    scenario; the Dataset's attributes are those of the first scenario's projection."""
    _check_shared(scenarios)
    paths = _Paths.of(scenarios)
    first = scenarios[0]
    steps = len(paths.years)
    st = step_survival(_inputs(paths, tables, np.empty((len(scenarios), 0))))
    if first.calibration.enabled:
        net_before = calibrate_net_migration(paths, tables, st)
    else:
        net_before = paths.default_net
    inp = _inputs(paths, tables, _migration(paths, tables, net_before, steps))
    out = _project_steps(inp, st, inp.migration, steps)
    return to_dataset(inp, out, net_before, first)


def project(sc: Scenario, tables: DemographicTables) -> xr.Dataset:
    """Project a *resolved* scenario (see :func:`sim.scenario.draw`) to ``run.end_year``:
    :func:`project_many` of one scenario."""
    return project_many([sc], tables).isel({names.SAMPLE: 0})


def project_replicates(
    sc: Scenario, tables: DemographicTables, replicates: Sequence[int], seed: int | None = None
) -> xr.Dataset:
    """Projections of several replicates stacked along ``replicate`` (0 = central)."""
    from sim.scenario import draw

    ds = project_many([draw(sc, r, seed) for r in replicates], tables)
    return ds.rename({names.SAMPLE: names.REPLICATE}).assign_coords(
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
    total = sum_in_order(pop, 2)
    return {
        "population_total": total,
        "share_65plus": sum_in_order(pop[..., 65:], 2) / total,
        "life_expectancy": out.e0,
        # both sexes: weighted by the sex ratio at birth (males per female)
        "life_expectancy_both": (inp.srb * out.e0[..., 0] + out.e0[..., 1]) / (1.0 + inp.srb),
    }


def _input_values(inp: ProjectionInputs, net_before: Any, batch: tuple[int, ...]) -> dict[str, Any]:
    """The inputs worth keeping with the projection (fertility, step lengths in years,
    calibrated migration in persons per year, the census population in persons), with
    the sample axes ``batch``."""
    return {
        "tfr": inp.tfr,
        "period_length": np.array(
            np.broadcast_to(inp.period_length, (*batch, *inp.period_length.shape))
        ),
        "calibrated_net_migration": np.array(np.broadcast_to(net_before, batch)),
        "population_census": np.array(
            np.broadcast_to(inp.base_population, (*batch, *inp.base_population.shape[-2:]))
        ),
    }


def to_dataset(
    inp: ProjectionInputs, out: ProjectionArrays, net_before: Any, sc: Scenario | None = None
) -> xr.Dataset:
    """Label the projection arrays: units and long names from
    :data:`sim.base.catalogue.PROJECTION`, after a leading :data:`sim.base.names.SAMPLE`
    dimension if the arrays have a sample axis."""
    batch = out.population.shape[:-3]
    if len(batch) > 1:
        raise ValueError(f"one sample axis at most, not {len(batch)}")
    lead = (names.SAMPLE,) * len(batch)
    entries = [dataclasses.replace(v, dims=(*lead, *v.dims)) for v in catalogue.PROJECTION]
    Y, S, A = names.YEAR, names.SEX, names.AGE
    coords = {Y: inp.years.astype(int), S: list(names.SEXES), A: list(names.AGES)}
    values = {
        **_flow_values(out),
        **_summary_values(inp, out),
        **_input_values(inp, net_before, batch),
    }
    ds = catalogue.dataset(entries, values, coords, {"census_date": names.CENSUS_DATE})
    ds.attrs = {
        "title": "Cohort-component population projection",
        "base_date": names.CENSUS_DATE,
        "age_note": f"age {names.MAX_AGE} is the open group {names.MAX_AGE}+",
    }
    if sc is not None:
        ds.attrs["scenario"] = sc.name
    return ds
