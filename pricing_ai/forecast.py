"""The budget forecast: what a campaign is expected to do, from the same models and the
same policy that will serve it, with 80 % intervals.

Each figure is a sum over (shopper, SKU) pairs of the response model's expectations. Its
interval combines chance (purchases are counts: Poisson spread) and the model's own error
measured on held-out weeks at training (`response_sigma`, relative); incremental figures,
a difference of two such sums, get a wider relative error (`LIFT_SIGMA`).

Those two sources miss what a campaign cannot know in advance — chiefly the retailer's
future shelf promotions of the same and rival SKUs, which move both the units and whether
the offer is the deeper discount that gets paid — so where past campaigns' forecasts and
realised spend are known, the spend's figure is calibrated on them (`SpendCalibration`):
its centre by their median ratio, its 80 % interval by their 10th and 90th percentiles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pricing_ai.policy import Allocation, Outcome

Z80 = 1.2816  # the 10th and 90th percentiles of a normal
LIFT_SIGMA = 0.35
MIN_CALIBRATION_CAMPAIGNS = 10


@dataclass(frozen=True)
class SpendCalibration:
    """Quantiles of log(realised / forecast spend) over past campaigns."""

    median: float
    low: float      # 10th percentile
    high: float     # 90th percentile
    campaigns: int

    @classmethod
    def fit(cls, forecast: np.ndarray, realised: np.ndarray) -> SpendCalibration | None:
        """From past campaigns that spent something; None when too few to say."""
        forecast, realised = np.asarray(forecast, float), np.asarray(realised, float)
        ok = (forecast > 0) & (realised > 0)
        if ok.sum() < MIN_CALIBRATION_CAMPAIGNS:
            return None
        ratio = np.log(realised[ok] / forecast[ok])
        low, median, high = np.quantile(ratio, [0.1, 0.5, 0.9])
        return cls(median=float(median), low=float(low), high=float(high),
                   campaigns=int(ok.sum()))

    def apply(self, spend: float) -> Figure:
        return Figure(expected=float(spend * np.exp(self.median)),
                      low=float(spend * np.exp(self.low)),
                      high=float(spend * np.exp(self.high)))


@dataclass(frozen=True)
class Figure:
    expected: float
    low: float
    high: float


@dataclass(frozen=True)
class Forecast:
    shoppers: int                # segment members considered
    reach: Figure                # shoppers offered (holdout excluded)
    activations: Figure          # offered shoppers who see it in the app
    redemptions: Figure          # offered shoppers expected to buy with it
    units: Figure
    discount_spend_minor: Figure
    incremental_units: Figure
    incremental_revenue_minor: Figure
    clipped_share: float         # offers whose depth the guardrails lowered
    cherry_capped_share: float   # offers lowered by the cherry-picker rule
    mean_depth_bp: float

    def to_json(self) -> dict:
        return asdict(self)


def _relative(value: float, sigma: float) -> Figure:
    spread = np.exp(Z80 * sigma)
    return Figure(expected=float(value), low=float(value / spread), high=float(value * spread))


def _absolute(value: float, sd: float) -> Figure:
    return Figure(expected=float(value), low=float(value - Z80 * sd),
                  high=float(value + Z80 * sd))


def forecast(outcome: Outcome, allocation: Allocation, *, customer: np.ndarray,
             seen: np.ndarray, units_per_purchase: np.ndarray, holdout_share: float,
             response_sigma: float, clipped: np.ndarray, cherry_capped: np.ndarray,
             calibration: SpendCalibration | None = None) -> Forecast:
    rows = np.arange(len(allocation.choice))
    chosen = allocation.choice
    offered = chosen > 0
    keep = 1.0 - holdout_share
    units = outcome.units[rows, chosen].astype(np.float64)
    cost = outcome.cost[rows, chosen].astype(np.float64)
    incremental = outcome.incremental_units[rows, chosen].astype(np.float64)
    incremental_revenue = outcome.incremental_revenue[rows, chosen].astype(np.float64)
    offered_units = units[offered]
    purchases = offered_units / np.maximum(units_per_purchase[offered], 1e-9)
    buys = 1 - np.exp(-purchases)  # chance of at least one purchase in the campaign
    shoppers = np.unique(customer[offered])
    seen_shoppers = np.unique(customer[offered & seen])
    reach = len(shoppers) * keep
    total_units = float(offered_units.sum()) * keep
    spend = float(cost[offered].sum()) * keep
    count = max(float(purchases.sum()) * keep, 1.0)
    sigma = float(np.sqrt(response_sigma ** 2 + 1.0 / count))
    inc_units = float(incremental[offered].sum()) * keep
    inc_revenue = float(incremental_revenue[offered].sum()) * keep
    price = spend / max(total_units, 1e-9) if total_units else 0.0
    unit_sd = float(np.sqrt(max(total_units, 1.0)))
    n_offers = max(int(offered.sum()), 1)
    return Forecast(
        shoppers=len(np.unique(customer)),
        reach=Figure(reach, reach, reach),
        activations=_relative(len(seen_shoppers) * keep, 0.05),
        redemptions=_relative(float(buys.sum()) * keep, sigma),
        units=_relative(total_units, sigma),
        discount_spend_minor=calibration.apply(spend) if calibration is not None
        else _relative(spend, sigma),
        incremental_units=_absolute(inc_units, np.hypot(LIFT_SIGMA * abs(inc_units), unit_sd)),
        incremental_revenue_minor=_absolute(
            inc_revenue, np.hypot(LIFT_SIGMA * abs(inc_revenue), unit_sd * max(price, 1.0))),
        clipped_share=float(clipped[offered].sum() / n_offers) if offered.any() else 0.0,
        cherry_capped_share=float(cherry_capped[offered].sum() / n_offers)
        if offered.any() else 0.0,
        mean_depth_bp=float(allocation.depth_bp[offered].mean()) if offered.any() else 0.0,
    )
