"""The retailer's import contract on disk: Arrow columns for money and time, and writers
that produce the same bytes for the same tables, as Parquet or as CSV.

Money is a decimal in roubles — `decimal128(14, 2)` in Parquet, text such as "123.45" in
CSV — built directly from integer kopecks, so no float ever touches an amount. Times are
local and carry no offset: a naive timestamp in Parquet, "2026-01-05T10:15:00" in CSV.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FileFormat = Literal["parquet", "csv"]
FORMATS: tuple[FileFormat, ...] = ("parquet", "csv")
MONEY = pa.decimal128(14, 2)
LOCAL_TIME = pa.timestamp("ms")  # Parquet's own unit; seconds would be stored as this anyway
ISO_LOCAL_TIME = "%Y-%m-%dT%H:%M:%S"

RECEIPT_SCHEMA = pa.schema([
    ("receipt_id", pa.string()),
    ("customer_id", pa.string()),
    ("store_id", pa.string()),
    ("ts", LOCAL_TIME),
    ("sku", pa.string()),
    ("qty", pa.int32()),
    ("paid_amount", MONEY),
    ("discount_amount", MONEY),
    ("promo_flag", pa.bool_()),
])


def money(minor: np.ndarray) -> pa.Array:
    """Kopecks as a decimal128(14, 2) column: the integer is the decimal's unscaled value,
    laid out as 128-bit little-endian two's complement."""
    minor = np.ascontiguousarray(minor, dtype=np.int64)
    words = np.empty((len(minor), 2), dtype="<i8")
    words[:, 0] = minor
    words[:, 1] = minor >> 63  # sign extension into the high word
    return pa.Array.from_buffers(MONEY, len(minor), [None, pa.py_buffer(words)])


def local_time(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype="datetime64[s]").astype("datetime64[ms]"),
                    type=LOCAL_TIME)


def write_table(table: pa.Table, path: Path, fmt: FileFormat) -> int:
    with TableWriter(path, table.schema, fmt) as writer:
        writer.write(table)
    return table.num_rows


class TableWriter:
    """Appends tables of one schema to a Parquet file (a row group each) or a CSV file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: FileFormat) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown file format {fmt!r}; use one of {FORMATS}")
        self.path = path
        self.rows = 0
        self._fmt = fmt
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self._writer = pa_csv.CSVWriter(path, _csv_schema(schema))

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table if self._fmt == "parquet" else _csv_table(table))
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([
        pa.field(field.name, pa.string()) if pa.types.is_timestamp(field.type) else field
        for field in schema
    ])


def _csv_table(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with a "T"; Arrow's CSV writer would put a space."""
    columns = [
        pc.strftime(column.cast(pa.timestamp("s")), format=ISO_LOCAL_TIME)
        if pa.types.is_timestamp(column.type)
        else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, schema=_csv_schema(table.schema))
