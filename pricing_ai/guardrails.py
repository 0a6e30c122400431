"""The retailer's price guardrails as one number per SKU: the deepest discount allowed.

A discount may not take the shelf price below cost × (1 + minimum margin) when the cost
is known, nor below the SKU's (or its category's) minimum price, nor exceed its maximum
discount. Every campaign goes through `max_depth_bp` (AI or fixed depth), and `clip`
says which offers it changed. All integer arithmetic on kopecks and basis points: the
price after a discount of `d` bp is `price − round_half_up(price × d / 10000)`, the same
rounding as `core.money.apply_bp`, and the cap is the largest `d` whose price is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FULL_BP = 10_000


@dataclass(frozen=True)
class SkuLimits:
    """Per SKU (aligned arrays): shelf price, cost (−1 unknown), minimum price (0 none),
    maximum discount (FULL_BP none), and the global minimum margin over cost."""

    price_minor: np.ndarray
    cost_minor: np.ndarray
    min_price_minor: np.ndarray
    max_discount_bp: np.ndarray
    min_margin_bp: int


def price_after(price_minor: np.ndarray, depth_bp: np.ndarray) -> np.ndarray:
    """Shelf price after a discount, rounded like `core.money.apply_bp` (half up)."""
    price = np.asarray(price_minor, dtype=np.int64)
    depth = np.asarray(depth_bp, dtype=np.int64)
    discount = (price * depth * 2 + FULL_BP) // (2 * FULL_BP)
    return price - discount


def floor_price(limits: SkuLimits) -> np.ndarray:
    """The lowest shelf price allowed per SKU (kopecks): the largest of the minimum
    price and cost × (1 + margin), the latter rounded up to a whole kopeck."""
    cost = np.asarray(limits.cost_minor, dtype=np.int64)
    margin_floor = np.where(cost >= 0,
                            -(-cost * (FULL_BP + limits.min_margin_bp) // FULL_BP), 0)
    return np.maximum(np.asarray(limits.min_price_minor, dtype=np.int64), margin_floor)


def max_depth_bp(limits: SkuLimits) -> np.ndarray:
    """The deepest discount (bp) each SKU may get; 0 when even the shelf price breaks
    a floor (no offer at all)."""
    price = np.asarray(limits.price_minor, dtype=np.int64)
    floor = floor_price(limits)
    # Largest d with price − round_half_up(price·d/10⁴) ≥ floor, i.e. with the rounded
    # discount ≤ price − floor: found from the unrounded bound and corrected by ±1 bp.
    room = price - floor
    safe_price = np.maximum(price, 1)
    guess = np.clip((room * FULL_BP + FULL_BP // 2) // safe_price, 0, FULL_BP)
    for _ in range(3):
        too_deep = price_after(price, guess) < floor
        guess = np.where(too_deep, guess - 1, guess)
    for _ in range(3):
        step = np.minimum(guess + 1, FULL_BP)
        fits = (price_after(price, step) >= floor) & (step > guess)
        guess = np.where(fits, step, guess)
    cap = np.minimum(np.clip(guess, 0, FULL_BP), np.asarray(limits.max_discount_bp,
                                                            dtype=np.int64))
    return np.where((room < 0) | (price <= 0), 0, cap)


def clip(depth_bp: np.ndarray, cap_bp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depths limited to their caps, and which of them were changed."""
    depth = np.asarray(depth_bp, dtype=np.int64)
    capped = np.minimum(depth, np.asarray(cap_bp, dtype=np.int64))
    return capped, capped != depth
