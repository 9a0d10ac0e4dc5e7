"""Building blocks of scenario files: strict models, uncertain values, year paths.

An *uncertain* input is written in a scenario file either as a plain number or
as a distribution table; replicate 0 always takes the central value, the median
of the distribution (the draw at probability one half, after truncation to the
field's range), other replicates draw from the distribution (see
:mod:`sim.scenario.draw`):

======================================  ==========================  =============
TOML                                    meaning                     central value
======================================  ==========================  =============
``1.2``                                 fixed value                 1.2
``{dist="normal", mean=1.2, sd=0.1}``   normal                      mean
``{dist="triangular", low=1, mode=1.2,  triangular                  median
high=1.4}``
``{dist="uniform", low=1, high=1.4}``   uniform                     midpoint
``{low=1.0, high=1.4}``                 80% interval, read as a     midpoint
                                        normal with the same 10th
                                        and 90th percentiles
======================================  ==========================  =============

Draws are truncated to the field's allowed range (inverse-CDF sampling of one
uniform number per input), so a wide interval never yields, say, a negative
fertility rate.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import core_schema
from scipy import stats

MEDIAN_U = 0.5
"""The probability replicate 0 takes every uncertain input at: its median."""
Z80 = float(stats.norm.ppf(0.9))
"""Standard-normal quantile of 0.9: half an 80% interval is Z80 standard deviations."""


class Strict(BaseModel):
    """Base of every scenario model: frozen, unknown keys are errors, no coercion of
    strings into numbers (an int is still accepted where a float is expected), and no
    NaN or infinity anywhere (TOML has ``nan`` and ``inf``; no input means either)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )


class Normal(Strict):
    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)

    def central(self) -> float:
        return self.mean

    def ppf(self, u: float) -> float:
        return float(stats.norm.ppf(u, loc=self.mean, scale=self.sd)) if self.sd else self.mean

    def cdf(self, x: float) -> float:
        if self.sd == 0:
            return 1.0 if x >= self.mean else 0.0
        return float(stats.norm.cdf(x, loc=self.mean, scale=self.sd))

    def support(self) -> tuple[float, float]:
        return (self.mean, self.mean) if self.sd == 0 else (-math.inf, math.inf)


class Triangular(Strict):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("needs low <= mode <= high")
        return self

    def central(self) -> float:
        """The median, not the mode: replicate 0 is the middle of what the replicates draw."""
        return self.ppf(MEDIAN_U)

    def _dist(self) -> Any:
        width = self.high - self.low
        return stats.triang(c=(self.mode - self.low) / width, loc=self.low, scale=width)

    def ppf(self, u: float) -> float:
        return self.mode if self.high == self.low else float(self._dist().ppf(u))

    def cdf(self, x: float) -> float:
        if self.high == self.low:
            return 1.0 if x >= self.low else 0.0
        return float(self._dist().cdf(x))

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("needs low <= high")
        return self

    def central(self) -> float:
        return 0.5 * (self.low + self.high)

    def ppf(self, u: float) -> float:
        return self.low + u * (self.high - self.low)

    def cdf(self, x: float) -> float:
        if self.high == self.low:
            return 1.0 if x >= self.low else 0.0
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


class Interval80(Strict):
    """An 80% interval ``{low, high}``: a normal with those 10th and 90th percentiles."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Interval80:
        if self.low > self.high:
            raise ValueError("needs low <= high")
        return self

    def as_normal(self) -> Normal:
        return Normal(
            dist="normal",
            mean=0.5 * (self.low + self.high),
            sd=(self.high - self.low) / (2 * Z80),
        )

    def central(self) -> float:
        return 0.5 * (self.low + self.high)

    def ppf(self, u: float) -> float:
        return self.as_normal().ppf(u)

    def cdf(self, x: float) -> float:
        return self.as_normal().cdf(x)

    def support(self) -> tuple[float, float]:
        return self.as_normal().support()


Distribution = Normal | Triangular | Uniform | Interval80
DIST_NAMES = ("normal", "triangular", "uniform")
_SHAPE_HELP = (
    'must be a number or a distribution table: {dist="normal", mean, sd}, '
    '{dist="triangular", low, mode, high}, {dist="uniform", low, high} or {low, high}'
)
UNION_TAGS = frozenset({"number", "interval", "value", "years", *DIST_NAMES})
"""Tags that pydantic puts in error locations; the error formatter drops them."""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _uncertain_tag(v: Any) -> str | None:
    if _is_number(v):
        return "number"
    if isinstance(v, BaseModel):
        return "interval" if isinstance(v, Interval80) else str(getattr(v, "dist", ""))
    if isinstance(v, dict):
        if "dist" in v:
            return str(v["dist"]) if v["dist"] in DIST_NAMES else None
        return "interval"
    return None


def _check_shape(v: Any) -> Any:
    if isinstance(v, dict) and "dist" in v and v["dist"] not in DIST_NAMES:
        raise ValueError(f"dist must be one of {', '.join(DIST_NAMES)}")
    if _uncertain_tag(v) is None:
        raise ValueError(_SHAPE_HELP)
    return v


Uncertain = Annotated[
    Annotated[float, Tag("number")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[Triangular, Tag("triangular")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[Interval80, Tag("interval")],
    Discriminator(_uncertain_tag),
    BeforeValidator(_check_shape),
]
"""A number, or a distribution of it (see the module docstring); its range is a
:class:`Bounds`: ``Annotated[Uncertain, Bounds(0.5, 1.0, "fraction")]``."""
_UNCERTAIN_SHAPE = typing.get_args(Uncertain)[0]


def _path_tag(v: Any) -> str:
    if isinstance(v, dict) and "dist" not in v and not set(v) <= {"low", "high"}:
        return "years"
    return "value"


def central(value: Uncertain) -> float:
    """Central value of an uncertain input (the value replicate 0 uses)."""
    return float(value) if isinstance(value, int | float) else value.central()


@dataclass(frozen=True)
class Bounds:
    """Allowed closed range of a scenario input, with its unit for messages."""

    low: float = -math.inf
    high: float = math.inf
    unit: str = ""

    def describe(self) -> str:
        unit = f" ({self.unit})" if self.unit else ""
        if math.isinf(self.low) and math.isinf(self.high):
            return f"any number{unit}"
        if math.isinf(self.high):
            return f"a number >= {self.low:g}{unit}"
        if math.isinf(self.low):
            return f"a number <= {self.high:g}{unit}"
        return f"a number from {self.low:g} to {self.high:g}{unit}"

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """As metadata, ``Annotated[Uncertain, Bounds(low, high, unit)]``: the input's own
        schema, then :meth:`check` (pydantic's ``AfterValidator(self.check)``, written once)."""
        if source != _UNCERTAIN_SHAPE:  # on a year path it would check a table as a number
            raise TypeError(f"Bounds annotates an Uncertain, not {source!r}")
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def check(self, value: Uncertain) -> Uncertain:
        """Reject a value, or a distribution whose central value or stated limits,
        fall outside the range (draws are later truncated to the range), or a normal
        wider than the range."""
        points = [central(value)]
        if isinstance(value, Triangular | Uniform | Interval80):
            points += [value.low, value.high]
        for x in points:
            if not math.isfinite(x) or not self.contains(x):
                raise ValueError(f"must be {self.describe()}")
        if isinstance(value, Normal):
            self._check_sd(value.sd)
        return value

    def _check_sd(self, sd: float) -> None:
        """A normal's sd must not exceed the width of the range: truncated to the range,
        a wider one is no longer a bell but nearly flat (and a huge one overflows
        the inverse CDF); a uniform says that plainly."""
        width = self.high - self.low
        if not math.isfinite(sd) or sd > width:
            raise ValueError(
                f"sd must be a number from 0 to {width:g}, the width of the key's range "
                f"({self.low:g} to {self.high:g}); for a flat spread use a uniform"
            )


def field_bounds(info: Any) -> Bounds | None:
    """The :class:`Bounds` of an uncertain input or year path field (None otherwise)."""
    metas = list(info.metadata)
    for arg in typing.get_args(info.annotation):  # an optional input: Annotated[...] | None
        metas += list(getattr(arg, "__metadata__", ()))
    for meta in metas:
        if isinstance(meta, Bounds):
            return meta
    return None


FIRST_YEAR = 2020
"""The census year: the projection starts at the census of 1 November 2020."""
LAST_YEAR = 2050
"""The last year the model projects (``run.end_year`` at most)."""


def _year_key(key: str) -> int:
    """A year table's key: a year of the model's span (a year before the census would be
    held constant up to the census, so it can only be a typo such as 0999)."""
    if not (key.isdigit() and len(key) == 4):
        raise ValueError(f'year keys must be four-digit years like "2030", got {key!r}')
    year = int(key)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"year keys must be years from {FIRST_YEAR} (the census) to {LAST_YEAR}, got {key!r}"
        )
    return year


def _check_years(value: Any) -> Any:
    """A year path's table: at least one year, years of the model's span, ascending."""
    if isinstance(value, dict):
        if not value:
            raise ValueError("a year table needs at least one year")
        years = [_year_key(k) for k in value]
        if years != sorted(years) or len(set(years)) != len(years):
            raise ValueError("years must be listed in ascending order, each once")
    return value


@dataclass(frozen=True)
class PathBounds(Bounds):
    """Allowed range of every value of a year path: ``Annotated[YearPath, PathBounds(low,
    high, unit)]``. Each value is checked where it stands, so that an error names its year
    (``demography.tfr.2030``), and then the table's years are checked."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if source != _YEAR_PATH_SHAPE:  # the schema below replaces the annotated type's
            raise TypeError(f"PathBounds annotates a YearPath, not {source!r}")
        bounded = Annotated[Uncertain, Bounds(self.low, self.high, self.unit)]
        path = Annotated[
            Annotated[bounded, Tag("value")] | Annotated[dict[str, bounded], Tag("years")],
            Discriminator(_path_tag),
        ]
        return core_schema.no_info_after_validator_function(
            _check_years, handler.generate_schema(path)
        )


YearPath = Annotated[
    Annotated[Uncertain, Tag("value")] | Annotated[dict[str, Uncertain], Tag("years")],
    Discriminator(_path_tag),
]
"""An input that changes over time: a single (uncertain) value, or a table ``{2021 = 1.2,
2030 = 1.0}`` of values at given years, linearly interpolated between them and held
constant before the first and after the last year. Its range is a :class:`PathBounds`."""
_YEAR_PATH_SHAPE = typing.get_args(YearPath)[0]


def number(value: Uncertain) -> float:
    """The number of an uncertain input of a *drawn* scenario (:func:`sim.scenario.draw`),
    in the input's own unit. A distribution is refused: it means the scenario was not
    drawn, and no model may read a distribution as a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"a distribution where a drawn number is needed ({value!r}): draw first")


def path_points(value: YearPath) -> tuple[list[int], list[float]]:
    """Years and values of a year path of a *drawn* scenario (a number is a flat path);
    a distribution in it is refused as by :func:`number`."""
    if isinstance(value, dict):
        return [int(k) for k in value], [number(v) for v in value.values()]
    return [0], [number(value)]


def path_at(value: YearPath, years: Any) -> Any:
    """Value of a drawn year path at the given year(s), by linear interpolation, in the
    path's unit (an array shaped like ``years``)."""
    import numpy as np

    xs, ys = path_points(value)
    return np.interp(np.asarray(years, dtype=float), xs, ys)


_DRAWN = "drawn"
DRAWN_CONTEXT = {_DRAWN: True}
"""Validation context of a drawn scenario read back (:func:`sim.scenario.load.load_drawn`)."""


def checks_central_values(info: ValidationInfo) -> bool:
    """Whether a cross-field check of central values applies: to a scenario as written
    (its distributions at their central values), not to a drawn scenario read back, whose
    draws may lie elsewhere (e.g. two drawn shares that sum to more than the central ones)."""
    return not (info.context or {}).get(_DRAWN, False)


def cross_error(key: str, value: Any, message: str) -> Exception:
    """Error of a cross-field check, naming the offending key (relative to the model
    being validated) and its value, for the one-line message."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("cross_field", message, {"key": key, "value": value})
