"""Customer features computed from receipt lines: the figures a marketer would check by
hand on a few shoppers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from audience.errors import InvalidFeatureConfig
from audience.features import (
    LINE_TYPES,
    Reference,
    compute_features,
    load_trait_rules,
    parse_trait_rules,
    weeks_observed,
)

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(days_ago: float) -> int:
    return int((AS_OF - timedelta(days=days_ago)).timestamp() * 1_000_000)


def lines_table(rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    return pa.table({name: pa.array(list(values), type=kind)
                     for (name, kind), values in zip(LINE_TYPES.items(), columns, strict=True)})


def reference() -> Reference:
    products = pd.DataFrame({
        "sku": ["P1", "P2", "P3"],
        "category": ["Корм для кошек", "Молочные продукты", "Мясо"],
        "brand": ["Мурлыка", "Бурёнкино", "Мясной двор"],
        "cost_price_minor": [50, None, 300],
    })
    stores = pd.DataFrame({"store_id": ["ST1", "ST2", "ST3"], "name": ["a", "b", "c"],
                           "region": ["Москва", "Москва", "Казань"]})
    customers = pa.table({
        "customer_id": ["A", "B", "C"],
        "birth_year": pa.array([None, 1990, None], type=pa.int32()),
        "gender": [None, "f", None],
        "region": [None, "Казань", None],
        "loyalty_tier": ["gold", "base", None],
        "has_app": pa.array([False, True, None], type=pa.bool_()),
    })
    return Reference(products=products, stores=stores, customers=customers)


# sold_at, receipt, sku, customer, store, qty, paid, discount, promo
LINES = [
    (at(10), "R1", "P1", "A", "ST1", 2.0, 200, 0, False),
    (at(10), "R1", "P2", "A", "ST1", 1.0, 100, 20, True),
    (at(5), "R4", "P2", "B", "ST3", 3.0, 300, 60, False),
    (at(3), "R2", "P1", "A", "ST1", 1.0, 100, 0, False),
    (at(2), "R5", "P3", "D", "ST3", 1.0, 400, 0, False),
    (at(1.5), "R3", "P3", "A", "ST2", 1.0, 500, 0, False),
]


@pytest.fixture
def table() -> pd.DataFrame:
    built = compute_features(lines_table(LINES), reference(), as_of=AS_OF, window_weeks=26,
                             traits=load_trait_rules(), weeks_observed=2)
    return built.table.to_pandas().set_index("customer_id")


def test_a_regular_shoppers_figures(table):
    a = table.loc["A"]
    assert a["visits"] == 3 and a["visits_per_week"] == pytest.approx(1.5)
    assert a["total_spend_minor"] == 900 and a["avg_check_minor"] == 300
    assert a["recency_days"] == 1
    assert sorted(a["stores"]) == ["ST1", "ST2"] and a["stores_count"] == 2
    assert a["home_store"] == "ST1"
    assert a["region"] == "Москва"  # not in the profile: the home store's region
    assert sorted(a["categories"]) == ["Корм для кошек", "Молочные продукты", "Мясо"]
    assert a["categories_count"] == 3
    assert list(a["favourite_brands"]) == ["Мясной двор", "Мурлыка", "Бурёнкино"]
    assert a["promo_share"] == pytest.approx(20.0)       # 1 of 5 units on a discount
    assert a["discount_depth"] == pytest.approx(16.67)   # 20 off a full price of 120
    assert a["margin_minor"] == 350                      # the milk's cost is unknown
    assert a["category_share:Мясо"] == pytest.approx(55.56)
    assert a["cat_owner"] and a["meat_lover"] and not a["has_baby"]
    assert a["has_app"] == False and a["loyalty_tier"] == "gold"  # noqa: E712


def test_profile_and_discount_figures(table):
    b = table.loc["B"]
    assert b["region"] == "Казань" and b["age"] == 36 and b["gender"] == "f"
    assert b["promo_share"] == pytest.approx(100.0)  # a discount counts without a promo flag
    assert b["discount_depth"] == pytest.approx(16.67)
    assert pd.isna(b["margin_minor"])                 # no cost known for anything bought
    assert not b["cat_owner"]


def test_a_shopper_without_purchases_has_empty_figures(table):
    c = table.loc["C"]
    assert c["visits"] == 0 and c["total_spend_minor"] == 0
    assert pd.isna(c["recency_days"]) and pd.isna(c["avg_check_minor"])
    assert c["stores_count"] == 0 and len(c["stores"]) == 0 and pd.isna(c["home_store"])
    assert pd.isna(c["promo_share"]) and pd.isna(c["category_share:Мясо"])
    assert pd.isna(c["region"]) and pd.isna(c["has_app"])


def test_a_shopper_only_the_receipts_know_is_still_counted(table):
    assert list(table.index) == ["A", "B", "C", "D"]
    d = table.loc["D"]
    assert d["visits"] == 1 and d["home_store"] == "ST3" and d["region"] == "Казань"


def test_lines_out_of_order_give_the_same_features(table):
    shuffled = lines_table([LINES[i] for i in (5, 0, 3, 2, 1, 4)])
    again = compute_features(shuffled, reference(), as_of=AS_OF, window_weeks=26,
                             traits=load_trait_rules(), weeks_observed=2)
    pd.testing.assert_frame_equal(again.table.to_pandas().set_index("customer_id"), table)


def test_weeks_observed_is_the_window_or_the_younger_history():
    assert weeks_observed(as_of=AS_OF, window_weeks=26, first_receipt=None) == 26
    assert weeks_observed(as_of=AS_OF, window_weeks=26,
                          first_receipt=AS_OF - timedelta(weeks=10)) == 10
    assert weeks_observed(as_of=AS_OF, window_weeks=26, first_receipt=AS_OF) == 1


def test_trait_rules_are_checked():
    with pytest.raises(InvalidFeatureConfig, match="criteria must be a non-empty list"):
        parse_trait_rules([{"name": "fish_lover", "criteria": []}])
    with pytest.raises(InvalidFeatureConfig, match="between 0 and 1"):
        parse_trait_rules([{"name": "x", "criteria": [{"categories": ["Рыба"],
                                                      "min_spend_share": 20}]}])
    with pytest.raises(InvalidFeatureConfig, match="is taken"):
        parse_trait_rules([{"name": "region", "criteria": [{"categories": ["Рыба"],
                                                           "min_purchases": 1}]}])
    rules = parse_trait_rules([{"name": "fish_lover", "label": {"ru": "Рыба", "en": "Fish"},
                                "criteria": [{"categories": ["Рыба"], "min_purchases": 1}]}])
    assert rules.rules[0].field().label_en == "Fish"
