"""Benchmark: pricing_ai's training and launch-time scoring at a million.

    .venv/bin/python bench/pricing.py [--rows 1000000] [--shoppers 1000000] [--skus 3]

1. `train_1m_rows_s`: fitting the discount response model (LightGBM with the monotone
   depth constraint, its first-stage sensitivity index, the shared depth curve) on 1M
   rows of the real feature set (39 features); target <= 30 s.
2. `policy_1m_shoppers_s`: for 1M shoppers × 3 SKUs (3M pairs) whose features are built,
   the response model's two predictions per pair (log-odds at no discount and at the
   reference depth), the whole depth grid in numpy, the guardrail and cherry-picker caps,
   and the budget bisection; target <= 30 s. The boosters are compiled with lleaves on
   the first bulk call (a few seconds, counted here) when it is installed (`compiled`).
   Predicting every grid point instead would take `naive_grid_estimate_s` (measured per
   point, times the grid).

`--threads` is LightGBM's (and lleaves') thread count, by default the `PRICING_THREADS`
setting (1): on a machine whose cores other jobs keep busy, 1 thread trains faster than 2
(OpenMP's threads wait on each other).

The final line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import get_settings
from pricing_ai import policy, training
from pricing_ai.estimators import DiscountResponseModel

GRID = np.array([0, 500, 1000, 1500, 2000, 2500, 3000])


def table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows).astype(np.float32)
                          for name in training.RESPONSE_FEATURES})
    frame["depth"] = np.where(rng.random(rows) < 0.4,
                              rng.choice([0.05, 0.1, 0.2, 0.3, 0.4, 0.5], rows),
                              0.0).astype(np.float32)
    frame["rival_depth"] = np.where(rng.random(rows) < 0.2, 0.25, 0.0).astype(np.float32)
    slope = np.exp(0.4 * frame["slope_own"].to_numpy() - 0.3 * frame["loyalty"].to_numpy())
    logit = (-3 + 0.8 * frame["sku_share"].to_numpy() + 0.4 * frame["category_rate"].to_numpy()
             + 2.5 * slope * (1 - np.exp(-frame["depth"].to_numpy() / 0.25))
             - frame["rival_depth"].to_numpy())
    bought = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    units = bought * (1 + rng.poisson(1.0, rows))
    return frame, bought, units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shoppers", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=3)
    parser.add_argument("--threads", type=int, default=get_settings().pricing_threads)
    args = parser.parse_args()

    X, y, units = table(args.rows, seed=1)
    started = time.perf_counter()
    model = DiscountResponseModel(n_jobs=args.threads).fit(X, y, units)
    train_s = time.perf_counter() - started
    print(f"trained on {args.rows:,} rows × {X.shape[1]} features in {train_s:.1f} s "
          f"({model.n_estimators} trees; grid error {model.grid_error_:.4f})")

    pairs_n = args.shoppers * args.skus
    features, _, _ = table(pairs_n, seed=2)
    features["depth"] = np.float32(0)
    rng = np.random.default_rng(3)
    started = time.perf_counter()
    base, lift = model.base_and_lift(features)
    predicted_s = time.perf_counter() - started
    pairs = policy.Pairs(base_logit=base, lift=lift, units_per_purchase=np.full(pairs_n, 1.6),
                         price_minor=rng.integers(5_000, 60_000, pairs_n).astype(np.float64),
                         seen=rng.random(pairs_n) < 0.6,
                         cap_bp=np.where(rng.random(pairs_n) < 0.1, 1000, 3000),
                         weeks=4)
    outcome = policy.outcomes(pairs, GRID, curve=model.curve,
                              units_multiplier=model.units_multiplier)
    flat = policy.fixed(outcome, 1500)
    allocation = policy.allocate(outcome, budget_minor=0.5 * flat.spend_minor)
    policy_s = time.perf_counter() - started
    print(f"{args.shoppers:,} shoppers × {args.skus} SKUs: predictions {predicted_s:.1f} s, "
          f"with grid, caps and budget bisection {policy_s:.1f} s; "
          f"{int((allocation.depth_bp > 0).sum()):,} offers")
    sample = features.iloc[:100_000]
    started = time.perf_counter()
    model.predict_proba(sample)
    per_point = (time.perf_counter() - started) * pairs_n / len(sample)
    naive = per_point * (len(GRID) - 1)
    print(f"naive: the boosters at every grid point would take ~{naive:.0f} s")
    print(json.dumps({"train_1m_rows_s": round(train_s, 1),
                      "policy_1m_shoppers_s": round(policy_s, 1),
                      "predict_s": round(predicted_s, 1),
                      "naive_grid_estimate_s": round(naive, 1),
                      "compiled": model.compile_boosters(), "threads": args.threads,
                      "load_average": [round(x, 1) for x in os.getloadavg()],
                      "rows": args.rows, "shoppers": args.shoppers, "skus": args.skus,
                      "trees": model.n_estimators}))


if __name__ == "__main__":
    main()
