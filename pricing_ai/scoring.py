"""Scores from fitted models: per-shopper scores (what `audience` shows as fields) and the
(shopper, SKU) pairs of a campaign that the policy and the forecast work on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pricing_ai import guardrails
from pricing_ai.policy import Pairs
from pricing_ai.training import (
    Encoded,
    FittedModels,
    History,
    cherry_frame,
    expected_context,
    offer_features,
    shopper_categories,
    wallet_frame,
)


def _typical_sku(enc: Encoded, hist: History, customer: np.ndarray,
                 category: np.ndarray) -> np.ndarray:
    """Per (shopper, category), the most popular SKU of the shopper's favourite brand."""
    popularity = np.zeros(enc.n_skus)
    keys = hist.sku_totals.keys
    np.add.at(popularity, keys % enc.n_skus, hist.sku_totals.values[0])
    best = np.full(enc.n_brands, -1, dtype=np.int64)
    order = np.lexsort((-popularity, enc.sku_brand))
    first = np.ones(len(order), dtype=bool)
    first[1:] = enc.sku_brand[order][1:] != enc.sku_brand[order][:-1]
    best[enc.sku_brand[order][first]] = order[first]
    brand = hist.fav_brand[customer, category]
    return best[np.maximum(brand, 0)]


@dataclass(frozen=True)
class ShopperScores:
    frame: pd.DataFrame          # customer_id + the published scores
    category_cherry: np.ndarray  # (shoppers, categories) cherry-picker probability (nan: none)


# The behaviour besides the response model's lift that tells a price-sensitive shopper:
# a steep response to the retailer's own promos, little loyalty to a brand, cheap brands
# (sign: +1 the more, the more sensitive).
SENSITIVITY_SIGNALS = {"slope_own": 1, "loyalty": -1, "price_index": -1}


def _sensitivity_score(model_rise: np.ndarray, shopper: pd.DataFrame) -> np.ndarray:
    """The mean percentile rank of the response model's lift and the behavioural signals,
    equally weighted (nothing here is fitted to a shopper's true sensitivity). The lift
    alone ranks shoppers worse: it mixes in deal attention (switching brands on promo,
    not buying more), which the signals tell apart."""
    ranks = [pd.Series(model_rise).rank(pct=True).to_numpy()]
    for name, sign in SENSITIVITY_SIGNALS.items():
        if name in shopper:
            ranks.append(pd.Series(sign * shopper[name].to_numpy(np.float64))
                         .rank(pct=True).fillna(0.5).to_numpy())
    return np.mean(ranks, axis=0)


def shopper_scores(models: FittedModels, enc: Encoded, hist: History) -> ShopperScores:
    """Per active shopper: price sensitivity (a 0–1 rank score: how much P rises from no
    discount to the reference depth, averaged over the categories they buy, at their
    usual SKU, together with `SENSITIVITY_SIGNALS`), the cherry-picker score (the mean
    over their categories) and the share-of-wallet gap (what shoppers like them spend a
    week on their categories beyond what they spend here, kopecks)."""
    customer, category = shopper_categories(hist, 1)
    sku = _typical_sku(enc, hist, customer, category)
    X = offer_features(enc, hist, customer=customer, sku=sku, week=hist.end, depth=0.0)
    rise = models.response.sensitivity(X)
    n = enc.n_customers
    weight = np.bincount(customer, minlength=n).astype(np.float64)
    active = weight > 0
    sensitivity = np.bincount(customer, weights=rise, minlength=n) / np.maximum(weight, 1)
    p_cherry = models.cherry.predict_proba(cherry_frame(enc, hist, customer, category))[:, 1]
    category_cherry = np.full((n, enc.n_categories), np.nan)
    category_cherry[customer, category] = p_cherry
    cherry = np.bincount(customer, weights=p_cherry, minlength=n) / np.maximum(weight, 1)
    sensitivity[active] = _sensitivity_score(sensitivity[active],
                                             hist.shopper.iloc[np.flatnonzero(active)])
    expected = models.wallet.predict(wallet_frame(enc, hist, customer, category))
    actual = hist.category_spend[customer, category] / max(hist.weeks, 1)
    gap = np.bincount(customer, weights=np.maximum(expected - actual, 0), minlength=n)
    frame = pd.DataFrame({"customer_id": enc.customer_ids, "price_sensitivity": sensitivity,
                          "cherry_picker_score": cherry,
                          "share_of_wallet_gap": np.round(gap)})[active]
    return ShopperScores(frame=frame.reset_index(drop=True), category_cherry=category_cherry)


def category_wallet_gap(models: FittedModels, enc: Encoded, hist: History,
                        customer: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Per (shopper, category): the estimated share of the category bought elsewhere,
    1 − spend here / spend expected of shoppers like them (clipped to [−1, 1])."""
    expected = models.wallet.predict(wallet_frame(enc, hist, customer, category))
    actual = hist.category_spend[customer, category] / max(hist.weeks, 1)
    return np.clip(1 - actual / np.maximum(expected, 1.0), -1, 1)


@dataclass(frozen=True)
class CampaignPairs:
    pairs: Pairs
    customer: np.ndarray        # index into enc.customer_ids
    sku: np.ndarray             # index into enc's SKUs
    guardrail_cap_bp: np.ndarray
    cherry_flag: np.ndarray


def campaign_pairs(models: FittedModels, enc: Encoded, hist: History, *,
                   customers: np.ndarray, skus: np.ndarray, weeks: float,
                   max_discount_bp: np.ndarray, cherry_score: np.ndarray,
                   cherry_threshold: float, cherry_max_bp: int,
                   units_limit_per_week: float | None = None) -> CampaignPairs:
    """Every (shopper, SKU) of a campaign with its response and caps. `max_discount_bp`
    is per SKU (the guardrails); `cherry_score` per shopper (flagged shoppers get at most
    `cherry_max_bp`, the retailer's rule)."""
    customer = np.repeat(np.asarray(customers, dtype=np.int64), len(skus))
    sku = np.tile(np.asarray(skus, dtype=np.int64), len(customers))
    sibling, rival = expected_context(enc, customer, sku, end=hist.end)
    X = offer_features(enc, hist, customer=customer, sku=sku, week=hist.end, depth=0.0,
                       sibling_depth=sibling, rival_depth=rival)
    base, lift = models.response.base_and_lift(X)
    category = enc.sku_category[sku]
    lines = hist.category_lines[customer, category]
    units = hist.category_units[customer, category]
    typical = models.response.units_per_purchase_
    per_purchase = (units + 2 * typical) / (lines + 2)  # shrunk towards the typical purchase
    if units_limit_per_week is not None:
        per_purchase = np.minimum(per_purchase, units_limit_per_week)
    flag = cherry_score[customer] >= cherry_threshold
    cap = np.tile(np.asarray(max_discount_bp, dtype=np.int64), len(customers))
    cap_all = np.where(flag, np.minimum(cap, cherry_max_bp), cap)
    pairs = Pairs(base_logit=base, lift=lift, units_per_purchase=per_purchase,
                  price_minor=enc.price[sku], seen=enc.has_app[customer], cap_bp=cap_all,
                  weeks=weeks)
    return CampaignPairs(pairs=pairs, customer=customer, sku=sku, guardrail_cap_bp=cap,
                         cherry_flag=flag)


def sku_caps(enc: Encoded, skus: np.ndarray, *, min_margin_bp: int,
             min_price_minor: np.ndarray | None = None,
             max_discount_bp: np.ndarray | None = None) -> np.ndarray:
    """The guardrail cap of each SKU (bp)."""
    skus = np.asarray(skus, dtype=np.int64)
    cost = enc.cost[skus]
    limits = guardrails.SkuLimits(
        price_minor=enc.price[skus].astype(np.int64),
        cost_minor=np.where(np.isfinite(cost), np.nan_to_num(cost), -1).astype(np.int64),
        min_price_minor=np.zeros(len(skus), dtype=np.int64) if min_price_minor is None
        else np.asarray(min_price_minor, dtype=np.int64),
        max_discount_bp=np.full(len(skus), guardrails.FULL_BP, dtype=np.int64)
        if max_discount_bp is None else np.asarray(max_discount_bp, dtype=np.int64),
        min_margin_bp=min_margin_bp)
    return guardrails.max_depth_bp(limits)


@dataclass
class ServingState:
    """What scoring a campaign needs, kept beside a model artifact: the catalogue and
    shoppers without receipt lines, their latest history, and their scores."""

    enc: Encoded
    hist: History
    scores: ShopperScores

    def cherry_by_customer(self) -> np.ndarray:
        out = np.zeros(self.enc.n_customers)
        frame = self.scores.frame
        out[self.enc.customer_index.get_indexer(frame["customer_id"])] = \
            frame["cherry_picker_score"].to_numpy()
        return out


def serving_state(models: FittedModels, enc: Encoded) -> ServingState:
    """History over the latest weeks (as long as the training's feature window) and the
    shoppers' scores, for serving after the data ends."""
    from pricing_ai.training import history

    weeks = models.window["feature_weeks"][1] - models.window["feature_weeks"][0]
    hist = history(enc, start=max(0, enc.n_weeks - weeks), end=enc.n_weeks)
    scores = shopper_scores(models, enc, hist)
    return ServingState(enc=enc.for_serving(), hist=hist, scores=scores)
