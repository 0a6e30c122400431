"""The retailer's data contract: the files of an import, their columns and kinds of value.

The tables of ARCHITECTURE.md, in the order they are imported (a table only refers to the
ones before it). Column lengths come from the models, so a value the database would refuse
is caught while reading, with its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

from core.db import Base
from retail.models import Customer, Product, ReceiptLine, Store, Supplier


class Kind(StrEnum):
    ID = "id"            # the retailer's identifier: text up to 64 characters
    TEXT = "text"
    MONEY = "money"      # a decimal in major units ("123.45"), stored as minor units
    QTY = "qty"          # a positive number of units (may be fractional: kilograms)
    TS = "ts"            # ISO 8601; without an offset it is the retailer's local time
    BOOL = "bool"        # true/false/1/0/yes/no
    YEAR = "year"


UTC_US = pa.timestamp("us", tz="UTC")
# The Arrow type of each kind once parsed.
ARROW_TYPES = {Kind.ID: pa.string(), Kind.TEXT: pa.string(), Kind.MONEY: pa.int64(),
               Kind.QTY: pa.float64(), Kind.TS: UTC_US, Kind.BOOL: pa.bool_(),
               Kind.YEAR: pa.int64()}


@dataclass(frozen=True, slots=True)
class Column:
    name: str                      # as in the file
    kind: Kind
    required: bool = False         # the column must be present in the file
    may_be_empty: bool = True      # a present value may be empty (only for required columns)
    target: str = ""               # column of the table; defaults to `name`
    references: str | None = None  # contract table whose key this value must be
    default: object = None         # stored when the column is absent or the value empty

    @property
    def column(self) -> str:
        return self.target or self.name


@dataclass(frozen=True)
class TableSpec:
    name: str                      # the file's base name: stores, suppliers, ...
    model: type[Base]
    columns: tuple[Column, ...]
    key: tuple[str, ...]           # what identifies a row (table column names)
    noun: str                      # how a message names one row of it
    has_currency: bool = False
    bulk_load: bool = False        # may be copied straight into an empty table
    max_lengths: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            length = getattr(self.model.__table__.c[column.column].type, "length", None)
            if length and column.kind in (Kind.ID, Kind.TEXT):
                self.max_lengths[column.column] = length

    @property
    def table(self) -> str:
        return self.model.__tablename__

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def by_name(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def by_target(self, target: str) -> Column:
        return next(c for c in self.columns if c.column == target)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.model.__table__.primary_key.columns)


def _required(name: str, kind: Kind, **kwargs) -> Column:
    return Column(name, kind, required=True, may_be_empty=False, **kwargs)


SUPPLIERS = TableSpec(
    "suppliers", Supplier, noun="supplier", key=("supplier_id",),
    columns=(
        _required("supplier_id", Kind.ID),
        _required("name", Kind.TEXT),
        Column("inn", Kind.TEXT),
    ),
)

STORES = TableSpec(
    "stores", Store, noun="store", key=("store_id",),
    columns=(
        _required("store_id", Kind.ID),
        _required("name", Kind.TEXT),
        Column("region", Kind.TEXT),
        Column("city", Kind.TEXT),
        Column("format", Kind.TEXT),
    ),
)

PRODUCTS = TableSpec(
    "products", Product, noun="product", key=("sku",), has_currency=True,
    columns=(
        _required("sku", Kind.ID),
        _required("name", Kind.TEXT),
        _required("supplier_id", Kind.ID, references="suppliers"),
        _required("category", Kind.TEXT),
        _required("regular_price", Kind.MONEY, target="regular_price_minor"),
        Column("brand", Kind.TEXT),
        Column("subcategory", Kind.TEXT),
        Column("cost_price", Kind.MONEY, target="cost_price_minor"),
        Column("pack_size", Kind.TEXT),
    ),
)

CUSTOMERS = TableSpec(
    "customers", Customer, noun="customer", key=("customer_id",),
    columns=(
        _required("customer_id", Kind.ID),
        Column("birth_year", Kind.YEAR),
        Column("gender", Kind.TEXT),
        Column("region", Kind.TEXT),
        Column("loyalty_tier", Kind.TEXT),
        Column("has_app", Kind.BOOL),
        Column("registered_at", Kind.TS),
        Column("phone_hash", Kind.TEXT),
        Column("device_id", Kind.TEXT),
    ),
)

RECEIPTS = TableSpec(
    "receipts", ReceiptLine, noun="receipt line", key=("receipt_id", "sku"), has_currency=True,
    bulk_load=True,
    columns=(
        _required("receipt_id", Kind.ID),
        Column("customer_id", Kind.ID, required=True, references="customers"),
        _required("store_id", Kind.ID, references="stores"),
        _required("ts", Kind.TS, target="sold_at"),
        _required("sku", Kind.ID, references="products"),
        _required("qty", Kind.QTY),
        _required("paid_amount", Kind.MONEY, target="paid_amount_minor"),
        Column("discount_amount", Kind.MONEY, target="discount_amount_minor", default=0),
        Column("promo_flag", Kind.BOOL, default=False),
    ),
)

# Import order: every table refers only to tables before it.
TABLES: tuple[TableSpec, ...] = (SUPPLIERS, STORES, PRODUCTS, CUSTOMERS, RECEIPTS)
BY_NAME = {spec.name: spec for spec in TABLES}

# A table that others need: importing the dependant without it (in the files or already in
# the database) cannot succeed.
NEEDS = {"products": ("suppliers",), "receipts": ("stores", "products")}
