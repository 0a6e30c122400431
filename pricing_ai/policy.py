"""The discount policy: per shopper and SKU, the depth on the supplier's grid (0 = no
offer) that maximises expected incremental units (or revenue) minus λ × expected discount
cost, with λ found by bisection so that the expected spend meets the budget.

Everything is arrays of (pairs × grid points): the response model gives each pair's
log-odds at no discount and its lift at the reference depth; the shared depth curve
spreads that over the grid; the retailer's guardrails and cherry-picker cap remove grid
points; a pair's choice for a given λ is one `argmax`. A million shoppers × 3 SKUs × 7
depths is ~21M cells: each bisection step is a pass over them in numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

BISECTION_STEPS = 40


class Goal(StrEnum):
    units = "units"
    revenue = "revenue"


@dataclass(frozen=True)
class Pairs:
    """(shopper, SKU) pairs of a campaign, aligned arrays."""

    base_logit: np.ndarray        # log-odds of buying the SKU in a week without discount
    lift: np.ndarray              # rise of the log-odds at the reference depth
    units_per_purchase: np.ndarray
    price_minor: np.ndarray
    seen: np.ndarray              # the shopper sees offers (has the app)
    cap_bp: np.ndarray            # deepest depth allowed: guardrails and cherry-picker rule
    weeks: float                  # campaign weeks

    def __len__(self) -> int:
        return len(self.base_logit)


@dataclass(frozen=True)
class Outcome:
    """Per pair and grid point, expected units with the offer, without it, and the cost."""

    grid_bp: np.ndarray
    units: np.ndarray         # (pairs, grid) campaign units with the offer at that depth
    units_without: np.ndarray  # (pairs,)
    cost: np.ndarray          # (pairs, grid) kopecks of discount
    incremental_units: np.ndarray
    incremental_revenue: np.ndarray
    allowed: np.ndarray       # (pairs, grid)


def outcomes(pairs: Pairs, grid_bp: np.ndarray, *, curve: Callable[[np.ndarray], np.ndarray],
             units_multiplier: Callable[[np.ndarray], np.ndarray]) -> Outcome:
    grid_bp = np.asarray(grid_bp, dtype=np.int64)
    depth = grid_bp / 10_000
    shape = curve(depth).astype(np.float32)
    multiplier = units_multiplier(depth).astype(np.float32)
    logit = (pairs.base_logit.astype(np.float32)[:, None]
             + pairs.lift.astype(np.float32)[:, None] * shape[None, :])
    base = (pairs.weeks * pairs.units_per_purchase).astype(np.float32)[:, None]
    without = base[:, 0] / (1 + np.exp(-pairs.base_logit.astype(np.float32)))
    seen = pairs.seen[:, None]
    # A shopper who never sees the offer buys as without it (and still gets the discount).
    units = np.where(seen, base * multiplier[None, :] / (1 + np.exp(-logit)), without[:, None])
    price = pairs.price_minor.astype(np.float32)[:, None]
    cost = units * price * depth.astype(np.float32)[None, :]
    incremental_units = units - without[:, None]
    incremental_revenue = units * price * (1 - depth.astype(np.float32))[None, :] \
        - without[:, None] * price
    allowed = grid_bp[None, :] <= pairs.cap_bp[:, None]
    allowed[:, 0] = True
    return Outcome(grid_bp=grid_bp, units=units, units_without=without, cost=cost,
                   incremental_units=incremental_units,
                   incremental_revenue=incremental_revenue, allowed=allowed)


@dataclass(frozen=True)
class Allocation:
    depth_bp: np.ndarray      # per pair, 0 = no offer
    choice: np.ndarray        # index into the grid
    spend_minor: float
    incremental_units: float
    incremental_revenue: float
    lam: float


class _Chooser:
    """Each pair's best allowed grid point for a λ: the disallowed points masked once, the
    score of each bisection step computed in one reused buffer."""

    def __init__(self, value: np.ndarray, outcome: Outcome) -> None:
        self.masked = np.where(outcome.allowed, value, -np.inf)
        self.cost = outcome.cost
        self.buffer = np.empty_like(self.masked)

    def __call__(self, lam: float) -> np.ndarray:
        np.multiply(self.cost, np.float32(lam), out=self.buffer)
        np.subtract(self.masked, self.buffer, out=self.buffer)
        return self.buffer.argmax(axis=1)


def _allocation(outcome: Outcome, choice: np.ndarray, lam: float) -> Allocation:
    rows = np.arange(len(choice))
    return Allocation(
        depth_bp=outcome.grid_bp[choice], choice=choice,
        spend_minor=float(outcome.cost[rows, choice].sum(dtype=np.float64)),
        incremental_units=float(outcome.incremental_units[rows, choice].sum(dtype=np.float64)),
        incremental_revenue=float(outcome.incremental_revenue[rows, choice]
                                  .sum(dtype=np.float64)),
        lam=lam)


def allocate(outcome: Outcome, *, budget_minor: float | None, goal: Goal = Goal.units,
             lam: float | None = None) -> Allocation:
    """The depths that get the most `goal` out of the budget: the smallest λ whose
    expected spend fits the budget (or the given λ)."""
    value = outcome.incremental_units if goal == Goal.units else outcome.incremental_revenue
    choose = _Chooser(value, outcome)
    if lam is not None or budget_minor is None:
        lam = 0.0 if lam is None else lam
        return _allocation(outcome, choose(lam), lam)
    rows = np.arange(value.shape[0])

    def spend(lam_: float) -> tuple[float, np.ndarray]:
        choice = choose(lam_)
        return float(outcome.cost[rows, choice].sum(dtype=np.float64)), choice

    total, choice = spend(0.0)
    if total <= budget_minor:
        return _allocation(outcome, choice, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(outcome.cost > 0, value / outcome.cost, 0)
    low, high = 0.0, float(max(np.max(ratio), 1e-9)) * 1.01
    best = spend(high)[1]
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        total, choice = spend(middle)
        if total <= budget_minor:
            high, best = middle, choice
        else:
            low = middle
    return _allocation(outcome, best, high)


def fixed(outcome: Outcome, depth_bp: int) -> Allocation:
    """Everyone at one depth, as far as their cap allows (the grid point at or below)."""
    grid = outcome.grid_bp
    target = np.where(outcome.allowed, grid[None, :], -1)
    target = np.where(target <= depth_bp, target, -1)
    return _allocation(outcome, target.argmax(axis=1), 0.0)


def recommended_lambda(outcome: Outcome, goal: Goal) -> float:
    """λ of the recommended budget: spend while one more incremental unit costs at most
    its shelf price (units), or while a rouble of discount brings at least a rouble of
    incremental revenue (revenue)."""
    if goal == Goal.revenue:
        return 1.0
    weights = outcome.units_without + 1e-9
    with np.errstate(invalid="ignore"):
        price = float(np.average(outcome.cost[:, -1] / np.maximum(outcome.units[:, -1], 1e-9)
                                 / max(outcome.grid_bp[-1] / 10_000, 1e-9), weights=weights))
    return 1.0 / max(price, 1.0)
