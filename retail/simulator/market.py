"""The synthetic market as one object: the world re-created from its seed, its receipt
history, the truth about its shoppers, and its response to personal offers.

`simulate()` writes a world's history in the retailer's import contract; `Market.load()`
re-creates the same world from `truth/market.json`; `Market.respond()` plays a campaign of
personal offers twice with the same random numbers — with and without the offers — and
reports what the offers changed, counted over the campaign and the weeks after it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retail.simulator import draws
from retail.simulator.calendar import (
    DAY_WEIGHTS,
    FIRST_HOUR,
    HOUR_WEIGHTS,
    category_season,
    holiday_shopping,
    visit_season,
    week_start,
)
from retail.simulator.catalog import CATEGORIES, REGIONS, STORE_FORMATS, build_catalog
from retail.simulator.files import (
    RECEIPT_SCHEMA,
    FileFormat,
    TableWriter,
    local_time,
    money,
    write_table,
)
from retail.simulator.parameters import MarketParameters
from retail.simulator.population import (
    GENDERS,
    HOUSEHOLD_TRAITS,
    LOYALTY_TIERS,
    NEVER,
    build_population,
)
from retail.simulator.promotions import promo_week
from retail.simulator.shopping import (
    VISIT_SLOTS,
    PersonalDeals,
    Purchases,
    ShoppingRun,
    brand_loyalty,
)

DEFAULT_START = date(2026, 1, 5)
MARKET_FILE_VERSION = 1
WORLD_STREAM = 0
WARM_UP_WEEKS = 12
RECEIPTS_PER_WEEK = 10_000_000  # receipt ids are week × this + sequence within the week
DAY_CDF = np.cumsum(DAY_WEIGHTS) / DAY_WEIGHTS.sum()
HOUR_CDF = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()
LAST_HOUR = FIRST_HOUR + len(HOUR_WEIGHTS) - 1
OFFER_COLUMNS = ("customer_id", "sku", "discount_bp")
RESPONSE_COLUMNS = (
    "customer_id", "sku", "discount_bp", "units_with", "units_without",
    "units_in_campaign_with", "units_in_campaign_without", "discount_cost_minor",
    "revenue_with_minor", "revenue_without_minor",
)


@dataclass(frozen=True)
class SimulationSummary:
    out: Path
    format: FileFormat
    customers: int
    weeks: int
    seed: int
    files: dict[str, int]  # file name (relative to `out`) -> rows
    receipts: int
    lines: int
    seconds: float


def simulate(customers: int, weeks: int, seed: int, out: Path, fmt: FileFormat = "parquet",
             start: date = DEFAULT_START,
             parameters: MarketParameters | None = None) -> SimulationSummary:
    """Create a world and write its history into `out`: stores, suppliers, products,
    customers and receipts in the import contract, and the truth under `out/truth`."""
    began = time.perf_counter()
    market = Market(customers=customers, weeks=weeks, seed=seed, start=start,
                    parameters=parameters)
    out = Path(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    files: dict[str, int] = {}
    for name, table in (("stores", market.stores_table()),
                        ("suppliers", market.suppliers_table()),
                        ("products", market.products_table()),
                        ("customers", market.customers_table())):
        files[f"{name}.{fmt}"] = write_table(table, out / f"{name}.{fmt}", fmt)

    receipts = 0
    with TableWriter(out / f"receipts.{fmt}", RECEIPT_SCHEMA, fmt) as writer:
        for table, week_receipts in market._receipt_weeks(0, weeks, offers=None):
            writer.write(table)
            receipts += week_receipts
    files[f"receipts.{fmt}"] = writer.rows

    for name, table in (("customers", market.truth_customers_table()),
                        ("customer_category", market.truth_customer_category_table())):
        files[f"truth/{name}.parquet"] = write_table(
            table, out / "truth" / f"{name}.parquet", "parquet")
    (out / "truth" / "market.json").write_text(
        json.dumps(market.describe(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return SimulationSummary(out=out, format=fmt, customers=customers, weeks=weeks, seed=seed,
                             files=files, receipts=receipts, lines=writer.rows,
                             seconds=time.perf_counter() - began)


class Market:
    """A synthetic retailer and its shoppers, re-created exactly from (seed, customers,
    weeks, start, parameters). Week numbers count from `start` (a Monday); `weeks` is the
    length of the simulated history, and any later week can be simulated as well."""

    def __init__(self, *, customers: int, weeks: int, seed: int, start: date = DEFAULT_START,
                 parameters: MarketParameters | None = None) -> None:
        if customers < 1 or weeks < 1:
            raise ValueError("a market needs at least one customer and one week")
        self.customers = customers
        self.weeks = weeks
        self.seed = seed
        self.start = start
        self.parameters = parameters or MarketParameters()
        rng = np.random.default_rng([seed, WORLD_STREAM])
        self.catalog = build_catalog(rng, customers=customers)
        self.population = build_population(rng, self.catalog, customers=customers, weeks=weeks,
                                           start=start, parameters=self.parameters)
        self._customer_index = pd.Index(self.population.customer_ids)
        self._sku_index = pd.Index(self.catalog.sku_ids)
        self._customer_id_array = pa.array(self.population.customer_ids, pa.string())
        self._store_id_array = pa.array(self.catalog.store_ids, pa.string())
        self._sku_id_array = pa.array(self.catalog.sku_ids, pa.string())

    @classmethod
    def load(cls, out_dir: Path) -> Market:
        """The world whose history was written into `out_dir`, from `truth/market.json`."""
        description = json.loads((Path(out_dir) / "truth" / "market.json")
                                 .read_text(encoding="utf-8"))
        if description.get("version") != MARKET_FILE_VERSION:
            raise ValueError(f"unsupported market.json version {description.get('version')!r}")
        return cls(customers=description["customers"], weeks=description["weeks"],
                   seed=description["seed"], start=date.fromisoformat(description["start"]),
                   parameters=MarketParameters.from_json(description["parameters"]))

    def describe(self) -> dict:
        """What `truth/market.json` holds: enough to re-create this exact world."""
        return {
            "version": MARKET_FILE_VERSION,
            "generator": "retail.simulator",
            "seed": self.seed,
            "customers": self.customers,
            "weeks": self.weeks,
            "start": self.start.isoformat(),
            "parameters": self.parameters.to_json(),
        }

    # --- the import contract ---------------------------------------------------------------

    def stores_table(self) -> pa.Table:
        catalog = self.catalog
        return pa.table({
            "store_id": catalog.store_ids,
            "name": catalog.store_names,
            "region": [REGIONS[region][0] for region in catalog.store_region],
            "city": catalog.store_city,
            "format": [STORE_FORMATS[store_format] for store_format in catalog.store_format],
        })

    def suppliers_table(self) -> pa.Table:
        catalog = self.catalog
        return pa.table({"supplier_id": catalog.supplier_ids, "name": catalog.supplier_names,
                         "inn": catalog.supplier_inns})

    def products_table(self) -> pa.Table:
        catalog = self.catalog
        n_skus = catalog.n_skus
        return pa.table({
            "sku": catalog.sku_ids,
            "name": catalog.sku_names,
            "supplier_id": [catalog.supplier_ids[catalog.brand_supplier[brand]]
                            for brand in catalog.sku_brand],
            "category": [CATEGORIES[category].name for category in catalog.sku_category],
            "regular_price": money(catalog.regular_price_minor[:n_skus]),
            "brand": [catalog.brand_names[brand] for brand in catalog.sku_brand],
            "subcategory": catalog.sku_subcategory,
            "cost_price": money(catalog.cost_price_minor),
            "pack_size": catalog.sku_pack_size,
        })

    def customers_table(self) -> pa.Table:
        population = self.population
        return pa.table({
            "customer_id": self._customer_id_array,
            "birth_year": pa.array(population.birth_year, pa.int32()),
            "gender": pa.array(np.array(GENDERS)[population.female.astype(np.int64)]),
            "region": pa.array(np.array([region[0] for region in REGIONS])[population.region]),
            "loyalty_tier": pa.array(np.array(LOYALTY_TIERS)[population.loyalty_tier]),
            "has_app": pa.array(population.has_app),
            "registered_at": local_time(population.registered_at),
        })

    def receipt_tables(self, start_week: int = 0, weeks: int | None = None,
                       offers: pd.DataFrame | None = None) -> Iterator[pa.Table]:
        """Receipt lines week by week in the contract's shape, for any weeks — also after the
        history, which is then played first to know every pantry. Offers (customer_id,
        sku, discount_bp) run in every week asked for."""
        for table, _ in self._receipt_weeks(start_week, weeks, offers=offers):
            yield table

    # --- the truth -------------------------------------------------------------------------

    def truth_customers(self, week: int | None = None) -> pd.DataFrame:
        """Every shopper's hidden traits, as they are in `week` (default: the end of the
        history, when a campaign right after it would start)."""
        return self.truth_customers_table(week).to_pandas()

    def truth_customer_category(self, week: int | None = None) -> pd.DataFrame:
        """Per (shopper, category) that the household uses: its weekly need, the share of it
        bought here at regular prices, its preferred brand and how loyal it is to it, and
        whether it buys the category here only on deep discount."""
        return self.truth_customer_category_table(week).to_pandas()

    def truth_customers_table(self, week: int | None = None) -> pa.Table:
        week = self.weeks if week is None else week
        population = self.population
        return pa.table({
            "customer_id": self._customer_id_array,
            "price_sensitivity": population.price_sensitivity_at(week),
            "price_sensitivity_at_start": population.price_sensitivity,
            "cherry_picker": population.cherry_picker,
            "cherry_threshold": population.cherry_threshold,
            **{trait: population.traits[trait] for trait in HOUSEHOLD_TRAITS},
            "household_size": population.household_size,
            "income_level": population.income_level,
            "home_store_id": self._store_id_array.take(population.home_store),
            "region": pa.array(self.catalog.region_names).take(population.region),
            "visit_rate": population.visit_rate,
            "app_user": population.app_user,
            "stockpiling": population.stockpiling,
            "deal_attention": population.deal_attention,
            "join_week": population.join_week,
            "churn_week": pa.array(population.churn_week,
                                   mask=population.churn_week >= NEVER),
        })

    def truth_customer_category_table(self, week: int | None = None) -> pa.Table:
        week = self.weeks if week is None else week
        population = self.population
        catalog = self.catalog
        rows, cats = np.nonzero(population.weekly_need > 0)
        slot = np.where(week >= population.switch_week[rows, cats],
                        population.later_slot[rows, cats], population.preferred_slot[rows, cats])
        brands = catalog.category_brands[cats, slot]
        strength = population.brand_strength[rows, cats]
        share_logit = (population.share_logit[rows, cats]
                       + population.share_drift[rows] * week / 52).astype(np.float64)
        return pa.table({
            "customer_id": self._customer_id_array.take(rows),
            "category": pa.array([spec.name for spec in CATEGORIES]).take(cats),
            "base_weekly_need": population.weekly_need[rows, cats].astype(np.float64),
            "share_of_wallet": 1 / (1 + np.exp(-share_logit)),
            "preferred_brand": pa.array(catalog.brand_names).take(brands),
            "preferred_brand_supplier_id": pa.array(catalog.supplier_ids).take(
                catalog.brand_supplier[brands]),
            "brand_loyalty": brand_loyalty(catalog, brands, strength).astype(np.float64),
            "cherry_picker": population.category_cherry[rows, cats],
        })

    # --- personal offers -------------------------------------------------------------------

    def respond(self, offers: pd.DataFrame, start_week: int, weeks: int,
                tail_weeks: int | None = None) -> pd.DataFrame:
        """Play a campaign of personal offers in weeks [start_week, start_week + weeks) and
        `tail_weeks` after it (default twice the campaign), once with the offers and once
        without, with the same random numbers. Per offered (customer_id, sku): units and
        revenue (kopecks) over campaign and tail with and without, units in the campaign,
        and the discount the offers cost in the campaign. Fewer tail units with the offer
        than without are pull-forward. The campaign may start after the history ends."""
        if weeks < 1 or start_week < 0:
            raise ValueError("a campaign needs start_week >= 0 and at least one week")
        tail_weeks = 2 * weeks if tail_weeks is None else tail_weeks
        if tail_weeks < 0:
            raise ValueError("tail_weeks must not be negative")
        customer, sku, depth_bp = self._offer_arrays(offers)
        totals = {column: np.zeros(len(customer), dtype=np.int64)
                  for column in RESPONSE_COLUMNS[3:]}
        if len(customer):
            n_categories = len(CATEGORIES)
            run = self._run(np.unique(customer * n_categories + self.catalog.sku_category[sku]))
            deals, order = self._deals(run, customer, sku, depth_bp)
            pantry_without = self._pantry_at(run, start_week)
            pantry_with = pantry_without.copy()
            for week in range(start_week, start_week + weeks + tail_weeks):
                in_campaign = week < start_week + weeks
                inputs = self._week_inputs(week)
                outcomes = (
                    ("with", run.week(**inputs, week=week, pantry=pantry_with,
                                      deals=deals if in_campaign else None)),
                    ("without", run.week(**inputs, week=week, pantry=pantry_without)),
                )
                for world, bought in outcomes:
                    position, hit = _match(deals.key, bought.pair * self.catalog.n_skus
                                           + bought.sku)
                    position = order[position[hit]]
                    paid = bought.quantity * bought.price_minor - bought.discount_minor
                    units = _sum_by(position, bought.quantity[hit], len(customer))
                    totals[f"units_{world}"] += units
                    totals[f"revenue_{world}_minor"] += _sum_by(position, paid[hit],
                                                                len(customer))
                    if in_campaign:
                        totals[f"units_in_campaign_{world}"] += units
                    if in_campaign and world == "with":
                        totals["discount_cost_minor"] += _sum_by(
                            position, bought.offer_discount_minor[hit], len(customer))
        return pd.DataFrame({
            "customer_id": np.array(self.population.customer_ids, dtype=object)[customer],
            "sku": np.array(self.catalog.sku_ids, dtype=object)[sku],
            "discount_bp": depth_bp,
            **totals,
        }, columns=list(RESPONSE_COLUMNS))

    # --- the weekly engine -----------------------------------------------------------------

    def _run(self, flat: np.ndarray | None = None) -> ShoppingRun:
        """A run over the given (shopper, category) pairs; by default every pair whose
        household uses the category."""
        if flat is None:
            flat = np.flatnonzero(self.population.weekly_need > 0)
        return ShoppingRun(catalog=self.catalog, population=self.population,
                           parameters=self.parameters, seed=self.seed, flat=flat)

    def _week_inputs(self, week: int) -> dict:
        return {
            "promos": promo_week(self.catalog, self.parameters, seed=self.seed, week=week,
                                 regions=len(REGIONS)),
            "season": category_season(self.start, week),
            "holiday": holiday_shopping(self.start, week),
            "visit_season": visit_season(self.start, week),
        }

    def _pantry_at(self, run: ShoppingRun, week: int) -> np.ndarray:
        """The run's pantries at the start of `week`, by playing the weeks before it
        without offers — from a few weeks before the history, so that its first weeks
        already look like any other."""
        pantry = run.initial_pantry()
        for past in range(-WARM_UP_WEEKS, week):
            run.week(**self._week_inputs(past), week=past, pantry=pantry)
        return pantry

    def _deals(self, run: ShoppingRun, customer: np.ndarray, sku: np.ndarray,
               depth_bp: np.ndarray) -> tuple[PersonalDeals, np.ndarray]:
        """Offers as the run's personal deals (offers on pairs outside the run are left
        out, as such households never buy the category), and for each deal the position
        of its offer."""
        flat = customer * len(CATEGORIES) + self.catalog.sku_category[sku]
        pair, inside = _match(run.flat, flat)
        key = pair * self.catalog.n_skus + sku
        order = np.flatnonzero(inside)[np.argsort(key[inside], kind="stable")]
        seen = (self.population.app_user[customer[order]]
                if self.parameters.offers_seen_only_in_app else np.ones(len(order), dtype=bool))
        deals = PersonalDeals(pair=pair[order], sku=sku[order], depth_bp=depth_bp[order],
                              seen=seen, key=key[order])
        return deals, order

    def _receipt_weeks(self, start_week: int, weeks: int | None,
                       offers: pd.DataFrame | None) -> Iterator[tuple[pa.Table, int]]:
        weeks = self.weeks - start_week if weeks is None else weeks
        run = self._run()
        deals = None
        if offers is not None:
            deals, _ = self._deals(run, *self._offer_arrays(offers))
        pantry = self._pantry_at(run, start_week)
        for week in range(start_week, start_week + weeks):
            bought = run.week(**self._week_inputs(week), week=week, pantry=pantry, deals=deals)
            yield self._receipt_table(week, bought)

    def _receipt_table(self, week: int, bought: Purchases) -> tuple[pa.Table, int]:
        """One week's lines as receipts: each visit with purchases is a receipt, numbered
        in time order within the week."""
        visit_key = bought.shopper * VISIT_SLOTS + bought.visit
        seconds = self._visit_second(week, visit_key)
        order = np.lexsort((bought.category, visit_key, seconds))
        visit_key = visit_key[order]
        new_receipt = np.empty(len(order), dtype=bool)
        new_receipt[:1] = True
        new_receipt[1:] = visit_key[1:] != visit_key[:-1]
        sequence = np.cumsum(new_receipt) - 1
        receipts = int(sequence[-1]) + 1 if len(sequence) else 0
        if receipts >= RECEIPTS_PER_WEEK:
            raise ValueError("too many receipts in a week for the receipt id scheme")

        shopper = bought.shopper[order]
        store = self._visit_store(shopper, draws.uniform(self.seed, draws.VISIT_STORE, week,
                                                         visit_key))
        anonymous = (draws.uniform(self.seed, draws.VISIT_CARD, week, visit_key)
                     < self.parameters.anonymous_share)
        quantity = bought.quantity[order]
        discount = bought.discount_minor[order]
        monday = np.datetime64(datetime.combine(week_start(self.start, week),
                                                datetime.min.time()), "s")
        receipt_number = pa.array(week * RECEIPTS_PER_WEEK + sequence)
        receipt_id = pc.binary_join_element_wise(
            "R", pc.utf8_lpad(receipt_number.cast(pa.string()), 11, "0"), "")
        table = pa.Table.from_arrays([
            receipt_id,
            self._customer_id_array.take(pa.array(shopper, mask=anonymous)),
            self._store_id_array.take(pa.array(store)),
            local_time(monday + seconds[order]),
            self._sku_id_array.take(pa.array(bought.sku[order])),
            pa.array(quantity.astype(np.int32)),
            money(quantity * bought.price_minor[order] - discount),
            money(discount),
            pa.array(bought.promo_flag[order]),
        ], schema=RECEIPT_SCHEMA)
        return table, receipts

    def _visit_second(self, week: int, visit_key: np.ndarray) -> np.ndarray:
        """Seconds from the week's Monday midnight to a visit: busier at weekends and
        after work."""
        day = np.searchsorted(DAY_CDF, draws.uniform(self.seed, draws.VISIT_DAY, week, visit_key))
        hour = FIRST_HOUR + np.searchsorted(
            HOUR_CDF, draws.uniform(self.seed, draws.VISIT_HOUR, week, visit_key))
        minute = (draws.uniform(self.seed, draws.VISIT_MINUTE, week, visit_key) * 60).astype(
            np.int64)
        return np.minimum(day, 6) * 86_400 + np.minimum(hour, LAST_HOUR) * 3_600 + minute * 60

    def _visit_store(self, shopper: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Most visits are to the home store; the rest to any store in the same region."""
        population = self.population
        catalog = self.catalog
        home_share = np.float32(self.parameters.home_store_share)
        region = population.region[shopper]
        count = catalog.region_store_count[region]
        elsewhere = np.minimum(((uniform - home_share) / (1 - home_share) * count).astype(np.int64),
                               count - 1)
        return np.where(uniform < home_share, population.home_store[shopper],
                        catalog.region_store_first[region] + np.maximum(elsewhere, 0))

    def _offer_arrays(self, offers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offers as (customer index, SKU index, depth in basis points), one per (customer,
        SKU) — the deepest when repeated — sorted by customer, then SKU."""
        missing = [column for column in OFFER_COLUMNS if column not in offers.columns]
        if missing:
            raise ValueError(f"offers lack columns {missing}")
        customer = self._customer_index.get_indexer(offers["customer_id"].astype(str))
        sku = self._sku_index.get_indexer(offers["sku"].astype(str))
        for name, index in (("customer_id", customer), ("sku", sku)):
            unknown = offers[name][index < 0]
            if len(unknown):
                raise ValueError(f"offers name unknown {name} values: {list(unknown[:5])}")
        depth_bp = offers["discount_bp"].to_numpy(dtype=np.int64)
        if len(depth_bp) and (depth_bp.min() < 0 or depth_bp.max() > 10_000):
            raise ValueError("discount_bp must be between 0 and 10000")
        key = customer.astype(np.int64) * self.catalog.n_skus + sku
        unique_key, first = np.unique(key, return_inverse=True)
        deepest = np.zeros(len(unique_key), dtype=np.int64)
        np.maximum.at(deepest, first, depth_bp)
        return unique_key // self.catalog.n_skus, unique_key % self.catalog.n_skus, deepest


def _match(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each key sits in `sorted_keys`, and whether it is there at all."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    position = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return position, sorted_keys[position] == keys


def _sum_by(position: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    """Exact integer sums of `values` grouped by `position`."""
    totals = np.zeros(length, dtype=np.int64)
    np.add.at(totals, position, values)
    return totals
