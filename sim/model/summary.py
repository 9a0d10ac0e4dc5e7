"""Reductions of batch results over replicates: quantiles, paired differences, exceedance
probabilities and key figures against the district plan's targets.

Replicates. Replicate 0 of a batch takes every uncertain input at its central value;
replicates 1, 2, ... draw them at random (``sim.scenario.draw``). The *central* value of
a result is replicate 0; its *uncertainty sample* is the drawn replicates 1, 2, ... that
hold data (DES variables are NaN for replicates that ran the expected level only). When
fewer than two drawn replicates hold data, the sample is every replicate that does
(replicate 0 included), so that a batch whose DES ran on replicates 0 and 1 still has a
spread, and a batch with one DES replicate has a sample of one (no interval).

The discrete-event (DES) results are reduced the same way: their sample is the drawn
replicates that ran the DES (every replicate in the main job), and each carries, besides
the arrivals' and stays' randomness, the draw of the uncertain inputs.

A sweep has a ``point`` dimension: :func:`flatten_sweep` stacks (point, replicate) into
one ``sample`` dimension, all of which is the uncertainty sample; its central value is
the median over the samples.

Common random numbers. Replicate r of every scenario uses the same random streams
(``sim.base.rng``: the scenario is not in the key), so the difference between two scenarios
is taken replicate by replicate (:func:`paired_difference`) and its confidence interval
is that of a paired sample: far narrower than one from two independent samples.

No plotting here (see :mod:`sim.present.plots`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import xarray as xr
from scipy import stats

from sim.base import names

SAMPLE: str = "sample"
"""Dimension of a flattened sweep: every (point, replicate) pair."""
QUANTILE: str = "quantile"
FAN_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Median with the 50% and 90% bands of the uncertainty fans."""
RANGE_QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
"""Median with the 90% range: key figures and the DES figures' whiskers."""
BASELINE_NAME = "baseline"
"""Scenario name taken as the baseline when present (else the batch's first scenario)."""


# ------------------------------------------------------------------ the sample
def flatten_sweep(ds: xr.Dataset) -> xr.Dataset:
    """A sweep's (point, replicate) stacked into one ``sample`` dimension (0, 1, ...);
    any other Dataset is returned unchanged."""
    if "point" not in ds.dims:
        return ds
    stacked = ds.stack({SAMPLE: ("point", names.REPLICATE)})
    n = stacked.sizes[SAMPLE]
    return stacked.drop_vars([SAMPLE, "point", names.REPLICATE]).assign_coords(
        {SAMPLE: np.arange(n)}
    )


def sample_dim(da: xr.DataArray | xr.Dataset) -> str:
    """``replicate`` for a batch, ``sample`` for a flattened sweep."""
    if names.REPLICATE in da.dims:
        return names.REPLICATE
    if SAMPLE in da.dims:
        return SAMPLE
    raise ValueError(f"no {names.REPLICATE!r} or {SAMPLE!r} dimension in {list(da.dims)}")


def _with_data(da: xr.DataArray, dim: str) -> np.ndarray:
    other = [d for d in da.dims if d != dim]
    return np.asarray(da.notnull().any(other).values if other else da.notnull().values)


def uncertainty_sample(da: xr.DataArray) -> xr.DataArray:
    """The replicates of ``da`` that form its uncertainty sample (module docstring)."""
    dim = sample_dim(da)
    valid = _with_data(da, dim)
    if dim == SAMPLE:
        return da.isel({dim: np.flatnonzero(valid)})
    reps = np.asarray(da[dim].values)
    drawn = valid & (reps >= 1)
    keep = drawn if drawn.sum() >= 2 else valid
    return da.isel({dim: np.flatnonzero(keep)})


def sample_size(da: xr.DataArray) -> int:
    """Replicates in the uncertainty sample of ``da``."""
    s = uncertainty_sample(da)
    return int(s.sizes[sample_dim(s)])


def central(da: xr.DataArray) -> xr.DataArray:
    """Replicate 0 (central inputs) of a batch; the median over the samples of a sweep.
    NaN where replicate 0 holds no data."""
    dim = sample_dim(da)
    if dim == names.REPLICATE:
        if 0 in da[dim].values:
            return da.sel({dim: 0}, drop=True)
        return uncertainty_sample(da).median(dim)
    return _quiet(lambda: da.median(dim, skipna=True))


_T = TypeVar("_T")


def _quiet(fn: Callable[[], _T]) -> _T:
    """Reductions over all-NaN slices (years before the start year) give NaN, silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return fn()


def quantiles(da: xr.DataArray, q: tuple[float, ...] = FAN_QUANTILES) -> xr.DataArray:
    """Quantiles over the uncertainty sample, with a ``quantile`` dimension; NaN where the
    sample holds no data."""
    s = uncertainty_sample(da)
    dim = sample_dim(s)
    if s.sizes[dim] == 0:
        shape = da.isel({dim: 0}, drop=True)
        return xr.full_like(shape, np.nan).expand_dims({QUANTILE: list(q)}).copy()
    out = _quiet(lambda: s.quantile(list(q), dim=dim, skipna=True))
    return out.assign_attrs(da.attrs)


def exceedance(
    da: xr.DataArray, threshold: float | xr.DataArray, *, above: bool = True
) -> xr.DataArray:
    """Probability, over the uncertainty sample, that ``da >= threshold`` (``above``) or
    ``da <= threshold``. ``threshold`` may be an array (e.g. beds available per
    replicate). NaN where the sample holds no data."""
    s = uncertainty_sample(da)
    dim = sample_dim(s)
    hit = (s >= threshold) if above else (s <= threshold)
    n = s.notnull().sum(dim)
    frac = hit.where(s.notnull()).sum(dim) / n
    return frac.where(n > 0).assign_attrs(
        units=names.UNIT_FRACTION,
        long_name=f"probability that {da.name} is {'>=' if above else '<='} the threshold",
    )


def paired_difference(
    da: xr.DataArray,
    baseline: str,
    *,
    level: float = 0.95,
    relative: bool = False,
) -> xr.Dataset:
    """Scenario minus ``baseline``, replicate by replicate, over the uncertainty sample.

    Returns ``mean``, ``low``, ``high`` (the two-sided ``level`` Student-t confidence
    interval of the mean difference), ``sd`` and ``n`` for every scenario (the baseline's
    difference is 0). ``relative=True`` gives the differences as fractions of the
    baseline's value of the same replicate. Intervals need n >= 2 (else NaN)."""
    if names.SCENARIO not in da.dims:
        raise ValueError(f"{da.name}: paired differences need a {names.SCENARIO!r} dimension")
    if baseline not in da[names.SCENARIO].values:
        raise ValueError(f"baseline scenario {baseline!r} not in {list(da[names.SCENARIO].values)}")
    s = uncertainty_sample(da)
    dim = sample_dim(s)
    base = s.sel({names.SCENARIO: baseline})
    diff = s - base
    if relative:
        diff = diff / base.where(base != 0)
    n = diff.notnull().sum(dim)
    mean = _quiet(lambda: diff.mean(dim, skipna=True))
    sd = _quiet(lambda: diff.std(dim, ddof=1, skipna=True))
    nv = np.asarray(n.values, dtype=float)
    tq = np.where(nv >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(nv - 1, 1)), np.nan)
    half = xr.DataArray(tq, dims=n.dims, coords=n.coords) * sd / np.sqrt(n.where(n > 0))
    half = half.where(n >= 2)
    units = names.UNIT_FRACTION if relative else str(da.attrs.get("units", ""))
    what = "relative difference" if relative else "difference"
    return xr.Dataset(
        {
            "mean": mean.assign_attrs(units=units, long_name=f"mean paired {what} from baseline"),
            "low": (mean - half).assign_attrs(units=units, long_name=f"lower {level:.0%} bound"),
            "high": (mean + half).assign_attrs(units=units, long_name=f"upper {level:.0%} bound"),
            "sd": sd.assign_attrs(units=units, long_name=f"standard deviation of the {what}"),
            "n": n.assign_attrs(units="1", long_name="replicates paired"),
        },
        attrs={"baseline": baseline, "level": level, "relative": int(relative)},
    )


# ------------------------------------------------------------------ batch facts
def has_des(ds: xr.Dataset) -> bool:
    """True if any replicate ran the discrete-event model."""
    var = ds.get("des_midnight_census")
    return var is not None and bool(var.notnull().any())


def des_replicates(ds: xr.Dataset) -> list[int]:
    """Replicates (samples of a flattened sweep) that ran the DES; empty without it."""
    var = ds.get("des_midnight_census")
    if var is None:
        return []
    dim = sample_dim(var)
    valid = _with_data(var, dim)
    return [int(r) for r, ok in zip(var[dim].values, valid, strict=True) if ok]


def baseline_scenario(ds: xr.Dataset, preferred: str = BASELINE_NAME) -> str:
    """The scenario differences are taken from: ``preferred`` if present, else the first."""
    scenarios = [str(s) for s in ds[names.SCENARIO].values]
    return preferred if preferred in scenarios else scenarios[0]


def scenario_labels(ds: xr.Dataset) -> dict[str, str]:
    """Scenario name -> label (the name when the label is empty)."""
    codes = [str(s) for s in ds[names.SCENARIO].values]
    if "scenario_label" not in ds.coords:
        return {c: c for c in codes}
    labels = [str(x) for x in ds["scenario_label"].values]
    return {c: (lab or c) for c, lab in zip(codes, labels, strict=True)}


def result_years(ds: xr.Dataset, variable: str = "bed_days") -> list[int]:
    """Years in which ``variable`` (an expected-level one by default) holds data: the
    run's start year to its end year."""
    var = ds[variable] if variable in ds else ds["population_total"]
    valid = _with_data(var, names.YEAR)
    return [int(y) for y, ok in zip(var[names.YEAR].values, valid, strict=True) if ok]


def base_year(ds: xr.Dataset) -> int:
    """First year with expected-level results (the run's start year, normally 2025)."""
    years = result_years(ds)
    if not years:
        raise ValueError("no expected-level results in this Dataset")
    return years[0]


def end_year(ds: xr.Dataset) -> int:
    return result_years(ds)[-1]


# ------------------------------------------------------------------ plan targets
class MissingTargetsError(ValueError):
    """Results written before each task stored its scenario's targets
    (:data:`sim.base.names.TARGET_VARIABLES`): their targets are unknown."""


@dataclass(frozen=True)
class PlanTargets:
    """The targets and norms of one scenario that its key figures are compared with, as
    the batch's tasks ran with them (:func:`sim.runs.pipeline.plan_target_variables`; their
    defaults and DATA.md ids are in ``sim/scenario/capacity.py``). Read with
    :func:`plan_targets`, never built from defaults of its own."""

    year: int
    """Year of the plan's targets (``capacity.plan_target.year``)."""
    beds: float | None
    """Available beds at the end of ``year``; None when the scenario has no bed target."""
    physicians_per_1000: float
    """Physicians per 1,000 residents, at least."""
    nurses_per_1000: float
    """Registered nurses per 1,000 residents, at least."""
    nurse_physician_ratio: float
    """Nurses per physician, at least."""
    life_expectancy: float
    """Life expectancy at birth, both sexes, years, at least."""
    occupancy: float
    """Target bed occupancy of the bed-need formula (fraction)."""
    bed_wait_probability: float
    """Largest acceptable probability that an admission waits for a bed (fraction)."""
    ed_wait_hours: float
    """ED wait for a treatment space the ED target refers to (hours)."""
    ed_wait_probability: float
    """Largest acceptable P(ED wait > ``ed_wait_hours``) (fraction)."""
    ambulance_wait_probability: float
    """Largest acceptable probability that no ambulance is free (fraction)."""


def has_targets(ds: xr.Dataset) -> bool:
    """True if the results hold every task's targets (batches since they are stored)."""
    return all(v in ds for v in names.TARGET_VARIABLES)


def _target_value(da: xr.DataArray) -> float:
    value = _f(central(da))
    if not math.isfinite(value):  # replicate 0 has no data: median of the rest
        value = _f(_quiet(lambda: da.median(skipna=True)))
    return value


def plan_targets(ds: xr.Dataset) -> dict[str, PlanTargets]:
    """Scenario name -> its targets, read from the results' target variables. A drawn
    target (a distribution in the scenario file) takes its central value: replicate 0,
    which runs with every input at its central value; for a sweep, the median over the
    samples (:func:`central`). Raises :class:`MissingTargetsError` without them."""
    missing = [v for v in names.TARGET_VARIABLES if v not in ds]
    if missing:
        raise MissingTargetsError(f"no {', '.join(missing)} in the results")
    ds = flatten_sweep(ds)
    out: dict[str, PlanTargets] = {}
    for sc in (str(s) for s in ds[names.SCENARIO].values):
        v = {k: _target_value(ds[k].sel({names.SCENARIO: sc})) for k in names.TARGET_VARIABLES}
        beds = v[names.TARGET_BEDS]
        out[sc] = PlanTargets(
            year=round(v[names.TARGET_YEAR]),
            beds=beds if math.isfinite(beds) else None,
            physicians_per_1000=v[names.TARGET_PHYSICIANS],
            nurses_per_1000=v[names.TARGET_NURSES],
            nurse_physician_ratio=v[names.TARGET_NURSE_RATIO],
            life_expectancy=v[names.TARGET_LIFE_EXPECTANCY],
            occupancy=v[names.TARGET_OCCUPANCY],
            bed_wait_probability=v[names.TARGET_BED_WAIT],
            ed_wait_hours=v[names.TARGET_ED_WAIT_HOURS],
            ed_wait_probability=v[names.TARGET_ED_WAIT],
            ambulance_wait_probability=v[names.TARGET_AMBULANCE_WAIT],
        )
    return out


def figure_years(ds: xr.Dataset) -> dict[str, int]:
    """Scenario name -> the year its key figures are for: its plan's target year when the
    results reach it, else their last year (also for results without targets)."""
    years = result_years(ds)
    targets = plan_targets(ds) if has_targets(ds) else {}
    out = {}
    for sc in (str(s) for s in ds[names.SCENARIO].values):
        wanted = targets[sc].year if sc in targets else None
        out[sc] = wanted if wanted in years else years[-1]
    return out


def common_figure_year(ds: xr.Dataset, scenario: str | None = None) -> int:
    """The year of a figure that shows one year: ``scenario``'s figure year (default: the
    baseline scenario's, :func:`baseline_scenario`)."""
    return figure_years(ds)[scenario or baseline_scenario(ds)]


# ------------------------------------------------------------------ key figures
Sense = Literal[">=", "<="]


@dataclass(frozen=True)
class KeyFigureSpec:
    """How one key figure is computed from a batch Dataset and what it is compared with."""

    key: str
    """Identifier; also the message id ``kf_<key>`` of its name in :mod:`sim.present.i18n`."""
    unit: str
    """Display unit code (``unit_<unit>`` in :mod:`sim.present.i18n`)."""
    compute: Callable[[xr.Dataset], xr.DataArray]
    """(scenario, replicate|sample, year) values in display units."""
    target: Callable[[PlanTargets], float | None] = lambda t: None
    sense: Sense | None = None
    target_year_only: bool = True
    """The target applies only in the plan's target year (else it is shown as a reference)."""
    des: bool = False
    """Computed from the discrete-event model (NaN for replicates without it)."""


def _total(var: str, *dims: str) -> Callable[[xr.Dataset], xr.DataArray]:
    def f(ds: xr.Dataset) -> xr.DataArray:
        da = ds[var]
        keep = [d for d in dims if d in da.dims]
        if not keep:
            return da
        return da.sum(keep, min_count=1)

    return f


def _scaled(
    fn: Callable[[xr.Dataset], xr.DataArray], k: float
) -> Callable[[xr.Dataset], xr.DataArray]:
    return lambda ds: fn(ds) * k


def _ratio(
    num: Callable[[xr.Dataset], xr.DataArray], den: Callable[[xr.Dataset], xr.DataArray], k: float
) -> Callable[[xr.Dataset], xr.DataArray]:
    return lambda ds: num(ds) / den(ds) * k


def district_high_occupancy(ds: xr.Dataset, threshold: float = 0.85) -> xr.DataArray:
    """Share of days in each year on which the district's midnight bed census (all pools)
    was at least ``threshold`` of the beds available (DES); NaN without the DES."""
    census = ds["des_midnight_census"].sum(names.POOL, min_count=1)
    beds = ds["des_bed_capacity"].sum(names.POOL, min_count=1)
    high = (census >= threshold * beds).where(census.notnull())
    by_year = high.groupby(high["date"].dt.year).mean("date", skipna=True)
    return by_year.rename({"year": names.YEAR}) if "year" in by_year.dims else by_year


def _des_sum(var: str | tuple[str, ...], dim: str) -> Callable[[xr.Dataset], xr.DataArray]:
    """Sum over ``dim`` of the first of ``var``'s names the Dataset holds (KeyError if none:
    the figure is then left out)."""
    candidates = (var,) if isinstance(var, str) else var

    def f(ds: xr.Dataset) -> xr.DataArray:
        name = next((v for v in candidates if v in ds), None)
        if name is None:
            raise KeyError(candidates[0])
        return ds[name].sum(dim, min_count=1)

    return f


KEY_FIGURES: tuple[KeyFigureSpec, ...] = (
    KeyFigureSpec("population", "thousand_persons", _scaled(_total("population_total"), 1e-3)),
    KeyFigureSpec("share_65plus", "percent", _scaled(_total("share_65plus"), 100.0)),
    KeyFigureSpec("births", "persons_per_year", _total("births")),
    KeyFigureSpec(
        "life_expectancy",
        "years",
        _total("life_expectancy_both"),
        lambda t: t.life_expectancy,
        ">=",
    ),
    KeyFigureSpec("beds", "beds", _total("beds_end", names.POOL), lambda t: t.beds, ">="),
    KeyFigureSpec("beds_per_1000", "per_1000", _total("beds_per_1000")),
    KeyFigureSpec(
        "beds_needed_occupancy",
        "beds",
        _total("beds_needed_occupancy", names.POOL),
        lambda t: t.beds,
        "<=",
    ),
    KeyFigureSpec(
        "beds_needed_wait",
        "beds",
        _total("beds_needed_wait", names.POOL),
        lambda t: t.beds,
        "<=",
    ),
    KeyFigureSpec(
        "occupancy",
        "percent",
        _ratio(_total("occupied_beds_mean", names.POOL), _total("beds", names.POOL), 100.0),
        lambda t: t.occupancy * 100.0,
        "<=",
        target_year_only=False,
    ),
    KeyFigureSpec(
        "physicians_per_1000",
        "per_1000",
        _total("physicians_per_1000"),
        lambda t: t.physicians_per_1000,
        ">=",
    ),
    KeyFigureSpec(
        "nurses_per_1000", "per_1000", _total("nurses_per_1000"), lambda t: t.nurses_per_1000, ">="
    ),
    KeyFigureSpec(
        "nurse_physician_ratio",
        "ratio",
        _total("nurse_physician_ratio"),
        lambda t: t.nurse_physician_ratio,
        ">=",
    ),
    KeyFigureSpec(
        "gps_per_10000", "per_10000", _ratio(_total("gps"), _total("population_end"), 1e4)
    ),
    KeyFigureSpec(
        "gp_utilisation",
        "percent",
        _scaled(_total("gp_utilisation"), 100.0),
        lambda t: 100.0,
        "<=",
        target_year_only=False,
    ),
    KeyFigureSpec(
        "chc_visits", "thousand_per_year", lambda ds: ds["visits"].sel(service="chc") * 1e-3
    ),
    KeyFigureSpec(
        "ed_visits", "thousand_per_year", _scaled(_total("ed_visits", names.ACUITY), 1e-3)
    ),
    KeyFigureSpec(
        "admissions", "thousand_per_year", _scaled(_total("admissions", names.POOL, "route"), 1e-3)
    ),
    KeyFigureSpec("bed_days", "thousand_per_year", _scaled(_total("bed_days", names.POOL), 1e-3)),
    KeyFigureSpec(
        "ed_space_gap",
        "spaces",
        lambda ds: ds["ed_spaces_needed"] - ds["ed_spaces"],
        lambda t: 0.0,
        "<=",
        target_year_only=False,
    ),
    KeyFigureSpec(
        "ambulance_gap",
        "ambulances",
        lambda ds: ds["ambulances_needed_wait"] - ds["ambulances"],
        lambda t: 0.0,
        "<=",
        target_year_only=False,
    ),
    KeyFigureSpec(
        "des_high_occupancy_days",
        "percent",
        lambda ds: district_high_occupancy(ds) * 100.0,
        des=True,
    ),
    KeyFigureSpec("des_ed_boarding", "hours", _total("des_ed_boarding_mean"), des=True),
    KeyFigureSpec(
        "des_elective_patients_deferred",
        "persons_per_year",
        _des_sum("des_elective_patients_deferred_year", names.POOL),
        des=True,
    ),
    KeyFigureSpec(
        "des_elective_deferral_events",
        "events_per_year",
        # a patient deferred again at later booking sessions counts each time
        _des_sum(("des_elective_deferral_events_year", "des_elective_deferrals_year"), names.POOL),
        des=True,
    ),
    KeyFigureSpec(
        "des_clinic_unmet",
        "thousand_per_year",
        lambda ds: ds["des_clinic_unmet_year"].sum("clinic", min_count=1) * 1e-3,
        des=True,
    ),
    KeyFigureSpec(
        "des_ambulance_within_target",
        "percent",
        _scaled(_total("des_ambulance_within_target_year"), 100.0),
        des=True,
    ),
)
"""The key figures of the report and the CSV table, in the order shown."""


@dataclass(frozen=True)
class KeyFigure:
    """One key figure of one scenario in one year."""

    key: str
    scenario: str
    year: int
    unit: str
    central: float
    low: float
    median: float
    high: float
    n: int
    target: float | None
    sense: Sense | None
    p_meets: float | None
    """Share of the uncertainty sample meeting the target (None without a target)."""
    meets_central: bool | None
    diff_mean: float | None = None
    diff_low: float | None = None
    diff_high: float | None = None
    """Paired difference from the baseline scenario with its 95% confidence interval."""
    des: bool = False
    """From the discrete-event model: the report shows the median over the sample (each
    replicate is one simulated history) rather than replicate 0."""


def _f(x: Any) -> float:
    v = float(x)
    return v if math.isfinite(v) else math.nan


def key_figure_in_year(ds: xr.Dataset, spec: KeyFigureSpec, year: int) -> xr.DataArray | None:
    """A key figure's values in ``year`` (all scenarios and replicates), or None when the
    batch lacks its inputs, lacks that year, or holds no value for it."""
    try:
        values = spec.compute(ds)
    except KeyError:
        return None
    if names.YEAR not in values.dims or year not in values[names.YEAR].values:
        return None
    values = values.sel({names.YEAR: year})
    return values if bool(values.notnull().any()) else None


def key_figures(
    ds: xr.Dataset,
    *,
    year: int | None = None,
    baseline: str | None = None,
    specs: tuple[KeyFigureSpec, ...] = KEY_FIGURES,
) -> list[KeyFigure]:
    """Every key figure of every scenario, with the uncertainty range (5%, 50%, 95%
    quantiles), the probability of meeting the target and the paired difference from the
    baseline scenario (taken in the scenario's own year). Each scenario's figures are for
    ``year`` if given, else for its own plan's target year (:func:`figure_years`); its
    targets are those its tasks ran with (:func:`plan_targets`; none for results without
    them). Figures whose variables are absent or all NaN are left out."""
    ds = flatten_sweep(ds)
    scenarios = [str(s) for s in ds[names.SCENARIO].values]
    targets = plan_targets(ds) if has_targets(ds) else {}
    years = {sc: year for sc in scenarios} if year is not None else figure_years(ds)
    base = baseline or baseline_scenario(ds)
    out: list[KeyFigure] = []
    for spec in specs:
        by_sc: dict[str, KeyFigure] = {}
        for y in sorted(set(years.values())):
            values = key_figure_in_year(ds, spec, y)
            if values is None:
                continue
            stats = _YearStats.of(values, base, len(scenarios) > 1)
            for sc in (s for s in scenarios if years[s] == y):
                by_sc[sc] = _key_figure(spec, sc, y, stats, targets.get(sc))
        out += [by_sc[sc] for sc in scenarios if sc in by_sc]
    return out


@dataclass(frozen=True)
class _YearStats:
    """One key figure's reductions over the sample in one year, for every scenario."""

    values: xr.DataArray
    quantiles: xr.DataArray
    central: xr.DataArray
    n: xr.DataArray
    diffs: xr.Dataset | None
    baseline: str

    @classmethod
    def of(cls, values: xr.DataArray, baseline: str, paired: bool) -> _YearStats:
        size = uncertainty_sample(values)
        return cls(
            values,
            quantiles(values, RANGE_QUANTILES),
            central(values),
            size.notnull().sum(sample_dim(size)),
            paired_difference(values, baseline) if paired else None,
            baseline,
        )


def _key_figure(
    spec: KeyFigureSpec, sc: str, year: int, st: _YearStats, targets: PlanTargets | None
) -> KeyFigure:
    """Scenario ``sc``'s key figure in ``year``, against its own targets."""
    applies = targets is not None and ((not spec.target_year_only) or year == targets.year)
    target = spec.target(targets) if applies and targets is not None else None
    sense = spec.sense if target is not None else None
    c = _f(st.central.sel({names.SCENARIO: sc}))
    p_meets: float | None = None
    meets_central: bool | None = None
    if target is not None and sense is not None:
        v_sc = st.values.sel({names.SCENARIO: sc})
        p_meets = _f(exceedance(v_sc, target, above=sense == ">="))
        if math.isfinite(c):
            meets_central = c >= target if sense == ">=" else c <= target
    dm = dl = dh = None
    if st.diffs is not None and sc != st.baseline:
        d = st.diffs.sel({names.SCENARIO: sc})
        dm, dl, dh = _f(d["mean"]), _f(d["low"]), _f(d["high"])
    q = st.quantiles.sel({names.SCENARIO: sc})
    return KeyFigure(
        key=spec.key,
        scenario=sc,
        year=int(year),
        unit=spec.unit,
        central=c,
        low=_f(q.sel({QUANTILE: 0.05})),
        median=_f(q.sel({QUANTILE: 0.5})),
        high=_f(q.sel({QUANTILE: 0.95})),
        n=int(st.n.sel({names.SCENARIO: sc})),
        target=target,
        sense=sense,
        p_meets=p_meets,
        meets_central=meets_central,
        diff_mean=dm,
        diff_low=dl,
        diff_high=dh,
        des=spec.des,
    )
