"""Expected demand: use rates × population × growth × cross-boundary flows × reforms.

Everything here is exact arithmetic on expected values (no randomness): the
discrete-event model samples around these numbers, and the expected level
(:mod:`sim.model.expected`) turns them into occupancy and capacity needs.

**Rates.** The rate of service ``s`` at sex ``x`` and age ``a`` is
``level[s] × shape[s][x, a]`` per person per year, with the shape from
``use_rate_shapes.csv`` (``sim.data.service_tables``) and the level from the
base-year calibration. The admissions of all population-driven service lines
share one level, so the lines keep the age mix of the table; obstetric and
neonatal admissions are births × admissions per birth.

**Calibration** (:func:`calibrate`), deterministic, run on each replicate's own
base-year population so that levels stay consistent with its drawn inputs:

1. Hospital beds B = ``capacity.beds_per_1000`` × population on 31 December of the
   base year / 1000.
2. Bed-days served in the district = B × occupancy × days in the year; admissions
   served = bed-days / ALOS (both stated inputs, ``demand.calibration``).
3. Residents' admissions = served × (1 − inflow) / (1 − outflow); minus the
   births-driven admissions, divided by Σ population × shape, gives the level of
   the population-driven lines.
4. One factor scales every mean stay of ``los.csv`` so that served bed-days /
   served admissions = ALOS.
5. Beds of each pool = its served bed-days / (occupancy × days): every pool runs at
   the stated occupancy in the base year (assumption CAP-POOL-SPLIT).
6. Visits: all visits = community-centre visits / their share; hospital visits =
   all − community-centre; ED = ``ed_share_of_hospital_visits`` × hospital visits,
   outpatient the rest; residents' = served × (1 − inflow) / (1 − outflow); each
   level = residents' visits / Σ mid-year population × shape.
7. Ambulance dispatches = the stated rate per 1,000 × mid-year population.

Calendar-year demand uses the mid-year population: the mean of the populations on
31 December of the year before and of the year.

**Change over time** (:func:`year_inputs`): non-demographic growth per head
(compounded from the base year), flows, and the reforms, each a named step of the
attribution chain (:data:`STEPS`, :func:`attribution`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Final, get_args

import numpy as np
from numpy.typing import NDArray

from sim.base.errors import ScenarioError
from sim.base.los import LosDistribution, LosFamily
from sim.base.names import FERTILE_AGES, N_AGES, SEXES, days_in_year
from sim.data.service_tables import ACUITIES, POOLS, ROUTES, ServiceTables
from sim.scenario import YearPath, number, path_at
from sim.scenario.demand import DemandCalibration, DemandSection

__all__ = [
    "OLDER_AGE",
    "ROUTE",
    "SERVICES",
    "STEPS",
    "Calibration",
    "DemandModel",
    "Measures",
    "YearDemand",
    "YearInputs",
    "attribution",
    "base_inputs",
    "calibrate",
    "days_in_year",
    "growth_factor",
    "year_inputs",
]

FloatArray = NDArray[np.float64]

ROUTE: Final = "route"
"""Dimension of admission routes (``sim.data.service_tables.ROUTES``)."""
SERVICES: Final[tuple[str, str, str]] = ("chc", "outpatient", "ed")
"""Visit services: community health centres (社康), hospital outpatients, emergency departments."""
OLDER_AGE: Final = 65
"""Age from which the older-patient LOS multiplier and the ED relative rate apply."""
FAMILY_DOCTOR_MIN_AGE: Final = 35
"""Youngest age whose emergency medical admissions family-doctor management avoids
(REF-FAMILY-DOCTOR)."""
EXERCISE_MIN_AGE: Final = 60
"""Youngest age reached by the exercise-for-health programmes (REF-EXERCISE)."""
TRANSFER_MIN_AGE: Final = 65
"""Youngest age of the integrated elderly-care transfers (REF-ELDERLY-TRANSFER)."""
PRE_ADMISSION_FLOOR: Final = 0.5
"""Pre-admission work-up never cuts a mean stay below this fraction of it (REF-PRE-ADMISSION)."""

STEPS: Final[tuple[str, ...]] = (
    "population_size",
    "age_structure",
    "births",
    "growth",
    "flows",
    "family_doctor",
    "exercise",
    "ed_diversion",
    "chc_shift",
    "day_surgery",
    "pre_admission",
    "elderly_care_integration",
)
"""Steps of the change from the base year, applied in this order (each step's part
depends on the order; the parts always add up to the total change)."""

_POOL = {p: i for i, p in enumerate(POOLS)}
_FAMILIES: tuple[LosFamily, ...] = get_args(LosFamily)
_EMERGENCY, _ELECTIVE = 0, 1
_DEFAULT_PERIOD = 365


def growth_factor(path: YearPath, base_year: int, year: int) -> float:
    """Compounded growth from ``base_year`` to ``year``: Π (1 + g(t)) over t in
    (base_year, year], or its inverse before the base year. ``path`` is a resolved
    year path of annual rates."""
    if year >= base_year:
        rates = path_at(path, np.arange(base_year + 1, year + 1))
        return float(np.prod(1.0 + np.asarray(rates, dtype=float)))
    rates = path_at(path, np.arange(year + 1, base_year + 1))
    return float(1.0 / np.prod(1.0 + np.asarray(rates, dtype=float)))


@dataclass(frozen=True)
class YearInputs:
    """Everything that changes with the year, resolved to numbers."""

    growth: dict[str, float]
    """Service (``chc``, ``outpatient``, ``ed``, ``ambulance``, ``admissions``) -> factor
    relative to the base year."""
    flows: dict[str, float]
    """``<admissions|outpatient|ed>_<outflow|inflow>`` -> fraction."""
    family_doctor: float = 0.0
    exercise: float = 0.0
    ed_diversion: float = 0.0
    chc_target_share: float | None = None
    day_surgery: float = 0.0
    pre_admission_days: float = 0.0
    elderly_care_transfer: float = 0.0


_GROWTH_KEYS = ("chc", "outpatient", "ed", "ambulance", "admissions")
_FLOW_KEYS = tuple(
    f"{s}_{d}" for s in ("admissions", "outpatient", "ed") for d in ("outflow", "inflow")
)


def year_inputs(section: DemandSection, year: int) -> YearInputs:
    """The year's growth factors, flows and reform levels of a *resolved* section."""
    base = section.calibration.year
    r = section.reforms

    def at(value: YearPath) -> float:
        return float(path_at(value, year))

    return YearInputs(
        growth={k: growth_factor(getattr(section.growth, k), base, year) for k in _GROWTH_KEYS},
        flows={k: at(getattr(section.flows, k)) for k in _FLOW_KEYS},
        family_doctor=at(r.family_doctor),
        exercise=at(r.exercise),
        ed_diversion=at(r.ed_diversion),
        chc_target_share=None
        if r.chc_target_share is None or year <= base
        else at(r.chc_target_share),
        day_surgery=at(r.day_surgery),
        pre_admission_days=at(r.pre_admission_days),
        elderly_care_transfer=at(r.elderly_care_transfer),
    )


def base_inputs(section: DemandSection) -> YearInputs:
    """Inputs of the base (calibration) year: growth 1, reforms 0 (checked by the section)."""
    return year_inputs(section, section.calibration.year)


def _served_factor(flows: dict[str, float], kind: str) -> float:
    """Served in the district per unit of residents' use: (1 − outflow) / (1 − inflow)."""
    return (1.0 - flows[f"{kind}_outflow"]) / (1.0 - flows[f"{kind}_inflow"])


@dataclass(frozen=True)
class Calibration:
    """Levels and base capacity solved from the base year (see the module docstring)."""

    year: int
    level: dict[str, float]
    """Service (``chc``, ``outpatient``, ``ed``, ``ambulance``, ``admissions``) -> level:
    uses per person per year at relative rate 1."""
    los_scale: float
    """Factor applied to every mean stay of ``los.csv``."""
    beds_total: float
    """Hospital beds at the end of the base year."""
    pool_bed_days: dict[str, float]
    """Served bed-days of each pool in the base year."""
    occupancy: float
    alos_days: float
    figures: dict[str, float] = field(default_factory=dict)
    """Derived base-year figures for the report (rates per 100 residents, visits …)."""

    @property
    def pool_beds(self) -> dict[str, float]:
        """Beds of each pool (not rounded): its bed-days at the base-year occupancy."""
        days = days_in_year(self.year)
        return {p: bd / (self.occupancy * days) for p, bd in self.pool_bed_days.items()}


@dataclass(frozen=True)
class AdmissionComponent:
    """Served admissions with one LOS distribution, and how their bed-days split over pools."""

    pool: str
    route: str
    los: LosDistribution
    admissions: float
    """Served admissions per year."""
    weights: tuple[tuple[str, float], ...]
    """(pool, share of the stay's bed-days in that pool); the integrated elderly-care
    transfers put part of a medical stay in ``elderly_care``."""


@dataclass(frozen=True)
class Measures:
    """The totals the attribution tracks."""

    visits: FloatArray  # [service] served
    ambulance: float
    admissions: FloatArray  # [pool] served, both routes
    bed_days: FloatArray  # [pool] served

    def minus(self, other: Measures) -> Measures:
        return Measures(
            self.visits - other.visits,
            self.ambulance - other.ambulance,
            self.admissions - other.admissions,
            self.bed_days - other.bed_days,
        )


@dataclass(frozen=True)
class YearDemand:
    """Expected demand of one calendar year."""

    visits_resident: FloatArray
    """[service] residents' visits wherever served."""
    visits: FloatArray
    """[service] visits served in the district."""
    ed_visits: FloatArray
    """[acuity] ED visits served in the district."""
    ed_ambulance: FloatArray
    """[acuity] of which arriving by ambulance."""
    ed_treatment_hours: FloatArray
    """[acuity] mean hours in a treatment space."""
    ed_diverted: float
    """Residents' level-4 ED visits diverted to community centres."""
    chc_shifted: float
    """Residents' hospital outpatient visits moved to community centres."""
    ambulance: float
    """120 dispatches."""
    admissions_resident: FloatArray
    """[pool, route, age] residents' admissions wherever treated."""
    admissions: FloatArray
    """[pool, route, age] admissions to district hospitals (incl. non-residents)."""
    los_mean: FloatArray
    """[pool, route, age] mean stay (days) after reforms."""
    bed_days: FloatArray
    """[pool] bed-days in district hospitals, after the elderly-care transfers and the ICU
    step-down (``DemandModel.components`` splits them the same way)."""
    day_cases: float
    """Elective surgical day cases created by the day-surgery reform (served)."""
    transfers: float
    """Medical patients moved to elderly-care beds (served)."""
    elderly_care_transfer: float
    """The year's transfer share (REF-ELDERLY-TRANSFER), kept for :meth:`DemandModel.components`."""

    via_ed: float
    """Served emergency admissions that come through the ED."""

    def measures(self) -> Measures:
        return Measures(
            self.visits.copy(),
            self.ambulance,
            self.admissions.sum(axis=(1, 2)),
            self.bed_days.copy(),
        )


@dataclass(frozen=True)
class _Visits:
    resident: FloatArray  # [service]
    served: FloatArray  # [service]
    ed: FloatArray  # [acuity] served
    ed_ambulance_fraction: FloatArray  # [acuity]
    ed_hours: FloatArray  # [acuity]
    diverted: float
    shifted: float


@lru_cache(maxsize=4096)
def _beyond(dist: LosDistribution, days: float) -> tuple[float, float]:
    """(E[(S − days)⁺] in days, P(S > days)) of a stay S, cached: each costs about a
    millisecond (scipy builds a frozen distribution), and the elderly-care transfer
    asks for the same few distributions in every evaluation of every year."""
    return dist.excess_mean(days), float(dist.survival(days))


def _unique_rows(keys: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """(distinct rows in lexicographic order, index of each row's distinct row): what
    ``np.unique(keys, axis=0, return_inverse=True)`` gives, at a fraction of its cost
    on these few-column tables (np.unique sorts a structured view of the rows)."""
    order = np.lexsort(keys.T[::-1])  # stable; the first column is the primary key
    ordered = keys[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=starts[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


class DemandModel:
    """Rates and stays of one replicate: build once, then :meth:`evaluate` any year.

    Args:
        tables: the service tables.
        section: the *resolved* ``[demand]`` section.
        calibration: levels from :func:`calibrate` (``None`` while calibrating: all
            levels 1, LOS scale 1).
    """

    def __init__(
        self, tables: ServiceTables, section: DemandSection, calibration: Calibration | None = None
    ) -> None:
        self.tables = tables
        self.section = section
        self.calibration = calibration
        level = calibration.level if calibration else dict.fromkeys(_GROWTH_KEYS, 1.0)
        scale = calibration.los_scale if calibration else 1.0
        ages = np.arange(N_AGES)
        older = ages >= OLDER_AGE
        ed_shape = tables.shapes["ed"] * np.where(older, number(section.ed_older_rr), 1.0)
        self.rates = {
            "chc": level["chc"] * tables.shapes["chc"],
            "outpatient": level["outpatient"] * tables.shapes["outpatient"],
            "ed": level["ed"] * ed_shape,
            "ambulance": level["ambulance"] * tables.shapes["ambulance"],
        }
        # admissions per person per year [pool, sex, age] of the population-driven lines
        self.adm_rates = np.zeros((len(POOLS), 2, N_AGES))
        for p, line in tables.lines.items():
            if line.driver == "population":
                self.adm_rates[_POOL[p]] = level["admissions"] * tables.shapes[p]
        self.emergency_share = np.array([tables.lines[p].emergency_share for p in POOLS])
        self.via_ed_share = np.array([tables.lines[p].via_ed_share for p in POOLS])
        # LOS: family and cv by [pool, route, age]; mean before reforms
        band = tables.los_band_of_age()
        self._family_code = np.array(
            [
                [
                    [_FAMILIES.index(tables.los[(p, r, band[a])].family) for a in ages]
                    for r in ROUTES
                ]
                for p in POOLS
            ],
            dtype=float,
        )
        self.los_cv = np.array(
            [[[tables.los[(p, r, band[a])].cv for a in ages] for r in ROUTES] for p in POOLS]
        )
        mean = np.array(
            [[[tables.los[(p, r, band[a])].mean_days for a in ages] for r in ROUTES] for p in POOLS]
        )
        self.los_base = scale * mean * np.where(older, number(section.los_older_multiplier), 1.0)
        self.ed_band = tables.ed_band_of_age()
        # the ED tables by single year of age [age, acuity], looked up once, not per year
        self._ed_share = tables.ed_share[self.ed_band]
        self._ed_ambulance_share = tables.ed_ambulance_share[self.ed_band]
        self._ed_hours = tables.ed_treatment_hours[self.ed_band]
        self._ed_hours_mean = tables.ed_treatment_hours.mean(axis=0)

    # ------------------------------------------------------------------ visits
    def _visits(self, pop: FloatArray, inp: YearInputs) -> _Visits:
        g = inp.growth
        chc = float((pop * self.rates["chc"]).sum()) * g["chc"]
        outpatient = float((pop * self.rates["outpatient"]).sum()) * g["outpatient"]
        ed_by_age = (pop * self.rates["ed"]).sum(axis=0) * g["ed"]
        share = self._ed_share  # [age, acuity]
        ed = ed_by_age @ share
        amb_share = (ed_by_age[:, None] * share * self._ed_ambulance_share).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            amb_frac = np.where(ed > 0, amb_share / ed, 0.0)
        hours = (ed_by_age[:, None] * share * self._ed_hours).sum(axis=0)
        hours = np.where(ed > 0, hours / np.where(ed > 0, ed, 1.0), self._ed_hours_mean)
        # diversion of non-urgent (level 4) ED visits to community centres
        level4 = ACUITIES.index(4)
        diverted = inp.ed_diversion * ed[level4]
        ed = ed.copy()
        ed[level4] -= diverted
        chc += diverted
        k_op = _served_factor(inp.flows, "outpatient")
        k_ed = _served_factor(inp.flows, "ed")
        shifted = 0.0
        if inp.chc_target_share is not None:
            # move m residents' outpatient visits to 社康 so that 社康 / all served = target:
            # (C + m) = s (C + m + (O − m) k_op + E k_ed)  =>  m = (s T − C) / (1 − s + s k_op)
            s = inp.chc_target_share
            total = chc + outpatient * k_op + ed.sum() * k_ed
            shifted = min(max((s * total - chc) / (1.0 - s + s * k_op), 0.0), outpatient)
            chc += shifted
            outpatient -= shifted
        resident = np.array([chc, outpatient, ed.sum()])
        served = np.array([chc, outpatient * k_op, ed.sum() * k_ed])
        return _Visits(
            resident, served, ed * k_ed, amb_frac, hours, float(diverted), float(shifted)
        )

    # -------------------------------------------------------------- admissions
    def _admissions_resident(self, pop: FloatArray, births: float, inp: YearInputs) -> FloatArray:
        """[pool, route, age] residents' admissions after the avoidance reforms."""
        m = self.section.maternity
        per_age = (self.adm_rates * pop[None]).sum(axis=1) * inp.growth["admissions"]  # [pool, age]
        first, last = FERTILE_AGES
        women = pop[SEXES.index("female"), first : last + 1]
        mothers = np.zeros(N_AGES)
        # only the mothers' LOS band matters: spread over women 15-49 by their number
        n_ages = last + 1 - first
        mothers[first : last + 1] = women / women.sum() if women.sum() > 0 else 1.0 / n_ages
        per_age[_POOL["obstetrics"]] = births * number(m.obstetric_per_birth) * mothers
        per_age[_POOL["neonatal"], 0] = births * number(m.neonatal_per_birth)
        adm = np.stack(
            [
                per_age * self.emergency_share[:, None],
                per_age * (1.0 - self.emergency_share[:, None]),
            ],
            axis=1,
        )
        ages = np.arange(N_AGES)
        med, surg = _POOL["medicine"], _POOL["surgery"]
        adm[med, _EMERGENCY] *= np.where(
            ages >= FAMILY_DOCTOR_MIN_AGE, 1.0 - inp.family_doctor, 1.0
        )
        ex = np.where(ages >= EXERCISE_MIN_AGE, 1.0 - inp.exercise, 1.0)
        adm[med, _EMERGENCY] *= ex
        adm[surg, _EMERGENCY] *= ex
        return adm

    def evaluate(self, pop: FloatArray, births: float, inp: YearInputs) -> YearDemand:
        """Expected demand of a year.

        Args:
            pop: mid-year residents [sex, age] (persons).
            births: live births during the year (persons).
            inp: the year's inputs (:func:`year_inputs`).
        """
        v = self._visits(pop, inp)
        ambulance = float((pop * self.rates["ambulance"]).sum()) * inp.growth["ambulance"]
        adm_res = self._admissions_resident(pop, births, inp)
        los = self.los_base.copy()
        surg, med = _POOL["surgery"], _POOL["medicine"]
        # day surgery: a share s of elective surgical cases, with a stay of f × the mean,
        # leaves the wards; the remaining cases' mean rises to L (1 − s f) / (1 − s)
        s, f = inp.day_surgery, number(self.section.reforms.day_case_stay_fraction)
        day_cases_res = float(s * adm_res[surg, _ELECTIVE].sum())
        adm_res[surg, _ELECTIVE] *= 1.0 - s
        los[surg, _ELECTIVE] *= (1.0 - s * f) / (1.0 - s)
        # pre-admission work-up: d days less per elective medical or surgical stay
        d = inp.pre_admission_days
        for p in (med, surg):
            los[p, _ELECTIVE] = np.maximum(
                los[p, _ELECTIVE] - d, PRE_ADMISSION_FLOOR * los[p, _ELECTIVE]
            )
        k_adm = _served_factor(inp.flows, "admissions")
        adm = adm_res * k_adm
        bed_days = (adm * los).sum(axis=(1, 2))
        moved, transfers = self._transfers(adm, los, inp.elderly_care_transfer)
        bed_days[med] -= moved
        bed_days[_POOL["elderly_care"]] += moved
        step_pool, step_share = self.icu_step_down()
        if step_share > 0.0:  # the ward part of ICU episodes (LOS-ICU-STEP-DOWN)
            stepped = step_share * bed_days[_POOL["icu"]]
            bed_days[_POOL["icu"]] -= stepped
            bed_days[_POOL[step_pool]] += stepped
        return YearDemand(
            visits_resident=v.resident,
            visits=v.served,
            ed_visits=v.ed,
            ed_ambulance=v.ed * v.ed_ambulance_fraction,
            ed_treatment_hours=v.ed_hours,
            ed_diverted=v.diverted,
            chc_shifted=v.shifted,
            ambulance=ambulance,
            admissions_resident=adm_res,
            admissions=adm,
            los_mean=los,
            bed_days=bed_days,
            day_cases=day_cases_res * k_adm,
            transfers=transfers,
            elderly_care_transfer=inp.elderly_care_transfer,
            via_ed=float((adm[:, _EMERGENCY].sum(axis=1) * self.via_ed_share).sum()),
        )

    def _groups(
        self, adm: FloatArray, los: FloatArray, p: int, r: int, transfer: float
    ) -> list[tuple[LosDistribution, float, bool]]:
        """Served admissions of pool ``p``, route ``r`` grouped by LOS distribution, with
        whether the group is subject to the elderly-care transfers."""
        ages = np.arange(N_AGES)
        transferable = (p == _POOL["medicine"]) & (ages >= TRANSFER_MIN_AGE) & (transfer > 0.0)
        keys = np.stack(
            [los[p, r], self.los_cv[p, r], self._family_code[p, r], transferable], axis=1
        )
        n = adm[p, r]
        keep = n > 0.0
        if not keep.any():
            return []
        unique, inverse = _unique_rows(keys[keep])
        totals = np.bincount(inverse, weights=n[keep], minlength=len(unique))
        out: list[tuple[LosDistribution, float, bool]] = []
        for k, total in zip(unique, totals, strict=True):
            family = _FAMILIES[int(k[2])]
            out.append(
                (LosDistribution(family, float(k[0]), float(k[1])), float(total), bool(k[3]))
            )
        return out

    def _transfers(self, adm: FloatArray, los: FloatArray, transfer: float) -> tuple[float, float]:
        """(bed-days moved from medicine to elderly care, patients moved), served.

        A transferred patient (medicine, age >= 65, still in hospital after T days, a
        share ``transfer`` of them) spends min(S, T) in a medical bed and the rest,
        E[(S − T)+] on average, in an elderly-care bed."""
        if transfer <= 0.0:
            return 0.0, 0.0
        after = number(self.section.reforms.elderly_care_after_days)
        moved = patients = 0.0
        for r in range(len(ROUTES)):
            for dist, n, transferable in self._groups(adm, los, _POOL["medicine"], r, transfer):
                if transferable:
                    excess, staying = _beyond(dist, after)
                    moved += n * transfer * excess
                    patients += n * transfer * staying
        return moved, patients

    def icu_step_down(self) -> tuple[str, float]:
        """(ward pool, share of an ICU episode's stay spent there after the ICU)."""
        step = self.section.icu_step_down
        return str(step.pool), number(step.share)

    def components(self, demand: YearDemand, transfer: float) -> tuple[AdmissionComponent, ...]:
        """Served admissions of a year grouped by LOS distribution, for the occupancy
        convolution and the DES. ``weights`` = (the group's own pool, the share of the
        stay there) first, then the later stages of the stay in other pools:

        * a transferable group's bed-days split between medicine and elderly care in
          proportion E[min(S, T)] : E[(S − T)+] (exact for bed-days; the day-by-day lag
          of the moved part is approximated by that of the whole stay);
        * an ICU group's bed-days split between the ICU and the step-down ward in
          proportion 1 − s : s (``demand.icu_step_down``, the same share for every stay).
        """
        after = number(self.section.reforms.elderly_care_after_days)
        step_pool, step_share = self.icu_step_down()
        out: list[AdmissionComponent] = []
        for p, pool in enumerate(POOLS):
            for r, route in enumerate(ROUTES):
                for dist, n, transferable in self._groups(
                    demand.admissions, demand.los_mean, p, r, transfer
                ):
                    weights: tuple[tuple[str, float], ...] = ((pool, 1.0),)
                    if transferable:
                        w = transfer * _beyond(dist, after)[0] / dist.mean
                        weights = ((pool, 1.0 - w), ("elderly_care", w))
                    elif pool == "icu" and step_share > 0.0:
                        weights = ((pool, 1.0 - step_share), (step_pool, step_share))
                    out.append(AdmissionComponent(pool, route, dist, n, weights))
        return tuple(out)


def _served_admissions(
    cal: DemandCalibration, inp: YearInputs, pop_end_total: float, beds_per_1000: float
) -> dict[str, float]:
    """Steps 1-3 up to the residents' admissions: ``beds`` (beds), ``bed_days_served``
    (bed-days per year), ``admissions_served`` and ``admissions_resident`` (per year)."""
    days = days_in_year(cal.year)
    occupancy, alos = number(cal.occupancy), number(cal.alos_days)
    beds = float(beds_per_1000) * pop_end_total / 1000.0
    served_bed_days = beds * occupancy * days
    served_adm = served_bed_days / alos
    return {
        "beds": beds,
        "bed_days_served": served_bed_days,
        "admissions_served": served_adm,
        "admissions_resident": served_adm / _served_factor(inp.flows, "admissions"),
    }


def _admission_level(resident_adm: float, raw: YearDemand) -> tuple[float, float]:
    """Step 3: (level of the population-driven admissions, births-driven admissions per
    year), from the residents' admissions per year and the demand at level 1 (``raw``).

    Raises:
        ScenarioError: no admissions left beyond the births-driven ones.
    """
    births_driven = [_POOL["obstetrics"], _POOL["neonatal"]]
    per_capita_raw = float(np.delete(raw.admissions_resident, births_driven, axis=0).sum())
    births_adm = float(raw.admissions_resident[births_driven].sum())
    if resident_adm <= births_adm or per_capita_raw <= 0:
        raise ScenarioError(
            None,
            "demand.calibration",
            f"{resident_adm:,.0f} admissions",
            f"beds x occupancy / ALOS leave no admissions beyond the {births_adm:,.0f} "
            "births-driven ones; raise capacity.beds_per_1000 or occupancy",
        )
    return (resident_adm - births_adm) / per_capita_raw, births_adm


def _served_visits(cal: DemandCalibration) -> dict[str, float]:
    """Step 6, served visits per year: all, hospital, ED and outpatient."""
    all_visits = number(cal.chc_visits) / number(cal.chc_share)
    hospital = all_visits - number(cal.chc_visits)
    ed_served = number(cal.ed_share_of_hospital_visits) * hospital
    return {
        "all_visits_served": all_visits,
        "hospital_visits_served": hospital,
        "ed_visits_served": ed_served,
        "outpatient_visits_served": hospital - ed_served,
    }


def _visit_levels(
    cal: DemandCalibration,
    inp: YearInputs,
    raw: YearDemand,
    served: dict[str, float],
    residents: float,
) -> dict[str, float]:
    """Steps 6-7: levels (uses per person per year) of the visit lines and ambulances,
    from the demand at level 1 (``raw``) and ``residents`` at mid-year (persons)."""
    # residents' visits at level 1 (no diversion, no shift in the base year)
    raw_v = raw.visits_resident
    op_served, ed_served = served["outpatient_visits_served"], served["ed_visits_served"]
    return {
        "chc": number(cal.chc_visits) / raw_v[0],
        "outpatient": op_served / _served_factor(inp.flows, "outpatient") / raw_v[1],
        "ed": ed_served / _served_factor(inp.flows, "ed") / raw_v[2],
        "ambulance": number(cal.ambulance_per_1000) * residents / 1000.0 / raw.ambulance,
    }


def calibrate(
    pop_mid: FloatArray,
    pop_end_total: float,
    births: float,
    tables: ServiceTables,
    section: DemandSection,
    beds_per_1000: float,
) -> Calibration:
    """Solve the base year's levels (module docstring, steps 1-7).

    Args:
        pop_mid: mid-year residents of the base year [sex, age].
        pop_end_total: residents on 31 December of the base year (for beds per 1,000).
        births: live births during the base year.
        tables: service tables.
        section: the *resolved* ``[demand]`` section.
        beds_per_1000: hospital beds per 1,000 residents at the end of the base year.

    Raises:
        ScenarioError: inputs that leave no room for the population-driven admissions.
    """
    cal = section.calibration
    occupancy, alos = number(cal.occupancy), number(cal.alos_days)
    inp = base_inputs(section)
    served = _served_admissions(cal, inp, pop_end_total, beds_per_1000)
    beds, resident_adm = served["beds"], served["admissions_resident"]
    raw = DemandModel(tables, section, None).evaluate(pop_mid, births, inp)
    level_adm, births_adm = _admission_level(resident_adm, raw)
    visits = _served_visits(cal)
    residents = float(pop_mid.sum())
    level = {**_visit_levels(cal, inp, raw, visits, residents), "admissions": level_adm}
    levelled = Calibration(cal.year, level, 1.0, beds, {}, occupancy, alos)
    unscaled = DemandModel(tables, section, levelled).evaluate(pop_mid, births, inp)
    # step 4: one factor on every mean stay makes served bed-days / admissions = ALOS
    los_scale = served["bed_days_served"] / float(unscaled.bed_days.sum())
    pool_bed_days = {p: float(unscaled.bed_days[i]) * los_scale for i, p in enumerate(POOLS)}
    figures = {
        **served,
        "admissions_births_driven": births_adm,
        "resident_admissions_per_100": 100.0 * resident_adm / residents,
        **visits,
        "visits_per_resident_served": visits["all_visits_served"] / residents,
        "ambulance_dispatches": number(cal.ambulance_per_1000) * residents / 1000.0,
        "los_scale": los_scale,
    }
    return Calibration(cal.year, level, los_scale, beds, pool_bed_days, occupancy, alos, figures)


def attribution(
    model: DemandModel,
    pop_base: FloatArray,
    births_base: float,
    pop: FloatArray,
    births: float,
    inputs_base: YearInputs,
    inputs: YearInputs,
) -> tuple[dict[str, Measures], Measures]:
    """Parts of the change from the base year to a year, one per step of :data:`STEPS`.

    Each step switches one more input from its base-year value to the year's value,
    in the order of :data:`STEPS`; a part is the difference of two successive states,
    so the parts add up to the total change exactly. Returns (parts by step, total).
    """
    start = model.evaluate(pop_base, births_base, inputs_base).measures()
    size = float(pop.sum()) / float(pop_base.sum())
    chain: list[tuple[str, FloatArray, float, YearInputs]] = []
    state = inputs_base
    chain.append(("population_size", pop_base * size, births_base, state))
    chain.append(("age_structure", pop, births_base, state))
    chain.append(("births", pop, births, state))
    state = replace(state, growth=inputs.growth)
    chain.append(("growth", pop, births, state))
    state = replace(state, flows=inputs.flows)
    chain.append(("flows", pop, births, state))
    for step, fields in (
        ("family_doctor", ("family_doctor",)),
        ("exercise", ("exercise",)),
        ("ed_diversion", ("ed_diversion",)),
        ("chc_shift", ("chc_target_share",)),
        ("day_surgery", ("day_surgery",)),
        ("pre_admission", ("pre_admission_days",)),
        ("elderly_care_integration", ("elderly_care_transfer",)),
    ):
        state = replace(state, **{f: getattr(inputs, f) for f in fields})
        chain.append((step, pop, births, state))
    assert tuple(s for s, *_ in chain) == STEPS
    parts: dict[str, Measures] = {}
    previous = start
    for step, p, b, inp in chain:
        current = model.evaluate(p, b, inp).measures()
        parts[step] = current.minus(previous)
        previous = current
    return parts, previous.minus(start)
