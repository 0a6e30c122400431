"""The guardrails are never broken, whatever the prices, costs, caps and depths."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import apply_bp
from pricing_ai import guardrails

sku = st.tuples(
    st.integers(1, 5_000_000),                    # shelf price, kopecks
    st.one_of(st.just(-1), st.integers(0, 6_000_000)),  # cost (−1 unknown)
    st.integers(0, 6_000_000),                    # minimum price (0 none)
    st.integers(0, 10_000),                       # maximum discount
    st.integers(0, 10_000),                       # the depth asked for
)


@settings(max_examples=300, deadline=None)
@given(st.lists(sku, min_size=1, max_size=20), st.integers(0, 20_000))
def test_a_clipped_depth_never_breaks_a_guardrail(rows, margin_bp):
    price, cost, min_price, max_discount, asked = (np.array(c, dtype=np.int64)
                                                   for c in zip(*rows, strict=True))
    limits = guardrails.SkuLimits(price_minor=price, cost_minor=cost, min_price_minor=min_price,
                                  max_discount_bp=max_discount, min_margin_bp=margin_bp)
    cap = guardrails.max_depth_bp(limits)
    depth, clipped = guardrails.clip(asked, cap)
    for i in range(len(rows)):
        d = int(depth[i])
        assert 0 <= d <= int(asked[i])
        assert clipped[i] == (d != int(asked[i]))
        if d == 0:
            continue  # no offer: nothing to guard
        after = int(price[i]) - apply_bp(int(price[i]), d)
        assert d <= max_discount[i]
        assert after >= min_price[i]
        if cost[i] >= 0:
            assert after * 10_000 >= int(cost[i]) * (10_000 + margin_bp)
        # ... and the cap is the deepest allowed: one basis point more breaks a rule.
        if d == cap[i] and d < 10_000:
            deeper = int(price[i]) - apply_bp(int(price[i]), d + 1)
            assert (d + 1 > max_discount[i] or deeper < min_price[i]
                    or (cost[i] >= 0
                        and deeper * 10_000 < int(cost[i]) * (10_000 + margin_bp)))


def test_price_after_rounds_like_money():
    prices = np.array([9_999, 12_345, 1, 50_000])
    depths = np.array([1_500, 3_333, 5_000, 2_500])
    expected = [p - apply_bp(int(p), int(d)) for p, d in zip(prices, depths, strict=True)]
    assert guardrails.price_after(prices, depths).tolist() == expected


def test_a_sku_sold_at_cost_gets_no_offer():
    limits = guardrails.SkuLimits(price_minor=np.array([10_000]), cost_minor=np.array([10_000]),
                                  min_price_minor=np.array([0]),
                                  max_discount_bp=np.array([10_000]), min_margin_bp=500)
    assert guardrails.max_depth_bp(limits).tolist() == [0]
