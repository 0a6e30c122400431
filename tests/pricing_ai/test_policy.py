"""The policy spends the budget on the pairs where a rouble moves most, and never goes
past a pair's cap."""

from __future__ import annotations

import numpy as np

from pricing_ai import policy

GRID = np.array([0, 500, 1000, 1500, 2000, 2500, 3000])


def _pairs(n: int = 5_000, seed: int = 0) -> policy.Pairs:
    rng = np.random.default_rng(seed)
    return policy.Pairs(base_logit=rng.normal(-2, 1, n), lift=rng.gamma(2, 0.5, n),
                        units_per_purchase=np.full(n, 1.5),
                        price_minor=rng.integers(5_000, 50_000, n).astype(float),
                        seen=rng.random(n) < 0.6, cap_bp=rng.choice([1000, 2000, 3000], n),
                        weeks=4)


def _outcome(pairs):
    return policy.outcomes(pairs, GRID, curve=lambda d: 1 - np.exp(-d / 0.25),
                           units_multiplier=lambda d: 1 + d)


def test_the_budget_is_met_and_caps_hold():
    pairs = _pairs()
    outcome = _outcome(pairs)
    everything = policy.fixed(outcome, 3000)
    budget = 0.3 * everything.spend_minor
    chosen = policy.allocate(outcome, budget_minor=budget)
    assert chosen.spend_minor <= budget
    assert chosen.spend_minor > 0.9 * budget
    assert (chosen.depth_bp <= pairs.cap_bp).all()
    # Shoppers who never see the offer get none: it would only cost.
    assert (chosen.depth_bp[~pairs.seen] == 0).all()


def test_more_for_the_money_than_one_flat_depth():
    pairs = _pairs()
    outcome = _outcome(pairs)
    for depth in (500, 1000, 2000):
        flat = policy.fixed(outcome, depth)
        chosen = policy.allocate(outcome, budget_minor=flat.spend_minor)
        assert chosen.incremental_units >= flat.incremental_units


def test_fixed_depths_are_clipped_to_caps():
    pairs = _pairs()
    flat = policy.fixed(_outcome(pairs), 2500)
    assert (flat.depth_bp == np.minimum(2500 // 500 * 500, pairs.cap_bp)).all()
