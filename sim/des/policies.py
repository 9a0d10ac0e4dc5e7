"""The DES's replaceable rules: the ED queue discipline and the bed-allocation rule.

Each policy is a small frozen object with one or two methods that see only what
the rule needs (the heads of the queues, the candidate pools) and answer with a
choice. The SimPy reference model (:mod:`sim.des.hospital`) calls these methods;
the compiled engine (:mod:`sim.des.compiled`) implements the shipped policies,
recognised by ``name``, with the same answers (the equivalence tests check it).
A policy of your own runs on the reference engine: subclass one of the bases,
give it a new ``name`` and pass ``--engine reference`` (the compiled engine
refuses names it does not know, with one line).

Both engines ask the same questions at the same moments (``sim/des/RULES.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, NamedTuple

__all__ = [
    "BED_POLICIES",
    "ED_POLICIES",
    "BedAllocationPolicy",
    "Borrower",
    "EDQueuePolicy",
    "FirstListedPool",
    "Lender",
    "MaxWaitTriage",
    "MostFreeBeds",
    "QueueHead",
    "StrictTriage",
]


class QueueHead(NamedTuple):
    """The longest-waiting ED patient of one acuity (each acuity queue is first come,
    first served)."""

    acuity: int
    """Triage level 1..4."""
    arrival: float
    """Arrival time, days."""


class Lender(NamedTuple):
    """A pool that may take an outlying patient now."""

    pool: int
    free: float
    """Free beds (less the elective reserve when the patient is an elective)."""


class Borrower(NamedTuple):
    """The longest-waiting patient of another pool who may take an outlying bed."""

    pool: int
    request: float
    """Time the patient asked for a bed, days."""


@dataclass(frozen=True)
class EDQueuePolicy:
    """Which waiting ED patient takes a treatment space that is free."""

    name: ClassVar[str] = ""

    def choose(self, heads: Sequence[QueueHead], now: float) -> int:
        """Index into ``heads`` (non-empty, in acuity order) of the patient served next."""
        raise NotImplementedError

    def max_wait_days(self) -> tuple[float, float, float, float]:
        """Maximum waits by acuity 1..4, days (inf: none), for the compiled engine."""
        return (math.inf,) * 4


@dataclass(frozen=True)
class StrictTriage(EDQueuePolicy):
    """Today's rule: the most urgent acuity first, first come first served within it."""

    name: ClassVar[str] = "triage"

    def choose(self, heads: Sequence[QueueHead], now: float) -> int:
        return 0


@dataclass(frozen=True)
class MaxWaitTriage(EDQueuePolicy):
    """Triage order, except that a patient who has waited longer than their acuity's
    maximum goes first (the longest-waiting of those, then the more urgent).

    Attributes:
        max_wait_hours: maximum wait by acuity 1..4, hours (inf = no maximum).
    """

    name: ClassVar[str] = "max_wait"
    max_wait_hours: tuple[float, float, float, float] = (0.0, 0.25, 2.0, 4.0)

    def __post_init__(self) -> None:
        if len(self.max_wait_hours) != 4 or any(
            not (h >= 0 and not math.isnan(h)) for h in self.max_wait_hours
        ):
            raise ValueError(
                f"MaxWaitTriage.max_wait_hours = {self.max_wait_hours!r}: "
                "needs 4 waits >= 0 (hours; inf allowed)"
            )

    def max_wait_days(self) -> tuple[float, float, float, float]:
        h = self.max_wait_hours
        return (h[0] / 24.0, h[1] / 24.0, h[2] / 24.0, h[3] / 24.0)

    def choose(self, heads: Sequence[QueueHead], now: float) -> int:
        limits = self.max_wait_days()
        overdue = [i for i, h in enumerate(heads) if now - h.arrival >= limits[h.acuity - 1]]
        if not overdue:
            return 0
        # longest wait first; at equal arrival the more urgent (heads are in acuity order)
        return min(overdue, key=lambda i: (heads[i].arrival, i))


@dataclass(frozen=True)
class BedAllocationPolicy:
    """Where a patient whose own pool is full is placed (one-bed-pool reform), and which
    waiting patient of another pool a freed shared bed goes to."""

    name: ClassVar[str] = ""

    def choose_lender(self, lenders: Sequence[Lender]) -> int:
        """Index into ``lenders`` (non-empty, in pool order) of the pool to use."""
        raise NotImplementedError

    def choose_borrower(self, borrowers: Sequence[Borrower]) -> int:
        """Index into ``borrowers`` (non-empty, in pool order) of the patient to place.

        Default: the longest-waiting; at equal times the first pool.
        """
        return min(range(len(borrowers)), key=lambda i: (borrowers[i].request, i))


@dataclass(frozen=True)
class MostFreeBeds(BedAllocationPolicy):
    """Today's rule: the pool with the most free beds; at equal counts the first pool."""

    name: ClassVar[str] = "most_free"

    def choose_lender(self, lenders: Sequence[Lender]) -> int:
        return min(range(len(lenders)), key=lambda i: (-lenders[i].free, i))


@dataclass(frozen=True)
class FirstListedPool(BedAllocationPolicy):
    """A fixed order of preference: the first pool (in pool order) with a bed free."""

    name: ClassVar[str] = "first_listed"

    def choose_lender(self, lenders: Sequence[Lender]) -> int:
        return 0


ED_POLICIES: Final[dict[str, type[EDQueuePolicy]]] = {
    StrictTriage.name: StrictTriage,
    MaxWaitTriage.name: MaxWaitTriage,
}
"""ED queue disciplines the compiled engine implements, by name."""
BED_POLICIES: Final[dict[str, type[BedAllocationPolicy]]] = {
    MostFreeBeds.name: MostFreeBeds,
    FirstListedPool.name: FirstListedPool,
}
"""Bed-allocation rules the compiled engine implements, by name."""
