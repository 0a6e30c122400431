"""Estimates are exact: random rule trees counted through the API against a count made
directly with pandas from the simulator's receipts in the database."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from audience import service
from core.db import get_engine
from retail.importing import import_folder
from retail.models import Customer, Product, ReceiptLine, Store
from retail.simulator import simulate
from tests import factories
from tests.audience.rulegen import random_rule

RULES = 80


@pytest.fixture(scope="module")
def market_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("market")
    simulate(customers=2000, weeks=10, seed=11, out=out)
    return out


def frame(statement) -> pd.DataFrame:
    with get_engine().connect() as connection:
        result = connection.execute(statement)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def reference_features(window_weeks: int = 26) -> tuple[pd.DataFrame, dict[str, set]]:
    """Every feature the rules may name, computed the plain pandas way."""
    lines = frame(select(ReceiptLine))
    lines["sold_at"] = pd.to_datetime(lines["sold_at"], utc=True)
    as_of = lines["sold_at"].max()
    since = as_of - timedelta(weeks=window_weeks)
    weeks = round(min(window_weeks, max(1.0, (as_of - max(since, lines["sold_at"].min()))
                                        / timedelta(weeks=1))), 4)
    lines = lines[lines["customer_id"].notna() & (lines["sold_at"] >= since)]
    products = frame(select(Product)).set_index("sku")
    lines = lines.join(products[["category", "brand", "cost_price_minor"]], on="sku")
    lines["discounted"] = lines["promo_flag"] | (lines["discount_amount_minor"] > 0)
    customers = frame(select(Customer)).set_index("customer_id")
    stores = frame(select(Store)).set_index("store_id")

    by = lines.groupby("customer_id")
    receipts = lines.drop_duplicates(["customer_id", "sold_at", "receipt_id"])
    out = pd.DataFrame(index=customers.index)
    out["visits"] = receipts.groupby("customer_id").size()
    out["visits"] = out["visits"].fillna(0)
    out["visits_per_week"] = np.round(out["visits"] / weeks, 2).astype(np.float32)
    spend = by["paid_amount_minor"].sum().reindex(out.index).fillna(0)
    out["total_spend_minor"] = spend
    out["avg_check_minor"] = np.round(spend / out["visits"]).where(out["visits"] > 0)
    last = by["sold_at"].max().reindex(out.index)
    out["recency_days"] = np.floor((as_of - last) / timedelta(days=1)).astype(np.float32)
    costed = lines[lines["cost_price_minor"].notna()]
    margin = (costed["paid_amount_minor"] - costed["cost_price_minor"] * costed["qty"]) \
        .groupby(costed["customer_id"]).sum()
    out["margin_minor"] = np.round(margin.reindex(out.index))
    items = by["qty"].sum().reindex(out.index)
    promo_items = lines[lines["discounted"]].groupby("customer_id")["qty"].sum() \
        .reindex(out.index).fillna(0)
    out["promo_share"] = np.round(100 * promo_items / items, 2).astype(np.float32)
    cut = lines[lines["discounted"]]
    full_price = (cut["paid_amount_minor"] + cut["discount_amount_minor"]).groupby(
        cut["customer_id"]).sum().reindex(out.index)
    taken = cut["discount_amount_minor"].groupby(cut["customer_id"]).sum().reindex(out.index)
    out["discount_depth"] = np.round(100 * taken / full_price, 2).astype(np.float32)

    per_store = receipts.groupby(["customer_id", "store_id"]).size().rename("visits") \
        .reset_index().sort_values(["customer_id", "visits", "store_id"],
                                   ascending=[True, False, True])
    out["home_store"] = per_store.drop_duplicates("customer_id").set_index(
        "customer_id")["store_id"]
    out["stores_count"] = per_store.groupby("customer_id").size().reindex(out.index).fillna(0)
    per_category = lines.groupby(["customer_id", "category"]).agg(
        spend=("paid_amount_minor", "sum"), bought=("sku", "size")).reset_index()
    out["categories_count"] = per_category.groupby("customer_id").size() \
        .reindex(out.index).fillna(0)
    for category in products["category"].unique():
        mine = per_category[per_category["category"] == category].set_index("customer_id")
        share = 100 * mine["spend"].reindex(out.index).fillna(0) / spend
        out[f"category_share:{category}"] = np.round(share.where(spend > 0), 2) \
            .astype(np.float32)
    bought = per_category.pivot(index="customer_id", columns="category",
                                values="bought").reindex(out.index).fillna(0)
    out["cat_owner"] = bought.get("Корм для кошек", 0) >= 2
    out["dog_owner"] = bought.get("Корм для собак", 0) >= 2
    out["has_baby"] = bought.get("Детское питание", 0) + bought.get("Подгузники", 0) >= 2
    per_brand = lines.groupby(["customer_id", "brand"])["paid_amount_minor"].sum() \
        .rename("spend").reset_index().sort_values(["customer_id", "spend", "brand"],
                                                   ascending=[True, False, True])
    sets = {
        "stores": per_store.groupby("customer_id")["store_id"].agg(set),
        "categories": per_category.groupby("customer_id")["category"].agg(set),
        "favourite_brands": per_brand.groupby("customer_id").head(3).groupby(
            "customer_id")["brand"].agg(set),
    }
    sets = {name: values.reindex(out.index).map(lambda v: v if isinstance(v, set) else set())
            for name, values in sets.items()}
    home_region = out["home_store"].map(stores["region"])
    out["region"] = customers["region"].where(customers["region"].notna(), home_region)
    out["has_app"] = customers["has_app"]
    out["loyalty_tier"] = customers["loyalty_tier"]
    out["gender"] = customers["gender"]
    out["age"] = as_of.year - customers["birth_year"]
    return out, sets


def reference_mask(rule, table: pd.DataFrame, sets: dict[str, pd.Series]) -> pd.Series:
    if "all" in rule or "any" in rule:
        masks = [reference_mask(child, table, sets) for child in rule.get("all", [])
                 or rule["any"]]
        combined = masks[0]
        for mask in masks[1:]:
            combined = (combined & mask) if "all" in rule else (combined | mask)
        return combined
    if "not" in rule:
        return ~reference_mask(rule["not"], table, sets)
    name, op, value = rule["field"], rule["op"], rule["value"]
    if name in sets:
        wanted = set(value)
        test = (lambda have: wanted <= have) if op == "contains_all" else \
            (lambda have: bool(wanted & have))
        return sets[name].map(test).astype(bool)
    column = table[name]
    if column.dtype == np.float32:
        value = np.float32(value) if op != "between" else [np.float32(v) for v in value]
    if op == "eq":
        result = column == value
    elif op == "in":
        result = column.isin(value)
    elif op == "gte":
        result = column >= value
    elif op == "lte":
        result = column <= value
    else:
        result = (column >= value[0]) & (column <= value[1])
    return result.fillna(False).astype(bool)


def test_random_rules_count_exactly_what_pandas_counts(client, any_db, data_dir,
                                                       market_files):
    import_folder(folder=market_files)
    market = factories.marketplace()
    service.build_features()
    table, sets = reference_features()
    fields = client.get("/api/v1/audience/fields", headers=market.marketer).json()
    names = set(table.columns) | set(sets)
    fields = [f for f in fields if f["name"] in names]
    assert len(fields) >= 30

    rng = random.Random(5)
    nonzero = 0
    for _ in range(RULES):
        rule = random_rule(fields, rng, conditions=rng.randint(1, 10))
        response = client.post("/api/v1/segments/estimate", json={"rule": rule},
                               headers=market.marketer)
        assert response.status_code == 200, (rule, response.text)
        body = response.json()
        expected = int(reference_mask(rule, table, sets).sum())
        assert body["count"]["count"] == expected, rule
        assert sum(b["count"]["count"] for b in body["breakdown"]["region"]) == expected
        nonzero += 0 < expected < len(table)
    assert nonzero >= RULES // 2  # the rules were not all trivially empty or everyone
