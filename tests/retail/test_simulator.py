"""The synthetic market as its users meet it: the files the importer reads, the shopping
behaviour a model is meant to learn, and the response to personal offers that policies
are judged by."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from retail.cli import app
from retail.simulator import Market, simulate

CUSTOMERS = 2000
WEEKS = 16
SEED = 11
CONTRACT = {
    "stores": ["store_id", "name", "region", "city", "format"],
    "suppliers": ["supplier_id", "name", "inn"],
    "products": ["sku", "name", "supplier_id", "category", "regular_price", "brand",
                 "subcategory", "cost_price", "pack_size"],
    "customers": ["customer_id", "birth_year", "gender", "region", "loyalty_tier", "has_app",
                  "registered_at"],
    "receipts": ["receipt_id", "customer_id", "store_id", "ts", "sku", "qty", "paid_amount",
                 "discount_amount", "promo_flag"],
}
STORABLE = ["Крупы", "Макароны", "Соусы и специи", "Кофе", "Чай", "Бытовая химия",
            "Средства гигиены", "Корм для кошек", "Корм для собак", "Подгузники"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("market")
    simulate(CUSTOMERS, WEEKS, SEED, out)
    return out


@pytest.fixture(scope="module")
def market(world) -> Market:
    return Market.load(world)


@pytest.fixture(scope="module")
def lines(world) -> pd.DataFrame:
    """Receipt lines with their product, the shelf price and the depth, in kopecks."""
    receipts = _with_kopecks(pq.read_table(world / "receipts.parquet"),
                             paid_amount="paid_minor", discount_amount="discount_minor")
    products = _with_kopecks(pq.read_table(world / "products.parquet"),
                             regular_price="price_minor")
    lines = receipts.merge(products[["sku", "category", "price_minor"]], on="sku")
    lines["depth"] = lines["discount_minor"] / (lines["qty"] * lines["price_minor"])
    return lines


def _with_kopecks(table: pa.Table, **minor_names: str) -> pd.DataFrame:
    """The table with money columns also as integer kopecks, computed in decimals."""
    hundred = pa.scalar(Decimal(100), pa.decimal128(3, 0))
    for money, minor in minor_names.items():
        table = table.append_column(
            minor, pc.cast(pc.multiply(table.column(money), hundred), pa.int64()))
    return table.to_pandas()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


# --- the files -----------------------------------------------------------------------------

def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = simulate(300, 3, 5, tmp_path / "first")
    simulate(300, 3, 5, tmp_path / "again")
    simulate(300, 3, 6, tmp_path / "other")

    assert _files(tmp_path / "first") == _files(tmp_path / "again")
    assert set(first.files) <= set(_files(tmp_path / "first"))
    other = _files(tmp_path / "other")
    assert other["receipts.parquet"] != _files(tmp_path / "first")["receipts.parquet"]


def test_files_follow_the_import_contract(world):
    tables = {name: pq.read_table(world / f"{name}.parquet") for name in CONTRACT}
    for name, columns in CONTRACT.items():
        assert tables[name].column_names == columns, name

    receipts = tables["receipts"]
    money = pa.decimal128(14, 2)
    for column in ("paid_amount", "discount_amount"):
        assert receipts.schema.field(column).type == money
    for column in ("regular_price", "cost_price"):
        assert tables["products"].schema.field(column).type == money
    ts = receipts.schema.field("ts").type
    assert pa.types.is_timestamp(ts) and ts.tz is None  # local time, no offset
    for column in ("receipt_id", "customer_id", "store_id", "sku"):
        assert receipts.schema.field(column).type == pa.string()

    frame = receipts.to_pandas()
    assert not frame.duplicated(["receipt_id", "sku"]).any()
    assert (frame["qty"] >= 1).all()
    assert frame["ts"].min() >= pd.Timestamp("2026-01-05")
    assert frame["ts"].max() < pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=WEEKS)
    # A receipt is one visit: one shopper, one store, one moment.
    per_receipt = frame.fillna({"customer_id": ""}).groupby("receipt_id").agg(
        customers=("customer_id", "nunique"), stores=("store_id", "nunique"),
        moments=("ts", "nunique"))
    assert (per_receipt == 1).all().all()

    anonymous = frame.groupby("receipt_id")["customer_id"].first().isna().mean()
    assert 0.01 < anonymous < 0.06

    known = {name: set(tables[name].column(0).to_pylist()) for name in CONTRACT}
    assert set(frame["sku"]) <= known["products"]
    assert set(frame["store_id"]) <= known["stores"]
    assert set(frame["customer_id"].dropna()) <= known["customers"]
    assert set(tables["products"].column("supplier_id").to_pylist()) <= known["suppliers"]
    inns = tables["suppliers"].column("inn").to_pylist()
    assert all(len(inn) == 10 and inn.isdigit() for inn in inns)

    products = tables["products"].to_pandas()
    assert 300 <= len(products) <= 600
    assert products["category"].nunique() >= 20
    # Each brand belongs to one supplier, and the retailer sells above cost.
    assert (products.groupby("brand")["supplier_id"].nunique() == 1).all()
    assert (products["cost_price"] < products["regular_price"]).all()


def test_paid_amount_is_quantity_times_shelf_price_less_the_discount(lines):
    assert (lines["paid_minor"] == lines["qty"] * lines["price_minor"]
            - lines["discount_minor"]).all()
    assert (lines["promo_flag"] == (lines["discount_minor"] > 0)).all()


def test_csv_has_money_as_decimal_text_and_local_iso_times(tmp_path):
    simulate(300, 2, 5, tmp_path, fmt="csv")
    header, first = (tmp_path / "receipts.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert header.replace('"', "").split(",") == CONTRACT["receipts"]
    fields = first.replace('"', "").split(",")
    assert fields[3].startswith("2026-01-05T") and len(fields[3]) == 19
    assert Decimal(fields[6]) == Decimal(fields[6]).quantize(Decimal("0.01"))
    assert "." in fields[6]
    receipts = pd.read_csv(tmp_path / "receipts.csv", dtype={"customer_id": str})
    assert receipts["customer_id"].isna().any()  # anonymous visits have it empty
    assert len(pd.read_csv(tmp_path / "products.csv")) >= 300


def test_the_history_has_a_few_receipt_lines_per_shopper_and_week(lines):
    per_shopper_week = len(lines) / CUSTOMERS / WEEKS
    assert 3.5 < per_shopper_week < 5.5


# --- shopping behaviour --------------------------------------------------------------------

def test_retailer_promos_span_five_to_fifty_percent(lines):
    depths = lines.loc[lines["promo_flag"], "depth"].round(2)
    assert depths.min() == pytest.approx(0.05, abs=0.01)
    assert depths.max() == pytest.approx(0.50, abs=0.01)
    assert depths.nunique() == 10
    assert 0.1 < lines["promo_flag"].mean() < 0.4


def test_deeper_promos_sell_more_of_a_sku(lines):
    """Units sold of a SKU in a store and week, by the promo depth it had there."""
    lines = lines.assign(week=(lines["ts"] - pd.Timestamp("2026-01-05")).dt.days // 7)
    sold = lines.groupby(["sku", "store_id", "week"]).agg(units=("qty", "sum"),
                                                         depth=("depth", "max"))
    by_depth = sold.groupby(pd.cut(sold["depth"], [-1, 0, 0.2, 0.35, 0.5]),
                            observed=True)["units"].mean()
    assert by_depth.is_monotonic_increasing
    assert by_depth.iloc[-1] > 2 * by_depth.iloc[0]


def test_cherry_pickers_buy_less_at_regular_price(lines, market):
    truth = market.truth_customers().set_index("customer_id")
    regular_share = (~lines["promo_flag"]).groupby(lines["customer_id"]).mean()
    by_kind = regular_share.groupby(truth["cherry_picker"].reindex(regular_share.index)).mean()
    assert by_kind[True] < by_kind[False] - 0.1
    assert 0.10 <= truth["cherry_picker"].mean() <= 0.20


def test_a_history_continued_later_matches_the_written_weeks(world, market):
    written = pq.read_table(world / "receipts.parquet").to_pandas()
    continued = pa.concat_tables(market.receipt_tables(start_week=WEEKS - 2, weeks=2))
    last_weeks = written[written["ts"] >= pd.Timestamp("2026-01-05")
                         + pd.Timedelta(weeks=WEEKS - 2)].reset_index(drop=True)
    pd.testing.assert_frame_equal(continued.to_pandas(), last_weeks)


def test_the_truth_describes_every_shopper_and_recreates_the_world(world, market):
    truth = pd.read_parquet(world / "truth" / "customers.parquet")
    assert len(truth) == CUSTOMERS
    pd.testing.assert_frame_equal(market.truth_customers(), truth)
    for column in ("price_sensitivity", "cherry_picker", "cat", "dog", "baby", "meat_lover",
                   "healthy", "home_store_id", "visit_rate", "app_user"):
        assert column in truth.columns
    assert truth["price_sensitivity"].between(0.2, 9).all()
    assert 0.45 < truth["app_user"].mean() < 0.58  # 85 % of the 60 % with the app

    per_category = pd.read_parquet(world / "truth" / "customer_category.parquet")
    for column in ("share_of_wallet", "brand_loyalty", "preferred_brand", "cherry_picker",
                   "base_weekly_need"):
        assert column in per_category.columns
    assert per_category["share_of_wallet"].between(0, 1).all()
    # Only cat owners need cat food.
    cat_food = per_category.loc[per_category["category"] == "Корм для кошек", "customer_id"]
    assert truth.set_index("customer_id").loc[cat_food, "cat"].all()

    described = json.loads((world / "truth" / "market.json").read_text(encoding="utf-8"))
    assert (described["seed"], described["customers"], described["weeks"]) == (
        SEED, CUSTOMERS, WEEKS)


# --- the response to personal offers -------------------------------------------------------

def _usual_skus(lines: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Each shopper's most bought SKU in each of the categories."""
    known = lines.dropna(subset=["customer_id"])
    bought = (known[known["category"].isin(categories)]
              .groupby(["customer_id", "category", "sku"])["qty"].sum().reset_index())
    return (bought.sort_values(["qty", "sku"])
            .drop_duplicates(["customer_id", "category"], keep="last"))


def test_offers_of_no_discount_change_nothing(market, lines):
    offers = _usual_skus(lines, ["Молочные продукты", "Кофе"])[["customer_id", "sku"]]
    response = market.respond(offers.assign(discount_bp=0), start_week=WEEKS, weeks=4)

    assert len(response) == len(offers)
    assert response["units_without"].sum() > 0
    assert (response["units_with"] == response["units_without"]).all()
    assert (response["revenue_with_minor"] == response["revenue_without_minor"]).all()
    assert (response["discount_cost_minor"] == 0).all()

    empty = market.respond(offers.head(0).assign(discount_bp=0), start_week=WEEKS, weeks=4)
    assert empty.empty and "units_with" in empty.columns


def test_deeper_offers_sell_more_in_the_campaign(market):
    rng = np.random.default_rng(3)
    offers = pd.DataFrame({
        "customer_id": rng.choice(market.population.customer_ids, 1500, replace=False),
        "sku": rng.choice(market.catalog.sku_ids, 1500),
    })
    units = [market.respond(offers.assign(discount_bp=depth), start_week=WEEKS, weeks=4,
                            tail_weeks=0)["units_in_campaign_with"].sum()
             for depth in (0, 1000, 3000, 5000)]
    assert units == sorted(units) and units[-1] > 2 * units[0]


def test_deep_offers_to_loyal_stockpilers_pull_purchases_forward(market, lines):
    truth = market.truth_customers().set_index("customer_id")
    shares = market.truth_customer_category()[["customer_id", "category", "share_of_wallet"]]
    usual = _usual_skus(lines, STORABLE).merge(shares, on=["customer_id", "category"])
    usual = usual.join(truth[["stockpiling", "app_user"]], on="customer_id")
    loyal = usual[(usual["share_of_wallet"] > 0.6) & (usual["stockpiling"] > 0.8)
                  & usual["app_user"]]
    assert len(loyal) > 500

    response = market.respond(loyal[["customer_id", "sku"]].assign(discount_bp=4000),
                              start_week=WEEKS, weeks=4, tail_weeks=4)
    total = response.sum(numeric_only=True)
    assert total["units_in_campaign_with"] > 2 * total["units_in_campaign_without"]
    tail_with = total["units_with"] - total["units_in_campaign_with"]
    tail_without = total["units_without"] - total["units_in_campaign_without"]
    assert tail_with < tail_without


def test_discount_cost_is_units_times_price_times_depth(market):
    rng = np.random.default_rng(4)
    # Deeper than any retailer promo, so the offer always sets the price.
    offers = pd.DataFrame({
        "customer_id": rng.choice(market.population.customer_ids, 800, replace=False),
        "sku": rng.choice(market.catalog.sku_ids, 800),
        "discount_bp": 6000,
    })
    response = market.respond(offers, start_week=WEEKS, weeks=2)
    price = pd.Series(market.catalog.regular_price_minor[:market.catalog.n_skus],
                      index=market.catalog.sku_ids)
    expected = response["units_in_campaign_with"] * response["sku"].map(price) * 0.6
    # Each receipt line rounds its discount to a kopeck.
    assert (abs(response["discount_cost_minor"] - expected)
            <= 0.5 * response["units_in_campaign_with"]).all()
    assert response["discount_cost_minor"].sum() > 0


def test_offers_naming_unknown_shoppers_or_depths_are_refused(market):
    with pytest.raises(ValueError, match="customer_id"):
        market.respond(pd.DataFrame({"customer_id": ["nobody"], "sku": ["SKU00001"],
                                     "discount_bp": [1000]}), start_week=WEEKS, weeks=1)
    with pytest.raises(ValueError, match="discount_bp"):
        market.respond(pd.DataFrame({"customer_id": [market.population.customer_ids[0]],
                                     "sku": ["SKU00001"], "discount_bp": [12000]}),
                       start_week=WEEKS, weeks=1)


# --- the command ---------------------------------------------------------------------------

def test_simulate_command_writes_the_files_and_says_what_it_wrote(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--customers", "300", "--weeks", "2",
                                      "--seed", "1", "--out", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    for name in CONTRACT:
        assert (tmp_path / f"{name}.csv").exists()
    assert (tmp_path / "truth" / "market.json").exists()
    assert "receipts.csv" in result.output and "lines" in result.output
