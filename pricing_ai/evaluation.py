"""Evaluation against the simulator's truth: simulate a retailer, train on its receipts,
then judge the models, the policy and the forecast with what only the simulator knows —
each shopper's true sensitivity, cherry-picking and outside share, and its response to
any set of offers (played with and without them on the same random numbers, counted
over the campaign and twice its length after it, so pull-forward is netted out).

Also, on Complete Journey (a real retailer's sample), a time-split check: predict each
household's promo share in later weeks from earlier ones, against "same as before".
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from core.settings import get_settings
from pricing_ai import forecast as forecasting
from pricing_ai import policy, scoring, training
from pricing_ai.policy import Goal

CAMPAIGN_WEEKS = 4
TAIL_WEEKS = 8
AI_GRID_BP = np.array([0, 500, 1000, 1500, 2000, 2500, 3000])
FLAT_DEPTHS_BP = (500, 1000, 1500, 2000, 2500, 3000)
CALIBRATION_WEEKS_BACK = 6


@dataclass
class EvaluationSettings:
    cherry_threshold: float = 0.15
    cherry_max_bp: int = 1000
    min_margin_bp: int = 500
    label_weeks: int = 12
    rows: int = 1_000_000
    campaigns: int = 24
    n_jobs: int = field(default_factory=lambda: get_settings().pricing_threads)
    seed: int = 0


@dataclass
class World:
    """A simulated retailer with models trained on it and the history as of its end."""

    market: object
    enc: training.Encoded
    models: training.FittedModels
    hist: training.History
    scores: scoring.ShopperScores
    settings: EvaluationSettings
    timings: dict = field(default_factory=dict)
    as_of: int | None = None   # the week campaigns start (by default when the data ends)

    @property
    def end_week(self) -> int:
        return self.enc.n_weeks if self.as_of is None else self.as_of


def past_world(world: World, *, weeks_back: int) -> World:
    """The same retailer and models as seen `weeks_back` weeks before the data ends: the
    history and the shoppers' scores as of then, for campaigns that end before it does."""
    feature_weeks = (world.models.window["feature_weeks"][1]
                     - world.models.window["feature_weeks"][0])
    as_of = world.enc.n_weeks - weeks_back
    hist = training.history(world.enc, start=max(0, as_of - feature_weeks), end=as_of)
    scores = scoring.shopper_scores(world.models, world.enc, hist)
    return World(market=world.market, enc=world.enc, models=world.models, hist=hist,
                 scores=scores, settings=world.settings, as_of=as_of)


def build_world(folder: Path, *, settings: EvaluationSettings, say=print) -> World:
    from retail.simulator import Market

    timings: dict = {}
    began = time.perf_counter()
    enc = training.Encoded(training.load_folder(folder))
    timings["load_s"] = round(time.perf_counter() - began, 1)
    models = training.fit_models(enc, label_weeks=settings.label_weeks, rows=settings.rows,
                                 seed=settings.seed, n_jobs=settings.n_jobs, say=say)
    timings["train_s"] = round(time.perf_counter() - began - timings["load_s"], 1)
    feature_weeks = models.window["feature_weeks"][1] - models.window["feature_weeks"][0]
    hist = training.history(enc, start=enc.n_weeks - feature_weeks, end=enc.n_weeks)
    scores = scoring.shopper_scores(models, enc, hist)
    timings["score_s"] = round(time.perf_counter() - began - timings["load_s"]
                               - timings["train_s"], 1)
    return World(market=Market.load(folder), enc=enc, models=models, hist=hist, scores=scores,
                 settings=settings, timings=timings)


# --- models against truth --------------------------------------------------------------------

def model_metrics(world: World) -> dict:
    truth = world.market.truth_customers(week=world.end_week).set_index("customer_id")
    frame = world.scores.frame.set_index("customer_id")
    known = truth.loc[frame.index]
    sensitivity = float(spearmanr(frame["price_sensitivity"], known["price_sensitivity"])
                        .statistic)
    cherry = float(roc_auc_score(known["cherry_picker"], frame["cherry_picker_score"]))
    pairs = world.market.truth_customer_category(week=world.end_week)
    enc, hist = world.enc, world.hist
    customer = enc.customer_index.get_indexer(pairs["customer_id"].astype(str))
    category = pd.Index(enc.category_names).get_indexer(pairs["category"].astype(str))
    ok = (customer >= 0) & (category >= 0)
    ok &= hist.active[np.maximum(customer, 0)]
    gap = scoring.category_wallet_gap(world.models, enc, hist, customer[ok], category[ok])
    wallet = float(spearmanr(gap, 1 - pairs["share_of_wallet"].to_numpy()[ok]).statistic)
    flagged = frame["cherry_picker_score"] >= world.settings.cherry_threshold
    return {
        "sensitivity_spearman": sensitivity,
        "cherry_picker_auc": cherry,
        "wallet_gap_spearman": wallet,
        "cherry_flag_precision": float(known["cherry_picker"][flagged].mean())
        if flagged.any() else None,
        "cherry_flag_recall": float(flagged[known["cherry_picker"].astype(bool)].mean()),
        "shoppers_scored": len(frame),
    }


# --- campaigns ------------------------------------------------------------------------------

@dataclass
class Campaign:
    skus: np.ndarray            # SKU indices
    customers: np.ndarray       # segment members (customer indices)
    weeks: int
    holdout: np.ndarray         # bool per member


def campaign_pairs(world: World, campaign: Campaign) -> scoring.CampaignPairs:
    enc = world.enc
    caps = scoring.sku_caps(enc, campaign.skus, min_margin_bp=world.settings.min_margin_bp)
    cherry = np.zeros(enc.n_customers)
    frame = world.scores.frame
    cherry[enc.customer_index.get_indexer(frame["customer_id"])] = \
        frame["cherry_picker_score"].to_numpy()
    return scoring.campaign_pairs(
        world.models, enc, world.hist, customers=campaign.customers, skus=campaign.skus,
        weeks=campaign.weeks, max_discount_bp=caps, cherry_score=cherry,
        cherry_threshold=world.settings.cherry_threshold,
        cherry_max_bp=world.settings.cherry_max_bp)


def realise(world: World, pairs: scoring.CampaignPairs, depth_bp: np.ndarray, *,
            weeks: int, held_out: np.ndarray | None = None) -> dict:
    """Play the offers (depth > 0, holdout excluded) in the simulator right after the
    history: incremental units over campaign and tail, discount spent in the campaign."""
    offered = depth_bp > 0
    if held_out is not None:
        offered &= ~held_out
    enc = world.enc
    offers = pd.DataFrame({"customer_id": enc.customer_ids[pairs.customer[offered]],
                           "sku": enc.products["sku"].to_numpy()[pairs.sku[offered]],
                           "discount_bp": depth_bp[offered].astype(np.int64)})
    if offers.empty:
        return {"spend": 0.0, "incremental_units": 0.0, "units": 0.0, "offers": 0,
                "per_pair": offers}
    result = world.market.respond(offers, start_week=world.end_week, weeks=weeks,
                                  tail_weeks=2 * weeks)
    return {"spend": float(result["discount_cost_minor"].sum()),
            "incremental_units": float((result["units_with"] - result["units_without"]).sum()),
            "units": float(result["units_in_campaign_with"].sum()), "offers": len(offers),
            "per_pair": result}


def _outcome(world: World, pairs: scoring.CampaignPairs, grid: np.ndarray) -> policy.Outcome:
    response = world.models.response
    return policy.outcomes(pairs.pairs, grid, curve=response.curve,
                           units_multiplier=response.units_multiplier)


def policy_comparison(world: World, *, app_users_only: bool = False) -> dict:
    """The AI policy against the best flat depth for the whole segment and against random
    targeting, at the policy's spend, measured by the simulator."""
    enc, hist = world.enc, world.hist
    skus = _benchmark_skus(world)
    category = enc.sku_category[skus[0]]
    members = np.flatnonzero(hist.active & (hist.category_lines[:, category] > 0))
    if app_users_only:
        members = members[enc.has_app[members]]
    campaign = Campaign(skus=skus, customers=members, weeks=CAMPAIGN_WEEKS,
                        holdout=np.zeros(len(members), dtype=bool))
    pairs = campaign_pairs(world, campaign)
    grid = np.unique(np.concatenate([AI_GRID_BP, FLAT_DEPTHS_BP]))
    outcome = _outcome(world, pairs, grid)
    flat_15 = policy.fixed(outcome, 1500)
    budget = 0.5 * flat_15.spend_minor
    ai_outcome = _outcome(world, pairs, AI_GRID_BP)
    chosen = policy.allocate(ai_outcome, budget_minor=budget, goal=Goal.units)
    ai = realise(world, pairs, chosen.depth_bp, weeks=CAMPAIGN_WEEKS)
    flats = []
    for depth in FLAT_DEPTHS_BP:
        allocation = policy.fixed(_outcome(world, pairs, fixed_grid(depth, pairs.pairs.cap_bp)),
                                  depth)
        realised = realise(world, pairs, allocation.depth_bp, weeks=CAMPAIGN_WEEKS)
        flats.append({"depth_bp": depth, "spend": realised["spend"],
                      "incremental_units": realised["incremental_units"],
                      "predicted_spend": allocation.spend_minor})
    spend = np.array([0.0] + [f["spend"] for f in flats])
    gain = np.array([0.0] + [f["incremental_units"] for f in flats])
    order = np.argsort(spend)
    flat_at_spend = float(np.interp(ai["spend"], spend[order], gain[order]))
    best_flat = max(flats, key=lambda f: f["incremental_units"] / max(f["spend"], 1))
    # Random targeting: the policy's typical depth to random members, as many as the
    # policy's spend affords.
    rng = np.random.default_rng(world.settings.seed + 5)
    offered_depth = chosen.depth_bp[chosen.depth_bp > 0]
    typical = int(np.median(offered_depth)) if len(offered_depth) else 1500
    typical_allocation = policy.fixed(outcome, typical)
    share = min(1.0, budget / max(typical_allocation.spend_minor, 1.0))
    lucky = rng.random(len(members)) < share
    random_depth = np.where(np.repeat(lucky, len(skus)), typical_allocation.depth_bp, 0)
    randomly = realise(world, pairs, random_depth, weeks=CAMPAIGN_WEEKS)
    random_at_spend = randomly["incremental_units"] * ai["spend"] / max(randomly["spend"], 1)
    return {
        "segment": "app users" if app_users_only else "category buyers",
        "members": len(members), "skus": enc.products["sku"].to_numpy()[skus].tolist(),
        "budget_minor": budget,
        "policy": {"predicted_spend": chosen.spend_minor, "spend": ai["spend"],
                   "predicted_incremental_units": chosen.incremental_units,
                   "incremental_units": ai["incremental_units"], "offers": ai["offers"],
                   "depth_counts": {int(d): int(c) for d, c in zip(
                       *np.unique(chosen.depth_bp, return_counts=True), strict=True)}},
        "flat": flats,
        "flat_at_policy_spend": flat_at_spend,
        "best_flat_depth_bp": best_flat["depth_bp"],
        "random": {"depth_bp": typical, "spend": randomly["spend"],
                   "incremental_units": randomly["incremental_units"],
                   "at_policy_spend": random_at_spend},
        "policy_vs_best_flat": ai["incremental_units"] / flat_at_spend
        if flat_at_spend > 0 else None,
        "policy_vs_random": ai["incremental_units"] / random_at_spend
        if random_at_spend > 0 else None,
        "qini": _qini(world, pairs, outcome),
    }


def _qini(world: World, pairs: scoring.CampaignPairs, outcome: policy.Outcome) -> dict:
    """Offers of 20 % to everyone, shoppers ranked by predicted incremental units: the
    realised incremental units of the top fraction (common random numbers make each
    pair's own uplift observable in the simulator)."""
    column = int(np.searchsorted(outcome.grid_bp, 2000))
    depth = np.where(pairs.pairs.cap_bp >= 2000, 2000, 0)
    realised = realise(world, pairs, depth, weeks=CAMPAIGN_WEEKS)["per_pair"]
    if len(realised) == 0:
        return {}
    enc = world.enc
    key = pd.Series(np.arange(len(pairs.customer)), index=pd.MultiIndex.from_arrays(
        [enc.customer_ids[pairs.customer], enc.products["sku"].to_numpy()[pairs.sku]]))
    position = key.loc[list(zip(realised["customer_id"], realised["sku"], strict=True))] \
        .to_numpy()
    predicted = outcome.incremental_units[position, column]
    uplift = (realised["units_with"] - realised["units_without"]).to_numpy(np.float64)
    order = np.argsort(-predicted)
    cumulative = np.concatenate([[0.0], np.cumsum(uplift[order])])
    points = np.linspace(0, len(order), 21).astype(int)
    return {"fraction": (points / max(len(order), 1)).tolist(),
            "incremental_units": cumulative[points].tolist(),
            "predicted": np.concatenate([[0.0], np.cumsum(predicted[order])])[points].tolist()}


def fixed_grid(depth_bp: int, cap_bp: np.ndarray) -> np.ndarray:
    """The depths a fixed-depth campaign actually gives: its depth, or a pair's cap
    where the guardrails or the cherry-picker rule clip it."""
    return np.unique(np.concatenate([[0, depth_bp], np.minimum(cap_bp, depth_bp)]))


def _benchmark_skus(world: World) -> np.ndarray:
    """The best-selling brand's three best-selling SKUs (one supplier, one category)."""
    enc = world.enc
    units = np.zeros(enc.n_skus)
    np.add.at(units, world.hist.sku_totals.keys % enc.n_skus, world.hist.sku_totals.values[0])
    brand_units = np.bincount(enc.sku_brand, weights=units, minlength=enc.n_brands)
    # A brand with several SKUs and a middling share: not the category's whole market.
    sizes = np.bincount(enc.sku_brand, minlength=enc.n_brands)
    candidates = np.flatnonzero(sizes >= 3)
    brand = candidates[np.argsort(-brand_units[candidates])][min(2, len(candidates) - 1)]
    skus = np.flatnonzero(enc.sku_brand == brand)
    return skus[np.argsort(-units[skus])][:3]


def forecast_backtest(world: World, *, campaigns: int,
                      calibration: forecasting.SpendCalibration | None = None,
                      seed_offset: int = 11, max_weeks: int = 4) -> dict:
    """Random campaigns: forecast spend (before) against spend realised in the simulator."""
    enc, hist = world.enc, world.hist
    rng = np.random.default_rng(world.settings.seed + seed_offset)
    sizes = np.bincount(enc.sku_brand, minlength=enc.n_brands)
    rows = []
    for number in range(campaigns):
        brand = int(rng.choice(np.flatnonzero(sizes > 0)))
        brand_skus = np.flatnonzero(enc.sku_brand == brand)
        skus = rng.choice(brand_skus, size=min(len(brand_skus), int(rng.integers(1, 4))),
                          replace=False)
        category = enc.sku_category[skus[0]]
        buyers = np.flatnonzero(hist.active & (hist.category_lines[:, category] > 0))
        kind = ["category buyers", "app users", "region", "loyal tier"][number % 4]
        if kind == "app users":
            buyers = buyers[enc.has_app[buyers]]
        elif kind == "region":
            buyers = buyers[enc.customer_region[buyers] == rng.integers(enc.n_regions)]
        elif kind == "loyal tier":
            buyers = buyers[enc.loyalty_tier[buyers] >= 1]
        if len(buyers) < 200:
            buyers = np.flatnonzero(hist.active & (hist.category_lines[:, category] > 0))
        weeks = int(rng.integers(2, max_weeks + 1))
        holdout = rng.random(len(buyers)) < 0.1
        campaign = Campaign(skus=np.sort(skus), customers=buyers, weeks=weeks, holdout=holdout)
        pairs = campaign_pairs(world, campaign)
        ai = number % 2 == 1
        if ai:
            grid = np.arange(0, 3001, 500)
            grid = grid[(grid == 0) | (grid >= 500)]
            outcome = _outcome(world, pairs, grid)
            lam = policy.recommended_lambda(outcome, Goal.units)
            allocation = policy.allocate(outcome, budget_minor=None, lam=lam)
            mode = "ai"
        else:
            depth = int(rng.choice([1000, 1500, 2000, 2500, 3000]))
            grid = fixed_grid(depth, pairs.pairs.cap_bp)
            outcome = _outcome(world, pairs, grid)
            allocation = policy.fixed(outcome, depth)
            mode = f"fixed {depth}"
        held = np.repeat(holdout, len(skus))
        clipped = pairs.guardrail_cap_bp < grid.max()
        if ai:
            clipped = pairs.guardrail_cap_bp < 3000
        result = forecasting.forecast(
            outcome, allocation, customer=pairs.customer, seen=pairs.pairs.seen,
            units_per_purchase=pairs.pairs.units_per_purchase, holdout_share=float(holdout.mean()),
            response_sigma=world.models.response_sigma, clipped=clipped,
            cherry_capped=pairs.cherry_flag & (pairs.pairs.cap_bp < grid.max()),
            calibration=calibration)
        realised = realise(world, pairs, allocation.depth_bp, weeks=weeks, held_out=held)
        spend = result.discount_spend_minor
        rows.append({"mode": mode, "segment": kind, "members": len(buyers), "weeks": weeks,
                     "skus": len(skus), "forecast": spend.expected, "low": spend.low,
                     "high": spend.high, "realised": realised["spend"],
                     "forecast_incremental_units": result.incremental_units.expected,
                     "realised_incremental_units": realised["incremental_units"]})
    frame = pd.DataFrame(rows)
    valid = frame[frame["realised"] > 0]
    ape = (valid["forecast"] - valid["realised"]).abs() / valid["realised"]
    covered = (valid["low"] <= valid["realised"]) & (valid["realised"] <= valid["high"])
    return {"campaigns": rows, "mdape": float(ape.median()),
            "coverage_80": float(covered.mean()),
            "bias": float(np.median(np.log(valid["forecast"] / valid["realised"])))}


def calibrate_forecast(world: World, *, campaigns: int) -> tuple[
        forecasting.SpendCalibration | None, dict]:
    """The spend calibration from past campaigns: random campaigns (other draws than the
    evaluation's) that started 6 weeks before the data ends and ended by then, forecast
    from the history as of their start. A retailer would take these from its own past
    campaigns; nothing of the evaluated weeks is used."""
    past = past_world(world, weeks_back=CALIBRATION_WEEKS_BACK)
    backtest = forecast_backtest(past, campaigns=campaigns, seed_offset=23,
                                 max_weeks=CALIBRATION_WEEKS_BACK - 2)
    rows = backtest["campaigns"]
    calibration = forecasting.SpendCalibration.fit(
        np.array([r["forecast"] for r in rows]), np.array([r["realised"] for r in rows]))
    return calibration, {"as_of_week": past.end_week, "mdape": backtest["mdape"],
                         "coverage_80": backtest["coverage_80"],
                         "calibration": None if calibration is None
                         else asdict(calibration)}


# --- Complete Journey ------------------------------------------------------------------------

def completejourney_check(folder: Path, *, seed: int = 0) -> dict:
    """Households' promo share (units bought on any discount) in later weeks, predicted
    from earlier weeks by LightGBM, against the naive "same as before"."""
    from lightgbm import LGBMRegressor

    lines = pd.read_parquet(folder / "transactions_sample.parquet")
    lines = lines[(lines["quantity"] > 0) & (lines["sales_value"] > 0)]
    discount = lines[["retail_disc", "coupon_disc", "coupon_match_disc"]].abs().sum(axis=1)
    lines = lines.assign(promo=(discount > 0).astype(float),
                         depth=discount / (lines["sales_value"] + discount))
    weeks = int(lines["week"].max())
    third = weeks // 3

    def summary(low: int, high: int) -> pd.DataFrame:
        part = lines[(lines["week"] > low) & (lines["week"] <= high)]
        grouped = part.groupby("household_id")
        return pd.DataFrame({
            "promo_share": grouped["promo"].mean(), "lines": grouped.size(),
            "depth": grouped["depth"].mean(), "spend": grouped["sales_value"].sum(),
            "baskets": grouped["basket_id"].nunique(), "stores": grouped["store_id"].nunique(),
            "products": grouped["product_id"].nunique()})

    first, second, third_part = summary(0, third), summary(third, 2 * third), \
        summary(2 * third, weeks)
    train = first.join(second["promo_share"].rename("target"), how="inner")
    test = second.join(third_part["promo_share"].rename("target"), how="inner")
    features = ["promo_share", "lines", "depth", "spend", "baskets", "stores", "products"]
    model = LGBMRegressor(n_estimators=200, learning_rate=0.03, num_leaves=7,
                          min_child_samples=20, random_state=seed, verbose=-1,
                          n_jobs=get_settings().pricing_threads)
    model.fit(train[features], train["target"], sample_weight=np.sqrt(train["lines"]))
    predicted = np.clip(model.predict(test[features]), 0, 1)
    naive = test["promo_share"]
    return {"households_train": len(train), "households_test": len(test), "weeks": weeks,
            "model_mae": float(np.mean(np.abs(predicted - test["target"]))),
            "naive_mae": float(np.mean(np.abs(naive - test["target"]))),
            "model_spearman": float(spearmanr(predicted, test["target"]).statistic),
            "naive_spearman": float(spearmanr(naive, test["target"]).statistic)}


# --- the whole run ---------------------------------------------------------------------------

def evaluate(*, customers: int, weeks: int, seed: int, out: Path,
             completejourney: Path | None = None, settings: EvaluationSettings | None = None,
             say=print) -> dict:
    """Simulate (unless `out/market` exists), train, evaluate; write `out/report.json` and
    the plots; return the report whose `summary` is the acceptance figures."""
    from retail.simulator import simulate

    settings = settings or EvaluationSettings(seed=seed)
    out = Path(out)
    market_dir = out / "market"
    began = time.perf_counter()
    if not (market_dir / "truth" / "market.json").exists():
        summary = simulate(customers=customers, weeks=weeks, seed=seed, out=market_dir)
        say(f"simulated {customers:,} shoppers × {weeks} weeks: {summary.lines:,} lines "
            f"in {summary.seconds:.0f} s")
    world = build_world(market_dir, settings=settings, say=say)
    report: dict = {"customers": customers, "weeks": weeks, "seed": seed,
                    "training": world.models.metrics, "window": world.models.window}
    report["models"] = model_metrics(world)
    say(f"models vs truth: {json.dumps(report['models'])}")
    report["policy"] = policy_comparison(world)
    report["policy_app_users"] = policy_comparison(world, app_users_only=True)
    say(f"policy vs best flat {report['policy']['policy_vs_best_flat']}, vs random "
        f"{report['policy']['policy_vs_random']}")
    calibration, report["forecast_calibration"] = calibrate_forecast(
        world, campaigns=settings.campaigns)
    world.models.forecast_calibration = calibration
    report["forecast"] = forecast_backtest(world, campaigns=settings.campaigns,
                                           calibration=calibration)
    say(f"forecast MdAPE {report['forecast']['mdape']:.3f}, 80 % coverage "
        f"{report['forecast']['coverage_80']:.2f}")
    if completejourney is not None and Path(completejourney).exists():
        report["completejourney"] = completejourney_check(Path(completejourney), seed=seed)
    report["timings"] = {**world.timings, "total_s": round(time.perf_counter() - began, 1)}
    report["summary"] = {
        "cherry_picker_auc": report["models"]["cherry_picker_auc"],
        "sensitivity_spearman": report["models"]["sensitivity_spearman"],
        "wallet_gap_spearman": report["models"]["wallet_gap_spearman"],
        "policy_vs_best_flat": report["policy"]["policy_vs_best_flat"],
        "policy_vs_random": report["policy"]["policy_vs_random"],
        "policy_vs_best_flat_app_users": report["policy_app_users"]["policy_vs_best_flat"],
        "forecast_mdape": report["forecast"]["mdape"],
        "forecast_coverage_80": report["forecast"]["coverage_80"],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_json_default)
                                     + "\n", encoding="utf-8")
    write_plots(report, out)
    return report


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, pd.DataFrame):
        return None
    raise TypeError(type(value))


def write_plots(report: dict, out: Path) -> list[Path]:
    """calibration.png, qini.png, forecast.png (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are a nicety; the JSON report is the record
        return []
    paths = []
    calibration = report["training"]["response"]["calibration"]
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([c["predicted"] for c in calibration], [c["observed"] for c in calibration], "o-")
    top = max(max(c["predicted"] for c in calibration), max(c["observed"] for c in calibration))
    axis.plot([0, top], [0, top], "--", color="grey")
    axis.set(xlabel="predicted P(buy)", ylabel="observed", title="Response model calibration")
    paths.append(out / "calibration.png")
    figure.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(figure)

    qini = report["policy"].get("qini") or {}
    if qini:
        figure, axis = plt.subplots(figsize=(5, 5))
        axis.plot(qini["fraction"], qini["incremental_units"], label="model ranking")
        axis.plot([0, 1], [0, qini["incremental_units"][-1]], "--", label="random")
        axis.set(xlabel="share of pairs offered 20 %", ylabel="realised incremental units",
                 title="Qini curve")
        axis.legend()
        paths.append(out / "qini.png")
        figure.savefig(paths[-1], dpi=100, bbox_inches="tight")
        plt.close(figure)

    rows = report["forecast"]["campaigns"]
    figure, axis = plt.subplots(figsize=(5, 5))
    realised = np.array([r["realised"] for r in rows]) / 100
    expected = np.array([r["forecast"] for r in rows]) / 100
    low = np.array([r["low"] for r in rows]) / 100
    high = np.array([r["high"] for r in rows]) / 100
    axis.errorbar(realised, expected, yerr=[expected - low, high - expected], fmt="o")
    top = max(realised.max(initial=1), high.max(initial=1))
    axis.plot([0, top], [0, top], "--", color="grey")
    axis.set(xlabel="realised spend", ylabel="forecast spend (80 % interval)",
             title="Forecast vs realised")
    paths.append(out / "forecast.png")
    figure.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(figure)
    return paths
