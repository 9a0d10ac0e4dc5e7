"""Frozen configuration of one discrete-event run (plain dataclasses, no TOML).

Everything the engine needs is here, already resolved to numbers: the runner
(``sim.runs.batch``) builds a :class:`DesConfig` from a scenario and the expected
level's outputs; the engine never reads a file.

Conventions:

* Time is measured in **days** from 00:00 of ``DesConfig.start``; "day d" is
  the interval [d, d + 1). Warm-up days have negative times.
* Per-day series (expected arrivals, clinic capacity, booking days) are tuples
  with one value per simulated day (``n_days`` values, warm-up excluded).
* Capacity may be ``math.inf`` (an unconstrained resource: raw demand).
* Durations are :class:`Duration` = a ``sim.base.los.LosDistribution`` read in a unit
  (days, hours or minutes), so one family of distributions serves lengths of
  stay, ED treatment times and ambulance job times.

Validation raises ``ValueError`` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from sim.base.los import LosDistribution
from sim.base.names import ACUITIES, DES_ROUTES
from sim.des.policies import BedAllocationPolicy, EDQueuePolicy, MostFreeBeds, StrictTriage

__all__ = [
    "ED_MODES",
    "ELECTIVE_ROUTE",
    "ROUTES",
    "AdmissionStream",
    "AmbulanceService",
    "ArrivalRate",
    "BedPool",
    "CapacitySchedule",
    "ClinicGroup",
    "DesConfig",
    "DischargeRule",
    "Disposition",
    "Duration",
    "EDArrivalStream",
    "ElectiveBooking",
    "EmergencyDepartment",
    "WholeHospitalPooling",
]

ED_MODES: Final[tuple[str, str]] = ("ambulance", "walk_in")
ROUTES: Final[tuple[str, ...]] = DES_ROUTES
"""The DES's admission routes (:data:`sim.base.names.DES_ROUTES`), by index in the
engines' arrays."""
ELECTIVE_ROUTE: Final = ROUTES.index("elective")

Route = Literal["elective", "maternity", "direct"]
WhenFull = Literal["queue", "lose"]
_UNIT_DAYS: Final = {"days": 1.0, "hours": 1.0 / 24.0, "minutes": 1.0 / 1440.0}


def _fail(name: str, value: object, allowed: str) -> None:
    raise ValueError(f"{name} = {value!r}: {allowed}")


def _check_shares(name: str, shares: tuple[float, ...], n: int) -> None:
    if len(shares) != n:
        _fail(name, f"{len(shares)} values", f"needs exactly {n} values")
    if any(not math.isfinite(s) or s < 0 for s in shares):
        _fail(name, shares, "shares must be finite and >= 0")
    if abs(sum(shares) - 1.0) > 1e-6:
        _fail(name, round(sum(shares), 9), "shares must sum to 1")


def _check_series(name: str, values: tuple[float, ...], n_days: int) -> None:
    if len(values) != n_days:
        _fail(name, f"{len(values)} days", f"needs one value per simulated day ({n_days})")
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        _fail(name, "a negative or non-finite value", "every value must be finite and >= 0")


def _check_probability(name: str, p: float) -> None:
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        _fail(name, p, "must be a probability in [0, 1]")


@dataclass(frozen=True)
class Duration:
    """A random duration: ``dist`` (a LosDistribution, numerically in ``unit``).

    ``Duration(LosDistribution("lognormal", 3.0, 0.8), "hours")`` is a lognormal
    ED treatment time of mean 3 hours. :meth:`ppf_days` maps uniforms to days.
    """

    dist: LosDistribution
    unit: Literal["days", "hours", "minutes"] = "days"

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_DAYS:
            _fail("Duration.unit", self.unit, f"must be one of {', '.join(_UNIT_DAYS)}")

    @property
    def mean_days(self) -> float:
        """Mean in days."""
        return self.dist.mean * _UNIT_DAYS[self.unit]

    def ppf_days(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Durations in days at probabilities ``u`` (inverse CDF)."""
        return self.dist.ppf(u) * _UNIT_DAYS[self.unit]


@dataclass(frozen=True)
class CapacitySchedule:
    """Capacity in force on each day: ``initial`` from the start, then each
    ``(date, capacity)`` change from 00:00 of that date (e.g. a hospital
    opening). Capacity is a whole number or ``math.inf``."""

    initial: float
    changes: tuple[tuple[dt.date, float], ...] = ()

    def __post_init__(self) -> None:
        for value in (self.initial, *(c for _, c in self.changes)):
            if not (
                value == math.inf or (math.isfinite(value) and value >= 0 and value == int(value))
            ):
                _fail("CapacitySchedule capacity", value, "must be a whole number >= 0 or math.inf")
        dates = [d for d, _ in self.changes]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            _fail("CapacitySchedule.changes", dates, "dates must be distinct and ascending")

    def by_day(self, start: dt.date, n_days: int) -> NDArray[np.float64]:
        """Capacity on each of ``n_days`` days from ``start`` (float; inf allowed)."""
        out = np.full(n_days, float(self.initial))
        for date, value in self.changes:
            k = (date - start).days
            out[max(k, 0) :] = value
        return out


@dataclass(frozen=True)
class ArrivalRate:
    """A non-homogeneous Poisson rate: expected arrivals per day (one value per
    simulated day) spread within each day by 24 hour-of-day shares."""

    daily: tuple[float, ...]
    hourly: tuple[float, ...]

    def check(self, name: str, n_days: int) -> None:
        _check_series(f"{name}.daily", self.daily, n_days)
        _check_shares(f"{name}.hourly", self.hourly, 24)


@dataclass(frozen=True)
class BedPool:
    """One bed pool (a service line, or a long-stay elderly-care pool).

    Attributes:
        name: pool name (unique).
        capacity: beds over time (inf allowed).
        elective_reserve: beds an elective may not take (kept for emergencies).
    """

    name: str
    capacity: CapacitySchedule
    elective_reserve: int = 0


@dataclass(frozen=True)
class AdmissionStream:
    """Admissions that do not come through the ED model.

    Attributes:
        name: stream name (unique; names its random streams).
        pool: the pool the patient belongs to.
        route: ``"elective"`` (booked; deferred when no bed), ``"maternity"``
            or ``"direct"`` (unplanned, e.g. from clinics).
        arrivals: expected admissions per day and hour-of-day shares.
        los: length of stay.
        when_full: for non-electives, ``"queue"`` (wait FIFO with the emergency
            class) or ``"lose"`` (turned away, e.g. sent to another district).
        onward: the stages of the stay after the first, each ``(pool, share)``:
            the patient moves to a bed of ``pool`` for ``share`` of the whole
            stay ``los`` (e.g. an ICU stay, then a ward step-down bed); the first
            stage, in ``pool``, takes the rest. Empty = one stage.
    """

    name: str
    pool: str
    route: Route
    arrivals: ArrivalRate
    los: Duration
    when_full: WhenFull = "queue"
    onward: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EDArrivalStream:
    """ED arrivals of one acuity level, mode and (optional) age band."""

    name: str
    acuity: int
    mode: Literal["ambulance", "walk_in"]
    arrivals: ArrivalRate
    age_band: str = "all"


@dataclass(frozen=True)
class Disposition:
    """Where ED patients of one acuity (and age band) go after treatment.

    ``home + transfer + sum(admit probabilities) == 1``; ``admit`` maps pool name
    to the probability of admission to that pool.
    """

    acuity: int
    home: float
    transfer: float
    admit: tuple[tuple[str, float], ...]
    age_band: str = "all"

    def probabilities(self, pools: tuple[str, ...]) -> NDArray[np.float64]:
        """[home, transfer, pool_0, pool_1, ...] in the order of ``pools``."""
        admit = dict(self.admit)
        return np.array([self.home, self.transfer, *(admit.get(p, 0.0) for p in pools)])


@dataclass(frozen=True)
class EmergencyDepartment:
    """The district's emergency departments as one pool of treatment spaces.

    Attributes:
        spaces: treatment spaces (cubicles / trolleys) over time; inf allowed.
        arrivals: arrival streams by acuity, mode and age band.
        treatment: treatment time by acuity (arrival at a space to decision).
        dispositions: by acuity (and age band).
        admitted_los: length of stay of ED admissions, by pool name.
        admitted_onward: onward stages of ED admissions, by the pool admitted to
            (as ``AdmissionStream.onward``).
        policy: the queue discipline for treatment spaces.
    """

    spaces: CapacitySchedule
    arrivals: tuple[EDArrivalStream, ...]
    treatment: tuple[tuple[int, Duration], ...]
    dispositions: tuple[Disposition, ...]
    admitted_los: tuple[tuple[str, Duration], ...]
    admitted_onward: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    policy: EDQueuePolicy = field(default_factory=StrictTriage)


@dataclass(frozen=True)
class ClinicGroup:
    """Community clinics (社康) of one area as a daily appointment book.

    Each day, new requests join those carried over; the day's appointments
    serve the longest-waiting first. Each request still unmet at the end of a
    day is diverted to the ED with ``p_divert_ed``, to hospital outpatients with
    ``p_divert_outpatient``, abandons with ``p_abandon``, and otherwise waits
    another day (probabilities per request per day; their sum <= 1).

    Attributes:
        name: group name.
        demand: expected requests per day (one per simulated day).
        capacity: appointments per day (one whole number per simulated day).
        p_abandon, p_divert_ed, p_divert_outpatient: see above.
        ed_acuity: shares of diverted ED arrivals by acuity 1..4.
        ed_hourly: hour-of-day shares of diverted ED arrivals.
        max_wait_days: waits are tracked by day up to this; longer waits share
            the last (open) bucket.
    """

    name: str
    demand: tuple[float, ...]
    capacity: tuple[float, ...]
    p_abandon: float
    p_divert_ed: float
    p_divert_outpatient: float
    ed_acuity: tuple[float, ...]
    ed_hourly: tuple[float, ...]
    max_wait_days: int = 60


@dataclass(frozen=True)
class AmbulanceService:
    """Ambulance (120) dispatches against a fleet, first come first served.

    An ambulance is busy for ``travel + job``: ``travel`` from dispatch to the
    scene, ``job`` from the scene until free again (on scene, conveyance,
    handover, return). The response time of a call is the delay until an
    ambulance is free plus its travel time.
    """

    dispatches: ArrivalRate
    fleet: CapacitySchedule
    travel: Duration
    job: Duration
    response_target_minutes: float = 15.0
    """The plan's "15-minute emergency circle" (DATA.md, plan 002 §7)."""


@dataclass(frozen=True)
class WholeHospitalPooling:
    """The "whole hospital, one bed pool" (全院一张床) reform.

    When a patient's own pool is full, they take a free bed in another pool
    (the one with most free beds); their length of stay is multiplied by
    ``los_multiplier`` (>= 1: outlying patients stay longer — the stated
    penalty). Applies to the listed routes and pools (``None`` = all pools).

    ``share`` is the reform's path by simulated day (one value per day, 0-1): on
    day d at most ``floor(share[d] * beds)`` of a listed pool's beds hold other
    pools' patients (0 = no pooling that day). Empty = 1 on every day.
    ``policy`` chooses the pool an outlying patient is placed in.
    """

    los_multiplier: float
    routes: frozenset[str] = frozenset({"emergency", "direct"})
    pools: tuple[str, ...] | None = None
    share: tuple[float, ...] = ()
    policy: BedAllocationPolicy = field(default_factory=MostFreeBeds)


@dataclass(frozen=True)
class DischargeRule:
    """When in the day patients leave.

    * ``"exact"``: at admission + length of stay (the LOS distribution is kept
      exactly; occupancy is an M(t)/G/∞ system when beds are unlimited).
    * ``"daytime"``: a stay that crosses midnight ends on the same calendar day
      as admission + LOS, at an hour drawn from ``hourly``; a same-day stay is
      unchanged. The number of midnights each patient spends in bed — hence
      the midnight census — is exactly that of ``"exact"``.
    """

    kind: Literal["exact", "daytime"] = "exact"
    hourly: tuple[float, ...] = tuple([1.0 / 24.0] * 24)


@dataclass(frozen=True)
class ElectiveBooking:
    """Elective booking rule.

    Electives arrive at their booked times (their stream's profile puts them on
    working days). One arriving when its pool has no bed free beyond
    ``BedPool.elective_reserve``, or while emergencies wait for that pool, is
    deferred to the waiting list. On each booking day (``booking_days``, one
    flag per simulated day) at ``retry_hour`` the waiting list is offered free
    beds, longest-waiting first; the rest wait for the next booking day.
    """

    booking_days: tuple[bool, ...]
    retry_hour: float


@dataclass(frozen=True)
class DesConfig:
    """Everything one discrete-event replicate needs.

    Attributes:
        start: first simulated day (00:00 is time 0).
        n_days: simulated days (outputs cover these).
        warmup_days: days simulated before ``start`` and then discarded.
        warmup: rates during the warm-up: ``"cyclic"`` — warm-up day −k has the
            rates of day (n_days − k) mod n_days (the series repeats, as
            ``sim.model.analytic.mtginf_occupancy(warmup="cyclic")`` assumes);
            ``"first_year"`` — warm-up day −k has the rates of day
            (−k) mod min(364, n_days): the first 52 weeks repeat (better for a
            growing series than ``"cyclic"``, which starts from the last year);
            ``"mean"`` — each series' mean over its first
            ``min(warmup_days, n_days)`` days (as ``warmup=<int>`` there).
        pools: bed pools (unique names).
        admissions: non-ED admission streams.
        ed: the emergency department, or None.
        clinics: community-clinic groups.
        ambulance: the ambulance service, or None.
        pooling: the whole-hospital one-pool option, or None (off).
        discharge: discharge-time rule.
        electives: elective booking rule; None only if there are no electives.
    """

    start: dt.date
    n_days: int
    pools: tuple[BedPool, ...]
    admissions: tuple[AdmissionStream, ...] = ()
    ed: EmergencyDepartment | None = None
    clinics: tuple[ClinicGroup, ...] = ()
    ambulance: AmbulanceService | None = None
    pooling: WholeHospitalPooling | None = None
    discharge: DischargeRule = field(default_factory=DischargeRule)
    electives: ElectiveBooking | None = None
    warmup_days: int = 0
    warmup: Literal["cyclic", "first_year", "mean"] = "cyclic"

    def __post_init__(self) -> None:
        self.validate()

    @property
    def pool_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pools)

    def pool_index(self, name: str) -> int:
        names = self.pool_names
        if name not in names:
            _fail("pool", name, f"must be one of {', '.join(names)}")
        return names.index(name)

    def validate(self) -> None:
        """Check every field and cross-field rule; raise ValueError on the first problem."""
        self._validate_run()
        names = self.pool_names
        self._validate_pools()
        _unique("admissions", [s.name for s in self.admissions])
        for s in self.admissions:
            self._validate_admission(s, names)
        self._validate_electives()
        self._validate_discharge()
        if self.ed is not None:
            self._validate_ed(self.ed, names)
        _unique("clinics", [c.name for c in self.clinics])
        for c in self.clinics:
            self._validate_clinic(c)
        if self.ambulance is not None:
            self._validate_ambulance(self.ambulance)
        if self.pooling is not None:
            self._validate_pooling(self.pooling, names)

    def _validate_run(self) -> None:
        if self.n_days < 1:
            _fail("n_days", self.n_days, "must be >= 1")
        if self.warmup_days < 0:
            _fail("warmup_days", self.warmup_days, "must be >= 0")
        if self.warmup not in ("cyclic", "first_year", "mean"):
            _fail("warmup", self.warmup, "must be 'cyclic', 'first_year' or 'mean'")

    def _validate_pools(self) -> None:
        _unique("pools", self.pool_names)
        for pool in self.pools:
            if pool.elective_reserve < 0:
                _fail(f"pools[{pool.name}].elective_reserve", pool.elective_reserve, "must be >= 0")

    def _validate_admission(self, s: AdmissionStream, names: tuple[str, ...]) -> None:
        if s.pool not in names:
            _fail(f"admissions[{s.name}].pool", s.pool, f"must be one of {', '.join(names)}")
        if s.route not in ("elective", "maternity", "direct"):
            _fail(f"admissions[{s.name}].route", s.route, "must be elective, maternity or direct")
        if s.when_full not in ("queue", "lose"):
            _fail(f"admissions[{s.name}].when_full", s.when_full, "must be 'queue' or 'lose'")
        s.arrivals.check(f"admissions[{s.name}].arrivals", self.n_days)
        _check_onward(f"admissions[{s.name}].onward", s.pool, s.onward, names)

    def _validate_electives(self) -> None:
        if any(s.route == "elective" for s in self.admissions) and self.electives is None:
            _fail("electives", None, "an elective stream needs an ElectiveBooking rule")
        if self.electives is None:
            return
        if len(self.electives.booking_days) != self.n_days:
            _fail(
                "electives.booking_days",
                len(self.electives.booking_days),
                f"needs one flag per simulated day ({self.n_days})",
            )
        if not 0.0 <= self.electives.retry_hour < 24.0:
            _fail("electives.retry_hour", self.electives.retry_hour, "must lie in [0, 24)")

    def _validate_discharge(self) -> None:
        if self.discharge.kind not in ("exact", "daytime"):
            _fail("discharge.kind", self.discharge.kind, "must be 'exact' or 'daytime'")
        _check_shares("discharge.hourly", self.discharge.hourly, 24)

    def _validate_ed(self, ed: EmergencyDepartment, names: tuple[str, ...]) -> None:
        if not isinstance(ed.policy, EDQueuePolicy):
            _fail("ed.policy", ed.policy, "must be an EDQueuePolicy (sim.des.policies)")
        _unique("ed.arrivals", [s.name for s in ed.arrivals])
        for s in ed.arrivals:
            if s.acuity not in ACUITIES:
                _fail(f"ed.arrivals[{s.name}].acuity", s.acuity, "must be 1, 2, 3 or 4")
            if s.mode not in ED_MODES:
                _fail(f"ed.arrivals[{s.name}].mode", s.mode, "must be 'ambulance' or 'walk_in'")
            s.arrivals.check(f"ed.arrivals[{s.name}].arrivals", self.n_days)
        treat = dict(ed.treatment)
        if sorted(treat) != list(ACUITIES):
            _fail("ed.treatment", sorted(treat), "needs one treatment time for each acuity 1..4")
        for d in ed.dispositions:
            _check_disposition(d, names)
        self._validate_ed_coverage(ed)
        self._validate_ed_admitted(ed, names)

    def _validate_ed_coverage(self, ed: EmergencyDepartment) -> None:
        keys = [(d.acuity, d.age_band) for d in ed.dispositions]
        _unique("ed.dispositions (acuity, age_band)", keys)
        needed = {(s.acuity, s.age_band) for s in ed.arrivals}
        if self.clinics and any(c.p_divert_ed > 0 for c in self.clinics):
            needed |= {(a, "all") for a in ACUITIES}
        missing = sorted(needed - set(keys))
        if missing:
            _fail(
                "ed.dispositions",
                missing,
                "every (acuity, age_band) that arrives needs a disposition",
            )

    def _validate_ed_admitted(self, ed: EmergencyDepartment, names: tuple[str, ...]) -> None:
        admitted_to = {p for d in ed.dispositions for p, prob in d.admit if prob > 0}
        missing_los = sorted(admitted_to - {p for p, _ in ed.admitted_los})
        if missing_los:
            _fail(
                "ed.admitted_los", missing_los, "every pool the ED admits to needs a length of stay"
            )
        _unique("ed.admitted_onward", [p for p, _ in ed.admitted_onward])
        for pool, onward in ed.admitted_onward:
            if pool not in admitted_to:
                _fail(
                    "ed.admitted_onward",
                    pool,
                    f"keys must be pools the ED admits to ({', '.join(sorted(admitted_to))})",
                )
            _check_onward(f"ed.admitted_onward[{pool}]", pool, onward, names)

    def _validate_clinic(self, c: ClinicGroup) -> None:
        name = f"clinics[{c.name}]"
        _check_series(f"{name}.demand", c.demand, self.n_days)
        _check_series(f"{name}.capacity", c.capacity, self.n_days)
        if any(v != int(v) for v in c.capacity):
            _fail(f"{name}.capacity", "a fraction", "appointments must be whole numbers")
        for pname in ("p_abandon", "p_divert_ed", "p_divert_outpatient"):
            _check_probability(f"{name}.{pname}", getattr(c, pname))
        if c.p_abandon + c.p_divert_ed + c.p_divert_outpatient > 1.0 + 1e-12:
            _fail(name, "p_abandon + p_divert_ed + p_divert_outpatient", "must not exceed 1")
        _check_shares(f"{name}.ed_acuity", c.ed_acuity, len(ACUITIES))
        _check_shares(f"{name}.ed_hourly", c.ed_hourly, 24)
        if c.max_wait_days < 1:
            _fail(f"{name}.max_wait_days", c.max_wait_days, "must be >= 1")
        if c.p_divert_ed > 0 and self.ed is None:
            _fail(f"{name}.p_divert_ed", c.p_divert_ed, "diversion to the ED needs an ed")

    def _validate_ambulance(self, amb: AmbulanceService) -> None:
        amb.dispatches.check("ambulance.dispatches", self.n_days)
        if not amb.response_target_minutes > 0:
            _fail("ambulance.response_target_minutes", amb.response_target_minutes, "must be > 0")

    def _validate_pooling(self, pooling: WholeHospitalPooling, names: tuple[str, ...]) -> None:
        if not (math.isfinite(pooling.los_multiplier) and pooling.los_multiplier >= 1.0):
            _fail("pooling.los_multiplier", pooling.los_multiplier, "must be a finite number >= 1")
        bad = set(pooling.routes) - set(ROUTES)
        if bad:
            _fail("pooling.routes", sorted(bad), f"routes must be among {', '.join(ROUTES)}")
        for p in pooling.pools or ():
            if p not in names:
                _fail("pooling.pools", p, f"must be one of {', '.join(names)}")
        if len(pooling.share) not in (0, self.n_days):
            _fail(
                "pooling.share",
                f"{len(pooling.share)} values",
                f"needs no value (always 1) or one per simulated day ({self.n_days})",
            )
        bad_share = [s for s in pooling.share if not (math.isfinite(s) and 0.0 <= s <= 1.0)]
        if bad_share:
            _fail("pooling.share", bad_share[0], "every value must be finite and in [0, 1]")
        if not isinstance(pooling.policy, BedAllocationPolicy):
            _fail(
                "pooling.policy", pooling.policy, "must be a BedAllocationPolicy (sim.des.policies)"
            )


def _check_disposition(d: Disposition, names: tuple[str, ...]) -> None:
    name = f"ed.dispositions[{d.acuity},{d.age_band}]"
    for p, prob in d.admit:
        if p not in names:
            _fail(f"{name}.admit", p, f"must be one of {', '.join(names)}")
        _check_probability(f"{name}.admit[{p}]", prob)
    _check_probability(f"{name}.home", d.home)
    _check_probability(f"{name}.transfer", d.transfer)
    total = d.home + d.transfer + sum(p for _, p in d.admit)
    if abs(total - 1.0) > 1e-9:
        _fail(name, round(total, 12), "probabilities must sum to 1")


def _check_onward(
    name: str, first: str, onward: tuple[tuple[str, float], ...], names: tuple[str, ...]
) -> None:
    """Onward stages after a first stage in pool ``first``: each pool exists and differs
    from the stage before; each share of the whole stay is finite in (0, 1); they sum < 1."""
    previous = first
    for k, (pool, share) in enumerate(onward):
        if pool not in names:
            _fail(f"{name}[{k}].pool", pool, f"must be one of {', '.join(names)}")
        if pool == previous:
            _fail(f"{name}[{k}].pool", pool, f"must differ from the stage before ({previous})")
        if not (math.isfinite(share) and 0.0 < share < 1.0):
            _fail(f"{name}[{k}].share", share, "must be a finite share of the stay in (0, 1)")
        previous = pool
    total = sum(share for _, share in onward)
    if onward and not total < 1.0:
        _fail(
            f"{name} shares",
            round(total, 12),
            "must sum to < 1 (the first stage takes the rest of the stay)",
        )


def _unique(name: str, items: Iterable[object]) -> None:
    seen: set[object] = set()
    for item in items:
        if item in seen:
            _fail(name, item, "names must be unique")
        seen.add(item)
