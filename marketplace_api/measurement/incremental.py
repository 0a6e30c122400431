"""What a campaign added: treated shoppers against the holdout, per-shopper means and their
difference with a confidence interval (Welch's t, scipy), scaled up to the treated group.

The comparison is intent-to-treat: every member of the frozen segment outside the holdout
is "treated", whether or not the app ever showed them the offer, so the two groups differ
only by the random split and the difference is the campaign's effect on the whole segment.
Shoppers who bought nothing count as zeros. These are statistics, so floats; the report
rounds money to whole minor units when it answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from marketplace_api.offers.holdout import in_holdout

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    low: float
    high: float

    def scaled(self, factor: float) -> Interval:
        bounds = sorted((self.low * factor, self.high * factor))
        return Interval(self.estimate * factor, bounds[0], bounds[1])


@dataclass(frozen=True, slots=True)
class Group:
    """One group's outcomes, one value per shopper (zeros included)."""

    units: np.ndarray
    revenue_minor: np.ndarray

    @property
    def shoppers(self) -> int:
        return len(self.units)

    @property
    def units_per_shopper(self) -> float:
        return float(self.units.mean()) if self.shoppers else 0.0

    @property
    def revenue_per_shopper_minor(self) -> float:
        return float(self.revenue_minor.mean()) if self.shoppers else 0.0


@dataclass(frozen=True, slots=True)
class Effect:
    """Treated minus holdout: per shopper, and in total over the treated group."""

    treated: Group
    holdout: Group
    units_per_shopper: Interval
    revenue_per_shopper_minor: Interval
    confidence: float

    @property
    def incremental_units(self) -> Interval:
        return self.units_per_shopper.scaled(self.treated.shoppers)

    @property
    def incremental_revenue_minor(self) -> Interval:
        return self.revenue_per_shopper_minor.scaled(self.treated.shoppers)

    def iroas(self, spend_minor: int) -> Interval | None:
        """Incremental revenue per unit of discount spent (None before any spend)."""
        if spend_minor <= 0:
            return None
        return self.revenue_per_shopper_minor.scaled(self.treated.shoppers / spend_minor)


def held_out(*, members: Sequence[str], campaign_id: int, holdout_bp: int) -> np.ndarray:
    """Which members are in the holdout: the serving's own split (`in_holdout`)."""
    return np.fromiter((in_holdout(campaign_id=campaign_id, customer_id=customer_id,
                                   holdout_bp=holdout_bp) for customer_id in members),
                       dtype=bool, count=len(members))


def split_groups(*, members: Sequence[str], held: np.ndarray,
                 outcomes: Mapping[str, tuple[float, int]]) -> tuple[Group, Group]:
    """(treated, holdout) from the frozen members, their holdout flags and each buyer's
    (units, revenue); members who bought nothing are zeros."""
    units = np.zeros(len(members), dtype=np.float64)
    revenue = np.zeros(len(members), dtype=np.float64)
    for position, customer_id in enumerate(members):
        found = outcomes.get(customer_id)
        if found is not None:
            units[position], revenue[position] = found
    return (Group(units[~held], revenue[~held]), Group(units[held], revenue[held]))


def difference(treated: np.ndarray, holdout: np.ndarray, *,
               confidence: float = CONFIDENCE) -> Interval:
    """Mean of `treated` minus mean of `holdout` with Welch's confidence interval (unequal
    variances; for groups of hundreds it is the normal approximation)."""
    estimate = float(treated.mean() - holdout.mean())
    if treated.var() == 0 and holdout.var() == 0:
        # No spread at all (e.g. nobody bought): the difference is known exactly.
        return Interval(estimate, estimate, estimate)
    interval = stats.ttest_ind(treated, holdout, equal_var=False).confidence_interval(
        confidence_level=confidence)
    return Interval(estimate, float(interval.low), float(interval.high))


def compare(treated: Group, holdout: Group, *, confidence: float = CONFIDENCE) -> Effect | None:
    """The campaign's effect, or None when a group has fewer than two shoppers."""
    if treated.shoppers < 2 or holdout.shoppers < 2:
        return None
    return Effect(
        treated=treated, holdout=holdout,
        units_per_shopper=difference(treated.units, holdout.units, confidence=confidence),
        revenue_per_shopper_minor=difference(treated.revenue_minor, holdout.revenue_minor,
                                             confidence=confidence),
        confidence=confidence)
