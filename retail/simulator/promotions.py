"""The retailer's own promotions: which SKUs are on promo, where, and how deep, each week.

National promos run in two-week cycles; regional promos add a week's deal in one region.
Depths range over 5–50 % with the middle most common, and some brands promote much more
often than others, so a shopper's history holds many weeks at many depths to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail.simulator.catalog import Catalog
from retail.simulator.draws import WEEK_OFFSET
from retail.simulator.parameters import MarketParameters

PROMO_DEPTHS_BP = np.array([500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000])
PROMO_DEPTH_WEIGHTS = np.array([5, 10, 10, 10, 9, 8, 6, 4, 3, 3], dtype=float)
NATIONAL_STREAM = 11
REGIONAL_STREAM = 12
MAX_PROMO_CHANCE = 0.3  # even the keenest brand is off promo most weeks


@dataclass(frozen=True)
class PromoWeek:
    """One week's promos by region. The arrays indexed by SKU or brand carry a trailing
    zero so that the catalog's -1 padding reads as "no promo"."""

    sku_depth_bp: np.ndarray   # (regions, SKUs + 1) int64
    sku_depth: np.ndarray      # the same as a float32 fraction
    brand_depth: np.ndarray    # (regions, brands + 1) float32: deepest promo of the brand
    best_brand: np.ndarray     # (regions, categories) brand with the deepest promo
    best_depth: np.ndarray     # (regions, categories) float32
    second_depth: np.ndarray   # (regions, categories) float32: deepest among the others


def promo_week(catalog: Catalog, parameters: MarketParameters, *, seed: int, week: int,
               regions: int) -> PromoWeek:
    n_skus = catalog.n_skus
    allowed = parameters.max_promo_depth_bp >= PROMO_DEPTHS_BP
    depths = PROMO_DEPTHS_BP[allowed]
    weights = PROMO_DEPTH_WEIGHTS[allowed] / PROMO_DEPTH_WEIGHTS[allowed].sum()
    intensity = catalog.brand_promo_intensity[catalog.sku_brand]
    national_chance = np.minimum(parameters.national_promo_share * intensity, MAX_PROMO_CHANCE)
    regional_chance = np.minimum(parameters.regional_promo_share * intensity, MAX_PROMO_CHANCE)

    national_rng = np.random.default_rng([seed, NATIONAL_STREAM, week // 2 + WEEK_OFFSET])
    national_on = national_rng.random(n_skus) < national_chance
    national = np.where(national_on, national_rng.choice(depths, n_skus, p=weights), 0)

    regional_rng = np.random.default_rng([seed, REGIONAL_STREAM, week + WEEK_OFFSET])
    regional_on = regional_rng.random((regions, n_skus)) < regional_chance
    regional = np.where(regional_on, regional_rng.choice(depths, (regions, n_skus), p=weights), 0)

    sku_depth_bp = np.zeros((regions, n_skus + 1), dtype=np.int64)
    sku_depth_bp[:, :n_skus] = np.maximum(national[None, :], regional)

    brand_depth = np.zeros((regions, catalog.n_brands + 1), dtype=np.float32)
    region_rows = np.repeat(np.arange(regions), n_skus)
    np.maximum.at(brand_depth, (region_rows, np.tile(catalog.sku_brand, regions)),
                  sku_depth_bp[:, :n_skus].ravel() / 10_000)

    by_slot = brand_depth[:, catalog.category_brands]         # (regions, categories, slots)
    order = np.argsort(-by_slot, axis=2, kind="stable")
    best_slot = order[:, :, 0]
    best_depth = np.take_along_axis(by_slot, best_slot[:, :, None], axis=2)[:, :, 0]
    second_depth = np.take_along_axis(by_slot, order[:, :, 1:2], axis=2)[:, :, 0]
    best_brand = catalog.category_brands[np.arange(by_slot.shape[1])[None, :], best_slot]
    return PromoWeek(sku_depth_bp=sku_depth_bp,
                     sku_depth=(sku_depth_bp / 10_000).astype(np.float32), brand_depth=brand_depth,
                     best_brand=best_brand, best_depth=best_depth, second_depth=second_depth)
