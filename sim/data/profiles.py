"""Time profiles of arrivals: hour of day, day of week, month, public holidays.

Two default tables ship in this folder (provenance in ``DATA.md``, rows of the
discrete-event section):

* ``arrival_profiles.csv``: for each service (``ed_walk_in``, ``ed_ambulance``,
  ``admission_direct``, ``admission_elective``, ``admission_maternity``,
  ``discharge``, ``clinic``, ``ambulance_dispatch``) 24 hour-of-day weights, 7
  weekday factors, 12 month factors and the holiday factors, each with a central
  value and a low/high range. Columns ``profile, part, key, value, low, high,
  basis``.
* ``holidays.csv``: China's official days off (the State Council's yearly
  notices for 2024-2026; estimated from the Chinese calendar for 2027-2035),
  the make-up working days (调休) and the first day of each lunar year.
  Columns ``date, kind, name, status, source``.

Either table can be replaced by a user CSV with the same columns.

How a daily series is built (:func:`daily_expected`): the weight of day d is

    w(d) = special(d) · month[month(d)] · window(d)

where special(d) is the ``spring_festival`` factor on an official Spring
Festival day off, the ``public_holiday`` factor on another official day off, the
mean Monday-Friday factor on a make-up working day, and the weekday factor
otherwise; window(d) is ``lny_window_factor`` from ``lny_window_before`` days
before to ``lny_window_after`` days after the lunar new year (Shenzhen's migrant
population leaves for the festival), 1 elsewhere. An annual volume is spread
over its calendar year in proportion to w, so the profile moves volume between
days but never changes the year's total.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sim.base.errors import ScenarioError
from sim.data import DATA_DIR, read_csv

__all__ = [
    "ADMISSION_DIRECT",
    "ADMISSION_ELECTIVE",
    "ADMISSION_MATERNITY",
    "AMBULANCE_DISPATCH",
    "CLINIC",
    "DISCHARGE",
    "ED_AMBULANCE",
    "ED_WALK_IN",
    "HOLIDAY_KINDS",
    "PROFILE_NAMES",
    "HolidayCalendar",
    "TimeProfile",
    "daily_expected",
    "day_weights",
    "load_holidays",
    "load_profiles",
    "working_days",
]

PROFILE_COLUMNS = ("profile", "part", "key", "value", "low", "high", "basis")
HOLIDAY_COLUMNS = ("date", "kind", "name", "status", "source")
HOLIDAY_KINDS = ("public_holiday", "spring_festival", "makeup_workday", "lunar_new_year")
PROFILE_NAMES = (
    "ed_walk_in",
    "ed_ambulance",
    "admission_direct",
    "admission_elective",
    "admission_maternity",
    "discharge",
    "clinic",
    "ambulance_dispatch",
)
"""Services with a default profile in ``arrival_profiles.csv``."""
(
    ED_WALK_IN,
    ED_AMBULANCE,
    ADMISSION_DIRECT,
    ADMISSION_ELECTIVE,
    ADMISSION_MATERNITY,
    DISCHARGE,
    CLINIC,
    AMBULANCE_DISPATCH,
) = PROFILE_NAMES

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPECIAL_KEYS = (
    "public_holiday",
    "spring_festival",
    "lny_window_factor",
    "lny_window_before",
    "lny_window_after",
)
Bound = str  # "value" (central), "low" or "high"


@dataclass(frozen=True)
class TimeProfile:
    """Time pattern of one service's arrivals (all factors dimensionless).

    Attributes:
        name: service name, e.g. ``"ed_walk_in"``.
        hourly: 24 shares of a day's arrivals by hour of day 00..23; sum to 1.
        weekday: 7 relative factors, Monday first.
        month: 12 relative factors, January first.
        public_holiday: factor on an official day off (other than the Spring
            Festival); replaces the weekday factor.
        spring_festival: factor on an official Spring Festival day off;
            replaces the weekday factor.
        lny_window_factor: multiplies every day of the lunar-new-year window.
        lny_window_before: days of the window before the lunar new year.
        lny_window_after: days of the window after the lunar new year.
    """

    name: str
    hourly: tuple[float, ...]
    weekday: tuple[float, ...]
    month: tuple[float, ...]
    public_holiday: float
    spring_festival: float
    lny_window_factor: float
    lny_window_before: int
    lny_window_after: int

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or len(self.weekday) != 7 or len(self.month) != 12:
            raise ValueError(
                f"profile {self.name!r} needs 24 hourly, 7 weekday and 12 month values"
            )
        values = (
            *self.hourly,
            *self.weekday,
            *self.month,
            self.public_holiday,
            self.spring_festival,
            self.lny_window_factor,
        )
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"profile {self.name!r}: every factor must be finite and >= 0")
        if abs(sum(self.hourly) - 1.0) > 1e-9:
            raise ValueError(f"profile {self.name!r}: hourly shares must sum to 1")
        if self.lny_window_before < 0 or self.lny_window_after < 0:
            raise ValueError(f"profile {self.name!r}: lunar-new-year window lengths must be >= 0")


@dataclass(frozen=True)
class HolidayCalendar:
    """Official days off, make-up working days and lunar new years.

    Attributes:
        public_holidays: official days off other than the Spring Festival.
        spring_festival: official Spring Festival days off.
        makeup_workdays: Saturdays and Sundays that are official working days.
        lunar_new_year: first day of the lunar year, by Gregorian year.
        first_year, last_year: calendar years the table covers (inclusive).
        source: file the calendar was read from.
    """

    public_holidays: frozenset[dt.date]
    spring_festival: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]
    lunar_new_year: Mapping[int, dt.date]
    first_year: int
    last_year: int
    source: str

    def check_covers(self, first: dt.date, last: dt.date) -> None:
        """Raise ``ValueError`` unless the calendar covers ``first``..``last``."""
        if first.year < self.first_year or last.year > self.last_year:
            raise ValueError(
                f"holiday calendar {self.source} covers {self.first_year}-{self.last_year}; "
                f"dates {first}..{last} need a calendar CSV that covers them"
            )


def _float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(path, f"row {line}, {column}", text, "must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(path, f"row {line}, {column}", text, "must be a finite number >= 0")
    return value


_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "hour": tuple(str(h) for h in range(24)),
    "weekday": WEEKDAYS,
    "month": tuple(str(m) for m in range(1, 13)),
    "special": SPECIAL_KEYS,
}
"""Keys each ``part`` of ``arrival_profiles.csv`` allows (hours 0..23, months 1..12)."""

_NEEDED_ROWS = tuple((part, key) for part, keys in _ALLOWED_KEYS.items() for key in keys)
"""Every (part, key) a profile must give: 24 + 7 + 12 + 5 rows."""


def load_profiles(
    path: str | Path | None = None, *, bound: Bound = "value"
) -> dict[str, TimeProfile]:
    """Read every profile of an ``arrival_profiles.csv``-shaped table.

    Args:
        path: a CSV with columns ``profile, part, key, value, low, high, basis``;
            ``None`` reads the default table of this folder.
        bound: which column to read: ``"value"`` (central), ``"low"`` or ``"high"``.
            Hourly weights are renormalised to shares after the choice.

    Returns:
        Profiles by service name.

    Raises:
        ScenarioError: a missing, duplicated or malformed row, naming file, row
            and the allowed values.
    """
    if bound not in ("value", "low", "high"):
        raise ValueError(f"bound must be 'value', 'low' or 'high', got {bound!r}")
    file = Path(path) if path is not None else DATA_DIR / "arrival_profiles.csv"
    rows = read_csv(file, PROFILE_COLUMNS, "arrival_profiles")
    table = _profile_entries(file, rows, bound)
    return {name: _profile(file, name, entry) for name, entry in table.items()}


def _profile_entries(
    file: Path, rows: list[dict[str, str]], bound: Bound
) -> dict[str, dict[tuple[str, str], float]]:
    """The chosen bound of every row, by profile and (part, key); rows checked in file order."""
    table: dict[str, dict[tuple[str, str], float]] = {}
    for line, row in enumerate(rows, start=2):
        part, key = row["part"], row["key"]
        _check_part_key(file, line, part, key)
        entry = table.setdefault(row["profile"], {})
        if (part, key) in entry:
            raise ScenarioError(
                file, f"row {line}", f"{row['profile']}.{part}.{key}", "appears twice"
            )
        entry[(part, key)] = _row_bound(file, line, row, bound)
    return table


def _check_part_key(file: Path, line: int, part: str, key: str) -> None:
    """Refuse a ``part`` or a ``key`` (of that part) that the table does not know."""
    if part not in _ALLOWED_KEYS:
        raise ScenarioError(
            file, f"row {line}, part", part, f"must be one of {', '.join(_ALLOWED_KEYS)}"
        )
    if key not in _ALLOWED_KEYS[part]:
        raise ScenarioError(
            file,
            f"row {line}, key",
            key,
            f"for part {part!r} must be one of {', '.join(_ALLOWED_KEYS[part])}",
        )


def _row_bound(file: Path, line: int, row: dict[str, str], bound: Bound) -> float:
    """The row's ``bound`` column, once low <= value <= high is checked (dimensionless)."""
    # Read low, high, value in this order: a file with several bad cells names the first.
    low = _float(file, line, "low", row["low"])
    high = _float(file, line, "high", row["high"])
    value = _float(file, line, "value", row["value"])
    if not low <= value <= high:
        raise ScenarioError(
            file, f"row {line}, value", value, f"must lie in [low, high] = [{low}, {high}]"
        )
    return {"value": value, "low": low, "high": high}[bound]


def _profile(file: Path, name: str, entry: dict[tuple[str, str], float]) -> TimeProfile:
    """One service's profile from its rows; hourly weights rescaled to shares summing to 1."""
    missing = [f"{p}.{k}" for p, k in _NEEDED_ROWS if (p, k) not in entry]
    if missing:
        raise ScenarioError(
            file, f"profile {name}", None, f"is missing rows: {', '.join(missing[:6])}"
        )
    hourly = np.array([entry[("hour", str(h))] for h in range(24)])
    if hourly.sum() <= 0:
        raise ScenarioError(file, f"profile {name}", None, "hourly weights must not all be zero")
    return TimeProfile(
        name=name,
        hourly=tuple(float(x) for x in hourly / hourly.sum()),
        weekday=tuple(entry[("weekday", d)] for d in WEEKDAYS),
        month=tuple(entry[("month", str(m))] for m in range(1, 13)),
        public_holiday=entry[("special", "public_holiday")],
        spring_festival=entry[("special", "spring_festival")],
        lny_window_factor=entry[("special", "lny_window_factor")],
        lny_window_before=round(entry[("special", "lny_window_before")]),
        lny_window_after=round(entry[("special", "lny_window_after")]),
    )


def load_holidays(path: str | Path | None = None) -> HolidayCalendar:
    """Read a ``holidays.csv``-shaped table (columns ``date, kind, name, status, source``).

    ``kind`` is one of ``public_holiday``, ``spring_festival`` (official days off),
    ``makeup_workday`` (a weekend working day) or ``lunar_new_year`` (a marker,
    not a day off). The covered years run from the first to the last year with a
    ``lunar_new_year`` row; every year in between must have one.
    """
    file = Path(path) if path is not None else DATA_DIR / "holidays.csv"
    rows = read_csv(file, HOLIDAY_COLUMNS, "holidays")
    sets: dict[str, set[dt.date]] = {k: set() for k in HOLIDAY_KINDS}
    lny: dict[int, dt.date] = {}
    for line, row in enumerate(rows, start=2):
        try:
            day = dt.date.fromisoformat(row["date"])
        except ValueError:
            raise ScenarioError(
                file, f"row {line}, date", row["date"], "must be a date YYYY-MM-DD"
            ) from None
        kind = row["kind"]
        if kind not in sets:
            raise ScenarioError(
                file, f"row {line}, kind", kind, f"must be one of {', '.join(HOLIDAY_KINDS)}"
            )
        if kind == "lunar_new_year":
            if day.year in lny:
                raise ScenarioError(
                    file, f"row {line}, date", row["date"], "a second lunar new year in one year"
                )
            lny[day.year] = day
        sets[kind].add(day)
    if not lny:
        raise ScenarioError(file, "kind", None, "needs one lunar_new_year row per covered year")
    first, last = min(lny), max(lny)
    gaps = [y for y in range(first, last + 1) if y not in lny]
    if gaps:
        raise ScenarioError(
            file, "lunar_new_year", gaps, "every covered year needs a lunar_new_year row"
        )
    return HolidayCalendar(
        public_holidays=frozenset(sets["public_holiday"]),
        spring_festival=frozenset(sets["spring_festival"]),
        makeup_workdays=frozenset(sets["makeup_workday"]),
        lunar_new_year=dict(lny),
        first_year=first,
        last_year=last,
        source=str(file),
    )


def _dates(start: dt.date, n_days: int) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range(n_days)]


def day_weights(
    profile: TimeProfile, calendar: HolidayCalendar, start: dt.date, n_days: int
) -> NDArray[np.float64]:
    """Relative weight w(d) of each of ``n_days`` days from ``start`` (see module doc)."""
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    days = _dates(start, n_days)
    calendar.check_covers(days[0], days[-1])
    weekday_mean = float(np.mean(profile.weekday[:5]))
    # Windows of neighbouring years may reach across the new year: check every year touched.
    windows = [
        (
            lny - dt.timedelta(days=profile.lny_window_before),
            lny + dt.timedelta(days=profile.lny_window_after),
        )
        for year, lny in calendar.lunar_new_year.items()
        if days[0].year - 1 <= year <= days[-1].year + 1
    ]
    out = np.empty(n_days)
    for k, day in enumerate(days):
        if day in calendar.spring_festival:
            special = profile.spring_festival
        elif day in calendar.public_holidays:
            special = profile.public_holiday
        elif day in calendar.makeup_workdays:
            special = weekday_mean
        else:
            special = profile.weekday[day.weekday()]
        window = profile.lny_window_factor if any(a <= day <= b for a, b in windows) else 1.0
        out[k] = special * profile.month[day.month - 1] * window
    return out


def daily_expected(
    annual: float | Mapping[int, float],
    profile: TimeProfile,
    calendar: HolidayCalendar,
    start: dt.date,
    n_days: int,
) -> NDArray[np.float64]:
    """Expected arrivals on each of ``n_days`` days from ``start``.

    Args:
        annual: arrivals per calendar year (a number for every year, or a
            mapping year -> arrivals per year that covers every year touched).
        profile: the service's time profile.
        calendar: official holidays.
        start: first day.
        n_days: number of days.

    Returns:
        Array of ``n_days`` expected arrivals (per day). Over a whole calendar
        year they sum to that year's volume; a part year gets its share by weight.
    """
    days = _dates(start, n_days)
    out = np.empty(n_days)
    k = 0
    for year in sorted({d.year for d in days}):
        volume = annual if isinstance(annual, int | float) else annual.get(year)
        if volume is None:
            raise ValueError(f"annual volume has no value for year {year}")
        if not math.isfinite(volume) or volume < 0:
            raise ValueError(f"annual volume for {year} must be finite and >= 0, got {volume!r}")
        jan1 = dt.date(year, 1, 1)
        weights = day_weights(profile, calendar, jan1, (dt.date(year + 1, 1, 1) - jan1).days)
        total = weights.sum()
        if total <= 0 and volume > 0:
            raise ValueError(f"profile {profile.name!r} gives every day of {year} a zero weight")
        first = (max(start, jan1) - jan1).days
        count = sum(1 for d in days if d.year == year)
        out[k : k + count] = volume * weights[first : first + count] / (total if total > 0 else 1.0)
        k += count
    return out


def working_days(calendar: HolidayCalendar, start: dt.date, n_days: int) -> NDArray[np.bool_]:
    """True on official working days: Monday-Friday that are not days off, plus make-up days."""
    days = _dates(start, n_days)
    calendar.check_covers(days[0], days[-1])
    off = calendar.public_holidays | calendar.spring_festival
    return np.array(
        [(d in calendar.makeup_workdays) or (d.weekday() < 5 and d not in off) for d in days],
        dtype=bool,
    )
