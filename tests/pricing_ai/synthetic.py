"""Small synthetic training tables with the real feature names: fast to fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pricing_ai import training


def response_table(rows: int = 8_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray,
                                                                np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in training.RESPONSE_FEATURES})
    depth = np.where(rng.random(rows) < 0.4, rng.choice([0.1, 0.2, 0.3, 0.4], rows), 0.0)
    frame["depth"] = depth
    frame["rival_depth"] = np.where(rng.random(rows) < 0.2, 0.2, 0.0)
    sensitivity = np.exp(0.5 * frame["slope_own"].to_numpy())
    logit = -2.5 + 0.8 * frame["sku_share"].to_numpy() + 3 * sensitivity * depth \
        - frame["rival_depth"].to_numpy()
    bought = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    units = bought * (1 + rng.poisson(1 + 3 * depth))
    return frame, bought, units


def cherry_table(rows: int = 2_000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in training.CHERRY_FEATURES})
    label = (frame["category_deep_share"] + rng.normal(scale=0.5, size=rows) > 1).astype(np.int8)
    return frame, label.to_numpy()


def wallet_table(rows: int = 3_000, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in training.WALLET_FEATURES})
    spend = np.exp(5 + frame["other_spend_per_week"].to_numpy()) * (rng.random(rows) < 0.7)
    return frame, spend
