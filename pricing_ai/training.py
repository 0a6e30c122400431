"""Training data for pricing_ai: the retailer's receipt lines as weekly (shopper, SKU)
events, and each shopper's history summarised from a window that ends before the weeks
that are labelled (time splits only: nothing a row knows comes from its future).

The pieces, from the data to the models' tables:

- `RetailData`: receipt lines in `audience.features.LINE_COLUMNS` shape and the
  reference tables, from the database (`load_database`) or from a folder in the import
  contract (`load_folder`, what the simulator writes).
- `Encoded`: the same as integer arrays, with each line's week, and the retailer's own
  promotions recovered as a (region, SKU, week) table of the deepest promo price seen —
  the "discount depth the shopper faced" in a week, whether they bought or not.
- `History`: per shopper and per (shopper, category) summaries of a window of weeks,
  with `audience`'s shopper features; among them each shopper's own measured response
  to the retailer's past promotions (`slope_*`), which is what reveals sensitivity.
- `response_rows`, `cherry_rows`, `wallet_rows`: the three models' training tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, select

from audience import features as audience_features
from core.settings import get_settings
from pricing_ai.errors import NotEnoughData
from retail.models import Product

WEEK_US = 7 * 86_400 * 1_000_000
EPOCH_MONDAY_US = 4 * 86_400 * 1_000_000  # 1970-01-05, a Monday
DEPTH_STEP = 0.05   # promo depths are counted in 5 % steps for the per-shopper response
DEPTH_LEVELS = 10   # 5 % … 50 %
DEEP_DEPTH = 0.25   # "deep discount" for the cherry-picker features and label
MASK_WEEKS = 64     # the per-shopper response uses at most the last 64 weeks of a window
NEVER_WEEKS = 99.0  # "weeks since" when it never happened

# Shopper features taken from audience's feature table (numbers and flags only).
AUDIENCE_NUMBERS = ("visits_per_week", "avg_check_minor", "total_spend_minor",
                    "categories_count", "stores_count", "promo_share", "discount_depth", "age")
TIERS = {"base": 0, "silver": 1, "gold": 2}

RESPONSE_FEATURES = (
    "depth", "sibling_depth", "rival_depth",
    "sku_share", "brand_share", "sku_rate", "category_rate", "category_units_per_week",
    "weeks_since_category", "weeks_since_sku", "brand_popularity", "log_price",
    "price_vs_category", "category_code",
    "slope_own", "slope_best", "deep_share", "shopper_promo_share", "margin_rate",
    "visit_weeks_share", "loyalty", "price_index", "stock_up", *AUDIENCE_NUMBERS, "has_app",
    "loyalty_tier",
)
CHERRY_FEATURES = (
    "category_lines", "category_deep_share", "category_promo_share", "category_depth",
    "category_rate", "fav_brand_share", "deep_buy_rate", "plain_buy_rate",
    "slope_own", "slope_best", "deep_share", "shopper_promo_share", "margin_rate",
    "loyalty", "price_index", "category_code", *AUDIENCE_NUMBERS, "has_app", "loyalty_tier",
)
WALLET_FEATURES = (
    "category_code", "other_spend_per_week", "visits_per_week", "categories_count",
    "avg_check_minor", "age", "has_app", "loyalty_tier", "region_code", "category_users_share",
    "traits_code",
)


# --- the data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetailData:
    lines: pa.Table                       # audience_features.LINE_COLUMNS
    reference: audience_features.Reference
    products: pd.DataFrame                # sku, supplier_id, category, brand, regular_price_minor,
                                          # cost_price_minor


def _minor(column: pa.ChunkedArray) -> pa.Array:
    """A decimal money column (roubles) as integer minor units."""
    if pa.types.is_decimal(column.type):
        scaled = pc.multiply(column.cast(pa.decimal128(18, 2)), pa.scalar(100, pa.decimal128(3, 0)))
        return scaled.cast(pa.int64())
    return pc.round(pc.multiply(column.cast(pa.float64()), 100)).cast(pa.int64())


def load_folder(folder: Path) -> RetailData:
    """A retailer's files in the import contract (Parquet), as the simulator writes them."""
    folder = Path(folder)

    def read(name: str) -> pa.Table:
        return pq.read_table(folder / f"{name}.parquet")

    receipts = read("receipts").filter(pc.is_valid(pc.field("customer_id")))
    stamps = receipts.column("ts").cast(pa.timestamp("us")).cast(pa.int64())
    lines = pa.table({
        "sold_at_us": stamps, "receipt_id": receipts.column("receipt_id"),
        "sku": receipts.column("sku"), "customer_id": receipts.column("customer_id"),
        "store_id": receipts.column("store_id"),
        "qty": receipts.column("qty").cast(pa.float64()),
        "paid_amount_minor": _minor(receipts.column("paid_amount")),
        "discount_amount_minor": _minor(receipts.column("discount_amount")),
        "promo_flag": receipts.column("promo_flag"),
    })
    products_table = read("products")
    products = pd.DataFrame({
        "subcategory": products_table.column("subcategory").to_pylist()
        if "subcategory" in products_table.column_names else None,
        "pack_size": products_table.column("pack_size").to_pylist()
        if "pack_size" in products_table.column_names else None,
        "sku": products_table.column("sku").to_pylist(),
        "supplier_id": products_table.column("supplier_id").to_pylist(),
        "category": products_table.column("category").to_pylist(),
        "brand": products_table.column("brand").to_pylist(),
        "regular_price_minor": _minor(products_table.column("regular_price")).to_numpy(),
        "cost_price_minor": pd.array(
            _minor(products_table.column("cost_price")).to_pylist(), dtype="Int64"),
    })
    stores = read("stores").to_pandas()[["store_id", "name", "region"]]
    customers_table = read("customers")
    birth = customers_table.column("birth_year").cast(pa.int32())
    customers = pa.table({
        "customer_id": customers_table.column("customer_id").cast(pa.string()),
        "birth_year": birth,
        "gender": customers_table.column("gender").cast(pa.string()),
        "region": customers_table.column("region").cast(pa.string()),
        "loyalty_tier": customers_table.column("loyalty_tier").cast(pa.string()),
        "has_app": customers_table.column("has_app").cast(pa.bool_()),
    })
    reference = audience_features.Reference(
        products=products[["sku", "category", "brand", "cost_price_minor"]],
        stores=stores.sort_values("store_id", ignore_index=True), customers=customers)
    return RetailData(lines=lines, reference=reference, products=products)


def load_database(connection: Connection, *, since: datetime, until: datetime) -> RetailData:
    """Receipt lines of identified shoppers between `since` and `until`, and the reference
    tables, read the way audience's feature builds read them."""
    lines = audience_features.read_receipt_lines(connection, since=since, until=until)
    reference = audience_features.read_reference(connection)
    products = pd.DataFrame(connection.execute(select(
        Product.sku, Product.supplier_id, Product.category, Product.brand,
        Product.regular_price_minor, Product.cost_price_minor, Product.subcategory,
        Product.pack_size)).all(),
        columns=["sku", "supplier_id", "category", "brand", "regular_price_minor",
                 "cost_price_minor", "subcategory", "pack_size"])
    return RetailData(lines=lines, reference=reference, products=products)


# --- integer view --------------------------------------------------------------------------

def _column(table: pa.Table, name: str, dtype) -> np.ndarray:
    return table.column(name).to_numpy().astype(dtype, copy=False) if table.num_rows else \
        np.zeros(0, dtype=dtype)


class Encoded:
    """Receipt lines as integer arrays (shopper, SKU, week, …), the catalogue as arrays,
    and the retailer's promotions as depths per (region, SKU, week)."""

    def __init__(self, data: RetailData) -> None:
        products = data.products.drop_duplicates("sku").reset_index(drop=True)
        lines = data.lines
        self.products = products
        self.sku_index = pd.Index(products["sku"].astype(str))
        self.n_skus = len(products)
        self.category_names, self.sku_category = np.unique(
            products["category"].fillna("").astype(str).to_numpy(), return_inverse=True)
        self.n_categories = len(self.category_names)
        brand_key = (products["category"].fillna("").astype(str) + "\x1f"
                     + products["brand"].fillna(products["supplier_id"]).astype(str))
        self.brand_names, self.sku_brand = np.unique(brand_key.to_numpy(), return_inverse=True)
        self.n_brands = len(self.brand_names)
        self.brand_category = np.zeros(self.n_brands, dtype=np.int64)
        self.brand_category[self.sku_brand] = self.sku_category
        self.price = products["regular_price_minor"].to_numpy(np.float64)
        self.cost = pd.to_numeric(products["cost_price_minor"], errors="coerce").to_numpy(
            np.float64)
        # A SKU's price level among like products (same category, subcategory and pack):
        # what a shopper's choice of brands says about the prices they accept.
        group = products["category"].fillna("").astype(str)
        for extra in ("subcategory", "pack_size"):
            if extra in products:
                group = group + "\x1f" + products[extra].fillna("").astype(str)
        log_price = np.log(np.maximum(self.price, 1.0))
        self.price_index = log_price - pd.Series(log_price).groupby(group.to_numpy()) \
            .transform("median").to_numpy()

        sku = self.sku_index.get_indexer(lines.column("sku").to_numpy(zero_copy_only=False)
                                         .astype(str))
        keep = sku >= 0
        customers = data.reference.customers
        known_ids = customers.column("customer_id").to_numpy(zero_copy_only=False).astype(str)
        line_ids = lines.column("customer_id").to_numpy(zero_copy_only=False).astype(str)
        self.customer_ids = np.unique(np.concatenate([known_ids, line_ids[keep]]))
        self.customer_index = pd.Index(self.customer_ids)
        self.n_customers = len(self.customer_ids)
        stamp = _column(lines, "sold_at_us", np.int64)
        self.origin_us = (int(stamp.min()) - EPOCH_MONDAY_US) // WEEK_US * WEEK_US \
            + EPOCH_MONDAY_US if len(stamp) else EPOCH_MONDAY_US
        self.customer = self.customer_index.get_indexer(line_ids[keep]).astype(np.int64)
        self.sku = sku[keep].astype(np.int64)
        self.week = ((stamp[keep] - self.origin_us) // WEEK_US).astype(np.int64)
        self.n_weeks = int(self.week.max()) + 1 if len(self.week) else 0
        self.qty = _column(lines, "qty", np.float64)[keep]
        self.paid = _column(lines, "paid_amount_minor", np.float64)[keep]
        self.discount = _column(lines, "discount_amount_minor", np.float64)[keep]
        promo = _column(lines, "promo_flag", bool)[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = np.where(self.paid + self.discount > 0,
                             self.discount / (self.paid + self.discount), 0.0)
        self.depth = np.where(promo | (self.discount > 0), np.clip(depth, 0, 0.95), 0.0)

        stores = data.reference.stores
        self.region_names, store_region = np.unique(
            stores["region"].fillna("").astype(str).to_numpy(), return_inverse=True)
        if len(self.region_names) == 0:
            self.region_names = np.array([""])
        store_index = pd.Index(stores["store_id"].astype(str))
        line_store = store_index.get_indexer(
            lines.column("store_id").to_numpy(zero_copy_only=False).astype(str)[keep]) \
            if len(store_index) else np.full(int(keep.sum()), -1)
        self.line_region = np.where(line_store >= 0,
                                    np.append(store_region, 0)[line_store], 0).astype(np.int64)
        self.n_regions = len(self.region_names)
        # A shopper's region: where they shop most (their home store's region).
        visits = np.bincount(self.customer * self.n_regions + self.line_region,
                             minlength=self.n_customers * self.n_regions)
        self.customer_region = visits.reshape(self.n_customers, self.n_regions).argmax(axis=1)

        profile = customers.to_pandas().drop_duplicates("customer_id").set_index("customer_id")
        profile = profile.reindex(self.customer_ids)
        self.has_app = profile["has_app"].fillna(False).astype(bool).to_numpy()
        self.loyalty_tier = profile["loyalty_tier"].map(TIERS).fillna(-1).to_numpy(np.float32)
        self.profile_region = profile["region"].fillna("").astype(str).to_numpy()

        # The retailer's promotions: the deepest promo price seen per (region, SKU, week).
        self.promo = np.zeros((self.n_regions, self.n_skus, max(self.n_weeks, 1)),
                              dtype=np.float32)
        on = self.depth > 0
        np.maximum.at(self.promo, (self.line_region[on], self.sku[on], self.week[on]),
                      self.depth[on].astype(np.float32))
        # How many shoppers revealed each promo: a promo seen only through one shopper's
        # own purchase must not count as "the depth they faced" in that shopper's row
        # (the label would leak into the feature).
        cell = (self.line_region[on] * self.n_skus + self.sku[on]) * 4096 + self.week[on]
        witnesses = np.unique(cell * (1 << 24) + self.customer[on]) // (1 << 24)
        self.promo_witness = KeyTotals(witnesses, np.ones(len(witnesses)))
        self.data = data
        self.serving = False
        self._full_depths: tuple[np.ndarray, np.ndarray] | None = None
        home = np.bincount(self.customer * len(store_index) + np.maximum(line_store, 0),
                           minlength=self.n_customers * max(len(store_index), 1))
        self.home_store = np.asarray(store_index.astype(str))[
            home.reshape(self.n_customers, max(len(store_index), 1)).argmax(axis=1)] \
            if len(store_index) else np.full(self.n_customers, "")

    def for_serving(self) -> Encoded:
        """A copy without the receipt lines: what scoring a campaign needs, small enough
        to keep beside a model artifact."""
        import copy

        lite = copy.copy(self)
        empty = np.zeros(0, dtype=np.int64)
        for name in ("customer", "sku", "week", "line_region"):
            setattr(lite, name, empty)
        for name in ("qty", "paid", "discount", "depth"):
            setattr(lite, name, np.zeros(0))
        lite.data = None
        lite.serving = True
        lite._full_depths = None
        return lite

    def week_start(self, week: int) -> datetime:
        return datetime.fromtimestamp((self.origin_us + week * WEEK_US) / 1e6, tz=UTC)

    def brand_depth(self, weeks: slice | np.ndarray | None = None) -> np.ndarray:
        """(regions, brands, weeks) deepest promo of each brand."""
        promo = self.promo if weeks is None else self.promo[:, :, weeks]
        out = np.zeros((self.n_regions, self.n_brands, promo.shape[2]), dtype=np.float32)
        order = np.argsort(self.sku_brand, kind="stable")
        bounds = np.searchsorted(self.sku_brand[order], np.arange(self.n_brands + 1))
        for brand in range(self.n_brands):
            members = order[bounds[brand]:bounds[brand + 1]]
            if len(members):
                out[:, brand] = promo[:, members].max(axis=1)
        return out

    def full_depths(self) -> tuple[np.ndarray, np.ndarray]:
        """Brand and category depths of every week, computed once."""
        if self._full_depths is None:
            brand_depth = self.brand_depth()
            self._full_depths = (brand_depth, self.category_depth(brand_depth))
        return self._full_depths

    def category_depth(self, brand_depth: np.ndarray) -> np.ndarray:
        """(regions, categories, weeks) deepest promo in each category."""
        out = np.zeros((self.n_regions, self.n_categories, brand_depth.shape[2]),
                       dtype=np.float32)
        for brand in range(self.n_brands):
            category = self.brand_category[brand]
            np.maximum(out[:, category], brand_depth[:, brand], out=out[:, category])
        return out


# --- sorted-key look-ups ---------------------------------------------------------------------

class KeyTotals:
    """Sums of values per int64 key, looked up by binary search (a sparse dictionary)."""

    def __init__(self, keys: np.ndarray, *values: np.ndarray) -> None:
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.values = [np.bincount(inverse, weights=v, minlength=len(self.keys))
                       for v in values]

    def get(self, keys: np.ndarray, which: int = 0) -> np.ndarray:
        if len(self.keys) == 0:
            return np.zeros(len(keys))
        position = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[position] == keys
        return np.where(hit, self.values[which][position], 0.0)


def _last_before(sorted_keys: np.ndarray, sorted_weeks: np.ndarray, keys: np.ndarray,
                 weeks: np.ndarray) -> np.ndarray:
    """Per query, the latest week strictly before `weeks` at which `keys` occurred (−1)."""
    composite = sorted_keys * 4096 + sorted_weeks
    query = keys * 4096 + weeks
    position = np.searchsorted(composite, query) - 1
    valid = position >= 0
    position = np.maximum(position, 0)
    same = valid & (sorted_keys[position] == keys) if len(sorted_keys) else valid & False
    return np.where(same, sorted_weeks[position] if len(sorted_keys) else -1, -1)


# --- a window's history ----------------------------------------------------------------------

@dataclass
class History:
    """What the weeks [start, end) say about each shopper (arrays over `Encoded`'s
    shoppers) and each (shopper, category) (shoppers × categories arrays)."""

    start: int
    end: int
    active: np.ndarray              # shoppers with a purchase in the window
    visit_weeks: np.ndarray
    shopper: pd.DataFrame           # per-shopper features, indexed like Encoded.customer_ids
    category_weeks: np.ndarray      # (shoppers, categories) weeks bought
    category_units: np.ndarray
    category_spend: np.ndarray
    category_lines: np.ndarray
    category_deep: np.ndarray
    category_promo: np.ndarray
    category_depth: np.ndarray      # mean depth of the category's promo lines
    category_last: np.ndarray       # last week bought (−1 never)
    fav_brand: np.ndarray
    fav_brand_share: np.ndarray
    deep_buy_rate: np.ndarray       # buy rate in weeks with a deep promo in the category
    plain_buy_rate: np.ndarray      # buy rate in weeks without promo on the favourite brand
    sku_totals: KeyTotals           # (shopper × SKUs + sku) -> units, weeks
    brand_totals: KeyTotals         # (shopper × brands + brand) -> units
    brand_popularity: np.ndarray    # brand share of its category's units
    category_users: np.ndarray      # share of active shoppers buying each category

    @property
    def weeks(self) -> int:
        return self.end - self.start


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values).astype(np.float64)


def history(enc: Encoded, *, start: int, end: int,
            traits: audience_features.TraitRules | None = None) -> History:
    """Summaries of the weeks [start, end): nothing at or after `end` is read."""
    if end <= start:
        raise NotEnoughData("The history window is empty")
    n, n_cat = enc.n_customers, enc.n_categories
    inside = (enc.week >= start) & (enc.week < end)
    customer, sku, week = enc.customer[inside], enc.sku[inside], enc.week[inside]
    qty, paid, depth = enc.qty[inside], enc.paid[inside], enc.depth[inside]
    category = enc.sku_category[sku]
    brand = enc.sku_brand[sku]
    if not len(customer):
        raise NotEnoughData(f"No receipt lines in weeks {start}–{end - 1}")

    # Visits: weeks with a purchase, as bits of the last MASK_WEEKS weeks.
    mask_start = max(start, end - MASK_WEEKS)
    week_visit = np.unique(customer * 4096 + week)
    visit_weeks = np.bincount(week_visit // 4096, minlength=n).astype(np.float64)
    recent = (week_visit % 4096) >= mask_start
    visit_mask = np.zeros(n, dtype=np.uint64)
    np.bitwise_or.at(visit_mask, week_visit[recent] // 4096,
                     np.left_shift(np.uint64(1), (week_visit[recent] % 4096 - mask_start)
                                   .astype(np.uint64)))
    active = visit_weeks > 0

    pair = customer * n_cat + category
    pair_week = np.unique(pair * 4096 + week)
    category_weeks = np.bincount(pair_week // 4096, minlength=n * n_cat).reshape(n, n_cat)
    category_last = np.full(n * n_cat, -1, dtype=np.int64)
    np.maximum.at(category_last, pair_week // 4096, pair_week % 4096)
    bought_mask = np.zeros(n * n_cat, dtype=np.uint64)
    recent = (pair_week % 4096) >= mask_start
    np.bitwise_or.at(bought_mask, pair_week[recent] // 4096,
                     np.left_shift(np.uint64(1), (pair_week[recent] % 4096 - mask_start)
                                   .astype(np.uint64)))

    def by_pair(weights: np.ndarray) -> np.ndarray:
        return np.bincount(pair, weights=weights, minlength=n * n_cat).reshape(n, n_cat)

    category_units = by_pair(qty)
    category_spend = by_pair(paid)
    category_lines = by_pair(np.ones(len(pair)))
    category_deep = by_pair((depth >= DEEP_DEPTH).astype(np.float64))
    category_promo = by_pair((depth > 0).astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        category_depth = np.nan_to_num(by_pair(depth) / np.maximum(category_promo, 1))

    brand_key = customer * enc.n_brands + brand
    brand_totals = KeyTotals(brand_key, qty)
    sku_week = np.unique(customer * enc.n_skus * 4096 + sku * 4096 + week)
    sku_totals = KeyTotals(customer * enc.n_skus + sku, qty)
    sku_weeks = KeyTotals(sku_week // 4096, np.ones(len(sku_week)))
    sku_totals.values.append(sku_weeks.get(sku_totals.keys))
    last_plus_one = np.zeros(len(sku_totals.keys))  # last week bought + 1 (0: never)
    np.maximum.at(last_plus_one, np.searchsorted(sku_totals.keys, customer * enc.n_skus + sku),
                  week + 1)
    sku_totals.values.append(last_plus_one)

    # Favourite brand per (shopper, category): the most units.
    order = np.lexsort((-brand_totals.values[0], brand_totals.keys // enc.n_brands
                        * n_cat + enc.brand_category[brand_totals.keys % enc.n_brands]))
    keys = brand_totals.keys[order]
    key_pair = keys // enc.n_brands * n_cat + enc.brand_category[keys % enc.n_brands]
    first = np.ones(len(key_pair), dtype=bool)
    first[1:] = key_pair[1:] != key_pair[:-1]
    fav_brand = np.full(n * n_cat, -1, dtype=np.int64)
    fav_brand[key_pair[first]] = keys[first] % enc.n_brands
    fav_units = np.zeros(n * n_cat)
    fav_units[key_pair[first]] = brand_totals.values[0][order][first]
    with np.errstate(divide="ignore", invalid="ignore"):
        fav_brand_share = np.nan_to_num(fav_units.reshape(n, n_cat) / category_units)

    # The shopper's own response to past promotions: for each (shopper, category), the
    # weeks they shopped, the depth they faced (their favourite brand's promo, or another
    # brand's as far as they are not loyal to theirs) and whether they bought; a one-step
    # logistic score of buying on the depth, pooled over the shopper's categories.
    brand_depth = enc.brand_depth(slice(mask_start, end))
    best_depth = enc.category_depth(brand_depth)
    width = end - mask_start
    bits = np.left_shift(np.uint64(1), np.arange(width, dtype=np.uint64))
    used = np.flatnonzero((category_lines > 0).ravel())
    score_own = np.zeros(len(used))
    info_own = np.zeros(len(used))
    score_best = np.zeros(len(used))
    info_best = np.zeros(len(used))
    deep_n = np.zeros(len(used))
    deep_k = np.zeros(len(used))
    p_plain = np.zeros(len(used))
    share_flat = (np.nan_to_num(fav_units / np.maximum(category_units.ravel(), 1e-9)))
    for low in range(0, len(used), 100_000):
        chunk = used[low:low + 100_000]
        who, what = chunk // n_cat, chunk % n_cat
        region = enc.customer_region[who]
        visited = (visit_mask[who][:, None] & bits[None, :]) > 0
        bought = (bought_mask[chunk][:, None] & bits[None, :]) > 0
        own = brand_depth[region, np.maximum(fav_brand[chunk], 0)]
        best = best_depth[region, what]
        faced = np.maximum(own, (1 - share_flat[chunk])[:, None] * best)
        for target, score, info in ((faced, score_own, info_own),
                                    (best, score_best, info_best)):
            plain = visited & (target == 0)
            p0 = ((bought & plain).sum(axis=1) + 0.5) / (plain.sum(axis=1) + 1.0)
            x = np.where(visited, target, 0.0)
            score[low:low + len(chunk)] = (x * (bought - p0[:, None])).sum(axis=1)
            info[low:low + len(chunk)] = (x * x).sum(axis=1) * p0 * (1 - p0)
            if target is faced:
                p_plain[low:low + len(chunk)] = p0
        deep = visited & (best >= DEEP_DEPTH)
        deep_n[low:low + len(chunk)] = deep.sum(axis=1)
        deep_k[low:low + len(chunk)] = (deep & bought).sum(axis=1)
    used_customer = used // n_cat

    def per_shopper(score: np.ndarray, info: np.ndarray) -> np.ndarray:
        total_score = np.bincount(used_customer, weights=score, minlength=n)
        total_info = np.bincount(used_customer, weights=info, minlength=n)
        return total_score / (total_info + 2.0)  # shrunk towards no response

    slope_own = per_shopper(score_own, info_own)
    slope_best = per_shopper(score_best, info_best)
    deep_buy_rate = np.zeros(n * n_cat)
    deep_buy_rate[used] = (deep_k + 0.2) / (deep_n + 1.0)
    plain_buy_rate = np.zeros(n * n_cat)
    plain_buy_rate[used] = p_plain
    with np.errstate(divide="ignore", invalid="ignore"):
        loyalty = (np.bincount(used_customer, weights=share_flat[used]
                               * category_lines.ravel()[used], minlength=n)
                   / np.maximum(np.bincount(used_customer, weights=category_lines.ravel()[used],
                                            minlength=n), 1))
        price_index = (np.bincount(customer, weights=qty * enc.price_index[sku], minlength=n)
                       / np.maximum(np.bincount(customer, weights=qty, minlength=n), 1e-9))
        promo_qty = np.bincount(customer, weights=np.where(depth > 0, qty, 0), minlength=n)
        promo_lines = np.bincount(customer, weights=(depth > 0), minlength=n)
        plain_qty = np.bincount(customer, weights=np.where(depth > 0, 0, qty), minlength=n)
        plain_lines = np.bincount(customer, weights=(depth == 0), minlength=n)
        stock_up = np.log((promo_qty + 1) / (promo_lines + 1)) - np.log(
            (plain_qty + 1) / (plain_lines + 1))

    lines = np.bincount(customer, minlength=n).astype(np.float64)
    cost = enc.cost[sku]
    known_cost = np.isfinite(cost)
    with np.errstate(divide="ignore", invalid="ignore"):
        deep_share = np.bincount(customer, weights=(depth >= DEEP_DEPTH), minlength=n) / \
            np.maximum(lines, 1)
        promo_share = np.bincount(customer, weights=(depth > 0), minlength=n) / \
            np.maximum(lines, 1)
        paid_known = np.bincount(customer, weights=np.where(known_cost, paid, 0), minlength=n)
        margin = np.bincount(customer, weights=np.where(known_cost, paid - np.nan_to_num(cost)
                                                        * qty, 0), minlength=n)
        margin_rate = np.where(paid_known > 0, margin / np.maximum(paid_known, 1), np.nan)

    shopper = pd.DataFrame({
        "slope_own": slope_own, "slope_best": slope_best, "deep_share": deep_share,
        "shopper_promo_share": promo_share, "margin_rate": margin_rate,
        "visit_weeks_share": visit_weeks / (end - start),
        "loyalty": loyalty, "price_index": price_index, "stock_up": stock_up,
        "has_app": enc.has_app.astype(np.float32), "loyalty_tier": enc.loyalty_tier,
        "region_code": enc.customer_region.astype(np.float32),
    }, index=pd.Index(enc.customer_ids, name="customer_id"))
    audience_table = _audience_features(enc, inside, start=start, end=end, traits=traits)
    for name in AUDIENCE_NUMBERS:
        shopper[name] = audience_table[name].to_numpy(np.float64) \
            if name in audience_table else np.nan
    trait_columns = [c for c in audience_table.columns if audience_table[c].dtype == bool]
    code = np.zeros(n)
    for position, column in enumerate(trait_columns[:20]):
        code += audience_table[column].fillna(False).to_numpy(np.float64) * (1 << position)
    shopper["traits_code"] = code

    units_by_brand = np.bincount(brand, weights=qty, minlength=enc.n_brands)
    units_by_category = np.bincount(enc.brand_category, weights=units_by_brand,
                                    minlength=n_cat)
    with np.errstate(divide="ignore", invalid="ignore"):
        brand_popularity = np.nan_to_num(units_by_brand
                                         / units_by_category[enc.brand_category])
    category_users = (category_lines > 0).sum(axis=0) / max(active.sum(), 1)
    return History(
        start=start, end=end, active=active, visit_weeks=visit_weeks, shopper=shopper,
        category_weeks=category_weeks.astype(np.float64), category_units=category_units,
        category_spend=category_spend, category_lines=category_lines,
        category_deep=category_deep, category_promo=category_promo,
        category_depth=category_depth, category_last=category_last.reshape(n, n_cat),
        fav_brand=fav_brand.reshape(n, n_cat), fav_brand_share=fav_brand_share,
        deep_buy_rate=deep_buy_rate.reshape(n, n_cat),
        plain_buy_rate=plain_buy_rate.reshape(n, n_cat), sku_totals=sku_totals,
        brand_totals=brand_totals, brand_popularity=brand_popularity,
        category_users=category_users)


def _audience_features(enc: Encoded, inside: np.ndarray, *, start: int, end: int,
                       traits: audience_features.TraitRules | None) -> pd.DataFrame:
    """audience's per-shopper features over the same window, aligned with the shoppers."""
    lines = enc.data.lines
    stamp = _column(lines, "sold_at_us", np.int64)
    low = enc.origin_us + start * WEEK_US
    high = enc.origin_us + end * WEEK_US
    window = lines.filter(pa.array((stamp >= low) & (stamp < high)))
    as_of = datetime.fromtimestamp(high / 1e6, tz=UTC) - timedelta(microseconds=1)
    table = audience_features.compute_features(
        window, enc.data.reference, as_of=as_of, window_weeks=end - start,
        traits=traits or audience_features.load_trait_rules(), weeks_observed=end - start)
    frame = table.table.drop_columns(
        [name for name in table.table.column_names
         if pa.types.is_list(table.table.schema.field(name).type)
         or pa.types.is_timestamp(table.table.schema.field(name).type)]).to_pandas()
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame.drop_duplicates("customer_id").set_index("customer_id").reindex(
        enc.customer_ids)


# --- the models' tables ----------------------------------------------------------------------

def offer_features(enc: Encoded, hist: History, *, customer: np.ndarray, sku: np.ndarray,
                   week: np.ndarray | int, depth: np.ndarray | float,
                   sibling_depth: np.ndarray | float = 0.0,
                   rival_depth: np.ndarray | float = 0.0) -> pd.DataFrame:
    """The response model's features for (shopper, SKU) pairs in a week at a depth. The
    shopper's history is `hist` (weeks before `week`); `weeks_since_*` count from the
    last purchase before `week`, which may lie after the history's window."""
    n = len(customer)
    week = np.broadcast_to(np.asarray(week, dtype=np.int64), (n,))
    category = enc.sku_category[sku]
    brand = enc.sku_brand[sku]
    visit_weeks = np.maximum(hist.visit_weeks[customer], 1)
    category_units = hist.category_units[customer, category]
    with np.errstate(divide="ignore", invalid="ignore"):
        sku_units = hist.sku_totals.get(customer * enc.n_skus + sku, 0)
        sku_weeks = hist.sku_totals.get(customer * enc.n_skus + sku, 1)
        brand_units = hist.brand_totals.get(customer * enc.n_brands + brand, 0)
        sku_share = np.where(category_units > 0, sku_units / category_units, 0.0)
        brand_share = np.where(category_units > 0, brand_units / category_units, 0.0)
    if enc.serving:
        # Serving keeps no receipt lines: the history's own last purchases (the campaign
        # starts where the history ends).
        last_category = hist.category_last[customer, category]
        last_sku = hist.sku_totals.get(customer * enc.n_skus + sku, 2) - 1
    else:
        last_category = _last_purchase(enc, customer * enc.n_categories + category, week,
                                       enc.n_categories, enc.sku_category)
        last_sku = _last_purchase(enc, customer * enc.n_skus + sku, week, enc.n_skus, None)
    price = enc.price[sku]
    frame = pd.DataFrame({
        "depth": np.broadcast_to(np.asarray(depth, dtype=np.float32), (n,)),
        "sibling_depth": np.broadcast_to(np.asarray(sibling_depth, dtype=np.float32), (n,)),
        "rival_depth": np.broadcast_to(np.asarray(rival_depth, dtype=np.float32), (n,)),
        "sku_share": sku_share, "brand_share": brand_share,
        "sku_rate": sku_weeks / visit_weeks,
        "category_rate": hist.category_weeks[customer, category] / visit_weeks,
        "category_units_per_week": category_units / visit_weeks,
        "weeks_since_category": np.where(last_category >= 0, week - last_category, NEVER_WEEKS),
        "weeks_since_sku": np.where(last_sku >= 0, week - last_sku, NEVER_WEEKS),
        "brand_popularity": hist.brand_popularity[brand],
        "log_price": np.log1p(price),
        "price_vs_category": price / _category_median_price(enc)[category],
        "category_code": category.astype(np.float32),
    })
    shopper = hist.shopper.iloc[customer]
    for name in RESPONSE_FEATURES:
        if name not in frame:
            frame[name] = shopper[name].to_numpy()
    return frame[list(RESPONSE_FEATURES)]


def _category_median_price(enc: Encoded) -> np.ndarray:
    out = np.ones(enc.n_categories)
    for category in range(enc.n_categories):
        prices = enc.price[enc.sku_category == category]
        if len(prices):
            out[category] = max(float(np.median(prices)), 1.0)
    return out


_LAST_CACHE: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _last_purchase(enc: Encoded, keys: np.ndarray, week: np.ndarray, width: int,
                   sku_to_group: np.ndarray | None) -> np.ndarray:
    cache_key = (id(enc), width)
    if cache_key not in _LAST_CACHE:
        group = enc.sku if sku_to_group is None else sku_to_group[enc.sku]
        composite = np.unique((enc.customer * width + group) * 4096 + enc.week)
        _LAST_CACHE.clear() if len(_LAST_CACHE) > 8 else None
        _LAST_CACHE[cache_key] = (composite // 4096, composite % 4096)
    sorted_keys, sorted_weeks = _LAST_CACHE[cache_key]
    return _last_before(sorted_keys, sorted_weeks, keys, week)


@dataclass(frozen=True)
class Rows:
    features: pd.DataFrame
    bought: np.ndarray   # 0/1
    units: np.ndarray    # units bought (0 when not)
    customer: np.ndarray
    sku: np.ndarray
    week: np.ndarray


def response_rows(enc: Encoded, hist: History, *, start: int, end: int, rows: int,
                  seed: int = 0, promo_share: float = 0.4) -> Rows:
    """Sampled (shopper, SKU, week) rows for weeks [start, end) — after `hist` — with
    whether the shopper bought the SKU that week. SKUs come from categories the shopper
    bought before, weighted towards what they bought; rows with a promo are kept more
    often than others. The sampling depends only on the features, so P(bought | features)
    is not biased by it."""
    if start < hist.end:
        raise ValueError("labelled weeks must come after the history window")
    rng = np.random.default_rng(seed)
    shoppers = np.flatnonzero(hist.active)
    if len(shoppers) == 0 or end <= start:
        raise NotEnoughData("No shoppers or no weeks to label")
    # Candidate (shopper, category) pairs, weighted by how often the category was bought.
    pairs = np.flatnonzero((hist.category_lines[shoppers] > 0).ravel())
    pair_customer = shoppers[pairs // enc.n_categories]
    pair_category = pairs % enc.n_categories
    candidates = rows * 3
    pick = rng.integers(0, len(pairs), candidates)
    customer = pair_customer[pick]
    category = pair_category[pick]
    # Half the SKUs from the category at random, half from the brands the shopper buys.
    order = np.argsort(enc.sku_category, kind="stable")
    bounds = np.searchsorted(enc.sku_category[order], np.arange(enc.n_categories + 1))
    size = bounds[category + 1] - bounds[category]
    any_sku = order[bounds[category] + (rng.random(candidates) * size).astype(np.int64)]
    fav = hist.fav_brand[customer, category]
    fav_skus = _random_sku_of_brand(enc, np.maximum(fav, 0), rng)
    sku = np.where((rng.random(candidates) < 0.5) & (fav >= 0), fav_skus, any_sku)
    week = rng.integers(start, end, candidates)
    region = enc.customer_region[customer]
    depth = enc.promo[region, sku, week]
    # Leave the shopper out: a promo only their own purchase revealed was not "seen".
    cell = (region * enc.n_skus + sku) * 4096 + week
    alone = (depth > 0) & (enc.promo_witness.get(cell) <= 1) & _bought_on_promo(
        enc, customer, sku, week)
    depth = np.where(alone, 0.0, depth).astype(np.float32)
    keep = np.where(depth > 0, 1.0, promo_share_keep(depth, promo_share))
    accepted = np.flatnonzero(rng.random(candidates) < keep)[:rows]
    customer, sku, week, region = (customer[accepted], sku[accepted], week[accepted],
                                   region[accepted])
    depth = depth[accepted]
    sibling, rival = _context_depths(enc, region, sku, week)
    features = offer_features(enc, hist, customer=customer, sku=sku, week=week, depth=depth,
                              sibling_depth=sibling, rival_depth=rival)
    label = KeyTotals((enc.customer * enc.n_skus + enc.sku) * 4096 + enc.week, enc.qty)
    units = label.get((customer * enc.n_skus + sku) * 4096 + week)
    return Rows(features=features, bought=(units > 0).astype(np.int8), units=units,
                customer=customer, sku=sku, week=week)


def _bought_on_promo(enc: Encoded, customer: np.ndarray, sku: np.ndarray,
                     week: np.ndarray) -> np.ndarray:
    on = enc.depth > 0
    keys = np.unique((enc.customer[on] * enc.n_skus + enc.sku[on]) * 4096 + enc.week[on])
    query = (customer * enc.n_skus + sku) * 4096 + week
    if not len(keys):
        return np.zeros(len(query), dtype=bool)
    position = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return keys[position] == query


def promo_share_keep(depth: np.ndarray, promo_share: float) -> float:
    """Keep-probability of a row without promo so that about `promo_share` of rows have
    one (never above 1: with many promos every row is kept)."""
    on = max(float((depth > 0).mean()), 1e-6)
    return min(1.0, on * (1 - promo_share) / (promo_share * (1 - on)))


def _random_sku_of_brand(enc: Encoded, brand: np.ndarray, rng: np.random.Generator
                         ) -> np.ndarray:
    order = np.argsort(enc.sku_brand, kind="stable")
    bounds = np.searchsorted(enc.sku_brand[order], np.arange(enc.n_brands + 1))
    size = np.maximum(bounds[brand + 1] - bounds[brand], 1)
    return order[np.minimum(bounds[brand] + (rng.random(len(brand)) * size).astype(np.int64),
                            len(order) - 1)]


def _context_depths(enc: Encoded, region: np.ndarray, sku: np.ndarray, week: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the deepest promo on the brand's other SKUs and on other brands of the
    category that week."""
    brand_depth, best = enc.full_depths()
    brand = enc.sku_brand[sku]
    category = enc.sku_category[sku]
    own = enc.promo[region, sku, week]
    sibling = np.where(brand_depth[region, brand, week] > own, brand_depth[region, brand, week],
                       0.0)
    rival = np.where(best[region, category, week] > brand_depth[region, brand, week],
                     best[region, category, week], 0.0)
    return sibling.astype(np.float32), rival.astype(np.float32)


def expected_context(enc: Encoded, customer: np.ndarray, sku: np.ndarray, *, end: int,
                     weeks: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """The sibling and rival promo depths a (shopper, SKU) can expect in a coming week:
    their average over the last `weeks` weeks before `end` (future shelf promotions are
    unknown, but as frequent as before; assuming none would overstate sales)."""
    region = enc.customer_region[customer]
    first = max(0, end - weeks)
    sibling = np.zeros(len(sku), dtype=np.float64)
    rival = np.zeros(len(sku), dtype=np.float64)
    for week in range(first, end):
        at = np.full(len(sku), week)
        s_depth, r_depth = _context_depths(enc, region, sku, at)
        sibling += s_depth
        rival += r_depth
    count = max(end - first, 1)
    return (sibling / count).astype(np.float32), (rival / count).astype(np.float32)


def cherry_frame(enc: Encoded, hist: History, customer: np.ndarray,
                 category: np.ndarray) -> pd.DataFrame:
    lines = hist.category_lines[customer, category]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame({
            "category_lines": lines,
            "category_deep_share": hist.category_deep[customer, category] / np.maximum(lines, 1),
            "category_promo_share": hist.category_promo[customer, category]
            / np.maximum(lines, 1),
            "category_depth": hist.category_depth[customer, category],
            "category_rate": hist.category_weeks[customer, category]
            / np.maximum(hist.visit_weeks[customer], 1),
            "fav_brand_share": hist.fav_brand_share[customer, category],
            "deep_buy_rate": hist.deep_buy_rate[customer, category],
            "plain_buy_rate": hist.plain_buy_rate[customer, category],
            "category_code": category.astype(np.float32),
        })
    shopper = hist.shopper.iloc[customer]
    for name in CHERRY_FEATURES:
        if name not in frame:
            frame[name] = shopper[name].to_numpy()
    return frame[list(CHERRY_FEATURES)]


def shopper_categories(hist: History, min_lines: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The (shopper, category) pairs with at least `min_lines` purchases in `hist`."""
    flat = np.flatnonzero((hist.category_lines >= min_lines).ravel())
    n_cat = hist.category_lines.shape[1]
    return flat // n_cat, flat % n_cat


def cherry_rows(enc: Encoded, hist: History, *, start: int, end: int,
                min_purchases: int = 2, deep_share: float = 0.75
                ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """(shopper, category) rows with history in `hist`, labelled by the weeks [start, end):
    1 when the shopper bought the category there at least `min_purchases` times and at
    least `deep_share` of those on a deep discount (≥ 25 %); rows with fewer purchases
    say nothing and are left out."""
    customer, category = shopper_categories(hist, 2)
    later = (enc.week >= start) & (enc.week < end)
    key = enc.customer[later] * enc.n_categories + enc.sku_category[enc.sku[later]]
    totals = KeyTotals(key, np.ones(int(later.sum())),
                       (enc.depth[later] >= DEEP_DEPTH).astype(np.float64))
    flat = customer * enc.n_categories + category
    purchases, deep = totals.get(flat, 0), totals.get(flat, 1)
    labelled = purchases >= min_purchases
    label = (deep >= deep_share * purchases)[labelled].astype(np.int8)
    customer, category = customer[labelled], category[labelled]
    return cherry_frame(enc, hist, customer, category), label, customer, category


def wallet_frame(enc: Encoded, hist: History, customer: np.ndarray,
                 category: np.ndarray) -> pd.DataFrame:
    """Who the shopper is, without what they spend on this category here: the peers'
    expected spend is learnt from these."""
    weeks = max(hist.weeks, 1)
    total = hist.category_spend[customer].sum(axis=1)
    other = total - hist.category_spend[customer, category]
    frame = pd.DataFrame({
        "category_code": category.astype(np.float32),
        "other_spend_per_week": other / weeks,
        "category_users_share": hist.category_users[category],
    })
    shopper = hist.shopper.iloc[customer]
    for name in WALLET_FEATURES:
        if name not in frame:
            frame[name] = shopper[name].to_numpy()
    return frame[list(WALLET_FEATURES)]


def wallet_rows(enc: Encoded, hist: History, *, start: int, end: int
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """(active shopper, category) rows — every category, bought or not — with the
    category spend per week in the weeks [start, end) as the target."""
    shoppers = np.flatnonzero(hist.active)
    customer = np.repeat(shoppers, enc.n_categories)
    category = np.tile(np.arange(enc.n_categories), len(shoppers))
    later = (enc.week >= start) & (enc.week < end)
    spend = np.bincount(enc.customer[later] * enc.n_categories
                        + enc.sku_category[enc.sku[later]], weights=enc.paid[later],
                        minlength=enc.n_customers * enc.n_categories)
    target = spend[customer * enc.n_categories + category] / max(end - start, 1)
    return wallet_frame(enc, hist, customer, category), target


# --- fitting the three models ----------------------------------------------------------------

@dataclass
class FittedModels:
    """The three fitted estimators with what they were fitted on and how they scored."""

    response: object
    cherry: object
    wallet: object
    metrics: dict
    window: dict            # weeks and dates of the feature and label windows
    response_sigma: float   # the response model's relative error on held-out weeks
    # How realised spend compared with the forecast on past campaigns (None: none known).
    forecast_calibration: object = None


def fit_models(enc: Encoded, *, label_weeks: int = 12, rows: int = 1_000_000, seed: int = 0,
               n_jobs: int | None = None, n_estimators: int = 200, say=None) -> FittedModels:
    """Features from the weeks before the last `label_weeks`, labels from those weeks: the
    first three quarters to fit, the last quarter to measure (time splits only). `n_jobs`
    is LightGBM's thread count, by default the `PRICING_THREADS` setting."""
    import time

    from sklearn.metrics import log_loss, roc_auc_score

    from pricing_ai.estimators import CherryPickerModel, DiscountResponseModel, WalletModel

    say = say or (lambda _message: None)
    if n_jobs is None:
        n_jobs = get_settings().pricing_threads
    weeks = enc.n_weeks
    if weeks < label_weeks + 8:
        raise NotEnoughData(f"{weeks} weeks of receipts: training needs at least "
                            f"{label_weeks + 8} (8 of history and {label_weeks} to learn from)")
    feature_end = weeks - label_weeks
    fit_end = feature_end + max(1, (label_weeks * 3) // 4)
    began = time.perf_counter()
    hist = history(enc, start=0, end=feature_end)
    say(f"history of weeks 0–{feature_end - 1}: {int(hist.active.sum()):,} shoppers "
        f"({time.perf_counter() - began:.1f} s)")
    train = response_rows(enc, hist, start=feature_end, end=fit_end, rows=rows, seed=seed)
    valid = response_rows(enc, hist, start=fit_end, end=weeks, rows=max(rows // 4, 20_000),
                          seed=seed + 1)
    say(f"{len(train.bought):,} response rows ({time.perf_counter() - began:.1f} s)")
    started = time.perf_counter()
    response = DiscountResponseModel(n_estimators=n_estimators, random_state=seed,
                                     n_jobs=n_jobs).fit(train.features, train.bought,
                                                        train.units)
    response_seconds = time.perf_counter() - started
    p_valid = response.predict_proba(valid.features)[:, 1]
    metrics: dict = {
        "response": {
            "rows": len(train.bought), "fit_seconds": round(response_seconds, 2),
            "auc": _safe_auc(roc_auc_score, valid.bought, p_valid),
            "log_loss": float(log_loss(valid.bought, np.clip(p_valid, 1e-6, 1 - 1e-6),
                                       labels=[0, 1])),
            "mean_predicted": float(p_valid.mean()), "mean_bought": float(valid.bought.mean()),
            "grid_error": response.grid_error_,
            "calibration": calibration_table(valid.bought, p_valid),
        }}
    sigma = response_error(valid, p_valid)
    metrics["response"]["relative_error_sigma"] = sigma
    say(f"response model: AUC {metrics['response']['auc']:.3f} "
        f"({response_seconds:.1f} s)")

    X_cherry, y_cherry, _, _ = cherry_rows(enc, hist, start=feature_end, end=weeks)
    split = np.random.default_rng(seed).random(len(y_cherry)) < 0.8
    cherry = CherryPickerModel(random_state=seed, n_jobs=n_jobs).fit(
        X_cherry[split], y_cherry[split])
    p_cherry = cherry.predict_proba(X_cherry[~split])[:, 1]
    metrics["cherry_picker"] = {"rows": int(split.sum()), "positive_share":
                                float(y_cherry.mean()),
                                "auc": _safe_auc(roc_auc_score, y_cherry[~split], p_cherry)}

    X_wallet, y_wallet = wallet_rows(enc, hist, start=feature_end, end=weeks)
    split = np.random.default_rng(seed + 2).random(len(y_wallet)) < 0.8
    wallet = WalletModel(random_state=seed, n_jobs=n_jobs).fit(X_wallet[split], y_wallet[split])
    from scipy.stats import spearmanr

    metrics["wallet"] = {"rows": int(split.sum()), "spearman": float(spearmanr(
        wallet.predict(X_wallet[~split]), y_wallet[~split]).statistic)}
    say(f"cherry-picker AUC (held out) {metrics['cherry_picker']['auc']:.3f}, wallet "
        f"Spearman {metrics['wallet']['spearman']:.3f} ({time.perf_counter() - began:.1f} s)")
    window = {"feature_weeks": [0, feature_end], "fit_weeks": [feature_end, fit_end],
              "valid_weeks": [fit_end, weeks],
              "from": enc.week_start(0).isoformat(),
              "until": enc.week_start(weeks).isoformat()}
    return FittedModels(response=response, cherry=cherry, wallet=wallet, metrics=metrics,
                        window=window, response_sigma=sigma)


def _safe_auc(function, y, p) -> float | None:
    return float(function(y, p)) if 0 < int(np.sum(y)) < len(y) else None


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted vs observed per decile of the prediction."""
    order = np.argsort(p)
    out = []
    for part in np.array_split(order, bins):
        if len(part):
            out.append({"predicted": float(p[part].mean()), "observed": float(y[part].mean()),
                        "rows": len(part)})
    return out


def response_error(rows: Rows, predicted: np.ndarray) -> float:
    """The model's relative error on groups of held-out rows (one SKU over the held-out
    weeks, like a campaign): the spread of log(actual / predicted) purchases beyond what
    chance alone gives."""
    frame = pd.DataFrame({"group": rows.sku, "actual": rows.bought.astype(np.float64),
                          "predicted": predicted})
    groups = frame.groupby("group").agg(actual=("actual", "sum"),
                                        predicted=("predicted", "sum"),
                                        rows=("actual", "size"))
    groups = groups[groups["predicted"] >= 20]
    if len(groups) < 10:
        return 0.15
    log_ratio = np.log((groups["actual"] + 0.5) / (groups["predicted"] + 0.5))
    chance = (1.0 / groups["predicted"]).mean()  # Poisson variance of a log count
    return float(np.sqrt(max(float((log_ratio ** 2).mean()) - chance, 0.0025)))
