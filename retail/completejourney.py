"""The Complete Journey adapter: 84.51°'s real grocery data as the retailer's contract.

Complete Journey 2.0 (CC0; see ../shared/data/completejourney_sample/README.md) is mapped
onto the five contract tables and then goes through the same checks and loading as any
import, so its rows are named in messages by their own file, row and column:

- receipts: one per transaction line; basket → receipt_id, household → customer_id,
  product → sku, quantity → qty, sales_value (what was paid) → paid_amount, the sum of
  retail_disc, coupon_disc and coupon_match_disc → discount_amount, promo_flag when that
  sum is above zero, transaction_timestamp (local time without an offset, as the contract
  reads it: in RETAIL_TIMEZONE; set RETAIL_TIMEZONE=America/New_York for the true
  instants; `week` stands in when the timestamp is missing) → ts.
  Returns (quantity ≤ 0 or sales_value ≤ 0) are rejected as `return` and the basket id
  that lost its digits in the R export ('4.0128e+10') as `garbled_basket_id`.
- stores: each store_id of the transactions ("Store 367"; no region, city or format).
- customers: each household of the transactions; the 801 with demographics get a birth
  year estimated as 2017 minus the middle of their age band (65+ counts as 70); the others,
  and gender, region, tier, app and registration for all, stay empty.
- products: the products that sold at least once at a positive price — the others have no
  price, and a regular price is required. Regular price = the median over its lines of the
  shelf price (sales_value + retail_disc + coupon_disc + coupon_match_disc) / quantity,
  rounded to the cent; no cost. category = product_category (department when missing),
  subcategory and name = product_type (category or department when missing), brand =
  'National' or 'Private', pack_size = package_size. Lines of products missing from
  products.parquet are rejected as `unknown_product` by the common check.
- suppliers: the manufacturers of those products ("Manufacturer 69").

Money stays as it is, in US cents with currency USD: converting to roubles at some rate
would invent prices. Run a deployment on this data with CURRENCY=USD so that campaign
budgets and prices share a currency.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail.errors import ImportDataError
from retail.importing.contract import BY_NAME, TableSpec
from retail.importing.sources import PARQUET_BATCH_ROWS, Chunk, Problem, TableSource, pick_rows

CURRENCY = "USD"
DISCOUNTS = ("retail_disc", "coupon_disc", "coupon_match_disc")
DISCOUNT_COLUMN = "+".join(DISCOUNTS)
SHELF_PRICE = f"(sales_value+{DISCOUNT_COLUMN})/quantity"
# Middle of each age band, as a birth year in the data's year (2017).
BIRTH_YEAR_BY_AGE = {"19-24": 1996, "25-34": 1988, "35-44": 1978, "45-54": 1968,
                     "55-64": 1958, "65+": 1947}
# Week 1 of the data starts on 2017-01-01 (as microseconds since the epoch, local time).
FIRST_WEEK_US = int((datetime(2017, 1, 1) - datetime(1970, 1, 1)).total_seconds()) * 10**6
WEEK_US = 7 * 24 * 3600 * 10**6
_LINE_COLUMNS = ["household_id", "store_id", "basket_id", "product_id", "quantity",
                 "sales_value", *DISCOUNTS]
_TRANSACTIONS = ("transactions.parquet", "transactions_sample.parquet")


class _ParquetBacked(TableSource):
    """A source whose rows are rows of one Complete Journey file."""

    def __init__(self, spec: TableSpec, path: Path, renames: dict[str, str]) -> None:
        self.spec = spec
        self.path = path
        self.file = path.name
        self.renames = renames

    def file_column(self, column: str) -> str:
        return self.renames.get(column, column)

    def original_rows(self, rows: np.ndarray) -> pa.Table:
        return pick_rows(pq.ParquetFile(self.path).iter_batches(batch_size=PARQUET_BATCH_ROWS),
                     rows)


class _DerivedSource(_ParquetBacked):
    """Rows built in memory (a few per store, product or household), each pointing at the
    first row of the file it came from."""

    def __init__(self, spec: TableSpec, path: Path, table: pa.Table,
                 renames: dict[str, str]) -> None:
        super().__init__(spec, path, renames)
        self.table = table

    @property
    def columns(self) -> list[str]:
        return [name for name in self.table.schema.names if name != "row"]

    def progress_total(self) -> tuple[int | None, str]:
        return self.table.num_rows, "rows"

    def chunks(self) -> Iterator[Chunk]:
        for batch in self.table.to_batches(max_chunksize=PARQUET_BATCH_ROWS):
            columns = dict(zip(batch.schema.names, batch.columns, strict=True))
            rows = columns.pop("row").to_numpy(zero_copy_only=False).astype(np.int64)
            yield Chunk(columns, rows, progress=batch.num_rows)


class _ReceiptSource(_ParquetBacked):
    """The transaction lines, streamed in batches."""

    currency = CURRENCY

    def __init__(self, path: Path) -> None:
        super().__init__(BY_NAME["receipts"], path, {
            "receipt_id": "basket_id", "customer_id": "household_id",
            "store_id": "store_id", "ts": "transaction_timestamp", "sku": "product_id",
            "qty": "quantity",
            "paid_amount": "sales_value", "discount_amount": DISCOUNT_COLUMN,
            "promo_flag": DISCOUNT_COLUMN})
        self.parquet = pq.ParquetFile(path)
        names = set(self.parquet.schema_arrow.names)
        self.present = [c for c in self.renames
                        if all(part in names for part in self.renames[c].split("+"))]
        if "ts" not in self.present and "week" in names:
            self.present.append("ts")

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.spec.columns if c.name in self.present]

    def progress_total(self) -> tuple[int | None, str]:
        return self.parquet.metadata.num_rows, "rows"

    def chunks(self) -> Iterator[Chunk]:
        names = set(self.parquet.schema_arrow.names)
        wanted = [c for c in [*_LINE_COLUMNS, "transaction_timestamp", "week"] if c in names]
        done = 0
        for batch in self.parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
            rows = np.arange(done + 1, done + 1 + batch.num_rows, dtype=np.int64)
            done += batch.num_rows
            yield self._chunk(batch, rows)

    def _chunk(self, batch: pa.RecordBatch, rows: np.ndarray) -> Chunk:
        line = dict(zip(batch.schema.names, batch.columns, strict=True))
        columns = {"ts": _timestamps(line)}
        for column in self.columns:
            if column != "ts" and self.renames[column] in line:
                columns[column] = line[self.renames[column]]
        if all(name in line for name in DISCOUNTS):
            discount = pc.add(pc.add(line["retail_disc"], line["coupon_disc"]),
                              line["coupon_match_disc"])
            columns["discount_amount"] = discount
            columns["promo_flag"] = pc.greater(discount, 0)
        basket = pc.cast(line["basket_id"], pa.string())
        garbled = pc.invert(pc.fill_null(pc.match_substring_regex(basket, r"^\d+$"), True))
        no_quantity = pc.fill_null(pc.less_equal(line["quantity"], 0), False)
        no_value = pc.fill_null(pc.less_equal(line["sales_value"], 0), False)
        problems = [
            Problem(_np(garbled), "basket_id", "garbled_basket_id",
                    lambda v: f"{v} is not a basket id (it lost digits in the R export)",
                    line["basket_id"]),
            Problem(_np(no_quantity), "quantity", "return",
                    lambda v: f"{v} is not a positive quantity: a return, not a sale",
                    line["quantity"]),
            Problem(_np(no_value), "sales_value", "return",
                    lambda v: f"{v} is not a positive amount paid: a return, not a sale",
                    line["sales_value"]),
        ]
        return Chunk(columns, rows, progress=len(rows),
                     problems=[p for p in problems if p.mask.any()])


def _np(mask: pa.Array) -> np.ndarray:
    return mask.to_numpy(zero_copy_only=False)


def _timestamps(line: dict[str, pa.Array]) -> pa.Array:
    """transaction_timestamp, or the start of the line's week where it is missing."""
    stamps = line.get("transaction_timestamp")
    if stamps is not None and (stamps.null_count == 0 or "week" not in line):
        return stamps
    week = pc.cast(line["week"], pa.int64())
    micros = pc.add(pc.multiply(pc.subtract(week, 1), WEEK_US), FIRST_WEEK_US)
    starts = pc.cast(micros, pa.timestamp("us"))
    if stamps is None:
        return starts
    return pc.coalesce(pc.cast(stamps, pa.timestamp("us")), starts)


def sources(folder: Path) -> dict[str, TableSource]:
    """The five contract tables of a Complete Journey folder."""
    transactions = next((folder / name for name in _TRANSACTIONS
                         if (folder / name).is_file()), None)
    if transactions is None:
        raise ImportDataError(f"{folder}: no {' or '.join(_TRANSACTIONS)}: not a Complete "
                              "Journey folder", file=_TRANSACTIONS[0], reason="missing_file")
    products_path = folder / "products.parquet"
    if not products_path.is_file():
        raise ImportDataError(f"{folder}: no products.parquet", file="products.parquet",
                              reason="missing_file")
    lines = _lines(transactions)
    products, suppliers = _products(products_path, lines)
    return {
        "suppliers": suppliers,
        "stores": _stores(transactions, lines),
        "products": products,
        "customers": _customers(transactions, lines, folder / "demographics.parquet"),
        "receipts": _ReceiptSource(transactions),
    }


def _lines(path: Path) -> pd.DataFrame:
    """The columns of every transaction line that the derived tables need."""
    table = pq.read_table(path, columns=_LINE_COLUMNS)
    frame = table.to_pandas()
    frame.insert(0, "row", np.arange(1, len(frame) + 1, dtype=np.int64))
    return frame


def _first_rows(lines: pd.DataFrame, key: str) -> pd.DataFrame:
    return lines.groupby(key, sort=True, as_index=False)["row"].min()


def _stores(path: Path, lines: pd.DataFrame) -> TableSource:
    stores = _first_rows(lines, "store_id")
    table = pa.table({"row": stores["row"], "store_id": stores["store_id"].astype(str),
                      "name": "Store " + stores["store_id"].astype(str)})
    return _DerivedSource(BY_NAME["stores"], path, table, {"name": "store_id"})


def _customers(path: Path, lines: pd.DataFrame, demographics: Path) -> TableSource:
    customers = _first_rows(lines, "household_id")
    birth_year = pd.Series(pd.NA, index=customers.index, dtype="Int64")
    if demographics.is_file():
        ages = pd.read_parquet(demographics, columns=["household_id", "age"])
        ages["birth_year"] = ages["age"].astype(str).map(BIRTH_YEAR_BY_AGE).astype("Int64")
        birth_year = customers[["household_id"]].merge(
            ages[["household_id", "birth_year"]], on="household_id", how="left")["birth_year"]
    table = pa.table({"row": customers["row"],
                      "customer_id": customers["household_id"].astype(str),
                      "birth_year": pa.array(birth_year.to_numpy(dtype=object,
                                                                  na_value=None),
                                             pa.int64())})
    return _DerivedSource(BY_NAME["customers"], path, table, {"birth_year": "age"})


def _regular_prices(lines: pd.DataFrame) -> pd.Series:
    """The median shelf price of each product over its sales, in dollars to the cent."""
    sold = lines[(lines["quantity"] > 0) & (lines["sales_value"] > 0)]
    shelf = (sold["sales_value"] + sold[list(DISCOUNTS)].sum(axis=1)) / sold["quantity"]
    return shelf.groupby(sold["product_id"]).median().round(2)


def _products(path: Path, lines: pd.DataFrame) -> tuple[TableSource, TableSource]:
    prices = _regular_prices(lines)
    catalogue = pd.read_parquet(path)
    catalogue.insert(0, "row", np.arange(1, len(catalogue) + 1, dtype=np.int64))
    for column in ("brand", "department", "product_category", "product_type",
                   "package_size", "manufacturer_id", "product_id"):
        catalogue[column] = catalogue[column].astype("string")
    sold = catalogue[catalogue["product_id"].isin(prices.index)].copy()
    category = sold["product_category"].fillna(sold["department"])
    product = pa.table({
        "row": sold["row"],
        "sku": sold["product_id"],
        "name": sold["product_type"].fillna(category),
        "supplier_id": sold["manufacturer_id"],
        "category": category,
        "regular_price": sold["product_id"].map(prices).astype(float),
        "brand": sold["brand"],
        "subcategory": sold["product_type"],
        "pack_size": sold["package_size"],
    })
    products = _DerivedSource(BY_NAME["products"], path, product, {
        "sku": "product_id", "name": "product_type", "supplier_id": "manufacturer_id",
        "category": "product_category", "regular_price": SHELF_PRICE,
        "subcategory": "product_type", "pack_size": "package_size"})
    products.currency = CURRENCY
    makers = sold.groupby("manufacturer_id", as_index=False)["row"].min()
    supplier = pa.table({"row": makers["row"], "supplier_id": makers["manufacturer_id"],
                         "name": "Manufacturer " + makers["manufacturer_id"]})
    suppliers = _DerivedSource(BY_NAME["suppliers"], path, supplier,
                               {"supplier_id": "manufacturer_id", "name": "manufacturer_id"})
    return products, suppliers
