"""Each treated shopper's personal depth per SKU at launch, computed by `pricing_ai` exactly
as its forecast does (response model, policy, guardrails, cherry-picker cap).

- Fixed depth: the campaign's depth for everyone, lowered where a guardrail or the
  cherry-picker rule caps it (the grid point at or below the cap).
- AI depth: per shopper and SKU the grid point in [min, max] (or 0 = no offer) that gets
  the most of the campaign's goal out of its budget.
- A shopper or SKU the trained model does not know (new since training), or no trained
  model at all: the fixed depth, or the AI campaign's minimum, under the guardrails; no
  purchase probability (such offers rank last).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from core.settings import get_settings
from marketplace_api.campaigns.models import Campaign, DepthMode
from pricing_ai import guardrails, policy, scoring
from pricing_ai import service as pricing
from pricing_ai.errors import ModelNotFound
from retail.models import Product

log = logging.getLogger(__name__)

AI_STEP_BP = 500  # the AI grid's step, as the forecast's default


@dataclass(frozen=True)
class Depths:
    """Aligned per (shopper, SKU) pair with an offer (depth > 0)."""

    customer_ids: np.ndarray   # object (str)
    skus: np.ndarray           # object (str)
    depth_bp: np.ndarray       # int64
    regular_minor: np.ndarray  # int64
    personal_minor: np.ndarray  # int64
    p_buy: np.ndarray          # float64, nan when unknown
    model_version: int | None


def campaign_weeks(campaign: Campaign) -> int:
    days = (campaign.ends_at - campaign.starts_at).total_seconds() / 86_400
    return max(1, math.ceil(days / 7))


def _grid(campaign: Campaign, caps: np.ndarray) -> np.ndarray:
    if campaign.depth_mode == DepthMode.fixed:
        depth = int(campaign.discount_bp)
        return np.unique(np.concatenate([[0, depth], np.minimum(caps, depth)])).astype(np.int64)
    low, high = int(campaign.min_discount_bp), int(campaign.max_discount_bp)
    points = np.arange(max(low, 1), high + 1, AI_STEP_BP)
    if len(points) == 0 or points[-1] != high:
        points = np.append(points, high)
    return np.unique(np.concatenate([[0], points])).astype(np.int64)


def _fallback_depth(campaign: Campaign, cap: np.ndarray) -> np.ndarray:
    wanted = campaign.discount_bp if campaign.depth_mode == DepthMode.fixed \
        else campaign.min_discount_bp
    depth = np.minimum(int(wanted or 0), cap)
    if campaign.depth_mode == DepthMode.ai:
        # Below the supplier's minimum is no offer at all, not a smaller one.
        depth = np.where(depth >= int(campaign.min_discount_bp), depth, 0)
    return depth


def personal_depths(*, db: Session, campaign: Campaign, products: list[Product],
                    customer_ids: list[str]) -> Depths:
    skus = np.array([p.sku for p in products], dtype=object)
    prices = np.array([p.regular_price_minor for p in products], dtype=np.int64)
    caps = pricing.sku_limits(db=db, products=products).astype(np.int64)
    members = np.asarray(customer_ids, dtype=object)
    n, k = len(members), len(skus)
    depth = np.zeros((n, k), dtype=np.int64)
    p_buy = np.full((n, k), np.nan)
    modelled = np.zeros((n, k), dtype=bool)
    model_version = None
    try:
        row = pricing.active_model(db=db)
    except ModelNotFound:
        row = None
        log.warning("campaign %s: no trained pricing model, every shopper gets the %s depth",
                    campaign.id, "fixed" if campaign.depth_mode == DepthMode.fixed
                    else "minimum")
    if row is not None and n and k:
        artifact = pricing.load_artifact(row.path)
        state: scoring.ServingState = artifact.serving
        enc = state.enc
        sku_index = enc.sku_index.get_indexer(list(skus))
        customer_index = enc.customer_index.get_indexer(list(members))
        known = customer_index >= 0
        known[known] = state.hist.active[customer_index[known]]
        sku_known = sku_index >= 0
        if known.any() and sku_known.any():
            model_version = row.version
            settings = get_settings()
            rows = np.flatnonzero(known)
            cols = np.flatnonzero(sku_known)
            pairs = scoring.campaign_pairs(
                artifact.models, enc, state.hist, customers=customer_index[rows],
                skus=sku_index[cols], weeks=campaign_weeks(campaign),
                max_discount_bp=caps[cols], cherry_score=state.cherry_by_customer(),
                cherry_threshold=settings.cherry_picker_threshold,
                cherry_max_bp=settings.cherry_picker_max_discount_bp,
                units_limit_per_week=campaign.limit_units_per_week)
            response = artifact.models.response
            outcome = policy.outcomes(pairs.pairs, _grid(campaign, caps[cols]),
                                      curve=response.curve,
                                      units_multiplier=response.units_multiplier)
            if campaign.depth_mode == DepthMode.fixed:
                allocation = policy.fixed(outcome, int(campaign.discount_bp))
            else:
                allocation = policy.allocate(outcome, budget_minor=campaign.budget_minor,
                                             goal=policy.Goal(campaign.goal or "units"))
            chosen = allocation.depth_bp.reshape(len(rows), len(cols))
            shape = response.curve(allocation.depth_bp / 10_000)
            logit = pairs.pairs.base_logit + pairs.pairs.lift * shape
            chance = (1 / (1 + np.exp(-logit))).reshape(len(rows), len(cols))
            grid_rows, grid_cols = np.ix_(rows, cols)
            depth[grid_rows, grid_cols] = chosen
            p_buy[grid_rows, grid_cols] = chance
            modelled[grid_rows, grid_cols] = True
    if (~modelled).any():
        fallback = np.broadcast_to(_fallback_depth(campaign, caps), (n, k))
        depth = np.where(modelled, depth, fallback)
    # The guardrails stand above any choice (the policy's grid already respects them).
    depth = np.minimum(depth, caps[None, :])
    offered = depth > 0
    row_of, col_of = np.nonzero(offered)
    chosen = depth[row_of, col_of]
    regular = prices[col_of]
    return Depths(customer_ids=members[row_of], skus=skus[col_of], depth_bp=chosen,
                  regular_minor=regular,
                  personal_minor=guardrails.price_after(regular, chosen).astype(np.int64),
                  p_buy=p_buy[row_of, col_of], model_version=model_version)
